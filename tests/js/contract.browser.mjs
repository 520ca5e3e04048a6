// The contract suite in headless Chromium against the package's web build (the ESM entry
// that browsers and bundlers use), served from the consumer project on 127.0.0.1: once with
// memoryStorage, once with IndexedDB under every storage-related test.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { chromium } from 'playwright-core';

const root = process.cwd(); // target/js-consumer
const types = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html', '.json': 'application/json' };
const page = `<!doctype html><meta charset="utf-8"><title>eventjournal contract suite</title>
<script type="module">
  import * as lib from '/node_modules/eventjournal/index.js';
  import { createSuite } from '/tests/contract/suite.mjs';
  // Twice: with memoryStorage, then with every storage-related test on IndexedDB.
  let n = 0;
  const names = new WeakMap();
  const openIdb = async (name) => {
    const storage = await lib.indexedDbStorage(name);
    names.set(storage, name);
    return storage;
  };
  const runs = [
    ['memory', lib],
    ['indexeddb', {
      ...lib,
      newStorage: () => openIdb('contract-' + Date.now() + '-' + (n += 1)),
      reopenStorage: (storage) => openIdb(names.get(storage)),
    }],
  ];
  window.runSuite = async () => {
    const results = [];
    for (const [label, variant] of runs) {
      for (const { name, fn } of createSuite(variant)) {
        const t0 = performance.now();
        try { await fn(); results.push({ name: label + ': ' + name, ok: true, ms: performance.now() - t0 }); }
        catch (e) { results.push({ name: label + ': ' + name, ok: false, error: String(e && e.stack || e) }); }
      }
    }
    return results;
  };
  window.suiteReady = true;
</script>`;

const server = createServer(async (req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  if (path === '/') { res.writeHead(200, { 'content-type': 'text/html' }); res.end(page); return; }
  const file = join(root, normalize(decodeURIComponent(path)).replace(/^(\.\.[/\\])+/, ''));
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': types[extname(file)] || 'application/octet-stream' });
    res.end(body);
  } catch { res.writeHead(404); res.end(); }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${server.address().port}/`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});
let failed = 0;
try {
  const tab = await browser.newPage();
  const pageErrors = [];
  tab.on('pageerror', (e) => pageErrors.push(String(e)));
  await tab.goto(url);
  await tab.waitForFunction(() => window.suiteReady === true, null, { timeout: 30_000 });
  const results = await tab.evaluate(() => window.runSuite());
  for (const r of results) {
    if (r.ok) console.log(`✔ [chromium] ${r.name} (${r.ms.toFixed(1)}ms)`);
    else { failed += 1; console.log(`✖ [chromium] ${r.name}\n${r.error}`); }
  }
  if (pageErrors.length) { failed += 1; console.log(`✖ uncaught page errors:\n${pageErrors.join('\n')}`); }
  console.log(`chromium: ${results.length - failed} passed, ${failed} failed (${await browser.version()})`);
} finally {
  await browser.close();
  server.close();
}
process.exit(failed ? 1 : 0);
