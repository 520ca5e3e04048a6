// A realistic, deterministic history for the demo: accounts opened early, salaries, rent and
// groceries over ~90 days, a few accounts closed, and orders that are placed, confirmed,
// shipped, delivered or cancelled. The plan is a list of rounds; every round is a burst of
// commands on distinct streams (so they can run concurrently with Promise.all) at one
// simulated time.
import { ACCOUNTS, ORDERS } from './domains.js';

const FIRST = ['Ada', 'Alan', 'Grace', 'Linus', 'Margaret', 'Ken', 'Barbara', 'Edsger', 'Frances', 'Donald',
  'Radia', 'Tim', 'Hedy', 'Dennis', 'Katherine', 'John', 'Sophie', 'Guido', 'Anita', 'Niklaus', 'Shafi',
  'Leslie', 'Mary', 'Bjarne', 'Joan', 'Yukihiro', 'Evelyn', 'Brendan', 'Jean', 'Rasmus', 'Lin', 'Karen'];
const LAST = ['Lovelace', 'Turing', 'Hopper', 'Torvalds', 'Hamilton', 'Thompson', 'Liskov', 'Dijkstra', 'Allen',
  'Knuth', 'Perlman', 'Berners-Lee', 'Lamarr', 'Ritchie', 'Johnson', 'McCarthy', 'Wilson', 'van Rossum', 'Borg',
  'Wirth', 'Goldwasser', 'Lamport', 'Keller', 'Stroustrup', 'Clarke', 'Matsumoto', 'Berezin', 'Eich', 'Sammet'];
const STREETS = ['Harbour Road', 'Mill Lane', 'Station Street', 'Orchard Way', 'Castle Hill', 'Queen Street',
  'Riverside', 'Church Walk', 'Elm Grove', 'Market Square', 'Kings Road', 'Park Avenue'];
const CITIES = ['Bristol', 'Leeds', 'York', 'Bath', 'Oxford', 'Cambridge', 'Brighton', 'Glasgow', 'Cardiff', 'Norwich'];
const CATALOG = [
  ['sku-coffee-beans', 1450], ['sku-teapot', 3200], ['sku-notebook', 690], ['sku-fountain-pen', 4800],
  ['sku-headphones', 8900], ['sku-keyboard', 11900], ['sku-mug', 1200], ['sku-desk-lamp', 3900],
  ['sku-backpack', 6500], ['sku-water-bottle', 1800], ['sku-plant-pot', 950], ['sku-usb-cable', 790],
  ['sku-monitor-arm', 7400], ['sku-chair-cushion', 2600], ['sku-puzzle', 2100], ['sku-book-rust', 3999],
];
// [description, min cents, max cents, weight]: about as much goes out as comes in, so balances
// wander instead of growing without end.
const DEPOSITS = [['Salary', 150000, 420000, 0.05], ['Transfer from savings', 10000, 50000, 0.15],
  ['Refund', 500, 9000, 0.3], ['Cash deposit', 2000, 20000, 0.5]];
const WITHDRAWALS = [['Rent', 60000, 140000, 0.08], ['Groceries', 1500, 12000, 0.3], ['Coffee', 250, 900, 0.18],
  ['Utilities', 4000, 15000, 0.08], ['Restaurant', 2500, 9000, 0.16], ['ATM withdrawal', 2000, 20000, 0.2]];
const CANCEL_REASONS = ['Customer changed their mind', 'Payment failed', 'Out of stock', 'Duplicate order', 'Address not deliverable'];

/** mulberry32: a small seeded PRNG so the same plan comes out every time. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The sizes offered on the page: ≈ events → accounts, orders. */
export const SIZES = {
  5000: { accounts: 40, orders: 300 },
  50000: { accounts: 200, orders: 2000 },
  100000: { accounts: 400, orders: 4000 },
};

function freeIds(prefix, width, n, taken) {
  const out = [];
  for (let i = 1; out.length < n; i++) {
    const id = `${prefix}${String(i).padStart(width, '0')}`;
    if (!taken.has(id)) out.push(id);
  }
  return out;
}

/**
 * Plans ≈ `targetEvents` events. `taken`: stream ids already in the log (never reused).
 * Returns { rounds: [{ t, commands: [{ streamType, streamId, command }] }], commands, events }.
 */
