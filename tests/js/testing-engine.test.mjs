// eventjournal/testing decides exactly as the engine does. The same aggregates and commands go
// through a real Engine and through the kit (given: the stream's events so far), and the
// outcomes must match: the events (type, data, metadata, version, stream, timestamp), or the
// error code, and the message wherever the message is the aggregate's own (what decide threw).
// Every path of src/wasm/user_code.rs and the engine's checks of decided events is covered:
// what decide may return, how a throw maps to a code, the deep copy of the state passed to
// decide, the JSON copy of the command, initialState as a value or a function, evolve failing
// on its own events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Engine, ValidationError } from 'eventjournal';
import { decider } from 'eventjournal/testing';

const NOW = 1_700_000_000_000;
const deep = (levels) => { let v = {}; for (let i = 0; i < levels; i += 1) v = { v }; return v; };
const cyclic = () => { const o = { a: 1 }; o.self = o; return o; };

// decide answers from the command, so one aggregate reaches every path. It also mutates the
// state it is given: the copy must keep that from the next command.
const probe = {
  initialState: () => ({ n: 0, seen: [] }),
  decide(state, c) {
    const n = state.n;
    state.n = -1_000_000;
    state.seen.push('mutated by decide');
    switch (c.type) {
      case 'add': return [{ type: 'added', data: { by: c.by, n } }];
      case 'echo': return [{ type: 'echoed', data: { keys: Object.keys(c), command: c } }];
      case 'raw': return c.events; // the events exactly as the command gives them
      case 'many': return Array.from({ length: c.count }, (_, i) => ({ type: 'added', data: { by: i, n } }));
      case 'none': return [];
      case 'refuse': throw new Error(`refused at n=${n}`);
      case 'invalid': throw new ValidationError(`invalid at n=${n}`);
      case 'throw': throw c.value;
      case 'throwCoded': throw Object.assign(new Error(`coded ${c.code}`), { code: c.code });
      case 'poison': return [{ type: 'added', data: { by: 1 } }, { type: c.kind }];
      case 'weird': return WEIRD[c.which]();
      default: throw new Error(`unknown command ${c.type}`);
    }
  },
  evolve(state, e) {
    if (e.type === 'explodes') throw new Error(`evolve cannot take ${e.type} at version ${e.version}`);
    if (e.type === 'vanishes') return undefined;
    if (e.type === 'added') return { n: state.n + e.data.by, seen: [...state.seen, `${e.streamId}@${e.version}`] };
    return state;
  },
};

// what decide returns that no command (JSON) can carry
const WEIRD = {
  promise: () => Promise.resolve([]),
  object: () => ({ type: 'added' }),
  string: () => 'added',
  undefined: () => undefined,
  bigint: () => [{ type: 'added', data: { by: 1n } }],
  cycle: () => [{ type: 'added', data: cyclic() }],
  date: () => [{ type: 'added', data: new Date(0) }],
  dateInside: () => [{ type: 'added', data: { by: 1, at: new Date(0) } }],
  nan: () => [{ type: 'added', data: { by: 0, x: NaN, y: undefined, f() {} } }],
  fn: () => [() => 1],
  nested124: () => [{ type: 'nested', data: deep(124) }],
  nested125: () => [{ type: 'nested', data: deep(125) }],
  nested126: () => [{ type: 'nested', data: deep(126) }],
  loneSurrogate: () => [{ type: 'added', data: { by: 1, s: 'a\ud800b' } }],
  loneSurrogateKey: () => [{ type: 'added', data: { by: 1, ['\udc00']: 1 } }],
  pairedSurrogate: () => [{ type: 'added', data: { by: 1, s: '😀' } }],
  bigEvent: () => [{ type: 'added', data: { by: 1, s: 'x'.repeat(1 << 20) } }],
  almostBigEvent: () => [{ type: 'added', data: { by: 1, s: 'x'.repeat((1 << 20) - 40) } }],
  bigBatch: () => Array.from({ length: 3 }, () => ({ type: 'added', data: { by: 1, s: 'x'.repeat(800_000) } })),
  longType: () => [{ type: 'x'.repeat(257) }],
  maxType: () => [{ type: 'x'.repeat(256) }],
  astralType: () => [{ type: '😀'.repeat(129) }],
  sparse: () => [, { type: 'added', data: { by: 1 } }], // eslint-disable-line no-sparse-arrays
  getter: () => [{ get type() { return 'added'; }, data: { by: 2 } }],
  throwingGetter: () => [{ get type() { throw new Error('getter failed'); } }],
  toJSON: () => [{ type: 'added', data: { by: 1, when: { toJSON: () => 'now' } } }],
};

