// The typings of postgresStorage (index.d.ts), checked the way a TypeScript user meets them:
// `tsc --noEmit --strict` on postgres/types.ts against the installed package, where every
// misuse is marked @ts-expect-error (an unused one fails too). (Folding postgres/types.ts into
// tests/js/types.ts would make this file unnecessary.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

test('postgresStorage typings: typed use compiles, misuse does not', async () => {
  const tsc = require.resolve('typescript/bin/tsc');
  const file = fileURLToPath(new URL('./postgres/types.ts', import.meta.url));
  const args = [tsc, '--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext',
    '--skipLibCheck', 'true', file]; // index.d.ts itself is checked by the tests/js/types.ts step
  const { code, output } = await new Promise((resolve) => {
    execFile(process.execPath, args, (error, stdout, stderr) => resolve({ code: error ? error.code : 0, output: stdout + stderr }));
  });
  assert.equal(code, 0, output);
});
