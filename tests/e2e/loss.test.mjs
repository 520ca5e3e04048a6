// The demo page on a database the browser lost: Chromium deletes an IndexedDB database whose
// files it finds corrupt (RELIABILITY.md §3). The page says so in its storage note and starts
// from an empty log (indexedDbStorage's StorageError, reason 'lost', then acceptLoss), instead
// of showing an empty log in silence; after a reload it is an ordinary page again.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { damageIndexedDb } from '../js/support/browser.mjs';
import { openContext, gotoDemo, createAccount, waitForBalance, assertNoProblems, storageKind } from './helpers.mjs';

const profile = mkdtempSync(join(tmpdir(), 'eventjournal-e2e-loss-'));
after(() => rmSync(profile, { recursive: true, force: true }));

test('a database the browser deleted: the page says so and starts from an empty log', async () => {
  let ctx = await openContext({ profile });
  try {
    const page = await ctx.page();
    await gotoDemo(page, '?db=e2e-loss');
    assert.equal((await createAccount(page, 'account_001', 'Ada Lovelace', '1,000.00')).kind, 'ok');
    await waitForBalance(page, 'account_001', '1,000.00');
    assert.equal(await page.locator('#storage-note').isVisible(), false);
    assertNoProblems(ctx);
  } finally {
    await ctx.close();
  }
  assert.ok(await damageIndexedDb(profile) > 0, 'found the LevelDB files to damage');

  ctx = await openContext({ profile });
  try {
    const page = await ctx.page();
    await gotoDemo(page, '?db=e2e-loss');
    assert.equal(await storageKind(page), 'indexeddb');
    assert.equal(await page.locator('#storage-note').isVisible(), true);
    assert.match(await page.textContent('#storage-note'), /found the page's IndexedDB database corrupt and deleted it: the events it held are gone\. The page starts from an empty log\./);
    assert.equal(await page.textContent('#stat-events'), '0');
    assert.equal(await page.locator('#accounts-table tr[data-account-id]').count(), 0);
    // the emptied database works, and a reload is an ordinary open (the loss was accepted)
    assert.equal((await createAccount(page, 'account_001', 'Grace Hopper', '5.00')).kind, 'ok');
    await waitForBalance(page, 'account_001', '5.00');
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    await waitForBalance(page, 'account_001', '5.00');
    assert.equal(await page.locator('#storage-note').isVisible(), false);
    assertNoProblems(ctx);
  } finally {
    await ctx.close();
  }
});