// Commands: [streamId, command, whether the message must match the engine's too]
const OWN = true; // the message is what decide threw: it must be the same
const commands = [
  ['s1', { type: 'add', by: 5 }, OWN],
  ['s1', { type: 'add', by: 2, extra: { nested: [1, 'two', null] } }, OWN],
  ['s2', { type: 'add', by: 1 }, OWN],
  ['s1', { type: 'many', count: 3 }, OWN],
  ['s1', { type: 'none' }, OWN],
  ['s1', { type: 'refuse' }, OWN],
  ['s3', { type: 'refuse' }, OWN],
  ['s1', { type: 'invalid' }, OWN],
  ['s1', { type: 'throw', value: 'a plain string' }, OWN],
  ['s1', { type: 'throw', value: null }, OWN],
  ['s1', { type: 'throw' }, OWN], // undefined
  ['s1', { type: 'throw', value: 42 }, OWN],
  ['s1', { type: 'throw', value: { code: 'VALIDATION', why: 'a plain object' } }, OWN],
  ['s1', { type: 'throw', value: { code: 'NOT_FOUND' } }, OWN],
  ['s1', { type: 'throwCoded', code: 'VALIDATION' }, OWN],
  ['s1', { type: 'throwCoded', code: 'CONCURRENCY' }, OWN],
  ['s1', { type: 'throwCoded', code: 'DOMAIN' }, OWN],
  ['s1', { type: 'echo', zeta: 1, alpha: { b: 1, a: 2 }, 10: 'ten', 2: 'two', é: 1, '😀': 1, '\uffff': 1, undef: undefined }, OWN],
  ['s1', { type: 'raw', events: [{ type: 'added', data: { by: 1 }, metadata: { source: 'raw', n: 1 } }] }, OWN],
  ['s1', { type: 'raw', events: [{ type: 'added', data: null, metadata: null }] }, OWN],
  ['s1', { type: 'raw', events: [{ type: 'noted' }] }, OWN],
  ['s1', { type: 'raw', events: [{ type: 'noted', data: { z: 1, a: { y: 2, b: 3 } }, ignored: 'field' }] }, OWN],
  ['s1', { type: 'raw', events: [] }, OWN],
  ['s1', { type: 'raw', events: {} }],
  ['s1', { type: 'raw', events: null }],
  ['s1', { type: 'raw', events: [null] }],
  ['s1', { type: 'raw', events: [5] }],
  ['s1', { type: 'raw', events: [[]] }],
  ['s1', { type: 'raw', events: [{}] }],
  ['s1', { type: 'raw', events: [{ type: 5 }] }],
  ['s1', { type: 'raw', events: [{ type: '' }] }],
  ['s1', { type: 'raw', events: [{ type: 'noted', data: [1] }] }],
  ['s1', { type: 'raw', events: [{ type: 'noted', data: 'text' }] }],
  ['s1', { type: 'raw', events: [{ type: 'noted', data: 5 }] }],
  ['s1', { type: 'raw', events: [{ type: 'noted', metadata: [] }] }],
  ['s1', { type: 'raw', events: [{ type: 'noted', metadata: 'm' }] }],
  ['s1', { type: 'raw', events: [{ type: 'noted' }, { type: 'noted', data: 1 }] }],
  ['s1', { type: 'poison', kind: 'explodes' }, OWN],
  ['s1', { type: 'poison', kind: 'vanishes' }],
  ['s1', { type: 'add', by: 1 }, OWN], // nothing of the refused commands stayed
  ...Object.keys(WEIRD).map((which) => ['s4', { type: 'weird', which }]),
  // commands the engine refuses before decide
  ['s1', { type: '' }],
  ['s1', { type: 'x'.repeat(257) }],
  ['s1', { type: 5 }],
  ['s1', { kind: 'add' }],
  ['s1', []],
  ['s1', 'add'],
  ['s1', null],
  ['s1', { type: 'add', by: 1n }],
  ['s1', { type: 'add', by: 1, self: cyclic() }],
  ['s1', { type: 'add', by: 1, big: 'x'.repeat(2 * (1 << 20)) }],
  ['s1', { type: 'add', by: 1, deep: deep(130) }],
  ['s1', { type: 'add', by: 1, s: '\ud800' }],
];

