// Test clients of the sync server: JSON over fetch, a live (SSE) reader over fetch, raw
// requests over a socket (for what Node's own client refuses to send), and a poll helper.
import { connect } from 'node:net';
import assert from 'node:assert/strict';

/** fetch `base + path`; resolves to `{ status, headers, body }` (body parsed when JSON). */
export async function call(base, path, { method = 'GET', token, headers = {}, body } = {}) {
  const h = { ...headers };
  if (token !== undefined) h.authorization = `Bearer ${token}`;
  let payload;
  if (body !== undefined) {
    payload = typeof body === 'string' ? body : JSON.stringify(body);
    h['content-type'] ??= 'application/json';
  }
  const res = await fetch(base + path, { method, headers: h, body: payload });
  const text = await res.text();
  let parsed = text;
  if ((res.headers.get('content-type') || '').startsWith('application/json')) parsed = JSON.parse(text);
  return { status: res.status, headers: res.headers, body: parsed };
}

/** POST /v1/commands; returns the results (asserting a 200). */
export async function execute(base, commands, options = {}) {
  const r = await call(base, '/v1/commands', { ...options, method: 'POST', body: { commands } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.results;
}

/** A deposit command for `account` (created by `openAccount`). */
export const deposit = (commandId, account, amount = 100) => ({
  commandId, streamType: 'BankAccount', streamId: account, command: { type: 'deposit', amount },
});
export const openAccount = (commandId, account, initialDeposit = 0) => ({
  commandId, streamType: 'BankAccount', streamId: account,
  command: { type: 'create_account', accountHolder: `holder of ${account}`, initialDeposit },
});

/** Parses Server-Sent Events from text chunks: call with each chunk, get complete messages. */
export function sseParser() {
  let buffer = '';
  let scanned = 0; // the buffer before this has no message end
  return (chunk) => {
    buffer += chunk;
    const messages = [];
    let end;
    while ((end = buffer.indexOf('\n\n', scanned)) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      scanned = 0;
      const m = { id: null, event: 'message', data: '', comment: false };
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) { m.comment = true; continue; }
        const i = line.indexOf(':');
        const field = i < 0 ? line : line.slice(0, i);
        const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
        if (field === 'id') m.id = value;
        else if (field === 'event') m.event = value;
        else if (field === 'data') m.data += value;
      }
      if (!m.comment) messages.push({ ...m, data: m.data === '' ? null : JSON.parse(m.data) });
    }
    scanned = Math.max(0, buffer.length - 1);
    return messages;
  };
}

/**
 * Opens GET /v1/live and reads it in the background: `hello`, `events` (every event received,
 * in order), `forgets` (the subjects of `event: forget`), `lastId`, `status`; `closed` resolves
 * when the stream ends; `close()` aborts.
 */
export async function live(base, { after, lastEventId, token, accessToken } = {}) {
  const params = new URLSearchParams();
  if (after !== undefined) params.set('after', String(after));
  if (accessToken !== undefined) params.set('access_token', accessToken);
  const headers = {};
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (lastEventId !== undefined) headers['last-event-id'] = String(lastEventId);
  const abort = new AbortController();
  const res = await fetch(`${base}/v1/live${params.size ? `?${params}` : ''}`, { headers, signal: abort.signal });
  const client = { status: res.status, hello: null, events: [], forgets: [], lastId: null, messages: 0, error: null, ended: false };
  if (res.status !== 200) {
    client.body = await res.json();
    return client;
  }
  const parse = sseParser();
  const decoder = new TextDecoder();
  const reader = res.body.getReader();
  client.closed = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) { client.ended = true; return; }
        for (const m of parse(decoder.decode(value, { stream: true }))) {
          client.messages += 1;
          if (m.event === 'hello') client.hello = m.data;
          if (m.event === 'forget') client.forgets.push(m.data.subject);
          if (m.event === 'events') {
            client.events.push(...m.data.events);
            client.lastId = Number(m.id);
          }
        }
      }
    } catch (e) {
      if (e.name !== 'AbortError') client.error = e;
      client.ended = true;
    }
  })();
  await until(() => client.hello || client.error || client.ended, 'the hello message', 5000);
  client.close = async () => {
    abort.abort();
    await client.closed;
  };
  return client;
}

/** Sends `bytes` on a fresh connection; resolves to `{ status, text }` once the server closes or answers. */
export function raw(port, bytes, { host = '127.0.0.1', timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    let text = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : null, text });
    };
    const timer = setTimeout(() => (text ? done() : reject(new Error(`no answer within ${timeoutMs} ms to ${JSON.stringify(String(bytes).slice(0, 80))}`))), timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => {
      text += chunk;
      // One complete answer (headers + content-length body) is enough.
      const head = text.indexOf('\r\n\r\n');
      const len = /content-length: (\d+)/i.exec(text.slice(0, head));
      if (head >= 0 && len && text.length >= head + 4 + Number(len[1])) done();
    });
    socket.on('end', done);
    socket.on('error', (e) => (text ? done() : reject(e)));
    socket.write(bytes, typeof bytes === 'string' ? 'latin1' : undefined);
  });
}

/** Waits until `predicate()` is truthy (polling), failing after `timeoutMs` with `what`. */
export async function until(predicate, what, timeoutMs = 10_000) {
  const start = Date.now();
  for (;;) {
    const v = await predicate();
    if (v) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Asserts that `events` are exactly positions from+1..to, in order. */
export function assertGapless(events, to, from = 0, who = 'client') {
  const positions = events.map((e) => e.position);
  const want = Array.from({ length: to - from }, (_, i) => from + i + 1);
  assert.deepEqual(positions, want, `${who} saw positions out of order, missing or repeated`);
}

/**
 * A live reader that survives its server: it reads GET /v1/live from `base()` (asked again at
 * each reconnect, so a restarted server on a new port is found) and, whenever the stream ends
 * or cannot be opened, reconnects with Last-Event-ID = the last event it received. `events` are
 * all the events received over every connection, in order; `stop()` ends it.
 */
export function follower(base, { retryMs = 50 } = {}) {
  const past = [];
  let current = null;
  let stopped = false;
  const f = {
    connections: 0,
    get events() { return current ? past.concat(current.events) : past; },
    get lastPosition() { const e = f.events; return e.length === 0 ? 0 : e[e.length - 1].position; },
  };
  const loop = (async () => {
    while (!stopped) {
      let c = null;
      try {
        c = await live(base(), { lastEventId: f.lastPosition });
      } catch { /* refused or reset: the server is down */ }
      if (c && c.status === 200) {
        current = c;
        f.connections += 1;
        await c.closed;
        current = null;
        past.push(...c.events);
      }
      if (!stopped) await new Promise((r) => setTimeout(r, retryMs));
    }
  })();
  f.stop = async () => {
    stopped = true;
    if (current) await current.close();
    await loop;
  };
  return f;
}
