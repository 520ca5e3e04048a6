// indexedDbStorage against real IndexedDB in headless Chromium (playwright-core, /usr/bin/chromium).
//
// Serves the installed package (under /node_modules/eventjournal/) and the helper pages in
// ./idb/ (under /tests/idb/) on 127.0.0.1 (support/server.mjs), opens pages in one persistent
// browser profile (a temporary user-data-dir, so IndexedDB is on disk and survives reloads and
// a browser restart), and runs:
//   1. persistence across a reload and a browser restart
//   2. two tabs, 2 x 400 concurrent commands on one database: no lost update, gapless log
//   3. upgrade of a schema-v1 database while an old tab holds its connection
//   4. QuotaExceededError (CDP Storage.overrideQuotaForOrigin): StorageError, nothing changed,
//      writes resume once space is freed
//   5. corruption edited/removed/duplicated in IndexedDB: IntegrityError naming the position,
//      nothing overwritten
// and measures (prints, does not assert) append throughput for durability strict vs relaxed and
// the latency of one command. One node:test test per scenario.
import { test, before, after } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { serveTests } from './support/server.mjs';
import { launchPersistent, waitFor } from './support/browser.mjs';

// ---------------------------------------------------------------------------------------------
// server and browser

let site;
let origin;
let profile;
let context;

async function launch() {
  context = await launchPersistent(profile);
}

async function newPage(at = origin) {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.log(`  [pageerror] ${e.message}`));
  await page.goto(`${at}/tests/idb/page.html`);
  await waitFor(page, 'harnessReady', 20_000);
  return page;
}

// ---------------------------------------------------------------------------------------------
// scenarios

const STREAMS = [['BankAccount', 'acc1'], ['BankAccount', 'acc2'], ['Order', 'ord1'], ['Order', 'ord2']];

// Builds a small log with both domains in database `db` (snapshots every 5 events per stream).
async function seed(page, db, { deposits = 20, close = false } = {}) {
  return page.evaluate(async ({ db, deposits, close }) => {
    const e = await H.open(db, db, undefined, { snapshotEvery: 5 });
    await e.execute('BankAccount', 'acc1', { type: 'create_account', accountHolder: 'Alice', initialDeposit: 1000 });
    await e.execute('BankAccount', 'acc2', { type: 'create_account', accountHolder: 'Bob' });
    for (let i = 1; i <= deposits; i += 1) {
      await e.execute('BankAccount', i % 2 ? 'acc1' : 'acc2', { type: 'deposit', amount: i * 10, description: `d${i}` });
    }
    await e.execute('BankAccount', 'acc1', { type: 'withdraw', amount: 125 });
    const items = [{ itemId: 'sku-1', quantity: 2, price: 1250 }];
    await e.execute('Order', 'ord1', { type: 'place_order', customerId: 'c1', items, shippingAddress: 'Main St 1' });
    await e.execute('Order', 'ord1', { type: 'confirm_order' });
    await e.execute('Order', 'ord1', { type: 'ship_order', trackingNumber: 'T-1' });
    await e.execute('Order', 'ord2', { type: 'place_order', customerId: 'c2', items, shippingAddress: 'Side St 2' }, { commandId: 'cmd-ord2' });
    await e.execute('Order', 'ord2', { type: 'cancel_order', reason: 'changed mind' });
    if (close) await e.close();
    return (await H.dump(db)).events.length;
  }, { db, deposits, close });
}

