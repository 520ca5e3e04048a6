// Crashes around postgresStorage, on a throwaway cluster with fsync ON (durability is the point):
// (1) PostgreSQL killed (SIGKILL of every server process) and later stopped (-m immediate) while
//     an engine appends from several loops: StorageErrors while it is down, writes resume when it
//     is back, every command retried with its commandId is in the log exactly once, the engine
//     shows exactly what the database holds, a watching engine catches up;
// (2) a writer process SIGKILLed at PG_CRASH_KILLS (default 50) random moments: after each kill
//     the log verifies and holds every command the writer acknowledged, once, where it said.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, postgresStorage } from 'eventjournal';
import { startPostgres } from './support/postgres.mjs';
import { checkLog, prng, runChild, sleep, until, within } from './postgres/helpers.mjs';

let cluster;
before(async () => { cluster = await startPostgres({ fsync: true }); });
after(() => cluster.stop());
const open = (schema) => postgresStorage({ connectionString: cluster.connectionString }, { schema });

test('PostgreSQL killed and restarted under load: StorageErrors while down, then every command lands once', async () => {
  const schema = 'outage';
  const engine = await Engine.open({ storage: await open(schema), appendTimeoutMs: 3000 });
  const watcher = await Engine.open({ storage: await open(schema) });
  await engine.execute('BankAccount', 'a', { type: 'create_account', accountHolder: 'A', initialDeposit: 0 });
  const issued = new Map(); // commandId → amount, every command ever sent
  const acked = new Map(); // commandId → position
  const phase = { name: 'up', ackedWhileDown: 0, errorsWhileDown: 0, errors: new Map() };
  let stop = false;
  let next = 0;
  async function loop() {
    while (!stop) {
      const i = next++;
      const commandId = `c${i}`;
      const amount = 1 + (i % 97);
      issued.set(commandId, amount);
      for (;;) { // a client retries with the same commandId until it is acknowledged
        try {
          const r = await engine.execute('BankAccount', 'a', { type: 'deposit', amount }, { commandId });
          acked.set(commandId, r.position);
          if (phase.name === 'down') phase.ackedWhileDown += 1;
          break;
        } catch (e) {
          assert.equal(e.code, 'STORAGE', `${e.name}: ${e.message}`);
          assert.ok(e.cause, 'a StorageError carries the cause');
          if (phase.name === 'down') phase.errorsWhileDown += 1;
          const key = e.cause.code || e.cause.message;
          phase.errors.set(key, (phase.errors.get(key) || 0) + 1);
          await sleep(20);
        }
      }
    }
  }
  const loops = [loop(), loop(), loop(), loop()];
  const ackedBy = async (n) => until(async () => acked.size >= n, `${n} acknowledged commands`, 30_000);
  await ackedBy(50);
  await cluster.kill(); // every server process SIGKILLed: a crash, recovery at the next start
  await sleep(50); // answers that were already on their way are taken in
  phase.name = 'down';
  await sleep(600);
  phase.name = 'starting';
  const beforeRestart = acked.size;
  await cluster.start();
  phase.name = 'up';
  await ackedBy(beforeRestart + 50);
  await cluster.stopServer(); // -m immediate, a second outage
  await sleep(50);
  phase.name = 'down';
  await sleep(400);
  phase.name = 'starting';
  const beforeSecond = acked.size;
  await cluster.start();
  phase.name = 'up';
  await ackedBy(beforeSecond + 50);
  stop = true;
  await within(Promise.all(loops), 30_000, 'the loops finish their last commands');

  assert.equal(phase.ackedWhileDown, 0, 'nothing is acknowledged while PostgreSQL is down');
  assert.ok(phase.errorsWhileDown > 0, 'the outages were seen as StorageErrors');
  assert.equal(acked.size, issued.size, 'every command was acknowledged in the end');
  const check = await Engine.open({ storage: await open(schema) });
  const log = await check.readAll();
  const counts = checkLog(log);
  for (const [commandId, position] of acked) {
    assert.equal(counts.get(commandId), 1, `${commandId} once`);
    assert.equal(log[position - 1].metadata.commandId, commandId, `${commandId} at the position it was acknowledged with`);
  }
  assert.equal(log.length, 1 + issued.size, 'nothing in the log that was not issued');
  const sum = [...issued.values()].reduce((s, x) => s + x, 0);
  assert.equal((await check.load('BankAccount', 'a')).state.balance, sum);
  assert.ok((await check.verify()).ok);
  // the engine that lived through the outages shows exactly what the database holds
  assert.deepEqual(await engine.stats(), await check.stats());
  await until(async () => (await watcher.stats()).headHash === (await check.stats()).headHash, 'the watching engine caught up after the restarts', 15_000);
  console.log(`# outage: ${issued.size} commands, StorageErrors by cause: ${JSON.stringify(Object.fromEntries(phase.errors))}`);
  await Promise.all([engine.close(), watcher.close(), check.close()]);
});

