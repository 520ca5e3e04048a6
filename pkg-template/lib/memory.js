// memoryStorage(): the storage contract (DESIGN.md §5) kept in memory. The default when
// Engine.open gets no storage is an equivalent store inside the engine; use this one to share
// a store between engines (like two tabs on one database) or as the base of a test double.

function conflict(expected, last) {
  const e = new Error(`conflict: expected the store at position ${expected}, it is at ${last}`);
  e.code = 'CONFLICT';
  return e;
}

/**
 * A storage adapter that keeps events and snapshots in memory.
 * @returns {import('../index').StorageAdapter}
 */
function memoryStorage() {
  const events = [];
  const snapshots = new Map();
  const watchers = new Set();
  const head = () => (events.length === 0 ? 0 : events[events.length - 1].position);
  return {
    async readEvents(afterPosition, limit) {
      const start = Math.max(0, Math.min(events.length, Number(afterPosition) || 0));
      return events.slice(start, start + limit);
    },
    async appendEvents(batch, expectedPosition) {
      const last = head();
      if (last !== expectedPosition) throw conflict(expectedPosition, last);
      for (const e of batch) events.push(e);
      // Tell the other engines sharing this store (a single engine is not told about its
      // own appends).
      if (watchers.size > 1) {
        const now = head();
        setTimeout(() => { for (const w of watchers) w(now); }, 0);
      }
    },
    async readSnapshot(key) {
      const s = snapshots.get(key);
      return s === undefined ? undefined : structuredClone(s);
    },
    async writeSnapshot(snapshot) {
      snapshots.set(snapshot.key, structuredClone(snapshot));
    },
    watch(onAppend) {
      watchers.add(onAppend);
      return () => { watchers.delete(onAppend); };
    },
    async close() {},
  };
}

export { memoryStorage };
