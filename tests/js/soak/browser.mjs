// Browser plumbing shared by crash.browser.mjs and soak.browser.mjs: a static server on
// 127.0.0.1 and headless Chromium (playwright-core, /usr/bin/chromium) on a persistent profile.
//
// Served paths:
//   /node_modules/eventjournal/  the installed package (its web entry, index.js)
//   /soak/                       tests/js/soak (workload.mjs, the soak page)
//   /crash/                      tests/js/crash (the crash page)
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { readFile, readdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join, dirname, extname, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
export const pkgDir = dirname(require.resolve('eventjournal/package.json'));
const here = dirname(fileURLToPath(import.meta.url));
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm', '.json': 'application/json', '.map': 'application/json',
};

/** Starts the server; resolves { server, origin }. */
export function serve() {
  const roots = { '/node_modules/eventjournal/': pkgDir, '/soak/': here, '/crash/': join(here, '..', 'crash') };
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const prefix = Object.keys(roots).find((p) => path.startsWith(p));
    if (!prefix) { res.writeHead(404).end('not found'); return; }
    const root = normalize(roots[prefix]);
    const file = normalize(join(root, path.slice(prefix.length)));
    if (!file.startsWith(root + sep)) { res.writeHead(403).end(); return; }
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': MIME[extname(file)] || 'application/octet-stream', 'cache-control': 'no-store' });
      res.end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  // keep-alive sockets of a crashed renderer must not keep close() waiting
  server.keepAliveTimeout = 1000;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, origin: `http://127.0.0.1:${server.address().port}` })));
}

/** A persistent context on `profile` (IndexedDB on disk, surviving pages and restarts). */
export function launch(profile, extraArgs = []) {
  return chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: [...ARGS, ...extraArgs] });
}

/** Waits until `window[flag]` or window.harnessError is set. */
export async function waitFor(page, flag, timeout = 30_000) {
  await page.waitForFunction((f) => window[f] || window.harnessError, flag, { timeout });
  const err = await page.evaluate(() => window.harnessError);
  if (err) throw new Error(`harness failed to load: ${err}`);
}

/**
 * The pid of the Chromium browser process this Node process started on `profile` (Linux: a
 * direct child whose command line names the profile), or null.
 */
export async function browserPid(profile) {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(profile)) return Number(entry);
    } catch { /* gone */ }
  }
  return null;
}

/** The process group of `pid` (Playwright starts the browser in its own group). */
export function processGroup(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return null;
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
