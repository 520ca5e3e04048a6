// @ts-check
// Tabs of one origin on one IndexedDB database share one sync connection (DESIGN.md §7).
// Browsers only; wherever Web Locks or BroadcastChannel are missing (Node), or the storage is
// not shared (memory, a wrapped adapter), every engine syncs alone through lib/sync.js.
//
//   election   each synced engine asks for the Web Lock `eventjournal-sync:<db>`; the one
//              holding it (for its life: a closed tab releases it, the next in line gets it
//              at once) runs the transport of lib/sync.js. The others talk to no server.
//   liveness   each engine also holds `eventjournal-tab:<db>:<issuer>` for its life; the
//              syncing one lists these locks before applying a push's answer (link.
//              setLiveIssuers), so a live tab's refusals are left in its outbox entries
//              (`outcome`) for that tab to report, and a closed tab's are reported here.
//   following  a non-syncing tab's commands are in the shared outbox: it says so on the
//              channel `eventjournal-sync:<db>` ('added': the syncing tab re-reads the outbox
//              and pushes). The syncing tab says 'outcome' after each answer it applied (the
//              others re-read the outbox: their refusals, link.refresh()) and 'online' when
//              its connection comes or goes (the others show it in syncState().online).
//              Confirmed events reach the others through the storage's own watch.
//   takeover   a tab that gets the lock refreshes from the storage first (link.refresh()),
//              then starts the transport: the outbox it finds is pushed with the same ids.
import { syncTransport } from './sync.js';

/** @type {WeakMap<object, string>} the storages whose tabs share sync, by their scope */
const scopes = new WeakMap();
const SCOPE = Symbol('eventjournal.syncTabScope');

/**
 * Marks `storage` as shared by the tabs of this origin under `scope` (the IndexedDB
 * database's name); returns it.
 * @template {object} T
 * @param {T} storage
 * @param {string} scope
 * @returns {T}
 */
function shareTabs(storage, scope) {
  scopes.set(storage, scope);
  return storage;
}

/**
 * `Engine.open`'s options with the storage's tab scope handed to the transport (inside the
 * `sync` option, under a symbol: not part of the public API).
 * @param {any} options
 */
function withTabScope(options) {
  const sync = options && options.sync;
  const storage = options && options.storage;
  if (!sync || typeof sync !== 'object' || !storage || typeof storage !== 'object') return options;
  const scope = scopes.get(storage);
  if (scope === undefined) return options;
  return { ...options, sync: { ...sync, [SCOPE]: scope } };
}

/** Checks the sync options (lib/sync.js), keeping the tab scope. @param {any} options */
function check(options) {
  const checked = syncTransport.check(options);
  const scope = options[SCOPE];
  return typeof scope === 'string' ? { ...checked, [SCOPE]: scope } : checked;
}

/**
 * Starts syncing: alone, or as one of the tabs on a shared storage.
 * @param {any} link the engine side (src/wasm/sync.rs)
 * @param {any} options
 */
function start(link, options) {
  const scope = options[SCOPE];
  const locks = globalThis.navigator && globalThis.navigator.locks;
  if (typeof scope !== 'string' || !locks || typeof locks.request !== 'function'
    || typeof globalThis.BroadcastChannel !== 'function') {
    return syncTransport.start(link, options);
  }
  return tabs(link, options, scope, locks);
}

/**
 * @param {any} link
 * @param {any} options
 * @param {string} scope
 * @param {LockManager} locks
 */
