// Browser soak: the workload of tests/js/soak/workload.mjs (both built-in domains, a JS
// aggregate, JS projections defined and replayed, subscriptions coming and going, 1% injected
// append faults retried with the same commandId) on indexedDbStorage in headless Chromium,
// SOAK_BROWSER_COMMANDS commands (default 10,000; scripts/soak.sh runs 100,000), with the
// page's memory sampled over time (JS heap after a forced GC via CDP, the wasm linear memory,
// performance.memory, engine.stats()). Then: 10,000 operations of each kind that must leave
// nothing behind; the end-of-run checks (model, log against acknowledgements); a reload of
// the page and a fresh engine on the same database that must reproduce stats, projections
// and every stream's load().
//
// Environment: SOAK_BROWSER_COMMANDS, SOAK_SAMPLES (default 20), SOAK_SEED, SOAK_FAULT_RATE
// (default 0.01), SOAK_LEAK_OPS (default 10,000), SOAK_BROWSER_DURABILITY (default 'strict'),
// SOAK_LABEL (JSON name suffix), SOAK_HEAP_BUDGET / SOAK_WASM_BUDGET (bytes per event),
// SOAK_MAP_PROJECTION=0 (leave out the map-shaped JS projection 'soak_account_activity').
// Figures on stdout and in target/reliability/soak-browser[-LABEL].json. The run happens first;
// then each check is one node:test test (and one more for page errors and fatal failures).
import { test } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveTests } from './support/server.mjs';
import { launchPersistent as launch, waitFor, sleep } from './support/browser.mjs';
import { seedFrom } from './support/prng.mjs';
import { writeReport, table, levelling, MB } from './soak/report.mjs';

const env = process.env;
const COMMANDS = Number(env.SOAK_BROWSER_COMMANDS || 10_000);
const SAMPLES = Number(env.SOAK_SAMPLES || 20);
const SEED = seedFrom(env.SOAK_SEED);
const FAULT_RATE = Number(env.SOAK_FAULT_RATE ?? 0.01);
const LEAK_OPS = Number(env.SOAK_LEAK_OPS || 10_000);
const DURABILITY = env.SOAK_BROWSER_DURABILITY || 'strict';
const LABEL = env.SOAK_LABEL || '';
const HEAP_BUDGET = Number(env.SOAK_HEAP_BUDGET || 64);
const WASM_BUDGET = Number(env.SOAK_WASM_BUDGET || 1024);
const LEAK_FLOOR = 512 * 1024;
const LEAK_PER_OP = 16;
const DB = 'soak';
const MAP_PROJECTION = env.SOAK_MAP_PROJECTION !== '0';

const t0 = performance.now();
const failures = [];
const fail = (m) => { if (failures.length < 50) failures.push(m); };
const checks = [];
const check = (name, ok, detail) => { checks.push({ name, ok: !!ok, detail }); if (!ok) fail(`${name}: ${detail}`); };
const durations = {};
const site = await serveTests();
const { origin } = site;
const profile = await mkdtemp(join(tmpdir(), 'ej-soak-browser-'));
const context = await launch(profile);
let cdp = null;
// Garbage collection until it settles (FinalizationRegistry callbacks run in a later task and
// free more), then the JS heap of the page.
await context.exposeFunction('ejMeasure', async () => {
  for (let i = 0; i < 3; i += 1) {
    await cdp.send('HeapProfiler.collectGarbage');
    await sleep(10);
  }
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize, totalSize } = await cdp.send('Runtime.getHeapUsage');
  return { heapUsed: usedSize, heapTotal: totalSize };
});

