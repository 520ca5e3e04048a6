// Reading a long log: when a page of readEvents is full, the engine asks for the next one at
// once, before it checks and applies the page it has (the host reads while the engine works;
// BENCHMARKS.md scenario 7). These tests pin what a storage sees and what can go wrong:
//   - every page is asked for exactly once, in order, and a page that was not full is the
//     last one read ahead (the call after it always reaches the storage fresh);
//   - the page read ahead while the engine found a bad record is dropped: its failure is
//     nobody's unhandled rejection, and the open fails with the IntegrityError;
//   - a page read ahead that fails when it is needed fails the open with a StorageError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, memoryStorage } from 'eventjournal';

const PAGE = 10_000; // the engine's page size
const unhandled = [];
process.on('unhandledRejection', (e) => { unhandled.push(e); });

/** The stored records of a log of `deposits + 1` events. */
async function storedLog(deposits) {
  const storage = await memoryStorage();
  const engine = await Engine.open({ storage });
  await engine.execute('BankAccount', 'acc', { type: 'create_account', accountHolder: 'Ann', initialDeposit: 0 });
  for (let done = 0; done < deposits; done += 1000) {
    const burst = [];
    for (let i = done; i < Math.min(deposits, done + 1000); i += 1) {
      burst.push(engine.execute('BankAccount', 'acc', { type: 'deposit', amount: 1 }));
    }
    await Promise.all(burst);
  }
  const records = await storage.readEvents(0, 1e9);
  await engine.close();
  return records;
}

/** A storage over `records` that logs each readEvents call; `fail(after)` may make one reject. */
function loggingStorage(records, fail = () => false) {
  const calls = [];
  return {
    calls,
    async readEvents(after, limit) {
      calls.push([after, limit]);
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (fail(after)) throw new Error(`read after ${after} failed`);
      return structuredClone(records.filter((r) => r.position > after).slice(0, limit));
    },
    async appendEvents() { throw new Error('read only'); },
  };
}

const records = await storedLog(2 * PAGE + 499); // 20,500 events: two full pages and one short

test('each page is asked for once, in order; the short last page is not read ahead', { timeout: 60_000 }, async () => {
  const storage = loggingStorage(records);
  const engine = await Engine.open({ storage });
  assert.equal((await engine.stats()).totalEvents, records.length);
  assert.equal((await engine.load('BankAccount', 'acc')).state.balance, 2 * PAGE + 499);
  assert.deepEqual(storage.calls, [[0, PAGE], [PAGE, PAGE], [2 * PAGE, PAGE], [records.length, PAGE]]);
  assert.equal((await engine.verify()).ok, true);
  await engine.close();
});

test('a page read ahead while a bad record is found is dropped: the open fails with the IntegrityError', { timeout: 60_000 }, async () => {
  const bad = structuredClone(records);
  bad[41].data.amount = 1000; // its hash no longer matches
  const storage = loggingStorage(bad, (after) => after === PAGE);
  await assert.rejects(Engine.open({ storage }), (e) => e.name === 'IntegrityError' && e.position === 42);
  assert.deepEqual(storage.calls, [[0, PAGE], [PAGE, PAGE]], 'the second page was read ahead');
  await new Promise((resolve) => setTimeout(resolve, 50)); // let the dropped read settle
  assert.deepEqual(unhandled, [], 'no unhandled rejection');
});

test('a page read ahead that fails fails the open with a StorageError carrying the cause', { timeout: 60_000 }, async () => {
  const storage = loggingStorage(records, (after) => after === PAGE);
  await assert.rejects(Engine.open({ storage }), (e) => {
    assert.equal(e.name, 'StorageError');
    assert.match(e.message, /storage\.readEvents failed: read after 10000 failed/);
    assert.equal(e.cause?.message, `read after ${PAGE} failed`);
    return true;
  });
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(unhandled, []);
});
