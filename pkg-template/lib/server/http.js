// The one hardened HTTP layer of every server eventjournal ships (the sync server, the CLI, the
// demo's static server). Whatever a client sends, it gets an answer with a JSON error body and
// the server keeps serving:
//   - malformed HTTP (bad request line, unknown method, bad header, both content-length and
//     transfer-encoding, ...) is answered by Node's parser through `clientError`: 400, 431 for
//     headers over `maxHeaderSize`, 408 for a request that does not arrive in time;
//   - an HTTP/1.1 request without Host, a request target that is not a path, longer than MAX_URL_LENGTH (414), with a bad
//     percent-encoding, a `.`/`..` segment or an encoded `/`, `\` or NUL: 400;
//   - a query with a bad percent-encoding or a parameter given twice: 400;
//   - a body over the limit (413, decided from content-length before reading when it is
//     declared), not `application/json` (415), not UTF-8, not JSON, not an object, or nested
//     deeper than MAX_JSON_DEPTH: 400;
//   - WebSocket upgrades and CONNECT: 400 / 405;
//   - an exception in a handler: 500 INTERNAL (logged; a ClosedError from an engine closed under
//     the server is 503 CLOSED); an error after the answer started cuts that one connection.
//     Never an unhandled rejection.
import { createServer, STATUS_CODES } from 'node:http';
import { ERROR_NAMES, describe, wireError } from './wire.js';

const MAX_URL_LENGTH = 8192;
const MAX_HEADER_BYTES = 16384;
const MAX_JSON_DEPTH = 64;
const SAFE_INTEGER = /^(0|[1-9][0-9]{0,15})$/;

/** An answer other than 2xx: `status`, a wire `code` and message, extra response headers. */
class HttpError extends Error {
  constructor(status, code, message, headers) {
    super(message);
    this.name = ERROR_NAMES[code] || 'EventJournalError';
    this.status = status;
    this.code = code;
    this.headers = headers || {};
  }
}

const badRequest = (message) => new HttpError(400, 'VALIDATION', message);

/** Sends `body` as JSON with `status` (and `headers`). */
function sendJson(res, status, body, headers) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(text);
}

function decodeComponent(text, where) {
  try {
    return decodeURIComponent(text);
  } catch {
    throw badRequest(`bad percent-encoding in the ${where}`);
  }
}

/**
 * Parses a request target: `{ segments, query }`, with `segments` the decoded, non-empty path
 * segments and `query` a Map of decoded parameters. Throws an HttpError for anything unsafe.
 */
function parseTarget(raw) {
  if (typeof raw !== 'string' || !raw.startsWith('/')) {
    throw badRequest('the request target must be a path starting with /');
  }
  if (raw.length > MAX_URL_LENGTH) {
    throw new HttpError(414, 'VALIDATION', `the request target is over ${MAX_URL_LENGTH} characters`);
  }
  const q = raw.indexOf('?');
  const rawPath = q < 0 ? raw : raw.slice(0, q);
  const segments = [];
  for (const part of rawPath.split('/')) {
    if (part === '') continue;
    const s = decodeComponent(part, 'path');
    if (s === '.' || s === '..') throw badRequest('a path may not contain . or .. segments');
    if (/[/\\\0]/.test(s)) throw badRequest('a path segment may not encode /, \\ or NUL');
    segments.push(s);
  }
  return { segments, query: parseQuery(q < 0 ? '' : raw.slice(q + 1)) };
}

function parseQuery(raw) {
  const query = new Map();
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = decodeComponent((eq < 0 ? part : part.slice(0, eq)).replaceAll('+', ' '), 'query');
    const value = decodeComponent((eq < 0 ? '' : part.slice(eq + 1)).replaceAll('+', ' '), 'query');
    if (query.has(key)) throw badRequest(`query parameter ${key} given twice`);
    query.set(key, value);
  }
  return query;
}

/** `query` minus its `name` parameter, as a request target (to keep a token out of req.url). */
function withoutParam(raw, name) {
  const q = raw.indexOf('?');
  if (q < 0) return raw;
  const kept = raw.slice(q + 1).split('&').filter((part) => {
    const key = part.split('=')[0];
    try {
      return decodeURIComponent(key.replaceAll('+', ' ')) !== name;
    } catch {
      return true;
    }
  });
  return kept.length === 0 ? raw.slice(0, q) : `${raw.slice(0, q)}?${kept.join('&')}`;
}

/** Throws a 400 unless every parameter of `query` is in `allowed`. */
function onlyParams(query, allowed) {
  for (const key of query.keys()) {
    if (!allowed.includes(key)) {
      const accepted = allowed.length === 0 ? 'none' : allowed.join(', ');
      throw badRequest(`unknown query parameter ${JSON.stringify(key)} (accepted: ${accepted})`);
    }
  }
}

