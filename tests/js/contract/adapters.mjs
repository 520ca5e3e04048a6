// The policy every storage adapter shares (pkg-template/lib/common.js), asserted for each one
// the contract suite runs over (memory; SQLite in Node; IndexedDB in Chromium):
//   - the factory is async, and a bad argument is a ValidationError;
//   - every method checks its arguments (ValidationError) and writes nothing then;
//   - appendEvents at the wrong position is a CONFLICT and writes nothing;
//   - watch with a non-function throws a ValidationError; watchers hear another adapter's
//     appends; unwatch stops one; a watcher that throws does not stop the others;
//   - after close(), every call is a ClosedError (watch throws it); closing twice is harmless;
//     another adapter on the same store is unaffected;
//   - the outbox of a synced engine: entries stored as given, replaced by commandId, read back
//     in seq order by every adapter on the store, deleted by id; bad arguments refused.
import { ok, eq, deepEq, rejects, throws, until } from './assert.mjs';

/** Records with the 10 event fields (the adapters treat them as opaque). */
function records(from, to, streamId = 's1') {
  const out = [];
  for (let p = from; p <= to; p += 1) {
    out.push({
      id: `id-${streamId}-${p}`, streamId, streamType: 'Thing', type: 'happened', data: { n: p }, metadata: {},
      timestamp: 1_700_000_000_000 + p, version: p, position: p, hash: String(p % 10).repeat(64),
    });
  }
  return out;
}

/**
 * Adds the policy tests. `factory`: { name, open() (the factory called with good arguments),
 * bad: [argument lists that must be refused] }.
 */