export function planSampleData({ targetEvents = 50000, accounts, orders, taken = new Set(), seed = 20240601, startTime, endTime }) {
  const size = SIZES[targetEvents] || { accounts: Math.max(5, Math.round(targetEvents / 250)), orders: Math.round(targetEvents / 25) };
  const A = accounts ?? size.accounts;
  const O = orders ?? size.orders;
  const rand = rng(seed);
  const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = (arr) => arr[Math.floor(rand() * arr.length)];
  const weighted = (table) => {
    let r = rand();
    for (const row of table) { r -= row[3]; if (r <= 0) return row; }
    return table[table.length - 1];
  };

  // --- orders: their fates fix how many events they produce
  const orderIds = freeIds('order_', 4, O, taken);
  const customers = Math.max(10, Math.round(O / 5));
  const orderPlans = orderIds.map((id) => {
    const r = rand();
    const fate = r < 0.6 ? 'delivered' : r < 0.7 ? 'shipped' : r < 0.78 ? 'confirmed' : r < 0.85 ? 'placed' : 'cancelled';
    const cancelAfter = fate === 'cancelled' ? pick(['placed', 'placed', 'confirmed', 'shipped']) : null;
    return { id, fate, cancelAfter };
  });
  const orderEventCount = orderPlans.reduce((a, o) => {
    if (o.fate === 'cancelled') return a + { placed: 2, confirmed: 3, shipped: 4 }[o.cancelAfter];
    return a + { placed: 1, confirmed: 2, shipped: 3, delivered: 4 }[o.fate];
  }, 0);

  // --- accounts
  const accountIds = freeIds('account_', 3, A, taken);
  const closing = Math.max(1, Math.round(A * 0.05));
  const txTotal = Math.max(0, targetEvents - 2 * A - orderEventCount - closing);
  const perAccount = txTotal / A;
  const R = Math.max(60, Math.ceil(perAccount / 0.8));
  const createUntil = Math.max(1, Math.floor(R * 0.08));
  const accts = accountIds.map((id, i) => ({
    id,
    holder: `${pick(FIRST)} ${pick(LAST)}`,
    initial: int(20, 500) * 1000,
    created: Math.floor((i / A) * createUntil),
    closeAt: i % Math.round(A / closing) === Math.round(A / closing) - 1 ? int(Math.floor(R * 0.85), R - 1) : R,
  }));
  // transactions per account in proportion to its active window, at most one per round
  const windows = accts.map((a) => Math.max(0, a.closeAt - a.created - 1));
  const sumW = windows.reduce((x, y) => x + y, 0) || 1;
  let assigned = 0;
  accts.forEach((a, i) => {
    a.txCount = Math.min(windows[i], Math.round((txTotal * windows[i]) / sumW));
    assigned += a.txCount;
  });
  for (let i = 0; assigned < txTotal && i < accts.length * 4; i++) {
    const a = accts[i % accts.length];
    if (a.txCount < windows[i % accts.length]) { a.txCount++; assigned++; }
  }

  const rounds = Array.from({ length: R }, () => []);
  for (const a of accts) {
    rounds[a.created].push({ streamType: ACCOUNTS.streamType, streamId: a.id, command: { type: 'create_account', accountHolder: a.holder, initialDeposit: a.initial }, events: 2 });
    a.balance = a.initial;
    // choose txCount distinct rounds in (created, closeAt)
    const slots = [];
    for (let r = a.created + 1; r < a.closeAt; r++) slots.push(r);
    for (let i = slots.length - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [slots[i], slots[j]] = [slots[j], slots[i]]; }
    a.txRounds = new Set(slots.slice(0, a.txCount));
  }
  // bank transactions, decided in round order so every withdrawal is covered
  for (let r = 0; r < R; r++) {
    for (const a of accts) {
      if (!a.txRounds.has(r)) continue;
      let cmd;
      if (rand() < 0.62) {
        const [description, lo, hi] = weighted(WITHDRAWALS);
        const amount = int(lo / 10, hi / 10) * 10;
        if (amount <= a.balance) { cmd = { type: 'withdraw', amount, description }; a.balance -= amount; }
      }
      if (!cmd) {
        const [description, lo, hi] = weighted(DEPOSITS);
        const amount = int(lo / 10, hi / 10) * 10;
        cmd = { type: 'deposit', amount, description };
        a.balance += amount;
      }
      rounds[r].push({ streamType: ACCOUNTS.streamType, streamId: a.id, command: cmd, events: 1 });
    }
    for (const a of accts) {
      if (a.closeAt === r) rounds[r].push({ streamType: ACCOUNTS.streamType, streamId: a.id, command: { type: 'close_account' }, events: 1 });
    }
  }

  // order lifecycles spread over the whole period
  for (const o of orderPlans) {
    let r = int(Math.floor(R * 0.02), Math.floor(R * 0.95));
    const items = Array.from({ length: int(1, 4) }, () => {
      const [itemId, price] = pick(CATALOG);
      return { itemId, quantity: int(1, 3), price };
    });
    const steps = [{ type: 'place_order', customerId: `customer_${String(int(1, customers)).padStart(3, '0')}`, items, shippingAddress: `${int(1, 180)} ${pick(STREETS)}, ${pick(CITIES)}` }];
    const chain = ['confirm_order', 'ship_order', 'deliver_order'];
    const reach = o.fate === 'cancelled' ? o.cancelAfter : o.fate;
    const n = { placed: 0, confirmed: 1, shipped: 2, delivered: 3 }[reach];
    for (let i = 0; i < n; i++) {
      steps.push(chain[i] === 'ship_order'
        ? { type: 'ship_order', trackingNumber: `TRK${int(100000000, 999999999)}` }
        : { type: chain[i] });
    }
    if (o.fate === 'cancelled') steps.push({ type: 'cancel_order', reason: pick(CANCEL_REASONS) });
    for (const command of steps) {
      if (r >= R) break;
      rounds[r].push({ streamType: ORDERS.streamType, streamId: o.id, command, events: 1 });
      r += int(1, 12);
    }
  }

  const span = Math.max(0, endTime - startTime);
  const out = rounds.map((commands, r) => ({ t: Math.round(startTime + (span * r) / R), commands })).filter((x) => x.commands.length);
  const commands = out.reduce((a, x) => a + x.commands.length, 0);
  const events = out.reduce((a, x) => a + x.commands.reduce((b, c) => b + c.events, 0), 0);
  return { rounds: out, commands, events, accounts: accountIds, orders: orderIds };
}
