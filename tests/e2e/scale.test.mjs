// 50,000 events of sample data through the page: generation with a progress bar, the page
// stays responsive, the log's first page renders quickly (measured and printed, not asserted:
// machines differ), time travel and filters on a large log, replay, verify, a reload.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  openContext, gotoDemo, storageKind, logRows, settle, screenshot, docsScreenshot, log, assertNoProblems, waitFor, waitForText,
} from './helpers.mjs';

let ctx;
let page;
let total = 0;

before(async () => {
  ctx = await openContext({ viewport: { width: 1440, height: 1000 } });
  page = await ctx.page();
  await gotoDemo(page);
});

after(async () => {
  if (ctx) await ctx.close();
});

afterEach(() => assertNoProblems(ctx));

const rowsShown = () => page.$eval('#log-table', (t) => Number(t.dataset.rows));
const median = (xs) => xs.slice().sort((x, y) => x - y)[Math.floor(xs.length / 2)];

test('generates ≈ 50,000 events with a progress bar and stays responsive', { timeout: 180_000 }, async () => {
  assert.equal(await storageKind(page), 'indexeddb');
  await page.selectOption('#sample-size', '50000');
  const t0 = Date.now();
  await page.click('#sample-generate');
  await page.waitForSelector('#sample-progress:not([hidden])');
  // Responsiveness while it runs: how long the page takes to answer and paint a frame.
  const frames = [];
  let sawProgress = 0;
  while (await page.getAttribute('#sample-status', 'data-state') === 'running') {
    const t = Date.now();
    const value = await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r(document.querySelector('#sample-progress').value))));
    frames.push(Date.now() - t);
    sawProgress = Math.max(sawProgress, value);
    await page.waitForTimeout(250);
  }
  const wall = Date.now() - t0;
  assert.equal(await page.getAttribute('#sample-status', 'data-state'), 'done', await page.textContent('#sample-status'));
  const status = await page.textContent('#sample-status');
  assert.equal(await page.getAttribute('#sample-status', 'data-kind'), 'ok', status);
  total = Number(await page.getAttribute('#sample-status', 'data-events'));
  assert.ok(total >= 45_000 && total <= 55_000, `generated ${total} events`);
  assert.ok(sawProgress > 0, 'the progress bar moved');
  log(`sample data: ${status.trim()}`);
  log(`sample data: ${total} events in ${(Number(await page.getAttribute('#sample-status', 'data-ms')) / 1000).toFixed(1)} s (page), ${(wall / 1000).toFixed(1)} s (wall, from the click)`);
  log(`responsiveness while generating: frame round trip median ${median(frames)} ms, max ${Math.max(...frames)} ms over ${frames.length} probes`);

  await page.waitForFunction((n) => document.querySelector('#stat-events').textContent === n.toLocaleString('en-US'), total);
  // the stats section renders first in a round; the bank, the shop and the log after it
  await waitForText(page, '#stat-accounts', '200');
  await waitForText(page, '#stat-orders', '2,000');
  await waitFor(page, (n) => document.querySelector('#log-table tbody tr')?.dataset.position === String(n), total);
  assert.equal(await rowsShown(), 50);
  assert.equal((await logRows(page))[0][0], total);
});

