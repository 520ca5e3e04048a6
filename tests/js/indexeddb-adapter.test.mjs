// Contract tests of indexedDbStorage (DESIGN.md §5) alone, in Node on fake-indexeddb.
// The same adapter runs in browsers; tests/js/indexeddb.browser.mjs covers real IndexedDB.
import 'fake-indexeddb/auto';
import { test } from 'node:test';
import assert from 'node:assert/strict';

const { Engine, indexedDbStorage } = await import('eventjournal');

let dbCounter = 0;
const freshName = (label) => `ej-adapter-${label}-${process.pid}-${(dbCounter += 1)}`;

// A record with the 10 fields the engine stores (the adapter treats it as opaque).
function ev(position, streamId = 's1', version = position, extra = {}) {
  return {
    id: `id-${streamId}-${version}-${position}`,
    streamId,
    streamType: 'T',
    type: 'happened',
    data: { n: position, nested: { list: [1, 'two', null, true] } },
    metadata: { correlationId: `c${position}` },
    timestamp: 1_700_000_000_000 + position,
    version,
    position,
    hash: String(position % 10).repeat(64),
    ...extra,
  };
}
const evs = (from, to, streamId = 's1') => {
  const out = [];
  for (let p = from; p <= to; p += 1) out.push(ev(p, streamId, p));
  return out;
};

async function readAllRecords(s) {
  const out = [];
  for (;;) {
    const page = await s.readEvents(out.length === 0 ? 0 : out[out.length - 1].position, 7);
    if (page.length === 0) return out;
    out.push(...page);
  }
}

function rawOpen(name, version) {
  return new Promise((resolve, reject) => {
    const r = version === undefined ? indexedDB.open(name) : indexedDB.open(name, version);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
    r.onupgradeneeded = () => {};
  });
}

