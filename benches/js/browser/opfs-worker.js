// The OPFS peer of scenarios 6-8, in a dedicated (module) worker: SQLite from
// @sqlite.org/sqlite-wasm (served from benches/js/node_modules under /sqlite-wasm/) on its
// `opfs-sahpool` VFS, the sync-access-handle pool that needs no cross-origin isolation (no
// COOP/COEP headers, no SharedArrayBuffer) and is the design LiveStore's web adapter uses
// (wa-sqlite's AccessHandlePoolVFS). bench.js starts one worker per operation and ends it
// after, so a read always opens the database afresh, as a reopened app would.
//
// Protocol: the page posts { op, ...params }; the worker answers { ok: true, ...result } or
// { ok: false, error }. Times are taken here with performance.now() around the work alone.
import sqlite3InitModule from '/sqlite-wasm/index.mjs';
import { records, record } from './records.js';

const now = () => performance.now();
const VFS = { name: 'opfs-sahpool', directory: '.eventjournal-bench-sahpool' };
// The same record as the raw IndexedDB floor, stored whole as its JSON text under its position
// (the primary key; no other index: the raw IndexedDB store has none). One column per field
// costs ~3x more per insert and ~2x per read through sqlite-wasm's oo1 API (one JS-wasm call
// per bound or read value), so this is the cheaper layout, the one a floor should use.
const SCHEMA = 'CREATE TABLE IF NOT EXISTS events (position INTEGER PRIMARY KEY, record TEXT NOT NULL)';
const INSERT = 'INSERT INTO events (position, record) VALUES (?, ?)';

let sqlite3 = null;
let pool = null;

async function load() {
  const t = now();
  sqlite3 = await sqlite3InitModule({ print: () => {}, printErr: (...a) => console.error(...a) });
  return now() - t;
}

/** Installs (or re-acquires) the pool: opens every access handle of the VFS's directory. */
async function installPool() {
  pool = await sqlite3.installOpfsSAHPoolVfs(VFS);
  return pool;
}

/** Opens `file` on the pool, then runs `pragmas` (connection settings, e.g. 'journal_mode=truncate'). */
function openDb(file, pragmas) {
  const db = new pool.OpfsSAHPoolDb(file);
  for (const p of pragmas) db.exec(`PRAGMA ${p}`);
  return db;
}

/** Closes the db and hands the access handles back, so that the next worker can take them. */
function release(db) {
  db?.close();
  pool?.pauseVfs();
}

function insertAll(db, stmt, all, from, to, txSize) {
  for (let i = from; i < to; i += txSize) {
    db.exec('BEGIN');
    for (let j = i; j < Math.min(to, i + txSize); j++) {
      const r = all[j];
      stmt.bind([r.position, JSON.stringify(r)]).stepReset();
    }
    db.exec('COMMIT');
  }
}

const ops = {
  /** Loads SQLite and installs the VFS: what the probe reports (version, VFS, isolation). */
  async probe() {
    const loadMs = await load();
    await installPool();
    pool.pauseVfs();
    return { version: sqlite3.version.libVersion, vfs: pool.vfsName, loadMs, crossOriginIsolated: globalThis.crossOriginIsolated === true };
  },

  /** 6: `setup` records (untimed), then `count` in transactions of `txSize`, from an empty db. */
  async write({ file, setup, count, txSize, pragmas = [] }) {
    const loadMs = await load();
    await installPool();
    pool.unlink(file);
    const db = openDb(file, pragmas);
    const all = records(setup + count);
    let stmt = null;
    try {
      db.exec(SCHEMA);
      stmt = db.prepare(INSERT);
      insertAll(db, stmt, all, 0, setup, txSize);
      const t0 = now();
      insertAll(db, stmt, all, setup, setup + count, txSize);
      const ms = now() - t0;
      const [journalMode, synchronous, pageSize, pageCount] = ['journal_mode', 'synchronous', 'page_size', 'page_count'].map((p) => db.selectValue(`PRAGMA ${p}`));
      return { ms, records: count, loadMs, journalMode, synchronous, dbBytes: pageSize * pageCount };
    } finally {
      stmt?.finalize();
      release(db);
    }
  },

  /** 7: open the db (the VFS installed afresh) and read every record back in pages, as objects. */
  async read({ file, pageSize, remove, pragmas = [] }) {
    const loadMs = await load();
    const t0 = now();
    await installPool();
    const db = openDb(file, pragmas);
    const openMs = now() - t0;
    let stmt = null;
    let n = 0;
    try {
      stmt = db.prepare('SELECT record FROM events WHERE position > ? ORDER BY position LIMIT ?');
      let after = 0;
      for (;;) {
        stmt.bind([after, pageSize]);
        const page = [];
        while (stmt.step()) page.push(JSON.parse(stmt.getString(0)));
        stmt.reset();
        if (page.length === 0) break;
        n += page.length;
        after = page[page.length - 1].position;
      }
      const ms = now() - t0;
      return { ms, records: n, loadMs, openMs };
    } finally {
      stmt?.finalize();
      db.close();
      if (remove) pool.unlink(file);
      pool.pauseVfs();
    }
  },

  /** 8: one record per transaction, each timed alone. */
  async single({ file, samples, warmup, pragmas = [] }) {
    await load();
    await installPool();
    pool.unlink(file);
    const db = openDb(file, pragmas);
    let stmt = null;
    try {
      db.exec(SCHEMA);
      stmt = db.prepare(INSERT);
      const times = [];
      for (let i = 0; i < warmup + samples; i++) {
        const r = record(i + 1, i);
        const t = now();
        insertAll(db, stmt, [r], 0, 1, 1);
        const dt = now() - t;
        if (i >= warmup) times.push(dt);
      }
      return { times };
    } finally {
      stmt?.finalize();
      db.close();
      pool.unlink(file);
      pool.pauseVfs();
    }
  },
};

self.onmessage = async ({ data: { op, ...params } }) => {
  try {
    self.postMessage({ ok: true, ...(await ops[op](params)) });
  } catch (e) {
    self.postMessage({ ok: false, error: String(e?.stack ?? e) });
  }
};
