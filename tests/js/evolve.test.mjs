// Upcasters through the package: the committed v1 log (tests/fixtures/customers-v1.json, made
// once by examples/make_v1_fixture.rs) opened by version 2 (the name split in two) and
// version 3 (`customer_registered` renamed `customer_joined`, the address an object) defined in
// JavaScript: states, reads, raw reads, time travel, projections, subscribers; a missing step,
// a throwing upcaster, gaps, renames, versioned definitions, the typed errors of each.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Engine, memoryStorage, InternalError, ProjectionError, ValidationError } from 'eventjournal';

const FIXTURE = JSON.parse(readFileSync(new URL('../fixtures/customers-v1.json', import.meta.url), 'utf8'));

/** A memory storage holding the v1 log. */
async function v1Storage() {
  const storage = await memoryStorage();
  await storage.appendEvents(structuredClone(FIXTURE), 0);
  return storage;
}

const customer = (version) => ({
  initialState: { firstName: null, lastName: null, email: null, address: null },
  decide(state, command) {
    if (command.type === 'register') {
      const { firstName, lastName, email } = command;
      return [{ type: version >= 3 ? 'customer_joined' : 'customer_registered', data: { firstName, lastName, email } }];
    }
    return [{ type: 'customer_moved', data: { address: command.address } }];
  },
  evolve(state, event) {
    if (event.type === 'customer_registered' || event.type === 'customer_joined') {
      const { firstName, lastName, email } = event.data;
      if (firstName === undefined) throw new Error(`${event.type} without firstName`);
      return { ...state, firstName, lastName, email };
    }
    if (event.type === 'customer_moved') return { ...state, address: event.data.address };
    return state;
  },
});

const directory = {
  initialState: { people: {}, types: [] },
  filter: { streamType: 'Customer' },
  evolve(state, event) {
    const people = { ...state.people };
    const person = { ...(people[event.streamId] || {}) };
    if (event.type === 'customer_moved') person.address = event.data.address;
    else person.name = `${event.data.firstName} ${event.data.lastName}`;
    people[event.streamId] = person;
    const types = [...new Set([...state.types, event.type])].sort();
    return { people, types };
  },
};

const splitName = {
  from: 1,
  up({ name, ...rest }) {
    const [firstName, ...last] = name.split(' ');
    return { ...rest, firstName, lastName: last.join(' ') };
  },
};

/** An engine at version `version` (2 or 3) over the v1 log. */
async function openAt(version, storage) {
  const engine = await Engine.open({ storage: storage || (await v1Storage()) });
  engine.defineAggregate('Customer', customer(version), { version });
  engine.defineProjection('directory', directory, { version });
  engine.defineUpcaster('customer_registered', splitName);
  if (version >= 3) {
    engine.defineUpcaster('customer_registered', { from: 2, up: (data) => ({ type: 'customer_joined', data }) });
    engine.defineUpcaster('customer_moved', { from: 1, up: ({ address }) => ({ address: { line: address, country: 'GB' } }) });
  }
  return engine;
}

async function rejects(promise, Cls, ...parts) {
  let error;
  try { await promise; } catch (e) { error = e; }
  assert.ok(error instanceof Cls, `expected a ${Cls.name}, got ${error}`);
  for (const part of parts) assert.ok(error.message.includes(part), `${error.message} should mention ${part}`);
  return error;
}

