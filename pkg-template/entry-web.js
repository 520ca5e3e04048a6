// eventjournal for browsers and bundlers (ESM). The WebAssembly module is fetched and
// compiled on the first Engine.open (or by awaiting `ready()`), next to this file.
import init, { Engine, setErrorFactory, setSyncTransport } from './web/eventjournal.js';
import { errorFactory, StorageError } from './lib/errors.js';
import { tabsTransport, withTabScope } from './lib/sync-tabs.js';

export * from './lib/errors.js';
export { memoryStorage } from './lib/memory.js';
export { indexedDbStorage } from './lib/indexeddb.js';
export { memoryKeyStore } from './lib/keys/memory.js';
export { indexedDbKeyStore } from './lib/keys/indexeddb.js';
export { Engine };

/** The package version. */
export const version = '__VERSION__';

let initialized = null;

/**
 * Loads the WebAssembly module (done for you by Engine.open). Pass `module_or_path` to load
 * it from elsewhere, e.g. `await ready({ module_or_path: '/assets/eventjournal_bg.wasm' })`.
 */
export function ready(options) {
  if (!initialized) {
    initialized = init(options).then(() => {
      setErrorFactory(errorFactory);
      setSyncTransport(tabsTransport);
    });
    initialized.catch(() => { initialized = null; });
  }
  return initialized;
}

const open = Engine.open;
Engine.open = async function (options) {
  await ready();
  // A key store may be given as the Promise its factory returns.
  const keys = options && options.keys;
  if (keys && typeof keys.then === 'function') options = { ...options, keys: await keys };
  // Tabs on one IndexedDB database elect one to sync (lib/sync-tabs.js).
  return open.call(Engine, withTabScope(options));
};

/** SQLite storage exists only in Node: here a StorageError (reason 'unsupported'), like any store the platform lacks. */
export async function sqliteStorage() {
  throw new StorageError('sqliteStorage() is only available in Node (import eventjournal in Node)', { reason: 'unsupported' });
}

/** SQLite storage exists only in Node. */
export function setSqliteDriver() {
  throw new StorageError('setSqliteDriver() is only available in Node', { reason: 'unsupported' });
}

/** PostgreSQL storage exists only in Node. */
export async function postgresStorage() {
  throw new Error('postgresStorage() is only available in Node (import eventjournal in Node)');
}

/** PostgreSQL storage exists only in Node. */
export function setPostgresDriver() {
  throw new Error('setPostgresDriver() is only available in Node');
}

/** SQLite key stores exist only in Node. */
export async function sqliteKeyStore() {
  throw new StorageError('sqliteKeyStore() is only available in Node (import eventjournal in Node)', { reason: 'unsupported' });
}

/** PostgreSQL key stores exist only in Node. */
export async function postgresKeyStore() {
  throw new StorageError('postgresKeyStore() is only available in Node (import eventjournal in Node)', { reason: 'unsupported' });
}