async function persistence() {
  const db = 'ej-persist';
  let page = await newPage();
  await seed(page, db);
  const before = await page.evaluate(async ({ db, streams }) => H.observe(H.engines[db], streams), { db, streams: STREAMS });
  assert.equal(before.verify.ok, true);
  assert.equal(before.stats.totalEvents, before.log.length);
  const dumped = await page.evaluate((db) => H.dump(db), db);
  assert.deepEqual(dumped.events, before.log, 'IndexedDB holds exactly the engine\'s log');
  // snapshots through the adapter (the engine decides whether it stores any)
  const snap = { key: 'test:snapshot', position: 3, hash: before.log[2].hash, state: { balance: 1, list: [1, 'a', null], nested: { ok: true } } };
  await page.evaluate(async (snap) => {
    const s = await H.ej.indexedDbStorage('ej-persist-snapshots');
    await s.writeSnapshot(snap);
    await s.close();
  }, snap);

  const reopen = async () => page.evaluate(async ({ db, streams }) => {
    const e = await H.open(db, db, undefined, { snapshotEvery: 5 });
    const seen = await H.observe(e, streams);
    // the command id survives the reopen: the retry appends nothing and answers the first result
    const retry = await e.execute('Order', 'ord2', { type: 'place_order', customerId: 'zz', items: [{ itemId: 'x', quantity: 1, price: 1 }], shippingAddress: 'x' }, { commandId: 'cmd-ord2' });
    seen.retryPosition = retry.position;
    seen.headAfterRetry = (await e.stats()).headPosition;
    return seen;
  }, { db, streams: STREAMS });
  const ord2Placed = before.log.find((e) => e.streamId === 'ord2' && e.type === 'order_placed').position;

  // 1. a reload (the engine was never closed: like a tab that just goes away)
  await page.reload();
  await waitFor(page, 'harnessReady', 20_000);
  let after = await reopen();
  for (const key of ['loads', 'versions', 'projections', 'stats', 'verify', 'log']) assert.deepEqual(after[key], before[key], `${key} after reload`);
  assert.equal(after.retryPosition, ord2Placed);
  assert.equal(after.headAfterRetry, before.stats.headPosition);

  // 2. a browser restart on the same profile
  await context.close();
  await launch();
  page = await newPage();
  after = await reopen();
  for (const key of ['loads', 'versions', 'projections', 'stats', 'verify', 'log']) assert.deepEqual(after[key], before[key], `${key} after restart`);
  const snapAfter = await page.evaluate(async (key) => {
    const s = await H.ej.indexedDbStorage('ej-persist-snapshots');
    const got = [await s.readSnapshot(key), await s.readSnapshot('missing')];
    await s.close();
    return got;
  }, snap.key);
  assert.deepEqual(snapAfter, [snap, undefined]);
  // and it keeps appending on the same chain
  const more = await page.evaluate(async (db) => {
    const e = H.engines[db];
    await e.execute('BankAccount', 'acc2', { type: 'deposit', amount: 1 });
    return { stats: await e.stats(), verify: await e.verify() };
  }, db);
  assert.equal(more.stats.headPosition, before.stats.headPosition + 1);
  assert.equal(more.verify.ok, true);
  await page.close();
}

