// The npm README's PostgreSQL example, run as written against a throwaway cluster: the generic
// README runner (scripts/readme-examples.mjs) skips it (<!-- no-test -->) because it needs a
// database; here it gets one through DATABASE_URL, as a user's environment would give it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clusterForFile, pool, within } from './postgres/helpers.mjs';
import { runChild } from './support/children.mjs';

const require = createRequire(import.meta.url);
const db = clusterForFile({ before, after });
const MARKER = '<!-- example: postgres';

/** The ```js block that follows the marker in the installed package's README. */
function example() {
  const readme = readFileSync(join(dirname(require.resolve('eventjournal/package.json')), 'README.md'), 'utf8');
  const at = readme.indexOf(MARKER);
  assert.ok(at >= 0, `the README has a block marked ${MARKER}`);
  const m = /```js\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(m, 'a ```js block follows the marker');
  return m[1];
}

test('README: the PostgreSQL example runs as written and leaves its log in the database', async () => {
  await db.admin.query('CREATE DATABASE readme');
  const env = { DATABASE_URL: db.cluster.connectionString.replace(/\/postgres$/, '/readme') };
  // Next to this test, so that `import 'eventjournal'` resolves to the installed package.
  const file = fileURLToPath(new URL('./postgres/readme-example.generated.mjs', import.meta.url));
  writeFileSync(file, example());
  try {
    const first = runChild(file, [], { env });
    const { code } = await within(first.done, 30_000, 'the README example', () => first.child.kill('SIGKILL'));
    assert.equal(code, 0, 'the example ran and its assertions held');
    const readme = pool(env.DATABASE_URL);
    const { rows } = await readme.query('SELECT type FROM bank.events ORDER BY position');
    await readme.end();
    assert.deepEqual(rows.map((r) => r.type), ['account_created', 'money_deposited', 'money_withdrawn']);
  } finally {
    rmSync(file, { force: true });
  }
});
