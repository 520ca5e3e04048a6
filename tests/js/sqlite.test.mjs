// sqliteStorage (pkg-template/lib/sqlite.js) against the installed package:
//   1. the storage contract (DESIGN.md §5) on one file, and the engine over it;
//   2. two Node processes appending to one file at once: no lost update;
//   3. crash safety: a writer killed with SIGKILL at CRASH_KILLS (default 100) random moments
//      never loses an acknowledged command and never leaves a broken chain.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, sqliteStorage } from 'eventjournal';
import { sqliteModule, betterSqlite3, tempDir, record, prng, sleep, runChild, checkLog } from './sqlite/helpers.mjs';
import { rejectsWith } from './support/assert.mjs';

const FIELDS = ['data', 'hash', 'id', 'metadata', 'position', 'streamId', 'streamType', 'timestamp', 'type', 'version'];
const { setSqliteDriver } = sqliteModule();
const Database = betterSqlite3();
const tmp = tempDir();
after(() => tmp.cleanup());
let n = 0;
const freshFile = () => tmp.file(`db-${++n}.sqlite`);

describe('sqliteStorage: the storage contract', () => {
  test('pages ascending by position, exactly the 10 fields, data and metadata as objects', async () => {
    const s = await sqliteStorage(freshFile());
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
    assert.deepEqual(await s.readEvents(0, 1000), all);
    for (const e of await s.readEvents(0, 1000)) assert.deepEqual(Object.keys(e).sort(), FIELDS);
    await s.close();
  });

  test('head check: a wrong expectedPosition is a CONFLICT and writes nothing', async () => {
    const file = freshFile();
    const s = await sqliteStorage(file);
    await s.appendEvents([record(1), record(2)], 0);
    await rejectsWith(s.appendEvents([record(2)], 1), (e) => assert.equal(e.code, 'CONFLICT'));
    await rejectsWith(s.appendEvents([record(4), record(5)], 3), (e) => assert.equal(e.code, 'CONFLICT'));
    await rejectsWith(s.appendEvents([record(1)], 0), (e) => assert.equal(e.code, 'CONFLICT'));
    assert.deepEqual(await s.readEvents(0, 100), [record(1), record(2)]);
    // a second connection on the same file (another engine, another process) sees the same head
    const other = await sqliteStorage(file);
    await other.appendEvents([record(3)], 2);
    await rejectsWith(s.appendEvents([{ ...record(3), id: 'mine' }], 2), (e) => assert.equal(e.code, 'CONFLICT'));
    assert.deepEqual(await s.readEvents(0, 100), [record(1), record(2), record(3)]);
    await other.close();
    await s.close();
  });

  test('a batch is atomic, and ids and (streamId, version) are unique', async () => {
    const s = await sqliteStorage(freshFile());
    await s.appendEvents([record(1), record(2), record(3)], 0);
    const dupId = { ...record(5), id: 'id-2' };
    await rejectsWith(s.appendEvents([record(4), dupId], 3), (e) => {
      assert.notEqual(e.code, 'CONFLICT');
      assert.match(String(e.code), /CONSTRAINT/);
    });
    const dupVersion = { ...record(5), version: 1 };
    await rejectsWith(s.appendEvents([record(4), dupVersion], 3), (e) => assert.match(String(e.code), /CONSTRAINT/));
    const noData = { ...record(5), data: undefined };
    await rejectsWith(s.appendEvents([record(4), noData], 3), (e) => assert.notEqual(e.code, 'CONFLICT'));
    await rejectsWith(s.appendEvents([record(5)], 3), (e) => assert.match(e.message, /position 4/));
    assert.deepEqual(await s.readEvents(0, 100), [record(1), record(2), record(3)]);
    await s.appendEvents([record(4), { ...record(5), streamId: 's2', version: 1 }], 3);
    assert.equal((await s.readEvents(0, 100)).length, 5);
    await s.close();
  });

  test('snapshots are stored as given, by key, and survive a reopen', async () => {
    const file = freshFile();
    const s = await sqliteStorage(file);
    assert.equal(await s.readSnapshot('agg:acc1'), undefined);
    const snap = { key: 'agg:acc1', position: 7, hash: 'ab'.repeat(32), state: { balance: 10, list: [1, { a: null }], s: 'ü' } };
    await s.writeSnapshot(snap);
    assert.deepEqual(await s.readSnapshot('agg:acc1'), snap);
    const newer = { ...snap, position: 9, state: { balance: 12 } };
    await s.writeSnapshot(newer);
    assert.deepEqual(await s.readSnapshot('agg:acc1'), newer);
    assert.equal(await s.readSnapshot('agg:other'), undefined);
    await s.close();
    const again = await sqliteStorage(file);
    assert.deepEqual(await again.readSnapshot('agg:acc1'), newer);
    await again.close();
  });

  test('reopen: same events; close twice is harmless; calls after close reject', async () => {
    const file = freshFile();
    const s = await sqliteStorage(file);
    const all = Array.from({ length: 12 }, (_, i) => record(i + 1, i % 2 ? 'a' : 'b', Math.floor(i / 2) + 1));
    await s.appendEvents(all, 0);
    await s.close();
    await s.close();
    await rejectsWith(s.readEvents(0, 10), (e) => assert.equal(e.code, 'CLOSED'));
    await rejectsWith(s.appendEvents([record(13)], 12), (e) => assert.equal(e.name, 'ClosedError'));
    const again = await sqliteStorage(file);
    assert.deepEqual(await again.readEvents(0, 100), all);
    await again.close();
  });

  test('WAL, synchronous=FULL by default (NORMAL on request), busy timeout, schema version 2', async () => {
    const opened = [];
    class Recording extends Database {
      constructor(...args) { super(...args); opened.push(this); }
    }
    setSqliteDriver(() => Recording);
    const file = freshFile();
    try {
      const s = await sqliteStorage(file);
      const db = opened.at(-1);
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.pragma('synchronous', { simple: true }), 2); // FULL
      assert.equal(db.pragma('busy_timeout', { simple: true }), 5000);
      assert.equal(db.pragma('user_version', { simple: true }), 2);
      await s.close();
      const relaxed = await sqliteStorage(file, { synchronous: 'normal', busyTimeoutMs: 1234 });
      assert.equal(opened.at(-1).pragma('synchronous', { simple: true }), 1); // NORMAL
      assert.equal(opened.at(-1).pragma('busy_timeout', { simple: true }), 1234);
      await relaxed.close();
    } finally {
      setSqliteDriver(() => Database);
    }
    const outside = new Database(file, { readonly: true });
    assert.equal(outside.pragma('journal_mode', { simple: true }), 'wal');
    const columns = outside.prepare("SELECT name FROM pragma_table_info('events')").pluck().all();
    assert.deepEqual(columns, ['position', 'id', 'stream_id', 'stream_type', 'type', 'data', 'metadata', 'timestamp', 'version', 'hash']);
    const outbox = outside.prepare("SELECT name FROM pragma_table_info('outbox')").pluck().all();
    assert.deepEqual(outbox, ['command_id', 'seq', 'entry']);
    outside.close();
    await assert.rejects(sqliteStorage(freshFile(), { synchronous: 'SOMETIMES' }), { name: 'ValidationError', code: 'VALIDATION' });
    await assert.rejects(sqliteStorage(freshFile(), { busyTimeoutMs: -1 }), { name: 'ValidationError' });
    await assert.rejects(sqliteStorage(freshFile(), { watchIntervalMs: 1.5 }), { name: 'ValidationError' });
    await assert.rejects(sqliteStorage(freshFile(), 'FULL'), { name: 'ValidationError' });
    await assert.rejects(sqliteStorage(''), { name: 'ValidationError' });
    await assert.rejects(sqliteStorage(42), { name: 'ValidationError' });
  });

  test('refuses a newer schema and a database that is not ours (StorageError, the file untouched)', async () => {
    const newer = freshFile();
    const db = new Database(newer);
    db.pragma('user_version = 7');
    db.close();
    await assert.rejects(sqliteStorage(newer), (e) => {
      assert.equal(e.name, 'StorageError');
      assert.equal(e.reason, 'failed');
      assert.match(e.message, /schema version 7/);
      assert.ok(e.cause instanceof Error);
      return true;
    });
    const foreign = freshFile();
    const db2 = new Database(foreign);
    db2.exec('CREATE TABLE events (x)');
    db2.close();
    await assert.rejects(sqliteStorage(foreign), { name: 'StorageError', message: /not an eventjournal database/ });
    const untouched = new Database(foreign, { readonly: true });
    assert.equal(untouched.pragma('user_version', { simple: true }), 0);
    untouched.close();
    await assert.rejects(sqliteStorage(tmp.dir), { name: 'StorageError', code: 'STORAGE' }); // a directory
  });

  test('without better-sqlite3: a StorageError (unsupported) naming npm install better-sqlite3@12', async () => {
    setSqliteDriver(() => {
      const e = new Error("Cannot find module 'better-sqlite3'");
      e.code = 'MODULE_NOT_FOUND';
      throw e;
    });
    try {
      await assert.rejects(sqliteStorage(freshFile()), (e) => {
        assert.equal(e.name, 'StorageError');
        assert.equal(e.reason, 'unsupported');
        assert.match(e.message, /npm install better-sqlite3@12/);
        assert.equal(e.cause.code, 'MODULE_NOT_FOUND');
        return true;
      });
    } finally {
      setSqliteDriver(() => Database);
    }
    assert.throws(() => setSqliteDriver('better-sqlite3'), { name: 'ValidationError' });
  });

  test('watch polls for other connections\' appends, not its own; unwatch and close stop it', async () => {
    const file = freshFile();
    const a = await sqliteStorage(file, { watchIntervalMs: 20 });
    const b = await sqliteStorage(file, { watchIntervalMs: 20 });
    const seenA = [];
    const seenB = [];
    a.watch((p) => seenA.push(p));
    const unwatchB = b.watch((p) => seenB.push(p));
    await sleep(60);
    await a.appendEvents([record(1), record(2)], 0);
    await sleep(120);
    assert.deepEqual(seenB, [2]);
    assert.deepEqual(seenA, []);
    await b.readEvents(0, 10);
    await b.appendEvents([record(3)], 2);
    await sleep(120);
    assert.deepEqual(seenA, [3]);
    unwatchB();
    await a.appendEvents([record(4)], 3);
    await sleep(120);
    assert.deepEqual(seenB, [2]);
    await a.close();
    await b.appendEvents([record(5)], 4);
    await sleep(120);
    assert.deepEqual(seenA, [3]);
    await b.close();
  });
});

