// Soak, bounded form (make test). The long form is scripts/soak.sh (SOAK_COMMANDS=1000000).
//   1. tests/js/soak/node-soak.mjs in a child process (node --expose-gc, so memory is measured
//      after full collections): SOAK_COMMANDS (default 20,000) mixed commands of both built-in
//      domains and a JS aggregate on sqliteStorage with 1% injected append faults (retried with
//      the same commandId), JS projections defined and replayed, subscriptions coming and
//      going; memory must level off, 10,000 subscriptions / repeats / refusals / reads must
//      leave nothing behind, and a fresh engine on the same file must rebuild the same state.
//      Figures: stdout and target/reliability/soak-node.json.
//   2. A JS projection whose state grows with the log (a record per stream, the usual shape of
//      a read model) must cost memory linear in the log: its periodic snapshots are bounded
//      by the log's length (DESIGN.md, projection.rs). Figures: target/reliability/js-projection-growth.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Engine } from 'eventjournal';
import { writeReport, table, MB } from './soak/report.mjs';

const here = dirname(fileURLToPath(import.meta.url));

function runNode(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const onData = (chunk) => {
      out += chunk;
      for (const line of String(chunk).split('\n')) if (line) console.log(`# ${line}`);
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, out }));
  });
}

test(`Node soak on SQLite: ${Number(process.env.SOAK_COMMANDS || 20_000)} commands, 1% append faults, memory levels off, a fresh replay equals the final state`, { timeout: 300_000 }, async () => {
  const env = { ...process.env, SOAK_COMMANDS: process.env.SOAK_COMMANDS || '20000' };
  const r = await runNode(['--expose-gc', join(here, 'soak', 'node-soak.mjs')], env);
  assert.equal(r.signal, null, `the soak was killed by ${r.signal}`);
  const failed = r.out.split('\n').filter((l) => /^\s+- /.test(l)).join('\n');
  assert.equal(r.code, 0, `the soak failed:\n${failed}`);
  assert.match(r.out, /events lost: 0, duplicated: 0, unexpected: 0/);
});

const gc = globalThis.gc || (() => { v8.setFlagsFromString('--expose-gc'); return vm.runInNewContext('gc'); })();
async function heapAfterGc() {
  for (let i = 0; i < 3; i += 1) {
    gc();
    await new Promise((r) => setTimeout(r, 5));
  }
  gc();
  return process.memoryUsage().heapUsed;
}

// A fresh engine (in memory) with one JS projection, `n` accounts created (one event each, so
// a per-stream projection gains one record per event); returns the JS heap it holds on to.
async function projectionHeap(kind, n) {
  const base = await heapAfterGc();
  const engine = await Engine.open();
  if (kind === 'per-stream') {
    engine.defineProjection('accounts', {
      initialState: () => ({}),
      evolve(s, e) { s[e.streamId] = { holder: e.data.accountHolder, at: e.position }; return s; },
    });
  } else {
    engine.defineProjection('count', { initialState: () => ({ n: 0 }), evolve(s) { s.n += 1; return s; } });
  }
  const t = performance.now();
  for (let i = 0; i < n; i += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, k) => engine.execute('BankAccount', `acc-${i + k}`, { type: 'create_account', accountHolder: `h${i + k}` })));
  }
  const ms = Math.round(performance.now() - t);
  const state = await engine.projection(kind === 'per-stream' ? 'accounts' : 'count');
  const held = (await heapAfterGc()) - base;
  const stateChars = JSON.stringify(state).length;
  await engine.close();
  engine.free();
  return { kind, events: n, heldBytes: held, stateJsonChars: stateChars, ms };
}

test('a JS projection whose state grows with the log holds memory linear in the log (2x the log: at most 3x the memory)', { timeout: 120_000 }, async () => {
  const n = Number(process.env.SOAK_PROJECTION_EVENTS || 8000);
  const rows = [];
  for (const kind of ['constant', 'per-stream']) {
    for (const events of [n, 2 * n]) rows.push(await projectionHeap(kind, events));
  }
  const ratio = (kind) => {
    const [a, b] = rows.filter((r) => r.kind === kind);
    return b.heldBytes / a.heldBytes;
  };
  console.log(table(rows, [
    ['JS projection state', (r) => r.kind], ['events', (r) => r.events], ['JS heap held MB', (r) => MB(r.heldBytes)],
    ['B/event', (r) => Math.round(r.heldBytes / r.events)], ['state JSON KB', (r) => (r.stateJsonChars / 1024).toFixed(0)], ['ms', (r) => r.ms],
  ]).replace(/^/gm, '# '));
  const result = { rows, ratioConstant: ratio('constant'), ratioPerStream: ratio('per-stream') };
  console.log(`# doubling the log multiplied the JS heap held by ${result.ratioPerStream.toFixed(2)} (per-stream state) and ${result.ratioConstant.toFixed(2)} (constant state)`);
  writeReport('js-projection-growth', { ok: result.ratioPerStream < 3, ...result });
  assert.ok(result.ratioPerStream < 3,
    `doubling the log from ${n} to ${2 * n} events multiplied the JS heap held by a per-stream JS projection by ${result.ratioPerStream.toFixed(2)} `
    + '(linear: about 2; quadratic: about 4): its snapshots are not bounded by the log\'s length '
    + '(JS projections are snapshotted every projectionSnapshotEvery positions whatever the size of their state; src/wasm/user_code.rs: JsProjection::weight returns 1)');
});
