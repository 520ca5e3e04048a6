// @ts-check
// What every key store shares: one shape and one policy (the key-store contract of the npm
// README, "Personal data and erasure").
//
// A key store keeps one 32-byte data key per name. The engine names keys after subjects
// ('account_001'; a returning subject's next key is 'account_001\u001f2'), makes every key
// itself (from the platform's CSPRNG) and hands it to createKey; stores never generate keys.
// A store writes only what is particular to it, as the `impl` of keyStoreAdapter(label, impl);
// keyStoreAdapter adds the policy:
// - Every method checks its arguments (a ValidationError): names are non-empty strings of at
//   most 1,024 characters, keys Uint8Arrays of exactly 32 bytes.
// - getKey(name) resolves to a copy of the key, or undefined; getKeys(names) to one entry per
//   name, in order.
// - createKey(name, key) stores `key` unless `name` has a key, and resolves to the key `name`
//   has afterwards (the existing one wins: two engines racing to create a subject's key end
//   up with the same one).
// - deleteKey(name) resolves once the key is gone from the store (deleting a missing key is
//   not an error); scrub() then makes deleted keys unrecoverable from the store's files as far
//   as the store can (the engine calls it at the end of every forget).
// - After close(), every call but close() rejects with a ClosedError; closing twice is
//   harmless.
import { closedGuard, typeOf } from '../common.js';
import { ValidationError } from '../errors.js';

const MAX_NAME = 1024;

/**
 * @param {unknown} name
 * @param {string} what
 * @returns {string}
 */
function checkName(name, what) {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME) {
    throw new ValidationError(`${what}: name must be a string of 1 to ${MAX_NAME} characters, got ${typeOf(name)}`);
  }
  return name;
}

/**
 * @param {unknown} key
 * @param {string} what
 * @returns {Uint8Array}
 */
function checkKey(key, what) {
  if (!(key instanceof Uint8Array) || key.length !== 32) {
    throw new ValidationError(`${what}: key must be a Uint8Array of 32 bytes, got ${key instanceof Uint8Array ? `${key.length} bytes` : typeOf(key)}`);
  }
  return key;
}

/** A copy of a key (callers never hold the store's own bytes). @param {Uint8Array} k */
const copy = (k) => new Uint8Array(k);

/**
 * What is particular to one key store; keyStoreAdapter() calls it with checked arguments
 * only, and never after close.
 * @typedef {object} KeyStoreImpl
 * @property {(name: string) => Promise<Uint8Array | undefined>} getKey
 * @property {(names: string[]) => Promise<(Uint8Array | undefined)[]>} getKeys
 * @property {(name: string, key: Uint8Array) => Promise<Uint8Array>} createKey
 * @property {(name: string) => Promise<void>} deleteKey
 * @property {() => Promise<void>} scrub
 * @property {() => Promise<void>} close called once, by the first close()
 */

/**
 * A key store with the policy above around `impl`.
 * @param {string} label e.g. 'sqliteKeyStore(/data/keys.db)', for messages
 * @param {KeyStoreImpl} impl
 * @returns {import('../../index').KeyStore & { close(): Promise<void> }}
 */
function keyStoreAdapter(label, impl) {
  const guard = closedGuard(label);
  return {
    async getKey(name) {
      guard.check('getKey');
      const key = await impl.getKey(checkName(name, `${label}.getKey(name)`));
      return key === undefined ? undefined : copy(key);
    },
    async getKeys(names) {
      guard.check('getKeys');
      if (!Array.isArray(names)) throw new ValidationError(`${label}.getKeys(names): names must be an array, got ${typeOf(names)}`);
      const checked = names.map((n, i) => checkName(n, `${label}.getKeys(names): names[${i}]`));
      const keys = checked.length === 0 ? [] : await impl.getKeys(checked);
      return keys.map((k) => (k === undefined ? undefined : copy(k)));
    },
    async createKey(name, key) {
      guard.check('createKey');
      const what = `${label}.createKey(name, key)`;
      return copy(await impl.createKey(checkName(name, what), copy(checkKey(key, what))));
    },
    async deleteKey(name) {
      guard.check('deleteKey');
      await impl.deleteKey(checkName(name, `${label}.deleteKey(name)`));
    },
    async scrub() {
      guard.check('scrub');
      await impl.scrub();
    },
    async close() {
      if (!guard.close()) return;
      await impl.close();
    },
  };
}

export { keyStoreAdapter, checkName, checkKey };
