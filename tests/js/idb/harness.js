// Helpers for tests/js/indexeddb.browser.mjs, loaded in each page as window.H. The package is
// served under /node_modules/eventjournal/ (its web entry, which loads web/eventjournal_bg.wasm
// next to it; see support/server.mjs).
import * as ej from '/node_modules/eventjournal/index.js';

const H = { ej, engines: {}, storages: {} };

/** The fields of an error a test checks. */
H.errInfo = (e) => ({
  name: e && e.name,
  code: e && e.code,
  message: String(e && e.message),
  position: e && e.position,
  reason: e && e.reason,
  causeName: e && e.cause && e.cause.name,
  causeIsDOMException: !!(e && e.cause instanceof DOMException),
});

/** Awaits a promise that must reject; resolves with the error's fields (or null if it did not). */
H.rejection = async (promise) => {
  try {
    await promise;
    return null;
  } catch (e) {
    return H.errInfo(e);
  }
};

H.req = (r) => new Promise((resolve, reject) => {
  r.onsuccess = () => resolve(r.result);
  r.onerror = () => reject(r.error);
});

H.txDone = (tx) => new Promise((resolve, reject) => {
  tx.oncomplete = () => resolve();
  tx.onabort = () => reject(tx.error || new Error('aborted'));
});

/** Raw indexedDB.open; `onUpgrade(db, tx, oldVersion)` runs in onupgradeneeded. */
H.rawOpen = (name, version, onUpgrade) => new Promise((resolve, reject) => {
  const r = version === undefined ? indexedDB.open(name) : indexedDB.open(name, version);
  r.onupgradeneeded = (ev) => { if (onUpgrade) onUpgrade(r.result, r.transaction, ev.oldVersion); };
  r.onsuccess = () => resolve(r.result);
  r.onerror = () => reject(r.error);
  r.onblocked = () => { H.lastBlocked = Date.now(); };
});

/** Everything stored in database `name`, read with raw IndexedDB. */
H.dump = async (name) => {
  const db = await H.rawOpen(name);
  const out = { version: db.version, stores: [...db.objectStoreNames].sort(), indexes: {} };
  for (const store of out.stores) {
    const tx = db.transaction(store, 'readonly');
    const os = tx.objectStore(store);
    out.indexes[store] = [...os.indexNames].sort().map((n) => {
      const i = os.index(n);
      return { name: n, keyPath: i.keyPath, unique: i.unique };
    });
    out[store] = await H.req(os.getAll());
  }
  db.close();
  return out;
};

/** Opens an engine on indexedDbStorage(dbName, storageOptions), kept as H.engines[key]. */
H.open = async (key, dbName, storageOptions, engineOptions) => {
  const storage = await ej.indexedDbStorage(dbName, storageOptions);
  H.storages[key] = storage;
  const engine = await ej.Engine.open({ storage, ...engineOptions });
  H.engines[key] = engine;
  return engine;
};

/** Like H.open, with the adapter's appends counted in H.counts[key]: { appends, conflicts }. */
H.counts = {};
H.openCounting = async (key, dbName, storageOptions, engineOptions) => {
  const storage = await ej.indexedDbStorage(dbName, storageOptions);
  const counts = { appends: 0, conflicts: 0 };
  H.counts[key] = counts;
  const counted = {
    ...storage,
    async appendEvents(events, expected) {
      counts.appends += 1;
      try {
        return await storage.appendEvents(events, expected);
      } catch (e) {
        if (e && e.code === 'CONFLICT') counts.conflicts += 1;
        throw e;
      }
    },
  };
  H.storages[key] = storage;
  const engine = await ej.Engine.open({ storage: counted, ...engineOptions });
  H.engines[key] = engine;
  return engine;
};

/** What must survive a reopen: states, versions, projections, stats, verify, the log. */
H.observe = async (engine, streams) => {
  const loads = {};
  const versions = {};
  for (const [type, id] of streams) {
    loads[id] = await engine.load(type, id);
    versions[id] = await engine.streamVersion(id);
  }
  return {
    loads,
    versions,
    projections: {
      account_balance: await engine.projection('account_balance'),
      order_status: await engine.projection('order_status'),
    },
    stats: await engine.stats(),
    verify: await engine.verify(),
    log: await engine.readAll(),
  };
};

/** Waits until engine.stats().headPosition >= head. */
H.waitHead = async (engine, head, timeoutMs = 10_000) => {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const s = await engine.stats();
    if (s.headPosition >= head) return s;
    if (Date.now() > until) throw new Error(`head stayed at ${s.headPosition}, wanted ${head}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

window.H = H;
