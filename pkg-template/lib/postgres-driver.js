// @ts-check
// PostgreSQL plumbing shared by everything eventjournal keeps in PostgreSQL (the storage
// adapter, later the key store): loading `pg` (node-postgres 8, an optional peer dependency),
// the connection a caller hands over (`{ connectionString }` or `{ pool }`), transactions, and
// names. Nothing here knows about events.
import { StorageError, ValidationError } from './errors.js';

/** @type {any} a loader function, or the pg module itself */
let driverLoader = null;
// `require` exists in the CommonJS twin (lib/postgres-driver.cjs) only.
// @ts-ignore -- no Node typings here
const cjsRequire = typeof require === 'function' ? require : null;
/** @type {any} the pg module, once loaded */
let driver = null;

function isPgModule(m) {
  return m !== null && (typeof m === 'object' || typeof m === 'function')
    && typeof m.Pool === 'function' && typeof m.Client === 'function';
}

/**
 * Tells postgresStorage how to load pg: `setPostgresDriver(() => require('pg'))`; the pg
 * module itself is accepted too. `null` restores the default (`require('pg')`).
 */
function setPostgresDriver(loader) {
  if (loader !== null && loader !== undefined && typeof loader !== 'function' && !isPgModule(loader)) {
    throw new ValidationError('setPostgresDriver(loader): loader must be the pg module or a function returning it');
  }
  driverLoader = loader || null;
  driver = null;
}

/** The pg module, or a StorageError (reason 'unsupported') naming `npm install pg@8`. */
function loadPg() {
  if (driver) return driver;
  /** @type {any} */
  let loaded;
  try {
    if (isPgModule(driverLoader)) {
      loaded = driverLoader;
    } else if (driverLoader) {
      loaded = driverLoader();
    } else if (cjsRequire) {
      // The CommonJS build resolves the peer dependency next to the package.
      loaded = cjsRequire('pg');
    } else {
      throw new Error('no driver loader was set (setPostgresDriver)');
    }
    if (loaded && !isPgModule(loaded) && isPgModule(loaded.default)) loaded = loaded.default;
    if (!isPgModule(loaded)) throw new Error('the loader did not return the pg module');
  } catch (cause) {
    throw new StorageError(
      'postgresStorage() needs pg (node-postgres 8), an optional peer dependency of eventjournal: '
      + `run \`npm install pg@8\` (${cause instanceof Error ? cause.message : String(cause)})`,
      { cause, reason: 'unsupported' },
    );
  }
  driver = loaded;
  return driver;
}

// Schema names are plain lowercase identifiers, so they never need quoting rules beyond
// double quotes, and `<schema>_appended` (the NOTIFY channel) fits PostgreSQL's 63 bytes.
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,49}$/;

/** Throws a ValidationError unless `schema` is a plain lowercase identifier of ≤ 50 chars. */
function schemaName(schema, what) {
  if (typeof schema !== 'string' || !SCHEMA_NAME.test(schema)) {
    throw new ValidationError(`${what} must match ${SCHEMA_NAME} (a lowercase identifier), got ${JSON.stringify(schema)}`);
  }
  return schema;
}

/** `name` as a quoted SQL identifier. */
function quoteIdent(name) {
  return `"${String(name).replaceAll('"', '""')}"`;
}

function positiveIntegerOption(options, key, fallback, { zeroAllowed = false } = {}) {
  const value = options[key] === undefined ? fallback : options[key];
  if (!Number.isSafeInteger(value) || value < (zeroAllowed ? 0 : 1)) {
    throw new ValidationError(`options.${key} must be a ${zeroAllowed ? 'non-negative' : 'positive'} integer, got ${String(value)}`);
  }
  return value;
}

// The application_name of our connections (the dedicated LISTEN one has its own), as
// pg_stat_activity shows them; one in the connection string takes precedence.
const APPLICATION_NAME = 'eventjournal';
const LISTENER_NAME = 'eventjournal-listen';

function looksLikePool(pool) {
  return pool !== null && typeof pool === 'object'
    && typeof pool.query === 'function' && typeof pool.connect === 'function' && typeof pool.end === 'function';
}

/**
 * The connection to use: `{ connectionString }` makes our own pg.Pool (ours to end),
 * `{ pool }` uses the caller's (theirs to end). Returns `{ pool, owned, newClient() }`;
 * `newClient()` makes a dedicated, unconnected client with the same settings (for LISTEN;
 * its application_name is 'eventjournal-listen').
 */
function openConnection(connection, options, what) {
  if (connection === null || typeof connection !== 'object' || Array.isArray(connection)) {
    throw new ValidationError(`${what}: the first argument must be { connectionString } or { pool }, got ${connection === null ? 'null' : typeof connection}`);
  }
  const { connectionString, pool } = connection;
  if ((connectionString === undefined) === (pool === undefined)) {
    throw new ValidationError(`${what}: give exactly one of { connectionString } or { pool }`);
  }
  const poolSize = positiveIntegerOption(options, 'poolSize', 10);
  const connectionTimeoutMs = positiveIntegerOption(options, 'connectionTimeoutMs', 10_000);
  const statementTimeoutMs = positiveIntegerOption(options, 'statementTimeoutMs', 30_000, { zeroAllowed: true });
  if (pool !== undefined) {
    if (!looksLikePool(pool)) throw new ValidationError(`${what}: { pool } must be a pg.Pool (query, connect and end methods)`);
    const config = { ...(pool.options && typeof pool.options === 'object' ? pool.options : {}), application_name: LISTENER_NAME };
    const ClientClass = typeof pool.Client === 'function' ? pool.Client : null;
    return { pool, owned: false, newClient: () => new (ClientClass || loadPg().Client)(config) };
  }
  if (typeof connectionString !== 'string' || connectionString.length === 0) {
    throw new ValidationError(`${what}: connectionString must be a non-empty string`);
  }
  const pg = loadPg();
  const clientConfig = {
    connectionString,
    connectionTimeoutMillis: connectionTimeoutMs,
    keepAlive: true,
    application_name: APPLICATION_NAME,
    ...(statementTimeoutMs > 0 ? { statement_timeout: statementTimeoutMs } : {}),
  };
  const own = new pg.Pool({ ...clientConfig, max: poolSize, idleTimeoutMillis: 10_000, allowExitOnIdle: true });
  // An idle connection that breaks (e.g. PostgreSQL restarted) is dropped by the pool, which
  // connects again on the next call; without a listener its 'error' would end the process.
  own.on('error', () => {});
  return { pool: own, owned: true, newClient: () => new pg.Client({ ...clientConfig, application_name: LISTENER_NAME }) };
}

/**
 * Runs `fn(client)` inside BEGIN … COMMIT on a client of `pool`. On any failure the
 * transaction is rolled back (a client whose connection broke is discarded, not reused).
 */
async function transaction(pool, fn) {
  const client = await pool.connect();
  let broken = null;
  const onError = (e) => { broken = e; };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (e) {
    if (!broken) {
      try { await client.query('ROLLBACK'); } catch (rollbackError) { broken = rollbackError; }
    }
    throw e;
  } finally {
    client.removeListener('error', onError);
    client.release(broken || undefined);
  }
}

export { setPostgresDriver, loadPg, schemaName, quoteIdent, openConnection, transaction };
