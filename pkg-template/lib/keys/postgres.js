// @ts-check
// postgresKeyStore(connection, options?): data keys in PostgreSQL, for Node, through pg (the
// policy is keys/common.js). The keys live in a schema of their own (default
// "eventjournal_keys", never the storage's): they can have their own grants, their own
// backups (or none), and the storage's layout versions stay the storage's.
//
// Layout version 1 of that schema (migrated like the storage's, postgres-schema.js):
//   data_keys(name text PRIMARY KEY, key bytea NOT NULL, created_at timestamptz)
// createKey is one INSERT … ON CONFLICT DO NOTHING, then the row read back: two processes
// creating a subject's key at once end up with the same key. deleteKey deletes the row (the
// deletion is committed when it resolves); scrub(), which the engine calls at the end of every
// forget, runs VACUUM (FULL) on the table, which rewrites it into new files without the dead
// rows (the old files are truncated at commit). What it cannot reach: the WAL (pg_wal) keeps
// the inserted keys until its segments are recycled, and base backups, WAL archives and
// replicas keep theirs (RELIABILITY.md, "Erasure"): keep this schema out of long-lived backups,
// or use a key store whose deletion reaches every copy.
import { ValidationError } from '../errors.js';
import { openFailure } from '../common.js';
import { openConnection, quoteIdent, schemaName } from '../postgres-driver.js';
import { migrate } from '../postgres-schema.js';
import { keyStoreAdapter } from './common.js';

const NAME = 'postgresKeyStore';

const KEY_MIGRATIONS = [
  {
    version: 1,
    description: 'the data keys',
    async up(/** @type {any} */ client, /** @type {string} */ s) {
      await client.query(`
        CREATE TABLE ${s}.data_keys (
          name       text        PRIMARY KEY,
          key        bytea       NOT NULL CHECK (length(key) = 32),
          created_at timestamptz NOT NULL DEFAULT now()
        )`);
    },
  },
];

/**
 * Data keys in PostgreSQL. Resolves once the table exists.
 *
 * @example
 * const engine = await Engine.open({
 *   storage: await postgresStorage({ connectionString }),
 *   keys: await postgresKeyStore({ connectionString }),
 * });
 * @param {{ connectionString: string } | { pool: object }} connection
 * @param {{ schema?: string, poolSize?: number, connectionTimeoutMs?: number, statementTimeoutMs?: number }} [options]
 * @returns {Promise<import('../../index').KeyStore & { close(): Promise<void> }>}
 */
async function postgresKeyStore(connection, options) {
  if (options !== undefined && options !== null && (typeof options !== 'object' || Array.isArray(options))) {
    throw new ValidationError(`${NAME}(connection, options): options must be an object`);
  }
  const opts = options || {};
  const schema = opts.schema === undefined ? 'eventjournal_keys' : schemaName(opts.schema, 'options.schema');
  const conn = openConnection(connection, opts, NAME);
  const s = quoteIdent(schema);
  const storageSchema = () => new ValidationError(`${NAME}: schema "${schema}" holds eventjournal's storage, not keys: give the key store a schema of its own`);
  try {
    // The storage's schema, whatever its layout version (its versions are not the key store's).
    const probe = await conn.pool.query('SELECT to_regclass($1) IS NOT NULL AS storage', [`${s}.events`]);
    if (probe.rows[0].storage) throw storageSchema();
    await migrate(conn.pool, schema, KEY_MIGRATIONS);
    const { rows } = await conn.pool.query('SELECT to_regclass($1) IS NOT NULL AS ok', [`${s}.data_keys`]);
    if (!rows[0].ok) throw storageSchema();
  } catch (e) {
    if (conn.owned) await conn.pool.end().catch(() => {});
    throw openFailure(NAME, e);
  }
  const { pool, owned } = conn;
  const asKey = (/** @type {any} */ b) => (b ? new Uint8Array(b) : undefined);
  return keyStoreAdapter(`${NAME}(${schema})`, {
    async getKey(name) {
      const { rows } = await pool.query(`SELECT key FROM ${s}.data_keys WHERE name = $1`, [name]);
      return rows.length === 0 ? undefined : asKey(rows[0].key);
    },
    async getKeys(names) {
      const { rows } = await pool.query(`SELECT name, key FROM ${s}.data_keys WHERE name = ANY($1::text[])`, [names]);
      const found = new Map(rows.map((r) => [r.name, asKey(r.key)]));
      return names.map((n) => found.get(n));
    },
    async createKey(name, key) {
      await pool.query(`INSERT INTO ${s}.data_keys (name, key) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, [name, key]);
      const { rows } = await pool.query(`SELECT key FROM ${s}.data_keys WHERE name = $1`, [name]);
      return /** @type {Uint8Array} */ (asKey(rows[0].key));
    },
    async deleteKey(name) {
      await pool.query(`DELETE FROM ${s}.data_keys WHERE name = $1`, [name]);
    },
    async scrub() {
      await pool.query(`VACUUM (FULL) ${s}.data_keys`);
    },
    async close() {
      if (owned) await pool.end();
    },
  });
}

export { postgresKeyStore };
