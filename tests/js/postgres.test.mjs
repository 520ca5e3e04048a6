// postgresStorage (pkg-template/lib/postgres.js) against the installed package and a throwaway
// PostgreSQL cluster: the storage contract at the adapter level, racing writers, big batches,
// exact round trips, watch (LISTEN/NOTIFY, reconnects), timeouts and lost connections, bad
// arguments, close. Migrations: postgres-migrations.test.mjs; processes and crashes:
// postgres-processes.test.mjs, postgres-crash.test.mjs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, postgresStorage, setPostgresDriver, StorageError, ValidationError, ClosedError } from 'eventjournal';
import { pg, pool, record, sleep, until, clusterForFile } from './postgres/helpers.mjs';
import { rejectsWith } from './support/assert.mjs';

const FIELDS = ['data', 'hash', 'id', 'metadata', 'position', 'streamId', 'streamType', 'timestamp', 'type', 'version'];
let n = 0;
const fresh = () => `t_${(n += 1)}`;
const open = (schema, options = {}) => postgresStorage({ connectionString: db.cluster.connectionString }, { schema, ...options });

const db = clusterForFile({ before, after });

const isConflict = (e) => assert.equal(e.code, 'CONFLICT', e.message);

describe('postgresStorage: the storage contract', () => {
  test('pages ascending by position, exactly the 10 fields as given, numbers as numbers', async () => {
    const s = await open(fresh());
    assert.deepEqual(await s.readEvents(0, 10), []);
    await s.appendEvents([], 0);
    const all = Array.from({ length: 25 }, (_, i) => record(i + 1));
    await s.appendEvents(all.slice(0, 10), 0);
    await s.appendEvents(all.slice(10), 10);
    assert.deepEqual(await s.readEvents(0, 10), all.slice(0, 10));
    assert.deepEqual(await s.readEvents(10, 10), all.slice(10, 20));
    assert.deepEqual(await s.readEvents(20, 10), all.slice(20));
    assert.deepEqual(await s.readEvents(25, 10), []);
    assert.deepEqual(await s.readEvents(3, 2), all.slice(3, 5));
    assert.deepEqual(await s.readEvents(3, 0), []);
    for (const e of await s.readEvents(0, 1000)) {
      assert.deepEqual(Object.keys(e).sort(), FIELDS);
      for (const k of ['position', 'version', 'timestamp']) assert.equal(typeof e[k], 'number');
    }
    await s.close();
  });

  test('head check: a wrong expectedPosition is a CONFLICT and writes nothing', async () => {
    const schema = fresh();
    const s = await open(schema);
    await s.appendEvents([record(1), record(2)], 0);
    await rejectsWith(s.appendEvents([record(2)], 1), isConflict);
    await rejectsWith(s.appendEvents([record(4), record(5)], 3), (e) => { isConflict(e); assert.match(e.message, /expected the store at position 3, it is at 2/); });
    await rejectsWith(s.appendEvents([record(1)], 0), isConflict);
    await rejectsWith(s.appendEvents([], 1), isConflict);
    assert.deepEqual(await s.readEvents(0, 100), [record(1), record(2)]);
    const other = await open(schema); // another process on the same schema
    await other.appendEvents([record(3)], 2);
    await rejectsWith(s.appendEvents([{ ...record(3), id: 'mine' }], 2), isConflict);
    assert.deepEqual(await s.readEvents(0, 100), [record(1), record(2), record(3)]);
    await other.close();
    await s.close();
  });

  test('a batch is atomic; a duplicate id or (streamId, version) is the caller\'s error, not a CONFLICT', async () => {
    const s = await open(fresh());
    await s.appendEvents([record(1), record(2), record(3)], 0);
    for (const bad of [{ ...record(5), id: 'id-2' }, { ...record(5), version: 1 }]) {
      await rejectsWith(s.appendEvents([record(4), bad], 3), (e) => {
        assert.equal(e.code, '23505', e.message); // pg's unique_violation, passed on
        assert.notEqual(e.code, 'CONFLICT');
      });
    }
    await rejectsWith(s.appendEvents([record(5)], 3), (e) => { assert.ok(e instanceof ValidationError); assert.match(e.message, /position 4/); });
    for (const broken of [{ ...record(4), streamId: 5 }, { ...record(4), version: '4' }, { ...record(4), timestamp: 1.5 }, null, [1]]) {
      await rejectsWith(s.appendEvents([broken], 3), (e) => assert.ok(e instanceof ValidationError, e.message));
    }
    await rejectsWith(s.appendEvents([{ ...record(4), data: 10n }], 3), (e) => assert.notEqual(e.code, 'CONFLICT'));
    assert.deepEqual(await s.readEvents(0, 100), [record(1), record(2), record(3)]);
    await s.appendEvents([record(4), { ...record(5), streamId: 's2', version: 1 }], 3);
    assert.equal((await s.readEvents(0, 100)).length, 5);
    await s.close();
  });

  test('racing writers: exactly one wins each position, every loser gets CONFLICT, no gap', async () => {
    const schema = fresh();
    const writers = await Promise.all(Array.from({ length: 8 }, () => open(schema)));
    let head = 0;
    for (let round = 0; round < 25; round++) {
      const outcomes = await Promise.allSettled(writers.map((w, i) => {
        const batch = [1, 2].map((k) => ({ ...record(head + k), id: `r${round}-w${i}-${k}` }));
        return w.appendEvents(batch, head);
      }));
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      assert.equal(won.length, 1, `round ${round}: one winner`);
      for (const o of outcomes) if (o.status === 'rejected') isConflict(o.reason);
      head += 2;
    }
    const log = await writers[0].readEvents(0, 1000);
    assert.deepEqual(log.map((e) => e.position), Array.from({ length: head }, (_, i) => i + 1));
    await Promise.all(writers.map((w) => w.close()));
  });

  test('big batches: several statements in one transaction, all or nothing', async () => {
    const s = await open(fresh());
    const many = Array.from({ length: 2500 }, (_, i) => record(i + 1));
    await s.appendEvents(many, 0);
    assert.deepEqual(await s.readEvents(0, 5000), many);
    // 2,500 rows (3 statements) whose last row breaks a constraint: nothing of it stays
    const more = Array.from({ length: 2500 }, (_, i) => record(2501 + i));
    more[2499] = { ...more[2499], id: 'id-1' };
    await rejectsWith(s.appendEvents(more, 2500), (e) => assert.equal(e.code, '23505'));
    await rejectsWith(s.appendEvents(Array.from({ length: 2000 }, (_, i) => record(2500 + i)), 2499), isConflict);
    // a few megabytes per event: split by size
    const big = (p) => ({ ...record(p), data: { blob: 'x'.repeat(3 * 1024 * 1024), p } });
    await s.appendEvents([big(2501), big(2502), big(2503), big(2504)], 2500);
    const tail = await s.readEvents(2500, 10);
    assert.deepEqual(tail.map((e) => [e.position, e.data.p, e.data.blob.length]), [2501, 2502, 2503, 2504].map((p) => [p, p, 3 * 1024 * 1024]));
    await s.close();
  });

  test('snapshots: stored as given, by exact key, upserted; missing is undefined', async () => {
    const schema = fresh();
    const s = await open(schema);
    assert.equal(await s.readSnapshot('nope'), undefined);
    const snap = { key: 'agg:a', position: 3, hash: 'ab'.repeat(32), state: { n: 1, nested: [1, { x: null }] }, extra: true };
    await s.writeSnapshot(snap);
    assert.deepEqual(await s.readSnapshot('agg:a'), snap);
    await s.writeSnapshot({ ...snap, position: 7 });
    assert.equal((await s.readSnapshot('agg:a')).position, 7);
    // keys differing only by U+0000 / U+FFFD never answer for each other
    await s.writeSnapshot({ ...snap, key: 'k\u0000' });
    assert.equal((await s.readSnapshot('k\u0000')).key, 'k\u0000');
    await s.writeSnapshot({ ...snap, key: 'k\ufffd' });
    assert.equal((await s.readSnapshot('k\ufffd')).key, 'k\ufffd');
    assert.equal(await s.readSnapshot('k\u0000'), undefined);
    const other = await open(schema);
    assert.equal((await other.readSnapshot('agg:a')).position, 7);
    await other.close();
    await s.close();
  });
});

