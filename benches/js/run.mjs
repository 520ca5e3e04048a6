#!/usr/bin/env node
// eventjournal vs its peers, side by side in one run; rewrites the peers section of
// BENCHMARKS.md (between <!-- peers:start --> and <!-- peers:end -->).
//
//   node benches/js/run.mjs [--quick] [--runs N] [--only 1,2,...] [--no-write] [--profile]
//                           [--opfs-pragmas 'p1;p2']
//
// --quick     fewer events (the same shapes: 1,000 accounts, bursts and transactions of 1,000), a
//             short run; prints the section, writes only with --write. `make bench-quick` is
//             `--quick --only 1,6,7,8`: the speed regression guard
// --runs N    runs per figure (default 3, at least 3 unless --quick)
// --only      scenarios to run (1-13); the others are left out of the section
// --no-write  print the section instead of writing BENCHMARKS.md
// --profile [2|11a|11b|12]  instead of benchmarking: node --cpu-prof of scenario 1 (or 2, 11a,
//             11b: the eventjournal worker; 12: the sync server process) and where its time goes
//             (wasm, JSON, GC, glue, promises...); for 11 and 12 also pg_stat_statements
// --opfs-pragmas  PRAGMAs for the OPFS peer's connection, ';'-separated, run in order after opening
//             (default none: SQLite's defaults, journal_mode=delete and synchronous=full)
//
// Every Node measurement runs in a fresh child process (worker.mjs); in each run the
// contenders go one after the other, in an order that rotates from run to run, and a ratio is
// computed within each run, so machine noise between runs does not leak into the ratios.
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { gzipSync, constants as zlibConstants } from 'node:zlib';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import os from 'node:os';
import { median } from './lib/stats.mjs';
import { fmtTime, fmtUs, fmtRate, fmtX, fmtBytes, int, spread, ratioCell, met, table } from './lib/format.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const require = createRequire(import.meta.url);

// ------------------------------------------------------------------------------------ options
const argv = process.argv.slice(2);
const flag = (f) => argv.includes(f);
const opt = (f) => { const i = argv.indexOf(f); return i >= 0 ? argv[i + 1] : undefined; };
const QUICK = flag('--quick');
const RUNS = Math.max(QUICK ? 1 : 3, Number(opt('--runs') ?? 3));
const ONLY = opt('--only') ? new Set(opt('--only').split(',').map(Number)) : null;
const want = (n) => !ONLY || ONLY.has(n);
const OPFS_PRAGMAS = (opt('--opfs-pragmas') ?? '').split(';').map((p) => p.trim()).filter(Boolean);

// --quick keeps the shapes of the full run (1,000 accounts, bursts and transactions of 1,000) so
// that its ratios say something about the targets; it has a fifth of the deposits (cold start
// weighs more) and fewer samples.
const SIZES = QUICK
  ? { accounts: 1000, deposits: 20_000, burst: 1000, streamLength: 1_000, loadSamples: 100, loadWarmup: 20,
    bigEvents: 20_000, replays: 3, atSamples: 20, atWarmup: 3, plainAtSamples: 10, memEvents: 20_000,
    idbAccounts: 1000, idbDeposits: 20_000, txSize: 1000, singleSamples: 100, singleWarmup: 10,
    pgDeposits: 20_000, serverWarmupMs: 2000, serverMeasureMs: 5000 }
  : { accounts: 1000, deposits: 100_000, burst: 1000, streamLength: 10_000, loadSamples: 1000, loadWarmup: 200,
    bigEvents: 1_000_000, replays: 5, atSamples: 200, atWarmup: 20, plainAtSamples: 40, memEvents: 1_000_000,
    idbAccounts: 1000, idbDeposits: 100_000, txSize: 1000, singleSamples: 200, singleWarmup: 20,
    pgDeposits: 100_000, serverWarmupMs: 3000, serverMeasureMs: 10_000 };
const IDB_PAGE = 10_000; // the engine's read page size (checked in the run: readLimits)
const DURABILITY = 'strict'; // indexedDbStorage's default; the raw floors use the same

const T0 = Date.now();
const LOAD_START = os.loadavg();
const elapsed = () => `${((Date.now() - T0) / 1000).toFixed(0).padStart(4)} s`;
const log = (...a) => console.log(`[${elapsed()}]`, ...a);

