// @ts-check
// indexedDbStorage(name, options): the storage contract (DESIGN.md §5) on IndexedDB.
// The policy every adapter shares (argument checks, CONFLICT, watch, close) is in common.js.
//
// Uses only globalThis.indexedDB, IDBKeyRange and BroadcastChannel, so the same file runs in
// browsers and in Node with the fake-indexeddb package loaded.
//
// Layout (schema version SCHEMA_VERSION):
//   events     keyPath 'position', no index. Records are the engine's events exactly as
//              given. (Schemas 1-3 also kept unique indexes on id and on [streamId, version];
//              schema 4 drops them, see below.)
//   snapshots  keyPath 'key'. Records are the engine's snapshots exactly as given.
//   meta       keyPath 'key'; { key: 'schema', version } (added by schema 2).
//   outbox     keyPath 'commandId'; index 'seq'. A synced engine's pending commands, the
//              entries exactly as given (added by schema 3).
//
// Why no indexes. Every read is by position, and nothing the indexes refused can get past
// the append itself: the head check and add() (never put) make a batch land only right after
// the head, and the engine checks every record it reads (id, stream version, chain) and
// refuses a log that breaks them, indexes or not. Each unique index was one more write per
// event, and the two made appends about 1.6 times slower (BENCHMARKS.md, scenario 6).
// Releases that kept them open a schema-4 database as it is (they never read the indexes).
//
// Durability. appendEvents resolves only when its readwrite transaction has completed, and
// the engine acknowledges a command (resolves execute) only after that. The default is
// therefore 'strict': the transaction completes once the data has been flushed to disk, so an
// acknowledged event survives a power loss or an OS crash. 'relaxed' completes once the data
// is handed to the operating system: appends are faster, and still survive a crash or a
// close of the tab or the browser, but the last acknowledged events may be lost on a power
// loss or an OS crash. (Browsers' own default, 'default', varies: Chromium treats it as
// relaxed since version 121, Firefox has always been relaxed.) Snapshots are caches the
// engine checks against the log and rebuilds, so they are always written 'relaxed'. Either
// way, a kill of the whole browser can, rarely, cost the whole database (next paragraph).
//
// A database the browser lost. Chromium deletes a database whose LevelDB files it finds corrupt
// and recreates it empty; the first open after that reports it, once (IDBVersionChangeEvent
// .dataLoss 'total', a Chromium extension). The adapter never goes on silently over such a
// loss. That open records it in the new database (meta key 'lost', with the browser's message),
// and every open that finds the record rejects with a StorageError, reason 'lost', until one
// is made with { acceptLoss: true }: that one removes the record and starts from the empty log
// (a synced engine fetches the server's log again; its pending commands are gone). The record
// makes the report survive a page that dies right after the browser's one-time signal. An
// adapter in use whose database is lost (the browser closes the connection, the lazy reopen
// finds the loss) rejects every later call with that error, whatever acceptLoss says. Chromium
// tells only the first database opened in the origin after the loss: an app must open this
// storage before its other IndexedDB databases. We have seen the loss after a SIGKILL of the
// whole browser, with either durability (LevelDB's reuse_logs after a cut-off log record,
// RELIABILITY.md §3).
//
// Connections. A 'versionchange' from another connection (a newer schema opening the
// database in another tab, or deleteDatabase) closes this connection at once, so the other
// side is not blocked; so does the browser when it must (storage cleared, a backing store
// error). Either way the next call reopens it lazily: only the adapter's own close() is final
// (every later call is a ClosedError). A database already upgraded by a newer release is
// opened at its current version as long as the stores above exist.
//
// Errors. A CONFLICT is an Error with code 'CONFLICT' (nothing written). Any other failure
// (QuotaExceededError, UnknownError, ConstraintError, an aborted transaction, ...) rejects
// with the original DOMException or Error; the engine wraps it into a StorageError (cause).
// The adapter stays usable afterwards.
import { conflict, openFailure, storageAdapter, typeOf, watcherRegistry } from './common.js';
import { shareTabs } from './sync-tabs.js';
import { ClosedError, StorageError, ValidationError } from './errors.js';

/** The current schema version of the database. */
const SCHEMA_VERSION = 4;

const DURABILITIES = ['strict', 'relaxed', 'default'];

/** The meta key of the record of a loss the browser reported (see "A database the browser lost"). */
const LOST = 'lost';

