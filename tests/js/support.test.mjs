// The shared test support (tests/js/support/) does what the suites rely on: the PRNG repeats
// itself from a seed, and the static server (the package's own hardened handler and static
// files) answers malformed and hostile requests with a 4xx and keeps serving.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prng, seedFrom } from './support/prng.mjs';
import { serveStatic } from './support/server.mjs';

test('prng: same seed, same sequence in [0, 1); another seed, another sequence', () => {
  const a = prng(42);
  const b = prng(42);
  const xs = Array.from({ length: 1000 }, () => a());
  assert.deepEqual(Array.from({ length: 1000 }, () => b()), xs);
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  assert.ok(new Set(xs).size > 990, 'values repeat too often');
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
  assert.notDeepEqual(Array.from({ length: 10 }, prng(43)), xs.slice(0, 10));
  assert.equal(seedFrom('1234'), 1234);
  assert.ok(Number.isInteger(seedFrom(undefined)));
});

let site;
let root;
before(async () => {
  root = mkdtempSync(join(tmpdir(), 'ej-support-'));
  mkdirSync(join(root, 'public', 'sub'), { recursive: true });
  writeFileSync(join(root, 'public', 'a.js'), 'export const a = 1;\n');
  writeFileSync(join(root, 'public', 'sub', 'index.html'), '<p>sub</p>');
  writeFileSync(join(root, 'secret.txt'), 'do not serve');
  writeFileSync(join(root, 'public', '.hidden'), 'do not serve');
  symlinkSync(join(root, 'secret.txt'), join(root, 'public', 'link.txt'));
  site = await serveStatic({ mounts: { '/static/': join(root, 'public') }, pages: { '/': '<p>home</p>' } });
});
after(async () => {
  await site.close();
  rmSync(root, { recursive: true, force: true });
});

/** Sends raw bytes; resolves with the status code of the first response line (0: none). */
function raw(bytes) {
  return new Promise((resolve, reject) => {
    const { port } = site.server.address();
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => { data += chunk; });
    socket.on('error', (e) => (data ? resolve(status(data)) : reject(e)));
    socket.on('close', () => resolve(status(data)));
    socket.setTimeout(5000, () => socket.destroy());
    socket.write(bytes);
  });
}
const status = (text) => Number((/^HTTP\/1\.1 (\d{3})/.exec(text) || [])[1] || 0);
const get = (path, headers = '') => raw(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers}\r\n`);

async function stillServing() {
  assert.equal(await get('/static/a.js'), 200);
  const res = await fetch(site.url('/static/a.js'));
  assert.equal(res.headers.get('content-type'), 'text/javascript; charset=utf-8');
  assert.equal(await res.text(), 'export const a = 1;\n');
}

test('static server: files, pages, directories, 404', async () => {
  await stillServing();
  assert.equal(await (await fetch(site.url('/'))).text(), '<p>home</p>');
  assert.equal(await (await fetch(site.url('/static/sub/'))).text(), '<p>sub</p>');
  assert.equal((await fetch(site.url('/static/missing.js'))).status, 404);
  assert.equal((await fetch(site.url('/elsewhere'))).status, 404);
  const head = await fetch(site.url('/static/a.js'), { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), '');
});

test('static server: malformed and hostile requests get a 4xx, and it keeps serving', async () => {
  const cases = [
    ['a bad percent-encoding', () => get('/%E0%A4%A'), 400],
    ['a lone %', () => get('/static/%'), 400],
    ['a NUL in the path', () => get('/static/a.js%00.html'), 400],
    ['.. out of the folder', () => get('/static/../secret.txt'), 400],
    ['encoded .. out of the folder', () => get('/static/%2e%2e/secret.txt'), 400],
    ['encoded slashes and ..', () => get('/static/..%2f..%2fsecret.txt'), 400],
    ['encoded backslashes and ..', () => get('/static/..%5c..%5csecret.txt'), 400],
    ['a dotfile', () => get('/static/.hidden'), 404],
    ['a symlink out of the folder', () => get('/static/link.txt'), 404],
    ['headers too large', () => get('/static/a.js', `X-Big: ${'a'.repeat(70_000)}\r\n`), 431],
    ['a request line that is not HTTP', () => raw('HELLO\r\n\r\n'), 400],
    ['a method other than GET and HEAD', () => raw('DELETE /static/a.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), 405],
    ['a POST with a body', () => raw('POST /static/a.js HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc'), 405],
  ];
  for (const [what, send, expected] of cases) {
    assert.equal(await send(), expected, what);
    await stillServing();
  }
});