// ------------------------------------------------------------------------------------ workers
function runWorker(task, { gc = false, extraFlags = [] } = {}) {
  const args = [...(gc ? ['--expose-gc'] : []), ...extraFlags, join(here, 'worker.mjs'), JSON.stringify(task)];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: here, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('close', () => {
      const line = out.trim().split('\n').pop();
      try {
        const r = JSON.parse(line);
        if (r.ok) resolve(r); else reject(new Error(r.error));
      } catch {
        reject(new Error(`worker died: ${err || out}`));
      }
    });
  });
}

const measure = runWorker;

// pkg/ may be rebuilt (make pkg) while the harness runs. Each scenario group is measured on one
// build: before it starts we wait until pkg/ is complete and has not changed for 20 s; if the
// build changes while it runs (or it fails the way a half-written pkg/ fails), the group is
// measured again from scratch.
const pkgRoot = () => dirname(require.resolve('eventjournal/package.json'));
const PKG_FILES = ['package.json', 'index.js', 'index.cjs', 'index.node.mjs', 'node/eventjournal.js', 'node/eventjournal_bg.wasm', 'web/eventjournal.js', 'web/eventjournal_bg.wasm'];
function pkgId() {
  try {
    const h = createHash('sha256');
    for (const f of ['node/eventjournal_bg.wasm', 'web/eventjournal_bg.wasm', 'index.cjs', 'index.js']) h.update(readFileSync(join(pkgRoot(), f)));
    // every file under lib/, its subfolders (keys/, server/) included
    for (const f of readdirSync(join(pkgRoot(), 'lib'), { recursive: true }).sort()) {
      const file = join(pkgRoot(), 'lib', f);
      if (statSync(file).isFile()) h.update(readFileSync(file));
    }
    return h.digest('hex').slice(0, 12);
  } catch { return null; }
}
async function waitForPkg() {
  const deadline = Date.now() + 15 * 60_000;
  let said = false;
  for (;;) {
    let ok = false;
    try {
      const root = pkgRoot();
      const newest = Math.max(...PKG_FILES.map((f) => statSync(join(root, f)).mtimeMs), ...readdirSync(join(root, 'lib')).map((f) => statSync(join(root, 'lib', f)).mtimeMs));
      ok = Date.now() - newest > 20_000;
    } catch { ok = false; }
    if (ok) return;
    if (Date.now() > deadline) throw new Error('pkg/ is missing or still changing after 15 minutes (run make pkg)');
    if (!said) { log('  waiting for pkg/ to be complete and unchanged for 20 s (being rebuilt?)'); said = true; }
    await new Promise((r) => setTimeout(r, 5_000));
  }
}
// (The OPFS peer's failures name opfs-worker and are never transient: pkg/ plays no part there.)
const transientError = (e) => !/opfs-worker/.test(String(e?.message ?? e)) && /Cannot find module|Cannot find package|ERR_MODULE_NOT_FOUND|ENOENT|CompileError|LinkError|wasm|worker died|bench page did not load|Failed to fetch|net::ERR/i.test(String(e?.message ?? e));
const builds = []; // { label, id }
async function stable(label, fn) {
  for (let attempt = 1; ; attempt++) {
    await waitForPkg();
    const id = pkgId();
    const ns = sections.length;
    const nsum = summary.length;
    try {
      const r = await fn();
      if (pkgId() === id) { builds.push({ label, id }); return r; }
      log(`  ! pkg/ changed while scenarios ${label} ran: measuring them again on the new build`);
    } catch (e) {
      if (!transientError(e)) throw e;
      log(`  ! scenarios ${label} failed (${String(e.message).split('\n')[0]}): pkg/ being rebuilt? measuring them again`);
    }
    sections.length = ns;
    summary.length = nsum;
    if (attempt >= 4) throw new Error(`pkg/ kept changing while scenarios ${label} ran`);
  }
}

const rotate = (xs, r) => xs.map((_, i) => xs[(i + r) % xs.length]);

/** Runs `task(contender)` for each contender, RUNS times, rotating the order. */
async function paired(label, contenders, task, opts) {
  const results = Object.fromEntries(contenders.map((c) => [c, []]));
  for (let r = 0; r < RUNS; r++) {
    for (const c of rotate(contenders, r)) {
      const res = await measure(task(c), opts);
      results[c].push(res);
      log(`${label} run ${r + 1}/${RUNS} ${c}: ${brief(res)}`);
    }
  }
  return results;
}

