#!/usr/bin/env node
// The seed's demo, through the npm package: a bank account, an order, time travel, replay,
// stats and the event history, printed readably.
//
//   make pkg && (cd examples && node seed-demo.mjs)     # from this repository
//   node seed-demo.mjs                                  # in a project with `npm install eventjournal`
import { Engine, DomainError } from 'eventjournal';

const money = (cents) => (cents / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const time = (ms) => new Date(ms).toISOString().slice(11, 23);
const title = (t) => console.log(`\n== ${t} ${'='.repeat(Math.max(0, 60 - t.length))}`);

// A clock we control, so "time travel to 10:02" means something.
let now = Date.UTC(2026, 0, 15, 10, 0, 0);
const engine = await Engine.open({ clock: () => now });

title('Bank account');
await engine.execute('BankAccount', 'account_001', { type: 'create_account', accountHolder: 'John Doe', initialDeposit: 100000 });
console.log(`10:00  account_001 opened for John Doe with ${money(100000)}`);
const beforeDeposits = now + 60_000;
now += 2 * 60_000;
for (const [type, amount, description] of [['deposit', 50000, 'Salary'], ['withdraw', 20000, 'Rent'], ['deposit', 30000, 'Bonus']]) {
  const r = await engine.execute('BankAccount', 'account_001', { type, amount, description });
  console.log(`${time(now).slice(0, 5)}  ${type.padEnd(8)} ${money(amount).padStart(10)}  (${description}) → version ${r.version}, position ${r.position}`);
  now += 1000;
}
const { state: account } = await engine.load('BankAccount', 'account_001');
console.log(`balance: ${money(account.balance)} (active: ${account.isActive})`);
try {
  await engine.execute('BankAccount', 'account_001', { type: 'withdraw', amount: 10_000_000 });
} catch (e) {
  if (!(e instanceof DomainError)) throw e;
  console.log(`withdraw ${money(10_000_000)} refused: ${e.message}`);
}

title('Order');
await engine.execute('Order', 'order_001', {
  type: 'place_order', customerId: 'customer_123', shippingAddress: '123 Main St, Springfield',
  items: [{ itemId: 'item_001', quantity: 2, price: 2999 }, { itemId: 'item_002', quantity: 1, price: 4999 }],
});
await engine.execute('Order', 'order_001', { type: 'confirm_order' });
await engine.execute('Order', 'order_001', { type: 'ship_order', trackingNumber: 'TRACK123' });
const { state: order } = await engine.load('Order', 'order_001');
console.log(`order_001 for ${order.customerId}: ${order.items.length} items, total ${money(order.totalAmount)}, status ${order.status}`);
console.log('orders of customer_123:', (await engine.query('order_status', { customerId: 'customer_123' })).map((o) => `${o.orderId} (${o.status})`).join(', '));

title('Time travel');
for (const v of [1, 2, 3, 4, 5]) {
  const { state } = await engine.load('BankAccount', 'account_001', { at: { version: v } });
  console.log(`at version ${v}: balance ${money(state.balance)}`);
}
const past = await engine.load('BankAccount', 'account_001', { at: { timestamp: beforeDeposits } });
console.log(`at ${time(beforeDeposits).slice(0, 5)} (before the deposits): balance ${money(past.state.balance)}`);
const balancesThen = await engine.projection('account_balance', { at: { position: 2 } });
console.log(`account_balance projection at position 2: ${money(balancesThen.account_001.balance)}`);

title('Replay and integrity');
console.log('replay:', await engine.replay());
console.log('verify:', await engine.verify());

title('Stats');
const stats = await engine.stats();
console.log(`${stats.totalEvents} events in ${stats.totalStreams} streams; head ${stats.headPosition} ${stats.headHash.slice(0, 16)}…`);
for (const [type, count] of Object.entries(stats.eventTypeDistribution)) console.log(`  ${type.padEnd(16)} ${count}`);

title('Event history of account_001');
for (const e of await engine.readStream('account_001')) {
  console.log(`  v${e.version} #${e.position} ${time(e.timestamp)} ${e.type.padEnd(16)} ${JSON.stringify(e.data)}  ${e.hash.slice(0, 10)}…`);
}
await engine.close();
