#!/usr/bin/env node
// One measurement in a fresh process: `node [--expose-gc] worker.mjs '<json task>'`.
// Prints one line of JSON (the result) on stdout; run.mjs starts it once per contender per run.
import { factories } from './lib/contenders.mjs';
import { postgresFactories } from './lib/postgres-contenders.mjs';
import { PlainStore } from './lib/plain-store.mjs';
import { foldProjections } from './lib/domain.mjs';
import { accountId, depositAmount, INITIAL_DEPOSIT, bigLog, bigLogEvents, apply, runBursts, randomInt } from './lib/workload.mjs';
import { quantile } from './lib/stats.mjs';

const task = JSON.parse(process.argv[2]);
const now = () => performance.now();

// The wasm instance, to read its linear memory size (the glue does not export it).
let wasmInstance = null;
{
  const Orig = WebAssembly.Instance;
  WebAssembly.Instance = new Proxy(Orig, {
    construct(target, args) { const i = Reflect.construct(target, args); wasmInstance = i; return i; },
  });
}
const wasmBytes = () => (wasmInstance ? wasmInstance.exports.memory.buffer.byteLength : 0);

// Memory held: heapUsed + external after two full GCs. `external` already includes
// `arrayBuffers` (Node docs) and, measured here, the wasm linear memory; adding arrayBuffers
// again would count them twice (it stays ~10 KB in these runs anyway).
function memory() {
  globalThis.gc(); globalThis.gc();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, rss: m.rss, wasm: wasmBytes(), total: m.heapUsed + m.external };
}

function* s1Commands(accounts, deposits) {
  for (let i = 0; i < accounts; i++) yield { kind: 'create', id: accountId(i), holder: `Holder ${i}`, initial: INITIAL_DEPOSIT };
  for (let i = 0; i < deposits; i++) yield { kind: 'deposit', id: accountId(i % accounts), amount: depositAmount(i) };
}

/** Runs `commands` on `c` through `callers` concurrent callers, each taking the next command. */
async function byCallers(c, commands, callers) {
  let next = 0;
  const caller = async () => {
    while (next < commands.length) await apply(c, commands[next++]);
  };
  await Promise.all(Array.from({ length: callers }, caller));
}

