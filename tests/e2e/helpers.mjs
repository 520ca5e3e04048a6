// Shared helpers for the demo page's browser tests (run by scripts/test-e2e.sh, which serves
// www/ and pkg/ and sets E2E_BASE_URL). Chromium is Debian's, driven by playwright-core.
import { mkdtempSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { launchPersistent } from '../js/support/browser.mjs';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const BASE_URL = process.env.E2E_BASE_URL || 'http://127.0.0.1:8080/';
export const ARTIFACTS = process.env.E2E_ARTIFACTS || join(ROOT, 'target', 'e2e-artifacts');
export const DOCS_SCREENSHOT = join(ROOT, 'docs', 'screenshot.png');
mkdirSync(ARTIFACTS, { recursive: true });

/**
 * A browser context with its own profile directory (its own IndexedDB), removed by close();
 * or on `profile`, which close() keeps (to relaunch the browser on it).
 */
export async function openContext({ viewport = { width: 1320, height: 1000 }, profile } = {}) {
  const dir = profile || mkdtempSync(join(tmpdir(), 'eventjournal-e2e-'));
  const context = await launchPersistent(dir, { viewport, deviceScaleFactor: 1 });
  const problems = [];
  context.on('page', (page) => watch(page, problems));
  for (const page of context.pages()) watch(page, problems);
  return {
    context,
    problems,
    async page() {
      const existing = context.pages().find((p) => p.url() === 'about:blank');
      return existing || context.newPage();
    },
    async close() {
      await context.close();
      if (!profile) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Fails the current test on any console error or page error seen since the last check. */
export function assertNoProblems(ctx) {
  assert.deepEqual(ctx.problems.splice(0), [], 'console errors or page errors');
}

function watch(page, problems) {
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console.error: ${msg.text()}`); });
}

/**
 * Opens the demo and waits until the engine is open and the first render is done. The page
 * syncs with the test server by default; these tests share that server, so a page opened
 * without `sync=` in `query` runs local-only (`sync=off`), and the sync tests (sync*.test.mjs)
 * ask for it and reset the server first (resetServer).
 */
export async function gotoDemo(page, query = '') {
  const url = new URL(query, BASE_URL);
  if (!url.searchParams.has('sync')) url.searchParams.set('sync', 'off');
  await page.goto(url.href);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  const fatal = await page.locator('#fatal').isVisible();
  assert.equal(fatal, false, `the page shows an error: ${fatal ? await page.textContent('#fatal') : ''}`);
}

/** The storage the page runs on ('indexeddb' or 'memory'). */
export async function storageKind(page) {
  return page.getAttribute('#storage-badge', 'data-kind');
}

/**
 * Submits a form by a button and waits for that form's message to be rewritten. Headless
 * Chromium paints no frames for a page that is not in front, and Playwright's actionability
 * checks wait for frames: a visitor acts in the tab in front, so the helpers bring it there.
 */
async function submitAndRead(page, button, msgSel) {
  await page.evaluate((sel) => { const el = document.querySelector(sel); el.textContent = ''; delete el.dataset.kind; }, msgSel);
  await page.click(button);
  await page.waitForFunction((sel) => document.querySelector(sel).dataset.kind, msgSel, { timeout: 15_000 });
  return { kind: await page.getAttribute(msgSel, 'data-kind'), text: (await page.textContent(msgSel)).trim() };
}

export async function createAccount(page, id, holder, deposit) {
  await page.bringToFront();
  await page.fill('#create-account-id', id);
  await page.fill('#create-account-holder', holder);
  await page.fill('#create-account-deposit', deposit);
  return submitAndRead(page, '#create-account-submit', '#create-account-msg');
}

export async function moveMoney(page, action, account, amount, description = '') {
  await page.bringToFront();
  await page.selectOption('#tx-account', account);
  await page.fill('#tx-amount', amount);
  await page.fill('#tx-description', description);
  return submitAndRead(page, `#tx-${action}`, '#tx-msg');
}

export async function placeOrder(page, { id, customer, address, items }) {
  await page.bringToFront();
  await page.fill('#order-id', id);
  await page.fill('#order-customer', customer);
  await page.fill('#order-address', address);
  const rows = page.locator('#order-items .item-row');
  while (await rows.count() < items.length) await page.click('#order-add-item');
  for (const [i, item] of items.entries()) {
    const row = rows.nth(i);
    await row.locator('[name=itemId]').fill(item.itemId);
    await row.locator('[name=quantity]').fill(String(item.quantity));
    await row.locator('[name=price]').fill(item.price);
  }
  return submitAndRead(page, '#place-order-submit', '#place-order-msg');
}

export async function orderAction(page, id, action, { trackingNumber, reason } = {}) {
  await page.bringToFront();
  await page.fill('#oa-order', id);
  if (trackingNumber !== undefined) await page.fill('#oa-tracking', trackingNumber);
  if (reason !== undefined) await page.fill('#oa-reason', reason);
  return submitAndRead(page, `#oa-${action}`, '#oa-msg');
}

/** The balance shown in the accounts table for `id` (waits for the row). */
export async function shownBalance(page, id) {
  const cell = page.locator(`#accounts-table tr[data-account-id="${id}"] [data-testid=balance]`);
  await cell.waitFor({ timeout: 15_000 });
  return (await cell.textContent()).trim();
}

/** Waits until the balance cell of `id` reads `text`. */
export async function waitForBalance(page, id, text, timeout = 15_000) {
  await page.waitForFunction(([accountId, expected]) => {
    const cell = document.querySelector(`#accounts-table tr[data-account-id="${accountId}"] [data-testid=balance]`);
    return cell && cell.textContent.trim() === expected;
  }, [id, text], { timeout, polling: 50 });
}

/** Waits until the text of the element `sel` is exactly `text`. */
export async function waitForText(page, sel, text, timeout = 15_000) {
  await page.waitForFunction(([s, expected]) => document.querySelector(s)?.textContent === expected, [sel, text], { timeout, polling: 50 });
}

/** Log rows as [position, streamId, version, type, future]. */
export async function logRows(page) {
  return page.$$eval('#log-table tbody tr[data-position]', (rows) => rows.map((r) => [
    Number(r.dataset.position), r.dataset.stream, Number(r.dataset.version), r.dataset.type, r.classList.contains('future'),
  ]));
}

/** The type chart's bars as { [eventType]: count }. */
export async function typeChart(page) {
  return Object.fromEntries(await page.$$eval('#type-chart .bar-row', (rows) => rows.map((r) => [r.dataset.type, Number(r.dataset.count)])));
}

/** The balance chart's points as [position, balance in cents]. */
export async function balancePoints(page) {
  return page.$$eval('#balance-chart circle.dot', (dots) => dots.map((d) => [Number(d.dataset.position), Number(d.dataset.balance)]));
}

/** The options of a <select> as [value, label]. */
export async function options(page, sel) {
  return page.$$eval(`${sel} option`, (os) => os.map((o) => [o.value, o.textContent.trim()]));
}

/** Travels to a position by typing it (keyboard path) and waits for the page to show it. */
export async function travelTo(page, position) {
  await page.fill('#tt-position', String(position));
  await page.press('#tt-position', 'Enter');
  await page.waitForFunction((p) => document.querySelector('#tt-status').dataset.position === String(p), position);
  await settle(page);
}

/** Waits until pending renders are done (two animation frames after the last engine answer). */
export async function settle(page, ms = 150) {
  await page.waitForTimeout(ms);
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

// The time-travel bar is sticky on wide screens; a full-page capture would paint it mid-page.
const SHOT_CSS = '.travel { position: static !important; } .toast { display: none !important; }';

export async function screenshot(page, name, options = {}) {
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true, style: SHOT_CSS, animations: 'disabled', ...options });
  return path;
}

/** Updates docs/screenshot.png when it is missing or E2E_UPDATE_DOCS=1 (keeps `make test` from dirtying the tree). */
export async function docsScreenshot(page, options) {
  const artifact = await screenshot(page, 'readme-screenshot', options);
  if (!existsSync(DOCS_SCREENSHOT) || process.env.E2E_UPDATE_DOCS === '1') {
    mkdirSync(join(ROOT, 'docs'), { recursive: true });
    await page.screenshot({ path: DOCS_SCREENSHOT, fullPage: true, style: SHOT_CSS, animations: 'disabled', ...options });
  }
  return artifact;
}

/** Waits for a condition by polling (works for a page that is not in front, unlike rAF polling). */
export function waitFor(page, fn, arg, timeout = 15_000) {
  return page.waitForFunction(fn, arg, { timeout, polling: 50 });
}

export const log = (...args) => console.log('   ', ...args);
