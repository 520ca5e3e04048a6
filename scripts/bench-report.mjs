#!/usr/bin/env node
// Reads criterion's samples (target/criterion/**/new/sample.json) and writes the native
// section of BENCHMARKS.md: median and min–max of the per-iteration time over the samples.
import { readFileSync, writeFileSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { execSync } from 'node:child_process';

const dir = 'target/criterion';
const found = [];
(function walk(d) {
  for (const name of readdirSync(d)) {
    const p = join(d, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name === 'benchmark.json' && d.endsWith('/new')) found.push(d);
  }
})(dir);

const fmt = (ns) => ns >= 1e9 ? `${(ns / 1e9).toFixed(2)} s` : ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms`
  : ns >= 1e3 ? `${(ns / 1e3).toFixed(2)} µs` : `${ns.toFixed(0)} ns`;
const rate = (n) => n >= 1e6 ? `${(n / 1e6).toFixed(2)} M/s` : `${(n / 1e3).toFixed(1)} k/s`;
const medians = new Map(); // "group/function" → median ns per iteration
const rows = found.sort().map((d) => {
  const meta = JSON.parse(readFileSync(join(d, 'benchmark.json')));
  const s = JSON.parse(readFileSync(join(d, 'sample.json')));
  const per = s.iters.map((n, i) => s.times[i] / n).sort((a, b) => a - b);
  const median = per[Math.floor(per.length / 2)];
  medians.set(`${meta.group_id}/${meta.function_id}`, median);
  const elems = meta.throughput?.Elements;
  return `| ${meta.group_id} | ${meta.function_id} | ${fmt(median)} | ${fmt(per[0])} – ${fmt(per[per.length - 1])} | ${per.length} | ${elems ? rate(elems / (median / 1e9)) : ''} |`;
});

// The targets of upcasters and personal data (benches/evolve_erase.rs): ratios of medians.
const RATIOS = [
  ['commands with one encrypted field vs none', 'erase/10k commands, one personal field, encrypted', 'erase/10k commands, one personal field, plain', 1.2],
  ['create_account making a new key each vs no key store', 'erase/1k create_account, a new key each', 'erase/1k create_account, no key store', null],
  ['replay, an upcaster step keeping the data on every event vs none', 'upcast/replay 200k events, a step keeping the data on every event', 'upcast/replay 200k events, no upcaster', 1.3],
  ['replay, an upcaster step adding a field on every event vs none', 'upcast/replay 200k events, a step adding a field on every event', 'upcast/replay 200k events, no upcaster', null],
];
const ratioRows = RATIOS.filter(([, a, b]) => medians.has(a) && medians.has(b)).map(([what, a, b, target]) => {
  const r = medians.get(a) / medians.get(b);
  const verdict = target === null ? 'info' : r <= target ? '✅ met' : '❌ missed';
  return `| ${what} | ${r.toFixed(2)}× | ${target === null ? '' : `≤ ${target}×`} | ${verdict} |`;
});

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const rustc = execSync('rustc --version').toString().trim();
const section = `<!-- native:start -->
## Native core (criterion)

Command: \`make bench\` (runs \`cargo bench --bench core\`, then \`node scripts/bench-report.mjs\`).
Machine: ${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}; ${rustc}.
Measured: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC. Time per iteration over criterion's samples.

| group | benchmark | median | min – max | samples | throughput (median) |
|---|---|---|---|---|---|
${rows.join('\n')}
${ratioRows.length ? `
Upcasters and personal data (\`benches/evolve_erase.rs\`), ratios of the medians above:

| what | ratio | target |  |
|---|---|---|---|
${ratioRows.join('\n')}
` : ''}<!-- native:end -->`;

const file = 'BENCHMARKS.md';
let doc = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n\n<!-- native:start -->\n<!-- native:end -->\n';
doc = doc.replace(/<!-- native:start -->[\s\S]*<!-- native:end -->/, section);
writeFileSync(file, doc);
console.log(section);
