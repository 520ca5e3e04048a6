// DESIGN.md §7's scenarios with the sync server on PostgreSQL (a throwaway cluster): the same
// as sync.test.mjs runs on SQLite (tests/js/sync/scenarios.mjs).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres } from './support/postgres.mjs';
import { seedFrom } from './support/prng.mjs';
import { backends } from './sync/harness.mjs';
import { convergence, doubleSpend, forkedServer, outboxSurvives } from './sync/scenarios.mjs';

const unhandled = [];
process.on('unhandledRejection', (e) => unhandled.push(e));
const cluster = await startPostgres({ fsync: false });
const dir = mkdtempSync(join(tmpdir(), 'ej-sync-pg-'));
after(async () => {
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
  assert.deepEqual(unhandled, [], 'no unhandled rejection');
});
const stores = backends({ dir, postgres: cluster });

test('[postgres] (a) 5 clients × 200 random commands on 20 accounts, disconnects, a reload and a server restart converge', { timeout: 180_000 }, async () => {
  const seed = seedFrom(process.env.SYNC_SEED);
  const r = await convergence({ store: stores.postgres(), dir, name: 'conv-pg', seed });
  console.log(`seed ${seed}: ${r.total} commands, ${r.accepted} accepted, ${r.refused} refused, ${r.ms} ms`);
});

test('[postgres] (b) a double spend decided offline on two clients: one accepted, one refused', { timeout: 60_000 }, async () => {
  await doubleSpend({ store: stores.postgres(), dir, name: 'ds-pg' });
});

test('[postgres] (c) the outbox survives closing the client while the server is down', { timeout: 60_000 }, async () => {
  await outboxSurvives({ store: stores.postgres(), dir, name: 'ob-pg' });
});

test('[postgres] (d) a server replaced by one with another history: IntegrityError, local data kept', { timeout: 60_000 }, async () => {
  await forkedServer({ store: stores.postgres(), other: stores.postgres(), dir, name: 'fork-pg' });
});
