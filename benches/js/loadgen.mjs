#!/usr/bin/env node
// Scenario 12's load generator, a process of its own (the server under test is another one):
//   node loadgen.mjs '<json task>'   → one line of JSON on stdout
// task: { url, clients, readers, accounts, warmupMs, measureMs, batch } (closed loop)
//    or { …, rate, maxBatch } (open loop)
//
// `clients` simulated clients, each with ONE keep-alive HTTP connection of its own, send
// deposits (POST /v1/commands) with one request in flight per client. Clients 0 … readers-1
// also hold a live channel each (GET /v1/live, Server-Sent Events, a connection of its own).
// - closed loop (`batch`): each client sends `batch` deposits, and the next batch as soon as
//   the answer came: the most the server can take;
// - open loop (`rate`): deposits are issued at `rate` per second in all, spread over the
//   clients (a 5 ms ticker); a client sends what it has pending (at most `maxBatch`) whenever
//   its previous request was answered, like the sync client's outbox.
// The deposits go round-robin over `accounts` accounts (created first); commandIds `c<client>-<n>`.
//
// Latency: from the moment a command's request is sent to the moment its event arrives on
// ANOTHER client's live channel (reader 0's, or reader 1's for client 0's commands), taken when
// the chunk arrives; "issued" latency starts when the command was issued (open loop: it may wait
// for the client's previous request); "answer" latency is a request's round trip. Commands per second: the commands answered during the
// measured window (after `warmupMs`, for `measureMs`) over its length; latencies of commands
// sent in the window. At the end every reader must have received every event once, in order.
import http from 'node:http';
import { quantile } from './lib/stats.mjs';

const task = JSON.parse(process.argv[2]);
const { url, clients, readers, accounts, warmupMs, measureMs } = task;
const target = new URL(url);
const now = () => performance.now();

/** POST /v1/commands: resolves to the number of commands refused (their codes in `refused`). */
function post(agent, commands, refused) {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify({ commands });
    const req = http.request({
      host: target.hostname, port: target.port, path: '/v1/commands', method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        if (res.statusCode !== 200) { reject(new Error(`${res.statusCode} ${text}`)); return; }
        // A client would parse the answer; this one only looks for refusals (its CPU is the server's).
        if (text.includes('"ok":false')) {
          for (const r of JSON.parse(text).results) if (!r.ok) refused.push(r.error.code);
        }
        resolve();
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

function getJson(path) {
  return new Promise((resolve, reject) => {
    http.get({ host: target.hostname, port: target.port, path }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve(JSON.parse(text)));
    }).on('error', reject);
  });
}

const accountOf = (k) => `acct_${String(k % accounts).padStart(4, '0')}`;

// ---- setup: the accounts (refused as DOMAIN when they exist already)
const setupAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
for (let k = 0; k < accounts; k += 500) {
  const commands = [];
  for (let j = k; j < Math.min(accounts, k + 500); j++) {
    commands.push({ commandId: `open-${j}`, streamType: 'BankAccount', streamId: accountOf(j), command: { type: 'create_account', accountHolder: `Holder ${j}`, initialDeposit: 0 } });
  }
  const setupRefused = [];
  await post(setupAgent, commands, setupRefused);
  if (setupRefused.some((code) => code !== 'DOMAIN')) throw new Error(`setup: ${setupRefused}`); // DOMAIN: it exists
}
setupAgent.destroy();
const { headPosition: startHead } = await getJson('/v1/info');

// ---- the live channels
const sentAt = new Map(); // commandId → [sent, issued] (commands sent inside the window)
const latencies = [];
const issuedLatencies = [];
const answerLatencies = []; // request sent → its answer
const live = [];
const COMMAND_ID = /"commandId":"c(\d+)-(\d+)"/g;
const HASH = '"hash":"';
function countEvents(message) {
  let n = 0;
  for (let i = message.indexOf(HASH); i >= 0; i = message.indexOf(HASH, i + 72)) n += 1;
  return n;
}
function openReader(r) {
  return new Promise((resolve, reject) => {
    const reader = { events: 0, lastId: startHead, ok: true };
    live.push(reader);
    const req = http.get({ host: target.hostname, port: target.port, path: `/v1/live?after=${startHead}`, agent: false }, (res) => {
      if (res.statusCode !== 200) { reject(new Error(`live: ${res.statusCode}`)); return; }
      res.setEncoding('utf8');
      let buffer = '';
      res.on('data', (chunk) => {
        const t = now();
        buffer += chunk;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const message = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (!message.startsWith('id: ')) { if (message.startsWith('event: hello')) resolve(reader); continue; }
          const id = Number(message.slice(4, message.indexOf('\n')));
          const count = countEvents(message);
          if (id !== reader.lastId + count) reader.ok = false; // something missed, repeated or out of order
          reader.lastId = id;
          reader.events += count;
          if (r > 1) continue; // readers 0 and 1 time the commands of the others
          for (const m of message.matchAll(COMMAND_ID)) {
            if ((m[1] === '0') === (r === 0)) continue;
            const times = sentAt.get(`c${m[1]}-${m[2]}`);
            if (times !== undefined) { latencies.push(t - times[0]); issuedLatencies.push(t - times[1]); }
          }
        }
      });
      res.on('error', () => { reader.ok = false; });
    });
    req.on('error', reject);
    reader.close = () => req.destroy();
  });
}
await Promise.all(Array.from({ length: readers }, (_, r) => openReader(r)));

