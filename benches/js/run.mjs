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
// --only      scenarios to run (1-10); the others are left out of the section
// --no-write  print the section instead of writing BENCHMARKS.md
// --profile [2]  instead of benchmarking: node --cpu-prof of scenario 1 (or 2) for eventjournal, and
//             where its time goes (wasm, JSON, GC, glue, promises...)
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
import { median, quantile } from './lib/stats.mjs';

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
    idbAccounts: 1000, idbDeposits: 20_000, txSize: 1000, singleSamples: 100, singleWarmup: 10 }
  : { accounts: 1000, deposits: 100_000, burst: 1000, streamLength: 10_000, loadSamples: 1000, loadWarmup: 200,
    bigEvents: 1_000_000, replays: 5, atSamples: 200, atWarmup: 20, plainAtSamples: 40, memEvents: 1_000_000,
    idbAccounts: 1000, idbDeposits: 100_000, txSize: 1000, singleSamples: 200, singleWarmup: 20 };
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
    for (const f of readdirSync(join(pkgRoot(), 'lib')).sort()) h.update(readFileSync(join(pkgRoot(), 'lib', f)));
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
const fmtTime = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 1 ? `${ms.toFixed(2)} ms` : `${(ms * 1000).toFixed(1)} µs`);
const fmtUs = (us) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`);
const fmtRate = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M/s` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k/s` : `${n.toFixed(0)}/s`);
const fmtX = (x) => (x >= 100 ? `${x.toFixed(0)}×` : x >= 10 ? `${x.toFixed(1)}×` : `${x.toFixed(2)}×`);
const fmtBytes = (b) => `${Math.round(b) || 0} B`;
const int = (n) => n.toLocaleString('en-US');
const spread = (xs, f) => `${f(Math.min(...xs))} – ${f(Math.max(...xs))}`;
const ratioCell = (xs) => `**${fmtX(median(xs))}** (${spread(xs, fmtX)})`;
const met = (ok) => (ok ? '✅ met' : '❌ missed');
const table = (head, rows) => [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

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

let opfsInfo = null; // { version, vfs, pkg } of the OPFS peer, for the Versions line

async function scenarioBrowser() {
  if (!want(6) && !want(7) && !want(8)) return null;
  const { openBrowser, sqliteVersion } = await import('./lib/browser.mjs');
  const { idbAccounts, idbDeposits, burst, txSize, singleSamples, singleWarmup } = SIZES;
  log(`scenarios ${[6, 7, 8].filter(want).join(', ')}: headless Chromium, IndexedDB (durability '${DURABILITY}') and OPFS${want(6) || want(7) ? `, ${int(idbDeposits)} deposits` : ''}`);
  const b = await openBrowser();
  log(`Chromium ${b.chromiumVersion}, profile on ${b.userDataDir}`);
  const r = {
    rawWrite: [], engineWrite: [], opfsWrite: [], rawRead: [], engineReopen: [], opfsRead: [],
    rawSingle: [], engineSingle: [], opfsSingle: [], readLimits: new Set(), bytes: 0, opfs: null,
  };
  let adapter = false;
  try {
    const probe = await b.call('adapterAvailable');
    adapter = probe.ok;
    if (!adapter) log(`  indexedDbStorage is not usable in this build (${probe.error}): engine rows pending`);
    // The OPFS peer is part of the harness: if it cannot run, the run fails.
    const op = await b.call('opfsProbe');
    opfsInfo = { version: op.version, vfs: op.vfs, pkg: sqliteVersion() };
    log(`OPFS peer: SQLite ${op.version} (@sqlite.org/sqlite-wasm ${opfsInfo.pkg}) on ${op.vfs} in a dedicated worker; page cross-origin isolated: ${op.crossOriginIsolated}; pragmas: ${OPFS_PRAGMAS.join('; ') || 'none (defaults)'}`);
    const pragmas = OPFS_PRAGMAS;
    for (let run = 0; run < RUNS; run++) {
      await b.reload();
      const setup = 2 * idbAccounts;
      // Within a run the contenders go one after the other, the order rotating between runs.
      const inOrder = async (...fns) => { for (const f of rotate(fns.filter(Boolean), run)) await f(); };
      if (want(6) || want(7)) {
        await inOrder(
          async () => { const x = await b.call('rawWrite', { dbName: `raw-${run}`, setup, count: idbDeposits, txSize, durability: DURABILITY }); r.rawWrite.push(x.ms); r.bytes = x.bytesPerRecord; log(`s6 run ${run + 1} raw IndexedDB puts: ${fmtTime(x.ms)} (${x.bytesPerRecord.toFixed(0)} B/record as JSON)`); },
          adapter && (async () => { const x = await b.call('engineWrite', { dbName: `ej-${run}`, accounts: idbAccounts, deposits: idbDeposits, burst, durability: DURABILITY }); r.engineWrite.push(x.ms); x.readLimits.forEach((l) => r.readLimits.add(l)); log(`s6 run ${run + 1} eventjournal: ${fmtTime(x.ms)}`); }),
          async () => { const x = await b.call('opfsWrite', { file: `/opfs-${run}.db`, setup, count: idbDeposits, txSize, pragmas }); r.opfsWrite.push(x.ms); r.opfs = x; log(`s6 run ${run + 1} raw OPFS (SQLite) inserts: ${fmtTime(x.ms)} (journal_mode=${x.journalMode}, synchronous=${x.synchronous}, db ${(x.dbBytes / 2 ** 20).toFixed(1)} MiB)`); },
        );
        await inOrder(
          async () => { const x = await b.call('rawRead', { dbName: `raw-${run}`, pageSize: IDB_PAGE }); r.rawRead.push(x.ms); log(`s7 run ${run + 1} raw paged getAll: ${fmtTime(x.ms)} (${int(x.records)} records)`); },
          adapter && (async () => { const x = await b.call('engineReopen', { dbName: `ej-${run}`, expectEvents: setup + idbDeposits }); r.engineReopen.push(x.ms); log(`s7 run ${run + 1} eventjournal reopen: ${fmtTime(x.ms)} (${int(x.events)} events)`); }),
          async () => {
            const x = await b.call('opfsRead', { file: `/opfs-${run}.db`, pageSize: IDB_PAGE, pragmas });
            if (x.records !== setup + idbDeposits) throw new Error(`OPFS read ${x.records} records, expected ${setup + idbDeposits}`);
            r.opfsRead.push(x.ms); log(`s7 run ${run + 1} raw OPFS (SQLite) paged read: ${fmtTime(x.ms)} (${int(x.records)} records; VFS install + open ${fmtTime(x.openMs)})`);
          },
        );
        await b.call('deleteDb', { dbName: `raw-${run}` });
        await b.call('deleteDb', { dbName: `ej-${run}` });
      }
      if (want(8)) {
        await inOrder(
          async () => { const x = await b.call('rawSingle', { dbName: `raw1-${run}`, samples: singleSamples, warmup: singleWarmup, durability: DURABILITY }); r.rawSingle.push(quantile(x.times, 0.5)); log(`s8 run ${run + 1} raw one-record tx p50: ${fmtTime(quantile(x.times, 0.5))}`); },
          adapter && (async () => { const x = await b.call('engineSingle', { dbName: `ej1-${run}`, samples: singleSamples, warmup: singleWarmup, durability: DURABILITY }); r.engineSingle.push(quantile(x.times, 0.5)); log(`s8 run ${run + 1} eventjournal one command p50: ${fmtTime(quantile(x.times, 0.5))}`); }),
          async () => { const x = await b.call('opfsSingle', { file: `/opfs1-${run}.db`, samples: singleSamples, warmup: singleWarmup, pragmas }); r.opfsSingle.push(quantile(x.times, 0.5)); log(`s8 run ${run + 1} raw OPFS one-record tx p50: ${fmtTime(quantile(x.times, 0.5))}`); },
        );
      }
    }
  } finally {
    await b.close();
  }
  browserSections(r, adapter);
  return b.chromiumVersion;
}

const SYNCHRONOUS = ['off', 'normal', 'full', 'extra'];
const CLEARLY = 1.25; // "clearly faster": by at least this factor in every run

/** Scenarios 6-8 from the browser run's figures: tables, targets, and the IndexedDB-or-OPFS note. */
function browserSections(r, adapter) {
  const { idbAccounts, idbDeposits, burst, txSize, singleSamples, singleWarmup } = SIZES;
  const pending = 'pending adapter';
  const row = (label, xs, fmt) => [label, xs.length ? fmt(median(xs)) : pending, xs.length ? spread(xs, fmt) : ''];
  const per = (xs, ys, f) => xs.map((x, i) => f(x, ys[i]));
  const o = r.opfs;
  const opfsLabel = (what) => `raw OPFS: SQLite \`${opfsInfo.vfs}\` ${what} (second floor)`;
  const opfsHow = `SQLite ${opfsInfo.version} (npm \`@sqlite.org/sqlite-wasm\` ${opfsInfo.pkg}) on its \`${opfsInfo.vfs}\` VFS in a dedicated worker (no cross-origin isolation needed), journal_mode=${o?.journalMode ?? '?'}, synchronous=${SYNCHRONOUS[o?.synchronous] ?? o?.synchronous ?? '?'}${OPFS_PRAGMAS.length ? ` (set by --opfs-pragmas '${OPFS_PRAGMAS.join(';')}')` : ' (its defaults: every commit flushes its files, as durability \'strict\' does)'}; the same records, each stored whole as its JSON text under its position (the primary key, no other index)`;
  if (want(6)) {
    const ratios = per(r.rawWrite, r.engineWrite, (raw, e) => raw / e);
    const vsOpfs = per(r.opfsWrite, r.engineWrite, (op, e) => op / e);
    summary.push({ s: 6, what: 'eventjournal IndexedDB write throughput vs raw puts', target: '≥ 0.8×', value: adapter ? fmtX(median(ratios)) : pending, ok: adapter ? median(ratios) >= 0.8 : null });
    const rate = (xs) => (xs.length ? fmtRate(idbDeposits / (median(xs) / 1000)) : '');
    sections.push({ s: 6, text: `### 6. Chromium, IndexedDB: ${int(idbDeposits)} deposits in bursts of ${int(burst)}

Raw floor: ${int(idbDeposits)} event-shaped records (${r.bytes.toFixed(0)} bytes each as JSON: id, hash, data, ...) \`put\` in readwrite transactions of ${int(txSize)}, each awaited. Second floor, raw OPFS: ${opfsHow}, inserted through one prepared statement in transactions of ${int(txSize)} (\`BEGIN\` … \`COMMIT\`), timed in the worker around the inserts alone (loading SQLite and installing the VFS are outside). eventjournal: \`indexedDbStorage\`, ${int(idbAccounts)} accounts created first (untimed, like the floors' first ${int(2 * idbAccounts)} records), then ${int(idbDeposits)} deposits in bursts of ${int(burst)} (Promise.all). IndexedDB with durability '${DURABILITY}' for both, all in the same disk-backed profile. Ratio: the floor's time ÷ eventjournal's time in the same run (eventjournal's throughput relative to that floor).

${table(['contender', 'median', 'min – max', 'events/s', 'eventjournal relative to it', 'target', ''], [
  [...row('raw IndexedDB puts (floor)', r.rawWrite, fmtTime), rate(r.rawWrite), adapter ? ratioCell(ratios) : pending, '≥ 0.8×', adapter ? met(median(ratios) >= 0.8) : pending],
  [...row(opfsLabel('inserts'), r.opfsWrite, fmtTime), rate(r.opfsWrite), adapter ? ratioCell(vsOpfs) : pending, 'info', ''],
  [...row('**eventjournal** + `indexedDbStorage`', r.engineWrite, fmtTime), rate(r.engineWrite), '—', '', ''],
])}` });
  }
  if (want(7)) {
    const ratios = per(r.engineReopen, r.rawRead, (e, raw) => e / raw);
    const vsOpfs = per(r.engineReopen, r.opfsRead, (e, op) => e / op);
    summary.push({ s: 7, what: 'eventjournal reopen vs raw paged getAll', target: '≤ 1.3×', value: adapter ? fmtX(median(ratios)) : pending, ok: adapter ? median(ratios) <= 1.3 : null });
    sections.push({ s: 7, text: `### 7. Chromium, IndexedDB: reopen that log (${int(2 * idbAccounts + idbDeposits)} events)

Raw floor: open the database and read every record with \`getAll(IDBKeyRange.lowerBound(last, true), ${int(IDB_PAGE)})\` pages (the engine's page size${r.readLimits.size ? `, seen in this run: ${[...r.readLimits].join(', ')}` : ''}). Second floor, raw OPFS: a fresh worker (SQLite loaded before the clock starts) installs the VFS, opens the database and reads every record with \`SELECT record … WHERE position > ? ORDER BY position LIMIT ${int(IDB_PAGE)}\` pages, \`JSON.parse\` per record (the objects \`getAll\` hands out). eventjournal: \`indexedDbStorage(name)\` + \`Engine.open\` (reads, checks every record and the hash chain, rebuilds the projections) + the two projections read once. Ratio: eventjournal's time ÷ the floor's time in the same run.

${table(['contender', 'median', 'min – max', 'eventjournal relative to it', 'target', ''], [
  [...row('raw paged getAll (floor)', r.rawRead, fmtTime), adapter ? ratioCell(ratios) : pending, '≤ 1.3×', adapter ? met(median(ratios) <= 1.3) : pending],
  [...row(opfsLabel('paged read'), r.opfsRead, fmtTime), adapter ? ratioCell(vsOpfs) : pending, 'info', ''],
  [...row('**eventjournal** reopen', r.engineReopen, fmtTime), '—', '', ''],
])}` });
  }
  if (want(8)) {
    const ratios = per(r.engineSingle, r.rawSingle, (e, raw) => e / raw);
    const vsOpfs = per(r.engineSingle, r.opfsSingle, (e, op) => e / op);
    summary.push({ s: 8, what: 'eventjournal one persisted command vs a raw one-record transaction, p50', target: '≤ 1.2×', value: adapter ? fmtX(median(ratios)) : pending, ok: adapter ? median(ratios) <= 1.2 : null });
    sections.push({ s: 8, text: `### 8. Chromium, IndexedDB: one command persisted alone

${int(singleSamples)} commands per run (after ${singleWarmup} warm-up), each awaited before the next on an otherwise idle engine (deposits to one account); raw floor: one record \`put\` per readwrite transaction, each awaited, durability '${DURABILITY}' for both; raw OPFS: one record per SQLite transaction, in the worker, settings as in 6. Figure per run: the p50. Ratio: eventjournal's p50 ÷ the floor's p50 in the same run. (Chromium's \`performance.now()\` is coarsened to 100 µs on a page or worker that is not cross-origin isolated.)

${table(['contender', 'p50 (median of runs)', 'min – max', 'eventjournal relative to it', 'target', ''], [
  [...row('raw one-record transaction (floor)', r.rawSingle, fmtTime), adapter ? ratioCell(ratios) : pending, 'p50 ≤ 1.2×', adapter ? met(median(ratios) <= 1.2) : pending],
  [...row(opfsLabel('one-record transaction'), r.opfsSingle, fmtTime), adapter ? ratioCell(vsOpfs) : pending, 'info', ''],
  [...row('**eventjournal** `execute` + `indexedDbStorage`', r.engineSingle, fmtTime), '—', '', ''],
])}` });
  }
  const note = opfsNote(r, adapter);
  if (note) sections.push({ s: 8.5, text: note });
}

