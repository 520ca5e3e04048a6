// Compiled by postgres-types.test.mjs with `tsc --noEmit --strict` against the installed
// package: the typings of postgresStorage describe its use, and refuse its misuse.
import {
  Engine, postgresStorage, setPostgresDriver, StorageError,
  type StorageAdapter, type PostgresStorageOptions, type PostgresConnection, type PostgresPool,
} from 'eventjournal';

export async function main(): Promise<void> {
  const options: PostgresStorageOptions = { schema: 'bank', poolSize: 5, connectionTimeoutMs: 1000, statementTimeoutMs: 0 };
  const storage: StorageAdapter = await postgresStorage({ connectionString: 'postgresql://app@db/app' }, options);
  const engine: Engine = await Engine.open({ storage });
  await engine.close();

  const pool: PostgresPool = { query: async () => ({ rows: [] }), connect: async () => ({}), end: async () => {}, options: {} };
  const viaPool: Promise<StorageAdapter> = postgresStorage({ pool });
  const connection: PostgresConnection = Math.random() > 0.5 ? { pool } : { connectionString: 'postgresql://db/app' };
  await postgresStorage(connection);
  await viaPool.catch((e: unknown) => (e instanceof StorageError ? e.reason : undefined));
  setPostgresDriver(() => ({}));

  // @ts-expect-error: one of connectionString or pool, not both
  await postgresStorage({ connectionString: 'x', pool });
  // @ts-expect-error: a connection object, not a string
  await postgresStorage('postgresql://db/app');
  // @ts-expect-error: the connection is required
  await postgresStorage();
  // @ts-expect-error: schema is a string
  await postgresStorage({ connectionString: 'x' }, { schema: 5 });
  // @ts-expect-error: no such option
  await postgresStorage({ connectionString: 'x' }, { fsync: false });
  // @ts-expect-error: a pool needs query, connect and end
  await postgresStorage({ pool: { query: async () => ({}) } });
}
