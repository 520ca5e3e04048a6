// Sync × erasure (docs/protocol.md, GET /v1/keys and `event: forget`): a server with a key
// store seals the personal data it decides; a synced client opened with `keys` fetches the
// keys of the subjects its events name and reads the data, its own pending events stay
// unsealed in memory (it never makes a data key), `server.forget(subject)` erases on every
// live client, a subject the server does not let it read is erased for it, and a client
// without a key store stops syncing with a ValidationError naming `keys`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, memoryStorage, memoryKeyStore, ValidationError } from 'eventjournal';
import { createSyncServer } from 'eventjournal/server';
import { FAST, until } from './sync/harness.mjs';

let n = 0;
async function world() {
  const engine = await Engine.open({ keys: memoryKeyStore() });
  const server = await createSyncServer(engine, {
    log: () => {},
    authorize: (principal, request) => request.subject !== 'acc_secret',
  });
  const client = async ({ keys = memoryKeyStore() } = {}) => {
    const rejected = [];
    const c = await Engine.open({
      storage: await memoryStorage(`sync-keys-${process.pid}-${(n += 1)}`),
      ...(keys ? { keys } : {}),
      sync: { url: server.url, onRejected: (r) => rejected.push(r), ...FAST },
    });
    return { engine: c, keys, rejected };
  };
  return { engine, server, client };
}

const holder = async (c, id, options) => (await c.engine.load('BankAccount', id, options))?.state.accountHolder;

test('a synced client with keys reads the server\'s sealed personal data; its pending events are unsealed', async () => {
  const { engine, server, client } = await world();
  const a = await client();
  const r = await a.engine.execute('BankAccount', 'acc1', { type: 'create_account', accountHolder: 'Ada', initialDeposit: 10 });
  assert.equal(r.events[0].data.accountHolder, 'Ada', 'pending: as decided');
  assert.equal(await a.keys.getKey('acc1'), undefined, 'the client made no key of its own');
  const confirmed = await a.engine.settled(r.commandId);
  assert.equal(confirmed.events[0].data.accountHolder, 'Ada');
  assert.equal(await holder(a, 'acc1'), 'Ada');
  const [stored] = await a.engine.readAll({ raw: true });
  assert.equal(stored.data.accountHolder.$encrypted.subject, 'acc1', 'the replica holds the server\'s stored form');
  const served = (await engine.exportKeys(['acc1'])).keys.acc1;
  assert.deepEqual(await a.keys.getKey('acc1'), new Uint8Array(Buffer.from(served, 'base64')), 'the server\'s key, kept');
  // A client that catches up (GET /v1/events) fetches the keys too; one the server does not
  // let read a subject sees it erased.
  await a.engine.execute('BankAccount', 'acc_secret', { type: 'create_account', accountHolder: 'Eve' }, { waitFor: 'server' });
  const b = await client();
  await until(async () => (await b.engine.stats()).headPosition === (await engine.stats()).headPosition, 'b caught up');
  assert.equal(await holder(b, 'acc1'), 'Ada');
  assert.equal(await holder(b, 'acc_secret'), null);
  assert.deepEqual((await b.engine.readAll()).find((e) => e.streamId === 'acc_secret').erased, ['accountHolder']);
  assert.equal((await b.engine.verify()).ok, true);
  assert.equal(b.engine.syncState().lastError, null);
  for (const c of [a, b]) await c.engine.close();
  await server.close();
  await engine.close();
});

test('server.forget erases the subject on every live client; the account goes on', async () => {
  const { engine, server, client } = await world();
  const a = await client();
  const b = await client();
  await a.engine.execute('BankAccount', 'acc1', { type: 'create_account', accountHolder: 'Ada', initialDeposit: 10 }, { waitFor: 'server' });
  await a.engine.execute('BankAccount', 'acc2', { type: 'create_account', accountHolder: 'Bo' }, { waitFor: 'server' });
  await until(async () => (await holder(b, 'acc1')) === 'Ada', 'b reads acc1');
  await server.forget('acc1');
  for (const c of [a, b]) {
    await until(async () => (await holder(c, 'acc1')) === null, 'acc1 erased on the client');
    assert.equal(await c.keys.getKey('acc1'), undefined, 'its key deleted');
    assert.equal(await holder(c, 'acc2'), 'Bo', 'the other subject untouched');
    assert.equal((await c.engine.projection('account_balance')).acc1.accountHolder, null);
    assert.equal((await c.engine.verify()).ok, true);
  }
  // Balances are not personal: the account still works.
  const r = await b.engine.execute('BankAccount', 'acc1', { type: 'deposit', amount: 5 }, { waitFor: 'server' });
  assert.equal(r.version, 3);
  await until(async () => (await a.engine.load('BankAccount', 'acc1')).state.balance === 15, 'a hears of the deposit');
  assert.equal(await holder(a, 'acc1'), null, 'still erased');
  for (const c of [a, b]) await c.engine.close();
  await server.close();
  await engine.close();
});

test('a synced client without keys stops at the first sealed event: ValidationError naming keys', async () => {
  const { engine, server, client } = await world();
  const a = await client();
  await a.engine.execute('BankAccount', 'acc1', { type: 'create_account', accountHolder: 'Ada' }, { waitFor: 'server' });
  const bare = await client({ keys: null });
  await until(() => bare.engine.syncState().lastError !== null, 'the error');
  const { lastError } = bare.engine.syncState();
  assert.ok(lastError instanceof ValidationError, String(lastError));
  assert.match(lastError.message, /keys/);
  assert.equal((await bare.engine.stats()).totalEvents, 0, 'nothing it cannot read is stored');
  for (const c of [a, bare]) await c.engine.close();
  await server.close();
  await engine.close();
});
