// The seed's demo performed through the page, refusals shown next to their forms, time
// travel, keyboard and phone-width use. One browser profile (one IndexedDB) for the file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  openContext, gotoDemo, storageKind, createAccount, moveMoney, placeOrder, orderAction,
  shownBalance, waitForBalance, logRows, travelTo, settle, screenshot, waitFor,
} from './helpers.mjs';

const orderIds = () => document.querySelectorAll('#orders-table tbody tr[data-order-id]').length;

let ctx;
let page;

before(async () => {
  ctx = await openContext();
  page = await ctx.page();
  await gotoDemo(page);
});

after(async () => {
  if (ctx) await ctx.close();
});

test('runs on IndexedDB', async () => {
  assert.equal(await storageKind(page), 'indexeddb', `storage note: ${await page.textContent('#storage-note')}`);
  assert.equal(await page.locator('#storage-note').isVisible(), false);
});

test('the seed demo: account_001 ends at 1,600.00; the order is shipped; the log is right', async () => {
  let r = await createAccount(page, 'account_001', 'Ada Lovelace', '1,000.00');
  assert.equal(r.kind, 'ok', r.text);
  assert.match(r.text, /Opened account_001 for Ada Lovelace with 1,000\.00/);
  assert.equal(await shownBalance(page, 'account_001'), '1,000.00');

  r = await moveMoney(page, 'deposit', 'account_001', '500.00', 'Paycheck');
  assert.equal(r.kind, 'ok', r.text);
  assert.match(r.text, /balance 1,500\.00/);
  r = await moveMoney(page, 'withdraw', 'account_001', '200.00', 'Groceries');
  assert.equal(r.kind, 'ok', r.text);
  assert.match(r.text, /balance 1,300\.00/);
  r = await moveMoney(page, 'deposit', 'account_001', '300', '');
  assert.equal(r.kind, 'ok', r.text);
  await waitForBalance(page, 'account_001', '1,600.00');
  assert.equal(await page.textContent('#accounts-table tr[data-account-id="account_001"] [data-testid=account-status]'), 'active');

  r = await placeOrder(page, {
    id: 'order_001', customer: 'customer_001', address: '12 Harbour Road, Bristol',
    items: [{ itemId: 'sku-coffee-beans', quantity: 2, price: '14.50' }, { itemId: 'sku-teapot', quantity: 1, price: '32.00' }],
  });
  assert.equal(r.kind, 'ok', r.text);
  assert.match(r.text, /2 items, total 61\.00/);
  r = await orderAction(page, 'order_001', 'confirm');
  assert.equal(r.kind, 'ok', r.text);
  r = await orderAction(page, 'order_001', 'ship', { trackingNumber: 'TRK-0001' });
  assert.equal(r.kind, 'ok', r.text);
  assert.match(r.text, /order_001 is now shipped \(tracking TRK-0001\)/);
  await waitFor(page, () => document.querySelector('#orders-table tr[data-order-id="order_001"] [data-testid=order-status]')?.textContent === 'shipped');
  await waitFor(page, () => document.querySelectorAll('#log-table tbody tr[data-position]').length === 8);
  // by status (engine query) and by customer
  await page.click('#orders-status [data-status="shipped"]');
  await waitFor(page, () => document.querySelector('#orders-status [data-status="shipped"]').classList.contains('active'));
  assert.deepEqual(await page.$$eval('#orders-table tbody tr[data-order-id]', (rs) => rs.map((x) => x.dataset.orderId)), ['order_001']);
  await page.click('#orders-status [data-status="placed"]');
  await waitFor(page, () => document.querySelector('#orders-status [data-status="placed"]').classList.contains('active'));
  assert.equal(await page.evaluate(orderIds), 0);
  await page.click('#orders-status [data-status=""]');
  await page.fill('#orders-customer', 'nobody');
  await waitFor(page, () => document.querySelector('#orders-count').textContent.startsWith('· 0 of'));
  assert.equal(await page.evaluate(orderIds), 0);
  await page.fill('#orders-customer', 'customer_001');
  await waitFor(page, () => document.querySelector('#orders-count').textContent === '· 1');
  assert.equal(await page.evaluate(orderIds), 1);
  await page.fill('#orders-customer', '');

  const rows = await logRows(page);
  assert.deepEqual(rows.map(([p, s, v, t]) => [p, s, v, t]), [
    [8, 'order_001', 3, 'order_shipped'],
    [7, 'order_001', 2, 'order_confirmed'],
    [6, 'order_001', 1, 'order_placed'],
    [5, 'account_001', 5, 'money_deposited'],
    [4, 'account_001', 4, 'money_withdrawn'],
    [3, 'account_001', 3, 'money_deposited'],
    [2, 'account_001', 2, 'money_deposited'],
    [1, 'account_001', 1, 'account_created'],
  ]);
  const data = await page.$$eval('#log-table tbody tr[data-position] [data-col=data]', (cells) => cells.map((c) => c.textContent.trim()));
  assert.equal(data[3], '+300.00 → 1,600.00');
  assert.equal(data[4], '−200.00 → 1,300.00 · Groceries');
  const hash = await page.getAttribute('#log-table tr[data-position="8"] [data-col=hash]', 'title');
  assert.match(hash, /^[0-9a-f]{64}$/);
  assert.equal(await page.textContent('#stat-events'), '8');

  // the stream filter shows one stream, newest first
  await page.fill('#log-stream', 'order_001');
  await page.waitForFunction(() => [...document.querySelectorAll('#log-table tbody tr[data-position]')].every((r) => r.dataset.stream === 'order_001'));
  assert.deepEqual((await logRows(page)).map(([p, , v]) => [p, v]), [[8, 3], [7, 2], [6, 1]]);
  await page.selectOption('#log-type', 'money_deposited');
  await page.click('#log-clear');
  await page.selectOption('#log-type', 'money_deposited');
  await page.waitForFunction(() => [...document.querySelectorAll('#log-table tbody tr[data-position]')].every((r) => r.dataset.type === 'money_deposited'));
  assert.deepEqual((await logRows(page)).map(([p, , v]) => [p, v]), [[5, 5], [3, 3], [2, 2]]);
  await page.click('#log-clear');
  await page.waitForFunction(() => document.querySelectorAll('#log-table tbody tr[data-position]').length === 8);

  // the inspector shows the selected account and its balance chart
  await page.click('#accounts-table [data-select="BankAccount"][data-id="account_001"]');
  await page.waitForFunction(() => document.querySelector('[data-testid=inspector-balance]')?.textContent === '1,600.00');
  await page.waitForFunction(() => document.querySelector('#balance-chart').dataset.points === '5');
  assert.equal(await page.locator('#balance-chart svg path.line').count(), 1);
  assert.ok(await page.locator('#type-chart svg .bar-row').count() >= 6);
  await screenshot(page, '01-seed-demo');
});

