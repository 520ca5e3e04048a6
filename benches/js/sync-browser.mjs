#!/usr/bin/env node
// Issue 12's browser variant of "optimistic execute on a synced engine vs an unsynced one on
// the same storage" (target ≤ 1.3×): Chromium, IndexedDB, the sync server of the package on
// loopback (in-memory engine) serving the page and pkg/. `make bench` runs it as scenario 13d
// (lib/sync-scenarios.mjs, with --json); by hand:
//   node benches/js/sync-browser.mjs [--commands 300] [--rounds 5] [--json]
// Prints the mean ms per awaited execute of each, per round, and the median ratio (--json: one
// line `{ ok, rounds: [{ synced, unsynced, ratio }] }` last).
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Engine } from '../../pkg/index.node.mjs';
import { createSyncServer } from '../../pkg/server.node.mjs';
import { launchPersistent } from '../../tests/js/support/browser.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { commands: { type: 'string' }, rounds: { type: 'string' }, json: { type: 'boolean' } } });
const commands = Number(values.commands ?? 300);
const rounds = Number(values.rounds ?? 5);

const engine = await Engine.open({});
const server = await createSyncServer(engine, {
  port: 0,
  static: { '/': join(here, 'browser', 'sync'), '/pkg/': join(here, '..', '..', 'pkg') },
});
const profile = mkdtempSync(join(tmpdir(), 'eventjournal-sync-bench-'));
const context = await launchPersistent(profile);
try {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('crash', () => console.error('the page crashed'));
  if (process.env.DEBUG) page.on('console', (m) => console.log('page:', m.text()));
  page.on('console', (m) => { if (m.type() === 'error' && !/favicon|404/.test(m.text())) errors.push(m.text()); });
  await page.goto(`${server.url}/execute.html`);
  await page.waitForFunction(() => window.benchReady === true);
  const { rounds: got } = await page.evaluate((o) => window.bench(o), { commands, rounds });
  if (errors.length) throw new Error(`the page failed: ${errors.join('; ')}`);
  for (const r of got) console.log(`synced ${r.synced.toFixed(3)} ms · unsynced ${r.unsynced.toFixed(3)} ms · ${r.ratio.toFixed(2)}×`);
  const ratios = got.map((r) => r.ratio).sort((a, b) => a - b);
  const median = ratios[Math.floor(ratios.length / 2)];
  console.log(`optimistic execute, synced vs unsynced, IndexedDB in Chromium: ${median.toFixed(2)}× (median of ${got.length} rounds of ${commands} awaited commands; target ≤ 1.3×)`);
  if (values.json) console.log(JSON.stringify({ ok: true, rounds: got }));
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
  await server.close();
  await engine.close();
}