async function twoTabs() {
  const db = 'ej-tabs';
  const N = 200; // concurrent deposits per tab to the shared account, and as many to its own
  const SEQ = 50; // then sequential deposits per tab to the shared account
  const a = await newPage();
  const b = await newPage();
  await a.evaluate(async (db) => {
    const e = await H.openCounting('a', db);
    await e.execute('BankAccount', 'shared', { type: 'create_account', accountHolder: 'Both', initialDeposit: 0 });
    await e.execute('BankAccount', 'own-a', { type: 'create_account', accountHolder: 'A' });
  }, db);
  await b.evaluate(async (db) => {
    const e = await H.openCounting('b', db);
    await e.execute('BankAccount', 'own-b', { type: 'create_account', accountHolder: 'B' });
  }, db);
  // each tab: N deposits to the shared account and N to its own, all at once
  const burst = ({ tab, N, SEQ, base }) => (async () => {
    const e = H.engines[tab];
    const own = `own-${tab}`;
    const shared = Array.from({ length: N }, (_, i) => base + i + 1);
    const mine = Array.from({ length: N }, (_, i) => i + 1);
    const settled = await Promise.allSettled([
      ...shared.map((amount) => e.execute('BankAccount', 'shared', { type: 'deposit', amount })),
      ...mine.map((amount) => e.execute('BankAccount', own, { type: 'deposit', amount })),
    ]);
    const amounts = [...shared, ...mine];
    const acked = { shared: [], own: [] };
    const errors = [];
    settled.forEach((r, i) => {
      if (r.status === 'fulfilled') (i < N ? acked.shared : acked.own).push(amounts[i]);
      else errors.push(H.errInfo(r.reason));
    });
    return { acked, errors };
  })();
  // then one command at a time, racing the other tab command by command (in rounds, until the
  // tabs have raced for the head at least once: scheduling decides when they collide)
  const race = ({ tab, SEQ, base }) => (async () => {
    const e = H.engines[tab];
    const acked = { shared: [], own: [] };
    const errors = [];
    for (let i = 1; i <= SEQ; i += 1) {
      const amount = base + i;
      try {
        await e.execute('BankAccount', 'shared', { type: 'deposit', amount });
        acked.shared.push(amount);
      } catch (err) {
        errors.push(H.errInfo(err));
      }
    }
    return { acked, errors };
  })();
  const started = Date.now();
  const [ra, rb] = await Promise.all([
    a.evaluate(burst, { tab: 'a', N, SEQ, base: 0 }),
    b.evaluate(burst, { tab: 'b', N, SEQ, base: 100_000 }),
  ]);
  let rounds = 0;
  const conflictsSoFar = async () => (await a.evaluate(() => H.counts.a.conflicts)) + (await b.evaluate(() => H.counts.b.conflicts));
  do {
    rounds += 1;
    const [sa, sb] = await Promise.all([
      a.evaluate(race, { tab: 'a', SEQ, base: 10_000 + rounds * 1_000 }),
      b.evaluate(race, { tab: 'b', SEQ, base: 110_000 + rounds * 1_000 }),
    ]);
    for (const [r, s] of [[ra, sa], [rb, sb]]) {
      r.acked.shared.push(...s.acked.shared);
      r.errors.push(...s.errors);
    }
  } while (rounds < 8 && (await conflictsSoFar()) === 0);
  const burstMs = Date.now() - started;
  for (const r of [ra, rb]) {
    for (const err of r.errors) assert.equal(err.code, 'CONCURRENCY', `only ConcurrencyError may refuse a deposit: ${JSON.stringify(err)}`);
  }
  const sum = (xs) => xs.reduce((x, y) => x + y, 0);
  // catch-up: both tabs reach the same head (watch tells each about the other's appends)
  const head = await a.evaluate(async () => (await H.engines.a.stats()).headPosition);
  const headB = await b.evaluate(async () => (await H.engines.b.stats()).headPosition);
  const target = Math.max(head, headB);
  const [fa, fb] = await Promise.all([a, b].map((p, i) => p.evaluate(async ({ tab, target }) => {
    const e = H.engines[tab];
    await H.waitHead(e, target);
    return {
      stats: await e.stats(),
      projection: await e.projection('account_balance'),
      log: await e.readAll(),
      verify: await e.verify(),
      shared: await e.load('BankAccount', 'shared'),
      counts: H.counts[tab],
    };
  }, { tab: i === 0 ? 'a' : 'b', target })));
  assert.deepEqual(fa.stats, fb.stats, 'both tabs at the same head and hash');
  assert.deepEqual(fa.projection, fb.projection, 'both tabs\' projections equal');
  assert.deepEqual(fa.log, fb.log);
  assert.equal(fa.verify.ok, true);
  assert.deepEqual(fa.log.map((e) => e.position), fa.log.map((_, i) => i + 1), 'positions gapless');
  const ackedShared = [...ra.acked.shared, ...rb.acked.shared];
  assert.equal(fa.shared.state.balance, sum(ackedShared), 'no lost update on the shared account');
  assert.equal(fa.projection['own-a'].balance, sum(ra.acked.own));
  assert.equal(fa.projection['own-b'].balance, sum(rb.acked.own));
  // exactly the acknowledged deposits are in the log, each once
  const loggedShared = fa.log.filter((e) => e.streamId === 'shared' && e.type === 'money_deposited').map((e) => e.data.amount);
  assert.deepEqual([...loggedShared].sort((x, y) => x - y), [...ackedShared].sort((x, y) => x - y));
  const stored = await a.evaluate((db) => H.dump(db), db);
  assert.deepEqual(stored.events, fa.log, 'IndexedDB holds exactly the log both tabs see');
  const refused = ra.errors.length + rb.errors.length;
  const conflicts = fa.counts.conflicts + fb.counts.conflicts;
  assert.ok(conflicts > 0, 'the two tabs never raced for the head (no CONFLICT): the test proves nothing');
  console.log(`\n    ${4 * N} concurrent + ${2 * SEQ * rounds} sequential deposits (${rounds} round(s)) from 2 tabs in ${burstMs} ms: ${4 * N + 2 * SEQ * rounds - refused} acknowledged, ${refused} refused (ConcurrencyError), head ${fa.stats.headPosition}; appends a/b ${fa.counts.appends}/${fb.counts.appends}, CONFLICTs a/b ${fa.counts.conflicts}/${fb.counts.conflicts}`);
  await a.evaluate(() => H.engines.a.close());
  await b.evaluate(() => H.engines.b.close());
  await a.close();
  await b.close();
}

