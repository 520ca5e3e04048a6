// @ts-check
// The sync client's transport (DESIGN.md §7, docs/protocol.md): HTTP and Server-Sent Events
// over `fetch` and a stream reader, backoff with jitter, and nothing else. It runs unchanged in
// browsers and in Node 20 (no Node API, no EventSource, no WebSocket).
//
// Every decision is the engine's (the Rust core, through the internal `link` the wasm binding
// hands to start(); see src/wasm/sync.rs): which commands to push and in what order, what an
// answer means (final refusal or unknown outcome), whether the server's history is the one this
// client verified, what a failed request means for syncState().lastError. This file moves bytes:
//
//   pull: GET /v1/events pages from link.position() until caught up (each page's afterHash
//         checked, its events received: verified, persisted, committed), then GET /v1/live
//         from there: the hello's afterHash checked, each message's events received in order;
//         when the stream ends or stalls, again from the new position.
//   keys: events holding sealed personal data → link.keysNeeded(events) → GET /v1/keys →
//         link.storeKeys(answer), before they are received; `event: forget` → link.forget.
//   push: link.nextBatch(≤ 100 commands) → POST /v1/commands → link.applyResults(answer); one
//         batch in flight; woken by the engine when a command enters the outbox.
// Failures back off (250 ms doubling to 30 s, ±50%); a 'stop' verdict (another protocol
// version) or a fork ends both loops. close() of the engine stops them (handle.stop()).
import { ValidationError } from './errors.js';

const PAGE = 10_000;
/** What a sealed personal value holds (docs/protocol.md, GET /v1/keys). */
const SEALED = '"$encrypted"';
const DEFAULTS = {
  batchSize: 100,
  retryMinMs: 250,
  retryMaxMs: 30_000,
  requestTimeoutMs: 30_000,
  // The server pings every 15 s: a live stream silent for longer is dead.
  liveIdleMs: 45_000,
};

/**
 * @typedef {object} Link the engine side (src/wasm/sync.rs)
 * @property {() => number} position
 * @property {(after: number, afterHash: string | null) => void} checkServer
 * @property {(events: unknown[]) => Promise<{ applied: number, gap: boolean }>} receive
 * @property {(max: number) => object[]} nextBatch
 * @property {(body: unknown) => Promise<{ retry: boolean }>} applyResults
 * @property {(status: number, error: unknown) => 'retry' | 'shrink' | 'stop'} requestFailed
 * @property {(message: string) => void} unreachable
 * @property {(online: boolean) => void} setOnline
 * @property {() => boolean} stopped
 * @property {(events: unknown[]) => string[]} keysNeeded
 * @property {(answer: unknown) => Promise<number>} storeKeys
 * @property {(subject: string) => Promise<void>} forget
 */

/**
 * @typedef {object} Options checked sync options
 * @property {string} url
 * @property {undefined | string | (() => string | Promise<string>)} token
 * @property {typeof fetch} fetch
 * @property {number} batchSize
 * @property {number} retryMinMs
 * @property {number} retryMaxMs
 * @property {number} requestTimeoutMs
 * @property {number} liveIdleMs
 */

/**
 * Checks `Engine.open`'s `sync` option; a bad one is a ValidationError naming it.
 * @param {any} options
 * @returns {Options}
 */
