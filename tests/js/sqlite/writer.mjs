// Child process of sqlite.test.mjs (two writers on one file): node writer.mjs FILE NAME COUNT
// Deposits COUNT times into the shared account 'shared' and into its own 'own-NAME',
// interleaved, each with a unique commandId; a command that fails (e.g. ConcurrencyError after
// the engine's bounded retries, or SQLITE_BUSY) is retried with the same commandId.
// Prints one JSON line at the end: { name, shared, own, acks, retries, errors }.
import { writeSync } from 'node:fs';
import { Engine, sqliteStorage } from 'eventjournal';
import { prng } from './helpers.mjs';

const [file, name, countText] = process.argv.slice(2);
const count = Number(countText);
const random = prng([...name].reduce((h, c) => h * 31 + c.charCodeAt(0), 7));
const engine = await Engine.open({ storage: await sqliteStorage(file) });
const result = { name, shared: 0, own: 0, acks: [], retries: 0, errors: [] };

async function deposit(account, commandId, amount) {
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      const r = await engine.execute('BankAccount', account, { type: 'deposit', amount }, { commandId });
      result.acks.push(commandId);
      return r;
    } catch (e) {
      result.retries += 1;
      if (e.code !== 'CONCURRENCY' && e.code !== 'STORAGE') throw e;
      if (attempt === 49) result.errors.push(`${commandId}: ${e.code} ${e.message}`);
    }
  }
  return null;
}

for (let i = 0; i < count; i++) {
  const a = 1 + Math.floor(random() * 1000);
  if (await deposit('shared', `${name}-shared-${i}`, a)) result.shared += a;
  const b = 1 + Math.floor(random() * 1000);
  if (await deposit(`own-${name}`, `${name}-own-${i}`, b)) result.own += b;
}
await engine.close();
writeSync(1, `${JSON.stringify(result)}\n`);
