// Fault injection: the engine over a storage that rejects, throws, hangs, settles late, and
// returns records with gaps or garbage (tests/js/faults/faulty.mjs), checked against a simple
// reference model with fast-check (FAULT_RUNS random runs, default 1000).
//
// After each run (faults off, late writes landed, timed-out commands retried with the same
// commandId until they settle):
//   - every command that resolved is in the stored log exactly once (by metadata.commandId),
//     at the position it resolved with;
//   - no event exists for a command rejected with anything but a timeout;
//   - balances equal the model (500 + resolved deposits - resolved withdrawals), in the engine
//     and in a fresh engine opened on the same store; same stats and head hash; verify ok;
//     positions gapless;
//   - an Engine.open that was served a gap or garbage failed with IntegrityError/StorageError;
//   - nothing crashed the process (no unhandled rejection, no uncaught exception).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Engine, memoryStorage } from 'eventjournal';
import { faultyStorage, garbage, fakeRecord, GARBAGE_VARIANTS, KINDS } from './faults/faulty.mjs';

const TIMEOUT_MS = 5;
const LATE_MS = 3 * TIMEOUT_MS;
const ACCOUNTS = 3;
const INITIAL = 500;
const RUNS = Number(process.env.FAULT_RUNS || 1000);

const crashes = [];
const tally = { timeouts: 0, settledByRetry: 0, refused: 0, staleRefusals: 0, openFailures: 0 };
const onUnhandled = (e) => { crashes.push(e); };
process.on('unhandledRejection', onUnhandled);
process.on('uncaughtException', onUnhandled);

// An unknown outcome: the call did not settle in time (or its future was dropped).
const isTimeout = (e) => e && e.code === 'STORAGE' && (e.reason === 'timeout' || e.reason === 'abandoned');
const FAILURE_CODES = new Set(['STORAGE', 'INTEGRITY', 'CONCURRENCY']);

function checkFailure(e, what) {
  assert.ok(e instanceof Error, `${what}: rejected with a non-Error ${String(e)}`);
  assert.ok(FAILURE_CODES.has(e.code) || e.code === 'DOMAIN', `${what}: unexpected ${e.name}/${e.code}: ${e.message}`);
  // 'malformed': the callback answered something the contract does not allow (e.g. null)
  if (e.code === 'STORAGE') assert.ok(['failed', 'timeout', 'malformed', 'abandoned'].includes(e.reason), `${what}: StorageError reason ${e.reason}`);
}

async function openEngine(storage) {
  return Engine.open({ storage, appendTimeoutMs: TIMEOUT_MS, snapshotEvery: 3 });
}

const command = fc.record({
  acc: fc.nat(ACCOUNTS - 1),
  kind: fc.constantFrom('deposit', 'withdraw'),
  amount: fc.integer({ min: 1, max: 600 }),
});
const op = fc.oneof(
  { weight: 6, arbitrary: command.map((c) => ({ t: 'cmd', ...c })) },
  { weight: 2, arbitrary: fc.array(command, { minLength: 2, maxLength: 4 }).map((cmds) => ({ t: 'burst', cmds })) },
  { weight: 1, arbitrary: fc.record({ acc: fc.nat(ACCOUNTS - 1), amount: fc.integer({ min: 1, max: 300 }) }).map((x) => ({ t: 'external', ...x })) },
  { weight: 1, arbitrary: fc.constant({ t: 'reopen' }) },
  { weight: 1, arbitrary: fc.constant({ t: 'retry' }) },
);
const fault = fc.record({ at: fc.nat(12), kind: fc.constantFrom(...KINDS), variant: fc.nat(GARBAGE_VARIANTS * 12) });
const scenario = fc.record({
  ops: fc.array(op, { minLength: 1, maxLength: 16 }),
  faults: fc.array(fault, { maxLength: 8 }),
});

let stores = 0;
const storeName = () => `faults-${(stores += 1)}`;

