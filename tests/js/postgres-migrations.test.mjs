// postgresStorage's tables and their migrations (pkg-template/lib/postgres-schema.js) on a
// throwaway PostgreSQL cluster: an empty database, re-runs (also concurrent), an older layout
// upgraded, a newer one refused, a failed migration rolled back, foreign tables refused,
// schemas that keep logs apart, a non-UTF8 database, a role without CREATE rights.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, postgresStorage, StorageError } from 'eventjournal';
import { packageLib, record, sleep, until, clusterForFile } from './postgres/helpers.mjs';
import { rejectsWith } from './support/assert.mjs';

const { migrate, MIGRATIONS, SCHEMA_VERSION } = packageLib('postgres-schema');
let n = 0;
const fresh = () => `m_${(n += 1)}`;
const open = (schema, connectionString = db.cluster.connectionString) => postgresStorage({ connectionString }, schema === undefined ? undefined : { schema });
const version = async (schema) => (await db.admin.query(`SELECT version FROM "${schema}".schema_version`)).rows.map((r) => r.version);
const tables = async (schema) => (await db.admin.query(
  'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1', [schema],
)).rows.map((r) => r.table_name);

const db = clusterForFile({ before, after });

// A later version of the package, simulated: this version's migrations plus one more.
const probeMigration = {
  version: SCHEMA_VERSION + 1,
  description: 'a probe table (test only)',
  async up(client, s) {
    await client.query(`CREATE TABLE ${s}.probe (n int)`);
    await client.query(`INSERT INTO ${s}.probe VALUES (1)`);
  },
};

test('an empty database: the default schema, its tables and constraints, version 2', async () => {
  assert.equal(SCHEMA_VERSION, 2);
  assert.equal(MIGRATIONS.length, SCHEMA_VERSION);
  const s = await open(undefined);
  assert.deepEqual(await tables('eventjournal'), ['events', 'outbox', 'schema_version', 'snapshots']);
  assert.deepEqual(await version('eventjournal'), [2]);
  const constraints = (await db.admin.query(`
    SELECT c.contype, array_agg(a.attname::text ORDER BY a.attname) AS cols
    FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
    WHERE c.conrelid = 'eventjournal.events'::regclass AND c.contype IN ('p', 'u')
    GROUP BY c.oid, c.contype ORDER BY 1, 2`)).rows.map((r) => `${r.contype}:${r.cols.join(',')}`);
  assert.deepEqual(constraints, ['p:position', 'u:id', 'u:stream_id,version']);
  await s.close();
});

test('re-runs are idempotent: six processes opening one empty schema at once, then reopens', async () => {
  const schema = fresh();
  const all = await Promise.all(Array.from({ length: 6 }, () => open(schema)));
  assert.deepEqual(await tables(schema), ['events', 'outbox', 'schema_version', 'snapshots']);
  assert.deepEqual(await version(schema), [2]);
  await all[0].appendEvents([record(1)], 0);
  await Promise.all(all.map((s) => s.close()));
  const again = await open(schema);
  assert.deepEqual(await again.readEvents(0, 10), [record(1)]);
  assert.equal(await migrate(db.admin, schema), 2);
  await again.close();
});

test('a migrated schema opens without CREATE rights (no DDL at open); an unmigrated one says why', async () => {
  const schema = fresh();
  await (await open(schema)).close();
  await db.admin.query('CREATE ROLE app LOGIN');
  await db.admin.query(`GRANT USAGE ON SCHEMA "${schema}" TO app`);
  await db.admin.query(`GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA "${schema}" TO app`);
  const asApp = db.cluster.connectionString.replace('postgres@', 'app@');
  const engine = await Engine.open({ storage: await open(schema, asApp) });
  await engine.execute('BankAccount', 'a', { type: 'create_account', accountHolder: 'A', initialDeposit: 1 });
  await engine.close();
  await rejectsWith(open(fresh(), asApp), (e) => {
    assert.ok(e instanceof StorageError, e.message);
    assert.equal(e.cause.code, '42501'); // insufficient_privilege
  });
});

test('an older layout is upgraded (once, even by three processes at once); data kept', async () => {
  const schema = fresh();
  const s = await open(schema);
  await s.appendEvents([record(1), record(2)], 0);
  await s.writeSnapshot({ key: 'k', position: 2, hash: 'h', state: 1 });
  const newer = [...MIGRATIONS, probeMigration];
  const results = await Promise.all([1, 2, 3].map(() => migrate(db.admin, schema, newer)));
  assert.deepEqual(results, [3, 3, 3]);
  assert.deepEqual(await version(schema), [3]);
  assert.deepEqual((await db.admin.query(`SELECT n FROM "${schema}".probe`)).rows, [{ n: 1 }]);
  assert.deepEqual(await s.readEvents(0, 10), [record(1), record(2)]);
  assert.equal((await s.readSnapshot('k')).state, 1);
  await s.close();
});

