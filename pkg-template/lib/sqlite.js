// @ts-check
// sqliteStorage(path, options): the storage contract (DESIGN.md §5) on SQLite, for Node,
// through better-sqlite3 (an optional peer dependency: `npm install better-sqlite3@12`).
// The policy every adapter shares (argument checks, CONFLICT, watch, close) is in common.js.
//
// Durability and concurrency:
// - journal_mode=WAL: readers never block the writer and the writer never blocks readers.
// - synchronous=FULL by default: the WAL is fsynced at every commit, so an append that
//   resolved survives a process crash AND a power loss or OS crash. `synchronous: 'NORMAL'`
//   is faster (no fsync per commit) and still survives a process crash (kill -9), but the
//   last commits before a power loss may be rolled back, i.e. an acknowledged command can
//   then be lost. The engine resolves a command only "once durable", hence FULL.
// - Each append is ONE `BEGIN IMMEDIATE` transaction: it takes the write lock first, then
//   reads the last position, compares it with expectedPosition (a mismatch writes nothing and
//   throws an Error with code 'CONFLICT') and inserts the batch. Several connections, in one
//   process or in several, therefore serialize and never lose an update; a writer that finds
//   the file locked waits up to `busyTimeoutMs` (default 5000) before failing with
//   SQLITE_BUSY (the engine reports a StorageError; nothing was written).
// - watch(): processes cannot share callbacks, so the adapter polls. Every `watchIntervalMs`
//   (default 250; 0 = no watch) it reads `PRAGMA data_version` (changes only when ANOTHER
//   connection committed) and, when it changed, the last position; a last position beyond what
//   this connection has seen is reported to the watchers. The timer is unref()'d (it never keeps
//   the process alive) and stops with the last unwatch or with close().
// - secure_delete=ON: what a write deletes or overwrites (a snapshot replaced, as every forget
//   does) is overwritten with zeros in the file rather than left in free space; scrub() then
//   checkpoints the WAL into the database and truncates it (wal_checkpoint(TRUNCATE)), so no
//   old page version stays in the -wal file either. Events are only ever appended, so this
//   costs nothing on appends.
//
// Schema (PRAGMA user_version = 2, PRAGMA application_id = 0x454a524e 'EJRN'):
//   events(position INTEGER PRIMARY KEY, id TEXT UNIQUE, stream_id, stream_type, type,
//          data JSON text, metadata JSON text, timestamp, version, hash, UNIQUE(stream_id, version))
//   snapshots(key TEXT PRIMARY KEY, json TEXT): the snapshot object as given, as JSON.
//   outbox(command_id TEXT PRIMARY KEY, seq INTEGER, entry TEXT): a synced engine's pending
//          commands, the entry object as given, as JSON (version 2).
// A database with a newer user_version than this code knows is refused; older ones are
// upgraded by MIGRATIONS, in one transaction.
import { conflict, nonNegativeInteger, openFailure, storageAdapter, typeOf, watcherRegistry } from './common.js';
import { StorageError, ValidationError } from './errors.js';

const SCHEMA_VERSION = 2;
const APPLICATION_ID = 0x454a524e;
const SYNCHRONOUS = ['OFF', 'NORMAL', 'FULL', 'EXTRA'];

// MIGRATIONS[n] upgrades a database from user_version n to n + 1.
/** @type {((db: any) => void)[]} */
const MIGRATIONS = [
  (db) => {
    db.exec(`
      CREATE TABLE events (
        position    INTEGER PRIMARY KEY,
        id          TEXT    NOT NULL UNIQUE,
        stream_id   TEXT    NOT NULL,
        stream_type TEXT    NOT NULL,
        type        TEXT    NOT NULL,
        data        TEXT    NOT NULL,
        metadata    TEXT    NOT NULL,
        timestamp   INTEGER NOT NULL,
        version     INTEGER NOT NULL,
        hash        TEXT    NOT NULL,
        UNIQUE (stream_id, version)
      );
      CREATE TABLE snapshots (
        key  TEXT PRIMARY KEY,
        json TEXT NOT NULL
      );
    `);
  },
  (db) => {
    db.exec(`
      CREATE TABLE outbox (
        command_id TEXT    PRIMARY KEY,
        seq        INTEGER NOT NULL,
        entry      TEXT    NOT NULL
      );
      CREATE INDEX outbox_seq ON outbox (seq);
    `);
  },
];

