#!/usr/bin/env node
// Assembles pkg/ (the npm package) from the wasm-pack builds in pkg/web and pkg/node and
// the JavaScript side in pkg-template/. Run by `make pkg` after the two wasm-pack builds.
//
// pkg-template/lib/*.js are ES modules written in a plain style (named imports only, e.g.
// `import { a } from './x.js'` or `from 'node:fs'`, at the top, one `export { ... }` list at
// the bottom); their CommonJS twins (.cjs) for Node's require() are generated here, so both
// module systems run the same code. Entries: index.js (browsers, bundlers), index.cjs and
// index.node.mjs (Node), lib/testing.js (eventjournal/testing in browsers) and
// testing.node.mjs (in Node, over lib/testing.cjs: one set of error classes per runtime),
// server.node.mjs (eventjournal/server, Node only, over lib/server.cjs and lib/server/), and
// bin/eventjournal-server.mjs (the CLI).
import { readFileSync, writeFileSync, mkdirSync, readdirSync, rmSync, copyFileSync, existsSync, chmodSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const tpl = join(root, 'pkg-template');
const out = join(root, 'pkg');
const version = readFileSync(join(root, 'Cargo.toml'), 'utf8').match(/^version\s*=\s*"([^"]+)"/m)[1];

for (const target of ['web', 'node']) {
  const dir = join(out, target);
  if (!existsSync(join(dir, 'eventjournal_bg.wasm'))) throw new Error(`missing ${dir}: run wasm-pack first`);
  for (const f of ['package.json', '.gitignore', 'README.md', 'eventjournal.d.ts', 'eventjournal_bg.wasm.d.ts']) {
    rmSync(join(dir, f), { force: true });
  }
}
// wasm-pack's nodejs glue is CommonJS inside a "type": "module" package: mark its folder.
writeFileSync(join(out, 'node', 'package.json'), '{ "type": "commonjs" }\n');

function toCommonJs(source, file) {
  let body = source.replace(/^import \{([^}]+)\} from '([^']+)';$/gm, (_, names, spec) => {
    const target = spec.startsWith('.') ? spec.replace(/\.js$/, '.cjs') : spec;
    return `const {${names.replace(/ as /g, ': ')}} = require('${target}');`;
  });
  const exportList = body.match(/^export \{([\s\S]+?)\};\s*$/m);
  if (!exportList) throw new Error(`${file}: needs one export { ... } list at the bottom`);
  body = body.replace(exportList[0], `module.exports = {${exportList[1]}};\n`);
  if (/^\s*(import|export)\s/m.test(body)) throw new Error(`${file}: only named imports and one export list are supported`);
  return `'use strict';\n${body}`;
}

const fill = (text) => text.replaceAll('__VERSION__', version);
// lib/*.js and lib/<folder>/*.js (e.g. lib/server/), each with its CommonJS twin.
function buildLib(rel) {
  mkdirSync(join(out, rel), { recursive: true });
  for (const entry of readdirSync(join(tpl, rel), { withFileTypes: true })) {
    const file = join(rel, entry.name);
    if (entry.isDirectory()) { buildLib(file); continue; }
    if (!entry.name.endsWith('.js')) continue;
    const source = fill(readFileSync(join(tpl, file), 'utf8'));
    writeFileSync(join(out, file), source);
    writeFileSync(join(out, file.replace(/\.js$/, '.cjs')), toCommonJs(source, file));
  }
}
buildLib('lib');
writeFileSync(join(out, 'index.js'), fill(readFileSync(join(tpl, 'entry-web.js'), 'utf8')));
writeFileSync(join(out, 'index.cjs'), fill(readFileSync(join(tpl, 'entry-node.cjs'), 'utf8')));
writeFileSync(join(out, 'index.node.mjs'), fill(readFileSync(join(tpl, 'entry-node.mjs'), 'utf8')));
writeFileSync(join(out, 'testing.node.mjs'), fill(readFileSync(join(tpl, 'entry-testing-node.mjs'), 'utf8')));
writeFileSync(join(out, 'server.node.mjs'), fill(readFileSync(join(tpl, 'entry-server-node.mjs'), 'utf8')));
copyFileSync(join(tpl, 'index.d.ts'), join(out, 'index.d.ts'));
copyFileSync(join(tpl, 'testing.d.ts'), join(out, 'testing.d.ts'));
copyFileSync(join(tpl, 'server.d.ts'), join(out, 'server.d.ts'));
mkdirSync(join(out, 'bin'), { recursive: true });
for (const file of readdirSync(join(tpl, 'bin'))) {
  copyFileSync(join(tpl, 'bin', file), join(out, 'bin', file));
  chmodSync(join(out, 'bin', file), 0o755);
}
copyFileSync(join(tpl, 'README.md'), join(out, 'README.md'));
writeFileSync(join(out, 'package.json'), fill(readFileSync(join(tpl, 'package.json'), 'utf8')));
console.log(`pkg/: eventjournal ${version} assembled`);