describe('the engine over sqliteStorage', () => {
  test('seed demo: 100000 + 50000 - 20000 + 30000 = 160000; a reopen gives the same stats and head hash', async () => {
    const file = freshFile();
    const engine = await Engine.open({ storage: await sqliteStorage(file), snapshotEvery: 2 });
    await engine.execute('BankAccount', 'account_001', { type: 'create_account', accountHolder: 'John Doe', initialDeposit: 100000 });
    await engine.execute('BankAccount', 'account_001', { type: 'deposit', amount: 50000, description: 'Salary' });
    await engine.execute('BankAccount', 'account_001', { type: 'withdraw', amount: 20000, description: 'Rent' });
    const last = await engine.execute('BankAccount', 'account_001', { type: 'deposit', amount: 30000 }, { commandId: 'bonus' });
    assert.equal(last.position, 5);
    const loaded = await engine.load('BankAccount', 'account_001');
    assert.equal(loaded.state.balance, 160000);
    assert.equal(loaded.version, 5);
    const stats = await engine.stats();
    assert.equal(stats.totalEvents, 5);
    await engine.close();

    const reopened = await Engine.open({ storage: await sqliteStorage(file) });
    assert.deepEqual(await reopened.stats(), stats);
    assert.deepEqual(await reopened.verify(), { ok: true, checked: 5, firstBadPosition: null });
    assert.equal((await reopened.load('BankAccount', 'account_001')).state.balance, 160000);
    // the commandId survives the reopen: a repeat appends nothing
    const repeat = await reopened.execute('BankAccount', 'account_001', { type: 'deposit', amount: 1 }, { commandId: 'bonus' });
    assert.deepEqual(repeat, last);
    assert.equal((await reopened.stats()).totalEvents, 5);
    await reopened.close();
  });

  test('two engines on one file (two connections): conflicts are retried, watch catches up', async () => {
    const file = freshFile();
    const one = await Engine.open({ storage: await sqliteStorage(file, { watchIntervalMs: 20 }) });
    const two = await Engine.open({ storage: await sqliteStorage(file, { watchIntervalMs: 20 }) });
    await one.execute('BankAccount', 'acc', { type: 'create_account', accountHolder: 'A', initialDeposit: 10 });
    // `two` has not seen the account: its withdraw conflicts, catches up, is decided again
    await two.execute('BankAccount', 'acc', { type: 'withdraw', amount: 4 });
    const all = [];
    for (let i = 0; i < 20; i++) {
      all.push(one.execute('BankAccount', 'acc', { type: 'deposit', amount: 1 }));
      all.push(two.execute('BankAccount', 'acc', { type: 'deposit', amount: 2 }));
    }
    await Promise.all(all);
    await sleep(150);
    for (const e of [one, two]) {
      assert.equal((await e.load('BankAccount', 'acc')).state.balance, 10 - 4 + 20 * 3);
      assert.equal((await e.verify()).ok, true);
    }
    assert.deepEqual(await one.stats(), await two.stats());
    await one.close();
    await two.close();
  });

  test('a record changed in the file is an IntegrityError naming its position', async () => {
    const file = freshFile();
    const engine = await Engine.open({ storage: await sqliteStorage(file) });
    await engine.execute('BankAccount', 'acc', { type: 'create_account', accountHolder: 'A', initialDeposit: 10 });
    await engine.execute('BankAccount', 'acc', { type: 'deposit', amount: 5 });
    await engine.close();
    const db = new Database(file);
    db.prepare("UPDATE events SET data = json_set(data, '$.amount', 500) WHERE position = 3").run();
    db.close();
    await rejectsWith(Engine.open({ storage: await sqliteStorage(file) }), (e) => {
      assert.equal(e.name, 'IntegrityError');
      assert.equal(e.position, 3);
    });
  });
});