async function upgrade() {
  const db = 'ej-upgrade';
  const oldTab = await newPage();
  // a schema-v1 database made with raw IndexedDB, filled with a valid log copied from an engine
  const copied = await oldTab.evaluate(async (db) => {
    const mem = await H.ej.Engine.open();
    await mem.execute('BankAccount', 'acc1', { type: 'create_account', accountHolder: 'Old', initialDeposit: 500 });
    for (let i = 1; i <= 10; i += 1) await mem.execute('BankAccount', 'acc1', { type: 'deposit', amount: i });
    const log = await mem.readAll();
    await mem.close();
    const raw = await H.rawOpen(db, 1, (d) => {
      const events = d.createObjectStore('events', { keyPath: 'position' });
      events.createIndex('id', 'id', { unique: true });
      events.createIndex('stream', ['streamId', 'version'], { unique: true });
      d.createObjectStore('snapshots', { keyPath: 'key' });
    });
    const tx = raw.transaction('events', 'readwrite');
    for (const e of log) tx.objectStore('events').add(e);
    await H.txDone(tx);
    raw.close();
    // the old tab runs an engine on a schema-1 adapter and keeps its connection open
    const e = await H.open('old', db, { schemaVersion: 1 });
    return { log, stats: await e.stats(), dump: await H.dump(db) };
  }, db);
  assert.equal(copied.dump.version, 1);
  assert.deepEqual(copied.dump.stores, ['events', 'snapshots']);
  assert.deepEqual(copied.dump.events, copied.log);
  assert.equal(copied.stats.totalEvents, copied.log.length);

  const newTab = await newPage();
  const upgraded = await newTab.evaluate(async (db) => {
    const t0 = performance.now();
    const storage = await Promise.race([
      H.ej.indexedDbStorage(db),
      new Promise((_, reject) => setTimeout(() => reject(new Error('the upgrade is blocked by the old tab (5 s)')), 5000)),
    ]);
    const upgradeMs = performance.now() - t0;
    const e = await H.ej.Engine.open({ storage });
    H.engines.new = e;
    return { upgradeMs, stats: await e.stats(), verify: await e.verify(), dump: await H.dump(db) };
  }, db);
  assert.ok(upgraded.upgradeMs < 1000, `the upgrade took ${upgraded.upgradeMs} ms (blocked by the old tab?)`);
  assert.equal(upgraded.dump.version, 4);
  assert.deepEqual(upgraded.dump.stores, ['events', 'meta', 'outbox', 'snapshots']);
  assert.deepEqual(upgraded.dump.meta, [{ key: 'schema', version: 4 }]);
  // schema 4 drops the v1 indexes on events (nothing reads them; see indexeddb.js)
  assert.deepEqual(upgraded.dump.indexes.events, []);
  assert.deepEqual(upgraded.dump.events, copied.log, 'the records survive the upgrade unchanged');
  assert.deepEqual(upgraded.stats, copied.stats);
  assert.equal(upgraded.verify.ok, true);

  // the old tab's adapter reopens lazily (at the newer version) and keeps working; the new
  // tab hears of it and catches up, and the other way round
  const oldAppend = await oldTab.evaluate(async () => {
    const r = await H.engines.old.execute('BankAccount', 'acc1', { type: 'deposit', amount: 1000 });
    return r.position;
  });
  const seenNew = await newTab.evaluate(async (head) => {
    await H.waitHead(H.engines.new, head);
    await H.engines.new.execute('BankAccount', 'acc1', { type: 'withdraw', amount: 7 });
    return { stats: await H.engines.new.stats(), load: await H.engines.new.load('BankAccount', 'acc1') };
  }, oldAppend);
  const seenOld = await oldTab.evaluate(async (head) => {
    await H.waitHead(H.engines.old, head);
    return { stats: await H.engines.old.stats(), load: await H.engines.old.load('BankAccount', 'acc1') };
  }, seenNew.stats.headPosition);
  assert.deepEqual(seenOld, seenNew);
  assert.equal(seenNew.load.state.balance, 500 + 55 + 1000 - 7);
  console.log(`\n    upgrade v1 -> v2 with the old tab open: ${upgraded.upgradeMs.toFixed(1)} ms`);
  await oldTab.close();
  await newTab.close();
}