async function runScenario({ ops, faults }) {
  crashes.length = 0;
  const name = storeName();
  const base = await memoryStorage(name);
  const storage = faultyStorage(base, { lateMs: LATE_MS });
  let engine = await openEngine(storage);
  for (let k = 0; k < ACCOUNTS; k++) {
    await engine.execute('BankAccount', `acc-${k}`, { type: 'create_account', accountHolder: `h${k}`, initialDeposit: INITIAL }, { commandId: `create-${k}` });
  }
  const other = await Engine.open({ storage: await memoryStorage(name) }); // another writer, without faults
  storage.arm(new Map(faults.map((f) => [f.at, f])));

  const commands = []; // { id, acc, kind, amount, status: 'ok' | 'refused' | 'unknown', result }
  let nextId = 0;
  const execute = async (c) => {
    const cmd = { id: `c${nextId++}`, ...c, status: 'unknown', result: null };
    commands.push(cmd);
    try {
      cmd.result = await engine.execute('BankAccount', `acc-${c.acc}`, { type: c.kind, amount: c.amount }, { commandId: cmd.id });
      cmd.status = 'ok';
    } catch (e) {
      checkFailure(e, `${c.kind} ${cmd.id}`);
      if (e.code === 'DOMAIN') {
        // "Account does not exist": the engine's view was stale (a stale read at open) and the
        // read that should confirm a refusal failed: the engine then answers from what it
        // knows (reported to the lead). Nothing is written either way.
        const stale = /Account does not exist/.test(e.message);
        assert.ok((c.kind === 'withdraw' && /Insufficient funds/.test(e.message)) || stale, e.message);
        if (stale) tally.staleRefusals += 1;
      }
      cmd.status = isTimeout(e) ? 'unknown' : 'refused';
      if (isTimeout(e)) tally.timeouts += 1; else tally.refused += 1;
    }
  };
  const retry = async (cmd, { final }) => {
    try {
      cmd.result = await engine.execute('BankAccount', `acc-${cmd.acc}`, { type: cmd.kind, amount: cmd.amount }, { commandId: cmd.id });
      cmd.status = 'ok';
      tally.settledByRetry += 1;
    } catch (e) {
      checkFailure(e, `retry of ${cmd.id}`);
      // A retry that fails leaves the outcome unknown, except a refusal decided without faults
      // (then the first attempt's events, if any had landed, would have been found).
      if (final && e.code === 'DOMAIN') cmd.status = 'refused-on-retry';
      else if (final) throw e;
    }
  };
  const reopen = async () => {
    await engine.close();
    for (let attempt = 0; ; attempt++) {
      const before = storage.stats.corruptReads;
      try {
        engine = await openEngine(storage);
        assert.equal(storage.stats.corruptReads, before, 'Engine.open accepted a gap or garbage from readEvents');
        return;
      } catch (e) {
        if (e instanceof assert.AssertionError) throw e;
        tally.openFailures += 1;
        checkFailure(e, 'Engine.open');
        assert.notEqual(e.code, 'DOMAIN');
        assert.ok(attempt < 30, 'Engine.open kept failing');
      }
    }
  };

  for (const o of ops) {
    if (o.t === 'cmd') await execute(o);
    else if (o.t === 'burst') await Promise.all(o.cmds.map(execute));
    else if (o.t === 'external') {
      const id = `x${nextId++}`;
      const result = await other.execute('BankAccount', `acc-${o.acc}`, { type: 'deposit', amount: o.amount }, { commandId: id });
      commands.push({ id, acc: o.acc, kind: 'deposit', amount: o.amount, status: 'ok', result });
    } else if (o.t === 'reopen') await reopen();
    else if (o.t === 'retry') {
      await storage.drain(); // a retry is only safe once no earlier write can still land
      for (const c of commands.filter((x) => x.status === 'unknown')) await retry(c, { final: false });
    }
  }

  // Settle: no more faults, every late write landed, every unknown outcome retried.
  storage.disarm();
  await storage.drain();
  for (const c of commands.filter((x) => x.status === 'unknown')) await retry(c, { final: true });
  // One more command makes the engine read whatever it has not seen yet (e.g. after a failed
  // catch-up or a stale read).
  await engine.execute('BankAccount', 'acc-0', { type: 'deposit', amount: 1 }, { commandId: 'final' });
  commands.push({ id: 'final', acc: 0, kind: 'deposit', amount: 1, status: 'ok', result: null });

  const log = await base.readEvents(0, 1_000_000);
  const counts = new Map();
  log.forEach((e, i) => {
    assert.equal(e.position, i + 1, 'positions are gapless');
    const id = e.metadata.commandId;
    counts.set(id, (counts.get(id) || 0) + 1);
  });
  const known = new Set(commands.map((c) => c.id));
  for (const [id, n] of counts) {
    // create_account with an initial deposit is two events; every other command one
    assert.equal(n, /^create-/.test(id) ? 2 : 1, `command ${id} has ${n} events`);
    assert.ok(known.has(id) || /^create-/.test(id), `event of unknown command ${id}`);
  }
  const model = Array.from({ length: ACCOUNTS }, () => INITIAL);
  for (const c of commands) {
    if (c.status === 'ok') {
      assert.equal(counts.get(c.id), 1, `resolved command ${c.id} is not in the log once`);
      if (c.result) {
        assert.equal(log[c.result.position - 1].metadata.commandId, c.id, `${c.id} resolved with position ${c.result.position}`);
      }
      model[c.acc] += c.kind === 'deposit' ? c.amount : -c.amount;
    } else {
      assert.equal(c.status === 'refused' || c.status === 'refused-on-retry', true, `${c.id} still ${c.status}`);
      assert.equal(counts.get(c.id), undefined, `${c.id} was rejected (${c.status}) but has events`);
    }
  }

  const fresh = await Engine.open({ storage: await memoryStorage(name) });
  for (let k = 0; k < ACCOUNTS; k++) {
    const mine = await engine.load('BankAccount', `acc-${k}`);
    const theirs = await fresh.load('BankAccount', `acc-${k}`);
    assert.equal(mine.state.balance, model[k], `acc-${k}: engine balance vs model`);
    assert.deepEqual(mine, theirs, `acc-${k}: engine vs fresh engine`);
  }
  assert.deepEqual(await engine.stats(), await fresh.stats());
  assert.equal((await engine.verify()).ok, true);
  assert.deepEqual(await fresh.verify(), { ok: true, checked: log.length, firstBadPosition: null });
  await Promise.all([engine.close(), other.close(), fresh.close()]);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(crashes, [], 'unhandled rejection or uncaught exception');
  return storage.stats;
}

