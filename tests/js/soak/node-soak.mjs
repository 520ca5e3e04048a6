// The Node soak: the engine on sqliteStorage with 1% injected append faults, driven by
// ./workload.mjs, with memory sampled over time. Run by soak.test.mjs (bounded) and by
// scripts/soak.sh (long):
//
//   node --expose-gc tests/soak/node-soak.mjs
//
// Environment: SOAK_COMMANDS (default 20000), SOAK_SAMPLES (memory samples, default 20),
// SOAK_SEED, SOAK_FAULT_RATE (default 0.01), SOAK_LEAK_OPS (per kind, default 10000),
// SOAK_MAP_PROJECTION=0 (leave out the map-shaped JS projection 'soak_account_activity'),
// SOAK_LABEL (the JSON is target/reliability/soak-node[-LABEL].json), SOAK_HEAP_BUDGET and
// SOAK_WASM_BUDGET (bytes per event after the warm-up; defaults below).
// Prints the figures, writes the JSON, exits 1 if any check failed.
import { wasmMemoryBytes, wasmInstances } from './wasm-probe.mjs';
import { Engine, sqliteStorage } from 'eventjournal';
import v8 from 'node:v8';
import vm from 'node:vm';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Soak, prng, faultyStorage, leakPhase, checkLogPage, finishLog,
  inventoryAggregate,
} from './workload.mjs';
import { writeReport, table, levelling, MB, timed } from './report.mjs';

const env = process.env;
const COMMANDS = Number(env.SOAK_COMMANDS || 20_000);
const SAMPLES = Number(env.SOAK_SAMPLES || 20);
const SEED = Number(env.SOAK_SEED || Math.floor(Math.random() * 2 ** 31));
const FAULT_RATE = Number(env.SOAK_FAULT_RATE ?? 0.01);
const LEAK_OPS = Number(env.SOAK_LEAK_OPS || 10_000);
const LABEL = env.SOAK_LABEL || '';
// Budgets (bytes per event added after the warm-up), measured at commit 30728c9: JS heap
// 20-28 B/event (20,000 and 1,000,000 commands; mostly the snapshots of the JS projections,
// linear since a82b7b5: before it the map-shaped one grew with the square of the log, 629
// B/event over 1,000,000 commands); wasm linear memory 425 B/event (20,000) and 514 B/event
// (1,000,000) for this mix: the log keeps every event in memory by design, with its indexes,
// the commandId index, per-stream caches and the built-in projections' records; linear memory
// only grows, in steps.
const HEAP_BUDGET = Number(env.SOAK_HEAP_BUDGET || 64);
const WASM_BUDGET = Number(env.SOAK_WASM_BUDGET || 1024);
// Leak phase: what n operations of a kind may add, at most (bytes) = floor + perOp * n.
const LEAK_FLOOR = 512 * 1024;
const LEAK_PER_OP = 16;

const gc = globalThis.gc || (() => { v8.setFlagsFromString('--expose-gc'); return vm.runInNewContext('gc'); })();
const tick = () => new Promise((r) => setTimeout(r, 0));
const log = (...a) => console.log(...a);

// Collects garbage until it settles: FinalizationRegistry callbacks (wasm-bindgen frees the
// Rust side of closures and engines with them) run in a task after the collection that found
// their targets, and what they release is only collectable by the next one.
async function measure() {
  for (let i = 0; i < 3; i += 1) {
    gc();
    await new Promise((r) => setTimeout(r, 5));
  }
  gc();
  const m = process.memoryUsage();
  const wasm = wasmMemoryBytes();
  // Node counts the wasm linear memory in `external`: externalOther is the rest.
  return { heapUsed: m.heapUsed, external: m.external, externalOther: m.external - wasm, arrayBuffers: m.arrayBuffers, rss: m.rss, wasm };
}

const failures = [];
const fail = (m) => { if (failures.length < 50) failures.push(m); };
const dir = mkdtempSync(join(tmpdir(), 'ej-soak-'));
const file = join(dir, 'soak.sqlite');
const started = performance.now();
const durations = {};

log(`# Node soak: ${COMMANDS} commands on sqliteStorage, ${FAULT_RATE * 100}% append faults, SOAK_SEED=${SEED}, ${SAMPLES} samples${env.SOAK_MAP_PROJECTION === '0' ? ', without the map-shaped JS projection' : ''}`);
if (wasmInstances() !== 1) fail(`wasm probe saw ${wasmInstances()} instances (import order?)`);

const random = prng(SEED);
const faults = faultyStorage(await sqliteStorage(file), { rate: FAULT_RATE, random: prng(SEED ^ 0x5eed) });
const engine = await Engine.open({ storage: faults });
const MAP_PROJECTION = env.SOAK_MAP_PROJECTION !== '0';
const soak = new Soak(engine, { commands: COMMANDS, leakOps: LEAK_OPS, random, faults, failures, log, mapProjection: MAP_PROJECTION });
soak.setup();

