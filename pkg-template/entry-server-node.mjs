// eventjournal/server (Node, ESM), sharing the CommonJS build's instance and error classes
// with the main entry (so `instanceof ValidationError` holds for what createSyncServer throws).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const m = require('./lib/server.cjs');

export const { createSyncServer, PROTOCOL_VERSION } = m;