test(`fault injection: ${RUNS} random runs against a reference model`, { timeout: 170_000 }, async () => {
  const started = performance.now();
  const totals = { fired: 0, corruptReads: 0 };
  await fc.assert(
    fc.asyncProperty(scenario, async (s) => {
      const st = await runScenario(s);
      totals.fired += st.fired;
      totals.corruptReads += st.corruptReads;
    }),
    { numRuns: RUNS },
  );
  console.log(`# faults: ${RUNS} runs, ${totals.fired} faults fired (${totals.corruptReads} corrupt reads); `
    + `commands: ${tally.timeouts} timed out, ${tally.settledByRetry} settled by a retry, ${tally.refused} rejected `
    + `(${tally.staleRefusals} refused from a stale view); `
    + `${tally.openFailures} failed opens; ${Math.round(performance.now() - started)} ms`);
});

test('Engine.open fails with IntegrityError or StorageError on every gap and garbage answer', async () => {
  for (const size of [0, 1, 6]) {
    const name = storeName();
    const base = await memoryStorage(name);
    const writer = await Engine.open({ storage: await memoryStorage(name) });
    if (size > 0) await writer.execute('BankAccount', 'acc-0', { type: 'create_account', accountHolder: 'h', initialDeposit: 10 });
    for (let i = 2; i < size; i++) await writer.execute('BankAccount', 'acc-0', { type: 'deposit', amount: i });
    await writer.close();
    const answers = [];
    for (let v = 0; v < GARBAGE_VARIANTS; v++) answers.push([`garbage ${v}`, (page, after) => garbage(page, after, v)]);
    answers.push(['gap', (page, after) => (page.length > 1 ? page.slice(1) : [fakeRecord(after + 2)])]);
    for (const [name, corrupt] of answers) {
      const storage = {
        async readEvents(after, limit) { return corrupt(await base.readEvents(after, limit), after); },
        appendEvents: (events, expected) => base.appendEvents(events, expected),
      };
      let error;
      try {
        const engine = await Engine.open({ storage });
        await engine.close();
      } catch (e) { error = e; }
      assert.ok(error, `${name} on a log of ${size}: Engine.open succeeded`);
      assert.ok(error.code === 'INTEGRITY' || error.code === 'STORAGE', `${name}: ${error.name} ${error.message}`);
    }
  }
});

test('a catch-up that reads garbage fails the command (nothing written) and the next one recovers', async () => {
  const name = storeName();
  const base = await memoryStorage(name);
  const storage = faultyStorage(base, { lateMs: LATE_MS });
  const engine = await openEngine(storage);
  const other = await Engine.open({ storage: await memoryStorage(name) });
  await engine.execute('BankAccount', 'acc-0', { type: 'create_account', accountHolder: 'h', initialDeposit: 10 });
  // the next three reads are garbage: the watch's catch-up (if it comes first) and the reads
  // after the conflicts of the engine's next appends
  storage.arm(new Map([0, 1, 2].map((i) => [i, { kind: 'garbage', variant: 8 }])));
  await other.execute('BankAccount', 'acc-0', { type: 'deposit', amount: 7 }, { commandId: 'other' });
  const results = [];
  for (let i = 0; i < 4; i++) {
    results.push(await engine.execute('BankAccount', 'acc-0', { type: 'deposit', amount: 5 }, { commandId: `d${i}` })
      .then(() => 'ok', (e) => e.code));
  }
  storage.disarm();
  await engine.execute('BankAccount', 'acc-0', { type: 'deposit', amount: 5 }, { commandId: 'after' });
  for (const r of results) assert.ok(r === 'ok' || r === 'INTEGRITY', String(r));
  assert.ok(results.includes('INTEGRITY'), results.join());
  const okCount = results.filter((r) => r === 'ok').length;
  assert.equal((await engine.load('BankAccount', 'acc-0')).state.balance, 10 + 7 + 5 * (okCount + 1));
  const log = await base.readEvents(0, 1000);
  results.forEach((r, i) => assert.equal(log.filter((e) => e.metadata.commandId === `d${i}`).length, r === 'ok' ? 1 : 0));
  assert.equal((await engine.verify()).ok, true);
  await engine.close();
  await other.close();
});
