// The static file server of the JS tests (Node), on 127.0.0.1 only: the package's own hardened
// request handling (lib/server/http.js) and static files (lib/server/static.js), the ones the
// sync server and the demo ship, so there is one implementation. Adds in-memory pages.
// Malformed or hostile requests (a bad percent-encoding, a NUL, a `.`/`..` segment, an encoded
// `/` or `\`, headers too large, a method other than GET and HEAD, a request line that is not
// HTTP) get a 4xx with a JSON error and the server keeps serving.
//
//   const site = await serveStatic({ mounts: { '/app/': dir }, pages: { '/': html } });
//   await page.goto(site.url('/'));  ...  await site.close();
//
// serveTests() serves the installed package at /node_modules/eventjournal/ and the test folder
// (tests/js, or its copy in the consumer project) at /tests/, so pages import the package and
// the shared test modules (e.g. /tests/support/prng.mjs) by plain URLs.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder of the JS tests (the parent of support/). */
export const TESTS_DIR = dirname(dirname(fileURLToPath(import.meta.url)));

const require = createRequire(join(TESTS_DIR, 'x.js'));

/** The folder of the installed package (resolved from the test folder). */
export function packageDir() {
  return dirname(require.resolve('eventjournal/package.json'));
}

/** A module of the installed package's lib/server/ (its CommonJS twin), e.g. 'static'. */
function serverModule(name) {
  return require(join(packageDir(), 'lib', 'server', `${name}.cjs`));
}

/**
 * Serves `mounts` ({ '/prefix/': folder }; a folder's index.html for a directory) and `pages`
 * ({ '/path': html string, or { type, body } }), GET and HEAD only.
 * @returns {Promise<{ server: import('node:http').Server, origin: string, url: (path: string) => string, close: () => Promise<void> }>}
 */
export async function serveStatic({ mounts = {}, pages = {}, host = '127.0.0.1', port = 0 } = {}) {
  const { createHardenedServer, HttpError } = serverModule('http');
  const { staticFiles } = serverModule('static');
  const files = Object.keys(mounts).length > 0 ? staticFiles(mounts) : null;

  const server = createHardenedServer(async (req, res, target) => {
    const page = pages[`/${target.segments.join('/')}`];
    if (page !== undefined) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        throw new HttpError(405, 'VALIDATION', `${req.method} is not allowed on pages`, { allow: 'GET, HEAD' });
      }
      const { type = 'text/html; charset=utf-8', body } = typeof page === 'string' ? { body: page } : page;
      res.writeHead(200, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    if (files && (await files(req, res, target))) return;
    throw new HttpError(404, 'NOT_FOUND', 'not found');
  }, (message, error) => console.error(message, error));
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
      server.closeAllConnections();
    }),
  };
}

/**
 * The package at /node_modules/eventjournal/ and the test folder at /tests/, plus `mounts`
 * and `pages`.
 */
export function serveTests({ mounts = {}, pages = {} } = {}) {
  return serveStatic({ mounts: { '/node_modules/eventjournal/': packageDir(), '/tests/': TESTS_DIR, ...mounts }, pages });
}
