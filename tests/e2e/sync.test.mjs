// Sync in the browser (issue 12): the demo page on the demo server's sync API. Two clients on
// two IndexedDB databases (`?client=a`, `?client=b`) and a third tab on the first database
// converge on the server's log; the tab that syncs is closed mid-run and another takes over;
// a page reloaded with commands pending pushes them after the reload; the offline switch holds
// pushes and a double spend from two clients is refused once, with a toast naming it.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASE_URL, openContext, gotoDemo, createAccount, moveMoney, waitForBalance, waitFor,
  assertNoProblems, screenshot,
} from './helpers.mjs';

let ctx;

/** Empties the demo server's log (scripts/serve.mjs, demo only). */
async function resetServer() {
  const res = await fetch(new URL('/demo/reset', BASE_URL), { method: 'POST', headers: { 'x-demo-reset': '1' } });
  assert.equal(res.status, 204, 'the demo server resets');
}

/** The server's log: [{ position, streamId, type, commandId }]. */
async function serverLog() {
  const res = await fetch(new URL('/v1/events?after=0', BASE_URL));
  const body = await res.json();
  return { events: body.events, headHash: body.headHash, headPosition: body.headPosition };
}

async function openClient(client) {
  const page = await ctx.context.newPage();
  await gotoDemo(page, `?sync=on&client=${client}`);
  return page;
}

/** The sync badge's data: { status, online, pending, confirmed, error }. */
function badge(page) {
  return page.$eval('#sync-badge', (b) => ({ ...b.dataset, hidden: b.hidden }));
}

/** Waits until the page has nothing pending and has confirmed the server's head. */
async function waitConverged(page, head, timeout = 20_000) {
  await waitFor(page, (h) => {
    const b = document.querySelector('#sync-badge').dataset;
    return b.pending === '0' && b.confirmed === String(h) && document.body.dataset.head === String(h);
  }, head, timeout);
}

/** The head hash the page shows (the stats' full hash). */
const headHash = (page) => page.getAttribute('#stat-head', 'title');

before(async () => {
  ctx = await openContext();
});

after(async () => {
  if (ctx) await ctx.close();
});

afterEach(() => assertNoProblems(ctx));

test('two clients on two databases and a third tab on the first converge on the server\'s log', async () => {
  await resetServer();
  const a1 = await openClient('a');
  await waitFor(a1, () => document.querySelector('#sync-badge').dataset.online === 'true');
  const a2 = await openClient('a'); // the third tab: same database as a1, follows it
  const b = await openClient('b');
  await waitFor(b, () => document.querySelector('#sync-badge').dataset.online === 'true');
  const shown = await badge(a1);
  assert.equal(shown.hidden, false, 'a synced page shows its sync badge');

  assert.equal((await createAccount(a1, 'account_001', 'Ada Lovelace', '1,000.00')).kind, 'ok');
  await waitForBalance(b, 'account_001', '1,000.00');
  assert.equal((await moveMoney(b, 'deposit', 'account_001', '500.00', 'from client b')).kind, 'ok');
  await waitForBalance(a2, 'account_001', '1,500.00');
  // a2 does not talk to the server: its command reaches it through the outbox a1 pushes
  assert.equal((await moveMoney(a2, 'withdraw', 'account_001', '200.00', 'from the third tab')).kind, 'ok');

  for (const page of [a1, a2, b]) await waitForBalance(page, 'account_001', '1,300.00');
  const server = await serverLog();
  assert.equal(server.headPosition, 4);
  assert.deepEqual(server.events.map((e) => [e.position, e.type]),
    [[1, 'account_created'], [2, 'money_deposited'], [3, 'money_deposited'], [4, 'money_withdrawn']]);
  const tabOf = (page) => page.evaluate(() => import('/engine.js').then((m) => m.TAB_ID));
  assert.deepEqual(server.events.map((e) => e.metadata.tab), [await tabOf(a1), await tabOf(a1), await tabOf(b), await tabOf(a2)],
    'each command is in the server\'s log, the third tab\'s too');
  for (const page of [a1, a2, b]) {
    await waitConverged(page, 4);
    assert.equal(await headHash(page), server.headHash, 'every client holds the server\'s chain');
  }
  // one syncing tab per database: a1 and a2 share one lock, b has its own
  const held = await a1.evaluate(async () => (await navigator.locks.query()).held.map((l) => l.name)
    .filter((n) => n.startsWith('eventjournal-sync:')).sort());
  assert.deepEqual(held, ['eventjournal-sync:eventjournal-demo-a', 'eventjournal-sync:eventjournal-demo-b']);
  assert.equal((await badge(a2)).online, 'true', 'the tab that follows shows the syncing tab\'s connection');
  await screenshot(a2, 'sync-third-tab');

  // ---- the syncing tab (a1, the first on its database) closes mid-run: a2 takes over
  const burst = [];
  for (let i = 0; i < 3; i++) burst.push(await moveMoney(b, 'deposit', 'account_001', '10.00', `b ${i}`));
  await a1.close();
  const closedAt = Date.now();
  await waitFor(a2, () => document.querySelector('#sync-badge').dataset.online === 'true', null, 5_000);
  const tookOver = Date.now() - closedAt;
  assert.ok(tookOver < 3_000, `another tab took over in ${tookOver} ms`);
  for (let i = 0; i < 3; i++) burst.push(await moveMoney(a2, 'deposit', 'account_001', '1.00', `a2 ${i}`));
  assert.ok(burst.every((r) => r.kind === 'ok'), JSON.stringify(burst));
  await waitForBalance(a2, 'account_001', '1,333.00');
  await waitForBalance(b, 'account_001', '1,333.00');
  const end = await serverLog();
  assert.equal(end.headPosition, 10, 'every command is in the server\'s log once');
  assert.equal(new Set(end.events.map((e) => e.metadata.commandId)).size, 9);
  for (const page of [a2, b]) {
    await waitConverged(page, 10);
    assert.equal(await headHash(page), end.headHash);
  }
  await a2.close();
  await b.close();
});