function brief(r) {
  if (r.p50 !== undefined) return `p50 ${r.p50.toFixed(1)} µs`;
  if (r.memory) return `${r.memory.bytesPerEvent.toFixed(0)} B/event`;
  if (r.ms !== undefined) return `${(r.ms / 1000).toFixed(2)} s`;
  if (r.buildMs !== undefined) return `build ${(r.buildMs / 1000).toFixed(1)} s`;
  return JSON.stringify(r).slice(0, 80);
}

// ------------------------------------------------------------------------------------ formatting

const NAMES = {
  eventjournal: 'eventjournal',
  plain: 'plain-JS store (floor: folds each stream, `evolve` spreads the state)',
  lean: 'lean plain-JS store (floor: cached state per stream, mutated in place)',
  emmett: 'Emmett 0.42 `DeciderCommandHandler` + `getInMemoryEventStore()`',
  castore: 'Castore 2.4 `Command` + `EventStore` + in-memory adapter',
};

// ------------------------------------------------------------------------------------ scenarios
const sections = []; // { s, text }
const summary = []; // { scenario, target, value, ok }

async function scenario12() {
  const contenders = ['eventjournal', 'plain', 'lean', 'emmett', 'castore'];
  const { accounts, deposits, burst } = SIZES;
  const n = accounts + deposits;
  for (const s of [1, 2]) {
    if (!want(s)) continue;
    log(`scenario ${s}: ${int(accounts)} create_account + ${int(deposits)} deposits, ${s === 1 ? 'each awaited' : `bursts of ${burst}`}`);
    const res = await paired(`s${s}`, contenders, (contender) => ({ scenario: `s${s}`, contender, accounts, deposits, burst }));
    const ej = res.eventjournal.map((r) => r.ms);
    // Target 1b (the same as 1, against the lean floor) replaced scenario 1's target against the
    // spreading floor; scenario 2 keeps its target against the spreading floor.
    const targets = s === 1 ? { emmett: { t: 10, id: '1' }, lean: { t: 1.0, id: '1b' } } : { plain: { t: 1.5, id: '2' } };
    const what = { emmett: 'eventjournal vs Emmett', lean: 'eventjournal vs the lean plain-JS store', plain: 'eventjournal vs plain-JS store (spreading `evolve`)' };
    const rows = contenders.map((c) => {
      const ms = res[c].map((r) => r.ms);
      const ratios = ms.map((m, i) => m / ej[i]);
      const t = targets[c]?.t;
      if (t !== undefined) summary.push({ s, id: targets[c].id, what: what[c], target: `≥ ${t}×`, value: fmtX(median(ratios)), ok: median(ratios) >= t });
      const steady = res[c].map((r) => r.secondHalfCommands / (r.secondHalfMs / 1000));
      return [c === 'eventjournal' ? '**eventjournal**' : NAMES[c], fmtTime(median(ms)), spread(ms, fmtTime), fmtRate(n / (median(ms) / 1000)), fmtRate(median(steady)),
        c === 'eventjournal' ? '—' : ratioCell(ratios), t !== undefined ? `≥ ${t}×` : 'info', t !== undefined ? met(median(ratios) >= t) : ''];
    });
    sections.push({ s: s, text: `### ${s}. Node, in memory: ${int(accounts)} create_account, then ${int(deposits)} deposits round-robin, ${s === 1 ? 'each awaited' : `in bursts of ${int(burst)} (Promise.all)`}

Time for all ${int(n)} commands (creates included), per fresh process (cold start included: the first thousands of commands run before V8 has tiered up the JIT and the wasm code). "Second half alone" is the rate over the last half of the deposits: the warm, steady state. Ratio (on the whole run): the contender's time ÷ eventjournal's time in the same run (above 1 = eventjournal is faster). The two plain-JS floors make the same decisions with the same checks (amounts validated, expected-version check on append, \`crypto.randomUUID()\` per event); the first folds the stream from its first event on every command with an \`evolve\` that spreads the state, the lean one keeps each stream's state cached and mutates it in place (benches/js/README.md says what it does and does not do).

${table(['contender', 'median', 'min – max', 'commands/s', 'second half alone, commands/s', 'eventjournal speed-up', 'target', ''], rows)}` });
  }
}

