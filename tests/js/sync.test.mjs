// The sync client (Engine.open({ storage, sync })) against the real sync server on loopback:
// DESIGN.md §7's scenarios with the server on SQLite (tests/js/sync/scenarios.mjs; the same on
// PostgreSQL in sync-postgres.test.mjs), then each part of the API: pending results and events,
// settled, waitFor, { confirmed: true } reads, subscribers, syncState and onSyncState, 401 and
// its recovery, 403, another protocol version, bad options, storages without an outbox, close.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Engine, memoryStorage, ClosedError, DomainError, NotFoundError, ProtocolError, StorageError,
  UnauthenticatedError, ValidationError, ForbiddenError,
} from 'eventjournal';
import { seedFrom } from './support/prng.mjs';
import { backends, converged, proxy, sleep, syncClient, syncServer, until, FAST } from './sync/harness.mjs';
import { convergence, doubleSpend, forkedServer, outboxSurvives } from './sync/scenarios.mjs';

const unhandled = [];
process.on('unhandledRejection', (e) => unhandled.push(e));
const dir = mkdtempSync(join(tmpdir(), 'ej-sync-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
  assert.deepEqual(unhandled, [], 'no unhandled rejection');
});
const stores = backends({ dir });

// ------------------------------------------------------------------ the scenarios, on SQLite
test('[sqlite] (a) 5 clients × 200 random commands on 20 accounts, disconnects, a reload and a server restart converge', { timeout: 180_000 }, async () => {
  const seed = seedFrom(process.env.SYNC_SEED);
  const r = await convergence({ store: stores.sqlite(), dir, name: 'conv-sqlite', seed });
  console.log(`seed ${seed}: ${r.total} commands, ${r.accepted} accepted, ${r.refused} refused, ${r.ms} ms`);
});

test('[sqlite] (b) a double spend decided offline on two clients: one accepted, one refused', { timeout: 60_000 }, async () => {
  await doubleSpend({ store: stores.sqlite(), dir, name: 'ds-sqlite' });
});

test('[sqlite] (c) the outbox survives closing the client while the server is down', { timeout: 60_000 }, async () => {
  await outboxSurvives({ store: stores.sqlite(), dir, name: 'ob-sqlite' });
});

test('[sqlite] (d) a server replaced by one with another history: IntegrityError, local data kept', { timeout: 60_000 }, async () => {
  await forkedServer({ store: stores.sqlite(), other: stores.sqlite(), dir, name: 'fork-sqlite' });
});

// ------------------------------------------------------------------ the API, server in memory
// Each client its own memory store, across tests too (a store of another test's server would be a fork).
let clientStores = 0;
async function world(options) {
  const server = await syncServer(stores.memory(), options);
  const client = (extra = {}) => {
    const name = `api-${process.pid}-${(clientStores += 1)}`;
    return syncClient({ url: server.url, storage: () => memoryStorage(name), ...extra });
  };
  return { server, client };
}