describe('exact round trips', () => {
  test('tricky records come back identical, key order included', async () => {
    const s = await open(fresh());
    const data = {
      z: 1, a: 2, '': 'empty key', nul: 'a\u0000b', lone: 'x\ud800y\udfff', emoji: '😀👍🏽', ls: '\u2028\u2029',
      nums: [1.0, 1.5, -0.25, 1e21, 1e-7, 5e-324, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 0.1 + 0.2],
      deep: { b: { a: [[], {}, [null]] } }, quote: '"\\\'', tab: '\t\n\r\b\f', ctrl: '\u0001\u001f\u007f',
    };
    const records = [
      { ...record(1), data, metadata: JSON.parse('{"__proto__": {"p": 1}, "commandId": "c"}') },
      { ...record(2), streamId: 'nul\u0000id', streamType: 'T\u0000', type: 'e\u0000', id: 'id\u0000' },
    ];
    await s.appendEvents(records, 0);
    const back = await s.readEvents(0, 10);
    assert.equal(JSON.stringify(back), JSON.stringify(records));
    assert.deepEqual(Object.keys(back[0].data), Object.keys(data));
    assert.ok(Object.prototype.hasOwnProperty.call(back[0].metadata, '__proto__'));
    assert.equal({}.p, undefined);
    await s.close();
  });

  test('through the engine: tricky payloads, a reopen verifies the chain and sees the same log', async () => {
    const schema = fresh();
    const define = (engine) => engine.defineAggregate('Bag', {
      initialState: {},
      decide: (s, c) => [{ type: 'put', data: c.payload }],
      evolve: (s, e) => ({ ...s, last: e.data }),
    });
    const engine = await Engine.open({ storage: await open(schema) });
    define(engine);
    const payloads = [
      { a: 'nul\u0000inside', b: 1.0, c: 1e21, d: 0.1, e: -1.5e-7, f: [1, 2.5, { z: 1, a: 2 }] },
      { text: '\u2028 😀 \\ "q" \t', big: 'x'.repeat(200_000) },
      JSON.parse('{"__proto__": {"polluted": true}, "k": 1}'),
    ];
    for (const [i, payload] of payloads.entries()) await engine.execute('Bag', `bag\u0000${i}`, { type: 'put', payload });
    await engine.execute('BankAccount', 'ünïcødé ✓', { type: 'create_account', accountHolder: 'Zoë \u0000 Ångström', initialDeposit: 10 });
    const stats = await engine.stats();
    const again = await Engine.open({ storage: await open(schema) });
    define(again);
    assert.deepEqual(await again.verify(), { ok: true, checked: stats.totalEvents, firstBadPosition: null });
    assert.deepEqual(await again.stats(), stats);
    assert.deepEqual(await again.readAll(), await engine.readAll());
    assert.equal((await again.load('Bag', 'bag\u00000')).state.last.a, 'nul\u0000inside');
    assert.equal((await again.load('BankAccount', 'ünïcødé ✓')).state.accountHolder, 'Zoë \u0000 Ångström');
    await again.close();
    await engine.close();
  });
});

