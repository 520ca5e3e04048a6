// The contract suite: every function, option, error code and bad input of DESIGN.md §4–§5,
// written once and run both in Node (contract.test.mjs) and in headless Chromium against
// the web build (contract.browser.mjs). No Node-only APIs here.

// `lib.newStorage` (optional, may be async) gives the storage the storage-related tests use:
// (await newStorage()) by default; the SQLite and IndexedDB runs pass their adapters, so every
// adapter meets the same contract. `lib.reopenStorage(storage)` (optional) opens another adapter
// on the same store. `lib.storageFactory` describes the factory for the adapter policy tests
// (contract/adapters.mjs; default: memoryStorage).
import { show, ok, eq, deepEq, rejects, tick, until } from './assert.mjs';
import { adapterTests } from './adapters.mjs';

export function createSuite(lib) {
  const {
    Engine, EventJournalError, ValidationError, DomainError, ConcurrencyError,
    StorageError, IntegrityError, NotFoundError, ProjectionError, ClosedError, ForbiddenError,
    InternalError, UnauthenticatedError, ProtocolError, NetworkError, ERROR_CODES,
  } = lib;
  // Memory stores by name, so that a second adapter (or an engine reopened) finds the first's events.
  const memoryNames = new WeakMap();
  let memoryStores = 0;
  const openMemory = async (name) => {
    const storage = await lib.memoryStorage(name);
    memoryNames.set(storage, name);
    return storage;
  };
  const newStorage = async () => (lib.newStorage ? lib.newStorage() : openMemory(`contract-${Date.now()}-${(memoryStores += 1)}`));
  // A second adapter on the same store (after close, or for a second engine, like a second tab
  // or process): a new connection.
  const reopen = async (storage) => (lib.reopenStorage ? lib.reopenStorage(storage) : openMemory(memoryNames.get(storage)));
  const tests = [];
  const test = (name, fn) => tests.push({ name, fn });

  const clockAt = (start) => { let now = start; const f = () => now; f.set = (t) => { now = t; }; f.advance = (d) => { now += d; }; return f; };
  const create = (holder = 'John Doe', initialDeposit = 100000) => ({ type: 'create_account', accountHolder: holder, initialDeposit });
  const place = (customerId = 'customer_123') => ({
    type: 'place_order', customerId, shippingAddress: '123 Main St',
    items: [{ itemId: 'item_001', quantity: 2, price: 2999 }, { itemId: 'item_002', quantity: 1, price: 4999 }],
  });

  // ---------------------------------------------------------------- opening
  test('Engine.open with defaults, and every option', async () => {
    const engine = await Engine.open();
    eq((await engine.stats()).totalEvents, 0);
    const clock = clockAt(1_700_000_000_000);
    const e2 = await Engine.open({ storage: (await newStorage()), snapshotEvery: 5, clock, appendTimeoutMs: 1000, projectionSnapshotEvery: 16 });
    const r = await e2.execute('BankAccount', 'a', create());
    eq(r.events[0].timestamp, 1_700_000_000_000);
    await e2.close();
    await engine.close();
  });

  test('Engine.open rejects bad options with ValidationError', async () => {
    await rejects(Engine.open(5), 'VALIDATION');
    await rejects(Engine.open('x'), 'VALIDATION');
    await rejects(Engine.open([]), 'VALIDATION');
    for (const snapshotEvery of [0, -1, 1.5, 'x', NaN, 2 ** 60]) await rejects(Engine.open({ snapshotEvery }), 'VALIDATION');
    await rejects(Engine.open({ clock: 5 }), 'VALIDATION');
    await rejects(Engine.open({ appendTimeoutMs: -1 }), 'VALIDATION');
    await rejects(Engine.open({ appendTimeoutMs: 'soon' }), 'VALIDATION');
  });

  test('a storage without readEvents/appendEvents, or not an object, is a StorageError', async () => {
    await rejects(Engine.open({ storage: {} }), 'STORAGE', 'readEvents');
    await rejects(Engine.open({ storage: { readEvents: () => [] } }), 'STORAGE', 'appendEvents');
    await rejects(Engine.open({ storage: 'db' }), 'STORAGE');
    await rejects(Engine.open({ storage: { readEvents: 5, appendEvents() {} } }), 'STORAGE');
  });

  // ---------------------------------------------------------------- the seed demo
  test('the seed demo: bank account, order, time travel, replay, stats, history', async () => {
    const clock = clockAt(1_700_000_000_000);
    const engine = await Engine.open({ clock });
    await engine.execute('BankAccount', 'account_001', create());
    clock.advance(60_000);
    const beforeDeposits = clock();
    clock.advance(60_000);
    await engine.execute('BankAccount', 'account_001', { type: 'deposit', amount: 50000, description: 'Salary' });
    await engine.execute('BankAccount', 'account_001', { type: 'withdraw', amount: 20000, description: 'Rent' });
    const last = await engine.execute('BankAccount', 'account_001', { type: 'deposit', amount: 30000, description: 'Bonus' });
    eq(last.version, 5);
    const { state, version } = await engine.load('BankAccount', 'account_001');
    eq(version, 5);
    deepEq(state, { accountId: 'account_001', accountHolder: 'John Doe', balance: 160000, isActive: true, createdAt: 1_700_000_000_000, closedAt: null });
    await rejects(engine.execute('BankAccount', 'account_001', { type: 'withdraw', amount: 10_000_000 }), 'DOMAIN', 'Insufficient funds');
    await engine.execute('Order', 'order_001', place());
    await engine.execute('Order', 'order_001', { type: 'confirm_order' });
    await engine.execute('Order', 'order_001', { type: 'ship_order', trackingNumber: 'TRACK123' });
    const order = (await engine.load('Order', 'order_001')).state;
    eq(order.status, 'shipped');
    eq(order.totalAmount, 10997);
    await rejects(engine.execute('Order', 'order_001', { type: 'confirm_order' }), 'DOMAIN', 'Cannot confirm order in status: shipped');
    eq((await engine.load('BankAccount', 'account_001', { at: { version: 2 } })).state.balance, 100000);
    eq((await engine.load('BankAccount', 'account_001', { at: { version: 1 } })).state.balance, 0);
    eq((await engine.load('BankAccount', 'account_001', { at: { timestamp: beforeDeposits } })).state.balance, 100000);
    eq((await engine.load('BankAccount', 'account_001', { at: { timestamp: new Date(beforeDeposits) } })).state.balance, 100000);
    eq((await engine.projection('account_balance', { at: { position: 2 } })).account_001.balance, 100000);
    const history = await engine.readStream('account_001');
    deepEq(history.map((e) => [e.version, e.type]), [[1, 'account_created'], [2, 'money_deposited'], [3, 'money_deposited'], [4, 'money_withdrawn'], [5, 'money_deposited']]);
    deepEq(await engine.replay(), { eventsReplayed: 8, projectionsRebuilt: 2 });
    const stats = await engine.stats();
    eq(stats.totalEvents, 8);
    eq(stats.totalStreams, 2);
    eq(stats.headPosition, 8);
    deepEq(stats.eventTypeDistribution, { account_created: 1, money_deposited: 3, money_withdrawn: 1, order_placed: 1, order_confirmed: 1, order_shipped: 1 });
    eq(stats.headHash, (await engine.readAll({ fromPosition: 7 }))[0].hash);
    deepEq(await engine.verify(), { ok: true, checked: 8, firstBadPosition: null });
    await engine.close();
  });

  // ---------------------------------------------------------------- execute
  test('execute resolves to { events, version, position } with the full event shape', async () => {
    const engine = await Engine.open();
    const r = await engine.execute('BankAccount', 'a1', create('Ada', 500), { metadata: { userId: 'u1' }, commandId: 'cmd-1' });
    deepEq(Object.keys(r).sort(), ['events', 'position', 'version']);
    eq(r.version, 2);
    eq(r.position, 2);
    eq(r.events.length, 2);
    const [e] = r.events;
    deepEq(Object.keys(e).sort(), ['data', 'hash', 'id', 'metadata', 'position', 'streamId', 'streamType', 'timestamp', 'type', 'version']);
    ok(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(e.id), `uuid v7: ${e.id}`);
    ok(/^[0-9a-f]{64}$/.test(e.hash));
    eq(e.streamId, 'a1');
    eq(e.streamType, 'BankAccount');
    eq(e.type, 'account_created');
    deepEq(e.data, { accountHolder: 'Ada', initialDeposit: 500 });
    deepEq(e.metadata, { userId: 'u1', commandId: 'cmd-1' });
    ok(Number.isInteger(e.timestamp) && e.timestamp > 1.6e12);
    ok(r.events[1].timestamp >= e.timestamp);
    await engine.close();
  });

  test('expectedVersion: any, no_stream, exists, exact — and bad values', async () => {
    const engine = await Engine.open();
    const dep = { type: 'deposit', amount: 1 };
    await rejects(engine.execute('BankAccount', 'a', dep, { expectedVersion: 'exists' }), 'CONCURRENCY');
    await rejects(engine.execute('BankAccount', 'a', create(), { expectedVersion: 3 }), 'CONCURRENCY');
    await engine.execute('BankAccount', 'a', create('A', 0), { expectedVersion: 'no_stream' });
    const err = await rejects(engine.execute('BankAccount', 'a', dep, { expectedVersion: 'no_stream' }), 'CONCURRENCY');
    ok(err instanceof ConcurrencyError);
    eq(err.streamId, 'a');
    eq(err.actualVersion, 1);
    await engine.execute('BankAccount', 'a', dep, { expectedVersion: 'exists' });
    await engine.execute('BankAccount', 'a', dep, { expectedVersion: 2 });
    await rejects(engine.execute('BankAccount', 'a', dep, { expectedVersion: 2 }), 'CONCURRENCY');
    await engine.execute('BankAccount', 'a', dep, { expectedVersion: 'any' });
    for (const expectedVersion of [-1, 1.5, 'latest', {}, NaN, Infinity, true, 2 ** 53]) {
      await rejects(engine.execute('BankAccount', 'a', dep, { expectedVersion }), 'VALIDATION');
    }
    eq(await engine.streamVersion('a'), 4);
    await engine.close();
  });

  test('commandId: a repeat resolves to the first result and appends nothing, across a reopen', async () => {
    const storage = (await newStorage());
    const engine = await Engine.open({ storage });
    const first = await engine.execute('BankAccount', 'a', create('A', 500), { commandId: 'c1' });
    const again = await engine.execute('BankAccount', 'a', { type: 'withdraw', amount: 1 }, { commandId: 'c1' });
    deepEq(again, first);
    eq((await engine.stats()).totalEvents, 2);
    await rejects(engine.execute('BankAccount', 'a', { type: 'withdraw', amount: 99999 }, { commandId: 'c2' }), 'DOMAIN');
    const ok2 = await engine.execute('BankAccount', 'a', { type: 'withdraw', amount: 100 }, { commandId: 'c2' });
    eq(ok2.version, 3);
    // in metadata too
    deepEq(await engine.execute('BankAccount', 'a', { type: 'deposit', amount: 5 }, { metadata: { commandId: 'c2' } }), ok2);
    await rejects(engine.execute('BankAccount', 'a', { type: 'deposit', amount: 5 }, { commandId: 'c9', metadata: { commandId: 'c8' } }), 'VALIDATION');
    for (const commandId of [5, '', {}, 'x'.repeat(300)]) {
      await rejects(engine.execute('BankAccount', 'a', { type: 'deposit', amount: 5 }, { commandId }), 'VALIDATION');
    }
    await engine.close();
    const reopened = await Engine.open({ storage: await reopen(storage) });
    deepEq(await reopened.execute('BankAccount', 'a', create(), { commandId: 'c1' }), first);
    eq((await reopened.stats()).totalEvents, 3);
    // concurrent repeats in one burst share the first result
    const burst = await Promise.all([1, 2, 3].map(() => reopened.execute('BankAccount', 'b', create(), { commandId: 'burst' })));
    ok(burst.every((r) => JSON.stringify(r) === JSON.stringify(burst[0])));
    eq((await reopened.stats()).totalEvents, 5);
    await reopened.close();
  });

  test('metadata must be a plain object', async () => {
    const engine = await Engine.open();
    for (const metadata of ['x', 5, [1], true]) {
      await rejects(engine.execute('BankAccount', 'a', create(), { metadata }), 'VALIDATION');
    }
    await rejects(engine.execute('BankAccount', 'a', create(), 'fast'), 'VALIDATION');
    await engine.close();
  });

  test('a stream keeps its type; unknown types are NotFoundError', async () => {
    const engine = await Engine.open();
    await engine.execute('BankAccount', 'x', create());
    await rejects(engine.execute('Order', 'x', { type: 'confirm_order' }), 'VALIDATION', 'BankAccount');
    const nf = await rejects(engine.execute('Spaceship', 'y', { type: 'launch' }), 'NOT_FOUND');
    ok(nf instanceof NotFoundError);
    await rejects(engine.load('Spaceship', 'y'), 'NOT_FOUND');
    await rejects(engine.load('Order', 'x'), 'VALIDATION');
    await engine.close();
  });

  // ---------------------------------------------------------------- reads
  test('readStream: forward, backward, fromVersion, limit — and bad options', async () => {
    const engine = await Engine.open();
    await engine.execute('BankAccount', 'a', create('A', 10));
    for (let i = 1; i <= 3; i++) await engine.execute('BankAccount', 'a', { type: 'deposit', amount: i });
    const v = async (o) => (await engine.readStream('a', o)).map((e) => e.version);
    deepEq(await v(), [1, 2, 3, 4, 5]);
    deepEq(await v({ fromVersion: 2, limit: 2 }), [3, 4]);
    deepEq(await v({ direction: 'backward' }), [5, 4, 3, 2, 1]);
    deepEq(await v({ direction: 'backward', fromVersion: 4, limit: 2 }), [3, 2]);
    deepEq(await v({ direction: 'forward', fromVersion: 9 }), []);
    deepEq(await engine.readStream('nobody'), []);
    await rejects(engine.readStream('a', { direction: 'sideways' }), 'VALIDATION');
    await rejects(engine.readStream('a', { limit: 0 }), 'VALIDATION');
    await rejects(engine.readStream('a', { fromVersion: -1 }), 'VALIDATION');
    await rejects(engine.readStream(''), 'VALIDATION');
    await rejects(engine.readStream(42), 'VALIDATION');
    await engine.close();
  });

  test('readAll: fromPosition, limit, types, streamType, time range', async () => {
    const clock = clockAt(1000);
    const engine = await Engine.open({ clock });
    await engine.execute('BankAccount', 'a', create('A', 10)); // 1,2 @1000
    clock.set(2000);
    await engine.execute('Order', 'o', place()); // 3 @2000
    clock.set(3000);
    await engine.execute('BankAccount', 'a', { type: 'deposit', amount: 1 }); // 4 @3000
    clock.set(2500); // a clock that goes back is held
    await engine.execute('BankAccount', 'a', { type: 'deposit', amount: 1 }); // 5 @3000
    const p = async (o) => (await engine.readAll(o)).map((e) => e.position);
    deepEq(await p(), [1, 2, 3, 4, 5]);
    deepEq(await p({ fromPosition: 3 }), [4, 5]);
    deepEq(await p({ limit: 2 }), [1, 2]);
    deepEq(await p({ types: ['money_deposited'] }), [2, 4, 5]);
    deepEq(await p({ types: ['money_deposited', 'order_placed'], fromPosition: 2 }), [3, 4, 5]);
    deepEq(await p({ streamType: 'Order' }), [3]);
    deepEq(await p({ fromTimestamp: 2000, toTimestamp: 2999 }), [3]);
    deepEq(await p({ fromTimestamp: new Date(3000) }), [4, 5]);
    eq((await engine.readAll({ fromPosition: 4 }))[0].timestamp, 3000);
    await rejects(engine.readAll({ fromPosition: -1 }), 'VALIDATION');
    await rejects(engine.readAll({ types: [1] }), 'VALIDATION');
    await rejects(engine.readAll({ fromTimestamp: 'yesterday' }), 'VALIDATION');
    await rejects(engine.readAll(7), 'VALIDATION');
    await engine.close();
  });

  test('load with at: version, position, timestamp; null before the stream; bad at', async () => {
    const clock = clockAt(5000);
    const engine = await Engine.open({ clock, snapshotEvery: 3 });
    eq(await engine.load('BankAccount', 'a'), null);
    await engine.execute('BankAccount', 'a', create('A', 0));
    for (let i = 1; i <= 10; i++) { clock.advance(10); await engine.execute('BankAccount', 'a', { type: 'deposit', amount: i }); }
    for (let v = 1; v <= 11; v++) {
      const l = await engine.load('BankAccount', 'a', { at: { version: v } });
      eq(l.version, v);
      eq(l.state.balance, ((v - 1) * v) / 2);
    }
    eq(await engine.load('BankAccount', 'a', { at: { version: 0 } }), null);
    eq(await engine.load('BankAccount', 'a', { at: { timestamp: 4999 } }), null);
    eq((await engine.load('BankAccount', 'a', { at: { timestamp: 5020 } })).state.balance, 3);
    eq((await engine.load('BankAccount', 'a', { at: { position: 4 } })).version, 4);
    eq((await engine.load('BankAccount', 'a', { at: { version: 999 } })).version, 11);
    for (const at of [{}, { version: 1, position: 1 }, { version: -1 }, { position: 'x' }, { timestamp: 'now' }, 5, []]) {
      await rejects(engine.load('BankAccount', 'a', { at }), 'VALIDATION');
    }
    // the returned state is a copy: mutating it changes nothing
    const l = await engine.load('BankAccount', 'a');
    l.state.balance = -1;
    eq((await engine.load('BankAccount', 'a')).state.balance, 55);
    await engine.close();
  });

  test('projection and query, now and in the past', async () => {
    const clock = clockAt(1000);
    const engine = await Engine.open({ clock });
    await engine.execute('BankAccount', 'a1', create('Ann', 1000));
    clock.set(2000);
    await engine.execute('BankAccount', 'a2', create('Bob', 0));
    await engine.execute('BankAccount', 'a2', { type: 'close_account' });
    for (const [id, c] of [['o1', 'c1'], ['o2', 'c2'], ['o3', 'c1']]) await engine.execute('Order', id, place(c));
    await engine.execute('Order', 'o1', { type: 'confirm_order' });
    const balances = await engine.projection('account_balance');
    deepEq(balances.a1, { accountId: 'a1', accountHolder: 'Ann', balance: 1000, isActive: true, lastUpdated: 1000 });
    eq(balances.a2.isActive, false);
    deepEq(Object.keys(await engine.projection('account_balance', { at: { position: 2 } })), ['a1']);
    deepEq(Object.keys(await engine.projection('account_balance', { at: { timestamp: 1500 } })), ['a1']);
    deepEq(await engine.projection('order_status', { at: { position: 0 } }), {});
    deepEq((await engine.query('order_status', { customerId: 'c1' })).map((r) => r.orderId), ['o1', 'o3']);
    deepEq((await engine.query('order_status', { status: 'confirmed' })).map((r) => r.orderId), ['o1']);
    deepEq((await engine.query('account_balance', { isActive: true })).map((r) => r.accountId), ['a1']);
    eq((await engine.query('order_status', {})).length, 3);
    await rejects(engine.projection('nope'), 'NOT_FOUND');
    await rejects(engine.query('nope', {}), 'NOT_FOUND');
    await rejects(engine.projection('account_balance', { at: { version: 1 } }), 'VALIDATION');
    await rejects(engine.query('order_status', [1]), 'VALIDATION');
    await rejects(engine.query('order_status', 'c1'), 'VALIDATION');
    await engine.close();
  });

  // ---------------------------------------------------------------- subscriptions
  test('subscribe: catch up, then live, in order, filtered; unsubscribe', async () => {
    const engine = await Engine.open();
    await engine.execute('BankAccount', 'a', create('A', 10)); // 1,2
    await engine.execute('BankAccount', 'b', create('B', 0)); // 3
    const all = []; const fromHead = []; const onlyB = []; const deposits = []; const orders = [];
    engine.subscribe((e) => all.push(e.position), { fromPosition: 0 });
    engine.subscribe((e) => fromHead.push(e.position));
    engine.subscribe((e) => onlyB.push(e.position), { fromPosition: 0, streamId: 'b' });
    const sub = engine.subscribe((e) => deposits.push(e.position), { fromPosition: 1, types: ['money_deposited'] });
    engine.subscribe((e) => orders.push(e.type), { fromPosition: 0, streamType: 'Order' });
    eq(all.length, 0, 'catch-up is delivered after subscribe returns, not inside it');
    await tick();
    deepEq(all, [1, 2, 3]);
    deepEq(deposits, [2]);
    await engine.execute('BankAccount', 'b', { type: 'deposit', amount: 5 }); // 4
    sub.unsubscribe();
    sub.unsubscribe();
    await engine.execute('BankAccount', 'a', { type: 'deposit', amount: 5 }); // 5
    await engine.execute('Order', 'o', place()); // 6
    await tick();
    deepEq(all, [1, 2, 3, 4, 5, 6]);
    deepEq(fromHead, [4, 5, 6]);
    deepEq(onlyB, [3, 4]);
    deepEq(deposits, [2, 4]);
    deepEq(orders, ['order_placed']);
    ok(typeof engine.subscribe(() => {}).unsubscribe === 'function');
    const { unsubscribe } = engine.subscribe(() => {});
    unsubscribe(); // works detached
    for (const bad of [5, null, 'f']) {
      let thrown;
      try { engine.subscribe(bad); } catch (e) { thrown = e; }
      eq(thrown && thrown.code, 'VALIDATION');
    }
    await engine.close();
  });

  test('a throwing or rejecting listener goes to onError and harms nothing', async () => {
    const engine = await Engine.open();
    const errors = []; const seen = [];
    engine.subscribe((e) => { if (e.position === 1) throw new Error('boom'); seen.push(e.position); }, { fromPosition: 0, onError: (err, event) => errors.push([err.message, event.position]) });
    engine.subscribe(async (e) => { throw new Error(`async ${e.position}`); }, { onError: (err, event) => errors.push([err.message, event.position]) });
    engine.subscribe(() => { throw new Error('nobody listens'); }, { onError: () => { throw new Error('onError throws too'); } });
    // An onError that throws is reported to console.error; capture it to keep the output clean.
    const logged = [];
    const consoleError = console.error;
    console.error = (...args) => logged.push(args.map(String).join(' '));
    try {
      await engine.execute('BankAccount', 'a', create('A', 5));
      await tick();
      await tick();
      ok(logged.some((l) => l.includes('onError throws too')), 'an onError that throws is logged');
      deepEq(seen, [2]);
      deepEq(errors.sort(), [['async 1', 1], ['async 2', 2], ['boom', 1]].sort());
      eq((await engine.load('BankAccount', 'a')).state.balance, 5);
      await engine.execute('BankAccount', 'a', { type: 'deposit', amount: 1 });
      await engine.close();
    } finally {
      console.error = consoleError;
    }
  });

  test('a listener may call back into the engine (no re-entrancy crash)', async () => {
    const engine = await Engine.open();
    await engine.execute('BankAccount', 'audit', create('Audit', 0));
    const reads = [];
    engine.subscribe(async (e) => {
      reads.push((await engine.stats()).totalEvents);
      if (e.streamId === 'a' && e.type === 'money_deposited') {
        await engine.execute('BankAccount', 'audit', { type: 'deposit', amount: 1 });
      }
    });
    await engine.execute('BankAccount', 'a', create('A', 0));
    await Promise.all([1, 2, 3].map(() => engine.execute('BankAccount', 'a', { type: 'deposit', amount: 10 })));
    await until(async () => (await engine.load('BankAccount', 'audit')).state.balance === 3, 'the audit deposits');
    ok(reads.length > 0);
    await engine.close();
  });

  // ---------------------------------------------------------------- JS aggregates & projections
  const counter = {
    initialState: { n: 0, history: [] },
    decide(state, c) {
      if (c.type === 'add') {
        if (!Number.isInteger(c.by)) throw new ValidationError('by must be an integer');
        if (state.n + c.by < 0) throw new Error('Counter cannot go below zero');
        return [{ type: 'added', data: { by: c.by }, metadata: { source: 'counter' } }];
      }
      if (c.type === 'noop') return [];
      if (c.type === 'garbage') return 'not an array';
      if (c.type === 'badEvent') return [{ data: {} }];
      throw new Error(`unknown command ${c.type}`);
    },
    evolve(state, e) {
      // Mutates its argument on purpose: history must not change.
      state.n += e.data.by;
      state.history.push(e.version);
      return state;
    },
  };

  test('defineAggregate: JS decide/evolve, refusals, time travel, and mutation safety', async () => {
    const engine = await Engine.open({ snapshotEvery: 2 });
    engine.defineAggregate('Counter', counter);
    for (const by of [1, 2, 3, 4, 5]) await engine.execute('Counter', 'c', { type: 'add', by });
    const now = await engine.load('Counter', 'c');
    deepEq(now, { state: { n: 15, history: [1, 2, 3, 4, 5] }, version: 5 });
    for (let v = 1; v <= 5; v++) {
      eq((await engine.load('Counter', 'c', { at: { version: v } })).state.n, (v * (v + 1)) / 2);
    }
    const refused = await rejects(engine.execute('Counter', 'c', { type: 'add', by: -100 }), 'DOMAIN', 'below zero');
    ok(refused instanceof DomainError);
    await rejects(engine.execute('Counter', 'c', { type: 'add', by: 1.5 }), 'VALIDATION', 'by must be an integer');
    await rejects(engine.execute('Counter', 'c', { type: 'garbage' }), 'VALIDATION', 'array');
    await rejects(engine.execute('Counter', 'c', { type: 'badEvent' }), 'VALIDATION', 'type');
    const noop = await engine.execute('Counter', 'c', { type: 'noop' });
    deepEq(noop, { events: [], version: 5, position: 5 });
    const r = await engine.execute('Counter', 'c', { type: 'add', by: 1 }, { metadata: { userId: 'u' } });
    deepEq(r.events[0].metadata, { userId: 'u', source: 'counter' });
    eq((await engine.load('Counter', 'c', { at: { version: 3 } })).state.n, 6);
    eq((await engine.stats()).totalEvents, 6);
    await engine.close();
  });

  test('defineAggregate validates its definition; duplicates are refused', async () => {
    const engine = await Engine.open();
    const bad = [undefined, null, 5, {}, { decide() {}, evolve: 5, initialState: {} }, { decide: 1, evolve() {}, initialState: {} },
      { decide() {}, evolve() {}, initialState: () => { throw new Error('x'); } }];
    for (const def of bad) {
      let thrown;
      try { engine.defineAggregate('X', def); } catch (e) { thrown = e; }
      eq(thrown && thrown.code, 'VALIDATION', `definition ${show(def)}`);
    }
    engine.defineAggregate('Counter', counter);
    let dup;
    try { engine.defineAggregate('Counter', counter); } catch (e) { dup = e; }
    eq(dup && dup.code, 'VALIDATION');
    try { engine.defineAggregate('BankAccount', counter); } catch (e) { dup = e; }
    eq(dup && dup.code, 'VALIDATION');
    await engine.close();
  });

  test('a JS decide may call the engine (reads resolve once decide returns)', async () => {
    const engine = await Engine.open();
    let statsPromise;
    engine.defineAggregate('Nosy', {
      initialState: {},
      decide() { statsPromise = engine.stats(); return [{ type: 'poked', data: {} }]; },
      evolve: (s) => s,
    });
    await engine.execute('Nosy', 'n', { type: 'poke' });
    eq((await statsPromise).totalEvents >= 0, true);
    await engine.close();
  });

  test('defineProjection: built from the log, kept current, time travel, filters', async () => {
    const engine = await Engine.open({ projectionSnapshotEvery: 4 });
    for (let i = 0; i < 5; i++) await engine.execute('BankAccount', `a${i}`, create(`H${i}`, 100 * (i + 1)));
    engine.defineProjection('deposits', {
      initialState: { count: 0, total: 0 },
      filter: { types: ['money_deposited'] },
      evolve: (s, e) => ({ count: s.count + 1, total: s.total + e.data.amount }),
    });
    engine.defineProjection('byHolder', {
      initialState: () => ({}),
      filter: { streamType: 'BankAccount' },
      evolve(s, e) {
        if (e.type === 'account_created') s[e.streamId] = { holder: e.data.accountHolder, events: 1 };
        else s[e.streamId].events += 1;
        return s;
      },
    });
    deepEq(await engine.projection('deposits'), { count: 5, total: 1500 });
    await engine.execute('BankAccount', 'a0', { type: 'deposit', amount: 7 });
    deepEq(await engine.projection('deposits'), { count: 6, total: 1507 });
    for (let p = 0; p <= 11; p++) {
      const want = Math.floor(p / 2);
      eq((await engine.projection('deposits', { at: { position: p } })).count, Math.min(want, 5) + (p >= 11 ? 1 : 0));
    }
    deepEq((await engine.query('byHolder', { holder: 'H2' })), [{ holder: 'H2', events: 2 }]);
    deepEq(await engine.replay('deposits'), { eventsReplayed: 11, projectionsRebuilt: 1 });
    deepEq(await engine.replay(), { eventsReplayed: 11, projectionsRebuilt: 4 });
    let dup;
    try { engine.defineProjection('deposits', { initialState: 0, evolve: (s) => s }); } catch (e) { dup = e; }
    eq(dup && dup.code, 'VALIDATION');
    for (const def of [null, {}, { initialState: 0 }, { initialState: 0, evolve: (s) => s, filter: 5 }]) {
      let thrown;
      try { engine.defineProjection('p', def); } catch (e) { thrown = e; }
      eq(thrown && thrown.code, 'VALIDATION');
    }
    await engine.close();
  });

  test('a projection whose evolve throws stops there; commands still succeed', async () => {
    const engine = await Engine.open();
    engine.defineProjection('fragile', {
      initialState: 0,
      evolve(n, e) { if (e.type === 'money_withdrawn') throw new Error('cannot handle withdrawals'); return n + 1; },
    });
    await engine.execute('BankAccount', 'a', create('A', 10));
    eq(await engine.projection('fragile'), 2);
    await engine.execute('BankAccount', 'a', { type: 'withdraw', amount: 1 });
    await engine.execute('BankAccount', 'a', { type: 'deposit', amount: 1 });
    const err = await rejects(engine.projection('fragile'), 'PROJECTION', 'cannot handle withdrawals');
    ok(err instanceof ProjectionError);
    eq(err.position, 3);
    eq(await engine.projection('fragile', { at: { position: 2 } }), 2);
    await rejects(engine.replay('fragile'), 'PROJECTION');
    eq((await engine.projection('account_balance')).a.balance, 10);
    await engine.close();
  });

  // ---------------------------------------------------------------- lifecycle
  test('close: twice is harmless; every later call is ClosedError', async () => {
    const closed = [];
    const storage = { ...(await newStorage()), close: async () => { closed.push(true); } };
    const engine = await Engine.open({ storage });
    const pending = engine.execute('BankAccount', 'a', create());
    await engine.close();
    await engine.close();
    eq(closed.length, 1);
    eq((await pending).version, 2, 'commands queued before close complete');
    const err = await rejects(engine.execute('BankAccount', 'a', { type: 'deposit', amount: 1 }), 'CLOSED');
    ok(err instanceof ClosedError);
    for (const call of [() => engine.readAll(), () => engine.readStream('a'), () => engine.load('BankAccount', 'a'),
      () => engine.projection('account_balance'), () => engine.query('account_balance', {}), () => engine.stats(),
      () => engine.verify(), () => engine.replay(), () => engine.streamVersion('a')]) {
      await rejects(call(), 'CLOSED');
    }
    for (const call of [() => engine.defineAggregate('X', counter), () => engine.subscribe(() => {}),
      () => engine.defineProjection('p', { initialState: 0, evolve: (s) => s })]) {
      let thrown;
      try { call(); } catch (e) { thrown = e; }
      eq(thrown && thrown.code, 'CLOSED');
    }
  });

  // ---------------------------------------------------------------- storage faults
  // A wrapper over a storage that injects faults: every k-th append rejects; `append`
  // and `read` replace the calls (and may throw synchronously).
  function faulty(base, plan) {
    let appends = 0;
    return {
      readEvents: (...a) => (plan.read ? plan.read(...a) : base.readEvents(...a)),
      appendEvents(events, expected) {
        appends += 1;
        if (plan.every && appends % plan.every === 0) {
          return Promise.reject(Object.assign(new Error(`disk full (#${appends})`), { name: 'QuotaExceededError' }));
        }
        if (plan.append) return plan.append(events, expected, appends);
        return base.appendEvents(events, expected);
      },
    };
  }

  test('storage that rejects every 3rd append: StorageError with cause, nothing half-applied', async () => {
    const base = (await newStorage());
    const engine = await Engine.open({ storage: faulty(base, { every: 3 }) });
    await engine.execute('BankAccount', 'a', create('A', 0));
    let acknowledged = 0; let failed = 0;
    for (let i = 1; i <= 20; i++) {
      try { await engine.execute('BankAccount', 'a', { type: 'deposit', amount: i }); acknowledged += i; } catch (e) {
        eq(e.code, 'STORAGE');
        ok(e instanceof StorageError);
        eq(e.reason, 'failed');
        ok(e.cause instanceof Error && e.cause.message.startsWith('disk full'));
        failed += 1;
      }
    }
    ok(failed >= 6);
    eq((await engine.load('BankAccount', 'a')).state.balance, acknowledged);
    eq((await engine.projection('account_balance')).a.balance, acknowledged);
    const fresh = await Engine.open({ storage: base });
    eq((await fresh.load('BankAccount', 'a')).state.balance, acknowledged);
    deepEq(await fresh.stats(), await engine.stats());
    ok((await fresh.verify()).ok);
    await engine.close();
  });

  test('storage that throws synchronously, or resolves garbage, is a StorageError', async () => {
    const engine = await Engine.open({ storage: faulty((await newStorage()), { append: () => { throw new TypeError('sync boom'); } }) });
    const err = await rejects(engine.execute('BankAccount', 'a', create()), 'STORAGE', 'sync boom');
    ok(err.cause instanceof TypeError);
    eq((await engine.stats()).totalEvents, 0);
    await rejects(Engine.open({ storage: faulty((await newStorage()), { read: () => 'garbage' }) }), 'STORAGE');
    await rejects(Engine.open({ storage: faulty((await newStorage()), { read: () => { throw new Error('read boom'); } }) }), 'STORAGE', 'read boom');
    await rejects(Engine.open({ storage: faulty((await newStorage()), { read: async () => Promise.reject(new Error('async read boom')) }) }), 'STORAGE');
    await rejects(Engine.open({ storage: faulty((await newStorage()), { read: (after) => (after === 0 ? [{ nope: true }] : []) }) }), 'INTEGRITY');
  });

  test('records that are not events, or break the chain, are IntegrityError naming the position', async () => {
    const base = (await newStorage());
    const engine = await Engine.open({ storage: base });
    await engine.execute('BankAccount', 'a', create('A', 10));
    await engine.execute('BankAccount', 'a', { type: 'deposit', amount: 5 });
    await engine.close();
    const good = await (await reopen(base)).readEvents(0, 100);
    const cases = [
      [(r) => { r[1] = { ...r[1], data: { amount: 6, balanceAfter: 15, description: '' } }; }, 2],
      [(r) => { r[2] = { ...r[2], extra: 1 }; }, 3],
      [(r) => { const { hash, ...rest } = r[0]; r[0] = rest; }, 1],
      [(r) => { r[1] = { ...r[1], version: '2' }; }, 2],
      [(r) => { r.splice(1, 1); }, 2],
      [(r) => { r.splice(2, 0, r[1]); }, 3],
      [(r) => { r[0] = null; }, 1],
      [(r) => { r[2] = { ...r[2], streamId: 'x'.repeat(1000) }; }, 3],
      [(r) => { r[1] = { ...r[1], hash: good[2].hash }; }, 2], // a hash from elsewhere in the chain
    ];
    for (const [tamper, position] of cases) {
      const records = good.map((e) => ({ ...e }));
      tamper(records);
      const err = await rejects(Engine.open({ storage: { readEvents: (after, limit) => records.slice(after, after + limit), appendEvents() {} } }), 'INTEGRITY');
      ok(err instanceof IntegrityError);
      eq(err.position, position, err.message);
    }
  });

  test('a stored record with a lone surrogate (not valid Unicode) is refused, not a crash', async () => {
    const base = await newStorage();
    const engine = await Engine.open({ storage: base });
    await engine.execute('BankAccount', 'a', create('A', 10));
    await engine.close();
    const records = (await (await reopen(base)).readEvents(0, 100)).map((e) => ({ ...e }));
    records[0] = { ...records[0], data: { accountHolder: 'A\udc00', initialDeposit: 10 } };
    const err = await rejects(async () => {
      try {
        await Engine.open({ storage: { readEvents: (after, limit) => records.slice(after, after + limit), appendEvents() {} } });
      } catch (e) {
        if (e.code === 'STORAGE' || e.code === 'INTEGRITY') throw Object.assign(e, { code: 'INTEGRITY' });
        throw e;
      }
    }, 'INTEGRITY');
    ok(err.message.length > 0);
  });

  test('appendTimeoutMs: a call that never settles is a StorageError with reason timeout; retry by commandId is safe', async () => {
    const base = (await newStorage());
    let hang = true; let release;
    const storage = {
      readEvents: (...a) => base.readEvents(...a),
      appendEvents(events, expected) {
        if (!hang) return base.appendEvents(events, expected);
        hang = false;
        // Settles late: after the engine gave up; the write does happen.
        return new Promise((resolve) => { release = () => base.appendEvents(events, expected).then(resolve); });
      },
    };
    const engine = await Engine.open({ storage, appendTimeoutMs: 30 });
    const err = await rejects(engine.execute('BankAccount', 'a', create('A', 5), { commandId: 'slow' }), 'STORAGE');
    eq(err.reason, 'timeout');
    ok(err instanceof StorageError);
    eq(await engine.streamVersion('a'), 0);
    await release();
    const retry = await engine.execute('BankAccount', 'a', create('A', 5), { commandId: 'slow' });
    eq(retry.version, 2);
    eq((await base.readEvents(0, 100)).length, 2, 'applied once');
    eq((await engine.load('BankAccount', 'a')).state.balance, 5);
    await engine.close();
  });

  test('two engines on one storage (two tabs): concurrent commands, no lost update, gapless', async () => {
    const shared = (await newStorage());
    const a = await Engine.open({ storage: shared });
    const b = await Engine.open({ storage: await reopen(shared) });
    await a.execute('BankAccount', 'acc', create('A', 0));
    await a.execute('BankAccount', 'own-a', create('A', 0));
    await b.execute('BankAccount', 'own-b', create('B', 0));
    let sum = 0;
    const jobs = [];
    for (let i = 1; i <= 100; i++) {
      const [engine, own] = i % 2 ? [a, 'own-a'] : [b, 'own-b'];
      jobs.push(engine.execute('BankAccount', 'acc', { type: 'deposit', amount: i }).then(() => { sum += i; }));
      jobs.push(engine.execute('BankAccount', own, { type: 'deposit', amount: 1 }));
    }
    await Promise.all(jobs);
    eq(sum, 5050);
    await until(async () => (await a.stats()).headPosition === (await b.stats()).headPosition, 'both engines caught up');
    for (const e of [a, b]) {
      eq((await e.load('BankAccount', 'acc')).state.balance, 5050);
      eq((await e.projection('account_balance')).acc.balance, 5050);
      ok((await e.verify()).ok);
    }
    const positions = (await a.readAll()).map((e) => e.position);
    deepEq(positions, positions.map((_, i) => i + 1));
    await a.close();
    await b.close();
  });

  // ---------------------------------------------------------------- hostile input
  test('bad input: wrong types, null, cycles, BigInt, huge payloads, unsafe numbers', async () => {
    const engine = await Engine.open();
    await engine.execute('BankAccount', 'a', create('A', 0));
    const cyclic = { type: 'deposit', amount: 1 }; cyclic.self = cyclic;
    const cases = [
      () => engine.execute(), () => engine.execute(null, 'a', { type: 'deposit', amount: 1 }),
      () => engine.execute('BankAccount', undefined, { type: 'deposit', amount: 1 }),
      () => engine.execute('BankAccount', '', { type: 'deposit', amount: 1 }),
      () => engine.execute('BankAccount', 'x'.repeat(257), create()),
      () => engine.execute('BankAccount', 'a', null), () => engine.execute('BankAccount', 'a', 'deposit'),
      () => engine.execute('BankAccount', 'a', [1, 2]), () => engine.execute('BankAccount', 'a', { amount: 1 }),
      () => engine.execute('BankAccount', 'a', { type: 5 }), () => engine.execute('BankAccount', 'a', cyclic),
      () => engine.execute('BankAccount', 'a', { type: 'deposit', amount: 10n }),
      () => engine.execute('BankAccount', 'a', { type: 'deposit', amount: 2 ** 53 }),
      () => engine.execute('BankAccount', 'a', { type: 'deposit', amount: -5 }),
      () => engine.execute('BankAccount', 'a', { type: 'deposit', amount: 0.1 }),
      () => engine.execute('BankAccount', 'a', { type: 'deposit', amount: Infinity }),
      () => engine.execute('BankAccount', 'a', { type: 'deposit', amount: '5' }),
      () => engine.execute('BankAccount', 'a', { type: 'deposit', amount: 5, description: 'x'.repeat(3 * 1024 * 1024) }),
      () => engine.execute('BankAccount', 'a', { type: 'deposit', amount: 5, description: 'x'.repeat(1024 * 1024) }),
      () => engine.execute('BankAccount', 'a', { type: 'deposit', amount: 5 }, { metadata: { big: 'y'.repeat(1024 * 1024 + 10) } }),
      () => engine.execute('BankAccount', 'a', { type: 'deposit', get amount() { throw new Error('getter'); } }),
      () => engine.readAll({ get limit() { throw new Error('getter'); } }),
    ];
    for (const [i, call] of cases.entries()) {
      const err = await rejects(call, 'VALIDATION').catch((e) => { throw new Error(`case ${i}: ${e.message}`); });
      ok(err instanceof ValidationError && err instanceof EventJournalError && err.name === 'ValidationError', `case ${i}`);
    }
    eq((await engine.stats()).totalEvents, 1, 'nothing half-written');
    ok((await engine.verify()).ok);
    await engine.execute('BankAccount', 'a', { type: 'deposit', amount: 1 });
    await engine.close();
  });

  test('__proto__ keys stay data: no prototype pollution', async () => {
    const engine = await Engine.open();
    engine.defineAggregate('Bag', {
      initialState: {},
      decide: (s, c) => [{ type: 'put', data: c.payload }],
      evolve: (s, e) => ({ ...s, last: e.data }),
    });
    const payload = JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted2": true}}}');
    const r = await engine.execute('Bag', 'b', { type: 'put', payload }, { metadata: JSON.parse('{"__proto__": {"x": 1}}') });
    eq({}.polluted, undefined);
    eq({}.polluted2, undefined);
    eq(Object.prototype.hasOwnProperty.call(r.events[0].data, '__proto__'), true);
    const loaded = await engine.load('Bag', 'b');
    eq(Object.prototype.hasOwnProperty.call(loaded.state.last, '__proto__'), true);
    eq({}.polluted, undefined);
    await engine.close();
  });

  test('error classes: exported, instanceof, stable name and code', async () => {
    const classes = {
      ValidationError, DomainError, ConcurrencyError, StorageError, IntegrityError, NotFoundError, ProjectionError,
      ClosedError, ForbiddenError, InternalError, UnauthenticatedError, ProtocolError, NetworkError,
    };
    const codes = [];
    for (const [name, Cls] of Object.entries(classes)) {
      const e = new Cls('m');
      ok(e instanceof Error && e instanceof EventJournalError && e instanceof Cls);
      eq(e.name, name);
      codes.push(e.code);
    }
    deepEq(codes.sort(), [...ERROR_CODES].sort());
  });

  // ---------------------------------------------------------------- the adapters' policy
  const factory = lib.storageFactory || {
    name: 'memoryStorage',
    open: () => lib.memoryStorage(),
    call: (...args) => lib.memoryStorage(...args),
    bad: [[5], [''], [{}], [null]],
  };
  adapterTests(test, { factory, newStorage, reopen });

  return tests;
}
