// A tiny app that imports the package by name, bundled by Vite for the browser.
import { Engine, DomainError, memoryStorage } from 'eventjournal';
import { decider } from 'eventjournal/testing';

const counter = {
  initialState: { n: 0 },
  decide: (state, command) => (state.n + command.by > 3 ? [] : [{ type: 'added', data: { by: command.by } }]),
  evolve: (state, event) => ({ n: state.n + event.data.by }),
};

/** The test kit runs in the bundle too: it returns the events, and throws on a mismatch. */
function kit() {
  const events = decider(counter).given([{ type: 'added', data: { by: 2 } }]).when({ type: 'add', by: 1 }).then([{ type: 'added', data: { by: 1 } }]);
  let mismatch = '';
  try {
    decider(counter).when({ type: 'add', by: 1 }).then([]);
  } catch (e) {
    mismatch = e.name;
  }
  return `${events.length} ${mismatch}`;
}

async function run() {
  const engine = await Engine.open({ storage: await memoryStorage() });
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
  return { balance: state.balance, refused, verified: (await engine.verify()).ok, kit: kit() };
}

run().then(
  (r) => { document.getElementById('out').textContent = JSON.stringify(r); window.result = r; },
  (e) => { document.getElementById('out').textContent = `error: ${e}`; window.result = { error: String(e) }; },
);