describe('watch (LISTEN/NOTIFY)', () => {
  test('reports other writers\' appends, not its own; unwatch and close stop it; a non-function throws', async () => {
    const schema = fresh();
    const s = await open(schema);
    const other = await open(schema);
    const seen = [];
    const unwatch = s.watch((last) => seen.push(last));
    assert.throws(() => s.watch('nope'), ValidationError);
    await s.appendEvents([record(1)], 0);
    await other.appendEvents([record(2), record(3)], 1);
    await until(async () => seen.includes(3), 'the other writer\'s append');
    await sleep(100);
    // 3 from the NOTIFY, and maybe from the head reported once listening (never 1: our own)
    assert.ok(seen.length >= 1 && seen.every((p) => p === 3), JSON.stringify(seen));
    const before = seen.length;
    unwatch();
    unwatch();
    await other.appendEvents([record(4)], 3);
    await sleep(150);
    assert.equal(seen.length, before);
    const seen2 = [];
    s.watch((last) => seen2.push(last));
    await until(async () => seen2.includes(4), 'a new watch reports the head');
    await s.close();
    await other.appendEvents([record(5)], 4);
    await sleep(150);
    assert.deepEqual(seen2, [4]);
    await other.close();
  });

  test('its own append is not reported even when the NOTIFY comes before the answer; a failed one\'s is', async () => {
    const schema = fresh();
    const real = pool(db.cluster.connectionString);
    const delay = { before: 0, after: 0 };
    // The caller's pool, slowed down at will (the LISTEN connection is its own, not slowed).
    const slow = {
      options: real.options,
      connect: () => real.connect(),
      end: () => real.end(),
      async query(...args) {
        await sleep(delay.before);
        const result = await real.query(...args);
        await sleep(delay.after);
        return result;
      },
    };
    const s = await postgresStorage({ pool: slow }, { schema });
    const other = await open(schema);
    const seen = [];
    s.watch((last) => seen.push(last));
    const listeners = `SELECT 1 FROM pg_stat_activity WHERE application_name = 'eventjournal-listen' AND query LIKE '%"${schema}".events%'`;
    await until(async () => (await db.admin.query(listeners)).rows.length === 1, 'listening');
    delay.after = 300; // our append commits at once, its answer comes 300 ms later: after the NOTIFY
    await s.appendEvents([record(1), record(2)], 0);
    await sleep(100);
    assert.deepEqual(seen, [], 'our own append is not reported');
    delay.after = 0;
    delay.before = 300; // ours waits; meanwhile another writer takes position 3 and NOTIFYs it
    const ours = s.appendEvents([{ ...record(3), id: 'mine' }], 2);
    await other.appendEvents([record(3)], 2);
    await rejectsWith(ours, isConflict);
    assert.deepEqual(seen, [3], 'the NOTIFY held back while ours was in flight is delivered once ours failed');
    await s.close();
    await other.close();
    await real.end();
  });

  test('the listening connection comes back after it is killed and reports what it missed', async () => {
    const schema = fresh();
    const s = await open(schema);
    const other = await open(schema);
    const seen = [];
    s.watch((last) => seen.push(last));
    const listeners = `SELECT pid FROM pg_stat_activity WHERE application_name = 'eventjournal-listen' AND query LIKE '%"${schema}".events%'`;
    await until(async () => (await db.admin.query(listeners)).rows.length === 1, 'the LISTEN connection ready');
    await db.admin.query(`SELECT pg_terminate_backend(pid) FROM (${listeners}) AS l`);
    await other.appendEvents([record(1), record(2)], 0); // while the listener may be away
    await until(async () => seen.includes(2), 'the append made while reconnecting');
    await other.appendEvents([record(3)], 2);
    await until(async () => seen.includes(3), 'appends after the reconnect');
    await s.close();
    await other.close();
  });

  test('two engines in one database: each catches up with the other within a round trip', async () => {
    const schema = fresh();
    const a = await Engine.open({ storage: await open(schema) });
    const b = await Engine.open({ storage: await open(schema) });
    const got = [];
    b.subscribe((e) => got.push([e.position, Date.now()]));
    const t0 = Date.now();
    await a.execute('BankAccount', 'x', { type: 'create_account', accountHolder: 'X', initialDeposit: 5 });
    await until(async () => got.length === 2, 'b sees a\'s events', 2000);
    assert.ok(got[1][1] - t0 < 1000, `seen after ${got[1][1] - t0} ms`);
    await b.execute('BankAccount', 'x', { type: 'deposit', amount: 1 });
    await until(async () => (await a.load('BankAccount', 'x')).state.balance === 6, 'a sees b\'s deposit', 2000);
    await a.close();
    await b.close();
  });
});

