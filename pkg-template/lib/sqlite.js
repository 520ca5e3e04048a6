// sqliteStorage(path): Node storage on better-sqlite3 (arrives with the storage issue).
function sqliteStorage() {
  throw new Error('sqliteStorage() is not available in this build');
}

export { sqliteStorage };
