// The one static file server of the JS tests (Node): serves folders under URL prefixes and
// in-memory pages, on 127.0.0.1 only. Malformed or hostile requests (a bad percent-encoding, a
// NUL, a path out of its folder, headers too large, a method other than GET and HEAD, a
// request line that is not HTTP) get a 4xx and the server keeps serving.
//
//   const site = await serveStatic({ mounts: { '/app/': dir }, pages: { '/': html } });
//   await page.goto(site.url('/'));  ...  await site.close();
//
// serveTests() serves the installed package at /node_modules/eventjournal/ and the test folder
// (tests/js, or its copy in the consumer project) at /tests/, so pages import the package and
// the shared test modules (e.g. /tests/support/prng.mjs) by plain URLs.
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { readFile, stat } from 'node:fs/promises';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder of the JS tests (the parent of support/). */
export const TESTS_DIR = dirname(dirname(fileURLToPath(import.meta.url)));

export const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.wasm': 'application/wasm', '.svg': 'image/svg+xml',
  '.png': 'image/png', '.map': 'application/json', '.ts': 'text/plain; charset=utf-8', '.ico': 'image/x-icon',
};

/** The folder of the installed package (resolved from the test folder). */
export function packageDir() {
  return dirname(createRequire(join(TESTS_DIR, 'x.js')).resolve('eventjournal/package.json'));
}

/**
 * Serves `mounts` ({ '/prefix/': folder }; a folder's index.html for a directory) and `pages`
 * ({ '/path': html string, or { type, body } }).
 * @returns {Promise<{ server: import('node:http').Server, origin: string, url: (path: string) => string, close: () => Promise<void> }>}
 */
export async function serveStatic({ mounts = {}, pages = {}, host = '127.0.0.1', port = 0 } = {}) {
  // longest prefix first, so '/tests/support/' could override '/tests/'
  const roots = Object.entries(mounts)
    .map(([prefix, dir]) => [prefix, resolve(dir)])
    .sort((a, b) => b[0].length - a[0].length);

  async function handle(req, res) {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed', { allow: 'GET, HEAD' });
    let path;
    try {
      path = decodeURIComponent(new URL(req.url, 'http://localhost').pathname);
    } catch {
      return send(res, 400, 'bad request: malformed URL');
    }
    if (path.includes('\0')) return send(res, 400, 'bad request: NUL in the path');
    const page = pages[path];
    if (page !== undefined) {
      const { type = 'text/html; charset=utf-8', body } = typeof page === 'string' ? { body: page } : page;
      return send(res, 200, body, { 'content-type': type });
    }
    const mount = roots.find(([prefix]) => path.startsWith(prefix));
    if (!mount) return send(res, 404, 'not found');
    const [prefix, root] = mount;
    let file = resolve(root, `.${sep}${path.slice(prefix.length)}`);
    if (file !== root && !file.startsWith(root + sep)) return send(res, 403, 'forbidden');
    try {
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      const body = await readFile(file);
      return send(res, 200, body, { 'content-type': MIME[extname(file)] || 'application/octet-stream' });
    } catch {
      return send(res, 404, 'not found');
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => send(res, 500, 'internal error'));
  });
  // A request Node cannot parse (bad request line, headers too large): answer and hang up.
  server.on('clientError', (err, socket) => {
    if (!socket.writable || socket.destroyed) { socket.destroy(); return; }
    const status = err && err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  });
  // keep-alive sockets of a crashed renderer must not keep close() waiting
  server.keepAliveTimeout = 1000;
  await new Promise((done, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => { server.off('error', fail); done(); });
  });
  const origin = `http://${host}:${server.address().port}`;
  return {
    server,
    origin,
    url: (path) => new URL(path, origin).href,
    close: () => new Promise((done) => {
      server.close(() => done());
      server.closeAllConnections?.();
    }),
  };
}

function send(res, status, body, headers = {}) {
  if (res.headersSent) { res.destroy(); return; }
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/**
 * The package at /node_modules/eventjournal/ and the test folder at /tests/, plus `mounts`
 * and `pages`.
 */
export function serveTests({ mounts = {}, pages = {} } = {}) {
  return serveStatic({ mounts: { '/node_modules/eventjournal/': packageDir(), '/tests/': TESTS_DIR, ...mounts }, pages });
}