test('the log stays quick on a large log: paging, filters, time travel', { timeout: 60_000 }, async () => {
  const timed = async (label, action, until) => {
    const t = Date.now();
    await action();
    await page.waitForFunction(until.fn, until.arg);
    const ms = Date.now() - t;
    log(`${label}: ${ms} ms (in-page read+render ${await page.getAttribute('#log-table', 'data-render-ms')} ms)`);
    return ms;
  };
  await timed('log: older page', () => page.click('#log-older'), { fn: () => document.querySelector('#log-table').dataset.page === '1' });
  assert.equal((await logRows(page))[0][0], total - 50);
  await timed('log: oldest page', () => page.click('#log-oldest'), { fn: () => document.querySelector('#log-table tbody tr:last-child')?.dataset.position === '1' });
  await timed('log: newest page', () => page.click('#log-newest'), { fn: (n) => document.querySelector('#log-table tbody tr')?.dataset.position === String(n), arg: total });
  await timed('log: filter by type account_closed', () => page.selectOption('#log-type', 'account_closed'),
    { fn: () => { const r = [...document.querySelectorAll('#log-table tbody tr[data-position]')]; return r.length > 0 && r.every((x) => x.dataset.type === 'account_closed'); } });
  await timed('log: filter by type money_deposited, older page', async () => { await page.selectOption('#log-type', 'money_deposited'); await page.waitForFunction(() => document.querySelector('#log-table tbody tr')?.dataset.type === 'money_deposited'); await page.click('#log-older'); },
    { fn: () => document.querySelector('#log-table').dataset.page === '1' && document.querySelector('#log-table tbody tr')?.dataset.type === 'money_deposited' });
  const deposits = await logRows(page);
  assert.equal(deposits.length, 50);
  assert.ok(deposits.every(([, , , type]) => type === 'money_deposited'));
  assert.ok(deposits.every(([p], i) => i === 0 || p < deposits[i - 1][0]), 'newest first');
  await timed('log: filter by stream account_001', async () => { await page.click('#log-clear'); await page.fill('#log-stream', 'account_001'); },
    { fn: () => { const r = [...document.querySelectorAll('#log-table tbody tr[data-position]')]; return r.length > 0 && r.every((x) => x.dataset.stream === 'account_001'); } });
  const versions = (await logRows(page)).map(([, , v]) => v);
  assert.ok(versions.every((v, i) => i === 0 || v === versions[i - 1] - 1), 'a stream reads newest first, gapless');
  await page.click('#log-clear');

  const half = Math.floor(total / 2);
  const t = Date.now();
  await page.fill('#tt-position', String(half));
  await page.press('#tt-position', 'Enter');
  await page.waitForFunction((p) => document.querySelector('#tt-status').dataset.position === String(p)
    && document.querySelector(`#log-table tr[data-position="${p}"]`), half);
  log(`time travel to position ${half}: ${Date.now() - t} ms`);
  await settle(page, 300);
  const rows = await logRows(page);
  assert.ok(rows.some(([p]) => p === half));
  assert.ok(rows.every(([p, , , , future]) => future === p > half));
  await screenshot(page, '07-large-time-travel');
  await page.click('#tt-now');
  await page.waitForFunction(() => document.querySelector('#tt-status').dataset.mode === 'now');
});

test('replay rebuilds the projections and verify reports ok', { timeout: 60_000 }, async () => {
  let t = Date.now();
  await page.click('#replay-btn');
  await page.waitForFunction(() => document.querySelector('#replay-result').dataset.kind === 'ok', null, { timeout: 50_000 });
  log(`replay: ${Date.now() - t} ms · ${await page.textContent('#replay-result')}`);
  assert.equal(await page.getAttribute('#replay-result', 'data-events'), String(total));

  t = Date.now();
  await page.click('#verify-btn');
  await page.waitForSelector('#verify-result[data-ok]', { timeout: 50_000 });
  log(`verify: ${Date.now() - t} ms · ${await page.textContent('#verify-result')}`);
  assert.equal(await page.getAttribute('#verify-result', 'data-ok'), 'true');
  assert.equal(await page.getAttribute('#verify-result', 'data-checked'), String(total));

  // a good-looking picture for the README: data in every panel, an account's balance chart
  await page.evaluate(() => window.scrollTo(0, 0));
  await settle(page, 300);
  await docsScreenshot(page, { fullPage: true, clip: { x: 0, y: 0, width: 1440, height: 1720 } });
  await screenshot(page, '08-large-log');
});

test('a reload of 50,000 events: time to the first log page', { timeout: 60_000 }, async () => {
  const t = Date.now();
  await page.reload();
  await page.waitForSelector('#log-table tbody tr[data-position]', { timeout: 50_000 });
  const first = Date.now() - t;
  await page.waitForSelector('body[data-ready="true"]');
  log(`reload → first log page rendered: ${first} ms (${await page.getAttribute('#storage-badge', 'title')})`);
  assert.equal((await logRows(page))[0][0], total);
  assert.equal(await rowsShown(), 50);
  assert.deepEqual(ctx.problems, []);
});