test('execute resolves at once with pending events; settled gives the server\'s result', async () => {
  const { server, client } = await world();
  const c = await client();
  const r = await c.engine.execute('BankAccount', 'a1', { type: 'create_account', accountHolder: 'Ada', initialDeposit: 100 });
  assert.deepEqual(Object.keys(r).sort(), ['commandId', 'events', 'pending', 'position', 'version']);
  assert.equal(r.pending, true);
  assert.equal(r.position, null);
  assert.equal(r.version, 2);
  assert.match(r.commandId, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a UUID v7');
  for (const e of r.events) {
    assert.equal(e.position, null);
    assert.equal(e.hash, null);
    assert.equal(e.pending, true);
    assert.equal(e.metadata.commandId, r.commandId);
  }
  const settled = await c.engine.settled(r.commandId);
  assert.deepEqual(Object.keys(settled).sort(), ['events', 'position', 'version']);
  assert.equal(settled.position, 2);
  assert.deepEqual(settled.events, await server.engine.readAll());
  // A repeat answers the first result: pending while pending, then the confirmed one.
  const again = await c.engine.execute('BankAccount', 'a1', { type: 'deposit', amount: 1 }, { commandId: r.commandId });
  assert.equal(again.pending, false);
  assert.equal(again.position, 2);
  const given = await c.engine.execute('BankAccount', 'a1', { type: 'deposit', amount: 5 }, { commandId: 'my-id', metadata: { userId: 'u1' } });
  assert.equal(given.commandId, 'my-id');
  assert.deepEqual(await c.engine.execute('BankAccount', 'a1', { type: 'deposit', amount: 9 }, { commandId: 'my-id' }), given);
  const confirmed = await c.engine.settled('my-id');
  assert.deepEqual(confirmed.events[0].metadata, { commandId: 'my-id', userId: 'u1' });
  assert.equal((await server.engine.stats()).totalEvents, 3, 'the repeat ran once');
  await c.engine.close();
  await server.stop();
});

test('settled: an unknown id is a NotFoundError; without sync it answers committed ids', async () => {
  const { server, client } = await world();
  const c = await client();
  await assert.rejects(c.engine.settled('never-issued'), (e) => e instanceof NotFoundError && e.code === 'NOT_FOUND' && /never-issued/.test(e.message));
  await assert.rejects(c.engine.settled(42), ValidationError);
  const plain = await Engine.open();
  const r = await plain.execute('BankAccount', 'a', { type: 'create_account', accountHolder: 'A' }, { commandId: 'c1' });
  assert.deepEqual(await plain.settled('c1'), r);
  await assert.rejects(plain.settled('c2'), NotFoundError);
  await plain.close();
  await c.engine.close();
  await server.stop();
});

test('waitFor: \'server\' resolves with the server\'s result or rejects with its refusal', async () => {
  const { server, client } = await world();
  const [a, b] = [await client(), await client()];
  const r = await a.engine.execute('BankAccount', 'acc', { type: 'create_account', accountHolder: 'Ada', initialDeposit: 10 }, { waitFor: 'server' });
  assert.equal(r.position, 2);
  assert.equal(r.pending, undefined);
  await until(async () => (await b.engine.streamVersion('acc', { confirmed: true })) === 2, 'b has the account');
  const proxied = await proxy(() => server.port);
  await b.engine.close();
  const offline = await syncClient({ url: proxied.url, storage: () => memoryStorage(`api-wait-${process.pid}`) });
  await until(async () => (await offline.engine.streamVersion('acc')) === 2, 'the offline client has the account');
  proxied.offline(true);
  const late = offline.engine.execute('BankAccount', 'acc', { type: 'withdraw', amount: 10 }, { waitFor: 'server' });
  await a.engine.execute('BankAccount', 'acc', { type: 'withdraw', amount: 10 }, { waitFor: 'server' });
  proxied.offline(false);
  await assert.rejects(late, (e) => e instanceof DomainError && e.message === 'Insufficient funds');
  assert.equal(offline.rejected.length, 1);
  await assert.rejects(a.engine.execute('BankAccount', 'acc', { type: 'deposit', amount: 1 }, { waitFor: 'local' }), ValidationError);
  const plain = await Engine.open();
  await assert.rejects(plain.execute('BankAccount', 'x', { type: 'create_account', accountHolder: 'A' }, { waitFor: 'server' }), ValidationError);
  await plain.close();
  await a.engine.close();
  await offline.engine.close();
  await proxied.close();
  await server.stop();
});

test('reads show confirmed plus pending; { confirmed: true } the server\'s alone', async () => {
  const { server, client } = await world();
  const proxied = await proxy(() => server.port);
  const c = await syncClient({ url: proxied.url, storage: () => memoryStorage(`api-reads-${process.pid}`) });
  await c.engine.execute('BankAccount', 'acc', { type: 'create_account', accountHolder: 'Ada', initialDeposit: 100 }, { waitFor: 'server' });
  proxied.offline(true);
  await c.engine.execute('BankAccount', 'acc', { type: 'deposit', amount: 5 });
  await c.engine.execute('BankAccount', 'new', { type: 'create_account', accountHolder: 'Bo' });
  const conf = { confirmed: true };
  assert.equal((await c.engine.load('BankAccount', 'acc')).state.balance, 105);
  assert.equal((await c.engine.load('BankAccount', 'acc', conf)).state.balance, 100);
  assert.equal(await c.engine.load('BankAccount', 'new', conf), null);
  assert.equal((await c.engine.load('BankAccount', 'new')).version, 1);
  // Time travel is confirmed only.
  assert.equal((await c.engine.load('BankAccount', 'acc', { at: { version: 99 } })).state.balance, 100);
  assert.equal(await c.engine.streamVersion('acc'), 3);
  assert.equal(await c.engine.streamVersion('acc', conf), 2);
  const all = await c.engine.readAll();
  assert.deepEqual(all.map((e) => e.position), [1, 2, null, null]);
  assert.deepEqual(await c.engine.readAll(conf), all.slice(0, 2));
  assert.deepEqual((await c.engine.readAll({ types: ['account_created'] })).map((e) => e.streamId), ['acc', 'new']);
  assert.deepEqual((await c.engine.readStream('acc', { direction: 'backward', limit: 2 })).map((e) => e.version), [3, 2]);
  assert.deepEqual((await c.engine.readStream('acc', conf)).map((e) => e.version), [1, 2]);
  const balances = await c.engine.projection('account_balance');
  assert.deepEqual(Object.keys(balances).sort(), ['acc', 'new']);
  assert.equal(balances.acc.balance, 105);
  assert.deepEqual(Object.keys(await c.engine.projection('account_balance', conf)), ['acc']);
  assert.equal((await c.engine.query('account_balance', { isActive: true })).length, 2);
  assert.equal((await c.engine.query('account_balance', { isActive: true }, conf)).length, 1);
  // stats, verify and headHash describe the confirmed log.
  assert.equal((await c.engine.stats()).totalEvents, 2);
  assert.deepEqual(await c.engine.verify(), { ok: true, checked: 2, firstBadPosition: null });
  await assert.rejects(c.engine.readAll({ confirmed: 'yes' }), ValidationError);
  proxied.offline(false);
  await converged(server, [c]);
  assert.deepEqual(await c.engine.readAll(), await c.engine.readAll(conf));
  await c.engine.close();
  await proxied.close();
  await server.stop();
});

test('subscribers see confirmed events only, once, in order (through dropped connections)', async () => {
  const { server, client } = await world();
  const proxied = await proxy(() => server.port);
  const writer = await client();
  const c = await syncClient({ url: proxied.url, storage: () => memoryStorage(`api-sub-${process.pid}`) });
  const seen = [];
  c.engine.subscribe((e) => seen.push(e), { fromPosition: 0 });
  const mine = await c.engine.execute('BankAccount', 'mine', { type: 'create_account', accountHolder: 'Me' });
  await sleep(20);
  assert.ok(seen.every((e) => e.position !== null), 'never a pending event');
  for (let i = 0; i < 30; i += 1) {
    await writer.engine.execute('BankAccount', `w${i}`, { type: 'create_account', accountHolder: 'W', initialDeposit: 1 });
    if (i % 7 === 0) proxied.cut();
  }
  await c.engine.settled(mine.commandId);
  await converged(server, [c, writer]);
  await sleep(50);
  const head = (await server.engine.stats()).headPosition;
  assert.deepEqual(seen.map((e) => e.position), Array.from({ length: head }, (_, i) => i + 1));
  assert.deepEqual(seen, await server.engine.readAll());
  await c.engine.close();
  await writer.engine.close();
  await proxied.close();
  await server.stop();
});

test('syncState and onSyncState: online, pending, confirmedPosition; listeners on change; unsubscribe', async () => {
  const { server, client } = await world();
  const c = await client();
  const states = [];
  const off = c.engine.onSyncState((s) => states.push(s));
  assert.equal(typeof off, 'function');
  await until(() => c.engine.syncState().online, 'online');
  const r = await c.engine.execute('BankAccount', 'a', { type: 'create_account', accountHolder: 'A' });
  await c.engine.settled(r.commandId);
  await until(() => states.some((s) => s.confirmedPosition === 1 && s.pending === 0), 'a state with the command confirmed');
  assert.ok(states.some((s) => s.online), 'told it went online');
  assert.ok(states.some((s) => s.pending === 1), 'told of the pending command');
  for (let i = 1; i < states.length; i += 1) assert.notDeepEqual(states[i], states[i - 1], 'only changes are told');
  assert.deepEqual(c.engine.syncState(), { online: true, pending: 0, confirmedPosition: 1, lastError: null });
  off();
  const count = states.length;
  await c.engine.execute('BankAccount', 'a', { type: 'deposit', amount: 1 }, { waitFor: 'server' });
  assert.equal(states.length, count, 'an unsubscribed listener is not called');
  assert.throws(() => c.engine.onSyncState('x'), ValidationError);
  const plain = await Engine.open();
  assert.throws(() => plain.syncState(), ValidationError);
  assert.throws(() => plain.onSyncState(() => {}), ValidationError);
  await plain.close();
  await c.engine.close();
  assert.throws(() => c.engine.syncState(), ClosedError);
  await server.stop();
});

test('401: lastError is UNAUTHENTICATED (retried with backoff); a fixed token recovers', async () => {
  const { server } = await world({ options: { authenticate: (req) => (req.headers.authorization === 'Bearer good' ? { user: 'u' } : null) } });
  let token = 'bad';
  const c = await syncClient({ url: server.url, storage: () => memoryStorage(`api-401-${process.pid}`), token: () => token });
  const r = await c.engine.execute('BankAccount', 'a', { type: 'create_account', accountHolder: 'A' });
  await until(() => c.engine.syncState().lastError?.code === 'UNAUTHENTICATED', 'UNAUTHENTICATED');
  const { lastError } = c.engine.syncState();
  assert.ok(lastError instanceof UnauthenticatedError);
  assert.equal(lastError.name, 'UnauthenticatedError');
  assert.equal(lastError.status, 401);
  assert.equal(c.engine.syncState().pending, 1);
  token = 'good';
  assert.equal((await c.engine.settled(r.commandId)).position, 1);
  await until(() => c.engine.syncState().lastError === null, 'the error cleared');
  await c.engine.close();
  await server.stop();
});

test('403 on reads: lastError is FORBIDDEN; a refused command is reported FORBIDDEN', async () => {
  const authorize = (who, r) => (r.action === 'read' ? who !== 'blind' : r.command.type !== 'close_account');
  const authenticate = (req) => (req.headers.authorization || '').replace('Bearer ', '') || null;
  const { server } = await world({ options: { authenticate, authorize } });
  const blind = await syncClient({ url: server.url, storage: () => memoryStorage(`api-403a-${process.pid}`), token: 'blind' });
  await until(() => blind.engine.syncState().lastError?.code === 'FORBIDDEN', 'FORBIDDEN');
  assert.ok(blind.engine.syncState().lastError instanceof ForbiddenError);
  const user = await syncClient({ url: server.url, storage: () => memoryStorage(`api-403b-${process.pid}`), token: 'user' });
  await user.engine.execute('BankAccount', 'a', { type: 'create_account', accountHolder: 'A' }, { waitFor: 'server' });
  await assert.rejects(user.engine.execute('BankAccount', 'a', { type: 'close_account' }, { waitFor: 'server' }), ForbiddenError);
  assert.equal(user.rejected.length, 1);
  assert.equal(user.rejected[0].error.code, 'FORBIDDEN');
  assert.equal((await user.engine.load('BankAccount', 'a')).state.isActive, true, 'its optimistic events are gone');
  await blind.engine.close();
  await user.engine.close();
  await server.stop();
});

test('a server of another protocol version stops sync: ProtocolError, commands kept', async () => {
  const http = createServer((req, res) => {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { name: 'ProtocolError', code: 'PROTOCOL', message: 'this server speaks sync protocol version 2' } }));
  });
  await new Promise((r) => http.listen(0, '127.0.0.1', r));
  let requests = 0;
  http.on('request', () => { requests += 1; });
  const url = `http://127.0.0.1:${http.address().port}`;
  const c = await syncClient({ url, storage: () => memoryStorage(`api-proto-${process.pid}`) });
  await c.engine.execute('BankAccount', 'a', { type: 'create_account', accountHolder: 'A' });
  await until(() => c.engine.syncState().lastError?.code === 'PROTOCOL', 'PROTOCOL');
  assert.ok(c.engine.syncState().lastError instanceof ProtocolError);
  const seen = requests;
  await sleep(400);
  assert.equal(requests, seen, 'no retry after a version mismatch');
  assert.equal(c.engine.syncState().pending, 1);
  await c.engine.close();
  await new Promise((r) => http.close(r));
});

