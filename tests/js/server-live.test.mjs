// The live channel (GET /v1/live, Server-Sent Events): resuming after disconnects with nothing
// missed or repeated while commands keep arriving, and backpressure: a client that stops
// reading holds only its own socket and is cut after stallTimeoutMs.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { execute, deposit, openAccount, live, until, assertGapless } from './server/client.mjs';
import { startServer } from './server/harness.mjs';

const unhandled = [];
process.on('unhandledRejection', (e) => unhandled.push(e));
after(() => assert.deepEqual(unhandled, [], 'no unhandled rejection'));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Sends small batches of deposits until `stop()`; resolves to the number of commands sent. */
function steadyWriter(base) {
  let running = true;
  let n = 0;
  const done = (async () => {
    while (running) {
      n += 1;
      const results = await execute(base, [deposit(`w${n}a`, 'a1', 1), deposit(`w${n}b`, 'a2', 1)]);
      assert.ok(results.every((r) => r.ok));
      await sleep(3);
    }
    return n;
  })();
  return { stop: () => { running = false; return done; } };
}

test('live: resumed by after and by Last-Event-ID while commands keep arriving, nothing missed or repeated', async () => {
  const s = await startServer();
  let writer = null;
  try {
    await execute(s.base, [openAccount('o1', 'a1'), openAccount('o2', 'a2')]);
    writer = steadyWriter(s.base);
    const seen = [];

    let c = await live(s.base, { after: 0 });
    assert.equal(c.status, 200);
    assert.equal(c.hello.protocol, 1);
    assert.equal(c.hello.afterHash, '0'.repeat(64));
    await until(() => c.events.length >= 30, 'the first 30 events');
    await c.close();
    seen.push(...c.events);

    c = await live(s.base, { after: c.lastId });
    assert.equal(c.hello.afterHash, seen[seen.length - 1].hash, 'hello carries the hash at the client position');
    assert.ok(c.hello.headPosition >= seen.length);
    await until(() => c.events.length >= 30, '30 more events after a resume by after');
    await c.close();
    seen.push(...c.events);

    // An EventSource-style reconnect: the original URL (after=0) plus Last-Event-ID, which wins.
    c = await live(s.base, { after: 0, lastEventId: c.lastId });
    assert.equal(c.hello.afterHash, seen[seen.length - 1].hash);
    await until(() => c.events.length >= 30, '30 more events after a resume by Last-Event-ID');
    const sent = await writer.stop();
    const { headPosition, headHash } = await s.engine.stats();
    assert.equal(headPosition, 2 + 2 * sent);
    await until(() => seen.length + c.events.length >= headPosition, 'every event');
    await sleep(50); // nothing more may come
    await c.close();
    seen.push(...c.events);
    assertGapless(seen, headPosition);
    assert.equal(seen[seen.length - 1].hash, headHash);
    assert.deepEqual(seen, await s.engine.readAll(), 'the stored events, as stored');
  } finally {
    if (writer) await writer.stop().catch(() => {});
    await s.stop();
  }
});

test('live: a client further back than the server keeps in memory catches up from the log, then follows the head; both ways give the stored events', async () => {
  const s = await startServer();
  try {
    const follower = await live(s.base, { after: 0 });
    await execute(s.base, [openAccount('o1', 'a1'), openAccount('o2', 'a2')]);
    // 10,000 events (more than the 8,192 the live channel keeps), in bursts, through the engine.
    for (let b = 0; b < 10; b += 1) {
      await Promise.all(Array.from({ length: 1000 }, (_, i) => s.engine.execute('BankAccount', i % 2 ? 'a1' : 'a2', { type: 'deposit', amount: 1 + i })));
    }
    const late = await live(s.base, { after: 0 });
    await execute(s.base, [deposit('d-last', 'a1')]);
    const { headPosition } = await s.engine.stats();
    await until(() => follower.lastId === headPosition && late.lastId === headPosition, 'both clients at the head', 20_000);
    const stored = await s.engine.readAll();
    assert.deepEqual(follower.events, stored, 'the follower (served from memory) got the stored events');
    assert.deepEqual(late.events, stored, 'the late client (served from the log, then from memory) got the stored events');
    await follower.close();
    await late.close();
  } finally {
    await s.stop();
  }
});

