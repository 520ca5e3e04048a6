// GET /v1/live: Server-Sent Events with pull-based backpressure (docs/protocol.md).
//
// The hub subscribes ONCE to the engine. Each committed event it hears is serialized once and
// kept in a window of the most recent ones (at most RECENT_EVENTS events and RECENT_BYTES of
// JSON, shared by every connection); each new head wakes every connection. A connection pulls
// pages with its own cursor: from the window while its cursor is inside it (clients that follow
// the head: no read, no serialization), else from the engine's log (`engine.readAll`, for a
// client catching up from further back). It writes messages of about MESSAGE_BYTES while its
// socket accepts them: when a write is refused it waits for 'drain', and a connection that does
// not drain within `stallTimeoutMs` is cut (the client resumes by position).
// Per connection the server holds its socket's buffer and at most one page, whose length adapts
// to the events' size (about PAGE_BYTES), never a queue. Within one turn of the event loop,
// connections at the same cursor share their pages and their encoded messages (one read, one
// serialization, one UTF-8 encoding per message, however many clients get it).
import { PROTOCOL_VERSION, wireEvent } from './wire.js';

const PAGE_EVENTS = 500;
const PAGE_BYTES = 256 * 1024;
const MESSAGE_BYTES = 64 * 1024;
const PING_MS = 15_000;
const RECENT_EVENTS = 8192;
const RECENT_BYTES = 4 * 1024 * 1024;

/**
 * The most recent committed events as `{ position, json }`, in position order and gapless,
 * bounded by RECENT_EVENTS and RECENT_BYTES (the oldest leave first).
 */
function recentEvents() {
  let items = [];
  let start = 0; // items before `start` have left the window
  let bytes = 0;
  return {
    add(position, json) {
      const last = items.length > start ? items[items.length - 1].position : null;
      if (last !== null && position !== last + 1) { items = []; start = 0; bytes = 0; } // never a gap inside
      items.push({ position, json });
      bytes += json.length;
      while (items.length - start > RECENT_EVENTS || (bytes > RECENT_BYTES && items.length - start > 1)) {
        bytes -= items[start].json.length;
        start += 1;
      }
      if (start > 1024 && start * 2 > items.length) { items = items.slice(start); start = 0; }
    },
    /** Up to `limit` events after `fromPosition`, or null when the window does not start there. */
    after(fromPosition, limit) {
      if (items.length === start) return null;
      const first = items[start].position;
      const i = start + (fromPosition + 1 - first);
      if (fromPosition + 1 < first || i >= items.length) return null;
      return items.slice(i, i + limit);
    },
  };
}

/** The next page's length, so that a page of events like `page` holds about PAGE_BYTES. */
function nextPageSize(page) {
  const bytes = page.reduce((sum, e) => sum + e.json.length, 0);
  return Math.max(1, Math.min(PAGE_EVENTS, Math.floor((PAGE_BYTES * page.length) / Math.max(1, bytes))));
}

/**
 * The live channel of one server. `open(req, res, { after, hello })` streams to one client;
 * `close()` ends every stream and unsubscribes.
 */