test('bad sync options are ValidationErrors; a storage without an outbox is a StorageError', async () => {
  const url = 'http://127.0.0.1:9';
  const storage = () => memoryStorage();
  for (const sync of [5, 'x', [], {}, { url: 5 }, { url: 'not a url' }, { url: 'ftp://x' }, { url, token: 5 },
    { url, onRejected: 'x' }, { url, batchSize: 0 }, { url, retryMaxMs: -1 }, { url, fetch: 'f' }]) {
    await assert.rejects(Engine.open({ storage: await storage(), sync }), ValidationError, JSON.stringify(sync));
  }
  const bare = await memoryStorage();
  const noOutbox = { readEvents: (a, l) => bare.readEvents(a, l), appendEvents: (e, p) => bare.appendEvents(e, p) };
  await assert.rejects(Engine.open({ storage: noOutbox, sync: { url } }), (e) => e instanceof StorageError && /readOutbox/.test(e.message));
  await assert.rejects(Engine.open({ sync: { url } }), StorageError, 'the default in-engine store keeps no outbox');
  const partial = { ...noOutbox, readOutbox: () => [], writeOutbox() {} };
  await assert.rejects(Engine.open({ storage: partial, sync: { url } }), StorageError);
  const corrupt = { ...noOutbox, readOutbox: () => [{ commandId: 'x' }], writeOutbox() {}, deleteOutbox() {} };
  await assert.rejects(Engine.open({ storage: corrupt, sync: { url } }), (e) => e instanceof StorageError && e.reason === 'malformed');
});