// One entry per schema version: upgrades[v - 1] takes a database from version v - 1 to v.
/** @type {((db: IDBDatabase, tx: IDBTransaction) => void)[]} */
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
  // 3: the outbox of a synced engine.
  (db) => {
    db.createObjectStore('outbox', { keyPath: 'commandId' }).createIndex('seq', 'seq');
  },
  // 4: no indexes on events (see "Why no indexes" above).
  (db, tx) => {
    const events = tx.objectStore('events');
    for (const index of ['id', 'stream']) if (events.indexNames.contains(index)) events.deleteIndex(index);
  },
];

/**
 * Opens `name` at `version`, running every upgrade step from the stored version up.
 * @param {IDBFactory} factory
 * @param {string} name
 * @param {number | undefined} version
 * @returns {Promise<IDBDatabase>}
 */
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
      const tx = /** @type {IDBTransaction} */ (request.transaction);
      for (let v = from + 1; v <= Math.min(to, upgrades.length); v += 1) upgrades[v - 1](db, tx);
      if (db.objectStoreNames.contains('meta')) {
        const meta = tx.objectStore('meta');
        meta.put({ key: 'schema', version: to });
        const { dataLoss, dataLossMessage } = /** @type {{ dataLoss?: string, dataLossMessage?: string }} */ (event);
        if (dataLoss === 'total') meta.put({ key: LOST, message: dataLossMessage || '(no message)', at: Date.now() });
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
 * @typedef {object} IndexedDbStorageOptions
 * @property {'strict' | 'relaxed' | 'default'} [durability] of event appends, default 'strict' (see above)
 * @property {number} [schemaVersion] open (and create) the database at an older schema version; for tests and migrations
 * @property {IDBFactory} [indexedDB] the IDBFactory to use (default globalThis.indexedDB)
 * @property {boolean} [acceptLoss] open a database the browser reported lost (its events are gone),
 *   starting from its empty log; without it such an open rejects with a StorageError, reason 'lost'
 */

/**
 * Storage on the IndexedDB database `name` (created or upgraded as needed).
 *
 * @example
 * const engine = await Engine.open({ storage: await indexedDbStorage('bank-app') });
 * @param {string} name
 * @param {IndexedDbStorageOptions} [options]
 * @returns {Promise<import('../index').StorageAdapter>}
 */
async function indexedDbStorage(name, options) {
  if (typeof name !== 'string' || name.length === 0) {
    throw new ValidationError(`indexedDbStorage(name): name must be a non-empty string, got ${typeOf(name)}`);
  }
  if (options !== undefined && options !== null && (typeof options !== 'object' || Array.isArray(options))) {
    throw new ValidationError(`indexedDbStorage(name, options): options must be an object, got ${typeOf(options)}`);
  }
  const opts = options || {};
  const durability = opts.durability === undefined ? 'strict' : opts.durability;
  if (!DURABILITIES.includes(durability)) {
    throw new ValidationError(`indexedDbStorage: durability must be 'strict', 'relaxed' or 'default', got ${String(durability)}`);
  }
  const schemaVersion = opts.schemaVersion === undefined ? SCHEMA_VERSION : opts.schemaVersion;
  if (!Number.isInteger(schemaVersion) || schemaVersion < 1 || schemaVersion > SCHEMA_VERSION) {
    throw new ValidationError(`indexedDbStorage: schemaVersion must be an integer from 1 to ${SCHEMA_VERSION}`);
  }
  if (opts.acceptLoss !== undefined && typeof opts.acceptLoss !== 'boolean') {
    throw new ValidationError(`indexedDbStorage: acceptLoss must be a boolean, got ${typeOf(opts.acceptLoss)}`);
  }
  const factory = opts.indexedDB || globalThis.indexedDB;
  const KeyRange = globalThis.IDBKeyRange;
  if (!factory || typeof factory.open !== 'function' || !KeyRange) {
    throw new StorageError('indexedDbStorage() needs IndexedDB (globalThis.indexedDB or IDBKeyRange is missing; in Node, load the fake-indexeddb package first)', { reason: 'unsupported' });
  }
  const label = `indexedDbStorage(${name})`;
  const connections = connectionKeeper(factory, name, schemaVersion, label, opts.acceptLoss === true);
  try {
    await connections.get();
  } catch (e) {
    throw openFailure(label, e);
  }
  const adapter = idbAdapter(connections, { name, label, durability, KeyRange });
  // The browser's own IndexedDB is shared by this origin's tabs: they elect one to sync.
  return factory === globalThis.indexedDB ? shareTabs(adapter, name) : adapter;
}

/**
 * @typedef {object} Out what a transaction's body leaves: its result, or why it aborted
 * @property {any} value
 * @property {unknown} failure
 */

/**
 * Runs `body` in the transaction `tx`; resolves to what it left in `out.value` once `tx` has
 * completed, rejects with why it aborted (a throw in `body` aborts it).
 * @param {IDBTransaction} tx
 * @param {(tx: IDBTransaction, out: Out) => void} body
 * @returns {Promise<any>}
 */
function settle(tx, body) {
  return new Promise((resolve, reject) => {
    /** @type {Out} */
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

/**
 * Rejects (closing `conn`) if the database holds the record of a loss the browser reported,
 * unless `accept`: then the record is removed and the empty database is used.
 * @param {IDBDatabase} conn
 * @param {string} label
 * @param {boolean} accept
 */
async function checkLoss(conn, label, accept) {
  if (!conn.objectStoreNames.contains('meta')) return;
  let record;
  try {
    record = await settle(conn.transaction('meta', 'readonly'), (tx, out) => {
      const r = tx.objectStore('meta').get(LOST);
      r.onsuccess = () => { out.value = r.result; };
    });
    if (!record) return;
    if (accept) {
      await settle(conn.transaction('meta', 'readwrite'), (tx) => { tx.objectStore('meta').delete(LOST); });
      return;
    }
  } catch (e) {
    conn.close();
    throw e;
  }
  conn.close();
  throw new StorageError(`${label}: the browser found this database corrupt and deleted it (it said: ${record.message}); `
    + 'every event stored in it is gone. Open it with { acceptLoss: true } to start from its empty log (a synced '
    + 'engine then fetches the server\'s log again; its pending commands are lost).', { reason: 'lost' });
}

/**
 * The one open connection of an adapter, opened lazily and reopened when something else
 * closed it (a 'versionchange', the browser); never after `close()`.
 * @param {IDBFactory} factory
 * @param {string} name
 * @param {number} schemaVersion
 * @param {string} label
 * @param {boolean} acceptLoss the first open may clear a recorded loss (never a reopen)
 */
function connectionKeeper(factory, name, schemaVersion, label, acceptLoss) {
  /** @type {IDBDatabase | null} */
  let db = null;
  /** @type {Promise<IDBDatabase> | null} */
  let opening = null;
  let closed = false;
  /** @type {unknown} the loss an open in use found: every later call rejects with it */
  let lostWhileOpen = null;
  let everOpened = false;

  async function open() {
    let conn;
    try {
      conn = await openAt(factory, name, schemaVersion);
    } catch (e) {
      // A newer release already upgraded the database: use it as it is if our stores exist.
      if (!e || /** @type {{ name?: unknown }} */ (e).name !== 'VersionError') throw e;
      conn = await openAt(factory, name, undefined);
      const names = conn.objectStoreNames;
      if (!names.contains('events') || !names.contains('snapshots')) {
        conn.close();
        throw e;
      }
    }
    await checkLoss(conn, label, acceptLoss && !everOpened);
    const opened = conn;
    opened.onversionchange = () => {
      opened.close();
      if (db === opened) db = null;
    };
    // The browser closed it (storage cleared, backing store error): reopen on the next call.
    opened.onclose = () => {
      if (db === opened) db = null;
    };
    return opened;
  }

  return {
    /** The open connection, opened (again) if needed. @returns {Promise<IDBDatabase>} */
    get() {
      if (closed) return Promise.reject(new ClosedError(`${label}: used after close()`));
      if (lostWhileOpen) return Promise.reject(lostWhileOpen);
      if (db) return Promise.resolve(db);
      if (!opening) {
        opening = open().then(
          (conn) => {
            opening = null;
            if (closed) { conn.close(); throw new ClosedError(`${label}: used after close()`); }
            db = conn;
            everOpened = true;
            return conn;
          },
          (e) => {
            opening = null;
            if (everOpened && e instanceof StorageError && /** @type {{ reason?: unknown }} */ (e).reason === 'lost') lostWhileOpen = e;
            throw e;
          },
        );
      }
      return opening;
    },
    /** Forgets `conn` when a transaction found it closed, so that get() reopens. @param {IDBDatabase} conn */
    lost(conn) {
      if (db === conn) db = null;
    },
    /** Closes for good: the connection now (an open in flight once it lands). */
    close() {
      closed = true;
      if (db) db.close();
      db = null;
    },
  };
}

/**
 * The adapter on one database.
 * @param {ReturnType<typeof connectionKeeper>} connections
 * @param {{ name: string, label: string, durability: IDBTransactionDurability, KeyRange: typeof IDBKeyRange }} settings
 */
function idbAdapter(connections, { name, label, durability, KeyRange }) {
  const Channel = typeof globalThis.BroadcastChannel === 'function' ? globalThis.BroadcastChannel : null;
  /** @type {BroadcastChannel | null} */
  let channel = null;

  /**
   * Runs `body(tx, out)` in a transaction; resolves with what `body` left in `out.value` once
   * the transaction completes. A connection found closed is reopened once.
   * @param {string} store
   * @param {IDBTransactionMode} mode
   * @param {IDBTransactionOptions | null} txOptions
   * @param {(tx: IDBTransaction, out: Out) => void} body
   * @returns {Promise<any>}
   */
  async function run(store, mode, txOptions, body) {
    for (let attempt = 0; ; attempt += 1) {
      const conn = await connections.get();
      let tx;
      try {
        tx = txOptions ? conn.transaction(store, mode, txOptions) : conn.transaction(store, mode);
      } catch (e) {
        if (e && /** @type {{ name?: unknown }} */ (e).name === 'InvalidStateError' && attempt === 0) {
          connections.lost(conn);
          continue;
        }
        throw e;
      }
      return settle(tx, body);
    }
  }

  // One channel per adapter, opened by the first watch or append: it tells the other
  // connections (tabs, workers) that the log moved, and hears when they did (a channel never
  // hears its own messages, so a writer is not told of its own appends).
  function ensureChannel() {
    if (channel || !Channel) return channel;
    channel = new Channel(`eventjournal:${name}`);
    // In Node, do not keep the process alive just for this.
    const node = /** @type {{ unref?: () => void }} */ (/** @type {unknown} */ (channel));
    if (typeof node.unref === 'function') node.unref();
    channel.onmessage = (event) => {
      const last = event && event.data ? event.data.lastPosition : undefined;
      if (typeof last === 'number') watchers.notify(last);
    };
    return channel;
  }

  const watchers = watcherRegistry(label, { onFirst: ensureChannel });

  return storageAdapter(label, {
    async readEvents(afterPosition, limit) {
      const count = Math.min(limit, 0xffffffff);
      return run('events', 'readonly', null, (tx, out) => {
        const request = tx.objectStore('events').getAll(KeyRange.lowerBound(afterPosition, true), count);
        request.onsuccess = () => { out.value = request.result; };
      });
    },

    async appendEvents(batch, expected) {
      await run('events', 'readwrite', { durability }, (tx, out) => {
        const store = tx.objectStore('events');
        const head = store.openKeyCursor(null, 'prev');
        head.onsuccess = () => {
          const cursor = head.result;
          const last = cursor ? cursor.primaryKey : 0;
          if (last !== expected && !out.failure) {
            out.failure = conflict(expected, Number(last));
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
        try { ensureChannel()?.postMessage({ lastPosition: batch[batch.length - 1].position }); } catch { /* best effort */ }
      }
    },

    async readSnapshot(key) {
      return run('snapshots', 'readonly', null, (tx, out) => {
        const request = tx.objectStore('snapshots').get(key);
        request.onsuccess = () => { out.value = request.result; };
      });
    },

    async writeSnapshot(snapshot) {
      await run('snapshots', 'readwrite', { durability: 'relaxed' }, (tx) => {
        tx.objectStore('snapshots').put(snapshot);
      });
    },

    watchers,

    async readOutbox() {
      return run('outbox', 'readonly', null, (tx, out) => {
        const request = tx.objectStore('outbox').index('seq').getAll();
        request.onsuccess = () => { out.value = request.result; };
      });
    },

    // Entries are written with the events' durability: execute resolves once one is stored.
    async writeOutbox(entry) {
      await run('outbox', 'readwrite', { durability }, (tx) => {
        tx.objectStore('outbox').put(entry);
      });
    },

    async deleteOutbox(ids) {
      await run('outbox', 'readwrite', { durability }, (tx) => {
        const store = tx.objectStore('outbox');
        for (const id of ids) store.delete(id);
      });
    },

    async close() {
      if (channel) {
        channel.onmessage = null;
        channel.close();
        channel = null;
      }
      connections.close();
    },
  });
}

export { indexedDbStorage };
