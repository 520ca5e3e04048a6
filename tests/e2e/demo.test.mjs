// The seed's demo performed through the page, refusals shown next to their forms, what the
// page reads from the engine (event and stream types, statuses), time travel and late answers,
// replay and verify, keyboard and phone-width use, memory storage. One browser profile (one
// IndexedDB) for the file; any console error or page error fails the test it happens in.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  openContext, gotoDemo, storageKind, createAccount, moveMoney, placeOrder, orderAction,
  shownBalance, waitForBalance, waitForText, logRows, travelTo, settle, screenshot, waitFor,
  assertNoProblems, typeChart, balancePoints, options,
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

afterEach(() => assertNoProblems(ctx));

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
  // (the first selectOption, still on stream order_001, may have rendered no row at all)
  await page.waitForFunction(() => { const r = [...document.querySelectorAll('#log-table tbody tr[data-position]')]; return r.length > 0 && r.every((x) => x.dataset.type === 'money_deposited'); });
  assert.deepEqual((await logRows(page)).map(([p, , v]) => [p, v]), [[5, 5], [3, 3], [2, 2]]);
  await page.click('#log-clear');
  await page.waitForFunction(() => document.querySelectorAll('#log-table tbody tr[data-position]').length === 8);

  // the inspector shows the selected account and its balance chart
  await page.click('#accounts-table [data-select="BankAccount"][data-id="account_001"]');
  await page.waitForFunction(() => document.querySelector('[data-testid=inspector-balance]')?.textContent === '1,600.00');
  await page.waitForFunction(() => document.querySelector('#balance-chart').dataset.points === '5');
  assert.equal(await page.locator('#balance-chart svg path.line').count(), 1);
  assert.deepEqual(await balancePoints(page), [[1, 0], [2, 100000], [3, 150000], [4, 130000], [5, 160000]]);
  assert.deepEqual(await typeChart(page), {
    money_deposited: 3, account_created: 1, money_withdrawn: 1, order_placed: 1, order_confirmed: 1, order_shipped: 1,
  });
  await screenshot(page, '01-seed-demo');
});

