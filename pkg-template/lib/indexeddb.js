// indexedDbStorage(name): browser storage on IndexedDB (arrives with the storage issue).
async function indexedDbStorage() {
  throw new Error('indexedDbStorage() is not available in this build');
}

export { indexedDbStorage };