describe('failures: timeouts, lost connections, an unreachable database', () => {
  test('a statement timeout rejects the append (StorageError with cause), writes nothing, and later appends work', async () => {
    const schema = fresh();
    const engine = await Engine.open({ storage: await open(schema, { statementTimeoutMs: 300 }) });
    await engine.execute('BankAccount', 'a', { type: 'create_account', accountHolder: 'A', initialDeposit: 0 });
    const blocker = await db.admin.connect();
    await blocker.query('BEGIN');
    await blocker.query(`LOCK TABLE "${schema}".events IN EXCLUSIVE MODE`);
    const t0 = Date.now();
    const err = await rejectsWith(engine.execute('BankAccount', 'a', { type: 'deposit', amount: 7 }, { commandId: 'slow' }), (e) => {
      assert.ok(e instanceof StorageError, `${e.name}: ${e.message}`);
      assert.equal(e.cause.code, '57014'); // query_canceled by statement_timeout
    });
    assert.ok(Date.now() - t0 < 5000, `failed after ${Date.now() - t0} ms: ${err.message}`);
    await blocker.query('ROLLBACK');
    blocker.release();
    const ok = await engine.execute('BankAccount', 'a', { type: 'deposit', amount: 7 }, { commandId: 'slow' });
    assert.equal(ok.position, 2);
    const { rows } = await db.admin.query(`SELECT count(*)::int AS n FROM "${schema}".events`);
    assert.equal(rows[0].n, 2);
    await engine.close();
  });

  test('connections killed under the adapter: it reconnects; every acknowledged deposit is there once', async () => {
    const schema = fresh();
    const engine = await Engine.open({ storage: await open(schema) });
    await engine.execute('BankAccount', 'a', { type: 'create_account', accountHolder: 'A', initialDeposit: 0 });
    let acked = 0;
    let failures = 0;
    for (let i = 1; i <= 60; i++) {
      if (i % 10 === 0) {
        await db.admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'eventjournal'");
      }
      for (let attempt = 0; ; attempt++) {
        try {
          await engine.execute('BankAccount', 'a', { type: 'deposit', amount: i }, { commandId: `d${i}` });
          acked += i;
          break;
        } catch (e) {
          assert.equal(e.code, 'STORAGE', e.message);
          failures += 1;
          assert.ok(attempt < 5, 'recovers');
        }
      }
    }
    const check = await Engine.open({ storage: await open(schema) });
    assert.equal((await check.load('BankAccount', 'a')).state.balance, acked);
    assert.equal((await check.stats()).totalEvents, 61);
    assert.ok((await check.verify()).ok);
    assert.ok(failures <= 6, `${failures} failures`);
    await check.close();
    await engine.close();
  });

  test('an unreachable database: the factory rejects with a StorageError naming the cause', async () => {
    const t0 = Date.now();
    await rejectsWith(postgresStorage({ connectionString: 'postgresql://postgres@127.0.0.1:1/postgres' }), (e) => {
      assert.ok(e instanceof StorageError, e.message);
      assert.equal(e.cause.code, 'ECONNREFUSED');
      assert.match(e.message, /cannot open/);
    });
    await rejectsWith(postgresStorage({ connectionString: db.cluster.connectionString.replace(/\/postgres$/, '/nodb') }), (e) => {
      assert.ok(e instanceof StorageError);
      assert.equal(e.cause.code, '3D000'); // invalid_catalog_name
    });
    assert.ok(Date.now() - t0 < 5000);
  });
});