// Chromium's IndexedDB caches the space the quota manager granted (for up to 30 s) per storage
// bucket, while any page of the origin uses it; a quota override only bites once that cache is
// gone. So this scenario runs on an origin of its own (a second server port), lowers the quota
// while no page of that origin is open, and waits for the backing store to close (about 2 s).
async function quota() {
  const db = 'ej-quota';
  const qsite = await serveTests();
  const qorigin = qsite.origin;
  const control = await context.newPage();
  const cdp = await context.newCDPSession(control);
  try {
    let page = await newPage(qorigin);
    await seed(page, db, { deposits: 4 });
    const before = await page.evaluate(async ({ db, streams }) => H.observe(H.engines[db], streams), { db, streams: STREAMS });
    const storedBefore = await page.evaluate(async (db) => { await H.engines[db].close(); return H.dump(db); }, db);
    await page.close();
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: qorigin, quotaSize: 1 });
    // wait until a write on that origin is refused (a scratch database, not the one under test)
    const probe = () => H.rawOpen('ej-quota-probe', 1, (d) => d.createObjectStore('s', { autoIncrement: true })).then(async (raw) => {
      const tx = raw.transaction('s', 'readwrite');
      tx.objectStore('s').add('probe');
      const r = await H.txDone(tx).then(() => 'ok', (e) => e.name);
      raw.close();
      return r;
    });
    let refused = null;
    for (let i = 0; i < 15 && refused !== 'QuotaExceededError'; i += 1) {
      await new Promise((r) => setTimeout(r, i === 0 ? 2200 : 1000));
      page = await newPage(qorigin);
      refused = await page.evaluate(probe);
      if (refused !== 'QuotaExceededError') await page.close();
    }
    assert.equal(refused, 'QuotaExceededError', 'the quota override never took effect');

    const failed = await page.evaluate(async ({ db, streams }) => {
      const e = await H.open(db, db, undefined, { snapshotEvery: 5 });
      const opened = await H.observe(e, streams);
      return {
        opened,
        one: await H.rejection(e.execute('BankAccount', 'acc1', { type: 'deposit', amount: 5 })),
        // several queued commands (group commit) all fail, none is applied
        many: await Promise.all([1, 2, 3].map((i) => H.rejection(e.execute('BankAccount', 'acc2', { type: 'deposit', amount: i })))),
        order: await H.rejection(e.execute('Order', 'ord1', { type: 'deliver_order' })),
        after: await H.observe(e, streams),
        stored: await H.dump(db),
      };
    }, { db, streams: STREAMS });
    assert.deepEqual(failed.opened, before, 'reopened on a full quota: reads work');
    for (const err of [failed.one, ...failed.many, failed.order]) {
      assert.ok(err, 'the command must reject');
      assert.equal(err.name, 'StorageError', JSON.stringify(err));
      assert.equal(err.code, 'STORAGE');
      assert.equal(err.causeName, 'QuotaExceededError');
      assert.equal(err.causeIsDOMException, true);
    }
    assert.deepEqual(failed.after, before, 'state unchanged after the quota errors');
    assert.deepEqual(failed.stored, storedBefore, 'nothing written');

    // space is freed (the quota is lifted again): writes resume on the same engine and adapter
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: qorigin });
    const resumed = await page.evaluate(async (db) => {
      const e = H.engines[db];
      const r = await e.execute('BankAccount', 'acc1', { type: 'deposit', amount: 5 });
      await e.execute('Order', 'ord1', { type: 'deliver_order' });
      return {
        position: r.position,
        stats: await e.stats(),
        verify: await e.verify(),
        balance: (await e.load('BankAccount', 'acc1')).state.balance,
        stored: (await H.dump(db)).events,
        log: await e.readAll(),
      };
    }, db);
    assert.equal(resumed.position, before.stats.headPosition + 1);
    assert.equal(resumed.stats.headPosition, before.stats.headPosition + 2);
    assert.equal(resumed.balance, before.loads.acc1.state.balance + 5);
    assert.equal(resumed.verify.ok, true);
    assert.deepEqual(resumed.stored, resumed.log);
    await page.close();
  } finally {
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: qorigin }).catch(() => {});
    await cdp.detach().catch(() => {});
    await control.close();
    await qsite.close();
  }
}