// ---- the clients
const t0 = now();
const windowStart = t0 + warmupMs;
const windowEnd = windowStart + measureMs;
let answeredInWindow = 0;
let sending = true;
const refused = [];
const open = task.rate !== undefined;
const maxBatch = open ? task.maxBatch : task.batch;

const state = Array.from({ length: clients }, (_, i) => ({
  i, n: 0, k: i, pending: [], busy: false, agent: new http.Agent({ keepAlive: true, maxSockets: 1 }),
}));
function issue(c, at) {
  const commandId = `c${c.i}-${c.n++}`;
  c.pending.push({ commandId, issued: at, command: { commandId, streamType: 'BankAccount', streamId: accountOf(c.k), command: { type: 'deposit', amount: 1 + (c.n % 100) } } });
  c.k += clients;
}
async function send(c) {
  c.busy = true;
  try {
    while (sending && c.pending.length > 0) {
      const batch = c.pending.splice(0, maxBatch);
      const t = now();
      if (t >= windowStart && t < windowEnd) for (const p of batch) sentAt.set(p.commandId, [t, p.issued]);
      await post(c.agent, batch.map((p) => p.command), refused);
      const answered = now();
      if (answered >= windowStart && answered < windowEnd) answeredInWindow += batch.length;
      if (t >= windowStart && t < windowEnd) answerLatencies.push(answered - t);
      if (!open) for (let j = 0; j < maxBatch; j++) issue(c, now());
    }
  } finally {
    c.busy = false;
  }
}

let ticker = null;
if (open) {
  // Issue rate × elapsed commands in all, round-robin over the clients, every 5 ms.
  let issued = 0;
  let next = 0;
  ticker = setInterval(() => {
    const t = now();
    const due = Math.floor(((t - t0) / 1000) * task.rate);
    for (; issued < due; issued++) {
      const c = state[next];
      next = (next + 1) % clients;
      issue(c, t);
      if (!c.busy) send(c).catch((e) => { refused.push(String(e.message)); });
    }
  }, 5);
} else {
  for (const c of state) {
    for (let j = 0; j < maxBatch; j++) issue(c, now());
    send(c).catch((e) => { refused.push(String(e.message)); });
  }
}
await new Promise((r) => setTimeout(r, warmupMs + measureMs));
clearInterval(ticker);
sending = false;
while (state.some((c) => c.busy)) await new Promise((r) => setTimeout(r, 5));
for (const c of state) c.agent.destroy();
const backlog = state.reduce((s, c) => s + c.pending.length, 0);

// ---- every reader has the whole log, once, in order
const { headPosition } = await getJson('/v1/info');
const deadline = now() + 60_000;
while (live.some((r) => r.lastId < headPosition) && now() < deadline) await new Promise((r) => setTimeout(r, 20));
for (const r of live) r.close();
const complete = live.every((r) => r.ok && r.lastId === headPosition && r.events === headPosition - startHead);
const errors = [];
if (!complete) errors.push(`a live channel missed events: ${JSON.stringify(live.map((r) => [r.events, r.lastId]))} of ${headPosition - startHead}`);
if (refused.length > 0) errors.push(`refused or failed: ${[...new Set(refused)].join(', ')}`);
process.stdout.write(`${JSON.stringify({
  ok: errors.length === 0,
  error: errors.join('; ') || undefined,
  commandsPerSecond: answeredInWindow / (measureMs / 1000),
  offered: open ? task.rate : null,
  backlog,
  events: headPosition - startHead,
  p50: quantile(latencies, 0.5), p90: quantile(latencies, 0.9), p99: quantile(latencies, 0.99), max: Math.max(...latencies),
  issuedP50: quantile(issuedLatencies, 0.5), issuedP99: quantile(issuedLatencies, 0.99),
  answerP50: quantile(answerLatencies, 0.5), answerP99: quantile(answerLatencies, 0.99),
  latencySamples: latencies.length,
})}\n`);
