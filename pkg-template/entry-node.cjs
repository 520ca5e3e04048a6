// eventjournal for Node (CommonJS; the ESM entry re-exports this one, so both share a
// single WebAssembly instance).
const wasm = require('./node/eventjournal.js');
const errors = require('./lib/errors.cjs');
const { memoryStorage } = require('./lib/memory.cjs');
const { sqliteStorage } = require('./lib/sqlite.cjs');

wasm.setErrorFactory(errors.errorFactory);

function indexedDbStorage() {
  throw new Error('indexedDbStorage() needs IndexedDB (a browser, or globalThis.indexedDB from fake-indexeddb)');
}

module.exports = {
  ...errors,
  Engine: wasm.Engine,
  memoryStorage,
  sqliteStorage,
  indexedDbStorage,
  version: '__VERSION__',
  ready: () => Promise.resolve(),
};
