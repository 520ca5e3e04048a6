// A database the browser lost, for real: Chromium deletes an IndexedDB database whose LevelDB
// files it finds corrupt and recreates it empty (we saw it happen after a SIGKILL of the whole
// browser with durability 'relaxed', RELIABILITY.md). The test writes a log, closes the browser,
// damages the database's LevelDB files on disk, relaunches on the same profile and checks that
// indexedDbStorage() says so (a StorageError with reason 'lost', carrying the browser's own
// message) instead of handing the engine an empty log; that it keeps saying so after the
// browser's one-time signal, across a page reload and a browser restart; and that an open with
// { acceptLoss: true } starts from the empty log, after which opens are ordinary again.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveTests } from './support/server.mjs';
import { launchPersistent, pageErrors, damageIndexedDb } from './support/browser.mjs';

const site = await serveTests({
  pages: {
    '/loss.html': `<!doctype html><meta charset="utf-8"><script type="module">
      import * as ej from '/node_modules/eventjournal/index.js';
      window.ej = ej;
      window.ready = true;
    </script>`,
  },
});
const profile = await mkdtemp(join(tmpdir(), 'ej-idb-loss-'));
after(async () => {
  await site.close();
  await rm(profile, { recursive: true, force: true });
});

async function openPage(context) {
  const page = await context.newPage();
  const errors = pageErrors(page);
  await page.goto(site.url('/loss.html'));
  await page.waitForFunction(() => window.ready === true);
  return { page, errors };
}

test('Chromium deletes a corrupt database: every open is a StorageError (reason lost), never a silently empty log, until one accepts the loss', async () => {
  let context = await launchPersistent(profile);
  let { page, errors } = await openPage(context);
  const written = await page.evaluate(async () => {
    const engine = await window.ej.Engine.open({ storage: await window.ej.indexedDbStorage('loss') });
    await engine.execute('BankAccount', 'acc', { type: 'create_account', accountHolder: 'Ada', initialDeposit: 100 });
    for (let i = 0; i < 40; i++) await engine.execute('BankAccount', 'acc', { type: 'deposit', amount: 1 });
    const { totalEvents } = await engine.stats();
    await engine.close();
    return totalEvents;
  });
  assert.equal(written, 42);
  assert.deepEqual(errors, []);
  await context.close();

  assert.ok(await damageIndexedDb(profile) > 0, 'found the LevelDB files to damage');

  context = await launchPersistent(profile);
  try {
    ({ page, errors } = await openPage(context));
    const lostOpen = () => page.evaluate(() => window.ej.indexedDbStorage('loss').then(
      () => ({ opened: true }),
      (e) => ({ name: e.name, code: e.code, reason: e.reason, message: e.message, isStorageError: e instanceof window.ej.StorageError }),
    ));
    const first = await lostOpen();
    assert.equal(first.name, 'StorageError', JSON.stringify(first));
    assert.equal(first.code, 'STORAGE');
    assert.equal(first.reason, 'lost');
    assert.equal(first.isStorageError, true);
    assert.match(first.message, /^indexedDbStorage\(loss\): the browser found this database corrupt and deleted it \(it said: IndexedDB \(database was corrupt\): .+\); every event stored in it is gone\. Open it with \{ acceptLoss: true \}/);

    // Chromium says it once; the adapter keeps saying it: after a reload, and after a restart
    await page.reload();
    await page.waitForFunction(() => window.ready === true);
    assert.deepEqual(await lostOpen(), first);
    await context.close();
    context = await launchPersistent(profile);
    ({ page, errors } = await openPage(context));
    assert.deepEqual(await lostOpen(), first);

    // accepted: an empty log that works; later opens are ordinary
    const accepted = await page.evaluate(async () => {
      const engine = await window.ej.Engine.open({ storage: await window.ej.indexedDbStorage('loss', { acceptLoss: true }) });
      const before = (await engine.stats()).totalEvents;
      await engine.execute('BankAccount', 'acc', { type: 'create_account', accountHolder: 'Ada', initialDeposit: 5 });
      await engine.close();
      const reopened = await window.ej.Engine.open({ storage: await window.ej.indexedDbStorage('loss') });
      const after = (await reopened.stats()).totalEvents;
      const verified = (await reopened.verify()).ok;
      await reopened.close();
      return { before, after, verified };
    });
    assert.deepEqual(accepted, { before: 0, after: 2, verified: true });
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
