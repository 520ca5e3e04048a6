// eventjournal/server (Node): createSyncServer(engine, options) serves the sync protocol
// (docs/protocol.md, README "Wire protocol") over plain node:http, plus static files.
//
//   import { Engine, sqliteStorage } from 'eventjournal';
//   import { createSyncServer } from 'eventjournal/server';
//   const engine = await Engine.open({ storage: await sqliteStorage('app.db') });
//   const server = await createSyncServer(engine, { port: 8080, authenticate, authorize });
//   console.log(server.url);          // http://127.0.0.1:8080
//   await server.close();             // the engine stays open: the caller owns it
import { ValidationError } from './errors.js';
import { syncApi, isApiPath } from './server/api.js';
import { commandRunner } from './server/commands.js';
import { HttpError, createHardenedServer } from './server/http.js';
import { liveHub } from './server/live.js';
import { staticFiles } from './server/static.js';
import { PROTOCOL_VERSION } from './server/wire.js';

const DEFAULTS = {
  port: 0,
  host: '127.0.0.1',
  authenticate: undefined,
  authorize: undefined,
  maxBodyBytes: 4 * 1024 * 1024,
  maxBatchCommands: 1000,
  maxConnections: 10_000,
  stallTimeoutMs: 30_000,
  closeTimeoutMs: 5_000,
  refusalCacheSize: 100_000,
  static: undefined,
  log: (message, error) => (error === undefined ? console.error(message) : console.error(message, error)),
};
const LIMITS = ['maxBodyBytes', 'maxBatchCommands', 'maxConnections', 'stallTimeoutMs', 'closeTimeoutMs', 'refusalCacheSize'];
const FUNCTIONS = ['authenticate', 'authorize', 'log'];

function invalid(message) {
  return new ValidationError(`createSyncServer: ${message}`);
}

/** True for a host name or address that only this machine can reach. */
function isLoopback(host) {
  return host === 'localhost' || host === '::1' || /^(::ffff:)?127\.[0-9]+\.[0-9]+\.[0-9]+$/.test(host);
}

/** The options with their defaults, checked; a bad one is a ValidationError. */
function serverOptions(engine, options) {
  for (const method of ['execute', 'readAll', 'subscribe', 'stats']) {
    if (engine === null || typeof engine !== 'object' || typeof engine[method] !== 'function') {
      throw invalid('the first argument must be an Engine (from Engine.open)');
    }
  }
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) {
    throw invalid('options must be an object');
  }
  const given = options || {};
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(DEFAULTS, key)) throw invalid(`unknown option ${JSON.stringify(key)}`);
  }
  const opts = { ...DEFAULTS };
  for (const [key, value] of Object.entries(given)) if (value !== undefined) opts[key] = value;
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw invalid('port must be an integer from 0 to 65535');
  if (typeof opts.host !== 'string' || opts.host.length === 0) throw invalid('host must be a non-empty string');
  for (const key of LIMITS) {
    if (!Number.isSafeInteger(opts[key]) || opts[key] < 1) throw invalid(`${key} must be a positive integer`);
  }
  for (const key of FUNCTIONS) {
    if (opts[key] !== undefined && typeof opts[key] !== 'function') throw invalid(`${key} must be a function`);
  }
  if (!isLoopback(opts.host) && !opts.authenticate) {
    throw invalid(`binding ${opts.host} (not loopback) needs an authenticate function`);
  }
  return opts;
}

/** The responses still being written (live streams apart), and a wait for none to be left. */
function requestTracker() {
  const open = new Set();
  let onIdle = null;
  return {
    add(res) {
      open.add(res);
      res.on('close', () => {
        open.delete(res);
        if (open.size === 0 && onIdle) onIdle();
      });
    },
    idle(timeoutMs) {
      if (open.size === 0) return Promise.resolve();
      return new Promise((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        onIdle = () => { clearTimeout(timer); resolve(); };
      });
    },
  };
}

function listen(server, port, host) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address().port);
    });
  });
}

/**
 * Serves the sync protocol for `engine`; resolves to `{ url, port, close() }` once listening.
 * `close()` answers new requests 503 CLOSED, lets the requests under way finish (at most
 * `closeTimeoutMs`), ends the live streams and stops listening; the engine stays open.
 */
async function createSyncServer(engine, options) {
  const opts = serverOptions(engine, options);
  const files = opts.static === undefined ? null : staticFiles(opts.static);
  const { headPosition } = await engine.stats();
  const hub = liveHub(engine, { headPosition, stallTimeoutMs: opts.stallTimeoutMs, log: opts.log });
  // GET /v1/keys is served when the engine has a key store (exportKeys answers).
  const keysServed = typeof engine.exportKeys === 'function'
    && (await engine.exportKeys([]).then(() => true, () => false));
  const api = syncApi(engine, opts, { runner: commandRunner(engine, opts), hub, keysServed });
  const tracker = requestTracker();
  let closing = null;

  const server = createHardenedServer(async (req, res, target) => {
    if (closing) {
      throw new HttpError(503, 'CLOSED', 'the server is closing', { connection: 'close', 'retry-after': '1' });
    }
    const live = target.segments[0] === `v${PROTOCOL_VERSION}` && target.segments[1] === 'live';
    if (!live) tracker.add(res);
    if (isApiPath(target)) return api(req, res, target);
    if (files && (await files(req, res, target))) return undefined;
    throw new HttpError(404, 'NOT_FOUND', 'not found');
  }, opts.log);

  let port;
  try {
    port = await listen(server, opts.port, opts.host);
  } catch (e) {
    hub.close();
    throw e;
  }
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;

  async function shutDown() {
    hub.close();
    await tracker.idle(opts.closeTimeoutMs);
    await new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  return {
    url: `http://${host}:${port}`,
    port,
    /**
     * Forgets a subject on the server's engine (`engine.forget`), then tells every live client
     * (SSE `event: forget`) so they delete its keys too.
     */
    async forget(subject) {
      await engine.forget(subject);
      hub.forget(subject);
    },
    close() {
      if (!closing) closing = shutDown();
      return closing;
    },
  };
}

export { createSyncServer, PROTOCOL_VERSION };
