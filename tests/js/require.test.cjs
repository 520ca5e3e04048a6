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
