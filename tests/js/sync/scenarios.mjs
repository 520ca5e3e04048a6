// DESIGN.md §7's guarantees as scenarios, each run against a server on SQLite and on PostgreSQL
// (sync.test.mjs, sync-postgres.test.mjs): (a) many clients, random commands, random
// disconnects and a server restart converge; (b) a double spend decided offline on two clients;
// (c) the outbox survives closing the client while the server is down; (d) a server replaced by
// one with another history.
import assert from 'node:assert/strict';
import { Engine, memoryStorage, sqliteStorage, DomainError, IntegrityError } from 'eventjournal';
import { prng } from '../support/prng.mjs';
import {
  checkGuarantees, converged, proxy, serverCommands, sleep, syncClient, syncServer, until,
} from './harness.mjs';

/** Client storages: SQLite files for some, memory for the others. */
function clientStorage(dir, name, i) {
  if (i % 2 === 0) {
    const file = `${dir}/${name}-client-${i}.db`;
    return () => sqliteStorage(file);
  }
  const store = `${name}-client-${i}-${process.pid}`;
  return () => memoryStorage(store);
}

function command(random) {
  const r = random();
  const amount = 1 + Math.floor(random() * 400);
  if (r < 0.15) return { type: 'create_account', accountHolder: 'Ada', initialDeposit: Math.floor(random() * 500) };
  if (r < 0.55) return { type: 'deposit', amount };
  if (r < 0.99) return { type: 'withdraw', amount };
  return { type: 'close_account' };
}

/**
 * (a) `clients` clients × `commands` random commands on 20 shared accounts, random dropped
 * connections and offline spells, one client reloaded and one server restart: every client
 * converges on the server's log, every command is in it once or was reported refused once to
 * its issuer, and every client's optimistic view equals its confirmed view.
 */
export async function convergence({ store, dir, name, seed, clients: n = 5, commands = 200 }) {
  const random = prng(seed);
  const server = await syncServer(store);
  const proxies = [];
  const clients = [];
  const issued = [];
  for (let i = 0; i < n; i += 1) {
    const p = await proxy(() => server.port);
    proxies.push(p);
    clients.push(await syncClient({ url: p.url, storage: clientStorage(dir, name, i) }));
    issued.push([]);
  }
  const accounts = Array.from({ length: 20 }, (_, i) => `acc${i}`);
  let restarted = false;
  const started = Date.now();
  await Promise.all(clients.map(async (c, i) => {
    for (let k = 0; k < commands; k += 1) {
      if (random() < 0.03) proxies[i].cut();
      if (random() < 0.01) {
        proxies[i].offline(true);
        setTimeout(() => proxies[i].offline(false), 50 + random() * 300);
      }
      if (i === 0 && k === Math.floor(commands / 2) && !restarted) {
        restarted = true;
        await server.restart({ downMs: 200 });
      }
      if (i === 1 && k === Math.floor((commands * 3) / 4)) await c.reopen();
      const account = accounts[Math.floor(random() * accounts.length)];
      try {
        const r = await c.engine.execute('BankAccount', account, command(random));
        assert.equal(r.pending, true);
        issued[i].push(r.commandId);
      } catch (e) {
        assert.ok(['DOMAIN', 'VALIDATION'].includes(e.code), `client ${i}: ${e.name}: ${e.message}`);
      }
      if (random() < 0.3) await sleep(random() * 5);
    }
  }));
  for (const p of proxies) p.offline(false);
  await converged(server, clients, 90_000);
  const inLog = await checkGuarantees(server, clients, issued, accounts);
  const refused = clients.reduce((sum, c) => sum + c.rejected.length, 0);
  const total = issued.reduce((sum, list) => sum + list.length, 0);
  assert.ok(inLog.size > total / 4, `most commands are accepted (${inLog.size} of ${total})`);
  assert.ok(refused > 0, 'some commands decided offline were refused by the server');
  for (const c of clients) await c.engine.close();
  for (const p of proxies) await p.close();
  await server.stop();
  return { accepted: inLog.size, refused, total, ms: Date.now() - started };
}