function liveHub(engine, { headPosition, stallTimeoutMs, log }) {
  let head = headPosition;
  let wakeQueued = false;
  const connections = new Set();
  const recent = recentEvents();

  const wakeAll = () => {
    wakeQueued = false;
    for (const conn of connections) pump(conn);
  };
  const subscription = engine.subscribe((event) => {
    recent.add(event.position, JSON.stringify(wireEvent(event)));
    if (event.position > head) head = event.position;
    if (!wakeQueued) {
      wakeQueued = true;
      setImmediate(wakeAll);
    }
    // raw: the stored form (sealed personal data, stored schema versions), as GET /v1/events
    // sends it: exactly what was hashed, so clients verify the chain.
  }, { raw: true, onError: (e) => log('eventjournal server: live channel listener failed', e) });

  const ping = setInterval(() => {
    for (const conn of connections) {
      if (!conn.stall) write(conn, ': ping\n\n');
    }
  }, PING_MS);
  ping.unref();

  // What one connection reads or sends serves every connection at the same cursor until the
  // next turn of the event loop (live clients mostly follow the head together).
  const pages = new Map();
  const messages = new Map();
  const forgetSoon = (map, key) => setImmediate(() => map.delete(key));
  function readPage(fromPosition, limit) {
    const inWindow = recent.after(fromPosition, limit);
    if (inWindow) return inWindow;
    const key = `${fromPosition}/${limit}`;
    let page = pages.get(key);
    if (!page) {
      page = engine.readAll({ fromPosition, limit, raw: true })
        .then((events) => events.map((e) => ({ position: e.position, json: JSON.stringify(wireEvent(e)) })));
      pages.set(key, page);
      const forget = () => forgetSoon(pages, key);
      page.then(forget, forget);
    }
    return page;
  }

  /** The SSE message of `events` (their positions as key), encoded once per turn. */
  function message(events) {
    const key = `${events[0].position}-${events[events.length - 1].position}`;
    let bytes = messages.get(key);
    if (!bytes) {
      const data = events.map((e) => e.json).join(',');
      bytes = Buffer.from(`id: ${events[events.length - 1].position}\nevent: events\ndata: {"events":[${data}]}\n\n`);
      messages.set(key, bytes);
      forgetSoon(messages, key);
    }
    return bytes;
  }

  function drop(conn) {
    if (!connections.delete(conn)) return;
    clearTimeout(conn.stall);
    conn.stall = null;
    conn.page = [];
  }

  // Writes `data`; when the socket refuses more, waits for 'drain' for at most stallTimeoutMs.
  function write(conn, data) {
    if (conn.res.write(data)) return true;
    conn.stall = setTimeout(() => {
      log(`eventjournal server: a live client did not read for ${stallTimeoutMs} ms; disconnected at position ${conn.cursor}`);
      drop(conn);
      conn.res.destroy();
    }, stallTimeoutMs);
    conn.res.once('drain', () => {
      clearTimeout(conn.stall);
      conn.stall = null;
      pump(conn);
    });
    return false;
  }

  // Sends the next events of the connection's page as one message of about MESSAGE_BYTES.
  function sendMessage(conn) {
    const from = conn.next;
    let bytes = 0;
    while (conn.next < conn.page.length && (conn.next === from || bytes < MESSAGE_BYTES)) {
      bytes += conn.page[conn.next].json.length;
      conn.next += 1;
    }
    const events = conn.page.slice(from, conn.next);
    conn.cursor = events[events.length - 1].position;
    if (conn.next === conn.page.length) conn.page = [];
    write(conn, message(events));
  }

  async function pump(conn) {
    if (conn.pumping || conn.stall || !connections.has(conn)) return;
    conn.pumping = true;
    try {
      while (connections.has(conn) && !conn.stall) {
        if (conn.page.length === 0) {
          if (conn.cursor >= head) break;
          const page = await readPage(conn.cursor, conn.pageSize);
          if (page.length === 0 || !connections.has(conn)) break;
          conn.page = page; // shared: read, never changed
          conn.next = 0;
          conn.pageSize = nextPageSize(conn.page);
        }
        sendMessage(conn);
      }
    } catch (e) {
      log('eventjournal server: a live stream failed; the client resumes by position', e);
      drop(conn);
      conn.res.destroy();
    } finally {
      conn.pumping = false;
    }
  }

  return {
    get size() { return connections.size; },

    /** Tells every live client that `subject` was forgotten (they delete its keys too). */
    forget(subject) {
      const message = `event: forget\ndata: ${JSON.stringify({ subject })}\n\n`;
      for (const conn of connections) {
        if (!conn.stall) write(conn, message);
      }
    },

    open(req, res, { after, hello }) {
      const conn = { res, cursor: after, page: [], next: 0, pageSize: 16, pumping: false, stall: null };
      connections.add(conn);
      res.on('close', () => drop(conn));
      req.socket.setNoDelay(true);
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
        'x-content-type-options': 'nosniff',
      });
      const greeting = JSON.stringify({ protocol: PROTOCOL_VERSION, ...hello });
      if (write(conn, `event: hello\ndata: ${greeting}\n\n`)) pump(conn);
    },

    close() {
      clearInterval(ping);
      subscription.unsubscribe();
      for (const conn of [...connections]) {
        drop(conn);
        conn.res.end();
      }
    },
  };
}

export { liveHub };
