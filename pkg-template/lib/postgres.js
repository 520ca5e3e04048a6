// @ts-check
// postgresStorage(connection, options): the storage contract (DESIGN.md §5) on PostgreSQL, for
// Node, through pg (node-postgres 8, an optional peer dependency: `npm install pg@8`).
// The policy every adapter shares (argument checks, CONFLICT, watch, close) is in common.js.
//
//   const storage = await postgresStorage({ connectionString: 'postgres://app@db/app' });
//   const engine = await Engine.open({ storage });
//
// Tables: see postgres-schema.js (created and migrated at open, in `options.schema`).
//
// Appends: the head check, the insert and the NOTIFY are ONE statement (one round trip, its
// own transaction):
//   WITH ins AS (INSERT INTO events SELECT … FROM ROWS FROM (unnest($positions), unnest($ids), …,
//                                                           json_array_elements($events))
//                WHERE (SELECT coalesce(max(position), 0) FROM events) = $expected
//                RETURNING position)
//   SELECT pg_notify(channel, max(position)::text) FROM ins HAVING count(*) > 0
// No row back: the log is not at `expected`: CONFLICT, nothing written. Two writers that both
// saw the same head race for the same position: the primary key makes the second one wait
// for the first and fail with a unique violation (23505), which is a CONFLICT when the head has
// moved (a duplicate id or (streamId, version) at an unmoved head is the caller's error and is
// passed on). So no position is ever written twice and none is skipped. A batch of more than
// CHUNK_ROWS events or CHUNK_BYTES of JSON is inserted in several statements inside one
// BEGIN … COMMIT (the first with the head check).
// Failures (connection lost, PostgreSQL restarting, statement_timeout) reject with pg's error;
// the engine reports a StorageError whose `cause` it is, and nothing was written, except when
// the connection broke after PostgreSQL committed: then the engine meets those events at its
// next append's head check (a CONFLICT: it catches up), and a retry with the same commandId
// returns them instead of appending twice. The pool connects again on the next call.
//
// watch(onAppend): LISTEN "<schema>_appended" on a dedicated connection (postgres-listener.js),
// which reconnects when it breaks; every append NOTIFYs its new last position in its own
// transaction, so other processes learn of it as soon as it commits. Positions this adapter
// appended itself are not reported back to it.
//
// Numbers: positions, versions and timestamps come back from the JSON text, as JS numbers.
//
// scrub() (after a forget overwrote the snapshots): VACUUM (FULL) of the snapshots table, which
// rewrites it (and its TOAST table) into new files without the dead versions of the rows; the
// old files are truncated at commit. What it cannot reach: the WAL (pg_wal) keeps the old rows
// until its segments are recycled, and base backups, archives and replicas keep theirs; with a
// key store, stored snapshots are sealed, so those copies no longer open once forget has
// replaced the snapshot key (RELIABILITY.md, "Erasure").
import { ValidationError } from './errors.js';
import { conflict, openFailure, storageAdapter, watcherRegistry } from './common.js';
import { openConnection, quoteIdent, schemaName, setPostgresDriver, transaction } from './postgres-driver.js';
import { migrate } from './postgres-schema.js';
import { createListener } from './postgres-listener.js';

const NAME = 'postgresStorage';
const CHUNK_ROWS = 1000;
const CHUNK_BYTES = 8 * 1024 * 1024; // of JSON text (UTF-16 units), per statement
const UNIQUE_VIOLATION = '23505';
const COLUMNS = 'position, id, stream_id, stream_type, type, version, timestamp, event';
/**
 * The rows of a batch from parameters $first … $first+7: seven arrays (the column copies) and
 * the events' JSON texts as ONE JSON array, zipped by ROWS FROM. json_array_elements keeps each
 * element's text exactly as sent (key order, escapes, duplicate keys: checked by the tests), and
 * sending it as one JSON document spares pg escaping every event as an array element.
 */
const rows = (first) => {
  const types = ['bigint', 'text', 'text', 'text', 'text', 'bigint', 'bigint'];
  const arrays = types.map((t, i) => `unnest($${first + i}::${t}[])`).join(', ');
  return `SELECT r.position, r.id, r.stream_id, r.stream_type, r.type, r.version, r.timestamp, r.event::text
    FROM ROWS FROM (${arrays}, json_array_elements($${first + 7}::json)) AS r(${COLUMNS})`;
};

/**
 * A prepared statement with its name: a hash of its text. Names live per connection, and a
 * caller's pool may serve other schemas or other versions of this package: equal texts share
 * a name, different ones get different names (two 32-bit FNV-style hashes), and a name stays
 * far below PostgreSQL's 63 bytes (a longer one would be cut, and clash).
 */