test('a newer layout is refused with a clear StorageError, and left as it is', async () => {
  const schema = fresh();
  await (await open(schema)).close();
  await migrate(db.admin, schema, [...MIGRATIONS, probeMigration]);
  const before = await tables(schema);
  await rejectsWith(open(schema), (e) => {
    assert.ok(e instanceof StorageError);
    assert.equal(e.code, 'STORAGE');
    assert.equal(e.reason, 'unsupported-schema');
    assert.match(e.message, new RegExp(`"${schema}" has eventjournal layout version 3; .*knows up to 2: upgrade eventjournal`));
  });
  assert.deepEqual(await tables(schema), before);
  assert.deepEqual(await version(schema), [3]);
});

test('a migration that fails rolls everything back', async () => {
  const failing = {
    version: SCHEMA_VERSION + 1,
    async up(client, s) {
      await client.query(`CREATE TABLE ${s}.half (n int)`);
      throw new Error('migration failed half-way');
    },
  };
  const schema = fresh();
  await rejectsWith(migrate(db.admin, schema, [...MIGRATIONS, failing]), (e) => assert.match(e.message, /half-way/));
  assert.deepEqual(await tables(schema), [], 'nothing of an empty schema\'s first migration stays');
  assert.equal((await db.admin.query('SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = $1', [schema])).rows[0].n, 0);
  await (await open(schema)).close();
  await rejectsWith(migrate(db.admin, schema, [...MIGRATIONS, failing]), (e) => assert.match(e.message, /half-way/));
  assert.deepEqual(await tables(schema), ['events', 'outbox', 'schema_version', 'snapshots']);
  assert.deepEqual(await version(schema), [2]);
});

test('a schema holding someone else\'s tables is refused, untouched', async () => {
  const schema = fresh();
  await db.admin.query(`CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".events (x int)`);
  await rejectsWith(open(schema), (e) => {
    assert.ok(e instanceof StorageError);
    assert.match(e.message, /not an eventjournal schema: it already has the table\(s\) events/);
  });
  assert.deepEqual(await tables(schema), ['events']);
});

test('schemas keep logs apart in one database, reserved words included; watch stays in its schema', async () => {
  const a = await Engine.open({ storage: await open('select') });
  const b = await Engine.open({ storage: await open('shop') });
  const otherA = await open('select');
  const woken = [];
  const watcher = await open('shop');
  watcher.watch((last) => woken.push(last));
  await a.execute('BankAccount', 'x', { type: 'create_account', accountHolder: 'X', initialDeposit: 5 });
  await b.execute('Order', 'o', { type: 'place_order', customerId: 'c', items: [{ itemId: 'i', quantity: 1, price: 2 }], shippingAddress: 'here' });
  assert.equal((await a.stats()).totalEvents, 2);
  assert.equal((await b.stats()).totalEvents, 1);
  assert.equal((await otherA.readEvents(0, 10)).length, 2);
  await until(async () => woken.includes(1), 'the shop watcher sees the shop append');
  await sleep(100);
  assert.ok(woken.every((p) => p === 1), JSON.stringify(woken));
  await Promise.all([a.close(), b.close(), otherA.close(), watcher.close()]);
});

test('the longest schema name (50 characters) works for every operation', async () => {
  const schema = `z${'x'.repeat(49)}`;
  const s = await open(schema);
  const other = await open(schema);
  const seen = [];
  s.watch((last) => seen.push(last));
  await s.appendEvents([], 0);
  await other.appendEvents(Array.from({ length: 1200 }, (_, i) => record(i + 1)), 0); // chunked
  await s.appendEvents([record(1201)], 1200);
  await assert.rejects(s.appendEvents([record(1201)], 1200), (e) => e.code === 'CONFLICT');
  assert.equal((await s.readEvents(1199, 10)).length, 2);
  await s.writeSnapshot({ key: 'k', position: 1, hash: 'h', state: 1 });
  assert.equal((await other.readSnapshot('k')).state, 1);
  await until(async () => seen.includes(1200), 'the watcher told of the other\'s append');
  await Promise.all([s.close(), other.close()]);
});

test('a database whose encoding is not UTF8 is refused', async () => {
  await db.admin.query("CREATE DATABASE latin ENCODING 'LATIN1' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'");
  await rejectsWith(open(fresh(), db.cluster.connectionString.replace(/\/postgres$/, '/latin')), (e) => {
    assert.ok(e instanceof StorageError);
    assert.match(e.message, /must use the UTF8 encoding, it uses LATIN1/);
  });
});