/** The IndexedDB-or-OPFS paragraph: the raw floors against each other, and eventjournal against OPFS. */
function opfsNote(r, adapter) {
  const parts = [];
  const verdicts = [];
  const cmp = (idb, opfs, what) => {
    if (!idb.length || !opfs.length) return;
    const x = idb.map((v, i) => v / opfs[i]); // > 1: OPFS faster
    parts.push(`${what} ${ratioCell(x)}`);
    verdicts.push([what, Math.min(...x) >= CLEARLY, Math.max(...x) <= 1 / CLEARLY]);
  };
  if (want(6) || want(7)) { cmp(r.rawWrite, r.opfsWrite, 'writing the records'); cmp(r.rawRead, r.opfsRead, 'reading them back'); }
  if (want(8)) cmp(r.rawSingle, r.opfsSingle, 'a one-record transaction');
  if (!parts.length) return null;
  const ej = [];
  if (adapter && r.opfsWrite.length) ej.push(`wrote at ${fmtX(median(r.engineWrite.map((e, i) => r.opfsWrite[i] / e)))} the OPFS floor's throughput`);
  if (adapter && r.opfsRead.length) ej.push(`reopened in ${fmtX(median(r.engineReopen.map((e, i) => e / r.opfsRead[i])))} its read time`);
  if (adapter && r.opfsSingle.length) ej.push(`committed one command in ${fmtX(median(r.engineSingle.map((e, i) => e / r.opfsSingle[i])))} its one-record p50`);
  const faster = verdicts.filter((v) => v[1]).map((v) => v[0]);
  const slower = verdicts.filter((v) => v[2]).map((v) => v[0]);
  const verdict = faster.length === verdicts.length
    ? `By that rule OPFS is clearly faster for this workload, on every count measured`
    : faster.length
      ? `By that rule OPFS is clearly faster only for ${faster.join(' and ')}${slower.length ? `, and clearly slower for ${slower.join(' and ')}` : ''}`
      : `By that rule OPFS is not clearly faster for this workload${slower.length ? ` (it is clearly slower for ${slower.join(' and ')})` : ''}`;
  return `**IndexedDB or OPFS.** In this run raw OPFS (SQLite on \`${opfsInfo.vfs}\`, as above) against raw IndexedDB, IndexedDB's time ÷ OPFS's time in each run (above 1 = OPFS faster): ${parts.join('; ')}.${ej.length ? ` eventjournal on IndexedDB ${ej.join(', ')}.` : ''} "Clearly faster" here means by at least ${CLEARLY}× in every run. ${verdict}. Targets 6-8 are held against raw IndexedDB: if OPFS is clearly faster for this workload, an OPFS adapter would raise the ceiling of the browser path, and whether one comes next is decided from these figures.`;
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
function machine(chromium) {
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
  const load = (l) => l.map((x) => x.toFixed(1)).join(' / ');
  return [
    `Machine: ${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}; Node ${process.version}${chromium ? `; Chromium ${chromium} (headless, playwright-core ${pkgVersion('playwright-core')})` : ''}.`,
    `Versions: eventjournal, repository HEAD ${commit || '?'} (${wasmId}; build id = sha256 of pkg/'s .wasm files and JS, first 12 hex); @event-driven-io/emmett ${pkgVersion('@event-driven-io/emmett')}; @castore/core ${pkgVersion('@castore/core')}; @castore/event-storage-adapter-in-memory ${pkgVersion('@castore/event-storage-adapter-in-memory')}${opfsInfo ? `; @sqlite.org/sqlite-wasm ${opfsInfo.pkg} (SQLite ${opfsInfo.version}, VFS ${opfsInfo.vfs})` : ''}.`,
    `Measured: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${RUNS} runs per figure, whole harness ${((Date.now() - T0) / 60000).toFixed(1)} min; load average (1/5/15 min) ${load(LOAD_START)} at the start, ${load(os.loadavg())} at the end (other work on the machine).`,
  ].join('\n');
}

function writeSection(chromium) {
  const cmd = `node ${relative(repo, join(here, 'run.mjs'))}${argv.length ? ` ${argv.join(' ')}` : ''}`;
  const head = `<!-- peers:start -->
## eventjournal vs its peers (Node and Chromium)

Command: \`${cmd}\` (from the repository root, after \`make pkg\` and \`npm ci --prefix benches/js\`; see benches/js/README.md).${QUICK ? '\n\n**Quick run (--quick): the same shapes with a fifth of the deposits and fewer samples; the ratios are indicative (cold start weighs more), not figures of record.**' : ''}
${machine(chromium)}

Every figure is the median over the runs with its min – max. Ratios are computed within each run (contenders measured one after the other in the same run, order rotated between runs) and are the figures of record: the machine is shared and noisy.${QUICK ? '' : ' Nothing is scaled down in this run: every contender did the full workload of its scenario.'}

### Targets

${table(['#', 'what', 'target', 'measured (median)', ''], summary.sort((a, b) => a.s - b.s || String(a.id ?? a.s).localeCompare(String(b.id ?? b.s))).map((x) => [x.id ?? x.s, x.what, x.target, x.value, x.ok === null ? 'pending adapter' : met(x.ok)]))}
`;
  const section = `${head}\n${sections.sort((a, b) => a.s - b.s).map((x) => x.text).join('\n\n')}\n<!-- peers:end -->`;
  if (flag('--no-write') || (QUICK && !flag('--write'))) { console.log(section); log('(not written to BENCHMARKS.md: quick runs print only; add --write to write)'); return; }
  const file = join(repo, 'BENCHMARKS.md');
  let doc = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  if (/<!-- peers:start -->[\s\S]*<!-- peers:end -->/.test(doc)) doc = doc.replace(/<!-- peers:start -->[\s\S]*<!-- peers:end -->/, () => section);
  else doc = `${doc.replace(/\s*$/, '')}\n\n${section}\n`;
  writeFileSync(file, doc);
  log(`wrote the peers section of ${file}`);
  console.log(`\n${head}`);
}

// ------------------------------------------------------------------------------------ profile
// Function-index of the wasm function that holds SHA-256's round constants (the .wasm has no
// name section, so this is the one core function we can name without symbols).
function wasmSha256Index(wasmPath) {
  const b = readFileSync(wasmPath);
  let p = 8;
  const uleb = () => { let r = 0; let s = 0; for (;;) { const x = b[p++]; r += (x & 0x7f) * 2 ** s; s += 7; if (!(x & 0x80)) return r; } };
  const skipLimits = () => { const f = b[p++]; uleb(); if (f & 1) uleb(); };
  let imported = 0;
  const K0 = Buffer.from([0x41, 0x98, 0xdf, 0xa8, 0x94, 0x04]); // i32.const 0x428a2f98
  while (p < b.length) {
    const id = b[p++];
    const size = uleb();
    const end = p + size;
    if (id === 2) {
      for (let n = uleb(); n > 0; n--) {
        for (let k = 0; k < 2; k++) { const len = uleb(); p += len; } // module, field
        const kind = b[p++];
        if (kind === 0) { imported++; uleb(); } else if (kind === 1) { p++; skipLimits(); } else if (kind === 2) skipLimits(); else if (kind === 3) p += 2; else { p++; uleb(); }
      }
    } else if (id === 10) {
      const n = uleb();
      for (let i = 0; i < n; i++) {
        const len = uleb();
        if (b.subarray(p, p + len).indexOf(K0) >= 0) return imported + i;
        p += len;
      }
    }
    p = end;
  }
  return -1;
}

async function profile() {
  const dir = mkdtempSync(join(os.tmpdir(), 'ej-prof-'));
  const { accounts, deposits, burst } = SIZES;
  const which = opt('--profile') === '2' ? 2 : 1;
  log(`profiling scenario ${which} (eventjournal, ${int(accounts)} + ${int(deposits)} commands, ${which === 1 ? 'each awaited' : `bursts of ${burst}`}) with --cpu-prof into ${dir}`);
  await runWorker({ scenario: `s${which}`, contender: 'eventjournal', accounts, deposits, burst }, { extraFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=100'] });
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  const prof = JSON.parse(readFileSync(join(dir, file)));
  const pkgDir = dirname(require.resolve('eventjournal/package.json'));
  const glueLines = readFileSync(join(pkgDir, 'node', 'eventjournal.js'), 'utf8').split('\n');
  const sha = wasmSha256Index(join(pkgDir, 'node', 'eventjournal_bg.wasm'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < prof.samples.length; i++) self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i] ?? 0));
  // Anonymous glue functions are the bodies of wasm-bindgen imports: name them by the import.
  const glueName = (n) => {
    const { functionName: f, lineNumber } = n.callFrame;
    if (f) return f;
    for (let l = lineNumber; l >= 0 && l > lineNumber - 40; l--) {
      const m = /^\s+(__wbg_\w+?)_[0-9a-f]{16}\s*:/.exec(glueLines[l] ?? '');
      if (m) return m[1];
    }
    return '(anonymous)';
  };
  const classify = (n) => {
    const { functionName: f, url } = n.callFrame;
    if (url.startsWith('wasm://') || /wasm-function\[/.test(f)) {
      return /wasm-function\[(\d+)\]/.exec(f)?.[1] === String(sha) ? ['wasm: SHA-256 compression (hash chain)', f] : ['wasm: rest of the core (decide, JCS, serde, allocator, ...)', f];
    }
    if (f === '(garbage collector)') return ['GC', f];
    if (f === '(idle)') return ['idle', f];
    if (f === '(program)') return ['(program): V8 native, not attributed', f];
    if (url.includes('/node/eventjournal.js')) {
      const g = glueName(n);
      if (/__wbg_parse/.test(g)) return ['JSON.parse of results (glue; the builtin is billed to its caller)', g];
      if (/__wbg_stringify/.test(g)) return ['JSON.stringify of commands/options (glue)', g];
      if (/string_get|getStringFromWasm0|passStringToWasm0|getUint8ArrayMemory0|getDataViewMemory0|number_get/.test(g)) return ['string/number marshalling (glue)', g];
      if (/then|resolve|queueMicrotask|closure|invoke|Promise|__wbg_new_/.test(g)) return ['promise/closure plumbing (glue)', g];
      return ['other glue', g];
    }
    if (/^(decode|encode|encodeInto)$/.test(f)) return ['string/number marshalling (glue)', `TextDecoder/Encoder ${f}`];
    if (/Microtask|processTicksAndRejections|runMicrotasks|^then$|^resolve$|PromiseResolve|asyncFunction|AsyncFunction/i.test(f)) return ['promise machinery (V8/Node)', f];
    if (url.includes('/benches/js/')) return ['harness (command generation, awaits)', f];
    if (url.startsWith('node:')) return ['Node internals', f];
    return [`other (${f || 'anonymous'})`, f];
  };
  const cats = new Map();
  const fns = new Map();
  let all = 0;
  for (const [id, us] of self) {
    const [c, f] = classify(byId.get(id));
    cats.set(c, (cats.get(c) ?? 0) + us);
    fns.set(`${c} :: ${f}`, (fns.get(`${c} :: ${f}`) ?? 0) + us);
    all += us;
  }
  console.log(`\nSelf time by category (${(all / 1e6).toFixed(2)} s sampled; SHA-256 = wasm-function[${sha}]):`);
  for (const [c, us] of [...cats].sort((a, b) => b[1] - a[1])) if (us / all > 0.002) console.log(`  ${(100 * us / all).toFixed(1).padStart(5)} %  ${c}`);
  console.log('\nTop functions (self time):');
  for (const [k, us] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`  ${(100 * us / all).toFixed(1).padStart(5)} %  ${k}`);
  console.log(`\nprofile: ${join(dir, file)} (open in Chrome DevTools > Performance)`);
}

// ------------------------------------------------------------------------------------ main
if (flag('--profile')) {
  await profile();
} else {
  log(`eventjournal peers benchmark${QUICK ? ' (quick)' : ''}: ${RUNS} runs per figure`);
  await stable('1, 2', scenario12);
  await stable('4', scenario4);
  await stable('3, 5, 9', scenarioBig);
  const chromium = await stable('6, 7, 8', scenarioBrowser);
  await stable('10', async () => scenario10());
  writeSection(chromium);
  log('done');
}
