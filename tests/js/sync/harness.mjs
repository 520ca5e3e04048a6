// The sync tests' world, on loopback: a real sync server (createSyncServer over an engine on
// SQLite, PostgreSQL or memory) that can be stopped, restarted on the same port or replaced by
// another, a TCP proxy per client that can cut its connections or refuse new ones (a client
// going offline), synced clients (Engine.open({ storage, sync })), and the checks of DESIGN.md
// §7's guarantees.
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { Engine, memoryStorage, sqliteStorage, postgresStorage } from 'eventjournal';
import { createSyncServer } from 'eventjournal/server';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` (sync or async) until it returns truthy; fails with `what` after `timeoutMs`. */
export async function until(check, what, timeoutMs = 20_000, everyMs = 20) {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * Where the server keeps its log: `open()` gives a new adapter on the same store each time
 * (a restart reopens it), `fresh()` another, empty store (a server with another history).
 */
export function backends({ dir, postgres }) {
  let n = 0;
  return {
    sqlite: () => {
      const file = join(dir, `server-${(n += 1)}.db`);
      return { name: 'sqlite', open: () => sqliteStorage(file) };
    },
    postgres: () => {
      const schema = `sync_${process.pid}_${(n += 1)}`;
      return { name: 'postgres', open: () => postgresStorage({ connectionString: postgres.connectionString }, { schema }) };
    },
    memory: () => {
      const name = `sync-server-${process.pid}-${(n += 1)}`;
      return { name: 'memory', open: () => memoryStorage(name) };
    },
  };
}

/**
 * A sync server on `store` (from backends()), on `port` (0: any). `restart({ downMs })` closes
 * it (server and engine) and serves the same store again on the same port; `replace(store)`
 * serves another store there.
 */
export async function syncServer(store, { port = 0, options = {} } = {}) {
  const logs = [];
  let engine;
  let server;
  let current = store;
  const up = async () => {
    engine = await Engine.open({ storage: await current.open() });
    server = await createSyncServer(engine, { port, log: (message, error) => logs.push({ message, error }), ...options });
    port = server.port;
  };
  await up();
  const down = async () => {
    if (!server) return;
    await server.close();
    await engine.close();
    server = null;
  };
  return {
    get url() { return `http://127.0.0.1:${port}`; },
    get port() { return port; },
    get engine() { return engine; },
    logs,
    down,
    up,
    async restart({ downMs = 0 } = {}) {
      await down();
      if (downMs > 0) await sleep(downMs);
      await up();
    },
    async replace(other) {
      await down();
      current = other;
      await up();
    },
    async stop() { await down(); },
  };
}

/**
 * A TCP proxy to `target()` (a port): `cut()` drops every connection through it, `offline(true)`
 * also refuses new ones until `offline(false)`.
 */
export async function proxy(target) {
  const sockets = new Set();
  let refusing = false;
  const server = createServer((client) => {
    if (refusing) { client.destroy(); return; }
    const upstream = connect(target(), '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  const cut = () => { for (const s of [...sockets]) s.destroy(); sockets.clear(); };
  return {
    url: `http://127.0.0.1:${port}`,
    cut,
    offline(on) {
      refusing = on;
      if (on) cut();
    },
    close: () => new Promise((r) => { cut(); server.close(() => r()); }),
  };
}

/** Fast retries for tests (the defaults wait up to 30 s). */
export const FAST = { retryMinMs: 20, retryMaxMs: 300, requestTimeoutMs: 5_000, liveIdleMs: 20_000 };

/**
 * A synced client: `engine`, the refusals reported to it (`rejected`, in order), and `reopen()`
 * (close, then a new engine on the same storage: a reload).
 */
export async function syncClient({ url, storage, token, sync = {} }) {
  const rejected = [];
  const open = async (s) => Engine.open({
    storage: s,
    sync: { url, token, onRejected: (r) => rejected.push(r), ...FAST, ...sync },
  });
  const client = {
    rejected,
    engine: await open(await storage()),
    async reopen() {
      await client.engine.close();
      client.engine = await open(await storage());
      return client.engine;
    },
  };
  return client;
}

/** Waits until every client holds the server's log and has nothing pending. */
export async function converged(server, clients, timeoutMs = 60_000) {
  await until(async () => {
    const head = (await server.engine.stats()).headHash;
    for (const c of clients) {
      const s = c.engine.syncState();
      if (s.pending !== 0) return false;
      if ((await c.engine.stats()).headHash !== head) return false;
    }
    return true;
  }, 'every client to hold the server\'s log with nothing pending', timeoutMs, 50);
}

/** The server log's commandIds, each checked to be one group of consecutive events. */
export async function serverCommands(engine) {
  const last = new Map();
  for (const e of await engine.readAll()) {
    const id = e.metadata.commandId;
    assert.equal(typeof id, 'string', `event ${e.position} has a commandId`);
    if (last.has(id)) assert.equal(last.get(id) + 1, e.position, `command ${id} applied twice`);
    last.set(id, e.position);
  }
  return new Set(last.keys());
}

/**
 * DESIGN.md §7's guarantees, after quiet: every acknowledged command (`issued[i]`: the ids
 * client i's execute resolved with) is in the server's log exactly once, or was reported
 * refused exactly once to its issuer, never both; every client's optimistic view equals its
 * confirmed view.
 */
export async function checkGuarantees(server, clients, issued, streams) {
  const inLog = await serverCommands(server.engine);
  for (const [i, c] of clients.entries()) {
    const reported = new Map();
    for (const r of c.rejected) reported.set(r.commandId, (reported.get(r.commandId) || 0) + 1);
    for (const [id, n] of reported) {
      assert.equal(n, 1, `client ${i}: ${id} reported ${n} times`);
      assert.ok(!inLog.has(id), `client ${i}: ${id} reported refused but in the server's log`);
    }
    for (const id of issued[i]) {
      assert.ok(inLog.has(id) !== reported.has(id), `client ${i}: ${id} is neither in the log nor reported once`);
    }
    for (const s of streams) {
      assert.deepEqual(await c.engine.load('BankAccount', s), await c.engine.load('BankAccount', s, { confirmed: true }), `client ${i}: ${s}`);
    }
    assert.deepEqual(await c.engine.projection('account_balance'), await c.engine.projection('account_balance', { confirmed: true }));
    assert.deepEqual(await c.engine.readAll(), await c.engine.readAll({ confirmed: true }));
    assert.equal((await c.engine.verify()).ok, true);
  }
  return inLog;
}