test('close stops syncing; settled waiters reject with ClosedError; later calls are ClosedError', async () => {
  const { server } = await world();
  const proxied = await proxy(() => server.port);
  proxied.offline(true);
  const c = await syncClient({ url: proxied.url, storage: () => memoryStorage(`api-close-${process.pid}`) });
  const r = await c.engine.execute('BankAccount', 'a', { type: 'create_account', accountHolder: 'A' });
  const waiting = c.engine.settled(r.commandId);
  await c.engine.close();
  await assert.rejects(waiting, ClosedError);
  await assert.rejects(c.engine.execute('BankAccount', 'a', { type: 'deposit', amount: 1 }), ClosedError);
  await assert.rejects(c.engine.settled(r.commandId), ClosedError);
  await c.engine.close();
  proxied.offline(false);
  await sleep(200);
  assert.equal((await server.engine.stats()).totalEvents, 0, 'a closed engine pushes nothing');
  await proxied.close();
  await server.stop();
});

test('a client far behind catches up over several pages of GET /v1/events, then follows live', async () => {
  const { server, client } = await world();
  // 12,500 events (500 accounts opened with a deposit, 23 deposits each): two pages of 10,000
  // (the next one is asked for while one is received).
  const opened = [];
  for (let i = 0; i < 500; i += 1) opened.push(server.engine.execute('BankAccount', `a${i}`, { type: 'create_account', accountHolder: 'A', initialDeposit: 1 }));
  await Promise.all(opened);
  for (let k = 0; k < 23; k += 1) {
    await Promise.all(Array.from({ length: 500 }, (_, i) => server.engine.execute('BankAccount', `a${i}`, { type: 'deposit', amount: 1 })));
  }
  assert.equal((await server.engine.stats()).headPosition, 12_500);
  const c = await client();
  await converged(server, [c]);
  assert.deepEqual(await c.engine.verify(), { ok: true, checked: 12_500, firstBadPosition: null });
  assert.equal((await c.engine.load('BankAccount', 'a7')).state.balance, 24);
  await server.engine.execute('BankAccount', 'a7', { type: 'deposit', amount: 5 });
  await until(async () => (await c.engine.load('BankAccount', 'a7')).state.balance === 29, 'the live event');
  await c.engine.close();
  await server.stop();
});

test('a command larger than the server accepts is refused (413), the others go through', async () => {
  const { server } = await world({ options: { maxBodyBytes: 4096 } });
  const c = await syncClient({ url: server.url, storage: () => memoryStorage(`api-413-${process.pid}`), sync: { ...FAST, batchSize: 4 } });
  const ids = [];
  ids.push((await c.engine.execute('BankAccount', 'a', { type: 'create_account', accountHolder: 'A' })).commandId);
  const big = await c.engine.execute('BankAccount', 'a', { type: 'deposit', amount: 1, description: 'x'.repeat(5000) });
  for (let i = 0; i < 3; i += 1) ids.push((await c.engine.execute('BankAccount', 'a', { type: 'deposit', amount: 1 })).commandId);
  await assert.rejects(c.engine.settled(big.commandId), (e) => e instanceof ValidationError && /413/.test(e.message));
  for (const id of ids) await c.engine.settled(id);
  await converged(server, [c]);
  assert.equal(c.rejected.length, 1);
  await c.engine.close();
  await server.stop();
});
