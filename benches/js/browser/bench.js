// Browser side of scenarios 6-8: raw IndexedDB floors, eventjournal on indexedDbStorage, and the
// OPFS peer (SQLite on OPFS in a dedicated worker, opfs-worker.js).
// run.mjs calls window.bench.<name>(params) through page.evaluate; every function returns a
// plain object. Timing uses performance.now() (Chromium: 5 µs resolution, 100 µs when not
// cross-origin isolated; latencies here are milliseconds).
import { Engine, indexedDbStorage } from '/pkg/index.js';
import { record, records, jsonBytes } from './records.js';

const now = () => performance.now();
const STORE = 'events';
function req(r) {
  return new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
}
function done(tx) {
  return new Promise((resolve, reject) => { tx.oncomplete = () => resolve(); tx.onerror = () => reject(tx.error); tx.onabort = () => reject(tx.error ?? new Error('abort')); });
}
function openDb(name) {
  const r = indexedDB.open(name, 1);
  r.onupgradeneeded = () => { r.result.createObjectStore(STORE, { keyPath: 'position' }); };
  return req(r);
}
async function deleteDb(name) {
  await new Promise((resolve) => { const r = indexedDB.deleteDatabase(name); r.onsuccess = r.onerror = r.onblocked = () => resolve(); });
}
async function putBatch(db, batch, durability) {
  const tx = db.transaction(STORE, 'readwrite', { durability });
  const os = tx.objectStore(STORE);
  for (const r of batch) os.put(r);
  await done(tx);
}

/** Runs one operation of opfs-worker.js in a worker of its own, ended afterwards. */
function inWorker(op, params = {}) {
  const worker = new Worker(new URL('./opfs-worker.js', import.meta.url), { type: 'module' });
  return new Promise((resolve, reject) => {
    worker.onmessage = ({ data }) => { worker.terminate(); if (data.ok) resolve(data); else reject(new Error(`opfs-worker ${op}: ${data.error}`)); };
    worker.onerror = (e) => { worker.terminate(); reject(new Error(`opfs-worker ${op}: ${e.message ?? 'failed to load'}`)); };
    worker.postMessage({ op, ...params });
  });
}