async function scenario4() {
  if (!want(4)) return;
  const { streamLength, loadSamples, loadWarmup } = SIZES;
  log(`scenario 4: load at a random version of a ${int(streamLength)}-event stream`);
  const contenders = ['eventjournal', 'emmett', 'emmettFull', 'castore', 'plain'];
  const res = await paired('s4', contenders, (c) => ({
    scenario: 's4', contender: c === 'emmettFull' ? 'emmett' : c, full: c === 'emmettFull', streamLength, samples: loadSamples, warmup: loadWarmup,
  }));
  const ej = res.eventjournal.map((r) => r.p50);
  const label = {
    eventjournal: '**eventjournal** `load(…, { at: { version } })`',
    emmett: 'Emmett `aggregateStream(…, { read: { to: version } })`',
    emmettFull: 'Emmett `aggregateStream` of the whole stream',
    castore: 'Castore `getAggregate(id, { maxVersion })`',
    plain: 'plain-JS store: fold the stream up to the version',
  };
  const rows = contenders.map((c) => {
    const p50 = res[c].map((r) => r.p50);
    const ratios = p50.map((v, i) => v / ej[i]);
    let target = 'info';
    let ok = '';
    if (c === 'eventjournal') {
      target = 'p50 ≤ 20 µs'; ok = met(median(p50) <= 20);
      summary.push({ s: 4, what: 'eventjournal load at a version, p50', target: '≤ 20 µs', value: fmtUs(median(p50)), ok: median(p50) <= 20 });
    } else if (c === 'emmett' || c === 'emmettFull') {
      target = '≥ 100×'; ok = met(median(ratios) >= 100);
      summary.push({ s: 4, what: `eventjournal vs Emmett aggregateStream (${c === 'emmett' ? 'to the same version' : 'whole stream'})`, target: '≥ 100×', value: fmtX(median(ratios)), ok: median(ratios) >= 100 });
    }
    return [label[c], fmtUs(median(p50)), spread(p50, fmtUs), fmtUs(median(res[c].map((r) => r.p90))), c === 'eventjournal' ? '—' : ratioCell(ratios), target, ok];
  });
  sections.push({ s: 4, text: `### 4. Time travel: load an account at a random version of a ${int(streamLength)}-event stream

${int(loadSamples)} loads at uniformly random versions per run (after ${int(loadWarmup)} warm-up loads), each timed alone; the figure per run is the p50. The stream is built through eventjournal's commands; the peers' streams are appended through their stores' own append (the read is what is measured). Ratio: the contender's p50 ÷ eventjournal's p50 in the same run. The target "≥ 100× Emmett's aggregateStream of that stream" is checked both ways: Emmett folding up to the same version (the like-for-like time-travel query) and Emmett folding the whole stream.

${table(['contender', 'p50 (median of runs)', 'min – max', 'p90', 'eventjournal speed-up', 'target', ''], rows)}` });
}

