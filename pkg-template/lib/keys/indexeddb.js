// @ts-check
// indexedDbKeyStore(name, options?): data keys in their own IndexedDB database (the policy is
// keys/common.js). Give it another name than the storage's database, e.g. 'bank-app-keys':
// keys kept apart from the events can be cleared (or backed up, or not) on their own.
//
// Layout: object store 'keys', keyPath 'name', records { name, key: Uint8Array }. Writes
// (createKey, deleteKey) are 'strict' transactions: they resolve once the browser has flushed
// them to disk. What deletion cannot reach: IndexedDB is LevelDB in Chromium (SQLite in
// Firefox, Safari); a deleted record's bytes may stay in its log and table files until the
// browser compacts them, outside anything a page can trigger (RELIABILITY.md, "Erasure").
import { openFailure, typeOf } from '../common.js';
import { StorageError, ValidationError } from '../errors.js';
import { keyStoreAdapter } from './common.js';

/**
 * @param {IDBFactory} factory
 * @param {string} name
 * @returns {Promise<IDBDatabase>}
 */
function openDatabase(factory, name) {
  return new Promise((resolve, reject) => {
    const request = factory.open(name);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains('keys')) db.createObjectStore('keys', { keyPath: 'name' });
    };
    request.onsuccess = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains('keys')) {
        db.close();
        reject(new ValidationError(`indexedDbKeyStore(${name}): the database '${name}' is not a key store (is it the storage's? give the keys their own database)`));
        return;
      }
      resolve(db);
    };
    request.onerror = (event) => {
      if (event && typeof event.preventDefault === 'function') event.preventDefault();
      reject(request.error);
    };
  });
}

/**
 * Data keys in the IndexedDB database `name` (created if missing).
 *
 * @example
 * const engine = await Engine.open({
 *   storage: await indexedDbStorage('bank-app'),
 *   keys: await indexedDbKeyStore('bank-app-keys'),
 * });
 * @param {string} name
 * @param {{ indexedDB?: IDBFactory }} [options]
 * @returns {Promise<import('../../index').KeyStore & { close(): Promise<void> }>}
 */
async function indexedDbKeyStore(name, options) {
  if (typeof name !== 'string' || name.length === 0) {
    throw new ValidationError(`indexedDbKeyStore(name): name must be a non-empty string, got ${typeOf(name)}`);
  }
  const factory = (options && options.indexedDB) || globalThis.indexedDB;
  if (!factory || typeof factory.open !== 'function') {
    throw new StorageError('indexedDbKeyStore() needs IndexedDB (globalThis.indexedDB is missing)', { reason: 'unsupported' });
  }
  const label = `indexedDbKeyStore(${name})`;
  /** @type {IDBDatabase} */
  let db;
  try {
    db = await openDatabase(factory, name);
  } catch (e) {
    throw openFailure(label, e);
  }
  db.onversionchange = () => db.close();

  /**
   * @param {IDBTransactionMode} mode
   * @param {(store: IDBObjectStore, out: { value: any }) => void} body
   * @returns {Promise<any>}
   */
  function run(mode, body) {
    return new Promise((resolve, reject) => {
      const tx = mode === 'readwrite'
        ? db.transaction('keys', mode, { durability: 'strict' })
        : db.transaction('keys', mode);
      const out = { value: undefined };
      tx.oncomplete = () => resolve(out.value);
      tx.onabort = () => reject(tx.error || new Error('IndexedDB transaction aborted'));
      body(tx.objectStore('keys'), out);
    });
  }

  const get = (/** @type {IDBObjectStore} */ store, /** @type {string} */ n, /** @type {(k: any) => void} */ then) => {
    const request = store.get(n);
    request.onsuccess = () => then(request.result ? request.result.key : undefined);
  };

  return keyStoreAdapter(label, {
    getKey: (n) => run('readonly', (store, out) => get(store, n, (k) => { out.value = k; })),
    getKeys: (names) => run('readonly', (store, out) => {
      out.value = new Array(names.length);
      names.forEach((n, i) => get(store, n, (k) => { out.value[i] = k; }));
    }),
    createKey: (n, key) => run('readwrite', (store, out) => {
      get(store, n, (existing) => {
        if (existing) {
          out.value = existing;
        } else {
          store.add({ name: n, key });
          out.value = key;
        }
      });
    }),
    deleteKey: (n) => run('readwrite', (store) => { store.delete(n); }),
    async scrub() {},
    async close() { db.close(); },
  });
}

export { indexedDbKeyStore };
