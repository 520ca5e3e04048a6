// Shared helpers of the PostgreSQL tests (postgres*.test.mjs and their child processes).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runChild as runNode } from '../support/children.mjs';
import { startPostgres } from '../support/postgres.mjs';

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

export { record, checkLog } from '../support/log.mjs';
export { prng } from '../support/prng.mjs';

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

/** `node script ...args`, the script relative to this folder (support/children.mjs). */
export function runChild(script, args, options) {
  return runNode(join(here, script), args, options);
}

/**
 * The throwaway cluster of one test file and an admin pool on it: started in `before`, stopped
 * in `after` (pass node:test's hooks). `db.cluster` and `db.admin` exist once `before` ran.
 * @param {{ before: Function, after: Function }} hooks
 * @param {Parameters<typeof startPostgres>[0]} [options] default: fsync off (tests of durability turn it on)
 */
export function clusterForFile({ before, after }, options = { fsync: false }) {
  const db = { cluster: null, admin: null };
  before(async () => {
    db.cluster = await startPostgres(options);
    db.admin = pool(db.cluster.connectionString);
  });
  after(async () => {
    await db.admin.end();
    await db.cluster.stop();
  });
  return db;
}
