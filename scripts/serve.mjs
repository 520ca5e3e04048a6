#!/usr/bin/env node
// The demo's server (`make demo`): the package's sync server (eventjournal/server, its one
// hardened request handler) serving www/ at /, the built package at /pkg/, and the sync API
// under /v1/ for an engine on SQLite in target/demo-data/ (or in memory with --memory).
// 127.0.0.1 only. Usage: node scripts/serve.mjs [--port 8080] [--memory]
//
// Demo only: `POST /demo/reset` (with the header `x-demo-reset: 1`, which a page of another
// origin cannot send without a preflight this server never answers) empties the server's log:
// the sync server is closed, its database deleted and a fresh one served. createSyncServer
// has no routes of the application's own, so the port is a small pass-through in front of it
// (requests and live streams are piped to the sync server on another loopback port), built on
// the package's own hardened HTTP server (lib/server/http.js): malformed requests get the same
// JSON 4xx answers as from the sync server itself.
import { mkdirSync, rmSync } from 'node:fs';
import { request as forward } from 'node:http';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Engine, sqliteStorage } from '../pkg/index.node.mjs';
import { createSyncServer } from '../pkg/server.node.mjs';
import { createHardenedServer, readBody } from '../pkg/lib/server/http.js';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const { values } = parseArgs({ options: { port: { type: 'string' }, memory: { type: 'boolean' } } });
const port = Number(values.port ?? process.env.PORT ?? 8080);
const dataDir = join(root, 'target', 'demo-data');
const dbFile = join(dataDir, 'demo.db');
const MAX_BODY_BYTES = 4 * 1024 * 1024; // createSyncServer's default maxBodyBytes

/** The engine and the sync server on it (replaced by a reset). */
let current = await serve();

async function serve() {
  let storage;
  if (!values.memory) {
    mkdirSync(dataDir, { recursive: true });
    storage = await sqliteStorage(dbFile);
  }
  const engine = await Engine.open({ storage });
  const server = await createSyncServer(engine, {
    port: 0,
    host: '127.0.0.1',
    static: { '/': join(root, 'www'), '/pkg/': join(root, 'pkg') },
  });
  return { engine, server };
}

async function stop({ engine, server }) {
  await server.close();
  await engine.close();
}

// One reset at a time; requests arriving meanwhile wait for the new server.
let resetting = null;
async function reset() {
  const old = current;
  await stop(old);
  if (!values.memory) for (const suffix of ['', '-wal', '-shm']) rmSync(dbFile + suffix, { force: true });
  current = await serve();
}

function isLoopback(address = '') {
  return address === '::1' || /^(::ffff:)?127\./.test(address);
}

const front = createHardenedServer(async (req, res) => {
  if (req.url === '/demo/reset') {
    if (req.method !== 'POST' || req.headers['x-demo-reset'] !== '1' || !isLoopback(req.socket.remoteAddress)) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('demo reset: POST from this machine with x-demo-reset: 1\n');
      return;
    }
    try {
      resetting ??= reset().finally(() => { resetting = null; });
      await resetting;
      res.writeHead(204).end();
    } catch (e) {
      console.error('demo reset failed:', e);
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`demo reset failed: ${e && e.message}\n`);
    }
    return;
  }
  if (resetting) await resetting.catch(() => {});
  // A body is read here first, within the sync server's limit (over it: the same 413 the
  // sync server answers), so the upstream never cuts a request the front is still sending.
  const body = req.method === 'GET' || req.method === 'HEAD' ? null : await readBody(req, MAX_BODY_BYTES);
  const headers = { ...req.headers };
  if (body !== null) {
    delete headers['transfer-encoding'];
    headers['content-length'] = String(body.length);
  }
  const upstream = forward({
    host: '127.0.0.1',
    port: current.server.port,
    method: req.method,
    path: req.url,
    headers,
  }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  upstream.on('error', () => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
    res.end();
  });
  // A client that goes away (a closed page, an aborted live stream) ends the upstream too.
  res.on('close', () => upstream.destroy());
  upstream.end(body ?? undefined);
}, (...args) => console.error(...args));

await new Promise((done, fail) => {
  front.once('error', fail);
  front.listen(port, '127.0.0.1', done);
});
const url = `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (front.address()).port}`;
console.log(`eventjournal demo: ${url}/  (sync API at ${url}/v1/; ${values.memory ? 'in memory' : `data in ${dataDir}`}; Ctrl-C to stop)`);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    front.close();
    front.closeAllConnections();
    await stop(current).catch(() => {});
    process.exit(0);
  });
}
