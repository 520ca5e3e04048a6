// The sync server (eventjournal/server) over HTTP on loopback: commands and idempotency,
// refusals, authentication and authorization, paged reads, options, close().
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { ValidationError } from 'eventjournal';
import { createSyncServer, PROTOCOL_VERSION } from 'eventjournal/server';
import { call, execute, deposit, openAccount, live } from './server/client.mjs';
import { startServer, gatedStorage } from './server/harness.mjs';

const unhandled = [];
process.on('unhandledRejection', (e) => unhandled.push(e));
after(() => assert.deepEqual(unhandled, [], 'no unhandled rejection'));

const ZERO = '0'.repeat(64);

test('commands: a repeated commandId appends once and answers the first result again', async () => {
  const s = await startServer();
  try {
    const first = await execute(s.base, [openAccount('c-open', 'acc1', 1000), deposit('c-dep', 'acc1', 250)]);
    assert.deepEqual(first.map((r) => [r.commandId, r.ok, r.version, r.position]), [['c-open', true, 2, 2], ['c-dep', true, 3, 3]]);
    assert.deepEqual(first[1].events, await s.engine.readAll({ fromPosition: 2 }), 'events in their stored form');
    assert.equal(first[1].events[0].metadata.commandId, 'c-dep');

    const again = await execute(s.base, [openAccount('c-open', 'acc1', 1000), deposit('c-dep', 'acc1', 250)]);
    assert.deepEqual(again, first);
    // Whatever the retry says, the first outcome stands.
    const changed = await execute(s.base, [{ ...deposit('c-dep', 'acc1', 1), command: { type: 'withdraw', amount: 999 } }]);
    assert.deepEqual(changed, [first[1]]);
    // Concurrent retries of one new command: one append.
    const racing = await Promise.all([1, 2, 3].map(() => execute(s.base, [deposit('c-race', 'acc1', 5)])));
    assert.equal(new Set(racing.map(([r]) => r.position)).size, 1);
    const stats = await s.engine.stats();
    assert.equal(stats.headPosition, 4);
    assert.equal((await s.engine.load('BankAccount', 'acc1')).state.balance, 1255);
  } finally {
    await s.stop();
  }
});

test('commands: a batch mixing accepted and refused commands answers each, in order; a refusal is answered again', async () => {
  const s = await startServer();
  try {
    await execute(s.base, [openAccount('setup', 'acc1', 100)]);
    const batch = [
      deposit('ok-1', 'acc1', 10),
      { commandId: 'no-funds', streamType: 'BankAccount', streamId: 'acc1', command: { type: 'withdraw', amount: 1_000_000 } },
      deposit('zero', 'acc1', 0),
      { commandId: 'unknown-type', streamType: 'Spaceship', streamId: 's1', command: { type: 'launch' } },
      { ...deposit('stale', 'acc1', 5), expectedVersion: 1 },
      { commandId: 'bad-shape', streamType: 'BankAccount', streamId: 42, command: { type: 'deposit', amount: 1 } },
      { commandId: 'bad-command', streamType: 'BankAccount', streamId: 'acc1', command: 'deposit' },
      deposit('ok-2', 'acc1', 20),
    ];
    const results = await execute(s.base, batch);
    assert.deepEqual(results.map((r) => r.commandId), batch.map((c) => c.commandId));
    assert.deepEqual(results.map((r) => (r.ok ? 'ok' : r.error.code)),
      ['ok', 'DOMAIN', 'VALIDATION', 'NOT_FOUND', 'CONCURRENCY', 'VALIDATION', 'VALIDATION', 'ok']);
    assert.equal(results[1].error.name, 'DomainError');
    assert.equal(results[1].error.message, 'Insufficient funds');
    assert.equal(results[4].error.name, 'ConcurrencyError');
    assert.equal(results[4].error.streamId, 'acc1');
    assert.equal(typeof results[4].error.actualVersion, 'number');
    for (const r of results.filter((x) => !x.ok)) {
      assert.deepEqual(Object.keys(r).sort(), ['commandId', 'error', 'ok']);
      assert.equal(r.error.stack, undefined);
    }
    // Accepted commands of one batch went through the engine in order.
    assert.ok(results[7].position > results[0].position);

    // Now the account could pay, but the same commandId answers the same refusal.
    await execute(s.base, [deposit('rich', 'acc1', 5_000_000)]);
    const retry = await execute(s.base, [batch[1], batch[2], batch[4]]);
    assert.deepEqual(retry, [results[1], results[2], results[4]]);
    const head = (await s.engine.stats()).headPosition;
    assert.equal(head, 5, 'refused commands appended nothing');
    // A new commandId with the same command is decided on the current state.
    const fresh = await execute(s.base, [{ ...batch[1], commandId: 'no-funds-2' }]);
    assert.equal(fresh[0].ok, true);
  } finally {
    await s.stop();
  }
});