function check(options) {
  const bad = (/** @type {string} */ m) => new ValidationError(`sync.${m}`);
  if (typeof options.url !== 'string') throw bad('url must be the sync server\'s URL, e.g. "https://example.com"');
  let url;
  try {
    url = new URL(options.url);
  } catch {
    throw bad(`url is not a URL: ${JSON.stringify(options.url)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad('url must be http: or https:');
  const token = options.token;
  if (token !== undefined && typeof token !== 'string' && typeof token !== 'function') {
    throw bad('token must be a string or a function returning one');
  }
  // The global fetch bound to its global: called as options.fetch(...), browsers throw
  // "Illegal invocation" for any other `this`.
  const global = typeof globalThis.fetch === 'function' ? globalThis.fetch.bind(globalThis) : undefined;
  const doFetch = options.fetch === undefined ? global : options.fetch;
  if (typeof doFetch !== 'function') throw bad('fetch must be a function (this platform has no global fetch)');
  /** @type {Record<string, number>} */
  const numbers = {};
  for (const [key, fallback] of Object.entries(DEFAULTS)) {
    const v = options[key] === undefined ? fallback : options[key];
    if (!Number.isSafeInteger(v) || v < 1) throw bad(`${key} must be a positive integer`);
    numbers[key] = v;
  }
  return {
    url: url.href.replace(/\/+$/, ''),
    token,
    fetch: doFetch,
    batchSize: numbers.batchSize,
    retryMinMs: numbers.retryMinMs,
    retryMaxMs: numbers.retryMaxMs,
    requestTimeoutMs: numbers.requestTimeoutMs,
    liveIdleMs: numbers.liveIdleMs,
  };
}

/** A whole request answered with a non-2xx status. */
class HttpFailure extends Error {
  /** @param {number} status @param {any} error */
  constructor(status, error) {
    super(`HTTP ${status}`);
    this.status = status;
    this.error = error;
  }
}

/**
 * Starts syncing `link`'s engine; returns `{ stop(), wake() }`.
 * @param {Link} link
 * @param {Options} options
 */
function start(link, options) {
  let stopped = false;
  /** @type {Set<AbortController>} */
  const inFlight = new Set();
  /** @type {Set<() => void>} */
  const sleepers = new Set();
  let pushSignal = signal();

  const stop = () => {
    if (stopped) return;
    stopped = true;
    for (const c of inFlight) c.abort();
    for (const s of [...sleepers]) s();
    pushSignal.fire();
  };
  const done = () => stopped || link.stopped();

  /** Waits `ms`, or less when stopped. @param {number} ms */
  const sleep = (ms) => new Promise((resolve) => {
    const wake = () => { clearTimeout(timer); sleepers.delete(wake); resolve(undefined); };
    const timer = setTimeout(wake, ms);
    sleepers.add(wake);
  });

  const backoff = () => {
    let failures = 0;
    return {
      reset() { failures = 0; },
      wait() {
        const ms = Math.min(options.retryMaxMs, options.retryMinMs * 2 ** Math.min(failures, 30));
        failures += 1;
        return sleep(ms * (0.5 + Math.random()));
      },
    };
  };

  /**
   * fetch with the token and a timeout (`timeoutMs` 0: none, e.g. the live stream).
   * @param {string} path
   * @param {{ method?: string, body?: string, timeoutMs?: number, controller?: AbortController }} [init]
   */
  async function request(path, { method = 'GET', body, timeoutMs = options.requestTimeoutMs, controller = new AbortController() } = {}) {
    /** @type {Record<string, string>} */
    const headers = { accept: path.startsWith('/v1/live') ? 'text/event-stream' : 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const token = typeof options.token === 'function' ? await options.token() : options.token;
    if (token !== undefined && token !== null) headers.authorization = `Bearer ${token}`;
    inFlight.add(controller);
    const timer = timeoutMs > 0 ? setTimeout(() => controller.abort(), timeoutMs) : null;
    try {
      const res = await options.fetch(options.url + path, { method, headers, body, signal: controller.signal });
      if (!res.ok) {
        let error = null;
        try { error = (await res.json()).error; } catch { /* no JSON body */ }
        throw new HttpFailure(res.status, error);
      }
      return res;
    } finally {
      if (timer !== null) clearTimeout(timer);
      if (timeoutMs > 0) inFlight.delete(controller);
    }
  }

  /** What a failed request means; true when syncing must stop. @param {unknown} e */
  function failed(e) {
    if (done()) return true;
    if (e instanceof HttpFailure) return link.requestFailed(e.status, e.error) === 'stop';
    if (isEngineError(e)) return link.stopped(); // the engine recorded it (storage, fork)
    link.unreachable(e instanceof Error ? e.message : String(e));
    return false;
  }

  // ---- personal data: the keys of the subjects the server's events are sealed for
  /**
   * Asks `GET /v1/keys` for the keys `events` need that the engine lacks and stores them
   * (a server without a key store answers 404: nothing to store, the values read as erased).
   * @param {unknown[]} events
   */
  async function fetchKeys(events) {
    // Subjects with a comma cannot be asked for (the list is comma separated): erased here.
    const subjects = link.keysNeeded(events).filter((s) => !s.includes(','));
    for (const chunk of keyRequests(subjects)) {
      try {
        const res = await request(`/v1/keys?subjects=${chunk}`);
        await link.storeKeys(await res.json());
      } catch (e) {
        if (!(e instanceof HttpFailure && e.status === 404)) throw e;
      }
    }
  }

  /**
   * Receives the server's events, after fetching their keys when some are sealed (`sealed`:
   * their JSON text holds SEALED, found without walking the objects).
   * @param {unknown[]} events @param {boolean} sealed
   */
  async function receive(events, sealed) {
    if (sealed) await fetchKeys(events);
    return link.receive(events);
  }

  // ---- pull: pages until caught up, then the live channel
  /** One page of `GET /v1/events` after `after`: its body and whether it holds sealed values. @param {number} after */
  async function fetchPage(after) {
    const res = await request(`/v1/events?after=${after}&limit=${PAGE}`);
    const text = await res.text();
    return { after, page: JSON.parse(text), sealed: text.includes(SEALED) };
  }

  // The next page is asked for while this one is received (verified, persisted, folded): the
  // server reads and the network carries it meanwhile.
  async function catchUp() {
    let next = fetchPage(link.position());
    for (;;) {
      const { after, page, sealed } = await next;
      link.checkServer(after, page.afterHash);
      if (!Array.isArray(page.events) || page.events.length === 0) return;
      const last = Number(page.events[page.events.length - 1]?.position);
      const more = Number.isSafeInteger(last) && last > after && last < page.headPosition;
      if (more) {
        next = fetchPage(last);
        next.catch(() => {}); // awaited below, or dropped when this page ends the catch-up
      }
      await receive(page.events, sealed);
      // Done, or not where the next page starts (a gap, a partial page): the live channel
      // (or the next round) goes on from the engine's position.
      if (done() || !more || link.position() !== last) return;
    }
  }

  async function live(/** @type {ReturnType<typeof backoff>} */ retry) {
    const after = link.position();
    const controller = new AbortController();
    inFlight.add(controller);
    let idle = setTimeout(() => controller.abort(), options.liveIdleMs);
    try {
      const res = await request(`/v1/live?after=${after}`, { timeoutMs: 0, controller });
      if (!res.body) throw new Error('the live channel has no body');
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { value, done: ended } = await reader.read();
        if (ended || stopped) return;
        clearTimeout(idle);
        idle = setTimeout(() => controller.abort(), options.liveIdleMs);
        buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
        let cut;
        /** @type {unknown[]} */
        let events = [];
        let sealed = false;
        // Received before reading on: the socket holds back the server meanwhile.
        const flush = async () => {
          const got = events;
          const withKeys = sealed;
          events = [];
          sealed = false;
          return got.length > 0 && (await receive(got, withKeys)).gap;
        };
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const message = parseMessage(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
          if (message.event === 'hello') {
            const hello = JSON.parse(message.data);
            link.checkServer(after, hello.afterHash ?? null);
            link.setOnline(true);
            retry.reset();
          } else if (message.event === 'events') {
            events.push(...JSON.parse(message.data).events);
            sealed = sealed || message.data.includes(SEALED);
          } else if (message.event === 'forget') {
            // After the events before it; a forget this engine cannot apply (no key store) is ignored.
            if (await flush()) return;
            const { subject } = JSON.parse(message.data);
            await link.forget(subject).catch((/** @type {any} */ e) => {
              if (e?.code !== 'VALIDATION') throw e;
            });
          }
        }
        if (await flush()) return;
      }
    } finally {
      clearTimeout(idle);
      inFlight.delete(controller);
      controller.abort();
      if (!stopped) link.setOnline(false);
    }
  }

  async function pull() {
    const retry = backoff();
    while (!done()) {
      try {
        await catchUp();
        if (done()) break;
        await live(retry);
        if (!done()) await sleep(options.retryMinMs * Math.random());
      } catch (e) {
        if (failed(e)) break;
        await retry.wait();
      }
    }
    stop();
  }

  // ---- push: the outbox, in order, one batch in flight
  async function push() {
    const retry = backoff();
    let size = options.batchSize;
    while (!done()) {
      const batch = link.nextBatch(size);
      if (batch.length === 0) {
        await pushSignal.wait();
        pushSignal = signal();
        continue;
      }
      try {
        const res = await request('/v1/commands', { method: 'POST', body: JSON.stringify({ commands: batch }) });
        const { retry: again } = await link.applyResults(await res.json());
        if (again) await retry.wait();
        else retry.reset();
        size = options.batchSize;
      } catch (e) {
        if (e instanceof HttpFailure && e.status === 413) {
          if (link.requestFailed(413, e.error) === 'shrink' && size > 1) {
            size = Math.max(1, Math.floor(size / 2));
            continue;
          }
          // One command the server will never take: a final refusal of that command.
          await link.applyResults({ results: [tooLarge(batch[0])] });
          continue;
        }
        if (failed(e)) break;
        await retry.wait();
      }
    }
    stop();
  }

  pull();
  push();
  return {
    stop,
    /** A command entered the outbox. */
    wake() { pushSignal.fire(); },
  };
}

/**
 * The `subjects` parameters of `GET /v1/keys` requests for `subjects`: at most 1,000 per
 * request and about 6 KB of URL (the server takes 8 KiB).
 * @param {string[]} subjects
 */
function keyRequests(subjects) {
  /** @type {string[]} */
  const out = [];
  let chunk = [];
  let length = 0;
  for (const s of subjects) {
    const encoded = encodeURIComponent(s);
    if (chunk.length > 0 && (chunk.length >= 1000 || length + encoded.length > 6000)) {
      out.push(chunk.join(','));
      chunk = [];
      length = 0;
    }
    chunk.push(encoded);
    length += encoded.length + 1;
  }
  if (chunk.length > 0) out.push(chunk.join(','));
  return out;
}

/** A refusal for a command larger than the server accepts. @param {any} command */
function tooLarge(command) {
  return {
    commandId: command.commandId,
    ok: false,
    error: { name: 'ValidationError', code: 'VALIDATION', message: 'the command is larger than the sync server accepts (HTTP 413)' },
  };
}

/** An error the engine threw (it has recorded it as lastError itself). @param {unknown} e */
function isEngineError(e) {
  return e instanceof Error && typeof (/** @type {any} */ (e).code) === 'string'
    && ['INTEGRITY', 'STORAGE', 'CLOSED', 'INTERNAL', 'VALIDATION'].includes(/** @type {any} */ (e).code);
}

/** One SSE message's fields (comments and unknown fields ignored). @param {string} text */
function parseMessage(text) {
  const out = { event: 'message', data: '' };
  const data = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') out.event = value;
    else if (field === 'data') data.push(value);
  }
  out.data = data.join('\n');
  return out;
}

/** A one-shot wake-up. */
function signal() {
  /** @type {() => void} */
  let fire = () => {};
  let fired = false;
  const promise = new Promise((resolve) => { fire = () => { fired = true; resolve(undefined); }; });
  return {
    wait: () => promise,
    fire: () => { if (!fired) fire(); },
  };
}

/** The transport the entries register with the engine (setSyncTransport). */
const syncTransport = { check, start };

export { syncTransport, parseMessage };