let bigResults = null;
async function scenarioBig() {
  if (!want(3) && !want(5) && !want(9)) return;
  const { bigEvents, burst, replays, atSamples, atWarmup, plainAtSamples, memEvents } = SIZES;
  log(`scenarios 3, 5, 9: a ${int(bigEvents)}-event log (1,000 accounts, deposits, an order every 100 commands)`);
  const res = { eventjournal: [], plain: [] };
  for (let r = 0; r < RUNS; r++) {
    for (const c of rotate(['eventjournal', 'plain'], r)) {
      const task = c === 'eventjournal'
        ? { scenario: 'big', events: bigEvents, burst, replays, samples: atSamples, warmup: atWarmup }
        : { scenario: 'bigPlain', events: bigEvents, replays, samples: plainAtSamples, warmup: 2 };
      const x = await measure(task, { gc: true });
      res[c].push(x);
      log(`big run ${r + 1}/${RUNS} ${c}: build ${(x.buildMs / 1000).toFixed(1)} s, replay ${fmtTime(median(x.replayMs))}, projection at p50 ${fmtUs(x.atP50)}${x.memory ? `, ${x.memory.bytesPerEvent.toFixed(0)} B/event` : ''}`);
    }
  }
  bigResults = res;

  const ejReplay = res.eventjournal.map((x) => median(x.replayMs));
  const plReplay = res.plain.map((x) => median(x.replayMs));
  const ejBuild = res.eventjournal.map((x) => x.buildMs);
  if (want(3)) {
    const rate = ejReplay.map((ms) => bigEvents / (ms / 1000));
    const plRate = plReplay.map((ms) => bigEvents / (ms / 1000));
    summary.push({ s: 3, what: `eventjournal replay() over ${int(bigEvents)} events`, target: '≥ 20 M events/s', value: fmtRate(median(rate)), ok: median(rate) >= 20e6 });
    const rows = [
      ['**eventjournal** `engine.replay()` (both projections)', fmtTime(median(ejReplay)), spread(ejReplay, fmtTime), fmtRate(median(rate)), `${fmtX(median(rate) / 20e6)} of the target`, '≥ 20 M events/s', met(median(rate) >= 20e6)],
      ['plain-JS: fold the same two projections over its array', fmtTime(median(plReplay)), spread(plReplay, fmtTime), fmtRate(median(plRate)), `eventjournal ${ratioCell(plReplay.map((p, i) => p / ejReplay[i]))}`, 'info', ''],
      [`building the log: eventjournal, ${int(bigEvents)} events by commands in bursts of ${int(burst)}`, fmtTime(median(ejBuild)), spread(ejBuild, fmtTime), `${fmtRate(median(ejBuild.map((ms) => bigEvents / (ms / 1000))))} events`, '', 'info', ''],
    ];
    sections.push({ s: 3, text: `### 3. Rebuild both built-in projections over ${int(bigEvents)} events (\`engine.replay()\`, Node)

One ${int(bigEvents)}-event log per run (built by commands in bursts; the build is timed too), then ${replays} replays; the figure per run is the median of its replays. For scale, the same two projections folded by plain JS over the plain-JS store's array of the same events.

${table(['what', 'median', 'min – max', 'events/s', 'ratio', 'target', ''], rows)}` });
  }
  if (want(5)) {
    const ej = res.eventjournal.map((x) => x.atP50);
    const pl = res.plain.map((x) => x.atP50);
    summary.push({ s: 5, what: 'eventjournal projection at a random position, p50', target: '≤ 1 ms', value: fmtUs(median(ej)), ok: median(ej) <= 1000 });
    const rows = [
      ["**eventjournal** `projection('account_balance', { at: { position } })`", fmtUs(median(ej)), spread(ej, fmtUs), fmtUs(median(res.eventjournal.map((x) => x.atP90))), '—', 'p50 ≤ 1 ms', met(median(ej) <= 1000)],
      ['plain-JS: fold from the start up to the position', fmtUs(median(pl)), spread(pl, fmtUs), fmtUs(median(res.plain.map((x) => x.atP90))), ratioCell(pl.map((p, i) => p / ej[i])), 'info', ''],
    ];
    sections.push({ s: 5, text: `### 5. Projection as of a random position of the ${int(bigEvents)}-event log (Node)

${int(atSamples)} queries at uniformly random positions per run (after ${atWarmup} warm-up), each timed alone, on the log of scenario 3; the figure per run is the p50 (the state returned holds up to 1,000 accounts).

${table(['what', 'p50 (median of runs)', 'min – max', 'p90', 'eventjournal speed-up', 'target', ''], rows)}` });
  }
  if (want(9)) {
    log(`scenario 9: memory of the peers at ${int(memEvents)} events`);
    const peers = ['castore', 'emmett', 'plain'];
    const mem = await paired('s9', peers, (contender) => ({ scenario: 'memoryPeer', contender, events: memEvents }), { gc: true });
    const ej = res.eventjournal.map((x) => x.memory.bytesPerEvent);
    summary.push({ s: 9, what: `eventjournal memory per event at ${int(bigEvents)} events`, target: '≤ 200 B', value: fmtBytes(median(ej)), ok: median(ej) <= 200 });
    const rows = [
      ['**eventjournal** (wasm linear memory + JS heap)', fmtBytes(median(ej)), spread(ej, fmtBytes),
        `wasm ${fmtBytes(median(res.eventjournal.map((x) => x.memory.wasmBytesPerEvent)))}, JS heap ${fmtBytes(median(res.eventjournal.map((x) => x.memory.heapBytesPerEvent)))}; wasm memory ${(median(res.eventjournal.map((x) => x.memory.after.wasm)) / 2 ** 20).toFixed(0)} MiB`,
        '—', '≤ 200 B/event', met(median(ej) <= 200)],
      ...peers.map((c) => {
        const b = mem[c].map((x) => x.memory.bytesPerEvent);
        const load = mem[c].map((x) => x.loadMs);
        return [NAMES[c], fmtBytes(median(b)), spread(b, fmtBytes), `loaded in ${fmtTime(median(load))}`, `${fmtX(median(b.map((v, i) => v / ej[i % ej.length])))} eventjournal's`, 'info', ''];
      }),
    ];
    sections.push({ s: 9, text: `### 9. Memory held per event at ${int(memEvents)} events (Node)

Each store in its own \`node --expose-gc\` process: \`heapUsed + external\` after two \`gc()\`, before and after loading the log of scenario 3, divided by the event count. \`external\` already contains \`arrayBuffers\` and (measured) the wasm linear memory, so adding \`arrayBuffers\` again would count them twice. eventjournal is loaded by its commands (it also holds its projections, snapshots and hash chain); the peers through their stores' own append (Emmett's \`appendToStream\`, Castore's \`pushEvent\`, the plain store's append), the same events. Wasm memory only grows, so eventjournal's figure is the linear memory reserved, not just used.

${table(['store', 'bytes/event (median)', 'min – max', 'detail', 'vs eventjournal', 'target', ''], rows)}` });
  }
}

