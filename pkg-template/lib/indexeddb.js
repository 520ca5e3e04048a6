// indexedDbStorage(name, options): the storage contract (DESIGN.md §5) on IndexedDB.
//
// Uses only globalThis.indexedDB, IDBKeyRange and BroadcastChannel, so the same file runs in
// browsers and in Node with the fake-indexeddb package loaded.
//
// Layout (schema version SCHEMA_VERSION):
//   events     keyPath 'position'; unique index 'id' on id; unique index 'stream' on
//              ['streamId', 'version']. Records are the engine's events exactly as given.
//   snapshots  keyPath 'key'. Records are the engine's snapshots exactly as given.
//   meta       keyPath 'key'; { key: 'schema', version } (added by schema 2).
//
// Durability. appendEvents resolves only when its readwrite transaction has completed, and
// the engine acknowledges a command (resolves execute) only after that. The default is
// therefore 'strict': the transaction completes once the data has been flushed to disk, so an
// acknowledged event survives a power loss or an OS crash. 'relaxed' completes once the data
// is handed to the operating system: appends are faster, and still survive a crash or a
// close of the tab or the browser, but the last acknowledged events may be lost on a power
// loss or an OS crash. (Browsers' own default, 'default', varies: Chromium treats it as
// relaxed since version 121, Firefox has always been relaxed.) Snapshots are caches the
// engine checks against the log and rebuilds, so they are always written 'relaxed'.
//
// Connections. A 'versionchange' from another connection (a newer schema opening the
// database in another tab, or deleteDatabase) closes this connection at once, so the other
// side is not blocked; the next call reopens it lazily. A database already upgraded by a
// newer release is opened at its current version as long as the stores above exist.
//
// Errors. A CONFLICT is an Error with code 'CONFLICT' (nothing written). Any other failure
// (QuotaExceededError, UnknownError, ConstraintError, an aborted transaction, ...) rejects
// with the original DOMException or Error; the engine wraps it into a StorageError (cause).
// The adapter stays usable afterwards.
import { ValidationError } from './errors.js';

/** The current schema version of the database. */
const SCHEMA_VERSION = 2;

const DURABILITIES = ['strict', 'relaxed', 'default'];

// One entry per schema version: upgrades[v - 1] takes a database from version v - 1 to v.
const upgrades = [
  // 1: events and snapshots.
  (db) => {
    const events = db.createObjectStore('events', { keyPath: 'position' });
    events.createIndex('id', 'id', { unique: true });
    events.createIndex('stream', ['streamId', 'version'], { unique: true });
    db.createObjectStore('snapshots', { keyPath: 'key' });
  },
  // 2: a meta store recording the schema version.
  (db) => {
    db.createObjectStore('meta', { keyPath: 'key' });
  },
];

function conflict(expected, last) {
  const e = new Error(`conflict: expected the store at position ${expected}, it is at ${last}`);
  e.code = 'CONFLICT';
  return e;
}

