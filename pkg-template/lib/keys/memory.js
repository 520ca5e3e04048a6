// @ts-check
// memoryKeyStore(name?): data keys in memory (the policy is keys/common.js). Like
// memoryStorage: `memoryKeyStore()` is a new private store, `memoryKeyStore(name)` the store
// called `name`, shared by every key store of that name in this page or process for as long
// as it lives; closing one closes that handle only. Deleting a key drops the page's last
// reference to it (what the JavaScript heap keeps until it is collected is not ours to
// erase).
import { typeOf } from '../common.js';
import { ValidationError } from '../errors.js';
import { keyStoreAdapter } from './common.js';

/** @type {Map<string, Map<string, Uint8Array>>} */
const named = new Map();

/**
 * Data keys in memory: a new private store, or the one called `name`.
 *
 * @example
 * const engine = await Engine.open({ keys: memoryKeyStore() });
 * @param {string} [name]
 * @returns {import('../../index').KeyStore & { close(): Promise<void> }}
 */
function memoryKeyStore(name) {
  if (name !== undefined && (typeof name !== 'string' || name.length === 0)) {
    throw new ValidationError(`memoryKeyStore(name): name must be a non-empty string, got ${typeOf(name)}`);
  }
  let keys = name === undefined ? undefined : named.get(name);
  if (!keys) {
    keys = new Map();
    if (name !== undefined) named.set(name, keys);
  }
  const store = keys;
  return keyStoreAdapter(name === undefined ? 'memoryKeyStore()' : `memoryKeyStore(${name})`, {
    async getKey(n) { return store.get(n); },
    async getKeys(names) { return names.map((n) => store.get(n)); },
    async createKey(n, key) {
      const existing = store.get(n);
      if (existing) return existing;
      store.set(n, key);
      return key;
    },
    async deleteKey(n) {
      const existing = store.get(n);
      if (existing) existing.fill(0);
      store.delete(n);
    },
    async scrub() {},
    async close() {},
  });
}

export { memoryKeyStore };