function scenario10() {
  if (!want(10)) return;
  const pkgDir = dirname(require.resolve('eventjournal/package.json'));
  const wasmPath = join(pkgDir, 'web', 'eventjournal_bg.wasm');
  const wasm = readFileSync(wasmPath);
  const gz = (buf) => {
    try { return execFileSync('gzip', ['-9', '-c'], { input: buf, maxBuffer: 1 << 28 }).length; } catch { return gzipSync(buf, { level: zlibConstants.Z_BEST_COMPRESSION }).length; }
  };
  const wasmGz = gz(wasm);
  const glue = readFileSync(join(pkgDir, 'web', 'eventjournal.js'));
  const glueGz = gz(glue);
  // The whole browser entry: what `import 'eventjournal'` loads besides the .wasm.
  const entryFiles = [];
  (function walk(f) {
    if (entryFiles.includes(f)) return;
    entryFiles.push(f);
    const src = readFileSync(join(pkgDir, f), 'utf8');
    for (const m of src.matchAll(/(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]/g)) walk(join(dirname(f), m[1]));
  })('index.js');
  const entry = Buffer.concat(entryFiles.map((f) => readFileSync(join(pkgDir, f))));
  const entryGz = gz(entry);
  // Was wasm-opt applied? Run it again on a copy and see what changes.
  let reopt = '';
  const wasmOpt = [join(repo, 'node_modules', '.bin', 'wasm-opt'), 'wasm-opt'].find((p) => { try { execFileSync(p, ['--version']); return true; } catch { return false; } });
  if (wasmOpt && !QUICK) {
    const dir = mkdtempSync(join(os.tmpdir(), 'ej-wasm-'));
    const sizes = {};
    for (const level of ['-O3', '-Oz']) {
      try {
        execFileSync(wasmOpt, [level, '--enable-bulk-memory', '--enable-sign-ext', '--enable-mutable-globals', '--enable-nontrapping-float-to-int', '--enable-reference-types', '--enable-multivalue', wasmPath, '-o', join(dir, 'o.wasm')], { stdio: 'ignore' });
        const o = readFileSync(join(dir, 'o.wasm'));
        sizes[level] = { raw: o.length, gz: gz(o) };
      } catch { /* leave it out */ }
    }
    rmSync(dir, { recursive: true, force: true });
    const v = execFileSync(wasmOpt, ['--version']).toString().trim();
    reopt = Object.entries(sizes).map(([l, s]) => `\`wasm-opt ${l}\` again (${v}) on a copy: ${int(s.raw)} B, ${int(s.gz)} B gzip -9`).join('; ');
  }
  const KB = 1000;
  summary.push({ s: 10, what: 'release .wasm, gzip -9', target: '≤ 150 KB', value: `${(wasmGz / KB).toFixed(1)} KB`, ok: wasmGz <= 150 * KB });
  summary.push({ s: 10, what: 'JS glue (wasm-bindgen web glue), gzip -9', target: '≤ 15 KB', value: `${(glueGz / KB).toFixed(1)} KB`, ok: glueGz <= 15 * KB });
  sections.push({ s: 10, text: `### 10. Package size (the browser build in pkg/, as built by \`make pkg\`)

Sizes are deterministic for a build: measured once. 1 KB = 1,000 bytes.

${table(['file', 'raw', 'gzip -9', 'target', ''], [
  ['`web/eventjournal_bg.wasm`', `${int(wasm.length)} B`, `${int(wasmGz)} B`, '≤ 150 KB gzip', met(wasmGz <= 150 * KB)],
  ['`web/eventjournal.js` (wasm-bindgen glue)', `${int(glue.length)} B`, `${int(glueGz)} B`, '≤ 15 KB gzip', met(glueGz <= 15 * KB)],
  [`whole browser entry besides the .wasm: index.js and its static imports (${entryFiles.join(', ')}), concatenated`, `${int(entry.length)} B`, `${int(entryGz)} B`, 'info', ''],
])}
${reopt ? `\nCheck that the shipped .wasm is optimized: ${reopt}.` : ''}` });
}

