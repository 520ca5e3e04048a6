// Serves pkg/, SQLite's wasm build and the bench page on 127.0.0.1 and drives headless Chromium
// (playwright-core, /usr/bin/chromium, a persistent context on a temporary user-data-dir: a
// disk-backed profile). The page is cross-origin isolated (5 µs timers).
import http from 'node:http';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join, extname, normalize, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const benchDir = join(here, '..', 'browser');
const require = createRequire(import.meta.url);
// The package as installed (node_modules/eventjournal -> ../../pkg); its browser entry is index.js.
const pkgDir = dirname(require.resolve('eventjournal/package.json'));
// The OPFS peer's SQLite build (npm @sqlite.org/sqlite-wasm, pinned in package.json), served
// under /sqlite-wasm/ to the worker.
const sqliteDir = join(dirname(require.resolve('@sqlite.org/sqlite-wasm/package.json')), 'dist');
export const sqliteVersion = () => JSON.parse(readFileSync(join(sqliteDir, '..', 'package.json'), 'utf8')).version;

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

function serve() {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    let root = benchDir;
    let path = url.pathname;
    if (path.startsWith('/pkg/')) { root = pkgDir; path = path.slice(4); }
    if (path.startsWith('/sqlite-wasm/')) { root = sqliteDir; path = path.slice(12); }
    if (path === '/') path = '/bench.html';
    const file = normalize(join(root, path));
    if (!file.startsWith(root)) { res.writeHead(403).end(); return; }
    try {
      const body = await readFile(file);
      // Cross-origin isolated (COOP + COEP): performance.now() then has 5 µs resolution, not
      // 100 µs, which scenario 8's millisecond latencies need.
      res.writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'cache-control': 'no-store',
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-embedder-policy': 'require-corp',
      });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

export async function openBrowser() {
  const { chromium } = await import('playwright-core');
  const server = await serve();
  const userDataDir = await mkdtemp(join(tmpdir(), 'eventjournal-bench-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
  const version = context.browser()?.version() ?? null;
  const page = context.pages()[0] ?? await context.newPage();
  page.setDefaultTimeout(0);
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const url = `http://127.0.0.1:${server.address().port}/bench.html`;
  async function load() {
    await page.goto(url);
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: 30_000 }).catch((e) => {
      throw new Error(`bench page did not load: ${errors.join('; ') || e.message}`);
    });
  }
  await load();
  let chromiumVersion = version;
  if (!chromiumVersion) chromiumVersion = await page.evaluate(() => navigator.userAgent);
  return {
    chromiumVersion,
    userDataDir,
    reload: load,
    call: (name, params = {}) => page.evaluate(([n, p]) => window.bench[n](p), [name, params]),
    async close() {
      await context.close();
      server.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}