function tabs(link, options, scope, locks) {
  const tabPrefix = `eventjournal-tab:${scope}:`;
  const channel = new BroadcastChannel(`eventjournal-sync:${scope}`);
  const abort = new AbortController();
  /** @type {Array<() => void>} */
  const releases = [];
  /** @type {{ stop(): void, wake(): void } | null} */
  let inner = null;
  let stopped = false;
  let leading = false;
  let online = false;

  const post = (/** @type {object} */ message) => {
    if (stopped && !leading) return;
    try { channel.postMessage(message); } catch { /* closed */ }
  };

  // Re-reads the storage; messages arriving meanwhile make one more pass, not one each.
  let refreshing = null;
  let again = false;
  const refresh = () => {
    if (stopped) return;
    if (refreshing) { again = true; return; }
    refreshing = (async () => {
      do {
        again = false;
        try { await link.refresh(); } catch (e) { if (!stopped) console.warn('eventjournal: sync refresh failed:', e); }
      } while (again && !stopped);
      refreshing = null;
    })();
  };

  /** The other live engines on this storage (their refusals are theirs to report). */
  async function updateLive() {
    try {
      const { held = [] } = await locks.query();
      const ids = held.map((l) => l.name || '').filter((n) => n.startsWith(tabPrefix)).map((n) => n.slice(tabPrefix.length));
      link.setLiveIssuers(ids);
    } catch { /* the engine closed */ }
  }

  // The link the transport drives while this tab syncs: answers are applied knowing who is
  // alive and announced to the others, and so is the connection.
  const leaderLink = {
    position: () => link.position(),
    issuer: () => link.issuer(),
    stopped: () => link.stopped(),
    checkServer: (/** @type {number} */ after, /** @type {string | null} */ hash) => link.checkServer(after, hash),
    receive: (/** @type {unknown[]} */ events) => link.receive(events),
    nextBatch: (/** @type {number} */ max) => link.nextBatch(max),
    requestFailed: (/** @type {number} */ status, /** @type {unknown} */ error) => link.requestFailed(status, error),
    unreachable: (/** @type {string} */ message) => link.unreachable(message),
    refresh: () => link.refresh(),
    setLiveIssuers: (/** @type {string[]} */ ids) => link.setLiveIssuers(ids),
    keysNeeded: (/** @type {unknown[]} */ events) => link.keysNeeded(events),
    storeKeys: (/** @type {unknown} */ answer) => link.storeKeys(answer),
    forget: (/** @type {string} */ subject) => link.forget(subject),
    async applyResults(/** @type {unknown} */ body) {
      await updateLive();
      const result = await link.applyResults(body);
      post({ kind: 'outcome' });
      return result;
    },
    setOnline(/** @type {boolean} */ value) {
      online = value;
      link.setOnline(value);
      post({ kind: 'online', online: value });
    },
  };

  /** Holds the lock `name` until stop(); `granted` runs once it is ours. */
  function hold(/** @type {string} */ name, /** @type {() => Promise<void>} */ granted = async () => {}) {
    locks.request(name, { signal: abort.signal }, async () => {
      if (stopped) return;
      const held = new Promise((resolve) => { releases.push(() => resolve(undefined)); });
      await granted();
      await held;
    }).catch(() => { /* aborted by stop() */ });
  }

  async function lead() {
    if (stopped) return;
    leading = true;
    // What the previous syncing tab and the others left in the storage.
    try { await link.refresh(); } catch { /* recorded by the engine, or closed */ }
    if (stopped) return;
    await updateLive();
    inner = syncTransport.start(leaderLink, options);
  }

  channel.onmessage = (event) => {
    const message = event && event.data;
    if (!message || typeof message !== 'object' || stopped) return;
    if (leading) {
      if (message.kind === 'added') refresh();
      else if (message.kind === 'ask') post({ kind: 'online', online });
    } else if (message.kind === 'outcome') {
      refresh();
    } else if (message.kind === 'online') {
      try { link.setOnline(message.online === true); } catch { /* closed */ }
    }
  };

  hold(tabPrefix + link.issuer());
  hold(`eventjournal-sync:${scope}`, lead);
  post({ kind: 'ask' });

  return {
    stop() {
      if (stopped) return;
      stopped = true;
      if (inner) inner.stop();
      if (leading) post({ kind: 'online', online: false });
      abort.abort();
      for (const release of releases.splice(0)) release();
      channel.onmessage = null;
      channel.close();
    },
    /** A command entered the outbox: push it, or tell the syncing tab. */
    wake() {
      if (inner) inner.wake();
      else post({ kind: 'added' });
    },
  };
}

/** The transport the browser entry registers (setSyncTransport). */
const tabsTransport = { check, start };

export { tabsTransport, shareTabs, withTabScope };
