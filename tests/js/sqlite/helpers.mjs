// Shared helpers of the SQLite tests (sqlite.test.mjs and its child processes).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as eventjournal from 'eventjournal';

const require = createRequire(import.meta.url);

export const here = dirname(fileURLToPath(import.meta.url));

/**
 * The module that owns setSqliteDriver: the package's export if it has one, else the CommonJS
 * twin the Node entry itself requires (same file, so the same module instance).
 */
export function sqliteModule() {
  if (typeof eventjournal.setSqliteDriver === 'function') {
    return { setSqliteDriver: eventjournal.setSqliteDriver, sqliteStorage: eventjournal.sqliteStorage };
  }
  const entry = require.resolve('eventjournal');
  return require(join(dirname(entry), 'lib', 'sqlite.cjs'));
}

/** better-sqlite3, for looking at a database from the outside. */
export function betterSqlite3() {
  return require('better-sqlite3');
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = 'ej-sqlite-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, file: (name = 'journal.db') => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
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

export { prng } from '../support/prng.mjs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Spawns `node script ...args` (script relative to this folder). Resolves `{ code, signal,
 * lines }` when it has exited and its stdout is drained; `onLine(line)` sees each stdout line.
 */
export function runChild(script, args, { onLine } = {}) {
  const child = spawn(process.execPath, [join(here, script), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: process.env,
  });
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
    child.on('close', (code, signal) => {
      if (buffer.length > 0) {
        // a partial last line (the child was killed in the middle of a write): not an ack
        lines.push(buffer);
      }
      resolve({ code, signal, lines });
    });
  });
  return { child, done };
}

/** Positions 1..n without a gap, and the commandIds of the log with their counts. */
export function checkLog(events) {
  const counts = new Map();
  events.forEach((e, i) => {
    if (e.position !== i + 1) throw new Error(`gap: event ${i} has position ${e.position}`);
    const id = e.metadata && e.metadata.commandId;
    if (id !== undefined) counts.set(id, (counts.get(id) || 0) + 1);
  });
  return counts;
}
