// Crypto-shredding on IndexedDB in headless Chromium (a persistent profile, so IndexedDB is on
// disk): indexedDbStorage with indexedDbKeyStore. Personal data is never stored in the clear,
// forget erases it: the records read raw from both databases hold no plaintext (and no record
// of the forgotten key), the other subjects stay, verify() is true, a reopen (and a browser
// restart) keeps it forgotten. Then the profile's IndexedDB files themselves are scanned: the
// plaintext was never written, so no log or table file of the browser holds it.
import { test, before, after } from 'node:test';
import { mkdtemp, rm, readdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { serveTests } from './support/server.mjs';
import { launchPersistent, waitFor } from './support/browser.mjs';

const ADA = 'Ada Lovelace-7f3a';
const GRACE = 'Grace Hopper-91bc';
const ADDRESS = '12 Secret Lane, Ockham';

let site;
let profile;
let context;

async function newPage() {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.log(`  [pageerror] ${e.message}`));
  await page.goto(`${site.origin}/tests/idb/page.html`);
  await waitFor(page, 'harnessReady', 20_000);
  return page;
}

async function filesUnder(dir) {
  const out = [];
  for (const name of await readdir(dir).catch(() => [])) {
    const path = join(dir, name);
    if ((await stat(path)).isDirectory()) out.push(...(await filesUnder(path)));
    else out.push(path);
  }
  return out;
}

before(async () => {
  site = await serveTests();
  profile = await mkdtemp(join(tmpdir(), 'ej-erase-idb-'));
  context = await launchPersistent(profile);
});
after(async () => {
  await context?.close().catch(() => {});
  await site?.close();
  if (profile) await rm(profile, { recursive: true, force: true }).catch(() => {});
});

test('forget on IndexedDB: raw records and the profile\'s files hold no plaintext', { timeout: 60_000 }, async () => {
  let page = await newPage();
  const names = { ADA, GRACE, ADDRESS };
  const first = await page.evaluate(async ({ ADA, GRACE, ADDRESS }) => {
    const open = async () => H.ej.Engine.open({
      storage: await H.ej.indexedDbStorage('ej-erase'),
      keys: await H.ej.indexedDbKeyStore('ej-erase-keys'),
    });
    let engine = await open();
    const items = [{ itemId: 'sku', quantity: 1, price: 5 }];
    await engine.execute('BankAccount', 'account_001', { type: 'create_account', accountHolder: ADA, initialDeposit: 100 });
    await engine.execute('BankAccount', 'account_002', { type: 'create_account', accountHolder: GRACE, initialDeposit: 100 });
    await engine.execute('Order', 'order_1', { type: 'place_order', customerId: 'cust_1', items, shippingAddress: ADDRESS });
    await engine.close(); // stores the projection snapshots
    const beforeForget = JSON.stringify([await H.dump('ej-erase'), await H.dump('ej-erase-keys')]);
    engine = await open();
    await engine.forget('account_001');
    const read = await engine.readAll();
    const out = {
      beforeForget,
      holder: read[0].data.accountHolder,
      erased: read[0].erased,
      other: read[2].data.accountHolder,
      address: read[4].data.shippingAddress,
      row: (await engine.projection('account_balance')).account_001.accountHolder,
      verify: await engine.verify(),
    };
    await engine.close();
    const storage = await H.dump('ej-erase');
    const keys = await H.dump('ej-erase-keys');
    out.stored = JSON.stringify(storage);
    out.keyNames = keys.keys.map((k) => k.name);
    out.snapshotStates = storage.snapshots.map((s) => JSON.stringify(s.state));
    return out;
  }, names);
  assert.ok(!first.beforeForget.includes(ADA), 'never stored in the clear, not even before forget');
  assert.equal(first.holder, null);
  assert.deepEqual(first.erased, ['accountHolder']);
  assert.equal(first.other, GRACE);
  assert.equal(first.address, ADDRESS);
  assert.equal(first.row, null);
  assert.deepEqual(first.verify, { ok: true, checked: 5, firstBadPosition: null });
  for (const text of [ADA, GRACE, ADDRESS]) assert.ok(!first.stored.includes(text), `${text} is not in the raw records`);
  assert.ok(first.stored.includes('$encrypted'));
  assert.ok(!first.keyNames.includes('account_001'), 'the key record is gone');
  assert.ok(first.keyNames.includes('account_002') && first.keyNames.includes('cust_1'));
  for (const s of first.snapshotStates) assert.ok(s.startsWith('{"$encrypted":'), `snapshots are sealed: ${s.slice(0, 60)}`);

  // A browser restart on the same profile: still forgotten.
  await context.close();
  context = await launchPersistent(profile);
  page = await newPage();
  const again = await page.evaluate(async () => {
    const engine = await H.ej.Engine.open({
      storage: await H.ej.indexedDbStorage('ej-erase'),
      keys: await H.ej.indexedDbKeyStore('ej-erase-keys'),
    });
    const read = await engine.readAll();
    const out = [read[0].data.accountHolder, read[0].erased, read[2].data.accountHolder, (await engine.verify()).ok];
    await engine.close();
    return out;
  });
  assert.deepEqual(again, [null, ['accountHolder'], GRACE, true]);

  // The files of the profile's IndexedDB (LevelDB logs and tables): no plaintext anywhere.
  await context.close();
  const files = await filesUnder(join(profile, 'Default', 'IndexedDB'));
  assert.ok(files.length > 0, 'the profile has IndexedDB files');
  for (const f of files) {
    const bytes = await readFile(f);
    for (const text of [ADA, GRACE, ADDRESS]) assert.ok(!bytes.includes(Buffer.from(text)), `${text} in ${f}`);
  }
  context = await launchPersistent(profile);
});