async function corruption() {
  const page = await newPage();
  // Each case: seed a fresh database, change it with raw IndexedDB, then open an engine on it.
  const cases = [
    {
      name: 'edited data', expect: 7,
      mutate: (events, put) => { const e = events[6]; put({ ...e, data: { ...e.data, amount: e.data.amount + 1 } }); },
    },
    {
      name: 'edited hash', expect: 12,
      mutate: (events, put) => { const e = events[11]; put({ ...e, hash: 'f'.repeat(64) }); },
    },
    {
      name: 'extra field', expect: 9,
      mutate: (events, put) => { put({ ...events[8], extra: true }); },
    },
    {
      name: 'missing field', expect: 4,
      mutate: (events, put) => { const { metadata, ...rest } = events[3]; put(rest); },
    },
    { name: 'removed record', expect: 7, mutate: 'delete:7' },
    { name: 'removed first record', expect: 1, mutate: 'delete:1' },
    { name: 'duplicated record at the end', expect: 'head+1', mutate: 'duplicate:7:end' },
    { name: 'duplicated record over the next one', expect: 8, mutate: 'duplicate:7:over' },
  ];
  for (const c of cases) {
    const db = `ej-corrupt-${c.name.replace(/\W+/g, '-')}`;
    await seed(page, db, { close: true });
    const res = await page.evaluate(async ({ db, mutate }) => {
      const before = await H.dump(db);
      const head = before.events.length;
      if (mutate.startsWith('delete:')) {
        const raw = await H.rawOpen(db);
        const tx = raw.transaction('events', 'readwrite');
        tx.objectStore('events').delete(Number(mutate.split(':')[1]));
        await H.txDone(tx);
        raw.close();
      } else if (mutate.startsWith('duplicate:')) {
        const [, p, where] = mutate.split(':');
        const original = before.events[Number(p) - 1];
        const copy = { ...original, position: where === 'end' ? head + 1 : Number(p) + 1 };
        // no index refuses it (schema 4 has none): only the engine's checks at open do
        const raw = await H.rawOpen(db);
        const tx = raw.transaction('events', 'readwrite');
        tx.objectStore('events').put(copy);
        await H.txDone(tx);
        raw.close();
      } else {
        // eslint-disable-next-line no-new-func
        const fn = new Function(`return (${mutate})`)();
        const raw = await H.rawOpen(db);
        const tx = raw.transaction('events', 'readwrite');
        fn(before.events, (r) => tx.objectStore('events').put(r));
        await H.txDone(tx);
        raw.close();
      }
      const corrupted = await H.dump(db);
      const storage = await H.ej.indexedDbStorage(db);
      const err = await H.rejection(H.ej.Engine.open({ storage }));
      await storage.close();
      const after = await H.dump(db);
      return { head, err, changed: JSON.stringify(corrupted) !== JSON.stringify(before), unchanged: JSON.stringify(after) === JSON.stringify(corrupted) };
    }, { db, mutate: typeof c.mutate === 'function' ? c.mutate.toString() : c.mutate });
    const expect = c.expect === 'head+1' ? res.head + 1 : c.expect;
    assert.ok(res.changed, `${c.name}: the database was changed`);
    assert.ok(res.err, `${c.name}: Engine.open must reject`);
    assert.equal(res.err.name, 'IntegrityError', `${c.name}: ${JSON.stringify(res.err)}`);
    assert.equal(res.err.code, 'INTEGRITY');
    assert.equal(res.err.position, expect, `${c.name}: position (${res.err.message})`);
    assert.ok(res.unchanged, `${c.name}: the stored records were changed by opening`);
  }
  await page.close();
}

