// @ts-check
// What every storage adapter shares: one shape and one policy (DESIGN.md §5).
//
// An adapter (memory, IndexedDB, SQLite, PostgreSQL) writes only what is particular to its
// store, as the `impl` of storageAdapter(name, impl); storageAdapter adds the policy:
// - Factories are async and check their arguments: a bad one is a ValidationError. A store
//   that cannot be opened is a StorageError (reason 'unsupported' when the platform lacks it,
//   e.g. no IndexedDB or no better-sqlite3; 'failed' otherwise, with the store's error as cause).
// - Every method checks its arguments (ValidationError): readEvents(afterPosition, limit) takes
//   non-negative integers; appendEvents(events, expectedPosition) an array of objects numbered
//   expectedPosition + 1, + 2, ...; readSnapshot(key) a string; writeSnapshot(snapshot) an
//   object with a string key.
// - appendEvents on a store that is not at `expectedPosition` writes nothing and rejects with
//   conflict(expected, last) (an Error whose code is 'CONFLICT').
// - watch(onAppend) with a non-function throws a ValidationError; each call returns its own
//   unwatch, and watchers that throw never stop the others.
// - The outbox of a synced engine (needed only with Engine.open({ sync })): readOutbox()
//   resolves to every entry in `seq` order; writeOutbox(entry) inserts it or replaces the one
//   with its commandId (an object with a non-empty string commandId and a safe integer seq);
//   deleteOutbox(commandIds) deletes those (an array of strings; unknown ones are ignored).
// - After close(), every call but close() rejects (or, for watch, throws) with a ClosedError;
//   closing twice is harmless.
import { ClosedError, StorageError, ValidationError } from './errors.js';

/**
 * The error appendEvents rejects with when another writer appended first.
 * @param {number} expected
 * @param {number | string} last the store's last position (or a word when it could not be read)
 * @returns {Error & { code: 'CONFLICT' }}
 */
function conflict(expected, last) {
  const e = /** @type {Error & { code: 'CONFLICT' }} */ (
    new Error(`conflict: expected the store at position ${expected}, it is at ${last}`)
  );
  e.code = 'CONFLICT';
  return e;
}

/**
 * Throws a ValidationError unless `value` is a non-negative safe integer.
 * @param {unknown} value
 * @param {string} what
 * @returns {number}
 */
