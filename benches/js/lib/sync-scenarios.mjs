// Scenario 13 (issue 12): the sync client in Node, against the sync server as
// `npx eventjournal-server --db FILE` runs it (the package's CLI, its own process, SQLite); each
// client measurement in a fresh process (sync-worker.mjs).
//
// 13a: optimistic `execute` latency, each command awaited, on SQLite: a synced engine (resolves
//      once the command is in the outbox, pending; pushed in the background) vs an unsynced one
//      (resolves once the events are appended). Target ≤ 1.3×.
// 13b: a client offline for 100,000 events catches up (download, verify, persist, fold) vs
//      reopening the same log from its local SQLite file. Target ≤ 1.5×.
// 13c: convergence after a burst: 10 clients × 1,000 commands, from the first command until
//      every client's headHash is the server's with nothing pending.
// 13d: 13a in Chromium on IndexedDB (../sync-browser.mjs, the package's server on loopback):
//      synced vs unsynced engine on the same kind of storage, rounds alternating. Target ≤ 1.3×.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './stats.mjs';
import { runJson, startServer } from './children.mjs';
import { fmtTime, fmtX, fmtRate, int, spread, ratioCell, met, table } from './format.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const fmtMs = (ms) => `${ms.toFixed(ms < 10 ? 2 : 0)} ms`;
const fmtUsMs = (ms) => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(2)} ms`);

/** Starts the package's CLI on the SQLite `file`; resolves `{ url, stop() }`. */
export function startCli(file) {
  return startServer(['--db', file]);
}

/** Runs one sync-worker.mjs task in a fresh process; resolves its JSON result. */
function work(task) {
  return runJson(join(here, '..', 'sync-worker.mjs'), [JSON.stringify(task)], `sync-worker ${task.kind}`);
}

/** A fresh folder for one measurement, removed by `done()`. */
function folder() {
  const dir = mkdtempSync(join(os.tmpdir(), 'ej-s13-'));
  return { dir, file: (name) => join(dir, name), done: () => rmSync(dir, { recursive: true, force: true }) };
}

// ------------------------------------------------------------------------------------ 13a
async function latency(ctx, sizes) {
  const { log, rotate, summary, runs } = ctx;
  const res = { unsynced: [], synced: [] };
  for (let r = 0; r < runs; r++) {
    for (const c of rotate(['unsynced', 'synced'], r)) {
      const f = folder();
      const server = c === 'synced' ? await startCli(f.file('server.db')) : null;
      try {
        const x = await work({ kind: 'latency', file: f.file('client.db'), url: server?.url, accounts: sizes.accounts, commands: sizes.commands });
        res[c].push(x);
        log(`s13a run ${r + 1}/${runs} ${c}: mean ${fmtUsMs(x.mean)}, p50 ${fmtUsMs(x.p50)}, p99 ${fmtUsMs(x.p99)}${server ? `, all pushed ${fmtMs(x.settledMs)} later` : ''}`);
      } finally {
        await server?.stop();
        f.done();
      }
    }
  }
  const ratios = res.synced.map((x, i) => x.mean / res.unsynced[i].mean);
  summary.push({ s: 13, id: '13a', what: 'optimistic execute on a synced engine vs an unsynced one (SQLite, Node)', target: '≤ 1.3×', value: fmtX(median(ratios)), ok: median(ratios) <= 1.3 });
  const rows = ['unsynced', 'synced'].map((c) => {
    const xs = res[c];
    return [c === 'synced' ? '**synced** (`sync: { url }`, pending at once)' : 'unsynced (appended, then resolved)',
      fmtUsMs(median(xs.map((x) => x.mean))), spread(xs.map((x) => x.mean), fmtUsMs), fmtUsMs(median(xs.map((x) => x.p50))),
      fmtUsMs(median(xs.map((x) => x.p99))), c === 'synced' ? ratioCell(ratios) : '—', c === 'synced' ? fmtMs(median(xs.map((x) => x.settledMs))) : '—'];
  });
  return `#### 13a. Optimistic \`execute\` latency: synced vs unsynced, same storage

