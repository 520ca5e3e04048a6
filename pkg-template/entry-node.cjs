// eventjournal for Node (CommonJS; the ESM entry re-exports this one, so both share a
// single WebAssembly instance).
const wasm = require('./node/eventjournal.js');
const errors = require('./lib/errors.cjs');
const { memoryStorage } = require('./lib/memory.cjs');
const { sqliteStorage, setSqliteDriver } = require('./lib/sqlite.cjs');
const { postgresStorage, setPostgresDriver } = require('./lib/postgres.cjs');
// Works wherever globalThis.indexedDB exists (e.g. with the fake-indexeddb package).
const { indexedDbStorage } = require('./lib/indexeddb.cjs');

wasm.setErrorFactory(errors.errorFactory);
// The sync client's HTTP transport (Engine.open({ sync })).
wasm.setSyncTransport(require('./lib/sync.cjs').syncTransport);
// better-sqlite3 is an optional peer dependency, loaded on first use.
if (typeof setSqliteDriver === 'function') setSqliteDriver(() => require('better-sqlite3'));
// pg (node-postgres 8) likewise.
setPostgresDriver(() => require('pg'));

module.exports = {
  ...errors,
  Engine: wasm.Engine,
  memoryStorage,
  sqliteStorage,
  setSqliteDriver,
  postgresStorage,
  setPostgresDriver,
  indexedDbStorage,
  version: '__VERSION__',
  ready: () => Promise.resolve(),
};