test('live: without after a client starts at the head; after past the head has afterHash null', async () => {
  const s = await startServer();
  try {
    await execute(s.base, [openAccount('o1', 'a1', 5)]);
    const c = await live(s.base);
    assert.equal(c.hello.headPosition, 2);
    const ahead = await live(s.base, { after: 50 });
    assert.equal(ahead.hello.afterHash, null);
    await execute(s.base, [deposit('d1', 'a1')]);
    await until(() => c.events.length === 1, 'the new event');
    assert.equal(c.events[0].position, 3);
    assert.equal(c.lastId, 3);
    await sleep(50);
    assert.equal(ahead.events.length, 0, 'nothing at or before the client position');
    await c.close();
    await ahead.close();
  } finally {
    await s.stop();
  }
});

test('live: over maxConnections a new stream is 503 BUSY; a freed slot is usable again', async () => {
  const s = await startServer({ maxConnections: 2 });
  try {
    const a = await live(s.base);
    const b = await live(s.base);
    const c = await live(s.base);
    assert.deepEqual([a.status, b.status, c.status], [200, 200, 503]);
    assert.equal(c.body.error.code, 'BUSY');
    await a.close();
    await until(async () => (await live(s.base).then(async (d) => { if (d.close) await d.close(); return d.status; })) === 200, 'a freed slot', 5000);
    await b.close();
  } finally {
    await s.stop();
  }
});

test('live: a client that stops reading does not delay the others and is cut after stallTimeoutMs', async () => {
  const stallTimeoutMs = 1000;
  const s = await startServer({ stallTimeoutMs });
  try {
    // ~6 MB of events: more than the socket buffers of one connection hold (~4 MB on Linux).
    await execute(s.base, [openAccount('o1', 'a1'), openAccount('o2', 'a2')]);
    const text = 'x'.repeat(80_000);
    for (let i = 0; i < 3; i += 1) {
      await execute(s.base, Array.from({ length: 25 }, (_, j) => ({ ...deposit(`big${i}-${j}`, 'a1'), command: { type: 'deposit', amount: 1, description: text } })));
    }
    const prefilled = (await s.engine.stats()).headPosition;

    // The stalled client: asks for everything, then never reads.
    const stalled = connect(s.server.port, '127.0.0.1');
    stalled.write('GET /v1/live?after=0 HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
    let stalledEnded = false;
    stalled.on('end', () => { stalledEnded = true; });
    stalled.on('error', () => {});

    // A healthy client meanwhile gets everything, and each new event within a bound.
    const healthy = await live(s.base, { after: 0 });
    await until(() => healthy.events.length >= prefilled, 'the healthy client to catch up', 10_000);
    // New commands while the stalled client is stuck, until it is cut, and a while after.
    const cut = () => s.logs.some((l) => /did not read for 1000 ms; disconnected/.test(l.message));
    const delays = [];
    let cutSeenAt = null;
    for (let n = 1; cutSeenAt === null || Date.now() < cutSeenAt + 500; n += 1) {
      const [r] = await execute(s.base, [deposit(`small${n}`, 'a2')]);
      const sentAt = Date.now();
      await until(() => healthy.lastId >= r.position, `event ${r.position} on the healthy client`, 2000);
      delays.push(Date.now() - sentAt);
      if (cutSeenAt === null && cut()) cutSeenAt = Date.now();
      assert.ok(n < 300, 'the stalled client is cut within about 15 s');
      await sleep(50);
    }
    assert.ok(delays.length >= 10);
    assert.ok(Math.max(...delays) < 1000, `every new event reached the healthy client within 1 s (max ${Math.max(...delays)} ms)`);

    // The stalled client, reading again, gets what its buffers held, then the end: it was cut.
    let bytes = 0;
    stalled.on('data', (d) => { bytes += d.length; });
    stalled.resume();
    await until(() => stalledEnded, 'the stalled connection to end', 5000);
    const head = (await s.engine.stats()).headPosition;
    assert.ok(bytes > 0 && bytes < 6_000_000, `the stalled client got part of the log (${bytes} bytes)`);
    assertGapless(healthy.events, head, 0, 'the healthy client');
    await healthy.close();
  } finally {
    await s.stop();
  }
});