async function measure() {
  const page = await newPage();
  const out = [];
  for (const durability of ['strict', 'relaxed']) {
    const r = await page.evaluate(async (durability) => {
      const db = `ej-bench-${durability}`;
      const e = await H.open(db, db, { durability });
      await e.execute('BankAccount', 'b', { type: 'create_account', accountHolder: 'Bench' });
      const t0 = performance.now();
      for (let burst = 0; burst < 10; burst += 1) {
        await Promise.all(Array.from({ length: 1000 }, () => e.execute('BankAccount', 'b', { type: 'deposit', amount: 1 })));
      }
      const burstsMs = performance.now() - t0;
      const lat = [];
      for (let i = 0; i < 200; i += 1) {
        const t = performance.now();
        await e.execute('BankAccount', 'b', { type: 'deposit', amount: 1 });
        lat.push(performance.now() - t);
      }
      lat.sort((x, y) => x - y);
      const balance = (await e.load('BankAccount', 'b')).state.balance;
      const stored = (await H.dump(db)).events.length;
      await e.close();
      return { burstsMs, p50: lat[99], p95: lat[189], balance, stored };
    }, durability);
    assert.equal(r.balance, 10_200);
    assert.equal(r.stored, 10_201);
    out.push({ durability, ...r });
  }
  console.log('');
  for (const r of out) {
    console.log(`    durability ${r.durability.padEnd(7)}: 10,000 deposits in bursts of 1,000: ${r.burstsMs.toFixed(0)} ms (${(10_000 / (r.burstsMs / 1000)).toFixed(0)}/s); one command: p50 ${r.p50.toFixed(2)} ms, p95 ${r.p95.toFixed(2)} ms`);
  }
  await page.close();
}

// ---------------------------------------------------------------------------------------------

before(async () => {
  site = await serveTests();
  origin = site.origin;
  profile = await mkdtemp(join(tmpdir(), 'ej-idb-'));
  await launch();
  console.log(`# IndexedDB adapter in headless Chromium ${context.browser()?.version() ?? ''} (${origin})`);
});
after(async () => {
  await context?.close().catch(() => {});
  await site?.close();
  if (profile) await rm(profile, { recursive: true, force: true }).catch(() => {});
});

// a scenario that hangs (e.g. an open blocked forever) fails instead of stalling the run
const options = { timeout: 60_000 };
test('1. persistence across reload and browser restart', options, persistence);
test('2. two tabs, 800 concurrent + 100 racing deposits: no lost update, gapless, equal projections', options, twoTabs);
test('3. schema v1 database upgraded while an old tab holds it', options, upgrade);
test('4. QuotaExceededError: StorageError, nothing changed, writes resume', options, quota);
test('5. corruption in IndexedDB: IntegrityError at the first bad position, nothing overwritten', options, corruption);
test('measurements (asserts the balances only; prints the figures)', options, measure);