function rawGetAll(db, store) {
  return new Promise((resolve, reject) => {
    const r = db.transaction(store, 'readonly').objectStore(store).getAll();
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

test('readEvents pages in position order, exclusive of afterPosition, at most limit', { timeout: 10_000 }, async () => {
  const s = await indexedDbStorage(freshName('paging'));
  const all = evs(1, 25);
  await s.appendEvents(all.slice(0, 10), 0);
  await s.appendEvents(all.slice(10), 10);
  assert.deepEqual(await s.readEvents(0, 10), all.slice(0, 10));
  assert.deepEqual(await s.readEvents(10, 10), all.slice(10, 20));
  assert.deepEqual(await s.readEvents(20, 10), all.slice(20));
  assert.deepEqual(await s.readEvents(25, 10), []);
  assert.deepEqual(await s.readEvents(3, 1), [all[3]]);
  assert.deepEqual(await s.readEvents(0, 1000), all);
  assert.deepEqual(await s.readEvents(0, 0), []);
  // records come back exactly as given: same fields, same order
  const [first] = await s.readEvents(0, 1);
  assert.deepEqual(Object.keys(first), Object.keys(all[0]));
  assert.deepEqual(await readAllRecords(s), all);
  await s.close();
});

test('appendEvents checks the head: CONFLICT with nothing written', { timeout: 10_000 }, async () => {
  const s = await indexedDbStorage(freshName('conflict'));
  await s.appendEvents(evs(1, 3), 0);
  for (const expected of [0, 2, 4, 100]) {
    await assert.rejects(s.appendEvents(evs(expected + 1, expected + 2), expected), (e) => {
      assert.equal(e.code, 'CONFLICT');
      assert.ok(e instanceof Error);
      return true;
    });
  }
  assert.deepEqual(await readAllRecords(s), evs(1, 3));
  await s.appendEvents(evs(4, 5), 3);
  assert.deepEqual(await readAllRecords(s), evs(1, 5));
  // an empty batch only checks the head
  await s.appendEvents([], 5);
  await assert.rejects(s.appendEvents([], 4), { code: 'CONFLICT' });
  await s.close();
});

test('concurrent appends on one database: exactly one wins each head', { timeout: 10_000 }, async () => {
  const name = freshName('race');
  const a = await indexedDbStorage(name);
  const b = await indexedDbStorage(name);
  const results = await Promise.allSettled([
    a.appendEvents(evs(1, 2, 'a'), 0),
    b.appendEvents(evs(1, 2, 'b'), 0),
  ]);
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  assert.equal(results.find((r) => r.status === 'rejected').reason.code, 'CONFLICT');
  assert.equal((await readAllRecords(a)).length, 2);
  await a.close();
  await b.close();
});

test('a batch is atomic: a failing record writes nothing and the adapter stays usable', { timeout: 10_000 }, async () => {
  const s = await indexedDbStorage(freshName('atomic'));
  await s.appendEvents(evs(1, 3), 0);
  // (schema 4 keeps no unique indexes on id or [streamId, version]: a duplicate is written
  // as given, and the engine refuses such a log when it reads it; see indexeddb.browser.mjs)
  // positions that do not follow expectedPosition are refused before anything is written
  await assert.rejects(s.appendEvents([ev(4), { ...ev(3), id: 'other', version: 99 }], 3), { name: 'ValidationError' });
  // not storable
  await assert.rejects(s.appendEvents([ev(4), { ...ev(5), data: { f() {} } }], 3), { name: 'DataCloneError' });
  assert.deepEqual(await readAllRecords(s), evs(1, 3));
  await s.appendEvents(evs(4, 6), 3);
  assert.deepEqual(await readAllRecords(s), evs(1, 6));
  await s.close();
});

test('snapshots round trip by key', { timeout: 10_000 }, async () => {
  const s = await indexedDbStorage(freshName('snap'));
  assert.equal(await s.readSnapshot('BankAccount:acc1'), undefined);
  const snap = { key: 'BankAccount:acc1', position: 7, hash: 'a'.repeat(64), state: { balance: 5, tags: ['x'], nested: { ok: true, none: null } } };
  await s.writeSnapshot(snap);
  assert.deepEqual(await s.readSnapshot('BankAccount:acc1'), snap);
  const newer = { ...snap, position: 9, state: { balance: 6 } };
  await s.writeSnapshot(newer);
  assert.deepEqual(await s.readSnapshot('BankAccount:acc1'), newer);
  assert.equal(await s.readSnapshot('other'), undefined);
  await s.close();
});

test('watch/unwatch across two adapters on one name; a writer is not told of its own appends', { timeout: 10_000 }, async () => {
  const name = freshName('watch');
  const a = await indexedDbStorage(name);
  const b = await indexedDbStorage(name);
  const elsewhere = await indexedDbStorage(freshName('watch-other'));
  const seenA = [];
  const seenB = [];
  const seenElsewhere = [];
  const unwatchA = a.watch((p) => seenA.push(p));
  const unwatchB = b.watch((p) => seenB.push(p));
  elsewhere.watch((p) => seenElsewhere.push(p));
  await a.appendEvents(evs(1, 3), 0);
  await tick();
  assert.deepEqual(seenB, [3]);
  assert.deepEqual(seenA, []);
  await b.appendEvents(evs(4, 4), 3);
  await tick();
  assert.deepEqual(seenA, [4]);
  unwatchB();
  await a.appendEvents(evs(5, 6), 4);
  await tick();
  assert.deepEqual(seenB, [3]);
  unwatchA();
  assert.deepEqual(seenElsewhere, []);
  // a failed append (CONFLICT) notifies nobody
  const seenB2 = [];
  b.watch((p) => seenB2.push(p));
  await assert.rejects(a.appendEvents(evs(1, 1), 0), { code: 'CONFLICT' });
  await tick();
  assert.deepEqual(seenB2, []);
  await a.close();
  await b.close();
  await elsewhere.close();
});

test('close releases the connection for good: later calls are ClosedError, another adapter carries on', { timeout: 10_000 }, async () => {
  const name = freshName('close');
  const s = await indexedDbStorage(name);
  await s.appendEvents(evs(1, 2), 0);
  await s.close();
  await s.close(); // harmless twice
  // closed: an upgrade by someone else is not blocked
  let blocked = false;
  const raw = await new Promise((resolve, reject) => {
    const r = indexedDB.open(name, 4);
    r.onblocked = () => { blocked = true; };
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  assert.equal(blocked, false);
  raw.close();
  // never reopened by a later call
  await assert.rejects(s.readEvents(0, 10), { name: 'ClosedError', code: 'CLOSED' });
  await assert.rejects(s.appendEvents(evs(3, 3), 2), { name: 'ClosedError' });
  await assert.rejects(s.writeSnapshot({ key: 'k', position: 1, hash: 'h', state: {} }), { name: 'ClosedError' });
  assert.throws(() => s.watch(() => {}), { name: 'ClosedError' });
  // a new adapter opens the database (at its newer version 4, its stores being there)
  const again = await indexedDbStorage(name);
  assert.deepEqual(await readAllRecords(again), evs(1, 2));
  await again.appendEvents(evs(3, 3), 2);
  assert.equal((await readAllRecords(again)).length, 3);
  await again.close();
});

test('close while the connection is still opening: nothing is reopened, the open is closed when it lands', { timeout: 10_000 }, async () => {
  const name = freshName('close-opening');
  const s = await indexedDbStorage(name);
  await s.appendEvents(evs(1, 1), 0);
  // a versionchange closes the connection; the next call starts reopening it...
  const raw = await new Promise((resolve, reject) => {
    const r = indexedDB.open(name, 5);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  raw.close();
  const reading = s.readEvents(0, 10);
  // ...and close() comes while that open is in flight
  await s.close();
  const outcome = await reading.then((v) => v, (e) => e);
  assert.ok(Array.isArray(outcome) ? outcome.length === 1 : outcome.name === 'ClosedError', String(outcome));
  await assert.rejects(s.readEvents(0, 10), { name: 'ClosedError' });
  // the connection that landed after close() does not block a deleteDatabase
  await new Promise((resolve, reject) => {
    const r = indexedDB.deleteDatabase(name);
    r.onblocked = () => reject(new Error('deleteDatabase blocked by a connection opened after close()'));
    r.onsuccess = resolve;
    r.onerror = () => reject(r.error);
  });
});

test('versionchange closes the connection at once; the adapter reopens and keeps working', { timeout: 10_000 }, async () => {
  const name = freshName('versionchange');
  const s = await indexedDbStorage(name);
  await s.appendEvents(evs(1, 2), 0);
  let blocked = false;
  const started = Date.now();
  const raw = await new Promise((resolve, reject) => {
    const r = indexedDB.open(name, 6);
    r.onblocked = () => { blocked = true; };
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  assert.equal(blocked, false);
  assert.ok(Date.now() - started < 1000);
  assert.equal(raw.version, 6);
  raw.close();
  await s.appendEvents(evs(3, 4), 2);
  assert.deepEqual(await readAllRecords(s), evs(1, 4));
  // deleteDatabase is not blocked either
  await new Promise((resolve, reject) => {
    const r = indexedDB.deleteDatabase(name);
    r.onblocked = () => reject(new Error('deleteDatabase blocked'));
    r.onsuccess = resolve;
    r.onerror = () => reject(r.error);
  });
  await s.close();
});

test('upgrade from schema v1 (adapter-made and raw-made) to the current schema', { timeout: 10_000 }, async () => {
  const name = freshName('upgrade');
  const old = await indexedDbStorage(name, { schemaVersion: 1 });
  await old.appendEvents(evs(1, 4), 0);
  await old.writeSnapshot({ key: 'k', position: 4, hash: 'h'.repeat(64), state: { v: 1 } });
  let raw = await rawOpen(name);
  assert.equal(raw.version, 1);
  assert.deepEqual([...raw.objectStoreNames].sort(), ['events', 'snapshots']);
  raw.close();

  // `old` keeps its connection open: the upgrade is not blocked by it
  const started = Date.now();
  const current = await indexedDbStorage(name);
  assert.ok(Date.now() - started < 1000, 'the upgrade waited on the old connection');
  raw = await rawOpen(name);
  assert.equal(raw.version, 4);
  assert.deepEqual([...raw.objectStoreNames].sort(), ['events', 'meta', 'outbox', 'snapshots']);
  assert.deepEqual(await rawGetAll(raw, 'meta'), [{ key: 'schema', version: 4 }]);
  // schema 4 drops the events' indexes (one write per event each; nothing reads them)
  const tx = raw.transaction('events', 'readonly');
  assert.deepEqual([...tx.objectStore('events').indexNames], []);
  raw.close();
  assert.deepEqual(await readAllRecords(current), evs(1, 4));
  assert.deepEqual(await current.readSnapshot('k'), { key: 'k', position: 4, hash: 'h'.repeat(64), state: { v: 1 } });
  // the old adapter reopens (at the newer version) and both still append with the head check
  await old.appendEvents(evs(5, 5), 4);
  await current.appendEvents(evs(6, 6), 5);
  await assert.rejects(old.appendEvents(evs(6, 6), 5), { code: 'CONFLICT' });
  assert.deepEqual(await readAllRecords(old), evs(1, 6));
  await old.close();
  await current.close();

  // a v1 database made by hand (the v1 layout), then opened by the current adapter
  const handName = freshName('upgrade-raw');
  const v1 = await new Promise((resolve, reject) => {
    const r = indexedDB.open(handName, 1);
    r.onupgradeneeded = () => {
      const db = r.result;
      const events = db.createObjectStore('events', { keyPath: 'position' });
      events.createIndex('id', 'id', { unique: true });
      events.createIndex('stream', ['streamId', 'version'], { unique: true });
      db.createObjectStore('snapshots', { keyPath: 'key' });
      for (const e of evs(1, 3)) events.add(e);
    };
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  v1.onversionchange = () => v1.close();
  const upgraded = await indexedDbStorage(handName);
  assert.deepEqual(await readAllRecords(upgraded), evs(1, 3));
  await upgraded.appendEvents(evs(4, 4), 3);
  await upgraded.close();
});

test('options are validated; missing IndexedDB is a clear error', { timeout: 10_000 }, async () => {
  await assert.rejects(indexedDbStorage(''), { name: 'ValidationError' });
  await assert.rejects(indexedDbStorage(42), { name: 'ValidationError' });
  await assert.rejects(indexedDbStorage('x', { durability: 'fast' }), { name: 'ValidationError' });
  await assert.rejects(indexedDbStorage('x', { schemaVersion: 99 }), { name: 'ValidationError' });
  await assert.rejects(indexedDbStorage('x', 'strict'), { name: 'ValidationError' });
  await assert.rejects(indexedDbStorage('x', { indexedDB: {} }), { name: 'StorageError', reason: 'unsupported', message: /needs IndexedDB/ });
  // a database that cannot be opened: a StorageError with the browser's error as cause
  const failing = { open() { throw Object.assign(new Error('backing store error'), { name: 'UnknownError' }); } };
  await assert.rejects(indexedDbStorage('x', { indexedDB: failing }), (e) => {
    assert.equal(e.name, 'StorageError');
    assert.equal(e.reason, 'failed');
    assert.equal(e.cause.name, 'UnknownError');
    return true;
  });
  const relaxed = await indexedDbStorage(freshName('relaxed'), { durability: 'relaxed' });
  await relaxed.appendEvents(evs(1, 2), 0);
  assert.equal((await readAllRecords(relaxed)).length, 2);
  await relaxed.close();
});

test('with the engine: two engines on one database lose no update, and catch up by watch', { timeout: 10_000 }, async () => {
  const name = freshName('engine');
  const e1 = await Engine.open({ storage: await indexedDbStorage(name) });
  await e1.execute('BankAccount', 'acc', { type: 'create_account', accountHolder: 'A', initialDeposit: 100 });
  const e2 = await Engine.open({ storage: await indexedDbStorage(name) });
  const results = await Promise.allSettled([
    ...Array.from({ length: 30 }, (_, i) => e1.execute('BankAccount', 'acc', { type: 'deposit', amount: i + 1 })),
    ...Array.from({ length: 30 }, (_, i) => e2.execute('BankAccount', 'acc', { type: 'deposit', amount: 100 + i })),
  ]);
  const amounts = [...Array.from({ length: 30 }, (_, i) => i + 1), ...Array.from({ length: 30 }, (_, i) => 100 + i)];
  const acked = amounts.filter((_, i) => results[i].status === 'fulfilled').reduce((a, b) => a + b, 0);
  for (let i = 0; i < 100; i += 1) {
    if ((await e1.stats()).headPosition === (await e2.stats()).headPosition) break;
    await tick(10);
  }
  const [s1, s2] = [await e1.stats(), await e2.stats()];
  assert.deepEqual(s1, s2);
  assert.equal((await e1.load('BankAccount', 'acc')).state.balance, 100 + acked);
  assert.deepEqual(await e1.projection('account_balance'), await e2.projection('account_balance'));
  const all = await e1.readAll();
  assert.deepEqual(all.map((e) => e.position), all.map((_, i) => i + 1));
  assert.equal((await e2.verify()).ok, true);
  await e1.close();
  await e2.close();
  // reopen from the database
  const e3 = await Engine.open({ storage: await indexedDbStorage(name) });
  assert.deepEqual(await e3.stats(), s1);
  await e3.close();
});

test('with the engine: a failing transaction is a StorageError with the original cause; nothing changes; writes resume', { timeout: 10_000 }, async () => {
  const name = freshName('quota');
  const engine = await Engine.open({ storage: await indexedDbStorage(name) });
  await engine.execute('BankAccount', 'acc', { type: 'create_account', accountHolder: 'A', initialDeposit: 10 });
  const before = await engine.stats();
  const add = IDBObjectStore.prototype.add;
  const quota = new DOMException('quota exceeded (test)', 'QuotaExceededError');
  IDBObjectStore.prototype.add = function () { throw quota; };
  try {
    await assert.rejects(engine.execute('BankAccount', 'acc', { type: 'deposit', amount: 5 }), (e) => {
      assert.equal(e.name, 'StorageError');
      assert.equal(e.code, 'STORAGE');
      assert.equal(e.cause, quota);
      return true;
    });
  } finally {
    IDBObjectStore.prototype.add = add;
  }
  assert.deepEqual(await engine.stats(), before);
  assert.equal((await engine.load('BankAccount', 'acc')).state.balance, 10);
  await engine.execute('BankAccount', 'acc', { type: 'deposit', amount: 5 });
  assert.equal((await engine.load('BankAccount', 'acc')).state.balance, 15);
  await engine.close();
  const reopened = await Engine.open({ storage: await indexedDbStorage(name) });
  assert.equal((await reopened.load('BankAccount', 'acc')).state.balance, 15);
  assert.equal((await reopened.verify()).ok, true);
  await reopened.close();
});

/**
 * globalThis.indexedDB, except that while `lose.on` the upgradeneeded of an open reports a total
 * data loss, as Chromium does on the first open after it deleted a corrupt database (fake-indexeddb
 * has no such event; tests/js/indexeddb.browser.mjs makes Chromium do it for real).
 */
function lossyFactory(lose) {
  return {
    open(name, version) {
      const request = indexedDB.open(name, version);
      return new Proxy(request, {
        set(target, key, value) {
          if (key !== 'onupgradeneeded') return Reflect.set(target, key, value);
          target.onupgradeneeded = (event) => value(lose.on
            ? new Proxy(event, { get: (e, k) => (k === 'dataLoss' ? 'total' : k === 'dataLossMessage' ? 'IndexedDB (database was corrupt): checksum mismatch' : Reflect.get(e, k)) })
            : event);
          return true;
        },
        get: (target, key) => { const v = Reflect.get(target, key); return typeof v === 'function' ? v.bind(target) : v; },
      });
    },
    deleteDatabase: (name) => indexedDB.deleteDatabase(name),
    databases: () => indexedDB.databases(),
    cmp: (a, b) => indexedDB.cmp(a, b),
  };
}

const isLost = (e) => {
  assert.equal(e.name, 'StorageError');
  assert.equal(e.code, 'STORAGE');
  assert.equal(e.reason, 'lost');
  assert.match(e.message, /: the browser found this database corrupt and deleted it \(it said: IndexedDB \(database was corrupt\): checksum mismatch\); every event stored in it is gone\. Open it with \{ acceptLoss: true \}/);
  return true;
};

test('a database the browser reports lost: every open says so (StorageError, reason lost) until one accepts the loss and starts empty', { timeout: 10_000 }, async () => {
  const name = freshName('lost');
  const lose = { on: true };
  const factory = lossyFactory(lose);
  await assert.rejects(indexedDbStorage(name, { indexedDB: factory }), isLost);
  // the browser reports it once; the adapter's record keeps saying it
  lose.on = false;
  await assert.rejects(indexedDbStorage(name, { indexedDB: factory }), isLost);
  await assert.rejects(indexedDbStorage(name, { indexedDB: factory, acceptLoss: 'yes' }), (e) => e.name === 'ValidationError' && /acceptLoss must be a boolean, got string/.test(e.message));
  const engine = await Engine.open({ storage: await indexedDbStorage(name, { indexedDB: factory, acceptLoss: true }) });
  assert.equal((await engine.stats()).totalEvents, 0);
  await engine.execute('BankAccount', 'acc', { type: 'create_account', accountHolder: 'A', initialDeposit: 10 });
  await engine.close();
  // accepted once: later opens are ordinary ones
  const again = await Engine.open({ storage: await indexedDbStorage(name, { indexedDB: factory }) });
  assert.equal((await again.stats()).totalEvents, 2);
  await again.close();
});

test('a database lost while an adapter uses it: every later call of that adapter is the loss, never an empty log', { timeout: 10_000 }, async () => {
  const name = freshName('lost-in-use');
  const lose = { on: false };
  const s = await indexedDbStorage(name, { indexedDB: lossyFactory(lose), acceptLoss: true });
  await s.appendEvents(evs(1, 3), 0);
  // the browser deletes it (our connection is closed by the versionchange) and reports the loss
  // on the next open, which the adapter makes lazily
  await new Promise((resolve, reject) => {
    const r = indexedDB.deleteDatabase(name);
    r.onsuccess = resolve;
    r.onerror = () => reject(r.error);
  });
  lose.on = true;
  await assert.rejects(s.readEvents(0, 10), isLost); // acceptLoss is for the first open only
  lose.on = false;
  await assert.rejects(s.readEvents(0, 10), isLost);
  await assert.rejects(s.appendEvents(evs(4, 4), 3), isLost);
  await s.close();
  await assert.rejects(s.readEvents(0, 10), (e) => e.name === 'ClosedError');
  await assert.rejects(indexedDbStorage(name, { indexedDB: lossyFactory(lose) }), isLost);
  const fresh = await indexedDbStorage(name, { indexedDB: lossyFactory(lose), acceptLoss: true });
  assert.deepEqual(await fresh.readEvents(0, 10), []);
  await fresh.close();
});