test('refusals and validation errors are shown next to the form, in words', async () => {
  let r = await moveMoney(page, 'withdraw', 'account_001', '5,000.00');
  assert.equal(r.kind, 'error');
  assert.equal(r.text, 'Insufficient funds');
  assert.equal(await page.locator('#tx-msg').isVisible(), true);

  r = await moveMoney(page, 'deposit', 'account_001', '0');
  assert.equal(r.kind, 'error');
  assert.match(r.text, /^Invalid: .*amount/);

  r = await moveMoney(page, 'deposit', 'account_001', 'ten euros');
  assert.equal(r.kind, 'error');
  assert.match(r.text, /is not an amount/);

  r = await createAccount(page, 'account_002', '', '10.00');
  assert.equal(r.kind, 'error');
  assert.match(r.text, /^Invalid: accountHolder/);

  r = await createAccount(page, 'account_001', 'Someone Else', '');
  assert.equal(r.kind, 'error');
  assert.match(r.text, /already exists/);

  r = await orderAction(page, 'order_001', 'confirm');
  assert.equal(r.kind, 'error');
  assert.equal(r.text, 'Cannot confirm order in status: shipped');

  r = await placeOrder(page, { id: 'order_002', customer: 'customer_002', address: '1 Mill Lane', items: [{ itemId: 'sku-mug', quantity: 0, price: '12.00' }] });
  assert.equal(r.kind, 'error');
  assert.match(r.text, /^Invalid: .*quantity/);

  // nothing was appended by any of them
  assert.equal(await page.textContent('#stat-events'), '8');
  await waitForBalance(page, 'account_001', '1,600.00');
  await screenshot(page, '02-errors');
});