/** The outcome of one command on the engine, and through the kit given the stream so far. */
async function bothWays(engine, definition, streamType, streamId, command) {
  const stream = await engine.readStream(streamId);
  const given = stream.map(({ type, data, metadata, timestamp }) => ({ type, data, metadata, timestamp }));
  const spec = decider(definition, { streamType, streamId, clock: () => NOW }).given(given).when(command);
  let fromEngine;
  try {
    fromEngine = { events: (await engine.execute(streamType, streamId, command)).events };
  } catch (e) {
    fromEngine = { error: e };
  }
  return { spec, fromEngine };
}

/** A short description of a command for messages (it may hold cycles and BigInts). */
function describe(command) {
  try {
    return String(JSON.stringify(command, (k, v) => (typeof v === 'bigint' ? `${v}n` : v))).slice(0, 120);
  } catch {
    return `${command && command.type} (not JSON)`;
  }
}

const comparable = (e) => ({
  type: e.type, data: e.data, metadata: e.metadata, streamId: e.streamId, streamType: e.streamType,
  version: e.version, timestamp: e.timestamp,
});

/** Asserts that the kit agrees with the engine on this outcome. */
function agree({ spec, fromEngine }, ownMessage, what) {
  if (fromEngine.events) {
    const expected = fromEngine.events.map(({ type, data, metadata }) => ({ type, data, metadata }));
    const fromKit = spec.then(expected);
    assert.deepEqual(fromKit.map(comparable), fromEngine.events.map(comparable), what);
    for (const e of fromKit) {
      assert.deepEqual(Object.keys(e).sort(), ['data', 'hash', 'id', 'metadata', 'position', 'streamId', 'streamType', 'timestamp', 'type', 'version']);
    }
    return 'events';
  }
  const { error } = fromEngine;
  assert.ok(['VALIDATION', 'DOMAIN', 'INTERNAL'].includes(error.code), `${what}: the engine said ${error.name}: ${error.message}`);
  const fromKit = spec.thenThrows(error.code);
  assert.equal(fromKit.name, error.name, what);
  assert.ok(fromKit instanceof Error && fromKit.constructor === error.constructor, `${what}: the same error class`);
  if (ownMessage) assert.equal(fromKit.message, error.message, what);
  return error.code;
}

test('the kit and the engine agree on every path of decide, evolve and the checks of events', async () => {
  const engine = await Engine.open({ clock: () => NOW });
  engine.defineAggregate('Probe', probe);
  const seen = { events: 0, VALIDATION: 0, DOMAIN: 0, INTERNAL: 0 };
  for (const [streamId, command, own] of commands) {
    const what = `${streamId} ${describe(command)}`;
    const outcome = await bothWays(engine, probe, 'Probe', streamId, command);
    seen[agree(outcome, own, what)] += 1;
  }
  // the list reaches every outcome, the common ones many times
  assert.ok(seen.events >= 10 && seen.VALIDATION >= 20 && seen.DOMAIN >= 8 && seen.INTERNAL >= 1, JSON.stringify(seen));
  await engine.close();
});

