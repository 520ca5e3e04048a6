// Crypto-shredding through the package, for each Node adapter (memory, SQLite, PostgreSQL on a
// throwaway cluster) with its key store: personal data is stored encrypted (never in the
// clear in any file), forget erases it for good (the files are scanned: no plaintext, and the
// deleted key's bytes gone from the key store's files), the other subjects stay, verify() is
// still true, a reopen keeps it forgotten; a tampered ciphertext is an IntegrityError (the
// chain), a wrong key an IntegrityError (never garbage); the key stores' contract; the typed
// errors without a key store. IndexedDB in Chromium: erasure.browser.mjs.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  Engine, memoryStorage, sqliteStorage, postgresStorage, memoryKeyStore, sqliteKeyStore, postgresKeyStore,
  ClosedError, IntegrityError, StorageError, ValidationError,
} from 'eventjournal';
import { betterSqlite3, tempDir } from './sqlite/helpers.mjs';
import { startPostgres } from './support/postgres.mjs';
import { pool } from './postgres/helpers.mjs';

const ADA = 'Ada Lovelace-7f3a';
const GRACE = 'Grace Hopper-91bc';
const ADDRESS = '12 Secret Lane, Ockham';
const tmp = tempDir('ej-erase-');
let cluster;
before(async () => { cluster = await startPostgres({ fsync: false }); });
after(async () => {
  await cluster?.stop();
  tmp.cleanup();
});

/** Every file under `path` (a file or a folder), recursively. */
function filesUnder(path) {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return [];
  if (!st.isDirectory()) return [path];
  return readdirSync(path).flatMap((name) => filesUnder(join(path, name)));
}

/** The files among `paths` that hold `needle` (a string, as UTF-8, or bytes). */
function holding(paths, needle) {
  const bytes = typeof needle === 'string' ? Buffer.from(needle, 'utf8') : Buffer.from(needle);
  return paths.flatMap(filesUnder).filter((f) => {
    try { return readFileSync(f).includes(bytes); } catch { return false; }
  });
}

async function rejects(promise, Cls, ...parts) {
  let error;
  try { await promise; } catch (e) { error = e; }
  assert.ok(error instanceof Cls, `expected a ${Cls.name}, got ${error}`);
  for (const part of parts) assert.ok(error.message.includes(part), `${error.message} should mention ${part}`);
  return error;
}

const item = [{ itemId: 'sku-1', quantity: 1, price: 500 }];

/** Writes the three subjects' data; closes (so the projection snapshots are stored). */
async function seed(open) {
  const engine = await open();
  await engine.execute('BankAccount', 'account_001', { type: 'create_account', accountHolder: ADA, initialDeposit: 1000 });
  await engine.execute('BankAccount', 'account_002', { type: 'create_account', accountHolder: GRACE, initialDeposit: 500 });
  await engine.execute('Order', 'order_1', { type: 'place_order', customerId: 'cust_1', items: item, shippingAddress: { street: ADDRESS } });
  await engine.execute('BankAccount', 'account_001', { type: 'withdraw', amount: 250 });
  const read = await engine.readAll();
  assert.equal(read[0].data.accountHolder, ADA, 'reads decrypt');
  assert.deepEqual(read[4].data.shippingAddress, { street: ADDRESS });
  const raw = await engine.readAll({ raw: true });
  assert.equal(raw[0].data.accountHolder.$encrypted.subject, 'account_001');
  assert.equal(raw[0].data.accountHolder.$encrypted.v, 1);
  assert.equal(raw[4].data.shippingAddress.$encrypted.subject, 'cust_1');
  assert.equal((await engine.load('BankAccount', 'account_001')).state.accountHolder, ADA);
  await engine.close();
}

/**
 * The erasure scenario on one adapter: `open()` opens an engine on it (with its key store),
 * `keys()` opens the key store alone, `files` lists what to scan (the storage's, the key
 * store's), `keyFiles` where the deleted key's bytes must be gone from.
 */
