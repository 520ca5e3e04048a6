// eventjournal/testing for Node (ESM), sharing the CommonJS build's error classes with the
// main entry (so `instanceof DomainError` holds for the errors the kit reports).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const m = require('./lib/testing.cjs');

export const { decider, projection, AssertionError } = m;
