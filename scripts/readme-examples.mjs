#!/usr/bin/env node
// Extracts the ```js blocks of a README into runnable .mjs files, so the README's examples
// run as tests. A block preceded by <!-- no-test --> is skipped.
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [readme, outDir] = process.argv.slice(2);
const text = readFileSync(readme, 'utf8');
mkdirSync(outDir, { recursive: true });
const re = /(<!-- no-test -->\s*)?```(?:js|javascript)\n([\s\S]*?)```/g;
let n = 0;
for (const m of text.matchAll(re)) {
  if (m[1]) continue;
  n += 1;
  writeFileSync(join(outDir, `example-${String(n).padStart(2, '0')}.mjs`), m[2]);
}
console.log(`${n} example(s) from ${readme}`);
