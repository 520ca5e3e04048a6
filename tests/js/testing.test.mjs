// eventjournal/testing on its own: what `then` and `thenThrows` accept and report, the
// readable diff, the checks of definitions, options and given events, and projections.
// (testing-engine.test.mjs proves that the kit decides exactly as the engine does.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DomainError, ValidationError, ProjectionError } from 'eventjournal';
import { decider, projection, AssertionError } from 'eventjournal/testing';

const todo = {
  initialState: { title: null, done: false },
  decide(state, command) {
    switch (command.type) {
      case 'add':
        if (!command.title) throw new ValidationError('a todo needs a title');
        if (state.title) throw new Error('already added');
        return [{ type: 'added', data: { title: command.title }, metadata: { source: 'ui' } }];
      case 'complete':
        if (state.done) throw new Error('already done');
        return [{ type: 'completed' }];
      default:
        return [];
    }
  },
  evolve(state, event) {
    if (event.type === 'added') return { ...state, title: event.data.title };
    if (event.type === 'completed') return { ...state, done: true };
    return state;
  },
};

/** The AssertionError `fn` throws. */
function failure(fn) {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof AssertionError, `expected an AssertionError, got ${e && e.name}: ${e && e.message}`);
    assert.equal(e.name, 'AssertionError');
    assert.equal(e.code, 'ERR_ASSERTION');
    return e;
  }
  assert.fail('expected the specification to fail');
}