describe('several processes on one file', () => {
  test('two processes, 200 deposits each to a shared account and to their own: no lost update', async () => {
    const file = freshFile();
    const setup = await Engine.open({ storage: await sqliteStorage(file) });
    for (const account of ['shared', 'own-p1', 'own-p2']) {
      await setup.execute('BankAccount', account, { type: 'create_account', accountHolder: account, initialDeposit: 0 });
    }
    await setup.close();
    const started = performance.now();
    const [r1, r2] = await Promise.all(['p1', 'p2'].map((name) => runChild('writer.mjs', [file, name, '200']).done));
    for (const r of [r1, r2]) assert.equal(r.code, 0, `writer exited with ${r.code}/${r.signal}`);
    const [a, b] = [r1, r2].map((r) => JSON.parse(r.lines.at(-1)));
    assert.deepEqual([a.errors, b.errors], [[], []]);
    assert.equal(a.acks.length + b.acks.length, 800);

    const engine = await Engine.open({ storage: await sqliteStorage(file) });
    const balance = async (id) => (await engine.load('BankAccount', id)).state.balance;
    assert.equal(await balance('shared'), a.shared + b.shared);
    assert.equal(await balance('own-p1'), a.own);
    assert.equal(await balance('own-p2'), b.own);
    const events = await engine.readAll();
    assert.equal(events.length, 3 + 800);
    const counts = checkLog(events);
    for (const id of [...a.acks, ...b.acks]) assert.equal(counts.get(id), 1, id);
    const verified = await engine.verify();
    assert.deepEqual(verified, { ok: true, checked: 803, firstBadPosition: null });
    await engine.close();
    console.log(`# two writers: 800 commands in ${Math.round(performance.now() - started)} ms, `
      + `retries ${a.retries + b.retries}, shared balance ${a.shared + b.shared}`);
  });

  test(`crash safety: SIGKILL at ${Number(process.env.CRASH_KILLS || 100)} random moments loses no acknowledged command`, { timeout: 170_000 }, async () => {
    const kills = Number(process.env.CRASH_KILLS || 100);
    const seed = Number(process.env.CRASH_SEED || Math.floor(Math.random() * 2 ** 31));
    const random = prng(seed);
    console.log(`# crash test: ${kills} kills, CRASH_SEED=${seed}`);
    const file = freshFile();
    const acked = new Map(); // commandId -> { account, amount, position }
    const started = performance.now();
    let killedBeforeReady = 0;
    let killedWhileAppending = 0;
    for (let k = 0; k < kills; k++) {
      let ready = false;
      let ackedNow = 0;
      let onReady;
      const readyPromise = new Promise((resolve) => { onReady = resolve; });
      const { child, done } = runChild('../support/crasher.mjs', [`k${k}`, 'sqlite', file], {
        onLine(line) {
          if (line === 'ready') { ready = true; onReady(); return; }
          const m = /^ack (\S+) (\S+) (\d+) (\d+)$/.exec(line);
          if (m) { acked.set(m[1], { account: m[2], amount: Number(m[3]), position: Number(m[4]) }); ackedNow += 1; }
        },
      });
      // a random moment: a quarter of the kills anywhere in the first 400 ms (start-up, schema
      // creation, open, first appends), the others within 150 ms of the engine being open
      // (while appending: inside transactions, between commit and acknowledgement, ...)
      if (random() < 0.25) {
        await sleep(Math.floor(random() * 400));
      } else {
        await Promise.race([readyPromise, done]);
        await sleep(Math.floor(random() * 150));
      }
      child.kill('SIGKILL');
      const exit = await done;
      assert.equal(exit.signal, 'SIGKILL', `the child exited by itself (${exit.code}) before the kill`);
      if (!ready) killedBeforeReady += 1;
      else if (ackedNow > 0) killedWhileAppending += 1;

      const engine = await Engine.open({ storage: await sqliteStorage(file) });
      const verified = await engine.verify();
      assert.equal(verified.ok, true, `after kill ${k + 1}: chain broken at ${verified.firstBadPosition}`);
      const events = await engine.readAll();
      const counts = checkLog(events);
      for (const [id, ack] of acked) {
        assert.equal(counts.get(id), 1, `after kill ${k + 1}: acknowledged command ${id} is in the log ${counts.get(id) || 0} times`);
        assert.equal(events[ack.position - 1].metadata.commandId, id);
      }
      for (const [id, c] of counts) assert.equal(c, 1, `command ${id} appended ${c} times`);
      // the state agrees with the log: balance = sum of the deposits found
      const sums = new Map();
      for (const e of events) if (e.type === 'money_deposited') sums.set(e.streamId, (sums.get(e.streamId) || 0) + e.data.amount);
      for (const [account, sum] of sums) assert.equal((await engine.load('BankAccount', account)).state.balance, sum);
      await engine.close();
    }
    console.log(`# crash test: ${kills} kills survived (${killedBeforeReady} before the engine was open, `
      + `${killedWhileAppending} while appending), ${acked.size} acknowledged commands checked, 0 lost, `
      + `${Math.round(performance.now() - started)} ms`);
  });
});
