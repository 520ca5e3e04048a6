// Persistence and tabs: everything is in IndexedDB, a reload keeps it, a second tab on the
// same database sees the first one's events live (and the other way round), and a reset in
// one tab empties both.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  openContext, gotoDemo, storageKind, createAccount, moveMoney, placeOrder, orderAction,
  shownBalance, waitForBalance, logRows, screenshot, waitFor, assertNoProblems, options, typeChart,
} from './helpers.mjs';

let ctx;
let a;
let b;

before(async () => {
  ctx = await openContext();
  a = await ctx.page();
  await gotoDemo(a);
});

after(async () => {
  if (ctx) await ctx.close();
});

afterEach(() => assertNoProblems(ctx));

test('a reload keeps the data', async () => {
  assert.equal(await storageKind(a), 'indexeddb', 'the page must run on IndexedDB');
  assert.equal((await createAccount(a, 'account_001', 'Ada Lovelace', '1,000.00')).kind, 'ok');
  assert.equal((await moveMoney(a, 'deposit', 'account_001', '500.00')).kind, 'ok');
  assert.equal((await moveMoney(a, 'withdraw', 'account_001', '200.00')).kind, 'ok');
  assert.equal((await moveMoney(a, 'deposit', 'account_001', '300.00')).kind, 'ok');
  await waitForBalance(a, 'account_001', '1,600.00');
  await waitFor(a, () => document.querySelector('#log-table tbody tr')?.dataset.position === '5');
  const before = await logRows(a);

  await a.reload();
  await a.waitForSelector('body[data-ready="true"]');
  assert.equal(await shownBalance(a, 'account_001'), '1,600.00');
  assert.deepEqual(await logRows(a), before);
  assert.equal(await a.textContent('#stat-events'), '5');
  // the page suggests the next free id
  assert.equal(await a.inputValue('#create-account-id'), 'account_002');
});

test('a second tab sees the first tab\'s new events without a reload, and the other way round', async () => {
  b = await ctx.context.newPage();
  await gotoDemo(b);
  assert.equal(await shownBalance(b, 'account_001'), '1,600.00');

  // A → B
  assert.equal((await moveMoney(a, 'deposit', 'account_001', '400.00', 'from tab A')).kind, 'ok');
  await waitForBalance(b, 'account_001', '2,000.00');
  await waitFor(b, () => document.querySelector('#log-table tbody tr')?.dataset.position === '6');
  const top = (await logRows(b))[0];
  assert.deepEqual(top.slice(0, 4), [6, 'account_001', 6, 'money_deposited']);
  // B tells its visitor that another tab wrote
  await waitFor(b, () => !document.querySelector('#toast').hidden);
  assert.equal(await b.textContent('#toast'), '1 new event from another tab');

  // B → A
  const r = await placeOrder(b, {
    id: 'order_001', customer: 'customer_007', address: '4 Orchard Way, York',
    items: [{ itemId: 'sku-notebook', quantity: 3, price: '6.90' }, { itemId: 'sku-fountain-pen', quantity: 1, price: '48.00' }],
  });
  assert.equal(r.kind, 'ok', r.text);
  await waitFor(a, () => !!document.querySelector('#orders-table tr[data-order-id="order_001"]'));
  assert.equal((await orderAction(a, 'order_001', 'confirm')).kind, 'ok');
  await waitFor(b, () => document.querySelector('#orders-table tr[data-order-id="order_001"] [data-testid=order-status]')?.textContent === 'confirmed');

  // concurrent commands from both tabs on one account: no update is lost
  await Promise.all([
    moveMoney(a, 'deposit', 'account_001', '1.00'),
    moveMoney(b, 'deposit', 'account_001', '2.00'),
  ]);
  await waitForBalance(a, 'account_001', '2,003.00');
  await waitForBalance(b, 'account_001', '2,003.00');
  // the log renders in its own section, after the accounts table may have: wait for it in both tabs
  for (const tab of [a, b]) await waitFor(tab, () => document.querySelector('#log-table tbody tr')?.dataset.position === '10');
  const [ra, rb] = [await logRows(a), await logRows(b)];
  assert.deepEqual(ra, rb);
  assert.deepEqual(ra.map(([p]) => p), [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
  await a.bringToFront();
  await screenshot(a, '05-tab-a');
  await b.bringToFront();
  await screenshot(b, '06-tab-b');
});

test('reset in one tab empties the database for both', async () => {
  await a.bringToFront();
  await a.click('#reset-db');
  await a.click('#reset-confirm');
  await waitFor(a, () => document.querySelector('#reset-status').dataset.kind === 'ok', null, 30_000);
  await waitFor(a, () => document.querySelector('#stat-events').textContent === '0');
  await waitFor(b, () => document.querySelector('#stat-events').textContent === '0', null, 30_000);
  await waitFor(b, () => /reset in another tab/.test(document.querySelector('#toast').textContent));
  assert.equal(await a.locator('#accounts-table tbody tr[data-account-id]').count(), 0);
  // nothing of the old log is left in either tab: no rows, no event or stream types, no selection
  for (const tab of [a, b]) {
    await waitFor(tab, () => document.querySelector('#log-table tbody td.empty') !== null);
    assert.deepEqual(await options(tab, '#log-type'), [['', 'any']]);
    assert.deepEqual(await options(tab, '#log-stream-type'), [['', 'any']]);
    assert.deepEqual(await typeChart(tab), {});
    assert.equal(await tab.textContent('#inspector-name'), '');
  }
  // both tabs keep working on the fresh database
  assert.equal((await createAccount(b, 'account_001', 'Linus Torvalds', '10.00')).kind, 'ok');
  await waitForBalance(a, 'account_001', '10.00');
  await a.bringToFront();
  await a.reload();
  await a.waitForSelector('body[data-ready="true"]');
  assert.equal(await shownBalance(a, 'account_001'), '10.00');
  assert.equal(await a.textContent('#stat-events'), '2');
  assert.deepEqual(ctx.problems, []);
});