describe('upcasters: a v1 log read by later definitions', () => {
  test('version 2: states, reads, raw reads, time travel, projections', async () => {
    const engine = await openAt(2);
    const { state } = await engine.load('Customer', 'c1');
    assert.deepEqual(state, { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.org', address: 'Ockham Park, Surrey' });
    const [registered, moved] = await engine.readStream('c1');
    assert.deepEqual(registered.data, { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.org' });
    assert.deepEqual(registered.metadata, { schemaVersion: 2 });
    assert.deepEqual(moved.metadata, {});
    // The stored form, exactly as stored: the chain a client verifies.
    assert.deepEqual(await engine.readAll({ raw: true }), FIXTURE);
    assert.deepEqual(await engine.readStream('c1', { raw: true }), FIXTURE.filter((e) => e.streamId === 'c1'));
    assert.equal((await engine.load('Customer', 'c1', { at: { version: 1 } })).state.address, null);
    assert.equal((await engine.load('Customer', 'c1', { at: { position: 3 } })).state.address, "12 St James's Square, London");
    const now = await engine.projection('directory');
    assert.equal(now.people.c3.name, 'Grace Hopper');
    assert.deepEqual(now.types, ['customer_moved', 'customer_registered']);
    const then = await engine.projection('directory', { at: { position: 2 } });
    assert.deepEqual(Object.keys(then.people), ['c1', 'c2']);
    assert.equal((await engine.verify()).ok, true);
    await engine.close();
  });

  test('version 3: a rename, reads and subscribers filtered by the new type', async () => {
    const engine = await openAt(3);
    const joined = await engine.readAll({ types: ['customer_joined'] });
    assert.deepEqual(joined.map((e) => e.streamId), ['c1', 'c2', 'c3']);
    assert.deepEqual(joined[0].metadata, {}, 'version 1 of customer_joined, its latest');
    assert.deepEqual(await engine.readAll({ types: ['customer_registered'] }), []);
    assert.equal((await engine.readAll({ types: ['customer_registered'], raw: true })).length, 3);
    assert.equal((await engine.readAll({ types: ['customer_joined'], limit: 2 })).length, 2);
    const [moved] = await engine.readAll({ types: ['customer_moved'] });
    assert.deepEqual(moved.data, { address: { line: "12 St James's Square, London", country: 'GB' } });
    assert.deepEqual(moved.metadata, { schemaVersion: 2 });
    assert.equal((await engine.load('Customer', 'c2')).state.address.line, '1 Dorset Street, London');
    assert.deepEqual((await engine.projection('directory')).types, ['customer_joined', 'customer_moved']);
    const seen = [];
    const sub = engine.subscribe((e) => seen.push(e.type), { fromPosition: 0, types: ['customer_joined'] });
    await new Promise((r) => setTimeout(r, 20));
    sub.unsubscribe();
    assert.deepEqual(seen, ['customer_joined', 'customer_joined', 'customer_joined']);
    // New events are stored at their type's latest version.
    await engine.execute('Customer', 'c1', { type: 'move', address: { line: 'Horsley Towers', country: 'GB' } });
    await engine.execute('Customer', 'c4', { type: 'register', firstName: 'Alan', lastName: 'Turing', email: 'alan@example.org' });
    const raw = await engine.readAll({ fromPosition: 6, raw: true });
    assert.deepEqual(raw.map((e) => [e.type, e.metadata]), [['customer_moved', { schemaVersion: 2 }], ['customer_joined', {}]]);
    await engine.close();
  });

  test('a step this engine lacks: InternalError for states, ProjectionError for projections, naming type, version, position', async () => {
    const storage = await memoryStorage('evolve-missing-step');
    await storage.appendEvents(structuredClone(FIXTURE), 0);
    const v3 = await openAt(3, storage);
    await v3.execute('Customer', 'c1', { type: 'move', address: { line: 'Horsley Towers' } });
    await v3.close();
    const v2 = await openAt(2, await memoryStorage('evolve-missing-step'));
    await rejects(v2.load('Customer', 'c1'), InternalError, "'customer_moved'", 'schemaVersion 2', 'position 7');
    const stopped = await rejects(v2.projection('directory'), ProjectionError, 'schemaVersion 2');
    assert.equal(stopped.position, 7);
    await rejects(v2.readAll(), InternalError, 'position 7');
    assert.equal((await v2.readAll({ raw: true })).length, 7);
    assert.equal((await v2.load('Customer', 'c2')).state.firstName, 'Charles');
    await v2.close();
  });

  test('a throwing upcaster: never a skipped event', async () => {
    const engine = await Engine.open({ storage: await v1Storage() });
    engine.defineAggregate('Customer', customer(2));
    engine.defineProjection('directory', directory);
    const errors = [];
    const seen = [];
    engine.subscribe((e) => seen.push(e.position), { fromPosition: 0, onError: (error, event) => errors.push([error, event]) });
    engine.defineUpcaster('customer_registered', {
      from: 1,
      up(data, event) {
        if (event.streamId === 'c2') throw new Error('Babbage has no first name');
        return splitName.up(data);
      },
    });
    await rejects(engine.load('Customer', 'c2'), InternalError, "'customer_registered'", 'schemaVersion 1', 'position 2', 'Babbage');
    assert.equal((await engine.load('Customer', 'c1')).state.firstName, 'Ada');
    const stopped = await rejects(engine.projection('directory'), ProjectionError, 'Babbage');
    assert.equal(stopped.position, 2);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(seen, [1]);
    assert.equal(errors.length, 1);
    assert.ok(errors[0][0] instanceof InternalError);
    assert.deepEqual(errors[0][1], FIXTURE[1], 'onError gets the event as stored');
    await engine.close();
  });

  test('definitions: chains without gaps, versions that replace, bad arguments', async () => {
    const engine = await openAt(2);
    assert.throws(() => engine.defineUpcaster('customer_moved', { from: 2, up: (d) => d }), (e) => e instanceof ValidationError && /gap/.test(e.message));
    assert.throws(() => engine.defineUpcaster('customer_registered', splitName), ValidationError);
    for (const bad of [undefined, {}, { from: 0, up: (d) => d }, { from: 1.5, up: (d) => d }, { from: 1 }, { from: 1, up: 'x' }]) {
      assert.throws(() => engine.defineUpcaster('t', bad), ValidationError, JSON.stringify(bad));
    }
    assert.throws(() => engine.defineUpcaster(5, splitName), ValidationError);
    const returnsNothing = await Engine.open({ storage: await v1Storage() });
    returnsNothing.defineAggregate('Customer', customer(2));
    returnsNothing.defineUpcaster('customer_registered', { from: 1, up: () => 42 });
    await rejects(returnsNothing.load('Customer', 'c1'), InternalError, 'an object');
    // The same version again is refused; another replaces the definition (and what it built).
    assert.throws(() => engine.defineAggregate('Customer', customer(2), { version: 2 }), ValidationError);
    engine.defineAggregate('Customer', { initialState: 0, decide: () => [], evolve: (n) => n + 1 }, { version: 3 });
    assert.equal((await engine.load('Customer', 'c1')).state, 3);
    assert.throws(() => engine.defineProjection('directory', directory, { version: 2 }), ValidationError);
    engine.defineProjection('directory', { initialState: 0, evolve: (n) => n + 1 }, { version: 3 });
    assert.equal(await engine.projection('directory'), 6);
    for (const bad of [{ version: 0 }, { version: -1 }, { version: 'x' }, 'v2']) {
      assert.throws(() => engine.defineProjection('p', directory, bad), ValidationError, JSON.stringify(bad));
    }
    // A rename to the same type is just data; `{ type, data }` with other fields is data too.
    const same = await Engine.open({ storage: await v1Storage() });
    same.defineUpcaster('customer_moved', { from: 1, up: (data) => ({ type: 'customer_moved', data: { address: 'same' } }) });
    same.defineUpcaster('customer_registered', { from: 1, up: (data) => ({ type: 'x', data: {}, extra: 1 }) });
    const events = await same.readAll();
    assert.deepEqual(events.find((e) => e.type === 'customer_moved').data, { address: 'same' });
    assert.deepEqual(events[0].data, { type: 'x', data: {}, extra: 1 });
    for (const e of [engine, returnsNothing, same]) await e.close();
  });

  test('metadata.schemaVersion and $encrypted are the engine\'s', async () => {
    const engine = await openAt(3);
    await rejects(engine.execute('Customer', 'c9', { type: 'move', address: 'x' }, { metadata: { schemaVersion: 1 } }), ValidationError, 'schemaVersion');
    await rejects(engine.execute('Customer', 'c9', { type: 'move', address: { $encrypted: 1 } }), ValidationError, '$encrypted');
    assert.equal(await engine.streamVersion('c9'), 0);
    await engine.close();
  });
});
