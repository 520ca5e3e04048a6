// Scenarios 6-8 (Chromium): eventjournal on indexedDbStorage against raw IndexedDB (the floor of
// targets 6-8) and raw OPFS (SQLite on opfs-sahpool in a worker, a second floor), measured in the
// same headless Chromium run, with their tables and the IndexedDB-or-OPFS note.
import { openBrowser, sqliteVersion } from './browser.mjs';
import { median, quantile } from './stats.mjs';
import { fmtTime, fmtX, fmtRate, int, spread, ratioCell, met, table } from './format.mjs';

/**
 * Runs scenarios 6-8 in one headless Chromium (the wanted ones) and pushes their targets and
 * sections. Resolves to { chromium: version, opfs: { version, vfs, pkg } } (for the Versions
 * line), or null when none of 6-8 is wanted. Throws when the harness fails (the OPFS peer
 * included).
 */
export async function browserScenarios(ctx) {
  const { want, log, rotate, sizes, runs, opfsPragmas, idbPage, durability } = ctx;
  if (!want(6) && !want(7) && !want(8)) return null;
  const { idbAccounts, idbDeposits, burst, txSize, singleSamples, singleWarmup } = sizes;
  log(`scenarios ${[6, 7, 8].filter(want).join(', ')}: headless Chromium, IndexedDB (durability '${durability}') and OPFS${want(6) || want(7) ? `, ${int(idbDeposits)} deposits` : ''}`);
  const b = await openBrowser();
  log(`Chromium ${b.chromiumVersion}, profile on ${b.userDataDir}`);
  const r = {
    rawWrite: [], engineWrite: [], opfsWrite: [], rawRead: [], engineReopen: [], opfsRead: [],
    rawSingle: [], engineSingle: [], opfsSingle: [], readLimits: new Set(), bytes: 0, opfs: null, info: null,
  };
  let adapter = false;
  try {
    const probe = await b.call('adapterAvailable');
    adapter = probe.ok;
    if (!adapter) log(`  indexedDbStorage is not usable in this build (${probe.error}): engine rows pending`);
    // The OPFS peer is part of the harness: if it cannot run, the run fails.
    const op = await b.call('opfsProbe');
    r.info = { version: op.version, vfs: op.vfs, pkg: sqliteVersion() };
    log(`OPFS peer: SQLite ${op.version} (@sqlite.org/sqlite-wasm ${r.info.pkg}) on ${op.vfs} in a dedicated worker; page cross-origin isolated: ${op.crossOriginIsolated}; pragmas: ${opfsPragmas.join('; ') || 'none (defaults)'}`);
    const pragmas = opfsPragmas;
    for (let run = 0; run < runs; run++) {
      await b.reload();
      const setup = 2 * idbAccounts;
      // Within a run the contenders go one after the other, the order rotating between runs.
      const inOrder = async (...fns) => { for (const f of rotate(fns.filter(Boolean), run)) await f(); };
      if (want(6) || want(7)) {
        await inOrder(
          async () => { const x = await b.call('rawWrite', { dbName: `raw-${run}`, setup, count: idbDeposits, txSize, durability: durability }); r.rawWrite.push(x.ms); r.bytes = x.bytesPerRecord; log(`s6 run ${run + 1} raw IndexedDB puts: ${fmtTime(x.ms)} (${x.bytesPerRecord.toFixed(0)} B/record as JSON)`); },
          adapter && (async () => { const x = await b.call('engineWrite', { dbName: `ej-${run}`, accounts: idbAccounts, deposits: idbDeposits, burst, durability: durability }); r.engineWrite.push(x.ms); x.readLimits.forEach((l) => r.readLimits.add(l)); log(`s6 run ${run + 1} eventjournal: ${fmtTime(x.ms)}`); }),
          async () => { const x = await b.call('opfsWrite', { file: `/opfs-${run}.db`, setup, count: idbDeposits, txSize, pragmas }); r.opfsWrite.push(x.ms); r.opfs = x; log(`s6 run ${run + 1} raw OPFS (SQLite) inserts: ${fmtTime(x.ms)} (journal_mode=${x.journalMode}, synchronous=${x.synchronous}, db ${(x.dbBytes / 2 ** 20).toFixed(1)} MiB)`); },
        );
        await inOrder(
          async () => { const x = await b.call('rawRead', { dbName: `raw-${run}`, pageSize: idbPage }); r.rawRead.push(x.ms); log(`s7 run ${run + 1} raw paged getAll: ${fmtTime(x.ms)} (${int(x.records)} records)`); },
          adapter && (async () => { const x = await b.call('engineReopen', { dbName: `ej-${run}`, expectEvents: setup + idbDeposits }); r.engineReopen.push(x.ms); log(`s7 run ${run + 1} eventjournal reopen: ${fmtTime(x.ms)} (${int(x.events)} events)`); }),
          async () => {
            const x = await b.call('opfsRead', { file: `/opfs-${run}.db`, pageSize: idbPage, pragmas });
            if (x.records !== setup + idbDeposits) throw new Error(`OPFS read ${x.records} records, expected ${setup + idbDeposits}`);
            r.opfsRead.push(x.ms); log(`s7 run ${run + 1} raw OPFS (SQLite) paged read: ${fmtTime(x.ms)} (${int(x.records)} records; VFS install + open ${fmtTime(x.openMs)})`);
          },
        );
        await b.call('deleteDb', { dbName: `raw-${run}` });
        await b.call('deleteDb', { dbName: `ej-${run}` });
      }
      if (want(8)) {
        await inOrder(
          // the floor and eventjournal alternated sample by sample (bench.js pairedSingle)
          adapter ? async () => {
            const x = await b.call('pairedSingle', { rawDb: `raw1-${run}`, engineDb: `ej1-${run}`, samples: singleSamples, warmup: singleWarmup, durability });
            r.rawSingle.push(quantile(x.raw, 0.5));
            r.engineSingle.push(quantile(x.engine, 0.5));
            log(`s8 run ${run + 1} raw one-record tx p50: ${fmtTime(quantile(x.raw, 0.5))}, eventjournal one command p50: ${fmtTime(quantile(x.engine, 0.5))} (alternated)`);
          } : async () => { const x = await b.call('rawSingle', { dbName: `raw1-${run}`, samples: singleSamples, warmup: singleWarmup, durability: durability }); r.rawSingle.push(quantile(x.times, 0.5)); log(`s8 run ${run + 1} raw one-record tx p50: ${fmtTime(quantile(x.times, 0.5))}`); },
          async () => { const x = await b.call('opfsSingle', { file: `/opfs1-${run}.db`, samples: singleSamples, warmup: singleWarmup, pragmas }); r.opfsSingle.push(quantile(x.times, 0.5)); log(`s8 run ${run + 1} raw OPFS one-record tx p50: ${fmtTime(quantile(x.times, 0.5))}`); },
        );
      }
    }
  } finally {
    await b.close();
  }
  browserSections(ctx, r, adapter);
  return { chromium: b.chromiumVersion, opfs: r.info };
}

