// eventjournal for Node (ESM), sharing the CommonJS build's single instance.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const m = require('./index.cjs');

export const {
  Engine, memoryStorage, sqliteStorage, setSqliteDriver, postgresStorage, setPostgresDriver, indexedDbStorage,
  memoryKeyStore, indexedDbKeyStore, sqliteKeyStore, postgresKeyStore,
  version, ready,
  EventJournalError, ValidationError, DomainError, ConcurrencyError, StorageError, IntegrityError,
  NotFoundError, ProjectionError, ClosedError, ForbiddenError, InternalError, UnauthenticatedError,
  ProtocolError, NetworkError, ERROR_CODES, errorFactory,
} = m;
