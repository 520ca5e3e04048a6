// The contract suite again, with every storage-related test on sqliteStorage (better-sqlite3):
// the SQLite adapter meets the same contract as the memory one.
import { after, test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as lib from 'eventjournal';
import { createSuite } from './contract/suite.mjs';

const dir = mkdtempSync(join(tmpdir(), 'ej-contract-sqlite-'));
let n = 0;
const paths = new WeakMap();
const freshPath = () => join(dir, `db-${(n += 1)}.sqlite`);
const open = async (path) => {
  const storage = await lib.sqliteStorage(path);
  paths.set(storage, path);
  return storage;
};
const newStorage = () => open(freshPath());
const reopenStorage = (storage) => open(paths.get(storage));
const storageFactory = {
  name: 'sqliteStorage',
  open: () => lib.sqliteStorage(freshPath()),
  call: (...args) => lib.sqliteStorage(...args),
  bad: [[''], [42], [undefined], [freshPath(), { synchronous: 'SOMETIMES' }], [freshPath(), { busyTimeoutMs: -1 }],
    [freshPath(), { watchIntervalMs: 'often' }], [freshPath(), 'FULL']],
};

for (const { name, fn } of createSuite({ ...lib, newStorage, reopenStorage, storageFactory })) test(`[sqlite] ${name}`, fn);
after(() => rmSync(dir, { recursive: true, force: true }));