let summary;
let fresh;
let samples = [];
let leak = [];
let progress;
try {
  const page = await context.newPage();
  page.on('pageerror', (e) => fail(`page error: ${e.message}`));
  cdp = await context.newCDPSession(page);
  await page.goto(`${origin}/tests/soak/page.html`);
  await waitFor(page, 'harnessReady');
  console.log(`# Browser soak: ${COMMANDS} commands on indexedDbStorage (durability '${DURABILITY}'), ${FAULT_RATE * 100}% append faults, SOAK_SEED=${SEED}, Chromium ${context.browser()?.version() ?? ''}`);
  await page.evaluate((o) => window.S.start(o), { db: DB, durability: DURABILITY, commands: COMMANDS, leakOps: LEAK_OPS, seed: SEED, faultRate: FAULT_RATE, mapProjection: MAP_PROJECTION });

  const sample = async (p) => {
    const m = await page.evaluate(() => window.S.measure());
    const s = { commands: p.commands, events: p.events, seconds: Math.round((performance.now() - t0) / 100) / 10, ...m };
    samples.push(s);
    return s;
  };
  progress = await page.evaluate(() => window.S.progress());
  await sample(progress);
  const perRound = Math.max(1, Math.floor(COMMANDS / SAMPLES));
  const runStart = performance.now();
  while (progress.commands < COMMANDS && progress.failures <= 20) {
    progress = await page.evaluate((n) => window.S.round(n), Math.min(perRound, COMMANDS - progress.commands));
    const s = await sample(progress);
    if (env.SOAK_PROGRESS) console.log(`  ${s.commands} commands, ${s.events} events, ${s.seconds} s, heap ${MB(s.heapUsed)} MB, wasm ${MB(s.wasm)} MB`);
  }
  durations.runMs = Math.round(performance.now() - runStart);

  let t = performance.now();
  leak = await page.evaluate((n) => window.S.leak(n), LEAK_OPS);
  durations.leakPhaseMs = Math.round(performance.now() - t);

  t = performance.now();
  summary = await page.evaluate(() => window.S.final());
  for (const f of summary.failures) fail(f);
  const stats = summary.stats;
  check('verify() of the running engine', summary.verify.ok && summary.verify.checked === stats.totalEvents, JSON.stringify(summary.verify));
  const lc = summary.logCheck;
  check('every acknowledged command in the log exactly once, at its position', lc.lost === 0 && lc.duplicated === 0 && lc.unexpected === 0, JSON.stringify(lc));
  check('positions gapless', summary.next === stats.headPosition + 1, `next ${summary.next}, head ${stats.headPosition}`);

  // reload the page (the engine is not closed: like a tab that goes away) and reopen
  await page.reload();
  await waitFor(page, 'harnessReady');
  fresh = await page.evaluate((o) => window.S.reopen(o), { db: DB, durability: DURABILITY, streams: summary.streams, defined: summary.defined, mapProjection: summary.mapProjection });
  check('after reload: same stats (totalEvents, headHash, distribution)', JSON.stringify(fresh.stats) === JSON.stringify(stats), `${JSON.stringify(fresh.stats).slice(0, 200)} vs ${JSON.stringify(stats).slice(0, 200)}`);
  check('after reload: verify()', fresh.verify.ok && fresh.verify.checked === stats.totalEvents, JSON.stringify(fresh.verify));
  for (const name of Object.keys(summary.projections)) {
    check(`after reload: projection ${name}`, fresh.projections[name] === summary.projections[name], `${fresh.projections[name].length} vs ${summary.projections[name].length} characters`);
  }
  const differing = summary.loads.filter((l, i) => l !== fresh.loads[i]).length;
  check(`after reload: load() of all ${summary.streams.length} streams`, differing === 0, `${differing} differ`);
  durations.finalChecksMs = Math.round(performance.now() - t);
  await page.close();
} catch (e) {
  fail(`fatal: ${e && e.stack || e}`);
} finally {
  await context.close().catch(() => {});
  await site.close();
  await rm(profile, { recursive: true, force: true }).catch(() => {});
}
durations.totalMs = Math.round(performance.now() - t0);

