// @ts-check
// postgresStorage(connection, options): the storage contract (DESIGN.md §5) on PostgreSQL, for
// Node, through pg (node-postgres 8, an optional peer dependency: `npm install pg@8`).
//
//   const storage = await postgresStorage({ connectionString: 'postgres://app@db/app' });
//   const engine = await Engine.open({ storage });
//
// Tables: see postgres-schema.js (created and migrated at open, in `options.schema`).
//
// Appends: the head check, the insert and the NOTIFY are ONE statement (one round trip, its
// own transaction):
//   WITH ins AS (INSERT INTO events SELECT … FROM unnest($positions, $ids, …)
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
import { ValidationError } from './errors.js';
import { closedGuard, commandIds, conflict, nonNegativeInteger, outboxEntry, watcherRegistry } from './common.js';
import { openConnection, openFailure, quoteIdent, schemaName, setPostgresDriver, transaction } from './postgres-driver.js';
import { migrate } from './postgres-schema.js';
import { createListener } from './postgres-listener.js';

const NAME = 'postgresStorage';
const CHUNK_ROWS = 1000;
const CHUNK_BYTES = 8 * 1024 * 1024; // of JSON text (UTF-16 units), per statement
const UNIQUE_VIOLATION = '23505';
const COLUMNS = 'position, id, stream_id, stream_type, type, version, timestamp, event';
/** The 8 column arrays of a batch, as parameters $first … $first+7. */
const unnest = (first) => {
  const types = ['bigint', 'text', 'text', 'text', 'text', 'bigint', 'bigint', 'text'];
  return `unnest(${types.map((t, i) => `$${first + i}::${t}[]`).join(', ')})`;
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
  const checkedInsert = `INSERT INTO ${s}.events (${COLUMNS}) SELECT * FROM ${unnest(2)} WHERE (${head}) = $1::bigint RETURNING position`;
  return {
    channel: `${schema}_appended`,
    head: statement(head),
    read: statement(`SELECT event FROM ${s}.events WHERE position > $1 ORDER BY position LIMIT $2`),
    append: statement(`WITH ins AS (${checkedInsert}) SELECT pg_notify($10, max(position)::text) FROM ins HAVING count(*) > 0`),
    checkedInsert: statement(`WITH ins AS (${checkedInsert}) SELECT count(*) FROM ins`),
    insert: statement(`INSERT INTO ${s}.events (${COLUMNS}) SELECT * FROM ${unnest(1)}`),
    readSnapshot: statement(`SELECT snapshot FROM ${s}.snapshots WHERE key = $1`),
    writeSnapshot: statement(`INSERT INTO ${s}.snapshots (key, snapshot) VALUES ($1, $2)
      ON CONFLICT (key) DO UPDATE SET snapshot = excluded.snapshot, written_at = now()`),
    readOutbox: statement(`SELECT entry FROM ${s}.outbox ORDER BY seq, command_id`),
    writeOutbox: statement(`INSERT INTO ${s}.outbox (command_id, seq, entry) VALUES ($1, $2, $3)
      ON CONFLICT (command_id) DO UPDATE SET seq = excluded.seq, entry = excluded.entry`),
    deleteOutbox: statement(`DELETE FROM ${s}.outbox WHERE command_id = ANY($1::text[])`),
  };
}

/** Text columns cannot hold U+0000; the exact value lives in the event's JSON. */
const column = (text) => (text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text);

function checkEvent(e, i, expected) {
  const where = `appendEvents: event ${i}`;
  if (e === null || typeof e !== 'object' || Array.isArray(e)) throw new ValidationError(`${where} must be an object`);
  if (e.position !== expected + i + 1) throw new ValidationError(`${where} must have position ${expected + i + 1}, got ${String(e.position)}`);
  for (const key of ['id', 'streamId', 'streamType', 'type']) {
    if (typeof e[key] !== 'string') throw new ValidationError(`${where}: ${key} must be a string`);
  }
  for (const key of ['version', 'timestamp']) {
    if (!Number.isSafeInteger(e[key])) throw new ValidationError(`${where}: ${key} must be a safe integer`);
  }
}

