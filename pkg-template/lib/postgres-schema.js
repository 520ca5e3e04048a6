// @ts-check
// The tables eventjournal keeps in one PostgreSQL schema, and how they are created and migrated.
//
// Version N of the layout is MIGRATIONS[0..N) applied in order; the schema's version is the one
// row of `<schema>.schema_version`. `migrate()` is what every factory calls at open:
// - the fast path: the version row says N = MIGRATIONS.length: nothing to do (no lock, no DDL,
//   so a role without CREATE rights can open a migrated database);
// - otherwise, in ONE transaction under a transaction-level advisory lock on the schema's name
//   (two processes opening an empty database at once serialize here; the second finds the
//   work done): create the schema and the version table if missing, apply the missing
//   migrations, record the new version. A failure rolls all of it back.
// - a database of a newer version than this code knows is refused (upgrade eventjournal);
//   one whose tables exist without a version row (not ours) is refused too.
//
// Adding a migration: append { version, description, up(client, s) } to MIGRATIONS, never edit
// a published one. Reserved slots, in the order the next issues add them:
//   (none: version 2 is the sync client's outbox, below; crypto-shredding's data keys live in a
//   schema of their own, with their own layout versions: postgresKeyStore in keys/postgres.js,
//   default schema "eventjournal_keys")
//
// Layout version 1:
//   events(position bigint PRIMARY KEY, id text UNIQUE, stream_id text, stream_type text,
//          type text, version bigint, timestamp bigint, event text, UNIQUE (stream_id, version))
//     `event` is the whole event as JSON text, exactly as given (JSON.stringify): it is what
//     reads return, so the hash chain the engine verifies at every open sees the bytes it
//     hashed. Not jsonb: jsonb reorders keys, drops duplicate keys and refuses "\u0000";
//     text also keeps fields a later version adds to events. The other columns are copies for
//     SQL, indexes and constraints (U+0000, which text cannot hold, is U+FFFD in them).
//   snapshots(key text PRIMARY KEY, snapshot text): the snapshot object as JSON text.
// Layout version 2 adds:
//   outbox(command_id text PRIMARY KEY, seq bigint, entry text): a synced engine's pending
//     commands, the entry object as JSON text, read back in (seq, command_id) order. seq is not
//     unique: two engines on one database number their entries independently.
import { StorageError } from './errors.js';
import { quoteIdent, transaction } from './postgres-driver.js';

const MIGRATIONS = [
  {
    version: 1,
    description: 'the log and the snapshots',
    async up(client, s) {
      await client.query(`
        CREATE TABLE ${s}.events (
          position    bigint PRIMARY KEY CHECK (position >= 1),
          id          text   NOT NULL UNIQUE,
          stream_id   text   NOT NULL,
          stream_type text   NOT NULL,
          type        text   NOT NULL,
          version     bigint NOT NULL,
          timestamp   bigint NOT NULL,
          event       text   NOT NULL,
          UNIQUE (stream_id, version)
        );
        CREATE TABLE ${s}.snapshots (
          key        text        PRIMARY KEY,
          snapshot   text        NOT NULL,
          written_at timestamptz NOT NULL DEFAULT now()
        );`);
    },
  },
  {
    version: 2,
    description: 'the sync client\'s outbox',
    async up(client, s) {
      await client.query(`
        CREATE TABLE ${s}.outbox (
          command_id text   PRIMARY KEY,
          seq        bigint NOT NULL,
          entry      text   NOT NULL
        );
        CREATE INDEX outbox_seq ON ${s}.outbox (seq, command_id);`);
    },
  },
];

function tooNew(schema, found, known) {
  return new StorageError(
    `PostgreSQL schema "${schema}" has eventjournal layout version ${found}; this version of eventjournal `
    + `knows up to ${known}: upgrade eventjournal (a newer one wrote this database)`,
    { reason: 'unsupported-schema', found, supported: known },
  );
}

async function readVersion(db, s) {
  const { rows } = await db.query(`SELECT version FROM ${s}.schema_version WHERE id`);
  return rows.length === 0 ? 0 : Number(rows[0].version);
}

/**
 * Creates or upgrades the tables of `schema` to `migrations.length` (default: this version's
 * MIGRATIONS) and returns that version. Safe to run from several processes at once.
 */
async function migrate(pool, schema, migrations = MIGRATIONS) {
  const s = quoteIdent(schema);
  const target = migrations.length;
  const probe = await pool.query(
    "SELECT current_setting('server_encoding') AS encoding, to_regclass($1) IS NOT NULL AS versioned",
    [`${s}.schema_version`],
  );
  const { encoding, versioned } = probe.rows[0];
  if (encoding !== 'UTF8') {
    throw new StorageError(`the PostgreSQL database must use the UTF8 encoding, it uses ${encoding}`, { reason: 'unsupported-schema' });
  }
  if (versioned) {
    const found = await readVersion(pool, s);
    if (found === target) return target;
    if (found > target) throw tooNew(schema, found, target);
  }
  return transaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`eventjournal.migrate.${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(`
      CREATE TABLE IF NOT EXISTS ${s}.schema_version (
        id          boolean     PRIMARY KEY DEFAULT true CHECK (id),
        version     integer     NOT NULL,
        migrated_at timestamptz NOT NULL DEFAULT now()
      )`);
    let version = await readVersion(client, s);
    if (version > target) throw tooNew(schema, version, target);
    if (version === 0) await refuseForeignTables(client, schema);
    for (; version < target; version += 1) await migrations[version].up(client, s);
    await client.query(
      `INSERT INTO ${s}.schema_version (id, version) VALUES (true, $1)
       ON CONFLICT (id) DO UPDATE SET version = excluded.version, migrated_at = now()`,
      [version],
    );
    return version;
  });
}

/** A schema with tables but no version row belongs to someone else: never write into it. */
async function refuseForeignTables(client, schema) {
  const { rows } = await client.query(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name <> 'schema_version' ORDER BY 1",
    [schema],
  );
  if (rows.length > 0) {
    throw new StorageError(
      `PostgreSQL schema "${schema}" is not an eventjournal schema: it already has the table(s) `
      + `${rows.map((r) => r.table_name).join(', ')} (choose another { schema })`,
      { reason: 'unsupported-schema' },
    );
  }
}

const SCHEMA_VERSION = MIGRATIONS.length;

export { MIGRATIONS, SCHEMA_VERSION, migrate };