${int(sizes.accounts)} accounts created, then ${int(sizes.commands)} deposits, each awaited before the next, on \`sqliteStorage(file)\` (synchronous=FULL) in a fresh process. Synced: \`Engine.open({ storage, sync: { url } })\` against the CLI server on SQLite in another process; \`execute\` decides on confirmed + pending state, writes the command to the outbox (one SQLite insert) and resolves \`pending\`, while the transport pushes batches in the background (same thread). Unsynced: \`execute\` appends the events (one SQLite transaction) and resolves. Ratio: synced ÷ unsynced mean latency in the same run. "All pushed": from the last execute until the server confirmed every command.

${table(['engine', 'mean (median)', 'min – max', 'p50', 'p99', 'synced ÷ unsynced', 'all pushed'], rows)}`;
}

// ------------------------------------------------------------------------------------ 13b
async function catchUp(ctx, sizes) {
  const { log, rotate, summary, runs } = ctx;
  const res = { catchup: [], reopen: [] };
  const base = folder();
  try {
    const serverFile = base.file('server.db');
    const made = await work({ kind: 'populate', file: serverFile, accounts: sizes.accounts, events: sizes.events });
    log(`s13b: a server log of ${int(made.events)} events`);
    const server = await startCli(serverFile);
    try {
      // The log reopened: a replica a client caught up itself (not timed).
      const replica = base.file('replica.db');
      await work({ kind: 'catchup', file: replica, url: server.url, events: made.events });
      for (let r = 0; r < runs; r++) {
        for (const c of rotate(['catchup', 'reopen'], r)) {
          const x = c === 'catchup'
            ? await work({ kind: 'catchup', file: base.file(`fresh-${r}.db`), url: server.url, events: made.events })
            : await work({ kind: 'reopen', file: replica, events: made.events });
          res[c].push(x);
          log(`s13b run ${r + 1}/${runs} ${c}: ${fmtTime(x.ms)} (${fmtRate(made.events / (x.ms / 1000))})`);
        }
      }
    } finally {
      await server.stop();
    }
    const ratios = res.catchup.map((x, i) => x.ms / res.reopen[i].ms);
    summary.push({ s: 13, id: '13b', what: `a client offline for ${int(made.events)} events catches up vs reopening the same log locally (SQLite, Node)`, target: '≤ 1.5×', value: fmtX(median(ratios)), ok: median(ratios) <= 1.5 });
    const rows = [
      ['**catch up** from the server (download, verify, persist, fold)', fmtTime(median(res.catchup.map((x) => x.ms))), spread(res.catchup.map((x) => x.ms), fmtTime), fmtRate(made.events / (median(res.catchup.map((x) => x.ms)) / 1000)), ratioCell(ratios)],
      ['reopen the same log from local SQLite (read, verify, fold)', fmtTime(median(res.reopen.map((x) => x.ms))), spread(res.reopen.map((x) => x.ms), fmtTime), fmtRate(made.events / (median(res.reopen.map((x) => x.ms)) / 1000)), '—'],
    ];
    return `#### 13b. Catching up ${int(made.events)} events vs reopening them locally

The server (CLI, SQLite, its own process) holds ${int(made.events)} events (${int(sizes.accounts)} accounts, then deposits). Catch up: a fresh process opens an empty \`sqliteStorage\` with \`sync: { url }\` and is timed from \`Engine.open\` until \`syncState().confirmedPosition\` reaches the server's head: \`GET /v1/events\` pages of 10,000, each verified against the chain, appended to SQLite and folded into the built-in projections and aggregates. Reopen: a fresh process opens such a replica (one a client caught up before, not timed) from its local SQLite file, unsynced, until \`projection('account_balance')\` answers (read, verify, fold). Ratio: catch-up ÷ reopen in the same run.

${table(['what', 'median', 'min – max', 'events/s', 'catch-up ÷ reopen'], rows)}`;
  } finally {
    base.done();
  }
}

