// A tiny app that imports the package by name, bundled by Vite for the browser.
import { Engine, DomainError, memoryStorage } from 'eventjournal';

async function run() {
  const engine = await Engine.open({ storage: memoryStorage() });
  await engine.execute('BankAccount', 'account_001', { type: 'create_account', accountHolder: 'John Doe', initialDeposit: 100000 });
  await engine.execute('BankAccount', 'account_001', { type: 'deposit', amount: 50000 });
  await engine.execute('BankAccount', 'account_001', { type: 'withdraw', amount: 20000 });
  await engine.execute('BankAccount', 'account_001', { type: 'deposit', amount: 30000 });
  let refused = '';
  try {
    await engine.execute('BankAccount', 'account_001', { type: 'withdraw', amount: 1e9 });
  } catch (e) {
    refused = e instanceof DomainError ? e.message : `wrong error ${e}`;
  }
  const { state } = await engine.load('BankAccount', 'account_001');
  return { balance: state.balance, refused, verified: (await engine.verify()).ok };
}

run().then(
  (r) => { document.getElementById('out').textContent = JSON.stringify(r); window.result = r; },
  (e) => { document.getElementById('out').textContent = `error: ${e}`; window.result = { error: String(e) }; },
);