let report = {};
if (samples.length > 2 && summary) {
  const heap = levelling(samples, 'heapUsed', { budget: HEAP_BUDGET, superlinear: 1.5, floor: 16 });
  const wasm = levelling(samples, 'wasm', { budget: WASM_BUDGET });
  for (const l of [heap, wasm]) check(`memory levels off: ${l.key}`, l.ok, l.problems.join('; ') || `${l.bytesPerEvent} B/event`);
  const leakRows = leak.map((s) => {
    const row = { kind: s.kind, ops: s.ops, heapUsed: s.after.heapUsed - s.before.heapUsed, wasm: s.after.wasm - s.before.wasm };
    row.limit = LEAK_FLOOR + LEAK_PER_OP * s.ops;
    row.ok = row.heapUsed <= row.limit && row.wasm <= row.limit;
    return row;
  });
  for (const r of leakRows) check(`nothing left behind: ${r.ops} ${r.kind}`, r.ok, `heap ${r.heapUsed} B, wasm ${r.wasm} B (limit ${r.limit} B each)`);
  const c = summary.counters;
  const mainRun = progress.counters;
  console.log('');
  console.log(table(samples, [
    ['commands', (s) => s.commands], ['events', (s) => s.events], ['s', (s) => s.seconds],
    ['JS heap MB (after GC)', (s) => MB(s.heapUsed)], ['performance.memory used MB', (s) => (s.usedJSHeapSize === null ? '-' : MB(s.usedJSHeapSize))],
    ['wasm MB', (s) => MB(s.wasm)], ['wasm B/event', (s) => (s.events ? Math.round(s.wasm / s.events) : '-')],
  ]));
  console.log('');
  for (const l of [heap, wasm]) {
    console.log(`${l.key.padEnd(8)} after warm-up (${l.from.events} -> ${l.to.events} events): ${l.bytesPerEvent} B/event (halves ${l.firstHalfBytesPerEvent}, ${l.secondHalfBytesPerEvent}; budget ${l.budget}) ${l.ok ? 'ok' : `FAILED: ${l.problems.join('; ')}`}`);
  }
  console.log('');
  console.log('nothing left behind (bytes added, after GC):');
  console.log(table(leakRows, [['operations', (r) => `${r.ops} ${r.kind}`], ['JS heap', (r) => r.heapUsed], ['wasm', (r) => r.wasm], ['', (r) => (r.ok ? 'ok' : 'FAILED')]]));
  console.log('');
  console.log(`main run: commands ${mainRun.commands} (acknowledged ${mainRun.acknowledged}, ${mainRun.refusedAsExpected} refused as the model expected, ${mainRun.burstCommands} in same-stream bursts)`);
  console.log(`storage faults injected ${progress.faults.faults} of ${progress.faults.appendCalls} appends -> ${mainRun.storageErrors} StorageErrors, ${mainRun.retries} retries with the same commandId`);
  console.log(`subscriptions created/dropped ${mainRun.subscriptionsCreated}/${mainRun.subscriptionsDropped} (+${LEAK_OPS * 1.1} in the leak phase), JS projections defined ${mainRun.projectionsDefined}, replays ${mainRun.replays}; streams ${summary.streams.length}, events ${summary.stats.totalEvents}`);
  console.log(`events lost: ${summary.logCheck.lost}, duplicated: ${summary.logCheck.duplicated}, unexpected: ${summary.logCheck.unexpected}`);
  console.log(`time: run ${(durations.runMs / 1000).toFixed(1)} s (${Math.round(mainRun.commands / (durations.runMs / 1000))} commands/s), leak phase ${(durations.leakPhaseMs / 1000).toFixed(1)} s, final checks and reload ${(durations.finalChecksMs / 1000).toFixed(1)} s, total ${(durations.totalMs / 1000).toFixed(1)} s`);
  report = {
    counters: mainRun, countersWithLeakPhase: c,
    faults: { injected: progress.faults.faults, appendCalls: progress.faults.appendCalls, storageErrors: mainRun.storageErrors, retries: mainRun.retries },
    events: summary.stats.totalEvents, streams: summary.streams.length, log: summary.logCheck, eventsLost: summary.logCheck.lost,
    samples, levelling: { heap, wasm }, leakPhase: leakRows,
  };
}
const path = writeReport(`soak-browser${LABEL ? `-${LABEL}` : ''}`, {
  ok: failures.length === 0, seed: SEED,
  options: { commands: COMMANDS, samples: SAMPLES, faultRate: FAULT_RATE, mapProjection: MAP_PROJECTION, leakOps: LEAK_OPS, durability: DURABILITY, heapBudget: HEAP_BUDGET, wasmBudget: WASM_BUDGET, storage: 'indexedDbStorage' },
  durationsMs: durations, ...report, checks, failures,
});
console.log(`figures written to ${path}`);
for (const c of checks) {
  test(`browser soak: ${c.name}`, () => { if (!c.ok) throw new Error(c.detail); });
}
const otherFailures = failures.filter((f) => !checks.some((c) => !c.ok && f === `${c.name}: ${c.detail}`));
test('browser soak: no page error, harness failure or fatal error', () => {
  if (otherFailures.length > 0) throw new Error(otherFailures.join('\n'));
});