const samples = [];
const sample = async () => {
  const m = await measure();
  const s = { commands: soak.c.commands, events: soak.totals.events, seconds: Math.round((performance.now() - started) / 100) / 10, ...m };
  samples.push(s);
  return s;
};
await sample();
const perRound = Math.max(1, Math.floor(COMMANDS / SAMPLES));
const [, runMs] = await timed(async () => {
  while (soak.c.commands < COMMANDS) {
    await soak.runRound(Math.min(perRound, COMMANDS - soak.c.commands));
    const s = await sample();
    if (env.SOAK_PROGRESS) log(`  ${s.commands} commands, ${s.events} events, ${s.seconds} s, heap ${MB(s.heapUsed)} MB, wasm ${MB(s.wasm)} MB`);
    if (failures.length > 20) break;
  }
});
durations.runMs = runMs;
const mainRun = { ...soak.c, faultsInjected: faults.stats.faults, appendCalls: faults.stats.appendCalls, events: soak.totals.events };

const [leak, leakMs] = await timed(() => leakPhase(soak, { n: LEAK_OPS, measure }));
durations.leakPhaseMs = leakMs;

// ----- final checks
const checks = [];
const check = (name, ok, detail) => { checks.push({ name, ok: !!ok, detail }); if (!ok) fail(`${name}: ${detail}`); };
const [final, finalMs] = await timed(async () => {
  await tick();
  const stats = await soak.checkTotals('end');
  await soak.checkStreams();
  const verified = await engine.verify();
  check('verify() of the running engine', verified.ok && verified.checked === stats.totalEvents, JSON.stringify(verified));

  // the stored log against the acknowledgements, page by page
  const state = { next: 1, run: null, streams: new Map() };
  for (let from = 0; ;) {
    const page = await engine.readAll({ fromPosition: from, limit: 5000 });
    if (page.length === 0) break;
    checkLogPage(soak, page, state, fail);
    from = page[page.length - 1].position;
  }
  const logCheck = finishLog(soak, state, fail);
  check('every acknowledged command in the log exactly once, at its position', logCheck.lost === 0 && logCheck.duplicated === 0 && logCheck.unexpected === 0, JSON.stringify(logCheck));
  check('positions gapless', state.next === stats.headPosition + 1, `next ${state.next}, head ${stats.headPosition}`);

  // a fresh engine on the same file: the same state, rebuilt from the stored log
  const fresh = await Engine.open({ storage: await sqliteStorage(file) });
  fresh.defineAggregate('Inventory', inventoryAggregate);
  const jsProjections = soak.jsProjections();
  for (const [name, def] of Object.entries(jsProjections)) fresh.defineProjection(name, def());
  const freshStats = await fresh.stats();
  check('fresh engine: same stats (totalEvents, headHash, distribution)', JSON.stringify(freshStats) === JSON.stringify(stats), `${JSON.stringify(freshStats).slice(0, 200)} vs ${JSON.stringify(stats).slice(0, 200)}`);
  const fv = await fresh.verify();
  check('fresh engine: verify()', fv.ok && fv.checked === stats.totalEvents, JSON.stringify(fv));
  for (const name of ['account_balance', 'order_status', ...Object.keys(jsProjections)]) {
    const [a, b] = [JSON.stringify(await engine.projection(name)), JSON.stringify(await fresh.projection(name))];
    check(`fresh engine: projection ${name}`, a === b, `${a.length} vs ${b.length} characters`);
  }
  let differing = 0;
  let first = null;
  for (const [id, type] of state.streams) {
    const [a, b] = [JSON.stringify(await engine.load(type, id)), JSON.stringify(await fresh.load(type, id))];
    if (a !== b) { differing += 1; first = first || `${type}/${id}: ${a} vs ${b}`; }
  }
  check(`fresh engine: load() of all ${state.streams.size} streams`, differing === 0, `${differing} differ; first ${first}`);
  await fresh.close();
  fresh.free();
  return { stats, logCheck, streams: state.streams.size };
});
durations.finalChecksMs = finalMs;
await engine.close();
durations.totalMs = Math.round(performance.now() - started);
const fileBytes = ['', '-wal'].reduce((n, s) => { try { return n + statSync(file + s).size; } catch { return n; } }, 0);
rmSync(dir, { recursive: true, force: true });

// ----- memory: levelling off, and nothing left behind by the leak phase
const heap = levelling(samples, 'heapUsed', { budget: HEAP_BUDGET, superlinear: 1.5, floor: 16 });
const wasm = levelling(samples, 'wasm', { budget: WASM_BUDGET });
const external = levelling(samples, 'externalOther', { budget: 16 });
const arrayBuffers = levelling(samples, 'arrayBuffers', { budget: 16 });
for (const l of [heap, wasm, external, arrayBuffers]) check(`memory levels off: ${l.key}`, l.ok, l.problems.join('; ') || `${l.bytesPerEvent} B/event`);
const leakRows = leak.map((s) => {
  const row = { kind: s.kind, ops: s.ops };
  for (const k of ['heapUsed', 'wasm', 'externalOther', 'arrayBuffers']) row[k] = s.after[k] - s.before[k];
  const limit = LEAK_FLOOR + LEAK_PER_OP * s.ops;
  row.ok = ['heapUsed', 'wasm', 'externalOther', 'arrayBuffers'].every((k) => row[k] <= limit);
  row.limit = limit;
  return row;
});
for (const r of leakRows) check(`nothing left behind: ${r.ops} ${r.kind}`, r.ok, `heap ${r.heapUsed} B, wasm ${r.wasm} B, external (besides wasm) ${r.externalOther} B, arrayBuffers ${r.arrayBuffers} B (limit ${r.limit} B each)`);