test('commands: per-command FORBIDDEN from authorize (never cached); an authorize that throws fails only its command', async () => {
  const authenticate = (req) => ({ 'Bearer teller': 'teller', 'Bearer admin': 'admin' })[req.headers.authorization] ?? null;
  const authorize = async (who, r) => {
    if (r.action === 'read') return true;
    if (r.command.type === 'explode') throw new Error('authorize bug');
    return who === 'admin' || r.command.type === 'deposit' || r.command.type === 'create_account';
  };
  const s = await startServer({ authenticate, authorize });
  try {
    const withdraw = { commandId: 'w1', streamType: 'BankAccount', streamId: 'acc1', command: { type: 'withdraw', amount: 5 } };
    const results = await execute(s.base, [
      openAccount('o1', 'acc1', 100), withdraw, deposit('d1', 'acc1', 7),
      { commandId: 'x1', streamType: 'BankAccount', streamId: 'acc1', command: { type: 'explode' } },
    ], { token: 'teller' });
    assert.deepEqual(results.map((r) => (r.ok ? 'ok' : r.error.code)), ['ok', 'FORBIDDEN', 'ok', 'INTERNAL']);
    assert.equal(results[1].error.name, 'ForbiddenError');
    assert.match(results[1].error.message, /withdraw/);
    assert.ok(s.logs.some((l) => /authorize threw/.test(l.message) && l.error.message === 'authorize bug'));
    assert.deepEqual((await s.engine.readAll()).map((e) => e.type), ['account_created', 'money_deposited', 'money_deposited']);
    // The same commandId from a principal who may: decided, not answered from a cache.
    const admin = await execute(s.base, [withdraw], { token: 'admin' });
    assert.equal(admin[0].ok, true);
    assert.equal((await s.engine.load('BankAccount', 'acc1')).state.balance, 102);
  } finally {
    await s.stop();
  }
});

test('401 on every endpoint without a token, with a bad one, or when authenticate throws', async () => {
  const seen = [];
  const authenticate = async (req) => {
    seen.push(req.headers.authorization);
    if (req.headers.authorization === 'Bearer boom') throw new Error('auth backend down');
    return req.headers.authorization === 'Bearer good' ? { user: 'u' } : null;
  };
  const s = await startServer({ authenticate });
  try {
    const endpoints = [['GET', '/v1/info'], ['GET', '/v1/events'], ['GET', '/v1/live'], ['POST', '/v1/commands']];
    for (const [method, path] of endpoints) {
      for (const token of [undefined, 'bad', 'boom']) {
        const r = await call(s.base, path, { method, token, body: method === 'POST' ? { commands: [] } : undefined });
        assert.equal(r.status, 401, `${method} ${path} with ${token}`);
        assert.equal(r.body.error.code, 'UNAUTHENTICATED');
        assert.equal(r.headers.get('www-authenticate'), 'Bearer');
      }
    }
    assert.ok(s.logs.some((l) => l.error && l.error.message === 'auth backend down'), 'a throwing authenticate is logged');
    assert.equal((await call(s.base, '/v1/info', { token: 'good' })).status, 200);
    assert.deepEqual((await execute(s.base, [], { token: 'good' })), []);
    assert.ok(seen.includes(undefined) && seen.includes('Bearer bad'));
  } finally {
    await s.stop();
  }
});

