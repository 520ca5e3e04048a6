// The package through require(): same classes and same instance as the ESM entry.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const lib = require('eventjournal');

test('require("eventjournal") works and shares one instance with import', async () => {
  const esm = await import('eventjournal');
  assert.equal(esm.Engine, lib.Engine);
  assert.equal(esm.ValidationError, lib.ValidationError);
  const engine = await lib.Engine.open();
  const r = await engine.execute('BankAccount', 'a', { type: 'create_account', accountHolder: 'A', initialDeposit: 5 });
  assert.equal(r.version, 2);
  await assert.rejects(engine.execute('BankAccount', 'a', { type: 'withdraw', amount: 6 }), (e) => e instanceof esm.DomainError && e.code === 'DOMAIN');
  assert.equal(typeof lib.version, 'string');
  await engine.close();
});

test('require("eventjournal/testing") works, with the same error classes as the package and its ESM twin', async () => {
  const kit = require('eventjournal/testing');
  const esmKit = await import('eventjournal/testing');
  assert.equal(esmKit.decider, kit.decider);
  assert.equal(esmKit.AssertionError, kit.AssertionError);
  const counter = { initialState: 0, decide: (n) => (n > 0 ? [] : [{ type: 'added' }]), evolve: (n) => n + 1 };
  kit.decider(counter).when({ type: 'add' }).then([{ type: 'added' }]);
  const refused = kit.decider({ ...counter, decide: () => { throw new Error('no'); } }).when({ type: 'add' }).thenThrows('DOMAIN');
  assert.ok(refused instanceof lib.DomainError);
  assert.throws(() => kit.decider(counter).when({ type: 'add' }).then([]), kit.AssertionError);
});