async function eraseOn({ open, keys, files, keyFiles = files }) {
  await seed(open);
  assert.deepEqual(holding(files, ADA), [], 'personal data is never stored in the clear (snapshots are sealed too)');
  const store = await keys();
  const adaKey = await store.getKey('account_001');
  assert.equal(adaKey.length, 32);
  await store.close();

  let engine = await open();
  await engine.forget('account_001');
  const read = await engine.readAll();
  assert.equal(read[0].data.accountHolder, null);
  assert.deepEqual(read[0].erased, ['accountHolder']);
  assert.equal(read[2].data.accountHolder, GRACE, 'the other subjects stay');
  assert.deepEqual(read[4].data.shippingAddress, { street: ADDRESS });
  assert.equal(read[4].erased, undefined);
  assert.equal((await engine.load('BankAccount', 'account_001')).state.accountHolder, null);
  assert.equal((await engine.load('BankAccount', 'account_001')).state.balance, 750);
  const balances = await engine.projection('account_balance');
  assert.equal(balances.account_001.accountHolder, null);
  assert.equal(balances.account_002.accountHolder, GRACE);
  assert.deepEqual(await engine.verify(), { ok: true, checked: 6, firstBadPosition: null });
  assert.equal((await engine.load('BankAccount', 'account_001', { at: { version: 1 } })).state.accountHolder, null, 'time travel too');
  await engine.close();

  assert.deepEqual(holding(files, ADA), []);
  assert.deepEqual(holding(keyFiles, adaKey), [], 'the deleted key is gone from the key store\'s files');

  engine = await open();
  assert.equal((await engine.readAll())[0].data.accountHolder, null, 'a reopen keeps it forgotten');
  assert.equal((await engine.projection('account_balance')).account_001.accountHolder, null);
  await engine.execute('BankAccount', 'account_001', { type: 'deposit', amount: 5 });
  await engine.forget('account_001'); // again: harmless
  assert.equal((await engine.verify()).ok, true);
  await engine.close();
}

describe('erasure, per adapter', () => {
  test('memory storage and memoryKeyStore', async () => {
    const storage = await memoryStorage('erase-memory');
    const open = async () => Engine.open({ storage: await memoryStorage('erase-memory'), keys: memoryKeyStore('erase-memory') });
    await seed(open);
    const engine = await open();
    await engine.forget('account_001');
    await engine.close();
    // The store's whole content: its events and snapshots.
    const stored = JSON.stringify([
      await storage.readEvents(0, 1000),
      await storage.readSnapshot('projection:account_balance:v1'),
      await storage.readSnapshot('projection:order_status:v1'),
    ]);
    assert.ok(!stored.includes(ADA) && !stored.includes(ADDRESS), stored);
    assert.ok(stored.includes('$encrypted'));
    const again = await open();
    assert.equal((await again.readAll())[0].data.accountHolder, null);
    assert.deepEqual((await again.readAll())[0].erased, ['accountHolder']);
    assert.equal((await again.readAll())[4].data.shippingAddress.street, ADDRESS);
    await again.close();
  });

  test('SQLite: the database file, its WAL and the key file', async () => {
    const db = tmp.file('erase.db');
    const keyDb = tmp.file('erase-keys.db');
    await eraseOn({
      open: async () => Engine.open({ storage: await sqliteStorage(db), keys: sqliteKeyStore(keyDb) }),
      keys: () => sqliteKeyStore(keyDb),
      files: [db, `${db}-wal`, `${db}-shm`, keyDb, `${keyDb}-wal`, `${keyDb}-shm`],
      keyFiles: [keyDb, `${keyDb}-wal`, `${keyDb}-shm`],
    });
  });

  test('SQLite: keys in the storage\'s own file', async () => {
    const db = tmp.file('erase-one-file.db');
    await eraseOn({
      open: async () => Engine.open({ storage: await sqliteStorage(db), keys: await sqliteKeyStore(db) }),
      keys: () => sqliteKeyStore(db),
      files: [db, `${db}-wal`, `${db}-shm`],
    });
  });

  test('PostgreSQL: the whole data directory (the deleted key: outside pg_wal)', async () => {
    const conn = { connectionString: cluster.connectionString };
    const data = join(cluster.dir, 'data');
    const admin = pool(cluster.connectionString);
    await eraseOn({
      open: async () => Engine.open({ storage: await postgresStorage(conn), keys: postgresKeyStore(conn) }),
      keys: () => postgresKeyStore(conn),
      // Flushed to the files first: what PostgreSQL holds only in memory is not on disk yet.
      files: [data],
      keyFiles: readdirSync(data).filter((d) => d !== 'pg_wal').map((d) => join(data, d)),
    });
    await admin.query('CHECKPOINT');
    assert.deepEqual(holding([data], ADA), [], 'not in the data directory, pg_wal included');
    await admin.end();
  });
});