const scenarios = {
  // 1: every command awaited before the next.
  async s1({ contender, accounts, deposits }) {
    const c = await factories[contender]();
    const half = accounts + Math.floor(deposits / 2);
    let i = 0;
    let tHalf = 0;
    const t0 = now();
    for (const cmd of s1Commands(accounts, deposits)) {
      if (i++ === half) tHalf = now();
      await apply(c, cmd);
    }
    const t1 = now();
    await c.close();
    // The second half alone: the steady state, once the JIT (and wasm tier-up) is warm.
    return { ms: t1 - t0, commands: accounts + deposits, secondHalfMs: t1 - tHalf, secondHalfCommands: accounts + deposits - half };
  },

  // 2: the same commands in bursts of `burst` (Promise.all).
  async s2({ contender, accounts, deposits, burst }) {
    if (burst > accounts) throw new Error('s2 needs burst <= accounts');
    const c = await factories[contender]();
    // The creates first (all of them before any deposit), then the deposits: a burst never
    // holds two commands for one stream (burst <= accounts), so no store sees a conflict.
    const t0 = now();
    const cmds = [...s1Commands(accounts, deposits)];
    const half = accounts + Math.floor(deposits / 2 / burst) * burst;
    await runBursts(c, cmds.slice(0, accounts), burst);
    await runBursts(c, cmds.slice(accounts, half), burst);
    const tHalf = now();
    await runBursts(c, cmds.slice(half), burst);
    const t1 = now();
    await c.close();
    return { ms: t1 - t0, commands: accounts + deposits, secondHalfMs: t1 - tHalf, secondHalfCommands: cmds.length - half };
  },

  // 11: the bank workload on PostgreSQL (a fresh database per measurement): the creates, then
  // the deposits round-robin, by `callers` concurrent callers each taking the next command
  // (1 = each awaited). The balances of three accounts are checked at the end.
  async pg({ contender, connectionString, accounts, deposits, callers }) {
    const c = await postgresFactories[contender](connectionString);
    const commands = [...s1Commands(accounts, deposits)];
    const t0 = now();
    await byCallers(c, commands.slice(0, accounts), callers);
    const half = accounts + Math.floor(deposits / 2);
    await byCallers(c, commands.slice(accounts, half), callers);
    const tHalf = now();
    await byCallers(c, commands.slice(half), callers);
    const t1 = now();
    for (const k of [0, 1, accounts - 1]) {
      let want = INITIAL_DEPOSIT;
      for (let i = k; i < deposits; i += accounts) want += depositAmount(i);
      const got = await c.balance(accountId(k));
      if (got !== want) throw new Error(`${contender}: ${accountId(k)} has ${got}, expected ${want}`);
    }
    await c.close();
    return { ms: t1 - t0, commands: commands.length, secondHalfMs: t1 - tHalf, secondHalfCommands: commands.length - half };
  },

  // 4: time travel inside one stream of `streamLength` events.
  async s4({ contender, full, streamLength, samples, warmup }) {
    const c = await factories[contender]();
    const id = accountId(1);
    const t0 = now();
    // Build the stream. eventjournal through its commands (its only write path); the peers
    // through their stores' append (their command handlers re-read the whole stream per
    // command, O(n^2) to build; what is measured is the read).
    if (contender === 'eventjournal') {
      await c.create(id, 'Holder 1', INITIAL_DEPOSIT);
      for (let i = 0; i < streamLength - 2; i++) await c.deposit(id, depositAmount(i));
    } else {
      const events = [...bigLogEvents(streamLength, 1)].map((e) => ({ ...e, streamId: id }));
      if (contender === 'plain') {
        for (const e of events) c.store.append('BankAccount', id, c.store.streams.get(id)?.length ?? 0, [e]);
      } else if (contender === 'emmett') {
        await c.eventStore.appendToStream(`BankAccount-${id}`, events.map(({ type, data }) => ({ type, data })));
      } else {
        let v = 0;
        for (const e of events) await c.accountsStore.pushEvent({ aggregateId: id, version: ++v, type: e.type, payload: e.data });
      }
    }
    const buildMs = now() - t0;
    // Check once that a load at version v really is the state after v events.
    const check = await c.loadAt(id, 3);
    const balance = check.state?.balance ?? check.aggregate?.balance;
    if (balance !== INITIAL_DEPOSIT + depositAmount(0)) throw new Error(`${contender}: wrong state at version 3: ${JSON.stringify(check, (k, v) => (typeof v === 'bigint' ? Number(v) : v))}`);
    const times = [];
    for (let i = 0; i < warmup + samples; i++) {
      const v = randomInt(1, streamLength);
      const t = now();
      await (full ? c.loadAll(id) : c.loadAt(id, v));
      const dt = now() - t;
      if (i >= warmup) times.push(dt * 1000); // µs
    }
    await c.close();
    return { buildMs, p50: quantile(times, 0.5), p90: quantile(times, 0.9), p99: quantile(times, 0.99), samples };
  },

  // 3, 5 and 9 for eventjournal: build the big log in bursts (timed), memory before/after,
  // then replay() a few times and projection(name, { at: { position } }) at random positions.
  async big({ events, burst, replays, samples, warmup }) {
    const c = await factories.eventjournal();
    const { engine } = c;
    const m0 = memory();
    const t0 = now();
    await runBursts(c, bigLog(events), burst);
    const buildMs = now() - t0;
    const m1 = memory();
    const stats = await engine.stats();
    if (stats.totalEvents !== events) throw new Error(`log holds ${stats.totalEvents} events, expected ${events}`);
    const replayMs = [];
    for (let i = 0; i < replays; i++) {
      const t = now();
      const r = await engine.replay();
      replayMs.push(now() - t);
      if (r.eventsReplayed !== events || r.projectionsRebuilt < 2) throw new Error(`replay: ${JSON.stringify(r)}`);
    }
    const at = [];
    for (let i = 0; i < warmup + samples; i++) {
      const position = randomInt(1, events);
      const t = now();
      const p = await engine.projection('account_balance', { at: { position } });
      const dt = now() - t;
      if (i === 0 && position > 2000 && Object.keys(p).length !== 1000) throw new Error('projection at: wrong number of accounts');
      if (i >= warmup) at.push(dt * 1000);
    }
    const m2 = memory();
    await c.close();
    return {
      buildMs, replayMs,
      atP50: quantile(at, 0.5), atP90: quantile(at, 0.9), atSamples: samples,
      memory: { before: m0, after: m1, afterQueries: m2, bytesPerEvent: (m1.total - m0.total) / events, wasmBytesPerEvent: (m1.wasm - m0.wasm) / events, heapBytesPerEvent: (m1.heapUsed - m0.heapUsed) / events },
    };
  },

  // 3 and 5 for the plain-JS store: the same log (appended below its execute, which would
  // re-fold every stream per command), then the two projections folded over the global array:
  // all of it (replay) or up to a random position (projection at).
  async bigPlain({ events, replays, samples, warmup }) {
    const store = new PlainStore();
    const t0 = now();
    for (const e of bigLogEvents(events)) store.append(e.streamType, e.streamId, store.streams.get(e.streamId)?.length ?? 0, [e]);
    const buildMs = now() - t0;
    const replayMs = [];
    for (let i = 0; i < replays; i++) {
      const t = now();
      const p = foldProjections(store.all);
      replayMs.push(now() - t);
      if (Object.keys(p.account_balance).length !== 1000) throw new Error('plain replay');
    }
    const at = [];
    for (let i = 0; i < warmup + samples; i++) {
      const position = randomInt(1, events);
      const t = now();
      foldProjections(store.all, position);
      const dt = now() - t;
      if (i >= warmup) at.push(dt * 1000);
    }
    return { buildMs, replayMs, atP50: quantile(at, 0.5), atP90: quantile(at, 0.9), atSamples: samples };
  },

  // 9 for the peers: memory held after loading the same `events` events, through each store's
  // own append (account streams first, then orders: Emmett 0.42's in-memory append counts every
  // stream's events for each appended event, O(streams) per event).
  async memoryPeer({ contender, events }) {
    const c = await factories[contender]();
    const m0 = memory();
    const t0 = now();
    const byStream = new Map();
    for (const e of bigLogEvents(events)) {
      let s = byStream.get(e.streamId);
      if (!s) { s = []; byStream.set(e.streamId, s); }
      s.push(e);
    }
    // Account streams first, orders after.
    const streams = [...byStream.entries()].sort((a, b) => (a[1][0].streamType === b[1][0].streamType ? 0 : a[1][0].streamType === 'BankAccount' ? -1 : 1));
    byStream.clear();
    for (const [streamId, list] of streams) {
      const type = list[0].streamType;
      if (contender === 'plain') {
        for (const e of list) c.store.append(type, streamId, c.store.streams.get(streamId)?.length ?? 0, [e]);
      } else if (contender === 'emmett') {
        await c.eventStore.appendToStream(`${type}-${streamId}`, list.map(({ type: t, data }) => ({ type: t, data })));
      } else if (contender === 'castore') {
        const store = type === 'BankAccount' ? c.accountsStore : c.ordersStore;
        let v = 0;
        for (const e of list) await store.pushEvent({ aggregateId: streamId, version: ++v, type: e.type, payload: e.data });
      }
      list.length = 0;
    }
    streams.length = 0;
    const loadMs = now() - t0;
    const m1 = memory();
    await c.close();
    return { loadMs, memory: { before: m0, after: m1, bytesPerEvent: (m1.total - m0.total) / events, heapBytesPerEvent: (m1.heapUsed - m0.heapUsed) / events } };
  },
};

try {
  const result = await scenarios[task.scenario](task);
  process.stdout.write(`${JSON.stringify({ ok: true, ...result })}\n`);
} catch (e) {
  process.stdout.write(`${JSON.stringify({ ok: false, error: String(e?.stack ?? e) })}\n`);
  process.exitCode = 1;
}
