// The workloads, generated deterministically so every contender sees the same commands.

export const accountId = (i) => `account_${String(i).padStart(4, '0')}`;
export const depositAmount = (i) => 100 + (i % 50);
export const INITIAL_DEPOSIT = 10_000;

let seed = 0x2545f491;
/** Deterministic PRNG (xorshift32) in [0, 1). */
export function random() {
  seed ^= seed << 13; seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5; seed >>>= 0;
  return seed / 2 ** 32;
}
export const randomInt = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1)); // inclusive

export function orderCommand(k) {
  return {
    customerId: `customer_${k % 200}`,
    items: [
      { itemId: `item_${k % 37}`, quantity: 1 + (k % 3), price: 1999 },
      { itemId: `item_${(k * 7) % 41}`, quantity: 1, price: 450 },
    ],
    shippingAddress: `${k} Main Street, Springfield`,
  };
}

/**
 * The big log (scenarios 3, 5, 9): `accounts` create_account (2 events each: created + initial
 * deposit), then commands until the log holds exactly `totalEvents`: every 100th a place_order
 * (1 event), the others deposits round-robin over the accounts (1 event each).
 * Yields { kind: 'create' | 'deposit' | 'order', id, ... } in order.
 */
export function* bigLog(totalEvents, accounts = 1000) {
  for (let i = 0; i < accounts; i++) yield { kind: 'create', id: accountId(i), holder: `Holder ${i}`, initial: INITIAL_DEPOSIT };
  let d = 0;
  let o = 0;
  for (let i = 0; i < totalEvents - 2 * accounts; i++) {
    if (i % 100 === 99) { yield { kind: 'order', id: `order_${String(o).padStart(6, '0')}`, order: orderCommand(o) }; o++; }
    else { yield { kind: 'deposit', id: accountId(d % accounts), amount: depositAmount(d) }; d++; }
  }
}

/** Runs one command of bigLog against a contender. */
export function apply(c, cmd) {
  switch (cmd.kind) {
    case 'create': return c.create(cmd.id, cmd.holder, cmd.initial);
    case 'deposit': return c.deposit(cmd.id, cmd.amount);
    default: return c.placeOrder(cmd.id, cmd.order);
  }
}

/** Runs a command generator in bursts of `burst` concurrent commands (Promise.all). */
export async function runBursts(c, commands, burst) {
  let batch = [];
  for (const cmd of commands) {
    batch.push(apply(c, cmd));
    if (batch.length === burst) { await Promise.all(batch); batch = []; }
  }
  await Promise.all(batch);
}

/** The events of bigLog as the domains decide them (for loading stores below their command API). */
export function* bigLogEvents(totalEvents, accounts = 1000) {
  const balance = new Map();
  for (const cmd of bigLog(totalEvents, accounts)) {
    if (cmd.kind === 'create') {
      balance.set(cmd.id, cmd.initial);
      yield { streamType: 'BankAccount', streamId: cmd.id, type: 'account_created', data: { accountHolder: cmd.holder, initialDeposit: cmd.initial } };
      yield { streamType: 'BankAccount', streamId: cmd.id, type: 'money_deposited', data: { amount: cmd.initial, description: 'Initial deposit', balanceAfter: cmd.initial } };
    } else if (cmd.kind === 'deposit') {
      const after = balance.get(cmd.id) + cmd.amount;
      balance.set(cmd.id, after);
      yield { streamType: 'BankAccount', streamId: cmd.id, type: 'money_deposited', data: { amount: cmd.amount, description: '', balanceAfter: after } };
    } else {
      const o = cmd.order;
      const totalAmount = o.items.reduce((s, i) => s + i.quantity * i.price, 0);
      yield { streamType: 'Order', streamId: cmd.id, type: 'order_placed', data: { customerId: o.customerId, items: o.items, totalAmount, shippingAddress: o.shippingAddress } };
    }
  }
}