describe('erasure: errors, never garbage', () => {
  test('a tampered ciphertext is an IntegrityError (the chain catches it first)', async () => {
    const db = tmp.file('tampered.db');
    // The engine closes its key store: each engine gets its own handle on the named store.
    const keys = () => memoryKeyStore('tampered');
    await seed(async () => Engine.open({ storage: await sqliteStorage(db), keys: keys() }));
    const raw = betterSqlite3()(db);
    const { data } = raw.prepare('SELECT data FROM events WHERE position = 1').get();
    const parsed = JSON.parse(data);
    const sealed = parsed.accountHolder.$encrypted;
    sealed.data = `${sealed.data[0] === 'A' ? 'B' : 'A'}${sealed.data.slice(1)}`;
    raw.prepare('UPDATE events SET data = ? WHERE position = 1').run(JSON.stringify(parsed));
    raw.close();
    const e = await rejects(Engine.open({ storage: await sqliteStorage(db), keys: keys() }), IntegrityError, 'hash');
    assert.equal(e.position, 1);
  });

  test('a wrong key is an IntegrityError naming the subject and the position', async () => {
    const keys = () => memoryKeyStore('wrong-key');
    await seed(async () => Engine.open({ storage: await memoryStorage('wrong-key'), keys: keys() }));
    const store = keys();
    await store.deleteKey('account_002');
    await store.createKey('account_002', new Uint8Array(randomBytes(32)));
    const e = await rejects(Engine.open({ storage: await memoryStorage('wrong-key'), keys: keys() }), IntegrityError, 'account_002', 'does not decrypt');
    assert.equal(e.position, 3);
  });

  test('without a key store', async () => {
    // Built-ins store plaintext, as always; definePersonalData and forget need keys.
    const plain = await Engine.open();
    await plain.execute('BankAccount', 'a', { type: 'create_account', accountHolder: ADA });
    assert.equal((await plain.readAll({ raw: true }))[0].data.accountHolder, ADA);
    assert.throws(() => plain.definePersonalData('t', { subject: () => 's', fields: ['x'] }), (e) => e instanceof ValidationError && e.message.includes('`keys`'));
    await rejects(plain.forget('a'), ValidationError, '`keys`');
    await rejects(plain.exportKeys(['a']), ValidationError, '`keys`');
    await plain.close();
    // A log that holds encrypted values, opened without its key store.
    await seed(async () => Engine.open({ storage: await memoryStorage('no-keys'), keys: memoryKeyStore() }));
    await rejects(Engine.open({ storage: await memoryStorage('no-keys') }), ValidationError, '`keys`', 'position 1');
  });

  test('bad keys options and definitions are ValidationErrors or StorageErrors', async () => {
    await rejects(Engine.open({ keys: 5 }), StorageError, 'key store');
    await rejects(Engine.open({ keys: { getKey() {}, createKey() {} } }), StorageError, 'deleteKey');
    const engine = await Engine.open({ keys: memoryKeyStore() });
    for (const bad of [undefined, {}, { subject: () => 's' }, { subject: () => 's', fields: [] }, { subject: 's', fields: ['x'] }, { subject: () => 's', fields: ['a', 'a'] }]) {
      assert.throws(() => engine.definePersonalData('t', bad), ValidationError, JSON.stringify(bad));
    }
    await rejects(engine.forget(''), ValidationError);
    await rejects(engine.forget('a\u001f2'), ValidationError, 'U+001F');
    await rejects(engine.forget(7), ValidationError);
    // A subject function that throws or answers a non-string refuses the command, nothing appended.
    engine.defineAggregate('Note', { initialState: null, decide: (s, c) => [{ type: 'noted', data: c }], evolve: (s) => s });
    engine.definePersonalData('noted', { subject: (e) => e.data.author, fields: ['text'] });
    await rejects(engine.execute('Note', 'n1', { type: 'note', text: 'x' }), ValidationError, 'subject');
    engine.definePersonalData('noted', { subject: () => { throw new Error('who?'); }, fields: ['text'] });
    await rejects(engine.execute('Note', 'n1', { type: 'note', text: 'x' }), ValidationError, 'who?');
    assert.equal(await engine.streamVersion('n1'), 0);
    await engine.close();
  });

  test('a key store that fails or lies is a StorageError, nothing appended', async () => {
    const down = { getKey: async () => { throw new Error('vault down'); }, createKey: async () => { throw new Error('vault down'); }, deleteKey: async () => {} };
    const engine = await Engine.open({ keys: down });
    const e = await rejects(engine.execute('BankAccount', 'a', { type: 'create_account', accountHolder: ADA }), StorageError, 'keys.getKey', 'vault down');
    assert.equal(e.cause.message, 'vault down');
    assert.equal((await engine.stats()).totalEvents, 0);
    await engine.close();
    const short = { getKey: async () => undefined, createKey: async () => new Uint8Array(16), deleteKey: async () => {} };
    const lying = await Engine.open({ keys: short });
    await rejects(lying.execute('BankAccount', 'a', { type: 'create_account', accountHolder: ADA }), StorageError, '32 bytes');
    await lying.close();
  });
});

