// Shared helpers of the SQLite tests (sqlite.test.mjs and its child processes).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as eventjournal from 'eventjournal';
import { runChild as runNode } from '../support/children.mjs';

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

export { record, checkLog } from '../support/log.mjs';
export { prng } from '../support/prng.mjs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** `node script ...args`, the script relative to this folder (support/children.mjs). */
export function runChild(script, args, options) {
  return runNode(join(here, script), args, options);
}
