// The engine's lifecycle (which storage, open, close, delete the database) and the two ways the
// page talks to it: `read` for questions and `execute` for commands, both guarded against
// answers that arrive after the view moved on (guard.js). Live events fan out to `onEvent`.
import { Engine, indexedDbKeyStore, indexedDbStorage, memoryKeyStore, memoryStorage } from '/pkg/index.js';
import { store } from './store.js';
import { ticket } from './guard.js';
import { followSync, syncOptions } from './sync.js';

const params = new URLSearchParams(location.search);
/**
 * The IndexedDB database (`?db=` picks another one, e.g. for a clean test profile; `?client=b`
 * another client of the sync server in the same browser: its own database, its own outbox).
 */
export const DB_NAME = params.get('db') || (params.get('client') ? `eventjournal-demo-${params.get('client')}` : 'eventjournal-demo');
/** The IndexedDB database of the data keys (personal data is stored encrypted). */
export const KEYS_DB_NAME = `${DB_NAME}-keys`;
/** This tab's id, stamped into its commands' metadata so that other tabs' events can be told apart. */
export const TAB_ID = Math.random().toString(36).slice(2, 10);

const eventListeners = new Set();
let subscription = null;
let unfollowSync = () => {};

/** Calls `fn(event)` for every event committed to the log, by this tab or another. Returns unsubscribe. */
export function onEvent(fn) {
  eventListeners.add(fn);
  return () => eventListeners.delete(fn);
}

function notClosed() {
  const engine = store.state.engine;
  if (!engine) throw Object.assign(new Error('The journal is not open'), { name: 'ClosedError', code: 'CLOSED' });
  return engine;
}

// The storage, and the key store that keeps the account holders' names and the shipping
// addresses encrypted (so "Forget this customer" can erase them): both in IndexedDB, or both
// in memory.
async function chooseStorage() {
  if (params.get('storage') === 'memory') {
    return { storage: await memoryStorage(), keys: memoryKeyStore(), kind: 'memory', note: 'Memory storage (?storage=memory): events are lost on reload.' };
  }
  try {
    let storage;
    let note = '';
    try {
      storage = await indexedDbStorage(DB_NAME);
    } catch (err) {
      // The browser deleted the database it found corrupt (a StorageError, reason 'lost'): say
      // so, and start from the empty log (a synced page gets the server's log again).
      if (!(err && err.reason === 'lost')) throw err;
      storage = await indexedDbStorage(DB_NAME, { acceptLoss: true });
      note = 'This browser found the page\'s IndexedDB database corrupt and deleted it: the events it held are gone. The page starts from an empty log.';
    }
    return { storage, keys: await indexedDbKeyStore(KEYS_DB_NAME), kind: 'indexeddb', note };
  } catch (err) {
    return {
      storage: await memoryStorage(),
      keys: memoryKeyStore(),
      kind: 'memory',
      note: `IndexedDB storage is not available (${err && err.message ? err.message : err}); this page keeps its events in memory only: they are lost on reload and other tabs do not see them.`,
    };
  }
}

/** Opens the engine (checking every stored event) and publishes it in the store. */
export async function openEngine() {
  const t = ticket('open');
  const { storage, keys, kind, note } = await chooseStorage();
  const t0 = performance.now();
  // A synced page has no key store: the server decides (and would seal) personal data, and
  // its keys are not fetched by this client; the forget button shows on local pages only.
  const sync = syncOptions(kind);
  const engine = await Engine.open({ storage, keys: sync ? undefined : keys, sync, clock: () => store.state.clockOverride ?? Date.now() });
  const openMs = performance.now() - t0;
  if (!t.current()) { await engine.close(); return; } // closed again (another tab's reset) meanwhile
  const { totalEvents } = await engine.stats();
  subscription = engine.subscribe((event) => {
    for (const fn of [...eventListeners]) fn(event);
  }, { onError: (err) => console.error('subscriber', err) });
  store.set({ engine, storage: { kind, name: DB_NAME, note, openMs, openedEvents: totalEvents, synced: Boolean(sync) } });
  unfollowSync = followSync(engine);
}

/** Closes the engine (and its storage); an open still in flight is dropped. */
export async function closeEngine() {
  ticket('open');
  const engine = store.state.engine;
  if (subscription) {
    try { subscription.unsubscribe(); } catch { /* closed already */ }
    subscription = null;
  }
  unfollowSync();
  unfollowSync = () => {};
  store.update('sync', { state: null });
  store.set({ engine: null });
  if (engine) {
    try { await engine.close(); } catch (err) { console.warn('close', err); }
  }
}

/** Deletes the IndexedDB databases, events and keys (the engine must be closed). `onBlocked` runs while other tabs hold them. */
export async function deleteDatabase(onBlocked) {
  if (store.state.storage?.kind !== 'indexeddb') return;
  for (const name of [DB_NAME, KEYS_DB_NAME]) {
    await new Promise((resolve, reject) => {
      const req = indexedDB.deleteDatabase(name);
      req.onsuccess = () => resolve();
      req.onerror = () => reject(req.error);
      req.onblocked = () => onBlocked?.();
    });
  }
}

/**
 * Asks the engine a question: `ask(engine)` may make several reads. When the answer arrives
 * and the view has not moved on (see guard.js for `key`/`deps`), `use(answer)` runs at once,
 * in the same step as the check (nothing can change the view in between), and its result is
 * the result; otherwise it rejects with a StaleAnswer. Whatever shows an answer does it in `use`.
 */
export async function read(ask, { key = null, deps = [] } = {}, use = (answer) => answer) {
  const t = ticket(key, deps);
  const engine = notClosed();
  let answer;
  try {
    answer = await ask(engine);
  } catch (err) {
    t.check(); // an error from an engine that was replaced meanwhile is stale too
    throw err;
  }
  t.check();
  return use(answer);
}

/** Executes a command, stamped with this tab's id; resolves to the engine's result. */
export async function execute(streamType, streamId, command, options = {}) {
  return read((engine) => engine.execute(streamType, streamId, command, { ...options, metadata: { tab: TAB_ID, ...options.metadata } }));
}
