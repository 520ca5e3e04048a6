// The package under a bundler: Vite builds tests/bundler-app (which imports 'eventjournal'
// by name, resolving the package's "browser"/"import" exports and its wasm asset), then the
// built app runs in headless Chromium.
import { createServer } from 'node:http';
import { readFile, rm } from 'node:fs/promises';
import { extname, join, normalize, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const vite = await import(require.resolve('vite', { paths: [process.env.NODE_PATH || process.cwd()] }));
const appDir = resolve('tests/bundler-app');
const outDir = resolve('tests/bundler-app/dist');
await rm(outDir, { recursive: true, force: true });
await vite.build({ root: appDir, logLevel: 'warn', build: { outDir, emptyOutDir: true }, resolve: { preserveSymlinks: false } });

const types = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };
const server = createServer(async (req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  const file = join(outDir, normalize(path === '/' ? '/index.html' : decodeURIComponent(path)).replace(/^(\.\.[/\\])+/, ''));
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': types[extname(file)] || 'application/octet-stream' });
    res.end(body);
  } catch { res.writeHead(404); res.end(); }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
let ok = false;
try {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  await page.waitForFunction(() => window.result !== undefined, null, { timeout: 30_000 });
  const result = await page.evaluate(() => window.result);
  ok = result.balance === 160000 && result.refused === 'Insufficient funds' && result.verified === true;
  console.log(`${ok ? '✔' : '✖'} [vite ${vite.version}] bundled app: ${JSON.stringify(result)}`);
} finally {
  await browser.close();
  server.close();
}
process.exit(ok ? 0 : 1);
