// @ts-check
// One dedicated PostgreSQL connection that LISTENs on a channel and stays connected.
//
// Each notification's payload (a log position) goes to `deliver`. The connection is its own,
// outside any pool (a pooled client would be handed to someone else). When it breaks
// (PostgreSQL restarted, the backend was terminated, the network failed) it reconnects with a
// backoff (50 ms doubling to 5 s) and, once listening again, delivers the current head read
// through `readHead(client)`: appends made while it was away are never missed. The first
// connection does the same, which covers appends made before LISTEN took effect.
// Neither the socket nor the retry timer keeps the Node process alive.
import { quoteIdent } from './postgres-driver.js';

const FIRST_RETRY_MS = 50;
const MAX_RETRY_MS = 5000;

/**
 * @param {{ newClient: () => any, channel: string, readHead: (client: any) => Promise<number>,
 *           deliver: (position: number) => void }} spec
 * @returns {{ start(): void, stop(): void, readonly connected: boolean }}
 */
function createListener({ newClient, channel, readHead, deliver }) {
  let running = false;
  /** @type {any} */
  let client = null;
  let connected = false;
  /** @type {any} */
  let timer = null;
  let retryMs = FIRST_RETRY_MS;

  const scheduleRetry = () => {
    if (!running || timer !== null) return;
    timer = setTimeout(() => { timer = null; connect(); }, retryMs);
    if (typeof timer.unref === 'function') timer.unref();
    retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
  };

  const deliverSafely = (position) => {
    if (running && Number.isSafeInteger(position) && position >= 0) deliver(position);
  };

  async function connect() {
    if (!running || client !== null) return;
    let c;
    try {
      c = newClient();
    } catch {
      scheduleRetry();
      return;
    }
    client = c;
    let lost = false;
    const onLost = () => {
      if (lost) return;
      lost = true;
      if (client === c) { client = null; connected = false; }
      c.end().catch(() => {});
      scheduleRetry();
    };
    c.on('error', onLost);
    c.on('end', onLost);
    c.on('notification', (msg) => {
      if (msg.channel === channel) deliverSafely(Number(msg.payload));
    });
    try {
      await c.connect();
      if (client !== c) { c.end().catch(() => {}); return; } // stopped meanwhile
      const socket = c.connection && c.connection.stream;
      if (socket && typeof socket.unref === 'function') socket.unref();
      await c.query(`LISTEN ${quoteIdent(channel)}`);
      const head = await readHead(c);
      if (client !== c) { c.end().catch(() => {}); return; }
      if (lost) return;
      connected = true;
      retryMs = FIRST_RETRY_MS;
      deliverSafely(head);
    } catch {
      onLost();
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      connect();
    },
    stop() {
      running = false;
      connected = false;
      if (timer !== null) { clearTimeout(timer); timer = null; }
      if (client !== null) {
        const c = client;
        client = null;
        c.end().catch(() => {});
      }
    },
    get connected() { return connected; },
  };
}

export { createListener };
