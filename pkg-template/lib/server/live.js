// GET /v1/live: Server-Sent Events with pull-based backpressure (docs/protocol.md).
//
// The hub subscribes ONCE to the engine, only to learn the head; each new head wakes every
// connection. A connection pulls pages from the engine's log with its own cursor
// (`engine.readAll({ fromPosition, limit })`) and writes messages of about MESSAGE_BYTES while
// its socket accepts them: when a write is refused it waits for 'drain', and a connection that
// does not drain within `stallTimeoutMs` is cut (the client resumes by position).
// Per connection the server holds its socket's buffer and at most one page, whose length
// adapts to the events' size (about PAGE_BYTES), never a queue; connections at the same cursor
// share their pages.
import { PROTOCOL_VERSION, wireEvent } from './wire.js';

const PAGE_EVENTS = 500;
const PAGE_BYTES = 256 * 1024;
const MESSAGE_BYTES = 64 * 1024;
const PING_MS = 15_000;

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

  const wakeAll = () => {
    wakeQueued = false;
    for (const conn of connections) pump(conn);
  };
  const subscription = engine.subscribe((event) => {
    if (event.position > head) head = event.position;
    if (!wakeQueued) {
      wakeQueued = true;
      setImmediate(wakeAll);
    }
  }, { onError: (e) => log('eventjournal server: live channel listener failed', e) });

  const ping = setInterval(() => {
    for (const conn of connections) {
      if (!conn.stall) write(conn, ': ping\n\n');
    }
  }, PING_MS);
  ping.unref();

  // A page read for one connection serves every connection at the same cursor until the next
  // turn of the event loop (live clients mostly follow the head together): one read and one
  // serialization per page, not one per connection.
  const pages = new Map();
  function readPage(fromPosition, limit) {
    const key = `${fromPosition}/${limit}`;
    let page = pages.get(key);
    if (!page) {
      page = engine.readAll({ fromPosition, limit, raw: true })
        .then((events) => events.map((e) => ({ position: e.position, json: JSON.stringify(wireEvent(e)) })));
      pages.set(key, page);
      const forget = () => setImmediate(() => pages.delete(key));
      page.then(forget, forget);
    }
    return page;
  }

  function drop(conn) {
    if (!connections.delete(conn)) return;
    clearTimeout(conn.stall);
    conn.stall = null;
    conn.page = [];
  }

  // Writes `text`; when the socket refuses more, waits for 'drain' for at most stallTimeoutMs.
  function write(conn, text) {
    if (conn.res.write(text)) return true;
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
    const parts = [];
    let bytes = 0;
    while (conn.next < conn.page.length && (parts.length === 0 || bytes < MESSAGE_BYTES)) {
      const { json } = conn.page[conn.next];
      parts.push(json);
      bytes += json.length;
      conn.next += 1;
    }
    conn.cursor = conn.page[conn.next - 1].position;
    if (conn.next === conn.page.length) conn.page = [];
    write(conn, `id: ${conn.cursor}\nevent: events\ndata: {"events":[${parts.join(',')}]}\n\n`);
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