// ------------------------------------------------------------------------------------ machine
function machine(browser, server) {
  const cpus = os.cpus();
  let commit = '';
  try { commit = execFileSync('git', ['-C', repo, 'rev-parse', '--short', 'HEAD']).toString().trim(); } catch { /* not a git checkout */ }
  let wasmId = '';
  try {
    const w = join(dirname(require.resolve('eventjournal/package.json')), 'web', 'eventjournal_bg.wasm');
    const ids = [...new Set(builds.map((b) => b.id))];
    wasmId = ids.length <= 1
      ? `pkg/ build ${ids[0] ?? pkgId()}, built ${statSync(w).mtime.toISOString().slice(0, 16).replace('T', ' ')} UTC`
      : `pkg/ was rebuilt during the run; each scenario group ran on one build: ${builds.map((b) => `${b.label} on ${b.id}`).join(', ')}`;
  } catch { /* no pkg */ }
  const pkgVersion = (name) => { try { return JSON.parse(readFileSync(join(here, 'node_modules', name, 'package.json'))).version; } catch { return '?'; } };
  const rootVersion = (name) => { try { return JSON.parse(readFileSync(join(repo, 'node_modules', name, 'package.json'))).version; } catch { return '?'; } };
  const load = (l) => l.map((x) => x.toFixed(1)).join(' / ');
  return [
    `Machine: ${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}; Node ${process.version}${browser ? `; Chromium ${browser.chromium} (headless, playwright-core ${pkgVersion('playwright-core')})` : ''}.`,
    `Versions: eventjournal, repository HEAD ${commit || '?'} (${wasmId}; build id = sha256 of pkg/'s .wasm files and JS, first 12 hex); @event-driven-io/emmett ${pkgVersion('@event-driven-io/emmett')}; @castore/core ${pkgVersion('@castore/core')}; @castore/event-storage-adapter-in-memory ${pkgVersion('@castore/event-storage-adapter-in-memory')}${browser?.opfs ? `; @sqlite.org/sqlite-wasm ${browser.opfs.pkg} (SQLite ${browser.opfs.version}, VFS ${browser.opfs.vfs})` : ''}${server ? `; @event-driven-io/emmett-postgresql ${pkgVersion('@event-driven-io/emmett-postgresql')} (pg ${pkgVersion('pg')}); eventjournal's pg ${rootVersion('pg')}, better-sqlite3 ${rootVersion('better-sqlite3')}` : ''}.`,
    ...(server ? [`PostgreSQL (scenarios 11, 12): a throwaway cluster started by the harness on this machine (initdb, loopback), ${Object.entries(server.postgres).map(([k, v]) => `${k} ${v}`).join(', ')}; every other setting at its default.`] : []),
    `Measured: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${RUNS} runs per figure, whole harness ${((Date.now() - T0) / 60000).toFixed(1)} min; load average (1/5/15 min) ${load(LOAD_START)} at the start, ${load(os.loadavg())} at the end (other work on the machine).`,
  ].join('\n');
}

// BENCHMARKS.md holds three generated sections: the peers (scenarios 1-10), the server
// (issue 11: scenarios 11, 12) and the sync client (issue 12: scenario 13). Each is rewritten
// only when one of its scenarios ran.
const SECTIONS = [
  { marker: 'peers', title: 'eventjournal vs its peers (Node and Chromium)', has: (s) => s <= 10 },
  { marker: 'server', title: 'eventjournal on PostgreSQL, and the sync server (issue 11)', has: (s) => s === 11 || s === 12 },
  { marker: 'sync', title: 'The sync client (issue 12)', has: (s) => s === 13 },
];

