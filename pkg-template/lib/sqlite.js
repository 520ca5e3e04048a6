// sqliteStorage(path, options): the storage contract (DESIGN.md §5) on SQLite, for Node,
// through better-sqlite3 (an optional peer dependency: `npm install better-sqlite3@12`).
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
//
// Schema (PRAGMA user_version = 1, PRAGMA application_id = 0x454a524e 'EJRN'):
//   events(position INTEGER PRIMARY KEY, id TEXT UNIQUE, stream_id, stream_type, type,
//          data JSON text, metadata JSON text, timestamp, version, hash, UNIQUE(stream_id, version))
//   snapshots(key TEXT PRIMARY KEY, json TEXT): the snapshot object as given, as JSON.
// A database with a newer user_version than this code knows is refused; older ones are
// upgraded by MIGRATIONS, in one transaction.

const SCHEMA_VERSION = 1;
const APPLICATION_ID = 0x454a524e;
const SYNCHRONOUS = ['OFF', 'NORMAL', 'FULL', 'EXTRA'];

// MIGRATIONS[n] upgrades a database from user_version n to n + 1.
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
];

let driverLoader = null;
let driver = null;

/**
 * Tells sqliteStorage how to load better-sqlite3: `setSqliteDriver(() => require('better-sqlite3'))`.
 * The better-sqlite3 module itself (its Database class) is accepted too. `null` restores the default.
 */
function setSqliteDriver(loader) {
  if (loader !== null && loader !== undefined && typeof loader !== 'function') {
    throw new TypeError('setSqliteDriver(loader): loader must be a function returning the better-sqlite3 module');
  }
  driverLoader = loader || null;
  driver = null;
}

function isDatabaseClass(f) {
  return typeof f === 'function' && f.prototype !== undefined && f.prototype !== null
    && typeof f.prototype.prepare === 'function';
}

function loadDriver() {
  if (driver) return driver;
  let loaded;
  try {
    if (driverLoader) {
      loaded = isDatabaseClass(driverLoader) ? driverLoader : driverLoader();
    } else if (typeof require === 'function') {
      // The CommonJS build resolves the peer dependency next to the package.
      loaded = require('better-sqlite3');
    } else {
      throw new Error('no driver loader was set (setSqliteDriver)');
    }
    if (loaded && !isDatabaseClass(loaded) && isDatabaseClass(loaded.default)) loaded = loaded.default;
    if (!isDatabaseClass(loaded)) throw new Error('the loader did not return the better-sqlite3 module');
  } catch (cause) {
    const e = new Error(
      'sqliteStorage() needs better-sqlite3, an optional peer dependency of eventjournal: '
      + `run \`npm install better-sqlite3@12\` (${cause && cause.message ? cause.message : String(cause)})`,
      { cause },
    );
    e.code = 'SQLITE_DRIVER_MISSING';
    throw e;
  }
  driver = loaded;
  return driver;
}

function conflict(expected, last) {
  const e = new Error(`conflict: expected the store at position ${expected}, it is at ${last}`);
  e.code = 'CONFLICT';
  return e;
}

function nonNegativeInteger(value, what) {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`${what} must be a non-negative safe integer, got ${String(value)}`);
  }
  return value;
}

