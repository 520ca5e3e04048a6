// Child process of postgres-processes.test.mjs: node writer.mjs CONNECTION_STRING SCHEMA NAME COUNT [START_AT]
// START_AT (ms since the epoch): wait until then after opening, so the processes really race.
// Deposits COUNT times into the shared account 'shared' from 4 concurrent loops (group commit),
// each deposit with a unique commandId; a command that fails (ConcurrencyError after the
// engine's bounded retries, or a StorageError) is retried with the same commandId.
// Prints one JSON line at the end: { name, acks: [[commandId, amount, position]...], retries,
// errors, conflicts } (conflicts: appends the storage refused because another process was first).
import { writeSync } from 'node:fs';
import { Engine, postgresStorage } from 'eventjournal';
import { prng } from './helpers.mjs';

const [connectionString, schema, name, countText, startAtText] = process.argv.slice(2);
const count = Number(countText);
const random = prng([...name].reduce((h, c) => h * 31 + c.charCodeAt(0), 7));
const result = { name, acks: [], retries: 0, errors: [], conflicts: 0 };
const storage = await postgresStorage({ connectionString }, { schema });
const counted = {
  ...storage,
  async appendEvents(events, expected) {
    try {
      return await storage.appendEvents(events, expected);
    } catch (e) {
      if (e.code === 'CONFLICT') result.conflicts += 1;
      throw e;
    }
  },
};
const engine = await Engine.open({ storage: counted });

async function deposit(commandId, amount) {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      const r = await engine.execute('BankAccount', 'shared', { type: 'deposit', amount }, { commandId });
      result.acks.push([commandId, amount, r.position]);
      return;
    } catch (e) {
      result.retries += 1;
      if (e.code !== 'CONCURRENCY' && e.code !== 'STORAGE') throw e;
      if (attempt === 99) result.errors.push(`${commandId}: ${e.code} ${e.message}`);
    }
  }
}

const startAt = Number(startAtText) || 0;
if (startAt > Date.now()) await new Promise((r) => setTimeout(r, startAt - Date.now()));

let next = 0;
async function loop() {
  while (next < count) {
    const i = next++;
    await deposit(`${name}-${i}`, 1 + Math.floor(random() * 1000));
  }
}
await Promise.all([loop(), loop(), loop(), loop()]);
await engine.close();
writeSync(1, `${JSON.stringify(result)}\n`);
