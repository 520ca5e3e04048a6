// Child process of postgres-processes.test.mjs: node peer.mjs CONNECTION_STRING SCHEMA
// An engine in its own process that reports what it sees and does what it is told:
//   stdout: 'ready', then 'saw <position> <commandId>' for every committed event (subscribe),
//           'ack <commandId> <position>' for every deposit it made
//   stdin:  'deposit <commandId> <amount>' (into the account 'shared'), 'quit'
import { writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Engine, postgresStorage } from 'eventjournal';

const [connectionString, schema] = process.argv.slice(2);
const engine = await Engine.open({ storage: await postgresStorage({ connectionString }, { schema }) });
engine.subscribe((e) => writeSync(1, `saw ${e.position} ${e.metadata.commandId}\n`));
writeSync(1, 'ready\n');
const input = createInterface({ input: process.stdin });
for await (const line of input) {
  const [verb, commandId, amount] = line.split(' ');
  if (verb === 'quit') break;
  if (verb === 'deposit') {
    const r = await engine.execute('BankAccount', 'shared', { type: 'deposit', amount: Number(amount) }, { commandId });
    writeSync(1, `ack ${commandId} ${r.position}\n`);
  }
}
await engine.close();
input.close();
process.stdin.destroy(); // nothing else may keep this process alive: a closed engine leaves no handle