function writeSection(browser, server) {
  for (const { marker, title, has } of SECTIONS) {
    const mine = sections.filter((x) => has(x.s));
    if (mine.length > 0) writeOne(marker, title, mine, summary.filter((x) => has(x.s)), marker === 'peers' ? machine(browser, null) : machine(null, marker === 'server' ? server : null));
  }
}

function writeOne(marker, title, mine, targets, machineText) {
  const cmd = `node ${relative(repo, join(here, 'run.mjs'))}${argv.length ? ` ${argv.join(' ')}` : ''}`;
  const head = `<!-- ${marker}:start -->
## ${title}

Command: \`${cmd}\` (from the repository root, after \`make pkg\` and \`npm ci --prefix benches/js\`; see benches/js/README.md).${QUICK ? '\n\n**Quick run (--quick): the same shapes with a fifth of the deposits and fewer samples; the ratios are indicative (cold start weighs more), not figures of record.**' : ''}
${machineText}

Every figure is the median over the runs with its min – max. Ratios are computed within each run (contenders measured one after the other in the same run, order rotated between runs) and are the figures of record: the machine is shared and noisy.${QUICK ? '' : ' Nothing is scaled down in this run: every contender did the full workload of its scenario.'}

### Targets

${table(['#', 'what', 'target', 'measured (median)', ''], targets.sort((a, b) => a.s - b.s || String(a.id ?? a.s).localeCompare(String(b.id ?? b.s))).map((x) => [x.id ?? x.s, x.what, x.target, x.value, x.ok === null ? 'pending adapter' : met(x.ok)]))}
`;
  const section = `${head}\n${mine.sort((a, b) => a.s - b.s).map((x) => x.text).join('\n\n')}\n<!-- ${marker}:end -->`;
  if (flag('--no-write') || (QUICK && !flag('--write'))) { console.log(section); log(`(the ${marker} section is not written to BENCHMARKS.md: quick runs print only; add --write to write)`); return; }
  const file = join(repo, 'BENCHMARKS.md');
  let doc = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const re = new RegExp(`<!-- ${marker}:start -->[\\s\\S]*<!-- ${marker}:end -->`);
  if (re.test(doc)) doc = doc.replace(re, () => section);
  else doc = `${doc.replace(/\s*$/, '')}\n\n${section}\n`;
  writeFileSync(file, doc);
  log(`wrote the ${marker} section of ${file}`);
  console.log(`\n${head}`);
}

// ------------------------------------------------------------------------------------ main
if (flag('--profile') && ['11a', '11b', '12'].includes(opt('--profile'))) {
  const { profileServerScenario } = await import('./lib/server-scenarios.mjs');
  await profileServerScenario(opt('--profile'), { sizes: SIZES, log, runWorker });
} else if (flag('--profile')) {
  const { profile } = await import('./lib/profile.mjs');
  await profile({ sizes: SIZES, which: opt('--profile') === '2' ? 2 : 1, log, runWorker });
} else {
  log(`eventjournal peers benchmark${QUICK ? ' (quick)' : ''}: ${RUNS} runs per figure`);
  await stable('1, 2', scenario12);
  await stable('4', scenario4);
  await stable('3, 5, 9', scenarioBig);
  const browser = await stable('6, 7, 8', async () => {
    // Imported only here: scenarios 1-5, 9 and 10 need neither Chromium nor SQLite's package.
    const { browserScenarios } = await import('./lib/browser-scenarios.mjs');
    return browserScenarios({
      want, log, rotate, summary, sections, sizes: SIZES, runs: RUNS,
      opfsPragmas: OPFS_PRAGMAS, idbPage: IDB_PAGE, durability: DURABILITY,
    });
  });
  const server = await stable('11, 12', async () => {
    const { serverScenarios } = await import('./lib/server-scenarios.mjs');
    return serverScenarios({ want, log, rotate, summary, sections, sizes: SIZES, runs: RUNS, runWorker });
  });
  await stable('13', async () => {
    const { syncScenarios } = await import('./lib/sync-scenarios.mjs');
    return syncScenarios({ want, log, rotate, summary, sections, runs: RUNS, quick: QUICK });
  });
  await stable('10', async () => scenario10());
  writeSection(browser, server);
  log('done');
}