test('a page reloaded with commands pending pushes them after the reload', async () => {
  await resetServer();
  const b = await openClient('c'); // each test its own databases: the server's log was reset
  await waitFor(b, () => document.querySelector('#sync-badge').dataset.online === 'true');
  assert.equal((await createAccount(b, 'account_001', 'Grace Hopper', '100.00')).kind, 'ok');
  await waitConverged(b, 2);

  await b.check('#offline-toggle');
  await waitFor(b, () => document.querySelector('#sync-badge').dataset.status === 'offline');
  assert.equal((await moveMoney(b, 'deposit', 'account_001', '5.00', 'held 1')).kind, 'ok');
  assert.equal((await moveMoney(b, 'deposit', 'account_001', '7.00', 'held 2')).kind, 'ok');
  await waitFor(b, () => document.querySelector('#sync-badge').dataset.pending === '2');
  // decided here: the balance shows them, the log greys them, the server has not seen them
  // (the badge and the accounts table render in separate sections: wait for the table too)
  await waitForBalance(b, 'account_001', '112.00');
  await waitFor(b, () => document.querySelectorAll('#log-table tbody tr[data-pending="true"]').length === 2);
  assert.equal((await serverLog()).headPosition, 2);
  await screenshot(b, 'sync-pending');

  await b.reload();
  await b.waitForSelector('body[data-ready="true"]');
  await waitConverged(b, 4);
  await waitForBalance(b, 'account_001', '112.00');
  // no pending row once confirmed (the log renders after the stats that waitConverged saw)
  await waitFor(b, () => document.querySelectorAll('#log-table tbody tr[data-pending="true"]').length === 0);
  const server = await serverLog();
  assert.deepEqual(server.events.map((e) => e.data.description ?? null), [null, 'Initial deposit', 'held 1', 'held 2']);
  await b.close();
});