export function adapterTests(test, { factory, newStorage, reopen }) {
  test(`adapter policy (${factory.name}): the factory is async and refuses bad arguments with ValidationError`, async () => {
    const opening = factory.open();
    ok(opening instanceof Promise, `${factory.name}(...) must return a Promise`);
    const storage = await opening;
    deepEq(await storage.readEvents(0, 10), []);
    await storage.close();
    for (const args of factory.bad) {
      const call = factory.call(...args);
      ok(call instanceof Promise, `${factory.name}(${args.map(String).join(', ')}) must return a Promise, even when refused`);
      await rejects(call, 'VALIDATION');
    }
  });

  test(`adapter policy (${factory.name}): bad arguments to every method are ValidationError, and nothing is written`, async () => {
    const storage = await newStorage();
    await storage.appendEvents(records(1, 2), 0);
    const calls = [
      () => storage.readEvents(-1, 10), () => storage.readEvents(1.5, 10), () => storage.readEvents('0', 10),
      () => storage.readEvents(0), () => storage.readEvents(0, -1), () => storage.readEvents(0, Infinity),
      () => storage.appendEvents('events', 2), () => storage.appendEvents(records(3, 3), -1),
      () => storage.appendEvents(records(3, 3), '2'), () => storage.appendEvents(records(4, 4), 2),
      () => storage.appendEvents([null], 2), () => storage.appendEvents([...records(3, 3), 'x'], 2),
      () => storage.readSnapshot(5), () => storage.readSnapshot(undefined),
      () => storage.writeSnapshot(null), () => storage.writeSnapshot({ position: 1 }), () => storage.writeSnapshot('s'),
    ];
    for (const call of calls) {
      const result = call();
      ok(result instanceof Promise, `${call} must reject, not throw`);
      await rejects(result, 'VALIDATION');
    }
    deepEq(await storage.readEvents(0, 10), records(1, 2));
    eq(await storage.readSnapshot('k'), undefined);
    deepEq(await storage.readEvents(0, 0), []);
    await storage.close();
  });

  test(`adapter policy (${factory.name}): appendEvents at the wrong position is a CONFLICT and writes nothing`, async () => {
    const storage = await newStorage();
    await storage.appendEvents(records(1, 3), 0);
    for (const expected of [0, 2, 4]) {
      const err = await rejects(storage.appendEvents(records(expected + 1, expected + 1), expected), 'CONFLICT');
      ok(err instanceof Error);
    }
    await storage.appendEvents([], 3);
    await rejects(storage.appendEvents([], 2), 'CONFLICT');
    deepEq(await storage.readEvents(0, 10), records(1, 3));
    await storage.close();
  });

  test(`adapter policy (${factory.name}): watch checks its argument, hears another adapter's appends, unwatch stops it`, async () => {
    const writer = await newStorage();
    const reader = await reopen(writer);
    for (const bad of [undefined, null, 5, 'f', {}]) throws(() => reader.watch(bad), 'VALIDATION');
    const first = [];
    const second = [];
    const unwatchFirst = reader.watch((p) => first.push(p));
    const unwatchThrowing = reader.watch(() => { throw new Error('a watcher that fails'); });
    reader.watch((p) => second.push(p));
    eq(typeof unwatchFirst, 'function');
    await writer.appendEvents(records(1, 2), 0);
    await until(() => first.includes(2) && second.includes(2), 'both watchers told of position 2', 5000);
    unwatchFirst();
    unwatchFirst(); // twice is harmless
    unwatchThrowing();
    await writer.appendEvents(records(3, 3), 2);
    await until(() => second.includes(3), 'the remaining watcher told of position 3', 5000);
    ok(!first.includes(3), 'an unwatched watcher was called');
    await reader.close();
    await writer.close();
  });

  test(`adapter policy (${factory.name}): the outbox: stored as given, replaced by commandId, read in seq order, deleted by id`, async () => {
    const storage = await newStorage();
    deepEq(await storage.readOutbox(), []);
    const entry = (commandId, seq, extra = {}) => ({
      commandId, seq, streamType: 'Thing', streamId: 's1', command: { type: 'go', n: seq, nested: { ok: [1, 'two', null] } },
      expectedVersion: seq % 2 === 0 ? 'any' : seq, metadata: { userId: 'u' }, issuedAt: 1_700_000_000_000 + seq,
      issuer: 'engine-1', ...extra,
    });
    await storage.writeOutbox(entry('b', 20));
    await storage.writeOutbox(entry('a', 10));
    await storage.writeOutbox(entry('c', 30));
    deepEq(await storage.readOutbox(), [entry('a', 10), entry('b', 20), entry('c', 30)]);
    const outcome = { error: { name: 'DomainError', code: 'DOMAIN', message: 'Insufficient funds' } };
    await storage.writeOutbox(entry('b', 20, { outcome }));
    const other = await reopen(storage);
    deepEq(await other.readOutbox(), [entry('a', 10), entry('b', 20, { outcome }), entry('c', 30)]);
    const read = await storage.readOutbox();
    read[0].command.type = 'changed';
    eq((await storage.readOutbox())[0].command.type, 'go', 'readOutbox returns copies');
    await other.deleteOutbox(['a', 'unknown']);
    await storage.deleteOutbox([]);
    deepEq((await storage.readOutbox()).map((e) => e.commandId), ['b', 'c']);
    const bad = [
      () => storage.writeOutbox(null), () => storage.writeOutbox('x'), () => storage.writeOutbox({ seq: 1 }),
      () => storage.writeOutbox({ commandId: '', seq: 1 }), () => storage.writeOutbox({ commandId: 'x', seq: -1 }),
      () => storage.writeOutbox({ commandId: 'x', seq: '1' }), () => storage.writeOutbox({ commandId: 5, seq: 1 }),
      () => storage.deleteOutbox('b'), () => storage.deleteOutbox([1]), () => storage.deleteOutbox(),
    ];
    for (const call of bad) {
      const result = call();
      ok(result instanceof Promise, `${call} must reject, not throw`);
      await rejects(result, 'VALIDATION');
    }
    deepEq((await storage.readOutbox()).map((e) => e.commandId), ['b', 'c']);
    await storage.close();
    for (const call of [() => storage.readOutbox(), () => storage.writeOutbox(entry('d', 40)), () => storage.deleteOutbox(['b'])]) {
      await rejects(call(), 'CLOSED');
    }
    await other.deleteOutbox(['b', 'c']);
    deepEq(await other.readOutbox(), []);
    await other.close();
  });

  test(`adapter policy (${factory.name}): after close every call is ClosedError; twice is harmless; the store lives on`, async () => {
    const storage = await newStorage();
    await storage.appendEvents(records(1, 2), 0);
    const other = await reopen(storage);
    await storage.close();
    await storage.close();
    for (const call of [() => storage.readEvents(0, 10), () => storage.appendEvents(records(3, 3), 2),
      () => storage.readSnapshot('k'), () => storage.writeSnapshot({ key: 'k', position: 1, hash: 'h', state: {} })]) {
      const result = call();
      ok(result instanceof Promise, `${call} must reject, not throw`);
      const err = await rejects(result, 'CLOSED');
      eq(err.name, 'ClosedError');
    }
    throws(() => storage.watch(() => {}), 'CLOSED');
    deepEq(await other.readEvents(0, 10), records(1, 2));
    await other.appendEvents(records(3, 3), 2);
    await other.close();
    await rejects(other.readEvents(0, 10), 'CLOSED');
    const again = await reopen(storage);
    deepEq(await again.readEvents(0, 10), records(1, 3));
    await again.close();
  });
}