function openDatabase(Database, path, options) {
  const busyTimeoutMs = options.busyTimeoutMs === undefined ? 5000 : options.busyTimeoutMs;
  nonNegativeInteger(busyTimeoutMs, 'options.busyTimeoutMs');
  const synchronous = String(options.synchronous === undefined ? 'FULL' : options.synchronous).toUpperCase();
  if (!SYNCHRONOUS.includes(synchronous)) {
    throw new TypeError(`options.synchronous must be one of ${SYNCHRONOUS.join(', ')}, got ${String(options.synchronous)}`);
  }
  const db = new Database(path, { timeout: busyTimeoutMs });
  try {
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous}`);
    migrate(db);
  } catch (e) {
    try { db.close(); } catch { /* already failing */ }
    throw e;
  }
  return db;
}

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
      const clash = db.prepare("SELECT name FROM sqlite_master WHERE name IN ('events', 'snapshots')").pluck().all();
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

function toRow(e) {
  return [
    e.position, e.id, e.streamId, e.streamType, e.type,
    JSON.stringify(e.data), JSON.stringify(e.metadata),
    e.timestamp, e.version, e.hash,
  ];
}

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
 * A storage adapter on the SQLite database file `path` (created if missing).
 * @param {string} path
 * @param {{ synchronous?: 'FULL'|'NORMAL'|'EXTRA'|'OFF', busyTimeoutMs?: number, watchIntervalMs?: number }} [options]
 */
function sqliteStorage(path, options) {
  if (typeof path !== 'string' || path.length === 0) {
    throw new TypeError('sqliteStorage(path): path must be a non-empty string (a file name, or ":memory:")');
  }
  const opts = options === undefined || options === null ? {} : options;
  if (typeof opts !== 'object') throw new TypeError('sqliteStorage(path, options): options must be an object');
  const watchIntervalMs = opts.watchIntervalMs === undefined ? 250 : opts.watchIntervalMs;
  nonNegativeInteger(watchIntervalMs, 'options.watchIntervalMs');

  const Database = loadDriver();
  const db = openDatabase(Database, path, opts);

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

  const append = db.transaction((events, expected) => {
    const last = headStmt.get();
    if (last !== expected) throw conflict(expected, last);
    for (const e of events) insertStmt.run(toRow(e));
  });

  let closed = false;
  // The last position this connection knows the engine has seen (read or appended).
  let seen = 0;
  const watchers = new Set();
  let timer = null;
  let dataVersion = null;

  const checkOpen = () => {
    if (closed) throw new Error(`sqliteStorage(${path}): the database is closed`);
  };

  const poll = () => {
    if (closed || watchers.size === 0) return;
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
    for (const w of [...watchers]) {
      try { w(last); } catch { /* a watcher's failure is its own */ }
    }
  };

  const stopTimer = () => {
    if (timer !== null) {
      clearInterval(timer);
      timer = null;
    }
  };

  return {
    async readEvents(afterPosition, limit) {
      checkOpen();
      const after = Math.max(0, Math.floor(Number(afterPosition) || 0));
      const n = Number(limit);
      const max = Number.isFinite(n) && n >= 0 ? Math.floor(n) : -1; // -1: no limit
      const events = readStmt.all(after, max).map(fromRow);
      if (events.length > 0 && events[events.length - 1].position > seen) seen = events[events.length - 1].position;
      return events;
    },

    async appendEvents(events, expectedPosition) {
      checkOpen();
      if (!Array.isArray(events)) throw new TypeError('appendEvents(events, expectedPosition): events must be an array');
      const expected = nonNegativeInteger(expectedPosition, 'appendEvents: expectedPosition');
      events.forEach((e, i) => {
        if (e === null || typeof e !== 'object' || e.position !== expected + i + 1) {
          throw new TypeError(`appendEvents: event ${i} must have position ${expected + i + 1}`);
        }
      });
      append.immediate(events, expected);
      if (events.length > 0) seen = Math.max(seen, expected + events.length);
    },

    async readSnapshot(key) {
      checkOpen();
      const json = readSnapshotStmt.get(String(key));
      return json === undefined ? undefined : JSON.parse(json);
    },

    async writeSnapshot(snapshot) {
      checkOpen();
      if (snapshot === null || typeof snapshot !== 'object' || typeof snapshot.key !== 'string') {
        throw new TypeError('writeSnapshot(snapshot): snapshot must be an object with a string key');
      }
      writeSnapshotStmt.run(snapshot.key, JSON.stringify(snapshot));
    },

    watch(onAppend) {
      checkOpen();
      if (typeof onAppend !== 'function' || watchIntervalMs === 0) return () => {};
      watchers.add(onAppend);
      if (timer === null) {
        dataVersion = null; // the first tick always reads the last position
        timer = setInterval(poll, watchIntervalMs);
        if (typeof timer.unref === 'function') timer.unref();
      }
      return () => {
        watchers.delete(onAppend);
        if (watchers.size === 0) stopTimer();
      };
    },

    async close() {
      if (closed) return;
      closed = true;
      stopTimer();
      watchers.clear();
      db.close();
    },
  };
}

export { sqliteStorage, setSqliteDriver };