/**
 * The batch as rows of column values, cut into statements of at most CHUNK_ROWS events and
 * (unless one event alone is bigger) CHUNK_BYTES of JSON: [[8 column arrays], …].
 */
function toChunks(events) {
  const chunks = [];
  let cols = null;
  let bytes = 0;
  for (const e of events) {
    const json = JSON.stringify(e);
    if (cols === null || cols[0].length >= CHUNK_ROWS || (bytes > 0 && bytes + json.length > CHUNK_BYTES)) {
      cols = [[], [], [], [], [], [], [], []];
      chunks.push(cols);
      bytes = 0;
    }
    bytes += json.length;
    cols[0].push(e.position); cols[1].push(column(e.id)); cols[2].push(column(e.streamId));
    cols[3].push(column(e.streamType)); cols[4].push(column(e.type)); cols[5].push(e.version);
    cols[6].push(e.timestamp); cols[7].push(json);
  }
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
  return withPolicy(store(conn, statements(opts.schema)));
}

/**
 * The adapter policy every adapter shares (lib/common.js on main has its parts, not yet one
 * wrapper): arguments checked (ValidationError), ClosedError after close, closing twice
 * harmless; `store` sees checked arguments only. The LISTEN connection runs while someone watches.
 */
function withPolicy(store) {
  const guard = closedGuard(NAME);
  return {
    async readEvents(afterPosition, limit) {
      guard.check('readEvents');
      const after = nonNegativeInteger(afterPosition, `${NAME}.readEvents: afterPosition`);
      const max = nonNegativeInteger(limit, `${NAME}.readEvents: limit`);
      return max === 0 ? [] : store.readEvents(after, max);
    },
    async appendEvents(events, expectedPosition) {
      guard.check('appendEvents');
      if (!Array.isArray(events)) throw new ValidationError(`${NAME}.appendEvents(events, expectedPosition): events must be an array`);
      const expected = nonNegativeInteger(expectedPosition, `${NAME}.appendEvents: expectedPosition`);
      events.forEach((e, i) => checkEvent(e, i, expected));
      return store.appendEvents(events, expected);
    },
    async readSnapshot(key) {
      guard.check('readSnapshot');
      if (typeof key !== 'string') throw new ValidationError(`${NAME}.readSnapshot(key): key must be a string`);
      return store.readSnapshot(key);
    },
    async writeSnapshot(snapshot) {
      guard.check('writeSnapshot');
      if (snapshot === null || typeof snapshot !== 'object' || typeof snapshot.key !== 'string') {
        throw new ValidationError(`${NAME}.writeSnapshot(snapshot): snapshot must be an object with a string key`);
      }
      return store.writeSnapshot(snapshot);
    },
    async readOutbox() {
      guard.check('readOutbox');
      return store.readOutbox();
    },
    async writeOutbox(entry) {
      guard.check('writeOutbox');
      return store.writeOutbox(outboxEntry(NAME, entry));
    },
    async deleteOutbox(ids) {
      guard.check('deleteOutbox');
      const list = commandIds(NAME, ids);
      return list.length === 0 ? undefined : store.deleteOutbox(list);
    },
    watch(onAppend) {
      guard.check('watch');
      const unwatch = store.watchers.add(onAppend);
      store.listener.start();
      return () => {
        unwatch();
        if (store.watchers.size === 0) store.listener.stop();
      };
    },
    async close() {
      if (!guard.close()) return;
      store.watchers.clear();
      await store.close();
    },
  };
}

/** What is particular to PostgreSQL: the queries, the listener, the pool. */
function store({ pool, owned, newClient }, sql) {
  const watchers = watcherRegistry(NAME);
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
    listener,
    async readEvents(after, limit) {
      const { rows } = await pool.query({ ...sql.read, values: [after, limit], rowMode: 'array' });
      return rows.map((r) => JSON.parse(r[0]));
    },
    async appendEvents(events, expected) {
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
      if (!written) throw conflict(expected, await readHead(pool).catch(() => '(unknown)'));
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
    async close() {
      listener.stop();
      if (owned) await pool.end();
    },
  };
}

export { postgresStorage, setPostgresDriver };
