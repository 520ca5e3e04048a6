// Several Node processes, each an engine over postgresStorage, on ONE PostgreSQL database:
// (1) three processes depositing into one account at once: no lost update, gapless positions,
//     each command once, the chain verifies; (2) two processes' watch: each sees the other's
//     appends (LISTEN/NOTIFY) within a round trip.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, postgresStorage } from 'eventjournal';
import { startPostgres } from './support/postgres.mjs';
import { checkLog, runChild, until, within } from './postgres/helpers.mjs';

let cluster;
before(async () => { cluster = await startPostgres({ fsync: false }); });
after(() => cluster.stop());
const open = (schema) => postgresStorage({ connectionString: cluster.connectionString }, { schema });

test('three processes deposit into one account at once: no lost update, gapless, each command once', async () => {
  const schema = 'three';
  const setup = await Engine.open({ storage: await open(schema) });
  await setup.execute('BankAccount', 'shared', { type: 'create_account', accountHolder: 'Shared', initialDeposit: 0 });
  await setup.close();
  const COUNT = 120;
  const t0 = Date.now();
  // Every process waits until the same moment after opening its engine, so their appends overlap
  // (process start-up alone takes longer than one process's 120 deposits).
  const startAt = String(Date.now() + 3000);
  const children = ['p1', 'p2', 'p3'].map((name) => runChild('writer.mjs', [cluster.connectionString, schema, name, String(COUNT), startAt]));
  const results = [];
  for (const { child, done } of children) {
    const { code, lines } = await within(done, 60_000, 'a writer process', () => child.kill('SIGKILL'));
    assert.equal(code, 0, lines.join('\n'));
    results.push(JSON.parse(lines.at(-1)));
  }
  const ms = Date.now() - t0;
  const acks = results.flatMap((r) => r.acks);
  assert.deepEqual(results.flatMap((r) => r.errors), []);
  assert.equal(acks.length, 3 * COUNT);
  const check = await Engine.open({ storage: await open(schema) });
  const log = await check.readAll();
  const counts = checkLog(log);
  const byCommand = new Map(log.map((e) => [e.metadata.commandId, e]));
  for (const [commandId, amount, position] of acks) {
    assert.equal(counts.get(commandId), 1, `${commandId} once in the log`);
    assert.equal(byCommand.get(commandId).position, position);
    assert.equal(byCommand.get(commandId).data.amount, amount);
  }
  assert.equal(log.length, 1 + 3 * COUNT);
  const sum = acks.reduce((s, [, amount]) => s + amount, 0);
  assert.equal((await check.load('BankAccount', 'shared')).state.balance, sum);
  // balanceAfter chains through every deposit: each was decided on the latest state
  let balance = 0;
  for (const e of log.slice(1)) {
    balance += e.data.amount;
    assert.equal(e.data.balanceAfter, balance, `balanceAfter at position ${e.position}`);
  }
  assert.deepEqual(await check.verify(), { ok: true, checked: log.length, firstBadPosition: null });
  await check.close();
  const retries = results.reduce((s, r) => s + r.retries, 0);
  const conflicts = results.reduce((s, r) => s + r.conflicts, 0);
  console.log(`# three processes: ${acks.length} deposits in ${ms} ms, ${conflicts} CONFLICTs resolved by the engines, ${retries} commands retried by the caller`);
  assert.ok(conflicts > 0, 'the processes raced (some appends found another process first)');
});

test('two processes watch each other: each sees the other\'s deposits within a round trip', async () => {
  const schema = 'peers';
  const setup = await Engine.open({ storage: await open(schema) });
  await setup.execute('BankAccount', 'shared', { type: 'create_account', accountHolder: 'Shared', initialDeposit: 0 });
  const peers = ['A', 'B'].map(() => {
    const peer = { saw: new Map(), acks: new Map() };
    peer.proc = runChild('peer.mjs', [cluster.connectionString, schema], {
      stdin: 'pipe',
      onLine(line) {
        const [verb, a, b] = line.split(' ');
        if (verb === 'saw') peer.saw.set(b, { position: Number(a), at: Date.now() });
        if (verb === 'ack') peer.acks.set(a, { position: Number(b), at: Date.now() });
        if (verb === 'ready') peer.ready = true;
      },
    });
    peer.send = (text) => peer.proc.child.stdin.write(`${text}\n`);
    return peer;
  });
  const killAll = () => { for (const p of peers) p.proc.child.kill('SIGKILL'); };
  try {
    await exchange(peers, setup);
  } catch (e) {
    killAll();
    throw e;
  }
  for (const p of peers) p.send('quit');
  for (const p of peers) {
    const { code } = await within(p.proc.done, 10_000, 'a peer exits once its engine is closed', killAll);
    assert.equal(code, 0);
  }
  await setup.close();
});

async function exchange(peers, setup) {
  await until(async () => peers.every((p) => p.ready), 'both peers open', 20_000);
  const [a, b] = peers;
  const delays = [];
  for (let i = 0; i < 10; i++) {
    const [from, to] = i % 2 === 0 ? [a, b] : [b, a];
    const id = `d${i}`;
    from.send(`deposit ${id} ${i + 1}`);
    await until(async () => from.acks.has(id) && to.saw.has(id), `${id} acknowledged by one peer and seen by the other`);
    assert.equal(to.saw.get(id).position, from.acks.get(id).position);
    delays.push(to.saw.get(id).at - from.acks.get(id).at);
  }
  await until(async () => (await setup.stats()).headPosition === 11, 'the parent\'s engine caught up too');
  assert.equal((await setup.load('BankAccount', 'shared')).state.balance, 55);
  delays.sort((x, y) => x - y);
  console.log(`# watch across processes: ack → seen by the other process: median ${delays[5]} ms, max ${delays[9]} ms`);
  assert.ok(delays[9] < 2000, `seen within two seconds even on a busy machine (max ${delays[9]} ms)`);
}
