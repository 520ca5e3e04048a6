// The package under a bundler: Vite builds tests/bundler-app (which imports 'eventjournal'
// by name, resolving the package's "browser"/"import" exports and its wasm asset), then the
// built app runs in headless Chromium.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createRequire } from 'node:module';
import { serveStatic } from './support/server.mjs';
import { launchBrowser, pageErrors } from './support/browser.mjs';

const require = createRequire(import.meta.url);
const vite = await import(require.resolve('vite', { paths: [process.env.NODE_PATH || process.cwd()] }));
const appDir = resolve('tests/bundler-app');
const outDir = resolve('tests/bundler-app/dist');

test(`[vite ${vite.version}] a bundled app runs the engine in Chromium`, async () => {
  await rm(outDir, { recursive: true, force: true });
  await vite.build({ root: appDir, logLevel: 'warn', build: { outDir, emptyOutDir: true }, resolve: { preserveSymlinks: false } });
  const site = await serveStatic({ mounts: { '/': outDir } });
  const browser = await launchBrowser();
  after(async () => {
    await browser.close();
    await site.close();
  });
  const page = await browser.newPage();
  const errors = pageErrors(page);
  await page.goto(site.url('/'));
  await page.waitForFunction(() => window.result !== undefined, null, { timeout: 30_000 });
  const result = await page.evaluate(() => window.result);
  assert.deepEqual(result, { balance: 160000, refused: 'Insufficient funds', verified: true, kit: '1 AssertionError' });
  assert.deepEqual(errors, []);
});
