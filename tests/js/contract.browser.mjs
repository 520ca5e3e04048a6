// The contract suite in headless Chromium against the package's web build (the ESM entry
// that browsers and bundlers use): once with memoryStorage, once with IndexedDB under every
// storage-related test. Each case runs in the page and reports here as its own node:test test.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { serveTests } from './support/server.mjs';
import { launchBrowser, pageErrors, waitFor } from './support/browser.mjs';

const page = `<!doctype html><meta charset="utf-8"><title>eventjournal contract suite</title>
<script type="module">
  try {
    const lib = await import('/node_modules/eventjournal/index.js');
    const { createSuite } = await import('/tests/contract/suite.mjs');
    let n = 0;
    const names = new WeakMap();
    const fresh = () => 'contract-' + Date.now() + '-' + (n += 1);
    const openIdb = async (name) => {
      const storage = await lib.indexedDbStorage(name);
      names.set(storage, name);
      return storage;
    };
    const variants = {
      memory: lib,
      indexeddb: {
        ...lib,
        newStorage: () => openIdb(fresh()),
        reopenStorage: (storage) => openIdb(names.get(storage)),
        storageFactory: {
          name: 'indexedDbStorage',
          open: () => lib.indexedDbStorage(fresh()),
          call: (...args) => lib.indexedDbStorage(...args),
          bad: [[''], [42], [undefined], ['x', { durability: 'fast' }], ['x', { schemaVersion: 99 }], ['x', 'strict']],
        },
      },
    };
    const cases = new Map();
    for (const [label, variant] of Object.entries(variants)) {
      for (const { name, fn } of createSuite(variant)) cases.set(label + ': ' + name, fn);
    }
    window.caseNames = () => [...cases.keys()];
    window.runCase = async (name) => {
      try {
        await cases.get(name)();
        return null;
      } catch (e) {
        return String(e && e.stack || e);
      }
    };
    window.sqliteInBrowser = async () => {
      const call = lib.sqliteStorage('x.db');
      const error = await call.then(() => null, (e) => e);
      return { async: call instanceof Promise, name: error && error.name, code: error && error.code, reason: error && error.reason };
    };
    window.harnessReady = true;
  } catch (e) {
    window.harnessError = String(e && e.stack || e);
  }
</script>`;

const site = await serveTests({ pages: { '/': page } });
const browser = await launchBrowser();
after(async () => {
  await browser.close();
  await site.close();
});
const tab = await browser.newPage();
const errors = pageErrors(tab);
await tab.goto(site.url('/'));
await waitFor(tab, 'harnessReady');
console.log(`# Chromium ${browser.version()}`);

for (const name of await tab.evaluate(() => window.caseNames())) {
  test(`[chromium] ${name}`, async () => {
    const failure = await tab.evaluate((n) => window.runCase(n), name);
    if (failure) throw new Error(failure);
  });
}

test('[chromium] sqliteStorage in the web build: a StorageError (unsupported), like a platform without the store', async () => {
  assert.deepEqual(await tab.evaluate(() => window.sqliteInBrowser()), { async: true, name: 'StorageError', code: 'STORAGE', reason: 'unsupported' });
});

test('[chromium] no uncaught error in the page', () => {
  assert.deepEqual(errors, []);
});