test('then: the decided events, stamped as the engine would; fields left out are not compared', () => {
  const events = decider(todo, { streamType: 'Todo', streamId: 't1', clock: () => 1234 })
    .given([{ type: 'added', data: { title: 'docs' } }])
    .when({ type: 'complete' })
    .then([{ type: 'completed', data: {} }]);
  assert.equal(events.length, 1);
  const [e] = events;
  assert.deepEqual({ ...e, id: undefined }, {
    id: undefined, streamId: 't1', streamType: 'Todo', type: 'completed', data: {}, metadata: {},
    timestamp: 1234, version: 2, position: 2, hash: '0'.repeat(64),
  });
  assert.match(e.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  // type only, or type and data, or all three
  decider(todo).when({ type: 'add', title: 'x' }).then([{ type: 'added' }]);
  decider(todo).when({ type: 'add', title: 'x' }).then([{ type: 'added', data: { title: 'x' } }]);
  decider(todo).when({ type: 'add', title: 'x' }).then([{ type: 'added', data: { title: 'x' }, metadata: { source: 'ui' } }]);
  decider(todo).when({ type: 'other' }).then([]);
  // defaults: stream 'test-1' of type 'Test'
  const [added] = decider(todo).when({ type: 'add', title: 'x' }).then([{ type: 'added' }]);
  assert.deepEqual([added.streamId, added.streamType, added.version], ['test-1', 'Test', 1]);
});

test('then: a mismatch is an AssertionError with a line diff, actual and expected', () => {
  const e = failure(() => decider(todo).when({ type: 'add', title: 'docs' }).then([{ type: 'added', data: { title: 'tests' } }]));
  assert.equal(e.operator, 'then');
  assert.deepEqual(e.expected, [{ type: 'added', data: { title: 'tests' } }]);
  assert.deepEqual(e.actual, [{ type: 'added', data: { title: 'docs' } }]);
  assert.match(e.message, /^decider: the events differ \(- expected, \+ actual\):/);
  assert.match(e.message, /^- {7}"title": "tests"$/m);
  assert.match(e.message, /^\+ {7}"title": "docs"$/m);
  assert.match(e.message, /^ {2}\[$/m, 'common lines are kept, unmarked');
  // metadata is compared when given
  const m = failure(() => decider(todo).when({ type: 'add', title: 'x' }).then([{ type: 'added', metadata: { source: 'api' } }]));
  assert.match(m.message, /^- {7}"source": "api"$/m);
  // a missing or an extra event
  const fewer = failure(() => decider(todo).when({ type: 'add', title: 'x' }).then([]));
  assert.match(fewer.message, /^\+ {5}"type": "added"$/m);
  const more = failure(() => decider(todo).when({ type: 'other' }).then([{ type: 'added' }]));
  assert.match(more.message, /^- {5}"type": "added"$/m);
  // order matters
  const two = { ...todo, decide: () => [{ type: 'a' }, { type: 'b' }] };
  decider(two).when({ type: 'x' }).then([{ type: 'a' }, { type: 'b' }]);
  failure(() => decider(two).when({ type: 'x' }).then([{ type: 'b' }, { type: 'a' }]));
});

test('then: a refused command fails the assertion, naming the error', () => {
  const e = failure(() => decider(todo).given([{ type: 'added', data: { title: 'x' } }, { type: 'completed' }])
    .when({ type: 'complete' }).then([{ type: 'completed' }]));
  assert.match(e.message, /expected success, but it failed with DomainError \(DOMAIN\): already done/);
  assert.ok(e.actual instanceof DomainError);
});

test('thenThrows: the code and the message (substring or RegExp); a mismatch or a success fails', () => {
  const spec = decider(todo).given([{ type: 'added', data: { title: 'x' } }, { type: 'completed' }]).when({ type: 'complete' });
  const err = spec.thenThrows('DOMAIN');
  assert.ok(err instanceof DomainError, 'the package\'s own error classes (one set per runtime)');
  assert.equal(err.message, 'already done');
  spec.thenThrows();
  spec.thenThrows('DOMAIN', 'already');
  spec.thenThrows('DOMAIN', /^already done$/);
  spec.thenThrows(undefined, 'done');
  const wrongCode = failure(() => spec.thenThrows('VALIDATION'));
  assert.match(wrongCode.message, /expected VALIDATION, but it failed with DomainError \(DOMAIN\): already done/);
  assert.deepEqual(wrongCode.actual, { code: 'DOMAIN', message: 'already done' });
  const wrongMessage = failure(() => spec.thenThrows('DOMAIN', 'not yet'));
  assert.match(wrongMessage.message, /expected DOMAIN with a message including not yet/);
  failure(() => spec.thenThrows('DOMAIN', /^done/));
  const succeeded = failure(() => decider(todo).when({ type: 'complete' }).thenThrows('DOMAIN'));
  assert.match(succeeded.message, /expected DOMAIN, but it succeeded with:\n\[/);
  assert.equal(succeeded.operator, 'thenThrows');
  // a ValidationError thrown by decide is VALIDATION
  assert.ok(decider(todo).when({ type: 'add' }).thenThrows('VALIDATION', 'needs a title') instanceof ValidationError);
  // the arguments are checked
  assert.throws(() => spec.thenThrows('DOMAIN_ERROR'), { name: 'ValidationError', message: /one of VALIDATION, DOMAIN/ });
  assert.throws(() => spec.thenThrows('DOMAIN', 5), { name: 'ValidationError' });
});

test('decide gets a copy of the state and of the command; given events are JSON', () => {
  const seen = [];
  const mutating = {
    initialState: () => ({ list: [] }),
    decide(state, command) {
      seen.push(JSON.parse(JSON.stringify({ state, command })));
      state.list.push('from decide');
      command.extra = true;
      return [{ type: 'pushed', data: { item: command.item } }];
    },
    evolve: (state, event) => ({ list: [...state.list, event.data.item] }),
  };
  const command = { type: 'push', item: 'b', when: new Date(0), skip: undefined };
  decider(mutating).given([{ type: 'pushed', data: { item: 'a' } }]).when(command).then([{ type: 'pushed', data: { item: 'b' } }]);
  assert.deepEqual(seen, [{ state: { list: ['a'] }, command: { item: 'b', type: 'push', when: '1970-01-01T00:00:00.000Z' } }]);
  assert.equal(command.extra, undefined, 'the caller\'s command is untouched');
});

test('definitions, options, given events and expected events are checked (ValidationError)', () => {
  for (const bad of [undefined, null, 5, [], {}, { decide() {}, evolve: 5 }, { decide: 1, evolve() {} },
    { decide() {}, evolve() {}, initialState: () => { throw new Error('no state'); } },
    { decide() {}, evolve() {}, initialState: { n: 1n } }]) {
    assert.throws(() => decider(bad), { name: 'ValidationError' }, String(bad));
  }
  for (const bad of [5, { streamId: '' }, { streamType: 5 }, { clock: 5 }, { streamID: 'typo' }, { name: 'x' }]) {
    assert.throws(() => decider(todo, bad), { name: 'ValidationError' }, JSON.stringify(bad));
  }
  const spec = decider(todo);
  for (const bad of [undefined, {}, 'added', [null], [{}], [{ type: '' }], [{ type: 'added', data: [] }], [{ type: 'added', data: 'x' }],
    [{ type: 'added', payload: {} }], [{ type: 'added', metadata: 5 }], [{ type: 'added', timestamp: -1 }],
    [{ type: 'added', streamId: 'other' }], [{ type: 'x'.repeat(257) }]]) {
    assert.throws(() => spec.given(bad), { name: 'ValidationError' }, JSON.stringify(bad));
  }
  const when = spec.when({ type: 'add', title: 'x' });
  for (const bad of [undefined, { type: 'added' }, [{ type: 'added', extra: 1 }], [{ data: {} }], [{ type: 'added', data: 5 }]]) {
    assert.throws(() => when.then(bad), { name: 'ValidationError' }, JSON.stringify(bad));
  }
});

test('awaiting a specification by mistake says so', async () => {
  const when = decider(todo).when({ type: 'add', title: 'x' });
  await assert.rejects(async () => { await when; }, { name: 'ValidationError', message: /specifications are synchronous/ });
});

const openTodos = {
  initialState: () => ({}),
  filter: { streamType: 'Todo' },
  evolve(todos, event) {
    if (event.type === 'added') return { ...todos, [event.streamId]: { title: event.data.title, since: event.version } };
    if (event.type === 'completed') {
      const { [event.streamId]: _, ...rest } = todos;
      return rest;
    }
    return todos;
  },
};

test('projection: the state after the given events, filtered like the engine', () => {
  const state = projection(openTodos, { streamType: 'Todo' }).given([
    { type: 'added', streamId: 't1', data: { title: 'docs' } },
    { type: 'added', streamId: 't2', data: { title: 'tests' } },
    { type: 'added', streamId: 'n1', streamType: 'Note', data: { title: 'ignored: another stream type' } },
    { type: 'renamed', streamId: 't2', data: { title: 'ignored by evolve' } },
    { type: 'completed', streamId: 't1' },
  ]).then({ t2: { title: 'tests', since: 1 } });
  assert.deepEqual(state, { t2: { title: 'tests', since: 1 } });
  // types and streamId filters
  const count = { initialState: 0, evolve: (n) => n + 1 };
  const events = [{ type: 'a', streamId: 'x' }, { type: 'b', streamId: 'x' }, { type: 'a', streamId: 'y' }];
  projection(count).given(events).then(3);
  projection({ ...count, filter: { types: ['a'] } }).given(events).then(2);
  projection({ ...count, filter: { types: 'b' } }).given(events).then(1);
  projection({ ...count, filter: { streamId: 'y' } }).given(events).then(1);
  projection({ ...count, filter: { streamType: 'Other' } }).given(events).then(0);
  // versions count per stream, positions along the log
  const positions = { initialState: [], evolve: (list, e) => [...list, `${e.streamId}:${e.version}@${e.position}`] };
  projection(positions).given(events).then(['x:1@1', 'x:2@2', 'y:1@3']);
  // the state as JSON, and a mismatch with a diff
  projection({ initialState: {}, evolve: (s) => ({ ...s, at: new Date(0), gone: undefined }) }).given([{ type: 'a' }]).then({ at: '1970-01-01T00:00:00.000Z' });
  const e = failure(() => projection(count).given(events).then(4));
  assert.match(e.message, /^projection: the state differs \(- expected, \+ actual\):\n- 4\n\+ 3$/);
});

test('projection: an evolve that throws is a ProjectionError naming the projection and the position', () => {
  const fragile = { initialState: 0, evolve: (n, e) => { if (e.data.bad) throw new Error('bad event'); return n + 1; } };
  const spec = projection(fragile, { name: 'fragile' }).given([{ type: 'a' }, { type: 'a', data: { bad: true } }, { type: 'a' }]);
  const err = spec.thenThrows('PROJECTION', "projection 'fragile' stopped at position 2: bad event");
  assert.ok(err instanceof ProjectionError);
  assert.equal(err.position, 2);
  assert.equal(err.projection, 'fragile');
  failure(() => spec.then(1));
  projection({ initialState: 0, evolve: () => undefined }).given([{ type: 'a' }]).thenThrows('PROJECTION', 'evolve must return the next state');
  // definitions are checked
  for (const bad of [null, { evolve: 5 }, { evolve() {}, filter: 5 }, { evolve() {}, filter: { types: [1] } }, { evolve() {}, filter: { streamId: 5 } }]) {
    assert.throws(() => projection(bad), { name: 'ValidationError' }, JSON.stringify(bad));
  }
  assert.throws(() => projection(fragile).given([{ type: 'a', streamId: 's', streamType: 'A' }, { type: 'a', streamId: 's', streamType: 'B' }]), { name: 'ValidationError', message: /stream 's' is a A stream/ });
});
