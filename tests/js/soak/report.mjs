// Reporting helpers of the reliability tests (crash.browser.mjs, soak.test.mjs,
// soak.browser.mjs): figures as a readable table on stdout and as JSON in
// target/reliability/<name>.json (RELIABILITY_DIR overrides the directory).
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';

/**
 * Where the JSON goes: $RELIABILITY_DIR, else <repository>/target/reliability when run from
 * inside the repository (scripts/test-js.sh runs from target/js-consumer), else
 * ./target/reliability.
 */
export function reliabilityDir() {
  if (process.env.RELIABILITY_DIR) return resolve(process.env.RELIABILITY_DIR);
  let dir = process.cwd();
  for (;;) {
    if (existsSync(join(dir, 'Cargo.toml')) && existsSync(join(dir, 'pkg-template'))) return join(dir, 'target', 'reliability');
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return resolve('target', 'reliability');
}

/** Writes `data` as target/reliability/<name>.json; returns the path. */
export function writeReport(name, data) {
  const dir = reliabilityDir();
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify({ name, written: new Date().toISOString(), node: process.version, ...data }, null, 2)}\n`);
  return file;
}

export const MB = (n) => (n / 1048576).toFixed(1);

/** A plain text table: `columns` = [[title, (row) => text], ...]. */
export function table(rows, columns) {
  const cells = [columns.map(([t]) => t), ...rows.map((r) => columns.map(([, f]) => String(f(r))))];
  const widths = columns.map((_, i) => Math.max(...cells.map((c) => c[i].length)));
  return cells.map((c, n) => {
    const line = c.map((x, i) => (i === 0 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join('  ');
    return n === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
  }).join('\n');
}

/**
 * Does `key` level off over `samples` ([{ events, [key] }, ...])? After the warm-up (the first
 * `warm` fraction of the events), the growth per event added must stay within `budget` bytes,
 * and (when `superlinear` is set) the rate in the second half of what follows the warm-up
 * must not exceed `superlinear` times the rate in the first half plus `floor` bytes/event
 * (memory that grows with the square of the log, e.g. snapshots of a state that itself
 * grows, fails this long before it exhausts a budget).
 */
export function levelling(samples, key, { budget, warm = 0.25, superlinear = null, floor = 16 }) {
  const total = samples[samples.length - 1].events;
  const w = samples.find((s) => s.events >= total * warm) || samples[0];
  const end = samples[samples.length - 1];
  const midEvents = w.events + (end.events - w.events) / 2;
  const mid = samples.find((s) => s.events >= midEvents) || end;
  const rate = (a, b) => (b.events > a.events ? (b[key] - a[key]) / (b.events - a.events) : 0);
  const r = {
    key,
    from: { events: w.events, value: w[key] },
    mid: { events: mid.events, value: mid[key] },
    to: { events: end.events, value: end[key] },
    bytesPerEvent: Math.round(rate(w, end)),
    firstHalfBytesPerEvent: Math.round(rate(w, mid)),
    secondHalfBytesPerEvent: Math.round(rate(mid, end)),
    budget,
  };
  const problems = [];
  if (r.bytesPerEvent > budget) problems.push(`${key} grew ${r.bytesPerEvent} B/event after the warm-up (budget ${budget})`);
  if (superlinear !== null && r.secondHalfBytesPerEvent > superlinear * Math.max(0, r.firstHalfBytesPerEvent) + floor) {
    problems.push(`${key} grows faster and faster: ${r.firstHalfBytesPerEvent} B/event, then ${r.secondHalfBytesPerEvent} B/event (limit ${superlinear}x + ${floor})`);
  }
  r.ok = problems.length === 0;
  r.problems = problems;
  return r;
}

/** Runs `fn`, returns [result, milliseconds]. */
export async function timed(fn) {
  const t = performance.now();
  const r = await fn();
  return [r, Math.round(performance.now() - t)];
}
