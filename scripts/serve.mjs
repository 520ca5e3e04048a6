#!/usr/bin/env node
// The demo's server (`make demo`): the package's sync server (eventjournal/server, its one
// hardened request handler) serving www/ at /, the built package at /pkg/, and the sync API
// under /v1/ for an engine on SQLite in target/demo-data/ (or in memory with --memory).
// 127.0.0.1 only. Usage: node scripts/serve.mjs [--port 8080] [--memory]
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Engine, sqliteStorage } from '../pkg/index.node.mjs';
import { createSyncServer } from '../pkg/server.node.mjs';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const { values } = parseArgs({ options: { port: { type: 'string' }, memory: { type: 'boolean' } } });
const port = Number(values.port ?? process.env.PORT ?? 8080);

let storage;
if (!values.memory) {
  const dir = join(root, 'target', 'demo-data');
  mkdirSync(dir, { recursive: true });
  storage = await sqliteStorage(join(dir, 'demo.db'));
}
const engine = await Engine.open({ storage });
const server = await createSyncServer(engine, {
  port,
  host: '127.0.0.1',
  static: { '/': join(root, 'www'), '/pkg/': join(root, 'pkg') },
});
console.log(`eventjournal demo: ${server.url}/  (sync API at ${server.url}/v1/; Ctrl-C to stop)`);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    await server.close();
    await engine.close();
    process.exit(0);
  });
}