test('initialState as a value is copied for every stream, also when evolve mutates it in place', async () => {
  const tally = {
    initialState: { list: [], total: 0 },
    decide: (state, c) => (c.type === 'check' ? [{ type: 'checked', data: { list: state.list, total: state.total } }] : [{ type: 'pushed', data: { v: c.v } }]),
    evolve: (state, e) => {
      if (e.type === 'pushed') { state.list.push(e.data.v); state.total += e.data.v; }
      return state;
    },
  };
  const engine = await Engine.open({ clock: () => NOW });
  engine.defineAggregate('Tally', tally);
  for (const [streamId, command] of [['a', { type: 'push', v: 1 }], ['a', { type: 'push', v: 2 }], ['b', { type: 'check' }],
    ['b', { type: 'push', v: 5 }], ['a', { type: 'check' }], ['b', { type: 'check' }], ['c', { type: 'check' }]]) {
    agree(await bothWays(engine, tally, 'Tally', streamId, command), true, `${streamId} ${command.type}`);
  }
  assert.deepEqual(tally.initialState, { list: [], total: 0 }, 'the definition itself is untouched');
  await engine.close();
});

test('evolve failing on an earlier event is an InternalError for the next command, the same way', async () => {
  let armed = false; // evolve fails once armed: the stream's earlier events can no longer be folded
  const fragile = {
    initialState: 0,
    decide: (n, c) => [{ type: 'counted', data: { by: c.by, n } }],
    evolve: (n, e) => {
      if (armed && e.version === 2) throw new Error('cannot fold version 2 any more');
      return n + e.data.by;
    },
  };
  const engine = await Engine.open({ clock: () => NOW, snapshotEvery: 1000 });
  engine.defineAggregate('Fragile', fragile);
  for (const by of [1, 2, 3]) agree(await bothWays(engine, fragile, 'Fragile', 'f', { type: 'count', by }), true, `count ${by}`);
  // a second engine on the same events folds the stream again when the next command comes
  const events = await engine.readAll();
  const reader = await Engine.open({ storage: { readEvents: (after, limit) => events.slice(after, after + limit), appendEvents() {} }, clock: () => NOW });
  reader.defineAggregate('Fragile', fragile);
  armed = true;
  const outcome = await bothWays(reader, fragile, 'Fragile', 'f', { type: 'count', by: 4 });
  assert.equal(agree(outcome, true, 'after evolve broke'), 'INTERNAL');
  await reader.close();
  await engine.close();
});

test('random command sequences: the kit and the engine agree (property)', async () => {
  const command = fc.oneof(
    fc.record({ type: fc.constant('add'), by: fc.integer({ min: -5, max: 5 }) }),
    fc.record({ type: fc.constant('many'), count: fc.nat(4) }),
    fc.constantFrom({ type: 'none' }, { type: 'refuse' }, { type: 'invalid' }, { type: 'poison', kind: 'explodes' }),
    fc.record({ type: fc.constant('raw'), events: fc.array(fc.record({ type: fc.constantFrom('added', 'noted', ''), data: fc.option(fc.dictionary(fc.string({ maxLength: 3 }), fc.jsonValue({ maxDepth: 2 })), { nil: undefined }) }, { requiredKeys: ['type'] }), { maxLength: 3 }) }),
    fc.record({ type: fc.constant('echo'), payload: fc.jsonValue({ maxDepth: 3 }) }),
  );
  await fc.assert(fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom('p', 'q'), command), { minLength: 1, maxLength: 12 }), async (steps) => {
    const engine = await Engine.open({ clock: () => NOW });
    engine.defineAggregate('Probe', probe);
    for (const [streamId, c] of steps) {
      // 'added' events carry `by`: make the random ones fold like the others
      const fixed = c.type === 'raw' ? { ...c, events: c.events.map((e) => (e.type === 'added' ? { ...e, data: { ...e.data, by: 1 } } : e)) } : c;
      agree(await bothWays(engine, probe, 'Probe', streamId, fixed), ['add', 'refuse', 'invalid', 'none', 'many'].includes(c.type), describe(fixed));
    }
    await engine.close();
  }), { numRuns: Number(process.env.KIT_RUNS || 60) });
});
