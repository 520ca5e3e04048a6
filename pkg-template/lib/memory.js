// @ts-check
// memoryStorage(name?): the storage contract (DESIGN.md §5) kept in memory. The default when
// Engine.open gets no storage is an equivalent store inside the engine; use this one to share
// a store between engines (like two tabs on one database) or as the base of a test double.
//
// Like a database and its connections: `memoryStorage()` opens a new private store;
// `memoryStorage(name)` opens (creating it on first use) the store called `name`, shared by
// every adapter of that name in this page or process, for as long as the page or process
// lives. Closing an adapter closes that adapter only, never the store, so an engine closed and
// opened again on `await memoryStorage(name)` finds its events. Give each engine its own
// adapter: an engine closes its storage when it closes, and an adapter's watchers hear the
// other adapters' appends, not its own.
import { conflict, storageAdapter, typeOf, watcherRegistry } from './common.js';
import { ValidationError } from './errors.js';

/**
 * @typedef {object} MemoryStore
 * @property {import('../index').StoredEvent[]} events
 * @property {Map<string, import('../index').Snapshot>} snapshots
 * @property {Set<import('./common.js').WatcherRegistry>} watchers one registry per open adapter
 * @property {Map<string, import('../index').OutboxEntry>} outbox a synced engine's pending commands, by commandId
 */

/** @type {Map<string, MemoryStore>} the named stores of this page or process */
const named = new Map();

/** @returns {MemoryStore} */
function newStore() {
  return { events: [], snapshots: new Map(), watchers: new Set(), outbox: new Map() };
}

/**
 * Storage in memory: a new private store, or the store called `name` shared by every adapter
 * of that name in this page or process.
 *
 * @example
 * const tab1 = await Engine.open({ storage: await memoryStorage('app') });
 * const tab2 = await Engine.open({ storage: await memoryStorage('app') }); // sees what tab1 appends
 * @param {string} [name]
 * @returns {Promise<import('../index').StorageAdapter>}
 */
async function memoryStorage(name) {
  if (name !== undefined && (typeof name !== 'string' || name.length === 0)) {
    throw new ValidationError(`memoryStorage(name): name must be a non-empty string, got ${typeOf(name)}`);
  }
  let store = name === undefined ? undefined : named.get(name);
  if (!store) {
    store = newStore();
    if (name !== undefined) named.set(name, store);
  }
  return memoryAdapter(store, name === undefined ? 'memoryStorage()' : `memoryStorage(${name})`);
}

/**
 * One adapter (connection) on `store`.
 * @param {MemoryStore} store
 * @param {string} label
 */
function memoryAdapter(store, label) {
  const { events, snapshots } = store;
  const watchers = watcherRegistry(label, {
    onFirst: () => { store.watchers.add(watchers); },
    onLast: () => { store.watchers.delete(watchers); },
  });
  const head = () => (events.length === 0 ? 0 : events[events.length - 1].position);
  // Tells the other adapters on this store (the other engines) that it moved; like the other
  // adapters, a writer is not told of its own appends.
  const announce = () => {
    const now = head();
    const others = [...store.watchers].filter((w) => w !== watchers);
    if (others.length > 0) setTimeout(() => { for (const w of others) w.notify(now); }, 0);
  };
  return storageAdapter(label, {
    async readEvents(afterPosition, limit) {
      // positions are 1, 2, 3...: the event after `afterPosition` is at index afterPosition
      return events.slice(afterPosition, afterPosition + limit);
    },
    async appendEvents(batch, expectedPosition) {
      const last = head();
      if (last !== expectedPosition) throw conflict(expectedPosition, last);
      for (const e of batch) events.push(e);
      if (batch.length > 0) announce();
    },
    async readSnapshot(key) {
      const s = snapshots.get(key);
      return s === undefined ? undefined : structuredClone(s);
    },
    async writeSnapshot(snapshot) {
      snapshots.set(snapshot.key, structuredClone(snapshot));
    },
    watchers,
    async close() {},
    async readOutbox() {
      return [...store.outbox.values()]
        .sort((a, b) => a.seq - b.seq || (a.commandId < b.commandId ? -1 : 1))
        .map((e) => structuredClone(e));
    },
    async writeOutbox(entry) {
      store.outbox.set(entry.commandId, structuredClone(entry));
    },
    async deleteOutbox(ids) {
      for (const id of ids) store.outbox.delete(id);
    },
  });
}

export { memoryStorage };