/** @type {null | Function} */
let driverLoader = null;
// `require` exists in the CommonJS twin (lib/sqlite.cjs) only.
// @ts-ignore -- no Node typings here
const cjsRequire = typeof require === 'function' ? require : null;
/** @type {any} the better-sqlite3 Database class, once loaded */
let driver = null;

/**
 * Tells sqliteStorage how to load better-sqlite3: `setSqliteDriver(() => require('better-sqlite3'))`.
 * The better-sqlite3 module itself (its Database class) is accepted too. `null` restores the
 * default (require('better-sqlite3') from the package).
 * @param {unknown} loader
 */
function setSqliteDriver(loader) {
  if (loader !== null && loader !== undefined && typeof loader !== 'function') {
    throw new ValidationError(`setSqliteDriver(loader): loader must be a function returning the better-sqlite3 module, got ${typeOf(loader)}`);
  }
  driverLoader = /** @type {Function | null} */ (loader || null);
  driver = null;
}

/** @param {any} f */
function isDatabaseClass(f) {
  return typeof f === 'function' && f.prototype !== undefined && f.prototype !== null
    && typeof f.prototype.prepare === 'function';
}

/** The Database class of better-sqlite3, or a StorageError (reason 'unsupported') saying how to install it. */
function loadDriver() {
  if (driver) return driver;
  /** @type {any} */
  let loaded;
  try {
    if (driverLoader) {
      loaded = isDatabaseClass(driverLoader) ? driverLoader : driverLoader();
    } else if (cjsRequire) {
      // The CommonJS build resolves the peer dependency next to the package.
      loaded = cjsRequire('better-sqlite3');
    } else {
      throw new Error('no driver loader was set (setSqliteDriver)');
    }
    if (loaded && !isDatabaseClass(loaded) && isDatabaseClass(loaded.default)) loaded = loaded.default;
    if (!isDatabaseClass(loaded)) throw new Error('the loader did not return the better-sqlite3 module');
  } catch (cause) {
    throw new StorageError(
      'sqliteStorage() needs better-sqlite3, an optional peer dependency of eventjournal: '
      + `run \`npm install better-sqlite3@12\` (${cause instanceof Error ? cause.message : String(cause)})`,
      { cause, reason: 'unsupported' },
    );
  }
  driver = loaded;
  return driver;
}

/**
 * The checked options.
 * @param {unknown} options
 */
function checkOptions(options) {
  const opts = /** @type {Record<string, unknown>} */ (options === undefined || options === null ? {} : options);
  if (typeof opts !== 'object' || Array.isArray(opts)) {
    throw new ValidationError(`sqliteStorage(path, options): options must be an object, got ${typeOf(options)}`);
  }
  const busyTimeoutMs = nonNegativeInteger(opts.busyTimeoutMs === undefined ? 5000 : opts.busyTimeoutMs, 'sqliteStorage: options.busyTimeoutMs');
  const watchIntervalMs = nonNegativeInteger(opts.watchIntervalMs === undefined ? 250 : opts.watchIntervalMs, 'sqliteStorage: options.watchIntervalMs');
  const synchronous = String(opts.synchronous === undefined ? 'FULL' : opts.synchronous).toUpperCase();
  if (!SYNCHRONOUS.includes(synchronous)) {
    throw new ValidationError(`sqliteStorage: options.synchronous must be one of ${SYNCHRONOUS.join(', ')}, got ${String(opts.synchronous)}`);
  }
  return { busyTimeoutMs, watchIntervalMs, synchronous };
}

/**
 * @param {any} Database
 * @param {string} path
 * @param {{ busyTimeoutMs: number, synchronous: string }} options
 */