describe('arguments, close, the driver', () => {
  test('bad arguments are ValidationErrors', async () => {
    const cs = db.cluster.connectionString;
    const bad = [
      () => postgresStorage(), () => postgresStorage(null), () => postgresStorage(cs), () => postgresStorage({}),
      () => postgresStorage({ connectionString: '' }), () => postgresStorage({ connectionString: 5 }),
      () => postgresStorage({ connectionString: cs, pool: db.admin }), () => postgresStorage({ pool: {} }),
      () => postgresStorage({ connectionString: cs }, 'schema'), () => postgresStorage({ connectionString: cs }, { schema: 'Bad-Name' }),
      () => postgresStorage({ connectionString: cs }, { schema: '' }), () => postgresStorage({ connectionString: cs }, { schema: 'x'.repeat(51) }),
      () => postgresStorage({ connectionString: cs }, { schema: 'a"; DROP TABLE x; --' }),
      () => postgresStorage({ connectionString: cs }, { poolSize: 0 }), () => postgresStorage({ connectionString: cs }, { statementTimeoutMs: -1 }),
      () => postgresStorage({ connectionString: cs }, { connectionTimeoutMs: 1.5 }),
    ];
    for (const [i, call] of bad.entries()) {
      await rejectsWith(call(), (e) => assert.ok(e instanceof ValidationError, `case ${i}: ${e.name} ${e.message}`));
    }
    const s = await open(fresh());
    const calls = [
      () => s.readEvents(-1, 10), () => s.readEvents(0, 1.5), () => s.readEvents('0', 10), () => s.readEvents(0),
      () => s.appendEvents('x', 0), () => s.appendEvents([], -1), () => s.appendEvents([], 2 ** 53),
      () => s.readSnapshot(5), () => s.writeSnapshot(null), () => s.writeSnapshot({ key: 1 }),
    ];
    for (const [i, call] of calls.entries()) {
      await rejectsWith(call(), (e) => assert.ok(e instanceof ValidationError, `call ${i}: ${e.name} ${e.message}`));
    }
    await s.close();
  });

  test('after close every call is a ClosedError; closing twice is harmless; our pool is ended', async () => {
    const s = await postgresStorage({ connectionString: `${db.cluster.connectionString}?application_name=closing` }, { schema: fresh() });
    await s.appendEvents([record(1)], 0);
    const connections = async () => (await db.admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'closing'")).rows[0].n;
    assert.ok(await connections() >= 1);
    await s.close();
    await s.close();
    await until(async () => (await connections()) === 0, 'the pool ended');
    for (const call of [() => s.readEvents(0, 1), () => s.appendEvents([record(2)], 1), () => s.readSnapshot('k'), () => s.writeSnapshot({ key: 'k' })]) {
      await rejectsWith(call(), (e) => { assert.ok(e instanceof ClosedError); assert.equal(e.code, 'CLOSED'); });
    }
    assert.throws(() => s.watch(() => {}), ClosedError);
  });

  test('{ pool }: the caller\'s pool is used, and stays open after close', async () => {
    const schema = fresh();
    const mine = pool(db.cluster.connectionString, { max: 3 });
    const s = await postgresStorage({ pool: mine }, { schema });
    const engine = await Engine.open({ storage: s });
    const other = await Engine.open({ storage: await open(schema) });
    await other.execute('BankAccount', 'p', { type: 'create_account', accountHolder: 'P', initialDeposit: 3 });
    await until(async () => (await engine.stats()).totalEvents === 2, 'watch through a connection made from pool.options');
    await engine.execute('BankAccount', 'p', { type: 'deposit', amount: 1 });
    await engine.close();
    assert.equal((await mine.query('SELECT 1 AS one')).rows[0].one, 1);
    const { rows } = await mine.query(`SELECT count(*)::int AS n FROM "${schema}".events`);
    assert.equal(rows[0].n, 3);
    await other.close();
    await mine.end();
  });

  test('without pg: a clear error naming npm install pg@8; setPostgresDriver takes the module or a loader', async () => {
    try {
      setPostgresDriver(() => { throw new Error("Cannot find module 'pg'"); });
      await rejectsWith(open(fresh()), (e) => {
        assert.ok(e instanceof StorageError);
        assert.equal(e.reason, 'unsupported');
        assert.match(e.message, /npm install pg@8/);
        assert.match(e.message, /Cannot find module 'pg'/);
      });
      setPostgresDriver(() => ({ notPg: true }));
      await rejectsWith(open(fresh()), (e) => { assert.equal(e.reason, 'unsupported'); assert.match(e.message, /did not return the pg module/); });
      assert.throws(() => setPostgresDriver(5), ValidationError);
      setPostgresDriver(pg());
      await (await open(fresh())).close();
    } finally {
      setPostgresDriver(() => pg());
    }
    await (await open(fresh())).close();
  });
});