function statement(text) {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x5bd1e995) >>> 0;
  }
  return { name: `ej_${a.toString(16).padStart(8, '0')}${b.toString(16).padStart(8, '0')}`, text };
}

/** The SQL of one schema, built once. */
function statements(schema) {
  const s = quoteIdent(schema);
  const head = `SELECT coalesce(max(position), 0) FROM ${s}.events`;
  const checkedInsert = `INSERT INTO ${s}.events (${COLUMNS}) ${rows(2)} WHERE (${head}) = $1::bigint RETURNING position`;
  return {
    channel: `${schema}_appended`,
    head: statement(head),
    read: statement(`SELECT event FROM ${s}.events WHERE position > $1 ORDER BY position LIMIT $2`),
    append: statement(`WITH ins AS (${checkedInsert}) SELECT pg_notify($10, max(position)::text) FROM ins HAVING count(*) > 0`),
    checkedInsert: statement(`WITH ins AS (${checkedInsert}) SELECT count(*) FROM ins`),
    insert: statement(`INSERT INTO ${s}.events (${COLUMNS}) ${rows(1)}`),
    readSnapshot: statement(`SELECT snapshot FROM ${s}.snapshots WHERE key = $1`),
    writeSnapshot: statement(`INSERT INTO ${s}.snapshots (key, snapshot) VALUES ($1, $2)
      ON CONFLICT (key) DO UPDATE SET snapshot = excluded.snapshot, written_at = now()`),
    readOutbox: statement(`SELECT entry FROM ${s}.outbox ORDER BY seq, command_id`),
    writeOutbox: statement(`INSERT INTO ${s}.outbox (command_id, seq, entry) VALUES ($1, $2, $3)
      ON CONFLICT (command_id) DO UPDATE SET seq = excluded.seq, entry = excluded.entry`),
    deleteOutbox: statement(`DELETE FROM ${s}.outbox WHERE command_id = ANY($1::text[])`),
    // Not a prepared statement: VACUUM cannot be one (nor run in a transaction).
    scrub: `VACUUM (FULL) ${s}.snapshots`,
  };
}

/** Text columns cannot hold U+0000; the exact value lives in the event's JSON. */
const column = (text) => (text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text);

/**
 * The fields the columns copy must have their type (the shared policy already checked that
 * each event is an object with the right position).
 */
function checkColumns(e, i) {
  const where = `${NAME}.appendEvents(events, expectedPosition): event #${i}`;
  for (const key of ['id', 'streamId', 'streamType', 'type']) {
    if (typeof e[key] !== 'string') throw new ValidationError(`${where}: ${key} must be a string`);
  }
  for (const key of ['version', 'timestamp']) {
    if (!Number.isSafeInteger(e[key])) throw new ValidationError(`${where}: ${key} must be a safe integer`);
  }
}

/**
 * The batch as statement parameters, cut into statements of at most CHUNK_ROWS events and
 * (unless one event alone is bigger) CHUNK_BYTES of JSON: [[7 column arrays, JSON array text], …].
 */
function toChunks(events) {
  const chunks = [];
  let cols = null;
  let jsons = null;
  let bytes = 0;
  const close = () => { if (cols) chunks.push([...cols, `[${jsons.join(',')}]`]); };
  for (const e of events) {
    const json = JSON.stringify(e);
    if (cols === null || jsons.length >= CHUNK_ROWS || (bytes > 0 && bytes + json.length > CHUNK_BYTES)) {
      close();
      cols = [[], [], [], [], [], [], []];
      jsons = [];
      bytes = 0;
    }
    bytes += json.length;
    cols[0].push(e.position); cols[1].push(column(e.id)); cols[2].push(column(e.streamId));
    cols[3].push(column(e.streamType)); cols[4].push(column(e.type)); cols[5].push(e.version);
    cols[6].push(e.timestamp); jsons.push(json);
  }
  close();
  return chunks;
}

function checkOptions(options) {
  if (options === undefined || options === null) return { schema: 'eventjournal' };
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new ValidationError(`${NAME}(connection, options): options must be an object`);
  }
  const schema = options.schema === undefined ? 'eventjournal' : schemaName(options.schema, 'options.schema');
  return { ...options, schema };
}

/**
 * A storage adapter on PostgreSQL. Resolves once the tables exist (created or migrated).
 * @param {{ connectionString: string } | { pool: object }} connection
 * @param {{ schema?: string, poolSize?: number, connectionTimeoutMs?: number, statementTimeoutMs?: number }} [options]
 */