test('time travel: before the deposits the balance was 1,000.00; back to now restores 1,600.00', async () => {
  await travelTo(page, 2);
  await waitForBalance(page, 'account_001', '1,000.00');
  assert.equal(await page.getAttribute('#tt-status', 'data-mode'), 'past');
  await page.waitForFunction(() => document.querySelector('[data-testid=inspector-balance]')?.textContent === '1,000.00');
  assert.equal(await page.textContent('[data-testid=inspector-version]'), '2');
  // the events after the point are greyed out, the ones before are not
  await waitFor(page, () => document.querySelector('#log-table tr[data-position="3"]').classList.contains('future'));
  const rows = await logRows(page);
  assert.deepEqual(rows.map(([p, , , , future]) => [p, future]), [[8, true], [7, true], [6, true], [5, true], [4, true], [3, true], [2, false], [1, false]]);
  // the order did not exist yet
  assert.equal(await page.locator('#orders-table tbody tr[data-order-id]').count(), 0);
  await screenshot(page, '03-time-travel');

  // the slider (mouse/keyboard path)
  await page.locator('#tt-slider').fill('4');
  await waitForBalance(page, 'account_001', '1,300.00');
  await page.focus('#tt-slider');
  await page.keyboard.press('ArrowRight');
  await waitForBalance(page, 'account_001', '1,600.00');
  await page.waitForFunction(() => document.querySelector('#tt-status').dataset.position === '5');

  // the time picker: a time before the first event shows an empty world
  const first = Number(await page.getAttribute('#log-table tr[data-position="1"] [data-col=time]', 'title'));
  const d = new Date(first - 3600_000);
  const pad = (n) => String(n).padStart(2, '0');
  await page.fill('#tt-time', `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`);
  await page.waitForFunction(() => document.querySelector('#tt-status').dataset.position === '0');
  await waitFor(page, () => document.querySelectorAll('#accounts-table tbody tr[data-account-id]').length === 0);

  await page.click('#tt-now');
  await waitForBalance(page, 'account_001', '1,600.00');
  assert.equal(await page.getAttribute('#tt-status', 'data-mode'), 'now');
  await waitFor(page, () => !document.querySelector('#log-table tr.future'));
});

test('keyboard: forms are labelled and work without a mouse', async () => {
  const unlabelled = await page.$$eval('input:not([type=hidden]), select', (els) => els
    .filter((el) => el.labels.length === 0 && !el.getAttribute('aria-label'))
    .map((el) => el.id || el.name));
  assert.deepEqual(unlabelled, []);

  await page.focus('#create-account-id');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('account_002');
  await page.keyboard.press('Tab');
  await page.keyboard.type('Grace Hopper');
  await page.keyboard.press('Tab');
  await page.keyboard.type('250.00');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('#create-account-msg').dataset.kind === 'ok'
    && document.querySelector('#create-account-msg').textContent.includes('account_002'));
  assert.equal(await shownBalance(page, 'account_002'), '250.00');
});

test('phone width: no horizontal scrolling, everything reachable', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await settle(page, 300);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
  await screenshot(page, '04-phone', { fullPage: true });
  await page.setViewportSize({ width: 1320, height: 1000 });
  assert.deepEqual(ctx.problems, []);
});
