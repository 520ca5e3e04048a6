// Shared helpers of the PostgreSQL tests (postgres*.test.mjs and their child processes).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

export const here = dirname(fileURLToPath(import.meta.url));

/** pg (node-postgres), for looking at the database from the outside. */
export function pg() {
  return require('pg');
}

/** A module of the installed package's lib/ folder (CommonJS twin), e.g. 'postgres-schema'. */
export function packageLib(name) {
  return require(join(dirname(require.resolve('eventjournal')), 'lib', `${name}.cjs`));
}

/** A pool on the cluster that reports (never throws) the errors of idle connections. */
export function pool(connectionString, options = {}) {
  const p = new (pg().Pool)({ connectionString, ...options });
  p.on('error', () => {});
  return p;
}

/** A record with the 10 event fields (not a valid chain: the adapter does not check hashes). */
export function record(position, streamId = 's1', version = position) {
  return {
    id: `id-${position}`,
    streamId,
    streamType: 'Thing',
    type: 'happened',
    data: { n: position, text: 'héllo ✓ "quoted"', nested: { list: [1, 'two', null, true], empty: {} } },
    metadata: { commandId: `c-${position}`, userId: 'u1' },
    timestamp: 1_700_000_000_000 + position,
    version,
    position,
    hash: position.toString(16).padStart(64, '0'),
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 5 ms until it is true; throws after `ms`. */
export async function until(cond, what, ms = 5000) {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** `promise`, or an Error after `ms` (then `onTimeout()` runs first, e.g. to kill a child). */
export function within(promise, ms, what, onTimeout = () => {}) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => { onTimeout(); reject(new Error(`timed out after ${ms} ms: ${what}`)); }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A small seeded PRNG (mulberry32): same seed, same sequence. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Spawns `node script ...args` (script relative to this folder) with stdin piped. Resolves
 * `done` to `{ code, signal, lines }` once it exited and its stdout is drained; `onLine(line)`
 * sees each complete stdout line (a partial last line, cut by a kill, is not a line).
 */
export function runChild(script, args, { onLine } = {}) {
  const child = spawn(process.execPath, [join(here, script), ...args], { stdio: ['pipe', 'pipe', 'inherit'], env: process.env });
  const lines = [];
  let buffer = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    buffer += chunk;
    let i;
    while ((i = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      lines.push(line);
      if (onLine) onLine(line);
    }
  });
  const done = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, lines }));
  });
  return { child, done };
}

/** Positions 1..n without a gap, and each commandId of the log with its count. */
export function checkLog(events) {
  const counts = new Map();
  events.forEach((e, i) => {
    if (e.position !== i + 1) throw new Error(`gap: event ${i} has position ${e.position}`);
    const id = e.metadata && e.metadata.commandId;
    if (id !== undefined) counts.set(id, (counts.get(id) || 0) + 1);
  });
  return counts;
}
