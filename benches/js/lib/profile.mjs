// run.mjs --profile: where eventjournal's time goes in scenario 1 or 2 (node --cpu-prof of one
// worker, self time by category: wasm, SHA-256, JSON, marshalling, GC, promises, ...).
import { readFileSync, readdirSync, mkdtempSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { createRequire } from 'node:module';
import os from 'node:os';
import { int } from './format.mjs';

const require = createRequire(import.meta.url);

// Function-index of the wasm function that holds SHA-256's round constants (the .wasm has no
// name section, so this is the one core function we can name without symbols).
function wasmSha256Index(wasmPath) {
  const b = readFileSync(wasmPath);
  let p = 8;
  const uleb = () => { let r = 0; let s = 0; for (;;) { const x = b[p++]; r += (x & 0x7f) * 2 ** s; s += 7; if (!(x & 0x80)) return r; } };
  const skipLimits = () => { const f = b[p++]; uleb(); if (f & 1) uleb(); };
  let imported = 0;
  const K0 = Buffer.from([0x41, 0x98, 0xdf, 0xa8, 0x94, 0x04]); // i32.const 0x428a2f98
  while (p < b.length) {
    const id = b[p++];
    const size = uleb();
    const end = p + size;
    if (id === 2) {
      for (let n = uleb(); n > 0; n--) {
        for (let k = 0; k < 2; k++) { const len = uleb(); p += len; } // module, field
        const kind = b[p++];
        if (kind === 0) { imported++; uleb(); } else if (kind === 1) { p++; skipLimits(); } else if (kind === 2) skipLimits(); else if (kind === 3) p += 2; else { p++; uleb(); }
      }
    } else if (id === 10) {
      const n = uleb();
      for (let i = 0; i < n; i++) {
        const len = uleb();
        if (b.subarray(p, p + len).indexOf(K0) >= 0) return imported + i;
        p += len;
      }
    }
    p = end;
  }
  return -1;
}

/**
 * `node --cpu-prof` of scenario `which` (1 or 2) for eventjournal, run by `runWorker`, and where
 * its time goes (wasm, JSON, GC, glue, promises...), printed.
 */
export async function profile({ sizes, which, log, runWorker }) {
  const dir = mkdtempSync(join(os.tmpdir(), 'ej-prof-'));
  const { accounts, deposits, burst } = sizes;
  log(`profiling scenario ${which} (eventjournal, ${int(accounts)} + ${int(deposits)} commands, ${which === 1 ? 'each awaited' : `bursts of ${burst}`}) with --cpu-prof into ${dir}`);
  await runWorker({ scenario: `s${which}`, contender: 'eventjournal', accounts, deposits, burst }, { extraFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=100'] });
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  printProfile(join(dir, file));
}

/** Prints where the time of the .cpuprofile `file` went: self time by category, top functions. */
export function printProfile(file) {
  const prof = JSON.parse(readFileSync(file));
  const pkgDir = dirname(require.resolve('eventjournal/package.json'));
  const glueLines = readFileSync(join(pkgDir, 'node', 'eventjournal.js'), 'utf8').split('\n');
  const sha = wasmSha256Index(join(pkgDir, 'node', 'eventjournal_bg.wasm'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < prof.samples.length; i++) self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i] ?? 0));
  // Anonymous glue functions are the bodies of wasm-bindgen imports: name them by the import.
  const glueName = (n) => {
    const { functionName: f, lineNumber } = n.callFrame;
    if (f) return f;
    for (let l = lineNumber; l >= 0 && l > lineNumber - 40; l--) {
      const m = /^\s+(__wbg_\w+?)_[0-9a-f]{16}\s*:/.exec(glueLines[l] ?? '');
      if (m) return m[1];
    }
    return '(anonymous)';
  };
  const classify = (n) => {
    const { functionName: f, url } = n.callFrame;
    if (url.startsWith('wasm://') || /wasm-function\[/.test(f)) {
      return /wasm-function\[(\d+)\]/.exec(f)?.[1] === String(sha) ? ['wasm: SHA-256 compression (hash chain)', f] : ['wasm: rest of the core (decide, JCS, serde, allocator, ...)', f];
    }
    if (f === '(garbage collector)') return ['GC', f];
    if (f === '(idle)') return ['idle', f];
    if (f === '(program)') return ['(program): V8 native, not attributed', f];
    if (url.includes('/node/eventjournal.js')) {
      const g = glueName(n);
      if (/__wbg_parse/.test(g)) return ['JSON.parse of results (glue; the builtin is billed to its caller)', g];
      if (/__wbg_stringify/.test(g)) return ['JSON.stringify of commands/options (glue)', g];
      if (/string_get|getStringFromWasm0|passStringToWasm0|getUint8ArrayMemory0|getDataViewMemory0|number_get/.test(g)) return ['string/number marshalling (glue)', g];
      if (/then|resolve|queueMicrotask|closure|invoke|Promise|__wbg_new_/.test(g)) return ['promise/closure plumbing (glue)', g];
      return ['other glue', g];
    }
    if (/^(decode|encode|encodeInto)$/.test(f)) return ['string/number marshalling (glue)', `TextDecoder/Encoder ${f}`];
    if (/Microtask|processTicksAndRejections|runMicrotasks|^then$|^resolve$|PromiseResolve|asyncFunction|AsyncFunction/i.test(f)) return ['promise machinery (V8/Node)', f];
    if (url.includes('/benches/js/')) return ['harness (command generation, awaits)', f];
    if (/node_modules\/pg[-/]/.test(url)) return ['pg (node-postgres)', f];
    if (/\/lib\/server\//.test(url) || /\/lib\/server\.c?js$/.test(url)) return ['sync server (lib/server: HTTP handling, JSON bodies, live channel)', f];
    if (/\/lib\/postgres[^/]*\.c?js$/.test(url)) return ['postgresStorage (lib/postgres*)', f];
    if (/\/lib\/[^/]+\.c?js$/.test(url)) return ['other package JS (lib/)', f];
    if (f === 'writev' || f === 'writeUtf8String' || f === 'writeBuffer') return ['socket writes (syscalls)', f];
    if (/^node:(_http|http)/.test(url)) return ['Node HTTP', f];
    if (url.startsWith('node:')) return ['Node internals', f];
    return [`other (${f || 'anonymous'})`, f];
  };
  const cats = new Map();
  const fns = new Map();
  let all = 0;
  for (const [id, us] of self) {
    const [c, f] = classify(byId.get(id));
    cats.set(c, (cats.get(c) ?? 0) + us);
    fns.set(`${c} :: ${f}`, (fns.get(`${c} :: ${f}`) ?? 0) + us);
    all += us;
  }
  console.log(`\nSelf time by category (${(all / 1e6).toFixed(2)} s sampled; SHA-256 = wasm-function[${sha}]):`);
  for (const [c, us] of [...cats].sort((a, b) => b[1] - a[1])) if (us / all > 0.002) console.log(`  ${(100 * us / all).toFixed(1).padStart(5)} %  ${c}`);
  console.log('\nTop functions (self time):');
  for (const [k, us] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`  ${(100 * us / all).toFixed(1).padStart(5)} %  ${k}`);
  console.log(`\nprofile: ${file} (open in Chrome DevTools > Performance)`);
}
