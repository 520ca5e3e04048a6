// @ts-check
// sqliteKeyStore(path, options?): data keys in a SQLite file, for Node, through better-sqlite3
// (the policy is keys/common.js). Any file will do, the storage's included (the table
// `eventjournal_keys` lives beside the events); a file of their own keeps keys apart from
// the events (their own backups, their own permissions).
//
// Durability and erasure: journal_mode=WAL, synchronous=FULL (a key is on disk before
// createKey resolves), secure_delete=ON (a deleted key's bytes are overwritten with zeros in
// the file). deleteKey deletes the row, then checkpoints the WAL into the file and truncates
// it (wal_checkpoint(TRUNCATE)): when it resolves, the key's bytes are in neither the database
// file nor its -wal file. A checkpoint another connection's reader keeps from finishing is a
// StorageError (the key is deleted; call deleteKey or scrub again to clear the WAL).
import { typeOf, openFailure } from '../common.js';
import { ValidationError } from '../errors.js';
import { checkpointTruncate, loadSqliteDriver } from '../sqlite.js';
import { keyStoreAdapter } from './common.js';

/**
 * Data keys in the SQLite file `path` (created if missing).
 *
 * @example
 * const engine = await Engine.open({
 *   storage: await sqliteStorage('./journal.db'),
 *   keys: await sqliteKeyStore('./keys.db'),
 * });
 * @param {string} path a file name, or ':memory:'
 * @param {{ busyTimeoutMs?: number }} [options]
 * @returns {Promise<import('../../index').KeyStore & { close(): Promise<void> }>}
 */
async function sqliteKeyStore(path, options) {
  if (typeof path !== 'string' || path.length === 0) {
    throw new ValidationError(`sqliteKeyStore(path): path must be a non-empty string (a file name, or ":memory:"), got ${typeOf(path)}`);
  }
  const busyTimeoutMs = options && options.busyTimeoutMs !== undefined ? options.busyTimeoutMs : 5000;
  if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new ValidationError(`sqliteKeyStore: options.busyTimeoutMs must be a non-negative integer, got ${String(busyTimeoutMs)}`);
  }
  const label = `sqliteKeyStore(${path})`;
  const Database = loadSqliteDriver();
  /** @type {any} */
  let db;
  try {
    db = new Database(path, { timeout: busyTimeoutMs });
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('secure_delete = ON');
    db.exec('CREATE TABLE IF NOT EXISTS eventjournal_keys (name TEXT PRIMARY KEY, key BLOB NOT NULL)');
  } catch (e) {
    try { if (db) db.close(); } catch { /* already failing */ }
    throw openFailure(label, e);
  }
  const getStmt = db.prepare('SELECT key FROM eventjournal_keys WHERE name = ?').pluck();
  const insertStmt = db.prepare('INSERT INTO eventjournal_keys (name, key) VALUES (?, ?) ON CONFLICT (name) DO NOTHING');
  const deleteStmt = db.prepare('DELETE FROM eventjournal_keys WHERE name = ?');
  // better-sqlite3 binds a Uint8Array as a BLOB and reads one back as a Buffer (a Uint8Array).
  const asKey = (/** @type {any} */ b) => (b === undefined ? undefined : new Uint8Array(b));
  const create = db.transaction((/** @type {string} */ name, /** @type {Uint8Array} */ key) => {
    insertStmt.run(name, key);
    return asKey(getStmt.get(name));
  });
  return keyStoreAdapter(label, {
    async getKey(name) { return asKey(getStmt.get(name)); },
    async getKeys(names) { return names.map((n) => asKey(getStmt.get(n))); },
    async createKey(name, key) { return /** @type {Uint8Array} */ (create.immediate(name, key)); },
    async deleteKey(name) {
      deleteStmt.run(name);
      checkpointTruncate(db, label);
    },
    async scrub() { checkpointTruncate(db, label); },
    async close() { db.close(); },
  });
}

export { sqliteKeyStore };