function nonNegativeInteger(value, what) {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError(`${what} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}

/**
 * @typedef {object} WatcherRegistry
 * @property {(onAppend: unknown) => () => void} add registers a watcher; returns its unwatch
 * @property {(last: number) => void} notify calls every watcher (one that throws is ignored)
 * @property {number} size how many watchers there are
 * @property {() => void} clear drops them all
 */

/**
 * The watchers of one adapter: `add(fn)` returns its unwatch, `notify(last)` calls each one
 * (a watcher that throws is ignored), `size` counts them, `clear()` drops them all.
 * `hooks.onFirst()` runs when the first watcher comes, `hooks.onLast()` when the last goes
 * (e.g. to start and stop polling).
 * @param {string} adapterName
 * @param {{ onFirst?: () => void, onLast?: () => void }} [hooks]
 * @returns {WatcherRegistry}
 */
function watcherRegistry(adapterName, hooks = {}) {
  /** @type {Set<(last: number) => void>} */
  const watchers = new Set();
  const remove = (/** @type {(last: number) => void} */ entry) => {
    if (watchers.delete(entry) && watchers.size === 0 && hooks.onLast) hooks.onLast();
  };
  return {
    add(onAppend) {
      if (typeof onAppend !== 'function') {
        throw new ValidationError(`${adapterName}.watch(onAppend): onAppend must be a function, got ${typeOf(onAppend)}`);
      }
      // Wrapped, so watching the same function twice gives two independent unwatch calls.
      const entry = (/** @type {number} */ last) => { onAppend(last); };
      watchers.add(entry);
      if (watchers.size === 1 && hooks.onFirst) hooks.onFirst();
      return () => remove(entry);
    },
    notify(last) {
      for (const w of [...watchers]) {
        try { w(last); } catch { /* a watcher's failure is its own */ }
      }
    },
    get size() { return watchers.size; },
    clear() {
      const had = watchers.size > 0;
      watchers.clear();
      if (had && hooks.onLast) hooks.onLast();
    },
  };
}

/**
 * @typedef {object} ClosedGuard
 * @property {(method: string) => void} check throws a ClosedError once close() was called
 * @property {() => boolean} close true the first time only
 * @property {boolean} closed
 */

/**
 * The closed state of one adapter: `check(method)` throws a ClosedError once `close()` was
 * called; `close()` returns true the first time only (so closing twice is harmless).
 * @param {string} adapterName
 * @returns {ClosedGuard}
 */
function closedGuard(adapterName) {
  let closed = false;
  return {
    check(method) {
      if (closed) throw new ClosedError(`${adapterName}: ${method}() after close()`);
    },
    close() {
      if (closed) return false;
      closed = true;
      return true;
    },
    get closed() { return closed; },
  };
}

/**
 * @typedef {import('../index').StoredEvent} StoredEvent
 * @typedef {import('../index').Snapshot} Snapshot
 * @typedef {import('../index').StorageAdapter} StorageAdapter
 */

/**
 * What is particular to one store; storageAdapter() calls it with checked arguments only,
 * and never after close.
 * @typedef {object} AdapterImpl
 * @property {(afterPosition: number, limit: number) => Promise<StoredEvent[]>} readEvents
 * @property {(events: StoredEvent[], expectedPosition: number) => Promise<void>} appendEvents
 * @property {(key: string) => Promise<Snapshot | undefined>} readSnapshot
 * @property {(snapshot: Snapshot) => Promise<void>} writeSnapshot
 * @property {() => Promise<void>} [scrub] makes overwritten data unrecoverable from the store's files
 * @property {WatcherRegistry} watchers notified by the store when another writer appended
 * @property {() => Promise<void>} close called once, by the first close()
 * @property {() => Promise<OutboxEntry[]>} readOutbox every entry, in `seq` order
 * @property {(entry: OutboxEntry) => Promise<void>} writeOutbox insert, or replace by commandId
 * @property {(commandIds: string[]) => Promise<void>} deleteOutbox
 */

/** @typedef {import('../index').OutboxEntry} OutboxEntry */

/**
 * Checks an outbox entry's key fields (the engine wrote the rest); returns it.
 * @param {string} adapterName
 * @param {unknown} entry
 * @returns {OutboxEntry}
 */
function outboxEntry(adapterName, entry) {
  const e = /** @type {any} */ (entry);
  if (e === null || typeof e !== 'object' || Array.isArray(e) || typeof e.commandId !== 'string'
    || e.commandId.length === 0 || !Number.isSafeInteger(e.seq) || e.seq < 0) {
    throw new ValidationError(`${adapterName}.writeOutbox(entry): entry must be an object with a non-empty string commandId and an integer seq`);
  }
  return e;
}

/**
 * Checks a list of command ids; returns a copy.
 * @param {string} adapterName
 * @param {unknown} ids
 * @returns {string[]}
 */
function commandIds(adapterName, ids) {
  if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')) {
    throw new ValidationError(`${adapterName}.deleteOutbox(commandIds): commandIds must be an array of strings`);
  }
  return [...ids];
}

/**
 * A storage adapter with the policy above around `impl`.
 * @param {string} adapterName e.g. 'sqliteStorage(/data/app.db)', for messages
 * @param {AdapterImpl} impl
 * @returns {StorageAdapter & { readSnapshot(key: string): Promise<Snapshot | undefined>,
 *   writeSnapshot(snapshot: Snapshot): Promise<void>, scrub?(): Promise<void>,
 *   watch(onAppend: (lastPosition: number) => void): () => void, close(): Promise<void>,
 *   readOutbox(): Promise<OutboxEntry[]>, writeOutbox(entry: OutboxEntry): Promise<void>,
 *   deleteOutbox(commandIds: string[]): Promise<void> }}
 */
function storageAdapter(adapterName, impl) {
  const guard = closedGuard(adapterName);
  const scrub = impl.scrub;
  const optional = scrub === undefined ? {} : {
    async scrub() {
      guard.check('scrub');
      await scrub();
    },
  };
  return {
    ...optional,
    async readEvents(afterPosition, limit) {
      guard.check('readEvents');
      nonNegativeInteger(afterPosition, `${adapterName}.readEvents(afterPosition, limit): afterPosition`);
      nonNegativeInteger(limit, `${adapterName}.readEvents(afterPosition, limit): limit`);
      if (limit === 0) return [];
      return impl.readEvents(afterPosition, limit);
    },
    async appendEvents(events, expectedPosition) {
      guard.check('appendEvents');
      const what = `${adapterName}.appendEvents(events, expectedPosition)`;
      const expected = nonNegativeInteger(expectedPosition, `${what}: expectedPosition`);
      if (!Array.isArray(events)) throw new ValidationError(`${what}: events must be an array, got ${typeOf(events)}`);
      const batch = [...events];
      batch.forEach((e, i) => {
        if (e === null || typeof e !== 'object' || e.position !== expected + i + 1) {
          throw new ValidationError(`${what}: event #${i} must be an event object with position ${expected + i + 1}`);
        }
      });
      return impl.appendEvents(batch, expected);
    },
    async readSnapshot(key) {
      guard.check('readSnapshot');
      if (typeof key !== 'string') {
        throw new ValidationError(`${adapterName}.readSnapshot(key): key must be a string, got ${typeOf(key)}`);
      }
      return impl.readSnapshot(key);
    },
    async writeSnapshot(snapshot) {
      guard.check('writeSnapshot');
      if (snapshot === null || typeof snapshot !== 'object' || typeof snapshot.key !== 'string') {
        throw new ValidationError(`${adapterName}.writeSnapshot(snapshot): snapshot must be an object with a string key`);
      }
      return impl.writeSnapshot(snapshot);
    },
    watch(onAppend) {
      guard.check('watch');
      return impl.watchers.add(onAppend);
    },
    async readOutbox() {
      guard.check('readOutbox');
      return impl.readOutbox();
    },
    async writeOutbox(entry) {
      guard.check('writeOutbox');
      return impl.writeOutbox(outboxEntry(adapterName, entry));
    },
    async deleteOutbox(ids) {
      guard.check('deleteOutbox');
      const list = commandIds(adapterName, ids);
      return list.length === 0 ? undefined : impl.deleteOutbox(list);
    },
    async close() {
      if (!guard.close()) return;
      impl.watchers.clear();
      await impl.close();
    },
  };
}

/**
 * The error of a factory whose store cannot be opened: a ValidationError or StorageError is
 * passed on as it is; anything else becomes a StorageError (reason 'failed') with it as cause.
 * @param {string} adapterName
 * @param {unknown} cause
 * @returns {Error}
 */
function openFailure(adapterName, cause) {
  if (cause instanceof ValidationError || cause instanceof StorageError) return cause;
  const message = cause instanceof Error ? cause.message : String(cause);
  return new StorageError(`${adapterName}: cannot open the store: ${message}`, { cause, reason: 'failed' });
}

/**
 * `typeof`, with null and arrays named, for messages.
 * @param {unknown} value
 */
function typeOf(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

export {
  conflict, nonNegativeInteger, watcherRegistry, closedGuard, storageAdapter, openFailure, typeOf, outboxEntry, commandIds,
};
