// Scenarios 11 and 12 (issue 11): eventjournal on PostgreSQL against Emmett's PostgreSQL event
// store, and the sync server end to end. One throwaway PostgreSQL cluster for both, started here
// (tests/js/support/postgres.mjs: initdb in a temporary folder, a free loopback port, fsync and
// synchronous_commit ON, the server's other settings at their defaults), stopped at the end.
//
// 11: the bank workload (1,000 create_account, then deposits round-robin) in a fresh database
//     per measurement, (a) each command awaited, (b) 64 concurrent callers; eventjournal
//     (postgresStorage) and Emmett (getPostgreSQLEventStore + DeciderCommandHandler), each in a
//     fresh worker process (worker.mjs, task `pg`), in an order rotated from run to run.
// 12: the sync server as `npx eventjournal-server` runs it (the package's CLI, one process) on
//     PostgreSQL (and on SQLite for reference), driven by loadgen.mjs in another process:
//     100 clients on loopback; a closed loop (batches of 10), then commands/s and latency at
//     10,000, 5,000 and 2,000 commands/s offered (open loop).
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPostgres } from '../../../tests/js/support/postgres.mjs';
import { printProfile } from './profile.mjs';
import { runJson, startServer } from './children.mjs';
import { median } from './stats.mjs';
import { fmtTime, fmtRate, fmtX, int, spread, ratioCell, met, table } from './format.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const SETTINGS = ['server_version', 'fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method', 'wal_level', 'shared_buffers', 'commit_delay', 'max_connections'];
const fmtMs = (ms) => `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;

/**
 * The cluster, an admin pool on it, fresh databases, and its settings. `statements`: load
 * pg_stat_statements (for --profile), and create it in every fresh database.
 */
async function cluster({ statements = false } = {}) {
  const pg = require('pg');
  const server = await startPostgres({ fsync: true, settings: statements ? { shared_preload_libraries: 'pg_stat_statements' } : {} });
  const admin = new pg.Pool({ connectionString: server.connectionString, max: 2 });
  admin.on('error', () => {});
  const { rows } = await admin.query('SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1)', [SETTINGS]);
  const settings = Object.fromEntries(rows.map((r) => [r.name, r.unit === '8kB' ? `${(Number(r.setting) * 8) / 1024} MB` : r.setting]));
  let n = 0;
  return {
    settings,
    async database(prefix) {
      const name = `${prefix}_${(n += 1)}`;
      await admin.query(`CREATE DATABASE ${name}`);
      const url = server.connectionString.replace(/\/postgres$/, `/${name}`);
      const pool = statements ? new pg.Pool({ connectionString: url, max: 1 }) : null;
      if (pool) await pool.query('CREATE EXTENSION pg_stat_statements');
      return {
        url,
        /** The statements that took the most time in this database (with `statements`). */
        top: async () => (await pool.query(`SELECT calls, round(total_exec_time::numeric, 1) AS total_ms,
          round(mean_exec_time::numeric, 3) AS mean_ms, left(regexp_replace(query, '\\s+', ' ', 'g'), 100) AS query
          FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
          ORDER BY total_exec_time DESC LIMIT 8`)).rows,
        drop: async () => {
          if (pool) await pool.end();
          await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
        },
      };
    },
    async stop() {
      await admin.end();
      await server.stop();
    },
  };
}

// ------------------------------------------------------------------------------------ 11
async function scenario11(ctx, db) {
  const { log, rotate, summary, sections, sizes, runs, runWorker } = ctx;
  const { accounts, pgDeposits: deposits } = sizes;
  const contenders = ['eventjournal', 'emmett'];
  const modes = [{ id: 'a', callers: 1, what: 'each command awaited' }, { id: 'b', callers: 64, what: '64 concurrent callers' }];
  const rows = [];
  for (const mode of modes) {
    log(`scenario 11${mode.id}: PostgreSQL, ${int(accounts)} create_account + ${int(deposits)} deposits, ${mode.what}`);
    const res = { eventjournal: [], emmett: [] };
    for (let r = 0; r < runs; r++) {
      for (const c of rotate(contenders, r)) {
        const { url, drop } = await db.database(`s11${mode.id}`);
        const x = await runWorker({ scenario: 'pg', contender: c, connectionString: url, accounts, deposits, callers: mode.callers });
        await drop();
        res[c].push(x);
        log(`s11${mode.id} run ${r + 1}/${runs} ${c}: ${(x.ms / 1000).toFixed(2)} s, ${fmtRate(x.commands / (x.ms / 1000))}`);
      }
    }
    const ej = res.eventjournal.map((x) => x.ms);
    const ratios = res.emmett.map((x, i) => x.ms / ej[i]);
    summary.push({ s: 11, id: `11${mode.id}`, what: `eventjournal vs Emmett on PostgreSQL, ${mode.what}`, target: '≥ 3×', value: fmtX(median(ratios)), ok: median(ratios) >= 3 });
    for (const c of contenders) {
      const ms = res[c].map((x) => x.ms);
      const steady = res[c].map((x) => x.secondHalfCommands / (x.secondHalfMs / 1000));
      rows.push([`${mode.id}: ${mode.what}`, c === 'eventjournal' ? '**eventjournal** `postgresStorage`' : 'Emmett 0.42 `getPostgreSQLEventStore` + `DeciderCommandHandler`',
        fmtTime(median(ms)), spread(ms, fmtTime), fmtRate((accounts + deposits) / (median(ms) / 1000)), fmtRate(median(steady)),
        c === 'eventjournal' ? '—' : ratioCell(ratios), c === 'eventjournal' ? '' : `≥ 3× ${met(median(ratios) >= 3)}`]);
    }
  }
  sections.push({ s: 11, text: `### 11. PostgreSQL: eventjournal (\`postgresStorage\`) vs Emmett 0.42's PostgreSQL event store, the bank workload