describe('key stores: the contract', () => {
  const stores = {
    memory: async () => memoryKeyStore(),
    sqlite: async () => sqliteKeyStore(tmp.file(`keys-${Math.random()}.db`)),
    postgres: async () => postgresKeyStore({ connectionString: cluster.connectionString }, { schema: `keys_${Math.floor(Math.random() * 1e9)}` }),
  };
  for (const [name, make] of Object.entries(stores)) {
    test(name, async () => {
      const store = await make();
      const k1 = new Uint8Array(randomBytes(32));
      const k2 = new Uint8Array(randomBytes(32));
      assert.equal(await store.getKey('s'), undefined);
      assert.deepEqual(await store.createKey('s', k1), k1);
      assert.deepEqual(await store.createKey('s', k2), k1, 'the existing key wins');
      assert.deepEqual(await store.getKey('s'), k1);
      await store.createKey('t\u001f2', k2);
      assert.deepEqual(await store.getKeys(['t\u001f2', 'nope', 's']), [k2, undefined, k1]);
      const copy = await store.getKey('s');
      copy.fill(0);
      assert.deepEqual(await store.getKey('s'), k1, 'callers get copies');
      await store.deleteKey('s');
      await store.deleteKey('s');
      assert.equal(await store.getKey('s'), undefined);
      await store.scrub();
      for (const [args, method] of [[[''], 'getKey'], [[5], 'getKey'], [['s', new Uint8Array(31)], 'createKey'], [['s', 'x'], 'createKey'], [['x'.repeat(1025)], 'deleteKey'], [['s'], 'getKeys']]) {
        await rejects(store[method](...args), ValidationError);
      }
      await store.close();
      await store.close();
      await rejects(store.getKey('t\u001f2'), ClosedError);
    });
  }

  test('postgresKeyStore refuses the storage\'s schema', async () => {
    const conn = { connectionString: cluster.connectionString };
    const storage = await postgresStorage(conn, { schema: 'shared_schema' });
    await storage.close();
    await rejects(postgresKeyStore(conn, { schema: 'shared_schema' }), ValidationError, 'schema of its own');
  });
});

describe('exportKeys (what a sync server hands a client)', () => {
  test('the keys by name, and the forgotten subjects', async () => {
    const keys = memoryKeyStore();
    const engine = await Engine.open({ keys });
    await engine.execute('BankAccount', 'a1', { type: 'create_account', accountHolder: ADA });
    await engine.execute('BankAccount', 'a2', { type: 'create_account', accountHolder: GRACE });
    await engine.forget('a2');
    const out = await engine.exportKeys(['a1', 'a2', 'unknown']);
    assert.deepEqual(Object.keys(out.keys), ['a1']);
    assert.deepEqual(Buffer.from(out.keys.a1, 'base64'), Buffer.from(await keys.getKey('a1')));
    assert.deepEqual(out.forgotten, ['a2']);
    await rejects(engine.exportKeys('a1'), ValidationError);
    await engine.close();
  });
});