test('the offline switch holds pushes; a double spend from two clients is refused once, with a toast', async () => {
  await resetServer();
  const a = await openClient('d');
  const b = await openClient('e');
  await waitFor(b, () => document.querySelector('#sync-badge').dataset.online === 'true');
  assert.equal((await createAccount(a, 'account_001', 'Alan Turing', '1,000.00')).kind, 'ok');
  await waitForBalance(b, 'account_001', '1,000.00');
  await waitConverged(b, 2);

  await b.check('#offline-toggle');
  await waitFor(b, () => document.querySelector('#sync-badge').dataset.status === 'offline');
  assert.match(await b.textContent('#sync-badge'), /offline/);
  // b spends the money offline: accepted here, pending
  assert.equal((await moveMoney(b, 'withdraw', 'account_001', '800.00', 'offline spend')).kind, 'ok');
  await waitFor(b, () => document.querySelector('#sync-badge').dataset.pending === '1');
  await waitForBalance(b, 'account_001', '200.00');
  // a spends it too, online: the server takes a's
  assert.equal((await moveMoney(a, 'withdraw', 'account_001', '800.00', 'online spend')).kind, 'ok');
  await waitConverged(a, 3);
  await b.waitForTimeout(500);
  assert.equal((await serverLog()).headPosition, 3, 'nothing from b reached the server while it was offline');

  await b.uncheck('#offline-toggle');
  await waitFor(b, () => document.querySelector('#toast').dataset.kind === 'error' && !document.querySelector('#toast').hidden);
  const text = await b.textContent('#toast');
  assert.match(text, /withdraw on account_001/, text);
  assert.match(text, /insufficient/i, text);
  await screenshot(b, 'sync-refusal');
  await waitConverged(b, 3);
  for (const page of [a, b]) await waitForBalance(page, 'account_001', '200.00');
  const refusals = await b.evaluate(() => import('/store.js').then((m) => m.store.state.sync.refusals));
  assert.equal(refusals.length, 1, 'refused once');
  assert.equal(refusals[0].code, 'DOMAIN');
  const server = await serverLog();
  assert.deepEqual(server.events.map((e) => e.data.description ?? null), [null, 'Initial deposit', 'online spend']);
  // a never saw b's command
  assert.equal(await a.evaluate(() => import('/store.js').then((m) => m.store.state.sync.refusals.length)), 0);
  await a.close();
  await b.close();
});

test('a refusal of a command from the tab that does not sync is told to that tab, once', async () => {
  await resetServer();
  const leader = await openClient('f');
  await waitFor(leader, () => document.querySelector('#sync-badge').dataset.online === 'true');
  const follower = await openClient('f'); // same database: follows the first tab
  const other = await openClient('g');
  assert.equal((await createAccount(other, 'account_001', 'Edsger Dijkstra', '1,000.00')).kind, 'ok');
  for (const page of [leader, follower]) await waitConverged(page, 2);

  // the syncing tab holds its requests: the follower's command waits in the shared outbox
  await leader.check('#offline-toggle');
  await waitFor(leader, () => document.querySelector('#sync-badge').dataset.status === 'offline');
  assert.equal((await moveMoney(follower, 'withdraw', 'account_001', '900.00', 'from the follower')).kind, 'ok');
  await waitFor(leader, () => document.querySelector('#sync-badge').dataset.pending === '1');
  assert.equal((await moveMoney(other, 'withdraw', 'account_001', '900.00', 'first')).kind, 'ok');
  await waitConverged(other, 3);

  await leader.uncheck('#offline-toggle');
  await waitFor(follower, () => document.querySelector('#toast').dataset.kind === 'error' && !document.querySelector('#toast').hidden);
  assert.match(await follower.textContent('#toast'), /withdraw on account_001 — Insufficient funds/);
  for (const page of [leader, follower]) await waitConverged(page, 3);
  await waitForBalance(follower, 'account_001', '100.00');
  const refusals = (page) => page.evaluate(() => import('/store.js').then((m) => m.store.state.sync.refusals.length));
  assert.equal(await refusals(follower), 1, 'the issuing tab hears of its refusal once');
  assert.equal(await refusals(leader), 0, 'the syncing tab leaves it to the tab that issued it');
  const server = await serverLog();
  assert.deepEqual(server.events.map((e) => e.data.description ?? null), [null, 'Initial deposit', 'first']);
  for (const page of [leader, follower, other]) await page.close();
});

test('an engine opened with only sync.url (the global fetch) syncs in the browser', async () => {
  await resetServer();
  const page = await ctx.context.newPage();
  await gotoDemo(page, '?sync=off&db=plain-fetch');
  const state = await page.evaluate(async () => {
    const { Engine, indexedDbStorage } = await import('/pkg/index.js');
    const engine = await Engine.open({ storage: await indexedDbStorage('default-fetch'), sync: { url: location.origin } });
    const r = await engine.execute('BankAccount', 'account_001', { type: 'create_account', accountHolder: 'Ken', initialDeposit: 0 }, { waitFor: 'server' });
    const s = engine.syncState();
    await engine.close();
    return { position: r.position, pending: s.pending, lastError: s.lastError && String(s.lastError) };
  });
  assert.deepEqual(state, { position: 1, pending: 0, lastError: null });
  await page.close();
});
