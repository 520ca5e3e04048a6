// The sync server on PostgreSQL (issue 11 §3): server processes (the package's CLI with
// --postgres, each an engine over postgresStorage plus createSyncServer) sharing one database,
// with plain HTTP + SSE clients on each. Commands sent to either process are decided on the
// latest state, every client sees every event once and in order, and a process SIGKILLed and
// restarted in the middle loses nothing acknowledged and applies nothing twice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, postgresStorage } from 'eventjournal';
import { prng, seedFrom } from './support/prng.mjs';
import { checkLog } from './support/log.mjs';
import { clusterForFile } from './postgres/helpers.mjs';
import { call, execute, openAccount, follower, until, assertGapless } from './server/client.mjs';
import { installedCli, spawnServer } from './server/harness.mjs';

const unhandled = [];
process.on('unhandledRejection', (e) => unhandled.push(e));

const cli = installedCli();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const db = clusterForFile({ before, after });
after(() => assert.deepEqual(unhandled, [], 'no unhandled rejection'));

/** A fresh database on the cluster; its connection string. */
async function database(name) {
  await db.admin.query(`CREATE DATABASE ${name}`);
  return db.cluster.connectionString.replace(/\/postgres$/, `/${name}`);
}
const connections = async (name) => (await db.admin.query(
  "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'eventjournal%'", [name],
)).rows[0].n;
const startCli = (url) => spawnServer(process.execPath, [cli.bin, '--postgres', url, '--port', '0']);

test('CLI --postgres: starts, prints its address, answers /v1/info and a command, stops on SIGTERM and lets go of PostgreSQL', async () => {
  const url = await database('cli');
  const server = await startCli(url);
  let stopped = false;
  try {
    assert.match(server.output().out, /listening on http:\/\/127\.0\.0\.1:\d+\/ \(PostgreSQL, 0 events, protocol v1\)/);
    const info = await call(server.url, '/v1/info');
    assert.deepEqual([info.status, info.body.protocol, info.body.headPosition], [200, 1, 0]);
    const [r] = await execute(server.url, [openAccount('o1', 'acc', 100)]);
    assert.deepEqual([r.ok, r.position], [true, 2]);
    assert.ok(await connections('cli') >= 1);
    assert.equal(await server.stop('SIGTERM'), 0);
    stopped = true;
    assert.match(server.output().out, /SIGTERM, stopping\neventjournal-server: stopped\n$/);
    assert.equal(server.output().err, '');
    await until(async () => (await connections('cli')) === 0, 'the pool and the LISTEN connection closed');

    const again = await startCli(url);
    try {
      assert.match(again.output().out, /PostgreSQL, 2 events/);
      assert.deepEqual((await call(again.url, '/v1/events')).body.events.map((e) => e.metadata.commandId), ['o1', 'o1']);
    } finally {
      assert.equal(await again.stop('SIGINT'), 0);
    }
  } finally {
    if (!stopped) await server.stop('SIGKILL');
  }
});

const OPENING_BALANCE = 12_000; // the ~420 withdrawals ask for ~21,000 in all (more than 10 σ above)
const LOOPS = 12;
const BATCHES_PER_LOOP = 25;
const UNKNOWN = new Set(['STORAGE', 'CLOSED', 'INTERNAL']); // the outcome is unknown: retry, same commandId

/**
 * Sends `commands` (a batch) until every one has a final answer, through `servers[first]`
 * then alternating: a connection refused or cut, a non-200, or an unknown outcome (STORAGE,
 * CLOSED, INTERNAL) is retried with the same commandIds, possibly on the other process.
 * Resolves to the final results by commandId; counts the retries in `stats`.
 */
async function settle(servers, first, commands, stats) {
  const final = new Map();
  let pending = commands;
  for (let attempt = 0; pending.length > 0; attempt++) {
    if (attempt === 400) throw new Error(`no final answer for ${pending.map((c) => c.commandId)} after ${attempt} tries`);
    if (attempt > 0) {
      stats.retries += 1;
      await sleep(20);
    }
    const server = servers[(first + attempt) % servers.length];
    let results;
    try {
      const r = await call(server.url, '/v1/commands', { method: 'POST', body: { commands: pending } });
      if (r.status !== 200) continue;
      results = r.body.results;
    } catch {
      continue; // refused or reset: that process is down
    }
    for (const result of results) if (result.ok || !UNKNOWN.has(result.error.code)) final.set(result.commandId, result);
    pending = pending.filter((c) => !final.has(c.commandId));
  }
  return final;
}