// Opens `name` at `version`, running every upgrade step from the stored version up.
function openAt(factory, name, version) {
  return new Promise((resolve, reject) => {
    let request;
    try {
      request = version === undefined ? factory.open(name) : factory.open(name, version);
    } catch (e) {
      reject(e);
      return;
    }
    request.onupgradeneeded = (event) => {
      const db = request.result;
      const from = event.oldVersion || 0;
      const to = event.newVersion || version || 1;
      for (let v = from + 1; v <= Math.min(to, upgrades.length); v += 1) upgrades[v - 1](db, request.transaction);
      if (db.objectStoreNames.contains('meta')) {
        request.transaction.objectStore('meta').put({ key: 'schema', version: to });
      }
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = (event) => {
      if (event && typeof event.preventDefault === 'function') event.preventDefault();
      reject(request.error);
    };
    // onblocked: another connection on an older version has not closed yet. Adapters close
    // theirs on 'versionchange'; anything else delays this open until it does.
  });
}

/**
 * Storage on the IndexedDB database `name` (created or upgraded as needed).
 * @param {string} name
 * @param {{ durability?: 'strict' | 'relaxed' | 'default', schemaVersion?: number, indexedDB?: IDBFactory }} [options]
 *   durability: of event appends, default 'strict' (see above).
 *   schemaVersion: open (and create) the database at an older schema version; for tests and
 *   migrations. indexedDB: the IDBFactory to use (default globalThis.indexedDB).
 * @returns {Promise<import('../index').StorageAdapter>}
 */
async function indexedDbStorage(name, options = {}) {
  if (typeof name !== 'string' || name.length === 0) {
    throw new ValidationError('indexedDbStorage(name): name must be a non-empty string');
  }
  const opts = options === null || options === undefined ? {} : options;
  const durability = opts.durability === undefined ? 'strict' : opts.durability;
  if (!DURABILITIES.includes(durability)) {
    throw new ValidationError(`indexedDbStorage: durability must be 'strict', 'relaxed' or 'default', got ${String(durability)}`);
  }
  const schemaVersion = opts.schemaVersion === undefined ? SCHEMA_VERSION : opts.schemaVersion;
  if (!Number.isInteger(schemaVersion) || schemaVersion < 1 || schemaVersion > SCHEMA_VERSION) {
    throw new ValidationError(`indexedDbStorage: schemaVersion must be an integer from 1 to ${SCHEMA_VERSION}`);
  }
  const factory = opts.indexedDB || globalThis.indexedDB;
  const KeyRange = globalThis.IDBKeyRange;
  if (!factory || typeof factory.open !== 'function' || !KeyRange) {
    throw new Error('indexedDbStorage() needs IndexedDB (globalThis.indexedDB or IDBKeyRange is missing; in Node, load the fake-indexeddb package first)');
  }
  const Channel = typeof globalThis.BroadcastChannel === 'function' ? globalThis.BroadcastChannel : null;

  let db = null; // the open connection, or null (reopened lazily)
  let opening = null; // the pending open, if any
  let channel = null;
  const watchers = new Set();

  async function open() {
    let conn;
    try {
      conn = await openAt(factory, name, schemaVersion);
    } catch (e) {
      // A newer release already upgraded the database: use it as it is if our stores exist.
      if (!e || e.name !== 'VersionError') throw e;
      conn = await openAt(factory, name, undefined);
      const names = conn.objectStoreNames;
      if (!names.contains('events') || !names.contains('snapshots')) {
        conn.close();
        throw e;
      }
    }
    conn.onversionchange = () => {
      conn.close();
      if (db === conn) db = null;
    };
    // The browser closed it (storage cleared, backing store error): reopen on the next call.
    conn.onclose = () => {
      if (db === conn) db = null;
    };
    return conn;
  }

  function connection() {
    if (db) return Promise.resolve(db);
    if (!opening) {
      opening = open().then(
        (conn) => { opening = null; db = conn; return conn; },
        (e) => { opening = null; throw e; },
      );
    }
    return opening;
  }

  // Runs `body(tx)` in a transaction; resolves with what `body` left in `out.value` once the
  // transaction completes. A connection found closed is reopened once.
  async function run(stores, mode, txOptions, body) {
    for (let attempt = 0; ; attempt += 1) {
      const conn = await connection();
      let tx;
      try {
        tx = txOptions ? conn.transaction(stores, mode, txOptions) : conn.transaction(stores, mode);
      } catch (e) {
        if (e && e.name === 'InvalidStateError' && attempt === 0) {
          if (db === conn) db = null;
          continue;
        }
        throw e;
      }
      return new Promise((resolve, reject) => {
        const out = { value: undefined, failure: null };
        tx.oncomplete = () => resolve(out.value);
        tx.onabort = () => reject(out.failure || tx.error || new Error('IndexedDB transaction aborted'));
        try {
          body(tx, out);
        } catch (e) {
          out.failure = e;
          try { tx.abort(); } catch { /* already finished */ }
        }
      });
    }
  }

  function ensureChannel() {
    if (channel || !Channel) return channel;
    channel = new Channel(`eventjournal:${name}`);
    // In Node, do not keep the process alive just for this.
    if (typeof channel.unref === 'function') channel.unref();
    channel.onmessage = (event) => {
      const last = event && event.data ? event.data.lastPosition : undefined;
      if (typeof last !== 'number') return;
      for (const w of [...watchers]) {
        try { w(last); } catch { /* a watcher's error is its own */ }
      }
    };
    return channel;
  }

  const adapter = {
    async readEvents(afterPosition, limit) {
      const after = Number(afterPosition) || 0;
      let count;
      if (typeof limit === 'number' && Number.isFinite(limit)) {
        if (limit <= 0) return [];
        count = Math.min(Math.floor(limit), 0xffffffff);
      }
      return run('events', 'readonly', null, (tx, out) => {
        const store = tx.objectStore('events');
        const request = store.getAll(KeyRange.lowerBound(after, true), count);
        request.onsuccess = () => { out.value = request.result; };
      });
    },

    async appendEvents(events, expectedPosition) {
      const batch = Array.from(events);
      const expected = Number(expectedPosition);
      await run('events', 'readwrite', { durability }, (tx, out) => {
        const store = tx.objectStore('events');
        const head = store.openKeyCursor(null, 'prev');
        head.onsuccess = () => {
          const cursor = head.result;
          const last = cursor ? cursor.primaryKey : 0;
          if (last !== expected && !out.failure) {
            out.failure = conflict(expected, last);
            try { tx.abort(); } catch { /* already aborting */ }
          }
        };
        // The writes are issued at once, not after the head check answers: requests run in
        // order within the transaction, and a mismatch aborts it, undoing them. This saves a
        // round trip per append. add, never put: an existing position is never overwritten
        // (another writer's events make the add fail, after the head check has said CONFLICT).
        for (const e of batch) {
          const request = store.add(e);
          request.onerror = () => {
            if (!out.failure) out.failure = request.error;
          };
        }
      });
      if (batch.length > 0) {
        const lastPosition = batch[batch.length - 1].position;
        try { ensureChannel()?.postMessage({ lastPosition }); } catch { /* best effort */ }
      }
    },

    async readSnapshot(key) {
      return run('snapshots', 'readonly', null, (tx, out) => {
        const request = tx.objectStore('snapshots').get(String(key));
        request.onsuccess = () => { out.value = request.result; };
      });
    },

    async writeSnapshot(snapshot) {
      await run('snapshots', 'readwrite', { durability: 'relaxed' }, (tx) => {
        tx.objectStore('snapshots').put(snapshot);
      });
    },

    watch(onAppend) {
      if (typeof onAppend !== 'function') throw new ValidationError('watch(onAppend): onAppend must be a function');
      ensureChannel();
      // Wrap it, so watching the same function twice gives two independent unwatch calls.
      const w = (last) => onAppend(last);
      watchers.add(w);
      return () => { watchers.delete(w); };
    },

    async close() {
      watchers.clear();
      if (channel) {
        channel.onmessage = null;
        channel.close();
        channel = null;
      }
      let conn = db;
      if (!conn && opening) {
        try { conn = await opening; } catch { conn = null; }
      }
      db = null;
      if (conn) conn.close();
    },
  };

  await connection();
  return adapter;
}

export { indexedDbStorage };