test('a writer process SIGKILLed at random moments: every acknowledged command survives, the chain verifies', async () => {
  const schema = 'kills';
  const KILLS = Number(process.env.PG_CRASH_KILLS || 50);
  const seed = Number(process.env.PG_CRASH_SEED || Math.floor(Math.random() * 2 ** 31));
  const random = prng(seed);
  const acks = new Map(); // commandId → { account, amount, position }
  const t0 = Date.now();
  let whileAppending = 0;
  let beforeOpen = 0;
  for (let k = 0; k < KILLS; k++) {
    let ready = false;
    let lastAck = 0;
    const { child, done } = runChild('../support/crasher.mjs', [`k${k}`, 'postgres', cluster.connectionString, schema], {
      onLine(line) {
        if (line === 'ready') ready = true;
        const [verb, commandId, account, amount, position] = line.split(' ');
        if (verb !== 'ack') return;
        lastAck = Date.now();
        const prev = acks.get(commandId);
        const entry = { account, amount: Number(amount), position: Number(position) };
        if (prev) assert.deepEqual(entry, prev, `${commandId} acknowledged twice, differently`);
        acks.set(commandId, entry);
      },
    });
    // half of the kills at a random moment after spawning, half after the engine was open
    if (random() < 0.5) {
      await sleep(Math.floor(random() * 400));
    } else {
      await within(until(async () => ready, 'the writer open', 30_000), 35_000, 'ready', () => child.kill('SIGKILL'));
      await sleep(Math.floor(random() * 150));
    }
    if (!ready) beforeOpen += 1;
    else if (lastAck > 0) whileAppending += 1;
    child.kill('SIGKILL');
    const { signal, code } = await within(done, 30_000, 'the killed writer', () => child.kill('SIGKILL'));
    assert.ok(signal === 'SIGKILL' || code === 0, `writer ${k} ended by ${signal || code}`);
    // the log verifies at open, and holds every acknowledged command where it was acknowledged
    const check = await Engine.open({ storage: await open(schema) });
    const log = await check.readAll();
    const counts = checkLog(log);
    for (const [commandId, { account, amount, position }] of acks) {
      assert.equal(counts.get(commandId), 1, `after kill ${k}: ${commandId} once (seed ${seed})`);
      const e = log[position - 1];
      assert.equal(e.metadata.commandId, commandId, `after kill ${k}: ${commandId} at ${position} (seed ${seed})`);
      assert.equal(e.streamId, account);
      if (e.type === 'money_deposited') assert.equal(e.data.amount, amount);
    }
    for (const id of counts.keys()) assert.equal(counts.get(id), 1, `${id} once`);
    assert.equal((await check.verify()).ok, true);
    await check.close();
  }
  console.log(`# kills: ${KILLS} SIGKILLs (${beforeOpen} before the engine was open, ${whileAppending} while appending), `
    + `${acks.size} acknowledged commands checked, 0 lost, ${Date.now() - t0} ms, PG_CRASH_SEED=${seed}`);
  assert.ok(whileAppending >= KILLS / 10, `enough kills while appending (${whileAppending})`);
});