/** A non-negative safe integer from a query parameter or header, or `fallback` when absent. */
function integerParam(value, name, fallback) {
  if (value === undefined) return fallback;
  const n = SAFE_INTEGER.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw badRequest(`${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
  return n;
}

/** Reads the body, at most `maxBytes`: a Buffer, or a 413 HttpError. */
function readBody(req, maxBytes) {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) {
    return Promise.reject(tooLarge(maxBytes));
  }
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk) => {
      if (failed) return;
      size += chunk.length;
      if (size > maxBytes) {
        failed = true;
        chunks.length = 0;
        reject(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => { if (!failed) resolve(Buffer.concat(chunks)); });
    req.on('error', (e) => { if (!failed) { failed = true; reject(e); } });
  });
}

const tooLarge = (maxBytes) => new HttpError(413, 'VALIDATION', `the request body is over ${maxBytes} bytes`);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The request's JSON body: a plain object, or an HttpError (415, 413, 400). */
async function readJsonObject(req, maxBytes) {
  const type = String(req.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json') {
    throw new HttpError(415, 'VALIDATION', `the body must be application/json, got ${JSON.stringify(type || 'nothing')}`);
  }
  const bytes = await readBody(req, maxBytes);
  let value;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch (e) {
    throw badRequest(`the body is not UTF-8 JSON (${e instanceof Error ? e.message : 'unreadable'})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest('the body must be a JSON object');
  }
  if (depthOver(value, MAX_JSON_DEPTH)) throw badRequest(`the body is nested deeper than ${MAX_JSON_DEPTH} levels`);
  return value;
}

/** True when `value` nests objects/arrays deeper than `max` (checked without recursion). */
function depthOver(value, max) {
  const stack = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop();
    if (depth > max) return true;
    for (const child of Object.values(v)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}

/** Answers an error (or cuts the connection when the answer had already started). */
function sendError(req, res, error, log) {
  let http = error;
  if (!(error instanceof HttpError)) {
    const wire = wireError(error);
    if (wire.code === 'CLOSED') {
      http = new HttpError(503, 'CLOSED', wire.message); // the engine was closed under the server
    } else {
      log(`eventjournal server: ${req.method} ${req.url} failed`, error);
      http = new HttpError(500, 'INTERNAL', wire.code === 'INTERNAL' ? wire.message : `internal error: ${describe(error)}`);
    }
  }
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const headers = { ...http.headers };
  if (!req.complete) {
    // The body was not read: discard it and close, so the connection never desynchronizes.
    headers.connection = 'close';
    req.resume();
  }
  sendJson(res, http.status, { error: { name: http.name, code: http.code, message: http.message } }, headers);
}

/**
 * Wraps `handle(req, res, target)` (async; `target` from parseTarget) into a request listener
 * that never lets an error escape.
 */
function hardenedHandler(handle, log) {
  return (req, res) => {
    req.on('error', () => {});
    res.on('error', () => {});
    Promise.resolve()
      .then(() => {
        if (req.httpVersion === '1.1' && req.headers.host === undefined) throw badRequest('an HTTP/1.1 request needs a Host header');
        return handle(req, res, parseTarget(req.url));
      })
      .catch((error) => {
        try {
          sendError(req, res, error, log);
        } catch (e) {
          log('eventjournal server: could not answer an error', e);
          res.destroy();
        }
      });
  };
}

function rawAnswer(socket, status, message, extra = '') {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ error: { name: 'ValidationError', code: 'VALIDATION', message } });
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\n`
    + `content-length: ${Buffer.byteLength(body)}\r\n${extra}connection: close\r\n\r\n${body}`);
}

/**
 * A Node HTTP server running `handle` through hardenedHandler, with bounded headers and
 * request times, and raw answers for what never reaches a handler.
 */
function createHardenedServer(handle, log) {
  const server = createServer({
    maxHeaderSize: MAX_HEADER_BYTES,
    headersTimeout: 10_000,
    requestTimeout: 30_000,
    keepAliveTimeout: 5_000,
    requireHostHeader: false, // checked by hardenedHandler, to answer with a JSON error like the rest
  }, hardenedHandler(handle, log));
  server.on('clientError', (err, socket) => {
    // An answer already under way on this socket cannot take a raw one.
    const busy = socket._httpMessage && socket._httpMessage.headersSent;
    if (err.code === 'ECONNRESET' || busy) {
      socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    rawAnswer(socket, status, `malformed HTTP request (${err.code || 'unknown'})`);
  });
  server.on('upgrade', (req, socket) => {
    socket.on('error', () => {});
    rawAnswer(socket, 400, 'upgrades are not supported (the live channel is Server-Sent Events on GET /v1/live)');
  });
  server.on('connect', (req, socket) => {
    socket.on('error', () => {});
    rawAnswer(socket, 405, 'CONNECT is not supported', 'allow: GET, HEAD, POST\r\n');
  });
  return server;
}

export {
  HttpError, badRequest, sendJson, parseTarget, withoutParam, onlyParams, integerParam,
  readBody, readJsonObject, createHardenedServer,
};