function openDatabase(Database, path, { busyTimeoutMs, synchronous }) {
  const db = new Database(path, { timeout: busyTimeoutMs });
  try {
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous}`);
    db.pragma('secure_delete = ON');
    migrate(db);
  } catch (e) {
    try { db.close(); } catch { /* already failing */ }
    throw e;
  }
  return db;
}

/** @param {any} db */
function migrate(db) {
  const current = () => db.pragma('user_version', { simple: true });
  if (current() === SCHEMA_VERSION) return;
  db.transaction(() => {
    let version = current();
    const appId = db.pragma('application_id', { simple: true });
    if (version > SCHEMA_VERSION) {
      throw new Error(`this SQLite database has eventjournal schema version ${version}; this version of eventjournal knows up to ${SCHEMA_VERSION} (upgrade eventjournal)`);
    }
    if (appId !== 0 && appId !== APPLICATION_ID) {
      throw new Error(`this SQLite database belongs to another application (application_id ${appId})`);
    }
    if (version === 0) {
      const clash = db.prepare("SELECT name FROM sqlite_master WHERE name IN ('events', 'snapshots', 'outbox')").pluck().all();
      if (clash.length > 0) {
        throw new Error(`this SQLite database is not an eventjournal database: it already has the table(s) ${clash.join(', ')}`);
      }
    }
    while (version < SCHEMA_VERSION) {
      MIGRATIONS[version](db);
      version += 1;
    }
    db.pragma(`application_id = ${APPLICATION_ID}`);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

/** @param {import('../index').StoredEvent} e */
function toRow(e) {
  return [
    e.position, e.id, e.streamId, e.streamType, e.type,
    JSON.stringify(e.data), JSON.stringify(e.metadata),
    e.timestamp, e.version, e.hash,
  ];
}

/**
 * @param {any} r a row of the events table
 * @returns {import('../index').StoredEvent}
 */
function fromRow(r) {
  return {
    id: r.id,
    streamId: r.stream_id,
    streamType: r.stream_type,
    type: r.type,
    data: JSON.parse(r.data),
    metadata: JSON.parse(r.metadata),
    timestamp: r.timestamp,
    version: r.version,
    position: r.position,
    hash: r.hash,
  };
}

/**
 * Copies the WAL into the database file and truncates it, so the only copy of each page is
 * the current one (with secure_delete, deleted content is zeros). A reader of another
 * connection that holds an old snapshot of the database keeps the checkpoint from finishing:
 * a StorageError (call again).
 * @param {any} db
 * @param {string} label
 */
function checkpointTruncate(db, label) {
  const [result] = db.pragma('wal_checkpoint(TRUNCATE)');
  if (result && result.busy) {
    throw new StorageError(`${label}: the WAL could not be checkpointed (another connection is reading); call again`, { reason: 'failed' });
  }
}

/**
 * A storage adapter on the SQLite database file `path` (created if missing).
 *
 * @example
 * const storage = await sqliteStorage('./journal.db');
 * const engine = await Engine.open({ storage });
 * @param {string} path a file name, or ':memory:'
 * @param {{ synchronous?: 'FULL'|'NORMAL'|'EXTRA'|'OFF', busyTimeoutMs?: number, watchIntervalMs?: number }} [options]
 * @returns {Promise<import('../index').StorageAdapter>}
 */
async function sqliteStorage(path, options) {
  if (typeof path !== 'string' || path.length === 0) {
    throw new ValidationError(`sqliteStorage(path): path must be a non-empty string (a file name, or ":memory:"), got ${typeOf(path)}`);
  }
  const opts = checkOptions(options);
  const label = `sqliteStorage(${path})`;
  const Database = loadDriver();
  let db;
  try {
    db = openDatabase(Database, path, opts);
  } catch (e) {
    throw openFailure(label, e);
  }
  return sqliteAdapter(db, label, opts.watchIntervalMs);
}

/**
 * The adapter on an open database.
 * @param {any} db
 * @param {string} label
 * @param {number} watchIntervalMs
 */
function sqliteAdapter(db, label, watchIntervalMs) {
  const headStmt = db.prepare('SELECT COALESCE(MAX(position), 0) FROM events').pluck();
  const readStmt = db.prepare(
    'SELECT position, id, stream_id, stream_type, type, data, metadata, timestamp, version, hash'
    + ' FROM events WHERE position > ? ORDER BY position LIMIT ?',
  );
  const insertStmt = db.prepare(
    'INSERT INTO events (position, id, stream_id, stream_type, type, data, metadata, timestamp, version, hash)'
    + ' VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const readSnapshotStmt = db.prepare('SELECT json FROM snapshots WHERE key = ?').pluck();
  const writeSnapshotStmt = db.prepare(
    'INSERT INTO snapshots (key, json) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET json = excluded.json',
  );
  const dataVersionStmt = db.prepare('PRAGMA data_version').pluck();
  const readOutboxStmt = db.prepare('SELECT entry FROM outbox ORDER BY seq, command_id').pluck();
  const writeOutboxStmt = db.prepare(
    'INSERT INTO outbox (command_id, seq, entry) VALUES (?, ?, ?)'
    + ' ON CONFLICT (command_id) DO UPDATE SET seq = excluded.seq, entry = excluded.entry',
  );
  const deleteOutboxStmt = db.prepare('DELETE FROM outbox WHERE command_id = ?');
  const deleteOutbox = db.transaction((/** @type {string[]} */ ids) => {
    for (const id of ids) deleteOutboxStmt.run(id);
  });

  const append = db.transaction((/** @type {import('../index').StoredEvent[]} */ events, /** @type {number} */ expected) => {
    const last = headStmt.get();
    if (last !== expected) throw conflict(expected, last);
    for (const e of events) insertStmt.run(toRow(e));
  });

  // The last position this connection knows the engine has seen (read or appended).
  let seen = 0;
  /** @type {any} */
  let timer = null;
  /** @type {unknown} */
  let dataVersion = null;

  const poll = () => {
    let last;
    try {
      const v = dataVersionStmt.get();
      if (v === dataVersion) return;
      dataVersion = v;
      last = headStmt.get();
    } catch {
      return; // e.g. busy for longer than the timeout: try again at the next tick
    }
    if (last <= seen) return;
    seen = last;
    watchers.notify(last);
  };

  const watchers = watcherRegistry(label, {
    onFirst() {
      if (watchIntervalMs === 0) return; // 0: no watch
      dataVersion = null; // the first tick always reads the last position
      timer = setInterval(poll, watchIntervalMs);
      if (typeof timer.unref === 'function') timer.unref();
    },
    onLast() {
      if (timer !== null) clearInterval(timer);
      timer = null;
    },
  });

  return storageAdapter(label, {
    async readEvents(afterPosition, limit) {
      const events = readStmt.all(afterPosition, limit).map(fromRow);
      if (events.length > 0 && events[events.length - 1].position > seen) seen = events[events.length - 1].position;
      return events;
    },

    async appendEvents(events, expectedPosition) {
      append.immediate(events, expectedPosition);
      if (events.length > 0) seen = Math.max(seen, expectedPosition + events.length);
    },

    async readSnapshot(key) {
      const json = readSnapshotStmt.get(key);
      return json === undefined ? undefined : JSON.parse(json);
    },

    async writeSnapshot(snapshot) {
      writeSnapshotStmt.run(snapshot.key, JSON.stringify(snapshot));
    },

    async scrub() {
      checkpointTruncate(db, label);
    },

    watchers,

    async close() {
      db.close();
    },

    async readOutbox() {
      return readOutboxStmt.all().map((/** @type {string} */ json) => JSON.parse(json));
    },

    async writeOutbox(entry) {
      writeOutboxStmt.run(entry.commandId, entry.seq, JSON.stringify(entry));
    },

    async deleteOutbox(ids) {
      deleteOutbox.immediate(ids);
    },
  });
}

/** The better-sqlite3 Database class (for the key store on SQLite, keys/sqlite.js). */
const loadSqliteDriver = loadDriver;

export { sqliteStorage, setSqliteDriver, loadSqliteDriver, checkpointTruncate };