/** (b) A double spend decided offline on two clients: one accepted, one refused. */
export async function doubleSpend({ store, dir, name }) {
  const server = await syncServer(store);
  const [pa, pb] = [await proxy(() => server.port), await proxy(() => server.port)];
  const a = await syncClient({ url: pa.url, storage: clientStorage(dir, `${name}-ds`, 0) });
  const b = await syncClient({ url: pb.url, storage: clientStorage(dir, `${name}-ds`, 1) });
  const opened = await a.engine.execute('BankAccount', 'shared', { type: 'create_account', accountHolder: 'Ada', initialDeposit: 100 });
  await a.engine.settled(opened.commandId);
  await until(async () => (await b.engine.load('BankAccount', 'shared', { confirmed: true })) !== null, 'b to see the account');

  pa.offline(true);
  pb.offline(true);
  const wa = await a.engine.execute('BankAccount', 'shared', { type: 'withdraw', amount: 80 });
  const wb = await b.engine.execute('BankAccount', 'shared', { type: 'withdraw', amount: 80 });
  assert.equal((await a.engine.load('BankAccount', 'shared')).state.balance, 20);
  assert.equal((await b.engine.load('BankAccount', 'shared')).state.balance, 20);
  // Both are refused locally now: the optimistic state is spent.
  await assert.rejects(b.engine.execute('BankAccount', 'shared', { type: 'withdraw', amount: 80 }), DomainError);

  pa.offline(false);
  const accepted = await a.engine.settled(wa.commandId);
  assert.equal(accepted.version, 3);
  const order = [];
  const refusal = b.engine.settled(wb.commandId).catch((e) => {
    order.push(`settled rejected after ${b.rejected.length} report(s)`);
    return e;
  });
  pb.offline(false);
  const error = await refusal;
  assert.ok(error instanceof DomainError, String(error));
  assert.equal(error.code, 'DOMAIN');
  assert.equal(error.message, 'Insufficient funds');
  assert.deepEqual(order, ['settled rejected after 1 report(s)'], 'onRejected is called before settled rejects');
  assert.equal(b.rejected.length, 1);
  assert.equal(b.rejected[0].commandId, wb.commandId);
  assert.deepEqual(b.rejected[0].command, { type: 'withdraw', amount: 80 });
  assert.equal(b.rejected[0].streamId, 'shared');
  assert.ok(b.rejected[0].error instanceof DomainError);
  assert.equal(a.rejected.length, 0);
  await converged(server, [a, b]);
  for (const c of [a, b]) {
    assert.equal((await c.engine.load('BankAccount', 'shared')).state.balance, 20);
    assert.equal((await c.engine.load('BankAccount', 'shared', { confirmed: true })).state.balance, 20);
  }
  const inLog = await serverCommands(server.engine);
  assert.ok(inLog.has(wa.commandId));
  assert.ok(!inLog.has(wb.commandId));
  await sleep(100);
  assert.equal(b.rejected.length, 1, 'reported once');
  for (const c of [a, b]) await c.engine.close();
  for (const p of [pa, pb]) await p.close();
  await server.stop();
}

/** (c) The outbox survives closing the client while the server is down. */
export async function outboxSurvives({ store, dir, name }) {
  const server = await syncServer(store);
  const file = `${dir}/${name}-outbox.db`;
  const client = await syncClient({ url: server.url, storage: () => sqliteStorage(file) });
  const opened = await client.engine.execute('BankAccount', 'acc', { type: 'create_account', accountHolder: 'Ada', initialDeposit: 10 });
  await client.engine.settled(opened.commandId);
  await server.down();
  const ids = [];
  for (const amount of [1, 2, 3]) ids.push((await client.engine.execute('BankAccount', 'acc', { type: 'deposit', amount })).commandId);
  assert.equal(client.engine.syncState().pending, 3);
  await client.engine.close();

  await client.reopen(); // the server is still down
  assert.equal(client.engine.syncState().pending, 3);
  assert.equal((await client.engine.load('BankAccount', 'acc')).state.balance, 16);
  assert.equal((await client.engine.load('BankAccount', 'acc', { confirmed: true })).state.balance, 10);
  await until(() => client.engine.syncState().lastError !== null, 'an error while the server is down');
  assert.equal(client.engine.syncState().lastError.code, 'NETWORK');
  const waiting = ids.map((id) => client.engine.settled(id));

  await server.up();
  const results = await Promise.all(waiting);
  assert.deepEqual(results.map((r) => r.version), [3, 4, 5]);
  await converged(server, [client]);
  assert.equal(client.engine.syncState().lastError, null);
  const inLog = await serverCommands(server.engine);
  for (const id of ids) assert.ok(inLog.has(id));
  assert.equal((await server.engine.stats()).totalEvents, 5, 'each pushed once');
  await client.engine.close();
  await server.stop();
}

/** (d) A server replaced by one with another history: IntegrityError, sync stops, local data kept. */
export async function forkedServer({ store, other, dir, name }) {
  const server = await syncServer(store);
  const client = await syncClient({ url: server.url, storage: () => sqliteStorage(`${dir}/${name}-fork.db`) });
  for (const amount of [5, 6]) {
    const r = await client.engine.execute('BankAccount', 'acc', amount === 5
      ? { type: 'create_account', accountHolder: 'Ada', initialDeposit: amount }
      : { type: 'deposit', amount });
    await client.engine.settled(r.commandId);
  }
  const before = await client.engine.stats();
  // Another history, longer than the client's.
  const seeded = await Engine.open({ storage: await other.open() });
  for (const id of ['x1', 'x2', 'x3']) await seeded.execute('BankAccount', id, { type: 'create_account', accountHolder: 'Eve' });
  await seeded.close();

  await server.replace(other);
  await until(() => client.engine.syncState().lastError?.code === 'INTEGRITY', 'the fork to be detected');
  const state = client.engine.syncState();
  assert.ok(state.lastError instanceof IntegrityError);
  assert.equal(state.lastError.name, 'IntegrityError');
  assert.equal(state.online, false);
  // Local data kept, commands still accepted and kept; nothing more is received or pushed.
  const pending = await client.engine.execute('BankAccount', 'acc', { type: 'deposit', amount: 7 });
  assert.equal(pending.pending, true);
  // It can no longer be confirmed here: settled answers the fork rather than waiting forever.
  await assert.rejects(client.engine.settled(pending.commandId), (e) => e instanceof IntegrityError);
  await sleep(300);
  assert.deepEqual(await client.engine.stats(), before);
  assert.equal((await client.engine.verify()).ok, true);
  assert.equal(client.engine.syncState().pending, 1);
  assert.equal((await server.engine.stats()).totalEvents, 3, 'nothing pushed to the other server');
  await client.engine.close();
  await server.stop();
}
