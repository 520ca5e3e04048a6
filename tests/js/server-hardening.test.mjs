// Every server the project ships answers malformed, hostile and oversized requests with their
// 4xx and keeps serving: the sync server (with static files) and the demo's scripts/serve.mjs.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { BAD_REQUESTS } from './server/bad-requests.mjs';
import { call, raw, execute, openAccount } from './server/client.mjs';
import { startServer, tempDir, repoRoot, spawnServer } from './server/harness.mjs';

const unhandled = [];
process.on('unhandledRejection', (e) => unhandled.push(e));
after(() => assert.deepEqual(unhandled, [], 'no unhandled rejection'));

/** Sends the whole table to `port`, then checks the server still answers. */
async function survivesTable(base, port, stillServing) {
  assert.ok(BAD_REQUESTS.length >= 20);
  const wrong = [];
  for (const [name, bytes, status] of BAD_REQUESTS) {
    const answer = await raw(port, bytes);
    if (answer.status !== status) wrong.push(`${name}: expected ${status}, got ${answer.status} ${answer.text.slice(0, 200)}`);
    else {
      const body = JSON.parse(answer.text.slice(answer.text.indexOf('\r\n\r\n') + 4));
      if (typeof body.error?.code !== 'string') wrong.push(`${name}: no JSON error body`);
    }
  }
  assert.deepEqual(wrong, []);
  await stillServing();
  // And the same table again, all at once.
  const answers = await Promise.all(BAD_REQUESTS.map(([, bytes]) => raw(port, bytes)));
  assert.deepEqual(answers.map((a) => a.status), BAD_REQUESTS.map(([, , status]) => status));
  await stillServing();
}

test('the sync server answers every bad request of the table with its 4xx and keeps serving', async () => {
  const www = tempDir('ej-www-');
  writeFileSync(join(www.dir, 'index.html'), '<!doctype html><title>ok</title>');
  writeFileSync(join(www.dir, '.secret'), 'hidden');
  mkdirSync(join(www.dir, 'sub'));
  writeFileSync(join(www.dir, 'sub', 'app.js'), 'export {};');
  const outside = tempDir('ej-outside-');
  writeFileSync(join(outside.dir, 'private.txt'), 'private');
  symlinkSync(join(outside.dir, 'private.txt'), join(www.dir, 'link.txt'));
  const s = await startServer({ static: { '/': www.dir } });
  try {
    await survivesTable(s.base, s.server.port, async () => {
      assert.equal((await call(s.base, '/v1/info')).status, 200);
      const [r] = await execute(s.base, [openAccount(`o${Math.random()}`, `acc${Math.random()}`, 1)]);
      assert.equal(r.ok, true);
      const page = await call(s.base, '/');
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type'), /^text\/html/);
    });
    // Static files: a folder's index, a script's type, no dotfiles, no symlink out of the folder.
    const js = await call(s.base, '/sub/app.js');
    assert.deepEqual([js.status, js.headers.get('content-type'), js.body], [200, 'text/javascript; charset=utf-8', 'export {};']);
    assert.equal((await call(s.base, '/sub/app.js', { method: 'HEAD' })).status, 200);
    for (const path of ['/.secret', '/link.txt', '/missing.html', '/sub/nothing']) {
      const r = await call(s.base, path);
      assert.equal(r.status, 404, path);
      assert.equal(r.body.error.code, 'NOT_FOUND');
    }
    assert.equal(s.logs.length, 0, `nothing was worth logging: ${JSON.stringify(s.logs)}`);
  } finally {
    await s.stop();
    www.cleanup();
    outside.cleanup();
  }
});

test('scripts/serve.mjs (the demo server) survives the bad-request table and serves the page and the package', async () => {
  const root = repoRoot();
  const demo = await spawnServer(process.execPath, [join(root, 'scripts', 'serve.mjs'), '--port', '0', '--memory']);
  try {
    const port = Number(new URL(demo.url).port);
    await survivesTable(demo.url, port, async () => {
      const page = await call(demo.url, '/');
      assert.equal(page.status, 200);
      assert.match(page.body, /<html|<!doctype/i);
      assert.equal((await call(demo.url, '/pkg/index.js')).status, 200);
      assert.equal((await call(demo.url, '/v1/info')).body.protocol, 1);
    });
    assert.equal(demo.child.exitCode, null, 'still running');
  } finally {
    assert.equal(await demo.stop(), 0);
  }
});
