// The contract suite again, with every storage-related test on postgresStorage (pg), each store
// in its own schema of one throwaway PostgreSQL cluster: the PostgreSQL adapter meets the same
// contract as the memory one. A reopen is a new adapter (its own pool) on the same schema,
// like another process.
import { after, test } from 'node:test';
import * as lib from 'eventjournal';
import { createSuite } from './contract/suite.mjs';
import { startPostgres } from './support/postgres.mjs';

const cluster = await startPostgres({ fsync: false });
after(() => cluster.stop());
let n = 0;
const schemas = new WeakMap();
const open = async (schema) => {
  const storage = await lib.postgresStorage({ connectionString: cluster.connectionString }, { schema });
  schemas.set(storage, schema);
  return storage;
};
const fresh = () => `contract_${(n += 1)}`;
const newStorage = () => open(fresh());
const reopenStorage = (storage) => open(schemas.get(storage));
// For the suite's adapter-policy tests (when the suite has them): the factory and bad arguments.
const connection = () => ({ connectionString: cluster.connectionString });
const storageFactory = {
  name: 'postgresStorage',
  open: () => lib.postgresStorage(connection(), { schema: fresh() }),
  call: (...args) => lib.postgresStorage(...args),
  bad: [[], [null], [cluster.connectionString], [{}], [{ connectionString: '' }], [connection(), { schema: 'Bad-Name' }],
    [connection(), { poolSize: 0 }], [connection(), 'schema']],
};

for (const { name, fn } of createSuite({ ...lib, newStorage, reopenStorage, storageFactory })) test(`[postgres] ${name}`, fn);