async function postgresStorage(connection, options) {
  const opts = checkOptions(options);
  const conn = openConnection(connection, opts, NAME);
  try {
    await migrate(conn.pool, opts.schema);
  } catch (e) {
    if (conn.owned) await conn.pool.end().catch(() => {});
    throw openFailure(NAME, e);
  }
  return storageAdapter(NAME, store(conn, statements(opts.schema)));
}

/**
 * What is particular to PostgreSQL (the `impl` of common.js's storageAdapter, which checks the
 * arguments and owns the closed state): the queries, the listener, the pool. The LISTEN
 * connection runs while someone watches.
 */
function store({ pool, owned, newClient }, sql) {
  // Our own appends are not reported to our watchers: the last position we appended, and the
  // last positions of appends in flight (their NOTIFY may arrive before their answer) with
  // whether one was held back (it is delivered if the append then fails: it may be another
  // writer's, or ours committed after all).
  let appended = 0;
  const inFlight = new Map();
  const readHead = async (db) => Number((await db.query({ ...sql.head, rowMode: 'array' })).rows[0][0]);
  const listener = createListener({
    newClient,
    channel: sql.channel,
    readHead,
    deliver: (last) => {
      if (last <= appended) return;
      if (inFlight.has(last)) inFlight.set(last, true);
      else watchers.notify(last);
    },
  });
  const watchers = watcherRegistry(NAME, { onFirst: listener.start, onLast: listener.stop });

  // A failed append: a unique violation at a moved head is the other writer's win.
  async function explain(error, expected) {
    if (!error || error.code !== UNIQUE_VIOLATION) return error;
    const last = await readHead(pool).catch(() => null);
    return last !== null && last !== expected ? conflict(expected, last) : error;
  }

  // Resolves true when written, false when the log is not at `expected` (nothing written).
  async function write(chunks, expected, last) {
    if (chunks.length === 1) {
      const { rowCount } = await pool.query({ ...sql.append, values: [expected, ...chunks[0], sql.channel] });
      return rowCount === 1;
    }
    return transaction(pool, async (client) => {
      const first = await client.query({ ...sql.checkedInsert, values: [expected, ...chunks[0]], rowMode: 'array' });
      if (Number(first.rows[0][0]) === 0) return false;
      for (const cols of chunks.slice(1)) await client.query({ ...sql.insert, values: cols });
      await client.query('SELECT pg_notify($1, $2)', [sql.channel, String(last)]);
      return true;
    });
  }

  return {
    watchers,
    async readEvents(after, limit) {
      const { rows } = await pool.query({ ...sql.read, values: [after, limit], rowMode: 'array' });
      return rows.map((r) => JSON.parse(r[0]));
    },
    async appendEvents(events, expected) {
      events.forEach(checkColumns);
      if (events.length === 0) {
        const last = await readHead(pool);
        if (last !== expected) throw conflict(expected, last);
        return;
      }
      const last = expected + events.length;
      inFlight.set(last, false);
      let written = false;
      try {
        written = await write(toChunks(events), expected, last);
      } catch (e) {
        throw await explain(e, expected);
      } finally {
        const heldBack = inFlight.get(last);
        inFlight.delete(last);
        if (written) appended = Math.max(appended, last);
        else if (heldBack) watchers.notify(last);
      }
      if (!written) {
        // The head, for the message; when even that read fails, the CONFLICT stands without it.
        const head = await readHead(pool).catch(() => /** @type {any} */ ('(unknown)'));
        throw conflict(expected, head);
      }
    },
    async readSnapshot(key) {
      const { rows } = await pool.query({ ...sql.readSnapshot, values: [column(key)], rowMode: 'array' });
      const snapshot = rows.length === 0 ? undefined : JSON.parse(rows[0][0]);
      // Two keys that differ only by U+0000 vs U+FFFD share a row: the exact key decides.
      return snapshot && snapshot.key === key ? snapshot : undefined;
    },
    async writeSnapshot(snapshot) {
      await pool.query({ ...sql.writeSnapshot, values: [column(snapshot.key), JSON.stringify(snapshot)] });
    },
    async readOutbox() {
      const { rows } = await pool.query({ ...sql.readOutbox, rowMode: 'array' });
      return rows.map((r) => JSON.parse(r[0]));
    },
    async writeOutbox(entry) {
      await pool.query({ ...sql.writeOutbox, values: [column(entry.commandId), entry.seq, JSON.stringify(entry)] });
    },
    async deleteOutbox(ids) {
      await pool.query({ ...sql.deleteOutbox, values: [ids.map(column)] });
    },
    async scrub() {
      await pool.query(sql.scrub);
    },
    async close() {
      listener.stop();
      if (owned) await pool.end();
    },
  };
}

export { postgresStorage, setPostgresDriver };
