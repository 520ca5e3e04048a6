#!/usr/bin/env node
// eventjournal-server: a sync server (docs: the package README, "Sync server") on SQLite or
// PostgreSQL with the built-in domains.
//
//   npx eventjournal-server --db app.db [--port 8080] [--host 127.0.0.1] [--static DIR] [--token T]
//   npx eventjournal-server --postgres postgres://user@host/db [...]
//
// Prints the address, stops cleanly on SIGINT/SIGTERM (server, engine, storage).
import { createHash, timingSafeEqual } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);

const USAGE = `usage: eventjournal-server (--db FILE | --postgres URL) [--port 8080] [--host 127.0.0.1]
                           [--static DIR] [--token TOKEN]
  --db FILE        SQLite database file (created if missing)
  --postgres URL   PostgreSQL connection string, instead of --db
  --port N         TCP port (default 8080; 0 = any free port)
  --host H         address to bind (default 127.0.0.1; any other needs --token)
  --static DIR     also serve the files of DIR at /
  --token TOKEN    require "Authorization: Bearer TOKEN" (or the EVENTJOURNAL_TOKEN variable)`;

function fail(message, code = 2) {
  process.stderr.write(`eventjournal-server: ${message}\n`);
  process.exit(code);
}

function options() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        db: { type: 'string' }, postgres: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' },
        static: { type: 'string' }, token: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    fail(`${e.message}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (Boolean(values.db) === Boolean(values.postgres)) fail(`give exactly one of --db and --postgres\n${USAGE}`);
  const port = values.port === undefined ? 8080 : Number(values.port);
  if (!/^[0-9]{1,5}$/.test(values.port ?? '8080') || port > 65535) fail(`--port must be 0..65535, got ${values.port}`);
  const token = values.token ?? process.env.EVENTJOURNAL_TOKEN;
  if (token !== undefined && token.length === 0) fail('--token must not be empty');
  return { ...values, port, token };
}

/** An authenticate for one bearer token (compared in constant time). */
function bearer(token) {
  const want = createHash('sha256').update(`Bearer ${token}`).digest();
  return (request) => {
    const got = createHash('sha256').update(String(request.headers.authorization ?? '')).digest();
    return timingSafeEqual(got, want) ? { token: 'cli' } : null;
  };
}

async function openStorage(lib, opts) {
  if (opts.postgres) {
    if (typeof lib.postgresStorage !== 'function') {
      fail('--postgres: this build of eventjournal has no postgresStorage yet; use --db FILE', 1);
    }
    return { storage: await lib.postgresStorage({ connectionString: opts.postgres }), label: 'PostgreSQL' };
  }
  const file = resolve(opts.db);
  mkdirSync(dirname(file), { recursive: true });
  return { storage: await lib.sqliteStorage(file), label: `SQLite ${file}` };
}

async function main() {
  const opts = options();
  // Loaded once the arguments are known good (loading compiles the WebAssembly module).
  const lib = require('../index.cjs');
  const { createSyncServer } = require('../lib/server.cjs');
  const { storage, label } = await openStorage(lib, opts);
  let engine;
  try {
    engine = await lib.Engine.open({ storage });
  } catch (e) {
    if (typeof storage.close === 'function') await storage.close();
    throw e;
  }
  let server;
  try {
    server = await createSyncServer(engine, {
      port: opts.port,
      host: opts.host,
      authenticate: opts.token === undefined ? undefined : bearer(opts.token),
      static: opts.static === undefined ? undefined : { '/': opts.static },
    });
  } catch (e) {
    await engine.close();
    throw e;
  }
  const { headPosition } = await engine.stats();
  process.stdout.write(`eventjournal-server: listening on ${server.url}/ (${label}, ${headPosition} events, protocol v1${opts.token === undefined ? '' : ', bearer token required'})\n`);

  let stopping = false;
  const stop = async (signal) => {
    if (stopping) process.exit(1); // a second signal: give up waiting
    stopping = true;
    process.stdout.write(`eventjournal-server: ${signal}, stopping\n`);
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    await server.close();
    await engine.close();
    process.stdout.write('eventjournal-server: stopped\n');
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => { stop(signal).catch((e) => fail(e.stack || e, 1)); });
}

main().catch((e) => fail(e && e.message ? `${e.name}: ${e.message}` : String(e), 1));
