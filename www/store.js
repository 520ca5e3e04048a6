// The page's one state store. Everything a section shows is read from the engine; what lives
// here is the view's own state (which point in time, which page, which filters, what is
// selected) plus the open engine and its last stats. Every module reads `store.state` and
// changes it only through `set`/`update`, so any module can subscribe to a change without the
// changer knowing it exists (the time-travel bar, the sections, a future sync badge).
//
// Each top-level key carries a revision that `set`/`update` bump: the stale-answer guard
// (guard.js) compares revisions to tell whether the view moved on while an answer was on its way.

const EMPTY_STATS = Object.freeze({ totalEvents: 0, totalStreams: 0, eventTypeDistribution: {}, headPosition: 0, headHash: '' });

/** The view state a fresh page (or a reset database) starts from. */
function initialView() {
  return {
    stats: EMPTY_STATS,
    travel: null,                 // the position being viewed, or null for now
    selected: null,               // { type, id }: the aggregate in the inspector
    chartAccount: null,           // the account whose balance is charted
    bank: { page: 0, search: '' },
    shop: { page: 0, status: '', customer: '' },
    log: { page: 0, anchor: null, filters: { stream: '', streamType: '', type: '' } }, // anchor: the head a paged view is pinned to
  };
}

const state = {
  engine: null,                   // the open Engine, null while it is (re)opened
  storage: null,                  // { kind: 'indexeddb' | 'memory', name, note, openMs, openedEvents } of the open engine
  clockOverride: null,            // the sample-data generator stamps a simulated history
  sample: { running: false, stopRequested: false },
  sync: { state: null, offline: false, refusals: [] }, // syncState() of a synced engine (sync.js), the offline switch, refusals seen
  ...initialView(),
};

const revisions = new Map();
const listeners = new Set();

function notify(changed) {
  for (const key of changed) revisions.set(key, (revisions.get(key) || 0) + 1);
  for (const l of [...listeners]) {
    if (!l.keys || l.keys.some((k) => changed.has(k))) l.fn(state, changed);
  }
}

export const store = {
  /** The current state (read-only by convention: change it with set/update). */
  state,

  /** Replaces top-level keys: `store.set({ travel: 12 })`. */
  set(patch) {
    const changed = new Set();
    for (const [key, value] of Object.entries(patch)) {
      if (state[key] !== value) { state[key] = value; changed.add(key); }
    }
    if (changed.size) notify(changed);
  },

  /** Merges into one slice: `store.update('log', { page: 2 })`; a no-op when nothing differs. */
  update(key, changes) {
    const slice = state[key];
    if (Object.entries(changes).every(([k, v]) => slice[k] === v)) return;
    this.set({ [key]: { ...slice, ...changes } });
  },

  /** Puts the view back to a fresh page's (after a reset of the database). */
  resetView() {
    this.set(initialView());
  },

  /**
   * Calls `fn(state, changedKeys)` after every change of one of `keys` (all keys when omitted).
   * Returns the function that unsubscribes.
   */
  subscribe(keys, fn) {
    const entry = { keys: keys && [...keys], fn };
    listeners.add(entry);
    return () => listeners.delete(entry);
  },

  /** How many times `key` changed; the guard's clock. */
  revision(key) {
    return revisions.get(key) || 0;
  },
};
