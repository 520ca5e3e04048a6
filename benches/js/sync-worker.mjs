#!/usr/bin/env node
// One measurement of scenario 13 (the sync client, issue 12) in a fresh process:
// `node sync-worker.mjs '<json task>'`; prints one line of JSON on stdout ({ ok: true, ... } or
// { ok: false, error }). The sync server is another process (the package's CLI, started by
// lib/sync-scenarios.mjs), so only the client's own work is measured here.
//
//   populate { file, accounts, events }        a SQLite log of `events` events (the server's)
//   latency  { file, url?, accounts, commands } each execute awaited, on SQLite; synced when
//                                               `url` is given (optimistic: resolves pending)
//   catchup  { file, url, events }             an empty client syncs `events` events: download,
//                                               verify, persist, fold; until it holds them all
//   reopen   { file, events }                  the same log reopened from local storage
//   converge { url, clients, commands }        `clients` clients issue `commands` each at once;
//                                               until every headHash is the server's
import { Engine, sqliteStorage, memoryStorage } from 'eventjournal';
import { quantile } from './lib/stats.mjs';

const task = JSON.parse(process.argv[2]);
const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const account = (i) => `acc_${String(i).padStart(5, '0')}`;

async function populate({ file, accounts, events }) {
  const engine = await Engine.open({ storage: await sqliteStorage(file, { synchronous: 'OFF' }) });
  const creates = [];
  for (let i = 0; i < accounts; i++) creates.push(engine.execute('BankAccount', account(i), { type: 'create_account', accountHolder: `Holder ${i}`, initialDeposit: 0 }));
  await Promise.all(creates);
  // create_account with no deposit is one event: the rest are deposits, 1,000 in flight.
  for (let done = accounts; done < events;) {
    const n = Math.min(1000, events - done);
    await Promise.all(Array.from({ length: n }, (_, k) => engine.execute('BankAccount', account((done + k) % accounts), { type: 'deposit', amount: 1 + ((done + k) % 97) })));
    done += n;
  }
  const { headPosition } = await engine.stats();
  await engine.close();
  return { events: headPosition };
}

async function latency({ file, url, accounts, commands }) {
  const storage = await sqliteStorage(file);
  const engine = await Engine.open(url ? { storage, sync: { url } } : { storage });
  for (let i = 0; i < accounts; i++) await engine.execute('BankAccount', account(i), { type: 'create_account', accountHolder: `Holder ${i}`, initialDeposit: 100 });
  const samples = [];
  const started = now();
  for (let i = 0; i < commands; i++) {
    const t = now();
    await engine.execute('BankAccount', account(i % accounts), { type: 'deposit', amount: 1 + (i % 97) });
    samples.push(now() - t);
  }
  const ms = now() - started;
  let settledMs = 0;
  if (url) { // every command reaches the server (not measured above: it happens in the background)
    const t = now();
    while (engine.syncState().pending > 0) await sleep(5);
    settledMs = now() - t;
  }
  await engine.close();
  return { ms, p50: quantile(samples, 0.5), p99: quantile(samples, 0.99), mean: ms / commands, settledMs };
}

async function catchup({ file, url, events }) {
  const started = now();
  const engine = await Engine.open({ storage: await sqliteStorage(file), sync: { url } });
  await new Promise((resolve) => {
    const check = (s) => { if (s.confirmedPosition >= events) { off(); resolve(); } };
    const off = engine.onSyncState(check);
    check(engine.syncState());
  });
  const ms = now() - started;
  const stats = await engine.stats();
  if (stats.headPosition !== events) throw new Error(`caught up to ${stats.headPosition}, not ${events}`);
  const verified = engine.syncState().lastError;
  if (verified) throw verified;
  await engine.close();
  return { ms, events: stats.headPosition };
}

async function reopen({ file, events }) {
  const started = now();
  const engine = await Engine.open({ storage: await sqliteStorage(file) });
  await engine.projection('account_balance');
  const ms = now() - started;
  const { headPosition } = await engine.stats();
  if (headPosition !== events) throw new Error(`reopened ${headPosition} events, not ${events}`);
  await engine.close();
  return { ms, events: headPosition };
}

async function converge({ url, clients: n, commands }) {
  const clients = [];
  for (let i = 0; i < n; i++) clients.push(await Engine.open({ storage: await memoryStorage(`c${i}`), sync: { url } }));
  const started = now();
  // Each client: 100 accounts of its own, then deposits on them; all accepted by the server.
  await Promise.all(clients.map(async (c, i) => {
    for (let k = 0; k < commands; k++) {
      const id = `c${i}_${k % 100}`;
      await c.execute('BankAccount', id, k < 100 ? { type: 'create_account', accountHolder: 'H', initialDeposit: 0 } : { type: 'deposit', amount: 1 });
    }
  }));
  const issuedMs = now() - started;
  for (;;) {
    const info = await (await fetch(`${url}/v1/info`)).json();
    let done = clients.every((c) => c.syncState().pending === 0);
    if (done) {
      for (const c of clients) if ((await c.stats()).headHash !== info.headHash) done = false;
    }
    if (done && info.headPosition >= n * commands) break;
    await sleep(5);
  }
  const ms = now() - started;
  for (const c of clients) await c.close();
  return { ms, issuedMs, commands: n * commands };
}

const tasks = { populate, latency, catchup, reopen, converge };
try {
  const result = await tasks[task.kind](task);
  console.log(JSON.stringify({ ok: true, ...result }));
  process.exit(0);
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: `${e?.name}: ${e?.message}` }));
  process.exit(1);
}