${int(accounts)} create_account, then ${int(deposits)} deposits round-robin over the accounts; (a) each command awaited before the next, (b) 64 concurrent callers, each taking the next command (all creates before the first deposit). Each measurement in a fresh \`node\` process on a fresh database of the same cluster (PostgreSQL settings above: fsync and synchronous_commit on, so every acknowledged command is on disk). eventjournal: \`Engine.open({ storage: await postgresStorage({ connectionString }) })\` and the built-in \`BankAccount\` through \`execute\` (its group commit gathers concurrent commands into one append). Emmett: \`getPostgreSQLEventStore(connectionString)\` and \`DeciderCommandHandler\` with the same decider as scenario 1 (streams \`BankAccount-<id>\`), as its docs show; per command it reads the stream, decides, and appends in a transaction (\`emt_append_to_stream\`). Both on their library's default pool (10 connections). After each run three balances are checked against the workload. Ratio: Emmett's time ÷ eventjournal's in the same run.

${table(['mode', 'contender', 'median', 'min – max', 'commands/s', 'second half alone, commands/s', 'eventjournal speed-up', 'target'], rows)}` });
}

// ------------------------------------------------------------------------------------ 12
/** Runs loadgen.mjs against `url`; resolves its JSON result (rejects when it failed). */
function loadgen(task) {
  return runJson(join(here, '..', 'loadgen.mjs'), [JSON.stringify(task)], 'loadgen');
}

/** One load run on a fresh server (and database): `storage` 'postgres' or 'sqlite'. */
async function serverRun(db, storage, task, extraFlags) {
  let args;
  let cleanup;
  if (storage === 'postgres') {
    const { url, drop } = await db.database('s12');
    args = ['--postgres', url];
    cleanup = drop;
  } else {
    const dir = mkdtempSync(join(os.tmpdir(), 'ej-s12-'));
    args = ['--db', join(dir, 'app.db')];
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  }
  const server = await startServer(args, extraFlags);
  try {
    return await loadgen({ url: server.url, ...task });
  } finally {
    await server.stop();
    await cleanup();
  }
}

const CLIENTS = 100;
const READERS = 10;
const TARGET_RATE = 10_000;

/** The loads of scenario 12 on `storage`, in order: their ids, labels and loadgen tasks. */
function loads(storage) {
  const base = { clients: CLIENTS, readers: READERS, accounts: 1000 };
  const open = (rate) => ({ id: rate === TARGET_RATE ? 'target' : `r${rate}`, label: `open loop, ${int(rate)} commands/s offered`, task: { ...base, rate, maxBatch: 100 } });
  return [
    { id: 'closed', label: 'closed loop, batches of 10', task: { ...base, batch: 10 } },
    open(TARGET_RATE),
    open(5000),
    open(2000),
    ...(storage === 'postgres' ? [{ id: 'all', label: `closed loop, batches of 10, all ${CLIENTS} clients on the live channel`, task: { ...base, readers: CLIENTS, batch: 10 } }] : []),
  ];
}

async function scenario12(ctx, db) {
  const { log, summary, sections, sizes, runs } = ctx;
  const rows = [];
  for (const storage of ['postgres', 'sqlite']) {
    for (const load of loads(storage)) {
      const res = [];
      for (let r = 0; r < runs; r++) {
        const x = await serverRun(db, storage, { ...load.task, warmupMs: sizes.serverWarmupMs, measureMs: sizes.serverMeasureMs });
        res.push(x);
        log(`s12 ${storage} ${load.id} run ${r + 1}/${runs}: ${fmtRate(x.commandsPerSecond)}, p50 ${fmtMs(x.p50)}, p99 ${fmtMs(x.p99)}, answers p99 ${fmtMs(x.answerP99)}${x.backlog ? `, ${int(x.backlog)} not sent` : ''}`);
      }
      rows.push(row12(storage, load, res));
      if (storage === 'postgres' && load.id === 'target') {
        const rate = median(res.map((x) => x.commandsPerSecond));
        summary.push({ s: 12, id: '12a', what: `sync server on PostgreSQL, ${int(TARGET_RATE)} commands/s offered by ${CLIENTS} clients: commands/s answered`, target: `≥ ${int(TARGET_RATE)}/s`, value: fmtRate(rate), ok: rate >= TARGET_RATE * 0.98 });
        const p99 = median(res.map((x) => x.p99));
        summary.push({ s: 12, id: '12b', what: 'the same: p99 from send to the event on another client\'s live channel', target: '≤ 50 ms', value: fmtMs(p99), ok: p99 <= 50 });
      }
    }
  }
  sections.push({ s: 12, text: text12(sizes, rows) });
}

