// The sync server with a key store (crypto-shredding): events cross in their stored form
// (personal data sealed, exactly what was hashed), GET /v1/keys hands a client the keys of the
// subjects it may read, server.forget(subject) erases and tells every live client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, memoryKeyStore } from 'eventjournal';
import { createSyncServer } from 'eventjournal/server';
import { call, execute, live, openAccount, until } from './server/client.mjs';

async function start() {
  const keys = memoryKeyStore('server-keys');
  const engine = await Engine.open({ keys });
  const server = await createSyncServer(engine, {
    log: () => {},
    authorize: (principal, request) => request.subject !== 'acc_secret',
  });
  return { engine, server, base: server.url, keys: memoryKeyStore('server-keys') };
}

test('events cross in their stored form; GET /v1/keys answers the keys a client may read', async () => {
  const { engine, server, base, keys } = await start();
  try {
    const [opened] = await execute(base, [openAccount('c1', 'acc1', 100), openAccount('c2', 'acc_secret', 5)]);
    assert.equal(opened.ok, true);
    assert.equal(opened.events[0].data.accountHolder.$encrypted.subject, 'acc1');
    assert.deepEqual(opened.events, (await engine.readAll({ raw: true })).slice(0, 2), 'as stored and hashed');
    const page = await call(base, '/v1/events?after=0');
    assert.equal(page.status, 200);
    assert.ok(!JSON.stringify(page.body).includes('holder of'), 'no plaintext on the wire');
    assert.deepEqual(page.body.events, await engine.readAll({ raw: true }));

    const answer = await call(base, '/v1/keys?subjects=acc1,acc_secret,nobody');
    assert.equal(answer.status, 200);
    assert.deepEqual(Object.keys(answer.body.keys), ['acc1'], 'acc_secret is not authorized, nobody unknown');
    assert.deepEqual(new Uint8Array(Buffer.from(answer.body.keys.acc1, 'base64')), await keys.getKey('acc1'));
    assert.deepEqual(answer.body.forgotten, []);
    assert.deepEqual((await call(base, '/v1/keys')).body, { keys: {}, forgotten: [] });
    for (const bad of ['/v1/keys?subjects=a,,b', `/v1/keys?subjects=${'x'.repeat(257)}`, '/v1/keys?subject=a',
      `/v1/keys?subjects=${Array.from({ length: 1001 }, (_, i) => `s${i}`).join(',')}`]) {
      assert.equal((await call(base, bad)).status, 400, bad);
    }
    assert.equal((await call(base, '/v1/keys', { method: 'POST', body: {} })).status, 405);
  } finally {
    await server.close();
    await engine.close();
  }
});

test('server.forget: the subject is erased, every live client is told, GET /v1/keys says forgotten', async () => {
  const { engine, server, base } = await start();
  try {
    await execute(base, [openAccount('c1', 'acc1', 100), openAccount('c2', 'acc2', 100)]);
    const client = await live(base, { after: 0 });
    await until(() => client.events.length === 4, 'the events');
    assert.deepEqual(client.events, await engine.readAll({ raw: true }), 'the live channel sends the stored form, as hashed');
    assert.ok(!JSON.stringify(client.events).includes('holder of'), 'no plaintext on the wire');
    await server.forget('acc1');
    await until(() => client.forgets.length === 1, 'the forget message');
    assert.deepEqual(client.forgets, ['acc1']);
    const answer = await call(base, '/v1/keys?subjects=acc1,acc2');
    assert.deepEqual(Object.keys(answer.body.keys), ['acc2']);
    assert.deepEqual(answer.body.forgotten, ['acc1']);
    assert.equal((await engine.readAll())[0].data.accountHolder, null);
    assert.equal((await engine.verify()).ok, true);
    await client.close();
  } finally {
    await server.close();
    await engine.close();
  }
});

test('without a key store GET /v1/keys is a 404', async () => {
  const engine = await Engine.open();
  const server = await createSyncServer(engine, { log: () => {} });
  try {
    const r = await call(server.url, '/v1/keys?subjects=a');
    assert.equal(r.status, 404);
    assert.equal(r.body.error.code, 'NOT_FOUND');
    await assert.rejects(server.forget('a'), { name: 'ValidationError' });
  } finally {
    await server.close();
    await engine.close();
  }
});
