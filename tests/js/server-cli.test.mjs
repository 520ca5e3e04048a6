// The eventjournal-server CLI as npm installs it, and two server processes on one SQLite file
// with live clients on both: every client sees every event once, in order.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { call, execute, deposit, openAccount, live, until, assertGapless } from './server/client.mjs';
import { installedCli, spawnServer, tempDir } from './server/harness.mjs';

const unhandled = [];
process.on('unhandledRejection', (e) => unhandled.push(e));
after(() => assert.deepEqual(unhandled, [], 'no unhandled rejection'));

const cli = installedCli();

test('CLI: starts on SQLite, prints its address, answers /v1/info, requires its token, stops on SIGTERM', async () => {
  assert.ok(existsSync(cli.linked), 'npm linked node_modules/.bin/eventjournal-server');
  const tmp = tempDir();
  const db = join(tmp.dir, 'data', 'app.db');
  try {
    const server = await spawnServer(cli.linked, ['--db', db, '--port', '0', '--token', 's3cret']);
    assert.match(server.output().out, /listening on http:\/\/127\.0\.0\.1:\d+\/ \(SQLite .*app\.db, 0 events/);
    assert.equal((await call(server.url, '/v1/info')).status, 401);
    const info = await call(server.url, '/v1/info', { token: 's3cret' });
    assert.deepEqual([info.status, info.body.protocol, info.body.headPosition], [200, 1, 0]);
    const [r] = await execute(server.url, [openAccount('o1', 'acc', 100)], { token: 's3cret' });
    assert.equal(r.ok, true);
    assert.equal(await server.stop('SIGTERM'), 0);
    assert.match(server.output().out, /SIGTERM, stopping\neventjournal-server: stopped\n$/);
    assert.equal(server.output().err, '');

    // The data is on disk: a restart serves it.
    const again = await spawnServer(process.execPath, [cli.bin, '--db', db, '--port', '0']);
    assert.match(again.output().out, /2 events/);
    assert.equal((await call(again.url, '/v1/events')).body.events.length, 2);
    assert.equal(await again.stop('SIGINT'), 0);
  } finally {
    tmp.cleanup();
  }
});

test('CLI: refuses bad arguments and a non-loopback host without a token', () => {
  const tmp = tempDir();
  try {
    const run = (...args) => spawnSync(process.execPath, [cli.bin, ...args], { encoding: 'utf8', timeout: 15_000 });
    const open = run('--db', join(tmp.dir, 'a.db'), '--host', '0.0.0.0', '--port', '0');
    assert.equal(open.status, 1);
    assert.match(open.stderr, /ValidationError: createSyncServer: binding 0\.0\.0\.0 \(not loopback\) needs an authenticate function/);
    for (const args of [[], ['--db', 'x.db', '--postgres', 'postgres://h/db'], ['--db', 'x.db', '--port', 'eighty'], ['--db', 'x.db', '--bogus']]) {
      const r = run(...args);
      assert.equal(r.status, 2, args.join(' '));
      assert.match(r.stderr, /usage: eventjournal-server|--port/);
    }
    const help = run('--help');
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--postgres URL/);
  } finally {
    tmp.cleanup();
  }
});

test('two server processes on one SQLite file: clients on both see every event once, in order', async () => {
  const tmp = tempDir();
  const db = join(tmp.dir, 'shared.db');
  const servers = [];
  const clients = [];
  try {
    servers.push(await spawnServer(process.execPath, [cli.bin, '--db', db, '--port', '0']));
    servers.push(await spawnServer(process.execPath, [cli.bin, '--db', db, '--port', '0']));
    for (const s of servers) clients.push(await live(s.url, { after: 0 }), await live(s.url, { after: 0 }));

    await execute(servers[0].url, [openAccount('o1', 'shared', 0)]);
    // Both servers take deposits to the same account, concurrently: each is decided on the
    // latest state (a CONFLICT makes the loser catch up and decide again).
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => execute(servers[i % 2].url, [deposit(`d${i}`, 'shared', i + 1)])));
    assert.ok(results.every(([r]) => r.ok), JSON.stringify(results.filter(([r]) => !r.ok)));
    const positions = results.map(([r]) => r.position).sort((a, b) => a - b);
    assert.deepEqual(positions, Array.from({ length: 40 }, (_, i) => i + 2), 'one position per deposit');

    const head = 41;
    await until(() => clients.every((c) => c.events.length >= head), 'every client to see every event', 10_000);
    const reference = clients[0].events;
    clients.forEach((c, i) => {
      assertGapless(c.events, head, 0, `client ${i}`);
      assert.deepEqual(c.events.map((e) => e.hash), reference.map((e) => e.hash), `client ${i} has the same chain`);
    });
    const balance = reference.filter((e) => e.type === 'money_deposited').reduce((sum, e) => sum + e.data.amount, 0);
    assert.equal(balance, (40 * 41) / 2);
    assert.equal(reference[head - 1].data.balanceAfter, balance, 'no lost update');
    for (const s of servers) {
      const info = await call(s.url, '/v1/info');
      assert.equal(info.body.headHash, reference[head - 1].hash);
    }
  } finally {
    await Promise.all(clients.map((c) => c.close && c.close()));
    for (const s of servers) assert.equal(await s.stop(), 0);
    tmp.cleanup();
  }
});