// ----- report
const c = mainRun;
log('');
log(table(samples, [
  ['commands', (s) => s.commands], ['events', (s) => s.events], ['s', (s) => s.seconds],
  ['heapUsed MB', (s) => MB(s.heapUsed)], ['external MB', (s) => MB(s.external)], ['arrayBuffers MB', (s) => MB(s.arrayBuffers)],
  ['rss MB', (s) => MB(s.rss)], ['wasm MB', (s) => MB(s.wasm)], ['wasm B/event', (s) => (s.events ? Math.round(s.wasm / s.events) : '-')],
]));
log('');
for (const l of [heap, wasm, external, arrayBuffers]) {
  log(`${l.key.padEnd(12)} after warm-up (${l.from.events} -> ${l.to.events} events): ${l.bytesPerEvent} B/event (halves ${l.firstHalfBytesPerEvent}, ${l.secondHalfBytesPerEvent}; budget ${l.budget}) ${l.ok ? 'ok' : `FAILED: ${l.problems.join('; ')}`}`);
}
log('');
log('nothing left behind (bytes added, after GC):');
log(table(leakRows, [['operations', (r) => `${r.ops} ${r.kind}`], ['heapUsed', (r) => r.heapUsed], ['wasm', (r) => r.wasm], ['external (besides wasm)', (r) => r.externalOther], ['arrayBuffers', (r) => r.arrayBuffers], ['', (r) => (r.ok ? 'ok' : 'FAILED')]]));
log('');
log(`main run: commands ${c.commands} (acknowledged ${c.acknowledged}, ${c.appendedCommands} with events, ${c.refusedAsExpected} refused as the model expected, ${c.burstCommands} in same-stream bursts)`);
log(`storage faults injected ${c.faultsInjected} of ${c.appendCalls} appends -> ${c.storageErrors} StorageErrors, ${c.retries} retries with the same commandId; idempotency probes ${c.idempotencyProbes}`);
log(`subscriptions created/dropped ${c.subscriptionsCreated}/${c.subscriptionsDropped} (+${LEAK_OPS * 1.1} in the leak phase), transient deliveries ${c.transientDeliveries}, audit deliveries ${c.auditDeliveries}, listener throws ${c.listenerThrows} -> onError ${c.onErrorReports}`);
log(`JS projections defined ${c.projectionsDefined}, replays ${c.replays}; streams ${final.streams} (${c.streamsRetired} retired), events ${final.stats.totalEvents}, SQLite file ${MB(fileBytes)} MB`);
log(`leak phase: ${soak.c.commands - c.commands} more commands (repeats, refusals, ${faults.stats.faults - c.faultsInjected} failed appends), ${soak.c.idempotencyProbes - c.idempotencyProbes} idempotency probes`);
log(`events lost: ${final.logCheck.lost}, duplicated: ${final.logCheck.duplicated}, unexpected: ${final.logCheck.unexpected}`);
log(`time: run ${(durations.runMs / 1000).toFixed(1)} s (${Math.round(c.commands / (durations.runMs / 1000))} commands/s), leak phase ${(durations.leakPhaseMs / 1000).toFixed(1)} s, final checks ${(durations.finalChecksMs / 1000).toFixed(1)} s, total ${(durations.totalMs / 1000).toFixed(1)} s`);
const path = writeReport(`soak-node${LABEL ? `-${LABEL}` : ''}`, {
  ok: failures.length === 0, seed: SEED, options: { commands: COMMANDS, samples: SAMPLES, faultRate: FAULT_RATE, mapProjection: MAP_PROJECTION, leakOps: LEAK_OPS, heapBudget: HEAP_BUDGET, wasmBudget: WASM_BUDGET, storage: 'sqliteStorage (synchronous FULL)' },
  counters: c, countersWithLeakPhase: soak.c, faults: { injected: c.faultsInjected, appendCalls: c.appendCalls, storageErrors: c.storageErrors, retries: c.retries },
  events: final.stats.totalEvents, streams: final.streams, sqliteFileBytes: fileBytes, log: final.logCheck,
  eventsLost: final.logCheck.lost, durationsMs: durations, samples, levelling: { heap, wasm, external, arrayBuffers }, leakPhase: leakRows, checks, failures,
});
log(`figures written to ${path}`);
if (failures.length) {
  log(`\nSOAK FAILED (${failures.length}):`);
  for (const f of failures) log(`  - ${f}`);
  process.exit(1);
}
log('soak passed');