const SYNCHRONOUS = ['off', 'normal', 'full', 'extra'];
const CLEARLY = 1.25; // "clearly faster": by at least this factor in every run

/** Scenarios 6-8 from the browser run's figures: tables, targets, and the IndexedDB-or-OPFS note. */
function browserSections(ctx, r, adapter) {
  const { want, summary, sections, sizes, opfsPragmas, idbPage, durability } = ctx;
  const { idbAccounts, idbDeposits, burst, txSize, singleSamples, singleWarmup } = sizes;
  const opfsInfo = r.info;
  const pending = 'pending adapter';
  const row = (label, xs, fmt) => [label, xs.length ? fmt(median(xs)) : pending, xs.length ? spread(xs, fmt) : ''];
  const per = (xs, ys, f) => xs.map((x, i) => f(x, ys[i]));
  const o = r.opfs;
  const opfsLabel = (what) => `raw OPFS: SQLite \`${opfsInfo.vfs}\` ${what} (second floor)`;
  const opfsHow = `SQLite ${opfsInfo.version} (npm \`@sqlite.org/sqlite-wasm\` ${opfsInfo.pkg}) on its \`${opfsInfo.vfs}\` VFS in a dedicated worker (no cross-origin isolation needed), journal_mode=${o?.journalMode ?? '?'}, synchronous=${SYNCHRONOUS[o?.synchronous] ?? o?.synchronous ?? '?'}${opfsPragmas.length ? ` (set by --opfs-pragmas '${opfsPragmas.join(';')}')` : ' (its defaults: every commit flushes its files, as durability \'strict\' does)'}; the same records, each stored whole as its JSON text under its position (the primary key, no other index)`;
  if (want(6)) {
    const ratios = per(r.rawWrite, r.engineWrite, (raw, e) => raw / e);
    const vsOpfs = per(r.opfsWrite, r.engineWrite, (op, e) => op / e);
    summary.push({ s: 6, what: 'eventjournal IndexedDB write throughput vs raw puts', target: '≥ 0.8×', value: adapter ? fmtX(median(ratios)) : pending, ok: adapter ? median(ratios) >= 0.8 : null });
    const rate = (xs) => (xs.length ? fmtRate(idbDeposits / (median(xs) / 1000)) : '');
    sections.push({ s: 6, text: `### 6. Chromium, IndexedDB: ${int(idbDeposits)} deposits in bursts of ${int(burst)}

Raw floor: ${int(idbDeposits)} event-shaped records (${r.bytes.toFixed(0)} bytes each as JSON: id, hash, data, ...) \`put\` in readwrite transactions of ${int(txSize)}, each awaited. Second floor, raw OPFS: ${opfsHow}, inserted through one prepared statement in transactions of ${int(txSize)} (\`BEGIN\` … \`COMMIT\`), timed in the worker around the inserts alone (loading SQLite and installing the VFS are outside). eventjournal: \`indexedDbStorage\`, ${int(idbAccounts)} accounts created first (untimed, like the floors' first ${int(2 * idbAccounts)} records), then ${int(idbDeposits)} deposits in bursts of ${int(burst)} (Promise.all). IndexedDB with durability '${durability}' for both, all in the same disk-backed profile. Ratio: the floor's time ÷ eventjournal's time in the same run (eventjournal's throughput relative to that floor).

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

Raw floor: open the database and read every record with \`getAll(IDBKeyRange.lowerBound(last, true), ${int(idbPage)})\` pages (the engine's page size${r.readLimits.size ? `, seen in this run: ${[...r.readLimits].join(', ')}` : ''}). Second floor, raw OPFS: a fresh worker (SQLite loaded before the clock starts) installs the VFS, opens the database and reads every record with \`SELECT record … WHERE position > ? ORDER BY position LIMIT ${int(idbPage)}\` pages, \`JSON.parse\` per record (the objects \`getAll\` hands out). eventjournal: \`indexedDbStorage(name)\` + \`Engine.open\` (reads, checks every record and the hash chain, rebuilds the projections) + the two projections read once. Ratio: eventjournal's time ÷ the floor's time in the same run.

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

${int(singleSamples)} commands per run (after ${singleWarmup} warm-up), each awaited before the next on an otherwise idle engine (deposits to one account); raw floor: one record \`put\` per readwrite transaction, each awaited, alternated sample by sample with eventjournal's commands (each on its own database; which goes first alternates), durability '${durability}' for both; raw OPFS: one record per SQLite transaction, in the worker, settings as in 6. Figure per run: the p50. Ratio: eventjournal's p50 ÷ the floor's p50 in the same run. (The bench page is served cross-origin isolated, so Chromium's \`performance.now()\` has 5 µs resolution, not the 100 µs of other pages.)

${table(['contender', 'p50 (median of runs)', 'min – max', 'eventjournal relative to it', 'target', ''], [
  [...row('raw one-record transaction (floor)', r.rawSingle, fmtTime), adapter ? ratioCell(ratios) : pending, 'p50 ≤ 1.2×', adapter ? met(median(ratios) <= 1.2) : pending],
  [...row(opfsLabel('one-record transaction'), r.opfsSingle, fmtTime), adapter ? ratioCell(vsOpfs) : pending, 'info', ''],
  [...row('**eventjournal** `execute` + `indexedDbStorage`', r.engineSingle, fmtTime), '—', '', ''],
])}` });
  }
  const note = opfsNote(ctx, r, adapter);
  if (note) sections.push({ s: 8.5, text: note });
}

/** The IndexedDB-or-OPFS paragraph: the raw floors against each other, and eventjournal against OPFS. */
function opfsNote({ want }, r, adapter) {
  const opfsInfo = r.info;
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