test('403 on reads for a principal that may not read; its commands still run', async () => {
  const s = await startServer({
    authenticate: (req) => (req.headers.authorization === 'Bearer writer' ? 'writer' : null),
    authorize: (who, r) => r.action === 'execute',
  });
  try {
    for (const path of ['/v1/info', '/v1/events?after=0', '/v1/live']) {
      const r = await call(s.base, path, { token: 'writer' });
      assert.equal(r.status, 403, path);
      assert.deepEqual(r.body.error, { name: 'ForbiddenError', code: 'FORBIDDEN', message: 'not allowed to read this log' });
    }
    const [r] = await execute(s.base, [openAccount('o', 'acc', 1)], { token: 'writer' });
    assert.equal(r.ok, true);
  } finally {
    await s.stop();
  }
});

test('access_token on /v1/live reaches authenticate as the Authorization header, and leaves req.url', async () => {
  const requests = [];
  const s = await startServer({
    authenticate: (req) => {
      requests.push({ authorization: req.headers.authorization, url: req.url });
      return req.headers.authorization === 'Bearer t0k' ? 'reader' : null;
    },
  });
  try {
    const ok = await live(s.base, { accessToken: 't0k', after: 0 });
    assert.equal(ok.status, 200);
    await execute(s.base, [openAccount('o', 'acc', 5)], { token: 't0k' });
    while (ok.events.length < 2) await new Promise((r) => setTimeout(r, 10));
    await ok.close();
    assert.deepEqual(requests[0], { authorization: 'Bearer t0k', url: '/v1/live?after=0' });
    const bad = await live(s.base, { accessToken: 'nope' });
    assert.equal(bad.status, 401);
    assert.equal(bad.body.error.code, 'UNAUTHENTICATED');
  } finally {
    await s.stop();
  }
});

test('GET /v1/info and paged GET /v1/events with afterHash', async () => {
  const s = await startServer();
  try {
    const empty = await call(s.base, '/v1/events');
    assert.deepEqual(empty.body, { events: [], headPosition: 0, headHash: ZERO, afterHash: ZERO });
    await execute(s.base, Array.from({ length: 12 }, (_, i) => openAccount(`o${i}`, `acc${i}`, 10 + i)));
    const all = await s.engine.readAll();
    assert.equal(all.length, 24);
    const stats = await s.engine.stats();

    const info = await call(s.base, '/v1/info');
    assert.equal(info.status, 200);
    assert.deepEqual(info.body, { protocol: PROTOCOL_VERSION, server: 'eventjournal', version: info.body.version, headPosition: 24, headHash: stats.headHash });
    assert.match(info.body.version, /^\d+\.\d+\.\d+/);

    const page1 = await call(s.base, '/v1/events?limit=10');
    assert.deepEqual(page1.body, { events: all.slice(0, 10), headPosition: 24, headHash: stats.headHash, afterHash: ZERO });
    const page2 = await call(s.base, '/v1/events?after=10&limit=10');
    assert.deepEqual(page2.body.events, all.slice(10, 20));
    assert.equal(page2.body.afterHash, all[9].hash);
    const rest = await call(s.base, '/v1/events?after=20');
    assert.deepEqual(rest.body.events, all.slice(20));
    const atHead = await call(s.base, '/v1/events?after=24');
    assert.deepEqual([atHead.body.events, atHead.body.afterHash], [[], all[23].hash]);
    const past = await call(s.base, '/v1/events?after=99');
    assert.deepEqual([past.body.events, past.body.afterHash], [[], null]);
    const capped = await call(s.base, '/v1/events?limit=1000000');
    assert.equal(capped.body.events.length, 24);
  } finally {
    await s.stop();
  }
});