const bench = {
  /** Is indexedDbStorage usable in this build? */
  async adapterAvailable() {
    try {
      const s = await indexedDbStorage('__probe__');
      await s.close?.();
      await deleteDb('__probe__');
      return { ok: true };
    } catch (e) {
      return { ok: false, error: String(e?.message ?? e) };
    }
  },

  /** 6, raw floor: `setup` untimed records, then `count` records in transactions of `txSize`. */
  async rawWrite({ dbName, setup, count, txSize, durability }) {
    await deleteDb(dbName);
    const db = await openDb(dbName);
    const all = records(setup + count);
    const bytes = jsonBytes(all, setup, 1000);
    for (let i = 0; i < setup; i += txSize) await putBatch(db, all.slice(i, Math.min(setup, i + txSize)), durability);
    const t0 = now();
    for (let i = setup; i < setup + count; i += txSize) await putBatch(db, all.slice(i, i + txSize), durability);
    const ms = now() - t0;
    db.close();
    return { ms, records: count, bytesPerRecord: bytes };
  },

  /** 7, raw floor: open the database and read every record with getAll pages of `pageSize`. */
  async rawRead({ dbName, pageSize }) {
    const t0 = now();
    const db = await openDb(dbName);
    let after = 0;
    let n = 0;
    for (;;) {
      const tx = db.transaction(STORE, 'readonly');
      const page = await req(tx.objectStore(STORE).getAll(IDBKeyRange.lowerBound(after, true), pageSize));
      if (page.length === 0) break;
      n += page.length;
      after = page[page.length - 1].position;
    }
    const ms = now() - t0;
    db.close();
    return { ms, records: n };
  },

  /** 8, raw floor: one record per readwrite transaction, each awaited. */
  async rawSingle({ dbName, samples, warmup, durability }) {
    await deleteDb(dbName);
    const db = await openDb(dbName);
    const times = [];
    for (let i = 0; i < warmup + samples; i++) {
      const r = record(i + 1, i);
      const t = now();
      await putBatch(db, [r], durability);
      const dt = now() - t;
      if (i >= warmup) times.push(dt);
    }
    db.close();
    await deleteDb(dbName);
    return { times };
  },

  /** 6, eventjournal: `accounts` accounts (untimed), then `deposits` deposits in bursts. */
  async engineWrite({ dbName, accounts, deposits, burst, durability }) {
    await deleteDb(dbName);
    const readLimits = new Set();
    const base = await indexedDbStorage(dbName, { durability });
    // Records the page size the engine asks for (the raw read floor uses the same).
    const storage = new Proxy(base, {
      get(t, k) {
        if (k === 'readEvents') return (a, l) => { readLimits.add(l); return t.readEvents(a, l); };
        const v = t[k];
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
    const engine = await Engine.open({ storage });
    const id = (i) => `account_${String(i % accounts).padStart(4, '0')}`;
    const creates = [];
    for (let i = 0; i < accounts; i++) creates.push(engine.execute('BankAccount', id(i), { type: 'create_account', accountHolder: `Holder ${i}`, initialDeposit: 10_000 }));
    await Promise.all(creates);
    const t0 = now();
    for (let b = 0; b < deposits; b += burst) {
      const ps = [];
      for (let i = b; i < Math.min(deposits, b + burst); i++) ps.push(engine.execute('BankAccount', id(i), { type: 'deposit', amount: 100 + (i % 50) }));
      await Promise.all(ps);
    }
    const ms = now() - t0;
    const stats = await engine.stats();
    await engine.close();
    engine.free();
    return { ms, events: stats.totalEvents, readLimits: [...readLimits] };
  },

  /** 7, eventjournal: reopen the log (read, verify, rebuild the projections). */
  async engineReopen({ dbName, expectEvents }) {
    const t0 = now();
    const storage = await indexedDbStorage(dbName);
    const engine = await Engine.open({ storage });
    await engine.projection('account_balance');
    await engine.projection('order_status');
    const ms = now() - t0;
    const stats = await engine.stats();
    await engine.close();
    engine.free();
    if (stats.totalEvents !== expectEvents) throw new Error(`reopened ${stats.totalEvents} events, expected ${expectEvents}`);
    return { ms, events: stats.totalEvents };
  },

  /**
   * 8, both at once: the raw one-record transaction and one eventjournal command, alternated
   * sample by sample (which goes first alternates too), so that both see the same machine.
   */
  async pairedSingle({ rawDb, engineDb, samples, warmup, durability }) {
    await deleteDb(rawDb);
    await deleteDb(engineDb);
    const db = await openDb(rawDb);
    const engine = await Engine.open({ storage: await indexedDbStorage(engineDb, { durability }) });
    await engine.execute('BankAccount', 'account_0001', { type: 'create_account', accountHolder: 'Holder 1', initialDeposit: 10_000 });
    const raw = [];
    const ej = [];
    const timeRaw = async (i) => { const r = record(i + 1, i); const t = now(); await putBatch(db, [r], durability); return now() - t; };
    const timeEngine = async (i) => { const t = now(); await engine.execute('BankAccount', 'account_0001', { type: 'deposit', amount: 100 + (i % 50) }); return now() - t; };
    for (let i = 0; i < warmup + samples; i++) {
      let r;
      let e;
      if (i % 2 === 0) { r = await timeRaw(i); e = await timeEngine(i); } else { e = await timeEngine(i); r = await timeRaw(i); }
      if (i >= warmup) { raw.push(r); ej.push(e); }
    }
    db.close();
    await engine.close();
    engine.free();
    await deleteDb(rawDb);
    await deleteDb(engineDb);
    return { raw, engine: ej };
  },

  /** The OPFS peer: SQLite's version, its VFS, and whether the page is cross-origin isolated. */
  opfsProbe: () => inWorker('probe'),

  /** 6, OPFS peer: the same records as rawWrite, inserted in transactions of `txSize`. */
  opfsWrite: ({ file, setup, count, txSize, pragmas }) => inWorker('write', { file, setup, count, txSize, pragmas }),

  /** 7, OPFS peer: a fresh worker opens the db and reads every record in pages (then deletes it). */
  opfsRead: ({ file, pageSize, pragmas }) => inWorker('read', { file, pageSize, pragmas, remove: true }),

  /** 8, OPFS peer: one record per transaction. */
  opfsSingle: ({ file, samples, warmup, pragmas }) => inWorker('single', { file, samples, warmup, pragmas }),

  deleteDb: async ({ dbName }) => { await deleteDb(dbName); return { ok: true }; },
};

window.bench = bench;
window.benchReady = true;