test('two server processes on one PostgreSQL, one SIGKILLed and restarted: decided on the latest state, every client sees every event once, in order', { timeout: 120_000 }, async () => {
  const url = await database('two');
  const seed = seedFrom(process.env.SERVER_PG_SEED);
  const random = prng(seed);
  const servers = [await startCli(url), await startCli(url)];
  const followers = [];
  const stats = { retries: 0, restarts: 0 };
  try {
    // Two live clients on each process, following whatever process answers at its address.
    for (const i of [0, 1]) followers.push(follower(() => servers[i].url), follower(() => servers[i].url));
    await execute(servers[0].url, [openAccount('open-shared', 'shared', OPENING_BALANCE)]);
    await execute(servers[1].url, Array.from({ length: LOOPS }, (_, l) => openAccount(`open-own-${l}`, `own-${l}`)));

    // LOOPS clients, half on each process, send batches of withdrawals from the one shared
    // account (more than it holds, in total) and deposits to their own: racing across processes.
    const sent = new Map(); // commandId → command
    let acknowledged = 0;
    const loop = async (l) => {
      const results = [];
      for (let b = 0; b < BATCHES_PER_LOOP; b++) {
        const batch = Array.from({ length: 1 + Math.floor(random() * 3) }, (_, k) => {
          const commandId = `l${l}-b${b}-c${k}`;
          const command = random() < 0.7
            ? { commandId, streamType: 'BankAccount', streamId: 'shared', command: { type: 'withdraw', amount: 1 + Math.floor(random() * 100) } }
            : { commandId, streamType: 'BankAccount', streamId: `own-${l}`, command: { type: 'deposit', amount: 1 + Math.floor(random() * 100) } };
          sent.set(commandId, command);
          return command;
        });
        const final = await settle(servers, l % 2, batch, stats);
        results.push(...batch.map((c) => final.get(c.commandId)));
        acknowledged += batch.length;
      }
      return results;
    };
    const running = Array.from({ length: LOOPS }, (_, l) => loop(l));

    // Meanwhile: process 1 is SIGKILLed (batches in flight on it get no answer) and restarted.
    await until(() => acknowledged >= 150, '150 commands answered before the kill', 30_000);
    const victim = servers[1];
    victim.child.kill('SIGKILL');
    await victim.exited;
    await sleep(300);
    servers[1] = await startCli(url);
    stats.restarts += 1;
    const results = (await Promise.all(running)).flat();

    // The log, read from PostgreSQL by a fresh engine (which verifies the chain at open).
    const check = await Engine.open({ storage: await postgresStorage({ connectionString: url }) });
    const log = await check.readAll();
    const counts = checkLog(log);
    assert.equal((await check.verify()).ok, true);

    // Every command answered once, finally: accepted ones are in the log exactly once, where
    // their answer says; refused ones are not in it at all.
    assert.equal(results.length, sent.size);
    let withdrawn = 0;
    const refusedAmounts = [];
    for (const r of results) {
      const { command } = sent.get(r.commandId);
      if (r.ok) {
        assert.equal(counts.get(r.commandId), 1, `${r.commandId} appended once`);
        assert.equal(log[r.position - 1].metadata.commandId, r.commandId);
        assert.deepEqual(r.events, [log[r.position - 1]]);
        if (command.type === 'withdraw') withdrawn += command.amount;
      } else {
        assert.equal(counts.get(r.commandId), undefined, `refused ${r.commandId} is not in the log`);
        assert.equal(command.type, 'withdraw', `${r.commandId}: only withdrawals may be refused, got ${JSON.stringify(r.error)}`);
        assert.deepEqual([r.error.code, r.error.message], ['DOMAIN', 'Insufficient funds']);
        refusedAmounts.push(command.amount);
      }
    }
    // Decided on the latest state: never overdrawn, and every refusal was true when decided
    // (the balance only goes down, so it is still below every refused amount).
    const balances = log.filter((e) => e.streamId === 'shared' && e.type !== 'account_created').map((e) => e.data.balanceAfter);
    assert.ok(balances.every((b) => Number.isSafeInteger(b) && b >= 0), `never overdrawn: ${balances.filter((b) => !(b >= 0))}`);
    const { state } = await check.load('BankAccount', 'shared');
    assert.equal(state.balance, OPENING_BALANCE - withdrawn, 'no lost update');
    assert.ok(refusedAmounts.length > 0, 'the clients asked for more than the account held');
    assert.ok(refusedAmounts.every((a) => a > state.balance), `a refusal while the funds were there: ${state.balance} left`);

    // Every live client saw the whole log once, in order, across the kill and its reconnects.
    const head = log.length;
    await until(() => followers.every((f) => f.lastPosition >= head), 'every client to see every event', 30_000);
    followers.forEach((f, i) => {
      assertGapless(f.events, head, 0, `client ${i}`);
      assert.deepEqual(f.events.map((e) => e.hash), log.map((e) => e.hash), `client ${i} has the log's chain`);
    });
    assert.ok(followers.slice(2).every((f) => f.connections >= 2), 'the clients of the killed process reconnected to its successor');
    for (const s of servers) assert.equal((await call(s.url, '/v1/info')).body.headHash, log[head - 1].hash);
    await check.close();
    console.log(`# two processes on PostgreSQL: ${sent.size} commands (${refusedAmounts.length} refused for funds), `
      + `${head} events, ${stats.retries} retries after the SIGKILL and unknown outcomes, SERVER_PG_SEED=${seed}`);
  } finally {
    await Promise.all(followers.map((f) => f.stop()));
    for (const s of servers) await s.stop('SIGTERM');
  }
});