test('options: a non-loopback host without authenticate refuses to start; bad options are ValidationErrors', async () => {
  const s = await startServer();
  try {
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'example.com']) {
      await assert.rejects(createSyncServer(s.engine, { host }), (e) => e instanceof ValidationError
        && e.code === 'VALIDATION' && /not loopback/.test(e.message) && e.message.includes(host));
    }
    const bad = [
      [{ port: -1 }, /port/], [{ port: 1.5 }, /port/], [{ maxBodyBytes: 0 }, /maxBodyBytes/],
      [{ stallTimeoutMs: 'soon' }, /stallTimeoutMs/], [{ authenticate: 'yes' }, /authenticate/],
      [{ prot: 80 }, /unknown option "prot"/], [{ static: { www: '.' } }, /static prefix/],
      [{ static: { '/v1/': '.' } }, /reserved/], [null, /options must be an object/],
    ];
    for (const [options, message] of bad) {
      await assert.rejects(createSyncServer(s.engine, options), (e) => e instanceof ValidationError && message.test(e.message));
    }
    await assert.rejects(createSyncServer({}, {}), (e) => e instanceof ValidationError && /Engine/.test(e.message));
    // require() and import share one module instance (and one set of error classes).
    const required = createRequire(import.meta.url)('eventjournal/server');
    assert.equal(required.createSyncServer, createSyncServer);
    // With authenticate, any address may be bound.
    const open = await createSyncServer(s.engine, { host: '0.0.0.0', authenticate: () => null });
    assert.equal((await call(`http://127.0.0.1:${open.port}`, '/v1/info')).status, 401);
    await open.close();
    // A port in use: Node's error.
    await assert.rejects(createSyncServer(s.engine, { port: s.server.port }), { code: 'EADDRINUSE' });
  } finally {
    await s.stop();
  }
});

test('close(): an in-flight batch completes, new requests get 503 CLOSED, live streams end, the engine stays open', async () => {
  const storage = await gatedStorage();
  const s = await startServer({}, { storage });
  try {
    await execute(s.base, [openAccount('o', 'acc', 100)]);
    const stream = await live(s.base, { after: 0 });
    const appending = storage.hold();
    const inFlight = execute(s.base, [deposit('d1', 'acc', 1), deposit('d2', 'acc', 2)]);
    await appending;
    const closing = s.server.close();
    const refused = await call(s.base, '/v1/info');
    assert.equal(refused.status, 503);
    assert.deepEqual(refused.body.error, { name: 'ClosedError', code: 'CLOSED', message: 'the server is closing' });
    const refusedCommand = await call(s.base, '/v1/commands', { method: 'POST', body: { commands: [deposit('d3', 'acc', 3)] } });
    assert.equal(refusedCommand.status, 503);
    storage.release();
    const results = await inFlight;
    assert.deepEqual(results.map((r) => [r.ok, r.position]), [[true, 3], [true, 4]]);
    await closing;
    await stream.closed;
    assert.equal(stream.error, null);
    await assert.rejects(fetch(`${s.base}/v1/info`), 'no longer listening');
    assert.equal(s.server.close(), closing, 'close() twice is the same');

    // The engine is still open and a new server can serve it.
    assert.equal((await s.engine.execute('BankAccount', 'acc', { type: 'deposit', amount: 4 })).position, 5);
    const again = await createSyncServer(s.engine, { log: () => {} });
    const info = await call(again.url, '/v1/info');
    assert.equal(info.body.headPosition, 5);
    await again.close();
  } finally {
    storage.release();
    await s.engine.close();
  }
});

test('an exception inside a handler is a 500 INTERNAL and the server keeps serving', async () => {
  let fail = true;
  const s = await startServer({ authorize: (who, r) => { if (fail && r.action === 'read') throw new TypeError('authorize crashed'); return true; } });
  try {
    const r = await call(s.base, '/v1/info');
    assert.equal(r.status, 500);
    assert.equal(r.body.error.code, 'INTERNAL');
    assert.match(r.body.error.message, /authorize crashed/);
    assert.ok(s.logs.some((l) => l.error instanceof TypeError && /GET \/v1\/info failed/.test(l.message)));
    fail = false;
    assert.equal((await call(s.base, '/v1/info')).status, 200);
  } finally {
    await s.stop();
  }
});

test('an engine closed under the server: reads answer 503 CLOSED, commands the CLOSED outcome; the server still closes cleanly', async () => {
  const s = await startServer();
  await execute(s.base, [openAccount('o', 'acc', 1)]);
  await s.engine.close();
  const info = await call(s.base, '/v1/info');
  assert.equal(info.status, 503);
  assert.equal(info.body.error.code, 'CLOSED');
  const [r] = await execute(s.base, [deposit('d', 'acc', 1)]);
  assert.deepEqual([r.ok, r.error.code, r.error.name], [false, 'CLOSED', 'ClosedError']);
  assert.deepEqual(s.logs, []);
  await s.server.close();
});
