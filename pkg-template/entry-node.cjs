// eventjournal for Node (CommonJS; the ESM entry re-exports this one, so both share a
// single WebAssembly instance).
const wasm = require('./node/eventjournal.js');
const errors = require('./lib/errors.cjs');
const { memoryStorage } = require('./lib/memory.cjs');
const { sqliteStorage, setSqliteDriver } = require('./lib/sqlite.cjs');
const { postgresStorage, setPostgresDriver } = require('./lib/postgres.cjs');
// Works wherever globalThis.indexedDB exists (e.g. with the fake-indexeddb package).
const { indexedDbStorage } = require('./lib/indexeddb.cjs');
const { memoryKeyStore } = require('./lib/keys/memory.cjs');
const { indexedDbKeyStore } = require('./lib/keys/indexeddb.cjs');
const { sqliteKeyStore } = require('./lib/keys/sqlite.cjs');
const { postgresKeyStore } = require('./lib/keys/postgres.cjs');

wasm.setErrorFactory(errors.errorFactory);
// The sync client's HTTP transport (Engine.open({ sync })).
wasm.setSyncTransport(require('./lib/sync.cjs').syncTransport);
// better-sqlite3 is an optional peer dependency, loaded on first use.
if (typeof setSqliteDriver === 'function') setSqliteDriver(() => require('better-sqlite3'));
// pg (node-postgres 8) likewise.
setPostgresDriver(() => require('pg'));

// A key store may be given as the Promise its factory returns.
const open = wasm.Engine.open;
wasm.Engine.open = async function (options) {
  const keys = options && options.keys;
  if (keys && typeof keys.then === 'function') options = { ...options, keys: await keys };
  return open.call(wasm.Engine, options);
};

module.exports = {
  ...errors,
  Engine: wasm.Engine,
  memoryStorage,
  sqliteStorage,
  setSqliteDriver,
  postgresStorage,
  setPostgresDriver,
  indexedDbStorage,
  memoryKeyStore,
  indexedDbKeyStore,
  sqliteKeyStore,
  postgresKeyStore,
  version: '__VERSION__',
  ready: () => Promise.resolve(),
};