// ------------------------------------------------------------------------------------ 13c
async function convergence(ctx, sizes) {
  const { log, summary, runs } = ctx;
  const res = [];
  for (let r = 0; r < runs; r++) {
    const f = folder();
    const server = await startCli(f.file('server.db'));
    try {
      const x = await work({ kind: 'converge', url: server.url, clients: sizes.clients, commands: sizes.perClient });
      res.push(x);
      log(`s13c run ${r + 1}/${runs}: issued in ${fmtTime(x.issuedMs)}, converged in ${fmtTime(x.ms)}`);
    } finally {
      await server.stop();
      f.done();
    }
  }
  const ms = res.map((x) => x.ms);
  const total = sizes.clients * sizes.perClient;
  summary.push({ s: 13, id: '13c', what: `convergence after ${sizes.clients} clients × ${int(sizes.perClient)} commands`, target: 'measured (no target)', value: fmtTime(median(ms)), ok: true });
  return `#### 13c. Convergence after a burst: ${sizes.clients} clients × ${int(sizes.perClient)} commands

${sizes.clients} synced engines (\`memoryStorage\`) in one process against the CLI server on SQLite in another; each issues ${int(sizes.perClient)} commands as fast as \`execute\` resolves (100 create_account of its own, then deposits on them; the server accepts all ${int(total)}). Timed from the first command until every client holds the server's log (its \`headHash\`) with nothing pending.

${table(['what', 'median', 'min – max', 'commands/s to convergence'], [
    ['all commands issued (optimistic)', fmtTime(median(res.map((x) => x.issuedMs))), spread(res.map((x) => x.issuedMs), fmtTime), fmtRate(total / (median(res.map((x) => x.issuedMs)) / 1000))],
    ['**converged** (every headHash = the server\'s, nothing pending)', fmtTime(median(ms)), spread(ms, fmtTime), fmtRate(total / (median(ms) / 1000))],
  ])}`;
}

// ------------------------------------------------------------------------------------ 13d
async function browserLatency(ctx, sizes) {
  const { log, summary } = ctx;
  const args = [join(here, '..', 'sync-browser.mjs'), '--commands', String(sizes.browserCommands), '--rounds', String(Math.max(3, ctx.runs)), '--json'];
  const { rounds } = await runJson(args[0], args.slice(1), 'sync-browser.mjs');
  const ratios = rounds.map((r) => r.ratio);
  rounds.forEach((r, i) => log(`s13d round ${i + 1}/${rounds.length}: synced ${fmtUsMs(r.synced)}, unsynced ${fmtUsMs(r.unsynced)}, ${fmtX(r.ratio)}`));
  summary.push({ s: 13, id: '13d', what: 'optimistic execute on a synced engine vs an unsynced one (IndexedDB, Chromium)', target: '≤ 1.3×', value: fmtX(median(ratios)), ok: median(ratios) <= 1.3 });
  return `#### 13d. Optimistic \`execute\` in Chromium on IndexedDB: synced vs unsynced

One page, two engines on two IndexedDB databases (\`indexedDbStorage\`, durability 'strict'): one synced with the package's server on loopback (it resolves once the command is in the outbox), one not (it resolves once the events are appended); ${int(sizes.browserCommands)} awaited deposits on each per round, alternating, ${rounds.length} rounds (\`node benches/js/sync-browser.mjs\`).

${table(['round', 'synced, mean per command', 'unsynced, mean per command', 'synced ÷ unsynced'], rounds.map((r, i) => [String(i + 1), fmtUsMs(r.synced), fmtUsMs(r.unsynced), fmtX(r.ratio)]))}`;
}

/** Scenario 13 (when `want`ed): pushes its targets to `summary` and its text to `sections`. */
export async function syncScenarios(ctx) {
  if (!ctx.want(13)) return;
  const sizes = ctx.quick
    ? { accounts: 100, commands: 2000, events: 20_000, clients: 10, perClient: 200, browserCommands: 100 }
    : { accounts: 1000, commands: 10_000, events: 100_000, clients: 10, perClient: 1000, browserCommands: 300 };
  const parts = [];
  ctx.log(`scenario 13a: optimistic execute latency, synced vs unsynced (${int(sizes.commands)} deposits on SQLite)`);
  parts.push(await latency(ctx, sizes));
  ctx.log(`scenario 13b: catching up ${int(sizes.events)} events vs reopening them`);
  parts.push(await catchUp(ctx, sizes));
  ctx.log(`scenario 13c: convergence after ${sizes.clients} clients × ${int(sizes.perClient)} commands`);
  parts.push(await convergence(ctx, sizes));
  ctx.log(`scenario 13d: optimistic execute in Chromium on IndexedDB, synced vs unsynced (${int(sizes.browserCommands)} deposits a round)`);
  parts.push(await browserLatency(ctx, sizes));
  ctx.sections.push({ s: 13, text: `### 13. The sync client (Node; 13d in Chromium)\n\n${parts.join('\n\n')}` });
}
