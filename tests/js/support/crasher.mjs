// Child process of the crash tests (sqlite.test.mjs, postgres-crash.test.mjs):
//   node crasher.mjs PREFIX sqlite FILE
//   node crasher.mjs PREFIX postgres CONNECTION_STRING SCHEMA
// Opens the engine on that storage, makes sure the accounts acc-0..acc-2 exist (create_account
// with a fixed commandId, so a repeat is a no-op), then appends deposits forever from 3
// concurrent loops (group commit), each command with a unique commandId. Every acknowledged
// command is written to stdout with a synchronous write(2) BEFORE its loop moves on:
//   ack <commandId> <account> <amount> <position>
// The parent kills this process with SIGKILL at a random moment.
import { writeSync } from 'node:fs';
import { Engine, postgresStorage, sqliteStorage } from 'eventjournal';

const [prefix, kind, target, schema] = process.argv.slice(2);
const ACCOUNTS = 3;
const storage = kind === 'postgres'
  ? await postgresStorage({ connectionString: target }, { schema })
  : await sqliteStorage(target);
const engine = await Engine.open({ storage, snapshotEvery: 50 });
writeSync(1, 'ready\n');
for (let k = 0; k < ACCOUNTS; k++) {
  const r = await engine.execute('BankAccount', `acc-${k}`, { type: 'create_account', accountHolder: `holder ${k}`, initialDeposit: 0 }, { commandId: `create-acc-${k}` })
    .catch((e) => { if (e.code === 'DOMAIN') return null; throw e; });
  if (r) writeSync(1, `ack create-acc-${k} acc-${k} 0 ${r.position}\n`);
}
let next = 0;
async function loop() {
  for (;;) {
    const i = next++;
    const account = `acc-${i % ACCOUNTS}`;
    const amount = 1 + (i * 7919) % 1000;
    const commandId = `${prefix}-${i}`;
    const r = await engine.execute('BankAccount', account, { type: 'deposit', amount }, { commandId });
    writeSync(1, `ack ${commandId} ${account} ${amount} ${r.position}\n`);
  }
}
await Promise.all([loop(), loop(), loop()]);