function row12(storage, load, res) {
  const rate = res.map((x) => x.commandsPerSecond);
  const p50 = res.map((x) => x.p50);
  const p99 = res.map((x) => x.p99);
  const issued = res.map((x) => x.issuedP99);
  const backlog = median(res.map((x) => x.backlog));
  return [storage === 'postgres' ? 'PostgreSQL' : 'SQLite (reference)', load.label, fmtRate(median(rate)), spread(rate, fmtRate),
    fmtMs(median(p50)), `${fmtMs(median(p99))} (${spread(p99, fmtMs)})`, fmtMs(median(res.map((x) => x.answerP99))),
    load.task.rate ? `${fmtMs(median(issued))}${backlog ? `; ${int(backlog)} still unsent at the end` : ''}` : '—'];
}

function text12(sizes, rows) {
  return `### 12. The sync server end to end: ${CLIENTS} clients on loopback

The server is the package's CLI as \`npx eventjournal-server --postgres URL\` (or \`--db FILE\`, SQLite with \`synchronous=FULL\`) runs it: one Node process, one engine, group commit; a fresh server and database per run. The clients are simulated by \`benches/js/loadgen.mjs\` in another process: ${CLIENTS} clients, each with its own keep-alive HTTP connection, send deposits over 1,000 accounts in \`POST /v1/commands\` batches, one request in flight per client. ${READERS} of them (a realistic subset: the clients with the app open) also hold a live channel (\`GET /v1/live\`, Server-Sent Events); the last PostgreSQL row puts all ${CLIENTS} on it. Closed loop: each client sends 10 deposits, then 10 more as soon as they are answered. Open loop: deposits are issued at a fixed rate over all clients (100 clients at 10,000/s: 100 commands per second each); each client sends what it has pending (at most 100) when its previous request is answered, like the sync client's outbox, so batches grow with the load. Commands/s: commands answered in the ${sizes.serverMeasureMs / 1000} s measured (after ${sizes.serverWarmupMs / 1000} s of warm-up). Latency: from the request that carries a command to its event arriving on ANOTHER client's live channel (read as the chunk arrives); "issued → live, p99" also counts the wait in the client's outbox. Every run checks that each live channel received every event once, in order, and that no command was refused. The machine's 2 cores are shared by the server, PostgreSQL and the load generator.

${table(['storage', 'load', 'commands/s (median)', 'min – max', 'p50 send → live', 'p99 send → live (min – max)', 'p99 request → answer', 'p99 issued → live'], rows)}`;
}

/**
 * Scenarios 11 and 12 (those of them `want`ed) on one throwaway cluster. Returns what the
 * machine line reports: `{ postgres: settings, emmettPostgresql: version }`.
 */
export async function serverScenarios(ctx) {
  if (!ctx.want(11) && !ctx.want(12)) return null;
  const db = await cluster();
  try {
    if (ctx.want(11)) await scenario11(ctx, db);
    if (ctx.want(12)) await scenario12(ctx, db);
  } finally {
    await db.stop();
  }
  return { postgres: db.settings };
}

/**
 * --profile 11a | 11b | 12: one eventjournal measurement of scenario 11 (the worker) or 12 (the
 * server process, 10,000 commands/s offered, PostgreSQL) under `node --cpu-prof`, where its time goes, and
 * the statements PostgreSQL spent its time on (pg_stat_statements).
 */
export async function profileServerScenario(which, { sizes, log, runWorker }) {
  const dir = mkdtempSync(join(os.tmpdir(), 'ej-prof-'));
  const flags = ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=100'];
  const db = await cluster({ statements: true });
  try {
    const { url, top, drop } = await db.database('prof');
    if (which === '12') {
      log(`profiling scenario 12 (the server process, ${int(TARGET_RATE)} commands/s offered, PostgreSQL) into ${dir}`);
      const server = await startServer(['--postgres', url], flags);
      try {
        const x = await loadgen({ url: server.url, ...loads('postgres')[1].task, warmupMs: sizes.serverWarmupMs, measureMs: sizes.serverMeasureMs });
        log(`${fmtRate(x.commandsPerSecond)}, p50 ${fmtMs(x.p50)}, p99 ${fmtMs(x.p99)}`);
      } finally {
        await server.stop();
      }
    } else {
      const callers = which === '11b' ? 64 : 1;
      log(`profiling scenario ${which} (eventjournal, ${callers} caller(s)) into ${dir}`);
      await runWorker({ scenario: 'pg', contender: 'eventjournal', connectionString: url, accounts: sizes.accounts, deposits: sizes.pgDeposits, callers }, { extraFlags: flags });
    }
    console.log('\nPostgreSQL, top statements by total time (pg_stat_statements):');
    console.table(await top());
    await drop();
  } finally {
    await db.stop();
  }
  printProfile(join(dir, readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))));
}

