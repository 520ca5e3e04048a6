// Property test: no input reachable from the public API panics the module. 10,000 random
// calls with random arguments (anything: wrong types, null, cycles, BigInts, Maps, Dates,
// __proto__ keys, huge strings, unsafe numbers); every call must resolve, or reject/throw an
// eventjournal error with a known code; afterwards the engine still works, its chain
// verifies, and Object.prototype is untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Engine, ERROR_CODES, EventJournalError, memoryStorage } from 'eventjournal';

const RUNS = Number(process.env.FUZZ_RUNS || 10_000);

const anything = fc.anything({
  withBigInt: true, withBoxedValues: true, withDate: true, withMap: true, withSet: true,
  withNullPrototype: true, withObjectString: true, withSparseArray: true, withTypedArray: true,
  withUnicodeString: true, maxDepth: 4, maxKeys: 6,
});
const amount = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -0, NaN, Infinity, 2 ** 53, 2 ** 53 - 1, 1e21), fc.bigInt(), anything);
const name = fc.oneof(fc.constantFrom('BankAccount', 'Order', 'Counter', 'acc-1', 'order-1', '', '__proto__', 'x'.repeat(300)), fc.string(), anything);
const command = fc.oneof(
  fc.record({
    type: fc.oneof(fc.constantFrom('create_account', 'deposit', 'withdraw', 'close_account', 'place_order', 'confirm_order',
      'ship_order', 'deliver_order', 'cancel_order', 'add'), anything),
    accountHolder: fc.oneof(fc.string(), anything),
    initialDeposit: amount,
    amount,
    description: fc.oneof(fc.string(), anything),
    customerId: fc.oneof(fc.string(), anything),
    items: fc.oneof(fc.array(fc.record({ itemId: fc.oneof(fc.string(), anything), quantity: amount, price: amount }, { requiredKeys: [] }), { maxLength: 3 }), anything),
    shippingAddress: fc.oneof(fc.string(), anything),
    trackingNumber: fc.oneof(fc.string(), anything),
    by: amount,
  }, { requiredKeys: [] }),
  fc.jsonValue().map((v) => JSON.parse(`{"__proto__": ${JSON.stringify(v ?? null)}, "type": "deposit", "amount": 1}`)),
  anything,
);
const options = fc.oneof(
  fc.record({
    expectedVersion: fc.oneof(fc.constantFrom('any', 'no_stream', 'exists', 0, 1, 2, -1, 1.5), anything),
    metadata: fc.oneof(fc.dictionary(fc.string(), fc.jsonValue()), anything),
    commandId: fc.oneof(fc.constantFrom('c1', 'c2', ''), fc.string(), anything),
    at: fc.oneof(fc.record({ version: amount }), fc.record({ position: amount }), fc.record({ timestamp: fc.oneof(amount, fc.date()) }), anything),
    fromVersion: amount, fromPosition: amount, limit: amount, direction: fc.oneof(fc.constantFrom('forward', 'backward'), anything),
    types: fc.oneof(fc.array(fc.string(), { maxLength: 3 }), anything), streamType: name, streamId: name,
    fromTimestamp: fc.oneof(amount, fc.date()), toTimestamp: fc.oneof(amount, fc.date()),
    onError: fc.oneof(fc.constant(() => {}), anything),
  }, { requiredKeys: [] }),
  anything,
);
const call = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.constant('execute'), name, name, command, options) },
  fc.tuple(fc.constant('readStream'), name, options),
  fc.tuple(fc.constant('readAll'), options),
  fc.tuple(fc.constant('streamVersion'), name),
  fc.tuple(fc.constant('load'), name, name, options),
  fc.tuple(fc.constant('projection'), fc.oneof(fc.constantFrom('account_balance', 'order_status'), name), options),
  fc.tuple(fc.constant('query'), fc.oneof(fc.constantFrom('account_balance', 'order_status'), name), fc.oneof(fc.dictionary(fc.string(), fc.jsonValue()), anything)),
  fc.tuple(fc.constant('subscribe'), fc.oneof(fc.constant(() => {}), anything), options),
  fc.tuple(fc.constant('defineAggregate'), name, anything),
  fc.tuple(fc.constant('defineProjection'), name, anything),
  fc.tuple(fc.constant('replay'), fc.oneof(fc.constant(undefined), name)),
  fc.tuple(fc.constant('Engine.open'), anything),
);

function checkError(e, what) {
  assert.ok(e instanceof Error, `${what}: threw a non-Error ${String(e)}`);
  assert.ok(e instanceof EventJournalError, `${what}: ${e.name}: ${e.message}`);
  assert.ok(ERROR_CODES.includes(e.code), `${what}: unknown code ${e.code}`);
}

test(`no panic from ${RUNS} random calls`, async () => {
  const engine = await Engine.open({ storage: await memoryStorage(), appendTimeoutMs: 1000 });
  engine.defineAggregate('Counter', {
    initialState: { n: 0 },
    decide: (s, c) => [{ type: 'added', data: { by: Number.isSafeInteger(c.by) ? c.by : 0 } }],
    evolve: (s, e) => ({ n: s.n + e.data.by }),
  });
  await engine.execute('BankAccount', 'acc-1', { type: 'create_account', accountHolder: 'A', initialDeposit: 1000 });
  const counts = { ok: 0, rejected: 0 };
  await fc.assert(
    fc.asyncProperty(call, async ([method, ...args]) => {
      let result;
      try {
        if (method === 'Engine.open') {
          const e = await Engine.open(...args);
          await e.close();
          result = true;
        } else {
          result = await engine[method](...args);
          if (method === 'subscribe') result.unsubscribe();
        }
        counts.ok += 1;
      } catch (e) {
        checkError(e, `${method}(${args.map((a) => typeof a).join(', ')})`);
        counts.rejected += 1;
      }
      return result !== null || true;
    }),
    { numRuns: RUNS },
  );
  console.log(`fuzz: ${counts.ok} calls succeeded, ${counts.rejected} were refused with typed errors`);
  assert.equal({}.polluted, undefined);
  assert.deepEqual(Object.keys(Object.prototype), []);
  const r = await engine.execute('BankAccount', 'after-fuzz', { type: 'create_account', accountHolder: 'Z', initialDeposit: 1 });
  assert.equal(r.version, 2);
  const verified = await engine.verify();
  assert.equal(verified.ok, true);
  const log = await engine.readAll();
  assert.deepEqual(log.map((e) => e.position), log.map((_, i) => i + 1));
  await engine.close();
});