test('event types, stream types and statuses come from the engine', async () => {
  // the filters offer what the log holds, with the engine's counts
  assert.deepEqual(await options(page, '#log-stream-type'), [['', 'any'], ['BankAccount', 'BankAccount'], ['Order', 'Order']]);
  assert.deepEqual(await options(page, '#log-type'), [['', 'any'], ['account_created', 'account_created (1)'],
    ['money_deposited', 'money_deposited (3)'], ['money_withdrawn', 'money_withdrawn (1)'], ['order_confirmed', 'order_confirmed (1)'],
    ['order_placed', 'order_placed (1)'], ['order_shipped', 'order_shipped (1)']]);
  // a stream type filter shows that type's events and counts them from the stats
  await page.selectOption('#log-stream-type', 'Order');
  await waitFor(page, () => document.querySelectorAll('#log-table tbody tr[data-position]').length === 3);
  assert.deepEqual((await logRows(page)).map(([p, s]) => [p, s]), [[8, 'order_001'], [7, 'order_001'], [6, 'order_001']]);
  assert.match(await page.textContent('#log-page-info'), /^page 1 of 1 · 3 events · #8–#6$/);
  // an event type of another stream type matches nothing, and says so
  await page.selectOption('#log-type', 'money_deposited');
  await waitFor(page, () => document.querySelector('#log-table tbody td.empty')?.textContent === 'No event matches these filters.');
  assert.equal(await page.textContent('#log-page-info'), 'page 1 of 1 · 0 events');
  await page.click('#log-clear');
  await waitFor(page, () => document.querySelectorAll('#log-table tbody tr[data-position]').length === 8);
  // colours: one family per stream type, one shade per event type
  const colours = Object.fromEntries(await page.$$eval('#log-table tbody tr[data-position]', (rows) => rows.map((r) => [
    r.dataset.type, r.querySelector('.type-tag').style.getPropertyValue('--tc')])));
  assert.equal(new Set(Object.values(colours)).size, 6);
  for (const t of ['account_created', 'money_deposited', 'money_withdrawn']) assert.match(colours[t], /^var\(--c-0-\d\)$/);
  for (const t of ['order_placed', 'order_confirmed', 'order_shipped']) assert.match(colours[t], /^var\(--c-1-\d\)$/);
  // the status tabs count the orders the engine reports, every lifecycle status has a tab
  const tabs = await page.$$eval('#orders-status [data-status]', (bs) => bs.map((b) => [b.dataset.status, b.querySelector('.tab-count').textContent]));
  assert.deepEqual(tabs, [['', '1'], ['placed', '0'], ['confirmed', '0'], ['shipped', '1'], ['delivered', '0'], ['cancelled', '0']]);
  // the status an order reached is the engine's
  assert.equal((await placeOrder(page, { id: 'order_002', customer: 'customer_002', address: '1 Mill Lane', items: [{ itemId: 'sku-mug', quantity: 1, price: '12.00' }] })).kind, 'ok');
  const r = await orderAction(page, 'order_002', 'cancel', { reason: 'Changed my mind' });
  assert.equal(r.kind, 'ok', r.text);
  assert.match(r.text, /^order_002 is now cancelled \(event #10, version 2\)\.$/);
  await waitFor(page, () => document.querySelector('#orders-status [data-status="cancelled"] .tab-count')?.textContent === '1');
  assert.equal(await page.textContent('#log-table tr[data-position="10"] [data-col=data]'), 'reason: Changed my mind');
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

  r = await placeOrder(page, { id: 'order_003', customer: 'customer_002', address: '1 Mill Lane', items: [{ itemId: 'sku-mug', quantity: 0, price: '12.00' }] });
  assert.equal(r.kind, 'error');
  assert.match(r.text, /^Invalid: .*quantity/);

  // nothing was appended by any of them
  assert.equal(await page.textContent('#stat-events'), '10');
  await waitForBalance(page, 'account_001', '1,600.00');
  await screenshot(page, '02-errors');
});

test('time travel: before the deposits the balance was 1,000.00; back to now restores 1,600.00', async () => {
  await page.click('#accounts-table [data-select="BankAccount"][data-id="account_001"]');
  await page.waitForFunction(() => document.querySelector('[data-testid=inspector-version]')?.textContent === '5');
  await travelTo(page, 2);
  await waitForBalance(page, 'account_001', '1,000.00');
  assert.equal(await page.getAttribute('#tt-status', 'data-mode'), 'past');
  await page.waitForFunction(() => document.querySelector('[data-testid=inspector-balance]')?.textContent === '1,000.00');
  assert.equal(await page.textContent('[data-testid=inspector-version]'), '2');
  // the events after the point are greyed out, the ones before are not
  await waitFor(page, () => document.querySelector('#log-table tr[data-position="3"]').classList.contains('future'));
  const rows = await logRows(page);
  assert.deepEqual(rows.map(([p, , , , future]) => [p, future]), [[10, true], [9, true], [8, true], [7, true], [6, true], [5, true], [4, true], [3, true], [2, false], [1, false]]);
  // the order did not exist yet (the orders table is its own section: wait for it too)
  await waitFor(page, () => document.querySelectorAll('#orders-table tbody tr[data-order-id]').length === 0);
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

test('late answers are dropped: after a fast burst of time-travel moves, only the last point is ever shown', async () => {
  await waitForText(page, '[data-testid=inspector-version]', '5'); // account_001, now (the last test waited for other sections)
  // 40 moves a few milliseconds apart (a slider dragged to and fro), then one more and, while
  // its reads are on their way, the last one. Every write to the sections after the last move
  // is recorded: a late answer would show another position.
  const written = await page.evaluate(async () => {
    const input = document.querySelector('#tt-position');
    const move = (p) => { input.value = String(p); input.dispatchEvent(new Event('change')); };
    for (let i = 0; i < 40; i++) {
      move([9, 1, 7, 0, 5][i % 5]);
      await new Promise((r) => setTimeout(r, i % 3));
    }
    const seen = [];
    const observer = new MutationObserver((records) => {
      for (const r of records) {
        const text = [...r.addedNodes].map((n) => n.textContent).join('').replace(/\s+/g, ' ').trim();
        if (text) seen.push([r.target.closest('[id]').id, text]);
      }
    });
    // the move before the last one: its renders and reads have started, not yet answered
    move(9);
    await Promise.resolve();
    await Promise.resolve();
    for (const sel of ['#tt-status', '#accounts-table tbody', '#inspector-body']) {
      observer.observe(document.querySelector(sel), { childList: true, subtree: true });
    }
    move(3);
    await new Promise((r) => setTimeout(r, 800));
    observer.disconnect();
    return seen;
  });
  const shown = (id) => written.filter(([where]) => where === id).map(([, text]) => text);
  assert.ok(shown('tt-status').length > 0 && shown('tt-status').every((t) => t.startsWith('Viewing the past at position 3 of 10')), JSON.stringify(shown('tt-status')));
  assert.ok(shown('accounts-table').length > 0 && shown('accounts-table').every((t) => t.includes('1,500.00')), JSON.stringify(shown('accounts-table')));
  assert.ok(shown('inspector-body').length > 0 && shown('inspector-body').every((t) => t.includes('Version3')), JSON.stringify(shown('inspector-body')));
  // and the whole page is at position 3
  await settle(page, 200);
  assert.equal(await shownBalance(page, 'account_001'), '1,500.00');
  assert.equal(await page.textContent('[data-testid=inspector-version]'), '3');
  // the log was not watched above: wait for its render at position 3
  await waitFor(page, () => [...document.querySelectorAll('#log-table tbody tr[data-position]:not(.future)')].map((r) => r.dataset.position).join() === '3,2,1');
  assert.deepEqual((await logRows(page)).filter(([, , , , future]) => !future).map(([p]) => p), [3, 2, 1]);
  assert.deepEqual(await page.$$eval('.timed', (els) => els.map((el) => el.dataset.asof)), ['3', '3', '3']);
  assert.equal(await page.locator('#balance-chart line.travel-line').count(), 1);
  await page.click('#tt-now');
  await waitForBalance(page, 'account_001', '1,600.00');
});

test('the stale-answer guard: a newer request or a changed view makes an answer stale', async () => {
  const seen = await page.evaluate(async () => {
    const { ticket, isStale } = await import('/guard.js');
    const { store } = await import('/store.js');
    const older = ticket('probe');
    const newer = ticket('probe');
    const keyed = ticket('probe-view', ['probeView']);
    const other = ticket(null, ['probeView']);
    const before = [older.current(), newer.current(), keyed.current(), other.current()];
    store.set({ probeUnrelated: 1 });
    const afterUnrelated = [keyed.current(), other.current()];
    store.set({ probeView: 1 });
    const afterView = [newer.current(), keyed.current(), other.current()];
    let thrown = null;
    try { older.check(); } catch (err) { thrown = [err.name, err.code, isStale(err)]; }
    return { before, afterUnrelated, afterView, thrown };
  });
  assert.deepEqual(seen, {
    before: [false, true, true, true],
    afterUnrelated: [true, true],
    afterView: [true, false, false],
    thrown: ['StaleAnswer', 'STALE', true],
  });
});

test('replay rebuilds every projection from the log; verify checks the whole chain', async () => {
  await page.click('#replay-btn');
  await page.waitForFunction(() => document.querySelector('#replay-result').dataset.kind === 'ok');
  assert.match(await page.textContent('#replay-result'), /^Rebuilt 2 projections from 10 events in [\d.]+ ms\.$/);
  assert.equal(await page.getAttribute('#replay-result', 'data-events'), '10');
  await waitForBalance(page, 'account_001', '1,600.00');
  await page.click('#verify-btn');
  await page.waitForSelector('#verify-result[data-ok]');
  assert.equal(await page.getAttribute('#verify-result', 'data-ok'), 'true');
  assert.equal(await page.getAttribute('#verify-result', 'data-checked'), '10');
  assert.match(await page.textContent('#verify-result'), /^✓ Hash chain intact: 10 events checked in \d+ ms\.$/);
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

test('forget this customer: the holder is erased everywhere, the log says so, the chain still verifies', async () => {
  await page.click('#accounts-table [data-select="BankAccount"][data-id="account_002"]');
  await page.waitForSelector('[data-testid=forget-customer]');
  await page.click('[data-testid=forget-customer]');
  await page.waitForFunction(() => document.querySelector('#tx-msg').dataset.kind === 'ok'
    && document.querySelector('#tx-msg').textContent.includes('account_002'));
  assert.match(await page.textContent('#tx-msg'), /Forgot the holder of account_002: the name is erased for good\. The hash chain still verifies \(12 events, intact\)\./);
  await waitFor(page, () => document.querySelector('#accounts-table tr[data-account-id="account_002"] td:nth-child(2)')?.textContent === '(erased)');
  await page.waitForSelector('[data-testid=holder-erased]');
  const created = '#log-table tr[data-stream="account_002"][data-type="account_created"]';
  await page.waitForSelector(`${created} [data-testid=erased]`);
  assert.equal(await page.textContent(`${created} [data-testid=erased]`), 'erased: accountHolder');
  assert.match(await page.textContent(`${created} [data-col=data]`), /holder \(erased\)/);
  assert.equal(await shownBalance(page, 'account_002'), '250.00', 'the money is not personal data');
  assert.equal(await page.textContent('#accounts-table tr[data-account-id="account_001"] td:nth-child(2)'), 'Ada Lovelace');
  await page.click('#verify-btn');
  await page.waitForSelector('#verify-result[data-ok="true"][data-checked="12"]');
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

test('memory storage (?storage=memory): says so, works, and keeps its events apart', async () => {
  const mem = await ctx.context.newPage();
  try {
    await gotoDemo(mem, '?storage=memory');
    assert.equal(await storageKind(mem), 'memory');
    assert.equal(await mem.textContent('#storage-badge'), 'memory only');
    assert.equal(await mem.locator('#storage-note').isVisible(), true);
    assert.match(await mem.textContent('#storage-note'), /events are lost on reload/);
    assert.equal(await mem.textContent('#stat-events'), '0');
    assert.equal((await createAccount(mem, 'account_001', 'Hedy Lamarr', '5.00')).kind, 'ok');
    await waitForBalance(mem, 'account_001', '5.00');
    await waitFor(mem, () => document.querySelectorAll('#log-table tbody tr[data-position]').length === 2);
    assert.deepEqual((await logRows(mem)).map(([p, s, v, t]) => [p, s, v, t]), [[2, 'account_001', 2, 'money_deposited'], [1, 'account_001', 1, 'account_created']]);
    // the IndexedDB page did not see them
    await page.bringToFront();
    await settle(page, 300);
    assert.equal(await page.textContent('#stat-events'), '12');
  } finally {
    await mem.close();
  }
});
