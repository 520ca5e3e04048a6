// Type declarations for eventjournal. The engine is Rust compiled to WebAssembly; these
// declarations describe its JavaScript API (DESIGN.md §4, §5).

// ---------------------------------------------------------------------------------------
// JSON

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

// ---------------------------------------------------------------------------------------
// Events

/**
 * An event as the engine returns it and the storage stores it.
 *
 * `hash = hex(SHA-256(prevHash + JCS(event without hash)))`, where `prevHash` is the previous
 * event's hash (64 zeros before position 1) and JCS is RFC 8785 canonical JSON.
 */
export interface StoredEvent<TType extends string = string, TData = JsonObject> {
  /** UUID v7, unique across the log. */
  id: string;
  /** The aggregate's id, 1..256 characters. */
  streamId: string;
  /** The aggregate type, fixed by the stream's first event. */
  streamType: string;
  type: TType;
  data: TData;
  /**
   * Caller-supplied metadata, plus `commandId` when the command had one, and `schemaVersion`
   * (the version of its type's shape) when that type has upcasters (absent means 1).
   */
  metadata: JsonObject;
  /** Milliseconds since the epoch; never decreases along the log. */
  timestamp: number;
  /** 1, 2, 3... within the stream. */
  version: number;
  /** 1, 2, 3... within the whole log. */
  position: number;
  /** 64 lowercase hex characters. */
  hash: string;
  /**
   * Read form only (never stored, never hashed): the personal-data fields that read as `null`
   * because their subject was forgotten (`engine.forget`).
   */
  erased?: string[];
}

/**
 * A personal-data value in the stored form (what `readAll({ raw: true })` shows, what storages
 * keep and the sync protocol carries): AES-256-GCM under the subject's key.
 */
export interface EncryptedValue {
  $encrypted: {
    /** The envelope format, 1. */
    v: 1;
    /** Whose key: the subject. */
    subject: string;
    /** The subject's key generation (absent: 1); a subject forgotten and back gets the next one. */
    gen?: number;
    /** Base64 of the 96-bit nonce. */
    nonce: string;
    /** Base64 of the ciphertext and its 16-byte tag. */
    data: string;
  };
}

/**
 * An event of a synced engine's optimistic view that the server has not confirmed yet: decided
 * by this client (`position` and `hash` are the server's to give). Reads show them after the
 * confirmed events, unless they are given `{ confirmed: true }`.
 */
export interface PendingEvent<TType extends string = string, TData = JsonObject>
  extends Omit<StoredEvent<TType, TData>, 'position' | 'hash'> {
  position: null;
  hash: null;
  pending: true;
}

/** An event as a `decide` returns it. */
export interface NewEvent<TType extends string = string, TData extends JsonObject = JsonObject> {
  type: TType;
  data?: TData;
  metadata?: JsonObject;
}

// ---------------------------------------------------------------------------------------
// Storage (DESIGN.md §5)

/** A snapshot: opaque to the storage, stored as given and found again by `key`. */
export interface Snapshot {
  key: string;
  /** Position of the last event the state includes. */
  position: number;
  /** Hash of that event; a snapshot that does not match the log is ignored. */
  hash: string;
  /**
   * The versions it was built under (the projection's, the upcasters', the forgotten
   * subjects'); one built under others is ignored. Absent in snapshots of older releases.
   */
  versions?: string;
  /** With a key store: sealed (an `EncryptedValue` under the snapshot key). */
  state: JsonValue;
}

/**
 * A command of a synced engine's outbox, as the storage keeps it: accepted by `execute`, not
 * yet confirmed nor refused by the server. The storage stores it as given and returns it by
 * `commandId`; only `commandId` and `seq` mean anything to it.
 */
export interface OutboxEntry {
  commandId: string;
  /** The outbox's order: `readOutbox` returns entries by increasing `seq`. */
  seq: number;
  streamType: string;
  streamId: string;
  command: { type: string; [key: string]: JsonValue };
  expectedVersion: ExpectedVersion;
  metadata: JsonObject;
  /** When it was issued (ms since the epoch). */
  issuedAt: number;
  /** The id of the engine instance that issued it. */
  issuer: string;
  /** A refusal kept for its issuer (another tab) to report. */
  outcome?: { error: { name: string; code: string; message: string } };
}

/**
 * What the engine needs from a storage. Every method may return a value or a Promise.
 * `appendEvents` must be atomic: write all of `events` only if the store's last position is
 * `expectedPosition`, otherwise write nothing and reject with an error whose `code` is
 * `'CONFLICT'`.
 *
 * An engine opened with `sync` also keeps its pending commands in the storage, so that a
 * reload or a crash loses none: `readOutbox`, `writeOutbox` and `deleteOutbox` (all three, or
 * `Engine.open` rejects with a `StorageError`). The package's adapters have them.
 */
export interface StorageAdapter {
  /** Events with position > afterPosition, ascending, at most `limit` of them. */
  readEvents(afterPosition: number, limit: number): Promise<StoredEvent[]> | StoredEvent[];
  appendEvents(events: StoredEvent[], expectedPosition: number): Promise<void> | void;
  readSnapshot?(key: string): Promise<Snapshot | undefined> | Snapshot | undefined;
  writeSnapshot?(snapshot: Snapshot): Promise<void> | void;
  /** Another writer appended: call `onAppend(lastPosition)`. Returns a function that stops watching. */
  watch?(onAppend: (lastPosition: number) => void): (() => void) | void;
  /**
   * Makes what was overwritten (snapshots, after `forget`) unrecoverable from the store's files,
   * as far as the store can: SQLite checkpoints and truncates its WAL (with `secure_delete`
   * on), PostgreSQL runs `VACUUM (FULL)` on its snapshots. Called at the end of every `forget`.
   */
  scrub?(): Promise<void> | void;
  close?(): Promise<void> | void;
  /** Every outbox entry, in `seq` order (only with sync). */
  readOutbox?(): Promise<OutboxEntry[]> | OutboxEntry[];
  /** Inserts the entry, or replaces the one with its `commandId`; durable once it resolves. */
  writeOutbox?(entry: OutboxEntry): Promise<void> | void;
  /** Deletes the entries with these ids (unknown ones are ignored). */
  deleteOutbox?(commandIds: string[]): Promise<void> | void;
}

/**
 * Where the data keys of personal data live (`Engine.open({ keys })`): one 32-byte key per
 * name. The engine names keys after subjects (a subject forgotten and written again gets
 * `<subject>\u001f2`, …) and makes every key itself, from the platform's CSPRNG; a store only
 * keeps them. Every method may return a value or a Promise; a failure is a `StorageError`.
 */
export interface KeyStore {
  /** The key called `name`, or `undefined`. */
  getKey(name: string): Promise<Uint8Array | undefined> | Uint8Array | undefined;
  /** Stores `key` unless `name` has one; resolves to the key `name` has afterwards (the existing one wins). */
  createKey(name: string, key: Uint8Array): Promise<Uint8Array> | Uint8Array;
  /** Deletes the key (resolves once the deletion is durable); deleting a missing key is fine. */
  deleteKey(name: string): Promise<void> | void;
  /** Several keys at once, in order (optional: the engine asks one by one without it). */
  getKeys?(names: string[]): Promise<(Uint8Array | undefined)[]> | (Uint8Array | undefined)[];
  /** Makes deleted keys unrecoverable from the store's files; called at the end of every `forget`. */
  scrub?(): Promise<void> | void;
  /** Called by `engine.close()`. */
  close?(): Promise<void> | void;
}

/** A key store of this package: `KeyStore` with every method, and `close()`. */
export interface KeyStoreHandle extends KeyStore {
  getKey(name: string): Promise<Uint8Array | undefined>;
  createKey(name: string, key: Uint8Array): Promise<Uint8Array>;
  deleteKey(name: string): Promise<void>;
  getKeys(names: string[]): Promise<(Uint8Array | undefined)[]>;
  scrub(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Data keys in memory: a new private store, or the one called `name` (shared in this page or
 * process, like `memoryStorage(name)`). Synchronous.
 *
 * @example
 * const engine = await Engine.open({ keys: memoryKeyStore() });
 */
export function memoryKeyStore(name?: string): KeyStoreHandle;

/**
 * Data keys in their own IndexedDB database (give it another name than the storage's).
 *
 * @example
 * const engine = await Engine.open({ storage: await indexedDbStorage('bank'), keys: await indexedDbKeyStore('bank-keys') });
 */
export function indexedDbKeyStore(name: string, options?: { indexedDB?: IDBFactory }): Promise<KeyStoreHandle>;

/**
 * Data keys in a SQLite file (Node, better-sqlite3), table `eventjournal_keys`; `secure_delete`
 * on, and a deleted key is checkpointed out of the WAL before `deleteKey` resolves.
 */
export function sqliteKeyStore(path: string, options?: { busyTimeoutMs?: number }): Promise<KeyStoreHandle>;

/**
 * Data keys in PostgreSQL (Node, pg), in a schema of their own (default `'eventjournal_keys'`);
 * `scrub()` runs `VACUUM (FULL)` on the keys table.
 */
export function postgresKeyStore(connection: PostgresConnection, options?: PostgresStorageOptions): Promise<KeyStoreHandle>;

/**
 * Storage in memory. Without a name: a new private store. With a name: the store of that name,
 * shared by every adapter opened with it in this page or process (like two tabs on one
 * database) and kept as long as the page or process lives; closing an adapter closes that
 * adapter only. Give each engine its own adapter (an engine closes its storage when it
 * closes); an adapter's watchers hear the other adapters' appends, not its own.
 *
 * Every adapter of the package follows one policy: the factory is async, a bad argument is a
 * `ValidationError` (a store that cannot be opened a `StorageError`), `watch` with a
 * non-function throws a `ValidationError`, every call after `close()` is a `ClosedError`, and
 * closing twice is harmless.
 *
 * @example
 * const tab1 = await Engine.open({ storage: await memoryStorage('app') });
 * const tab2 = await Engine.open({ storage: await memoryStorage('app') });
 */
export function memoryStorage(name?: string): Promise<StorageAdapter>;

export interface IndexedDbStorageOptions {
  /**
   * `'strict'` (default): an append resolves once the data is on disk, so an acknowledged
   * event survives a power loss. `'relaxed'`: once the OS has it (survives a tab crash; may
   * lose the last acknowledged events on power loss; and Chromium 156 was seen to find its
   * database corrupt after a kill of the whole browser and delete it, see `acceptLoss`).
   * `'default'`: the browser's.
   */
  durability?: 'strict' | 'relaxed' | 'default';
  /** Open (and upgrade to) this schema version; for migrations and tests. */
  schemaVersion?: 1 | 2 | 3 | 4;
  /** The IndexedDB factory to use (default `globalThis.indexedDB`), e.g. fake-indexeddb's. */
  indexedDB?: IDBFactory;
  /**
   * When the browser finds the database corrupt, it deletes it and recreates it empty
   * (Chromium says so once, on the next open). The adapter records that, and every open
   * rejects with a `StorageError` whose `reason` is `'lost'` until one passes
   * `acceptLoss: true`: that one starts from the empty log. A synced engine then fetches the
   * server's log again; its pending commands are gone. Chromium tells only the first database
   * opened in the origin after the loss: open this storage before any other IndexedDB database
   * of your app, or the loss reads as a new, empty database.
   *
   * @example
   * let storage;
   * try {
   *   storage = await indexedDbStorage('bank-app');
   * } catch (e) {
   *   if (!(e instanceof StorageError && e.reason === 'lost')) throw e;
   *   showNotice('This browser lost the saved data.');
   *   storage = await indexedDbStorage('bank-app', { acceptLoss: true });
   * }
   */
  acceptLoss?: boolean;
}

/**
 * Browser storage on IndexedDB (database `name`), one connection per adapter. A connection the
 * browser closes (or another tab's schema upgrade) is reopened on the next call; after the
 * adapter's own `close()`, every call is a `ClosedError`.
 *
 * @example
 * const engine = await Engine.open({ storage: await indexedDbStorage('bank-app') });
 */
export function indexedDbStorage(name: string, options?: IndexedDbStorageOptions): Promise<StorageAdapter>;

export interface SqliteStorageOptions {
  /** SQLite's `synchronous` pragma. `'FULL'` (default): an acknowledged event survives a power loss. */
  synchronous?: 'FULL' | 'NORMAL' | 'EXTRA' | 'OFF';
  /** How long a writer waits for another process's transaction (default 5000 ms). */
  busyTimeoutMs?: number;
  /** How often `watch` polls for other processes' appends (default 250 ms; 0 = no watch). */
  watchIntervalMs?: number;
}

/**
 * Node storage on SQLite (WAL) through better-sqlite3, an optional peer dependency:
 * `npm install better-sqlite3@12` (without it: a `StorageError` with reason `'unsupported'`).
 * Several processes may write one file.
 *
 * @example
 * const engine = await Engine.open({ storage: await sqliteStorage('./journal.db') });
 */
export function sqliteStorage(path: string, options?: SqliteStorageOptions): Promise<StorageAdapter>;

/** Hands the SQLite driver over explicitly (the module, or a function returning it); `null` restores the default. */
export function setSqliteDriver(driver: unknown): void;

/**
 * What `postgresStorage` needs of a `pg.Pool` (node-postgres 8). Typed structurally, so the
 * package does not depend on `@types/pg`; pass your `new pg.Pool(...)` as it is.
 */
export interface PostgresPool {
  query(...args: any[]): Promise<any>;
  connect(): Promise<any>;
  end(): Promise<void>;
  /** The pool's connection settings (pg.Pool has them): `watch` opens one more connection with them. */
  options?: object;
}

/** Where `postgresStorage` connects: a connection string (its own pool), or your pool. */
export type PostgresConnection =
  | { connectionString: string; pool?: undefined }
  | { pool: PostgresPool; connectionString?: undefined };

export interface PostgresStorageOptions {
  /**
   * The PostgreSQL schema that holds the tables (created if missing; default `'eventjournal'`).
   * A lowercase identifier of at most 50 characters (`/^[a-z_][a-z0-9_]{0,49}$/`). Several logs
   * may share a database, one per schema.
   */
  schema?: string;
  /** With `connectionString`: the pool's maximum number of connections (default 10). */
  poolSize?: number;
  /** With `connectionString`: how long to wait for a connection (default 10 000 ms). */
  connectionTimeoutMs?: number;
  /**
   * With `connectionString`: PostgreSQL's `statement_timeout` (default 30 000 ms; 0 = none).
   * A statement that runs longer fails (the engine reports a `StorageError`), nothing written.
   */
  statementTimeoutMs?: number;
}

/**
 * Node storage on PostgreSQL through pg (node-postgres 8), an optional peer dependency:
 * `npm install pg@8`. Resolves once its tables exist in `options.schema` (it creates and
 * migrates them; a database written by a newer eventjournal is refused with a `StorageError`).
 * Any number of processes may share one database: an append is one transaction with the head
 * check, a concurrent writer's append is a conflict the engine resolves (catch up, decide
 * again), and `watch` uses LISTEN/NOTIFY, so every engine sees the others' events at once.
 *
 * ```js
 * import { Engine, postgresStorage } from 'eventjournal';
 * const storage = await postgresStorage({ connectionString: process.env.DATABASE_URL }, { schema: 'bank' });
 * const engine = await Engine.open({ storage });
 * await engine.execute('BankAccount', 'a1', { type: 'create_account', accountHolder: 'Ada' });
 * await engine.close(); // ends the pool it made (a pool you pass stays yours to end)
 * ```
 *
 * Bad arguments are a `ValidationError`; a database it cannot reach or set up is a
 * `StorageError` with `cause`. With `{ pool }`, attach `pool.on('error', …)` as for any pg.Pool.
 */
export function postgresStorage(connection: PostgresConnection, options?: PostgresStorageOptions): Promise<StorageAdapter>;

/** Hands the pg module over explicitly (the module, or a function returning it), e.g. where `require` is unavailable. */
export function setPostgresDriver(driver: unknown): void;

// ---------------------------------------------------------------------------------------
// Engine

export interface OpenOptions {
  /** Where events are persisted before they are committed. Default: in memory. */
  storage?: StorageAdapter;
  /** Aggregate snapshot every N events per stream (default 100). */
  snapshotEvery?: number;
  /** Smallest number of positions between projection snapshots (default 1024). */
  projectionSnapshotEvery?: number;
  /** Milliseconds since the epoch (default `Date.now`); a clock that goes back is held. */
  clock?: () => number;
  /** A storage (or key store) call that does not settle in time fails with `StorageError` (`reason: 'timeout'`). Default 10,000; 0 = never. */
  appendTimeoutMs?: number;
  /**
   * The key store of personal data (or a Promise of one). With it, declared personal data is
   * stored encrypted, the built-in domains declare theirs, and `forget` erases; without it,
   * nothing is encrypted and a log that holds encrypted values cannot be opened.
   */
  keys?: KeyStore | Promise<KeyStore>;
  /** Sync with a server (`eventjournal/server`): see {@link SyncOptions}. */
  sync?: SyncOptions;
}

/** A command the sync server refused, as `onRejected` gets it (once). */
export interface Rejection {
  commandId: string;
  command: { type: string; [key: string]: JsonValue };
  streamType: string;
  streamId: string;
  /** `DomainError`, `ValidationError`, `ConcurrencyError`, `ForbiddenError` or `NotFoundError`. */
  error: DomainError | ValidationError | ConcurrencyError | ForbiddenError | NotFoundError;
}

/**
 * `Engine.open({ storage, sync })`: the engine opens from its storage at once and syncs in the
 * background (browsers and Node: `fetch` and Server-Sent Events).
 */
export interface SyncOptions {
  /** The sync server, e.g. `'https://example.com'` (its paths are under `/v1/`). */
  url: string;
  /** Sent as `Authorization: Bearer <token>`; a function is asked before every request. */
  token?: string | (() => string | Promise<string>);
  /** Called once for each command the server refused, before `settled` rejects. */
  onRejected?: (rejection: Rejection) => void;
  /** The `fetch` to use (default: the global one). */
  fetch?: typeof fetch;
  /** Most commands per push (default 100). */
  batchSize?: number;
  /** Retries back off from this (default 250 ms) ... */
  retryMinMs?: number;
  /** ... doubling up to this (default 30,000 ms), ±50% jitter. */
  retryMaxMs?: number;
  /** A request without an answer in this time is retried (default 30,000 ms). */
  requestTimeoutMs?: number;
  /** A live stream silent for this long is reconnected (default 45,000 ms; the server pings every 15 s). */
  liveIdleMs?: number;
}

/** `syncState()`. */
export interface SyncState {
  /** The live channel is connected. */
  online: boolean;
  /** Commands the server has neither confirmed nor refused yet. */
  pending: number;
  /** The last position of the server's log this client holds (verified). */
  confirmedPosition: number;
  /**
   * What went wrong last, until a request succeeds: `UnauthenticatedError` (401),
   * `ForbiddenError` (403), `NetworkError`, `StorageError`, a server's error; sync retries with
   * backoff. An `IntegrityError` (the server's history forks from this client's) or a
   * `ProtocolError` (another protocol version) stops sync for good; local data is kept.
   */
  lastError: EventJournalError | null;
}

export type ExpectedVersion = 'any' | 'no_stream' | 'exists' | number;

export interface ExecuteOptions {
  /** Default `'any'`. A mismatch is a `ConcurrencyError`. */
  expectedVersion?: ExpectedVersion;
  /** Copied into every event's metadata. */
  metadata?: JsonObject;
  /** Idempotency key: a repeat resolves to the first result and appends nothing. */
  commandId?: string;
  /** Answer with the events in their stored form (encrypted values, stored schema versions). */
  raw?: boolean;
}

export interface ExecuteResult {
  events: StoredEvent[];
  /** The stream's version after the command. */
  version: number;
  /** Position of the command's last event (the head, if it appended nothing). */
  position: number;
}

/** `execute` on a synced engine: pending until the server confirms it. */
export interface SyncExecuteResult {
  /** Its pending events (or, for a `commandId` the server already confirmed, the confirmed ones). */
  events: Array<PendingEvent | StoredEvent>;
  /** The stream's (optimistic) version after the command. */
  version: number;
  /** `null` while pending. */
  position: number | null;
  pending: boolean;
  /** The given one, or a generated UUID v7: pass it to `settled`. */
  commandId: string;
}

/** `execute`'s options on a synced engine. */
export interface SyncExecuteOptions extends ExecuteOptions {
  /** `'server'`: resolve once the server confirmed it (like `settled`), reject with its refusal. */
  waitFor?: 'server';
}

/** Reads of a synced engine show confirmed plus pending; `{ confirmed: true }`: the server's alone. */
export interface ConfirmedOption {
  confirmed?: boolean;
}

/** A point in a stream's history. */
export type At = { version: number } | { position: number } | { timestamp: number | Date };
/** A point in the log's history. */
export type LogAt = { position: number } | { timestamp: number | Date };

export interface Loaded<S> {
  state: S;
  version: number;
}

export interface ReadStreamOptions extends ConfirmedOption {
  /** Forward: versions after this one (default 0). Backward: versions before it (default: from the last). */
  fromVersion?: number;
  direction?: 'forward' | 'backward';
  limit?: number;
  /** The stored form (what is hashed and persisted) instead of the read form. */
  raw?: boolean;
}

export interface ReadAllOptions extends ConfirmedOption {
  /** Events after this position (exclusive, like a checkpoint; default 0). */
  fromPosition?: number;
  limit?: number;
  types?: string[];
  streamType?: string;
  /** Inclusive. */
  fromTimestamp?: number | Date;
  /** Inclusive. */
  toTimestamp?: number | Date;
  /** The stored form (what is hashed and persisted) instead of the read form; `types` then match stored types. */
  raw?: boolean;
}

export interface EventFilter {
  types?: string[];
  streamType?: string;
  streamId?: string;
}

export interface SubscribeOptions extends EventFilter {
  /** Catch up from after this position (default: the head, i.e. only new events). */
  fromPosition?: number;
  /**
   * Called when the listener throws or its Promise rejects (default: console.error), and when
   * the next event cannot be read (a missing or failing upcaster; `event` is then its stored
   * form): delivery stops before it and goes on once it can be read.
   */
  onError?: (error: unknown, event: StoredEvent) => void;
  /**
   * `true`: the events in their stored form (sealed personal data, stored schema versions:
   * what is hashed and persisted), filtered on that form. Default `false`: the read form.
   */
  raw?: boolean;
}

export interface Subscription {
  unsubscribe(): void;
}

export interface AggregateDefinition<S, C extends { type: string } = { type: string; [key: string]: any }> {
  /** The state of a stream without events (plain JSON), or a function returning it. */
  initialState: S | (() => S);
  /** Returns the events for `command`, or throws to refuse it (a `DomainError`). Must be pure. */
  decide(state: S, command: C): NewEvent[];
  /** Returns the state after `event`. Must be pure. */
  evolve(state: S, event: StoredEvent): S;
}

export interface ProjectionDefinition<S> {
  initialState: S | (() => S);
  evolve(state: S, event: StoredEvent): S;
  filter?: { types?: string[]; streamType?: string; streamId?: string };
}

/** The third argument of `defineAggregate` and `defineProjection`. */
export interface DefinitionOptions {
  /**
   * The definition's version (default 1). Defining a type or projection again with another
   * version replaces it (states and snapshots built under the old one are dropped); with the
   * same version it is a `ValidationError`.
   */
  version?: number;
}

/**
 * One step of an event type's chain: version `from` to `from + 1`. `up(data, event)` returns
 * the data of the next version, or `{ type, data }` to rename the event: it becomes version 1
 * of `type` and goes on through that type's chain. `event` is the event as read so far.
 */
export interface UpcasterDefinition<D extends JsonObject = any, N extends JsonObject = any> {
  from: number;
  up(data: D, event: StoredEvent): N | { type: string; data: JsonObject };
}

/** Which top-level fields of an event type are personal data, and whose. */
export interface PersonalDataDefinition {
  /** The subject (whose key encrypts the fields) of an event, as decided. */
  subject(event: StoredEvent): string;
  fields: string[];
}

export interface Stats {
  totalEvents: number;
  totalStreams: number;
  eventTypeDistribution: Record<string, number>;
  headPosition: number;
  headHash: string;
}

export interface VerifyResult {
  ok: boolean;
  checked: number;
  firstBadPosition: number | null;
}

export interface ReplayResult {
  /** Events read (once, however many projections read them). */
  eventsReplayed: number;
  projectionsRebuilt: number;
}

// ---------------------------------------------------------------------------------------
// Built-in domains (DESIGN.md §6). Amounts are integer cents.

export type BankAccountCommand =
  | { type: 'create_account'; accountHolder: string; initialDeposit?: number }
  | { type: 'deposit'; amount: number; description?: string }
  | { type: 'withdraw'; amount: number; description?: string }
  | { type: 'close_account' };

export interface BankAccountState {
  accountId: string;
  /** `null` once the account's subject is forgotten. */
  accountHolder: string | null;
  balance: number;
  isActive: boolean;
  createdAt: number;
  closedAt: number | null;
}

export interface OrderItem {
  itemId: string;
  quantity: number;
  price: number;
}

export type OrderCommand =
  | { type: 'place_order'; customerId: string; items: OrderItem[]; shippingAddress: string | JsonObject }
  | { type: 'confirm_order' }
  | { type: 'ship_order'; trackingNumber: string }
  | { type: 'deliver_order' }
  | { type: 'cancel_order'; reason?: string };

export type OrderStatus = 'placed' | 'confirmed' | 'shipped' | 'delivered' | 'cancelled';

export interface OrderState {
  orderId: string;
  customerId: string;
  items: OrderItem[];
  totalAmount: number;
  status: OrderStatus;
  /** `null` once the customer is forgotten. */
  shippingAddress: string | JsonObject | null;
  createdAt: number;
  confirmedAt: number | null;
  shippedAt: number | null;
  deliveredAt: number | null;
  cancelledAt: number | null;
}

export interface AccountBalanceRow {
  accountId: string;
  /** `null` once the account's subject is forgotten. */
  accountHolder: string | null;
  balance: number;
  isActive: boolean;
  lastUpdated: number;
}

export interface OrderStatusRow {
  orderId: string;
  customerId: string;
  totalAmount: number;
  status: OrderStatus;
  createdAt: number;
  lastUpdated: number;
}

/** Any stream type but the built-in ones (whose commands and states are typed above). */
export type UserType<T extends string> = T extends 'BankAccount' | 'Order' ? never : T;

/**
 * The event-sourcing engine.
 *
 * @example
 * const engine = await Engine.open();
 * await engine.execute('BankAccount', 'account_001', { type: 'create_account', accountHolder: 'Ada', initialDeposit: 100000 });
 * const { state } = await engine.load('BankAccount', 'account_001');
 */
export declare class Engine {
  private constructor();
  /** Opens an engine, reading and checking every stored event; with `sync`, a {@link SyncedEngine}. */
  static open(options: OpenOptions & { sync: SyncOptions }): Promise<SyncedEngine>;
  static open(options?: OpenOptions): Promise<Engine>;

  execute(streamType: 'BankAccount', streamId: string, command: BankAccountCommand, options?: ExecuteOptions): Promise<ExecuteResult>;
  execute(streamType: 'Order', streamId: string, command: OrderCommand, options?: ExecuteOptions): Promise<ExecuteResult>;
  execute<T extends string>(streamType: UserType<T>, streamId: string, command: { type: string; [key: string]: any }, options?: ExecuteOptions): Promise<ExecuteResult>;

  defineAggregate<S, C extends { type: string } = { type: string; [key: string]: any }>(
    streamType: string,
    definition: AggregateDefinition<S, C>,
    options?: DefinitionOptions,
  ): void;
  defineProjection<S>(name: string, definition: ProjectionDefinition<S>, options?: DefinitionOptions): void;
  /**
   * Adds a step to an event type's chain of upcasters. Chains are defined in order (`from: 1`,
   * then 2, …); a gap is a `ValidationError`. Aggregates and projections read the type anew.
   */
  defineUpcaster<D extends JsonObject = any, N extends JsonObject = any>(type: string, definition: UpcasterDefinition<D, N>): void;
  /** Declares the personal data of an event type (needs `keys`: else a `ValidationError`). */
  definePersonalData(type: string, definition: PersonalDataDefinition): void;
  /**
   * Forgets a subject: deletes its keys, so its personal data reads as `null` from now on (the
   * events list the fields in `erased`); projections and stored snapshots are rebuilt without
   * it; `verify()` still passes. Needs `keys`. Forgetting again is harmless.
   */
  forget(subject: string): Promise<void>;
  /**
   * The data keys of `subjects` this engine holds (base64, by key name) and the subjects it
   * knows are forgotten: what a sync server hands a client (`GET /v1/keys`). Needs `keys`.
   */
  exportKeys(subjects: string[]): Promise<{ keys: Record<string, string>; forgotten: string[] }>;

  readStream(streamId: string, options?: ReadStreamOptions): Promise<StoredEvent[]>;
  readAll(options?: ReadAllOptions): Promise<StoredEvent[]>;
  streamVersion(streamId: string, options?: ConfirmedOption): Promise<number>;

  load(streamType: 'BankAccount', streamId: string, options?: { at?: At } & ConfirmedOption): Promise<Loaded<BankAccountState> | null>;
  load(streamType: 'Order', streamId: string, options?: { at?: At } & ConfirmedOption): Promise<Loaded<OrderState> | null>;
  load<S = any, T extends string = string>(streamType: UserType<T>, streamId: string, options?: { at?: At } & ConfirmedOption): Promise<Loaded<S> | null>;

  projection(name: 'account_balance', options?: { at?: LogAt } & ConfirmedOption): Promise<Record<string, AccountBalanceRow>>;
  projection(name: 'order_status', options?: { at?: LogAt } & ConfirmedOption): Promise<Record<string, OrderStatusRow>>;
  projection<S = any>(name: string, options?: { at?: LogAt } & ConfirmedOption): Promise<S>;

  query(name: 'account_balance', where: Partial<AccountBalanceRow>, options?: ConfirmedOption): Promise<AccountBalanceRow[]>;
  query(name: 'order_status', where: Partial<OrderStatusRow>, options?: ConfirmedOption): Promise<OrderStatusRow[]>;
  query<R = any>(name: string, where: JsonObject, options?: ConfirmedOption): Promise<R[]>;

  subscribe(listener: (event: StoredEvent) => void | Promise<void>, options?: SubscribeOptions): Subscription;
  replay(name?: string): Promise<ReplayResult>;
  stats(): Promise<Stats>;
  verify(): Promise<VerifyResult>;
  /**
   * The result of a command once it is in the (server's) log; rejects with its refusal. An id
   * this engine never issued is a `NotFoundError`. Without sync: the result of a committed
   * `commandId`.
   */
  settled(commandId: string): Promise<ExecuteResult>;
  /** Finishes queued commands and closes the storage; later calls reject with `ClosedError`. */
  close(): Promise<void>;
  /** Releases the WebAssembly memory now rather than at garbage collection. */
  free(): void;
}

/** `execute(…, { waitFor: 'server' })` of a synced engine: the server's result. */
interface SyncExecuteWaiting {
  (streamType: 'BankAccount', streamId: string, command: BankAccountCommand, options: SyncExecuteOptions & { waitFor: 'server' }): Promise<ExecuteResult>;
  (streamType: 'Order', streamId: string, command: OrderCommand, options: SyncExecuteOptions & { waitFor: 'server' }): Promise<ExecuteResult>;
  <T extends string>(streamType: UserType<T>, streamId: string, command: { type: string; [key: string]: any }, options: SyncExecuteOptions & { waitFor: 'server' }): Promise<ExecuteResult>;
}

/** `execute` of a synced engine: pending at once. */
interface SyncExecute {
  (streamType: 'BankAccount', streamId: string, command: BankAccountCommand, options?: SyncExecuteOptions): Promise<SyncExecuteResult>;
  (streamType: 'Order', streamId: string, command: OrderCommand, options?: SyncExecuteOptions): Promise<SyncExecuteResult>;
  <T extends string>(streamType: UserType<T>, streamId: string, command: { type: string; [key: string]: any }, options?: SyncExecuteOptions): Promise<SyncExecuteResult>;
}

/**
 * An engine opened with `sync` (DESIGN.md §7): its log is the server's (verified replica),
 * `execute` decides on confirmed plus pending state, keeps the command in the storage's outbox
 * and resolves at once, offline too; reads show confirmed plus pending unless given
 * `{ confirmed: true }`; `stats()`, `verify()`, time travel and subscribers are confirmed only.
 *
 * @example
 * const engine = await Engine.open({ storage: await indexedDbStorage('app'), sync: { url: 'https://example.com', token } });
 * const { commandId, pending } = await engine.execute('BankAccount', 'a1', { type: 'deposit', amount: 500 });
 * await engine.settled(commandId); // once the server has it
 */
export interface SyncedEngine extends Omit<Engine, 'execute' | 'readAll' | 'readStream'> {
  execute: SyncExecuteWaiting & SyncExecute;
  /** The confirmed events, then the pending ones (`position: null`); `{ confirmed: true }`: the server's alone. */
  readAll(options?: ReadAllOptions): Promise<Array<StoredEvent | PendingEvent>>;
  /** The stream's confirmed events, then its pending ones; `{ confirmed: true }`: the server's alone. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<Array<StoredEvent | PendingEvent>>;
  /** `{ online, pending, confirmedPosition, lastError }`, now. */
  syncState(): SyncState;
  /** Calls `listener` on every change of `syncState()`; returns the function that stops it. */
  onSyncState(listener: (state: SyncState) => void): () => void;
}

/** Loads the WebAssembly module (Engine.open does it for you). */
export function ready(options?: { module_or_path?: unknown }): Promise<void>;

/** The package version. */
export const version: string;

// ---------------------------------------------------------------------------------------
// Errors: every rejection is one of these, with a stable `name` and `code`.

export type ErrorCode =
  | 'VALIDATION' | 'DOMAIN' | 'CONCURRENCY' | 'STORAGE' | 'INTEGRITY' | 'NOT_FOUND' | 'PROJECTION' | 'CLOSED'
  | 'FORBIDDEN' | 'INTERNAL' | 'UNAUTHENTICATED' | 'PROTOCOL' | 'NETWORK';

export declare const ERROR_CODES: readonly ErrorCode[];

export declare class EventJournalError extends Error {
  constructor(message?: string, props?: Record<string, unknown>);
  code: ErrorCode;
}
export declare class ValidationError extends EventJournalError {
  name: 'ValidationError';
  code: 'VALIDATION';
}
export declare class DomainError extends EventJournalError {
  name: 'DomainError';
  code: 'DOMAIN';
}
export declare class ConcurrencyError extends EventJournalError {
  name: 'ConcurrencyError';
  code: 'CONCURRENCY';
  streamId: string;
  expectedVersion?: ExpectedVersion;
  actualVersion: number;
}
export declare class StorageError extends EventJournalError {
  name: 'StorageError';
  code: 'STORAGE';
  /**
   * `'failed'`: the callback threw or rejected (see `cause`). `'timeout'`: it did not settle in
   * `appendTimeoutMs`; the outcome is unknown, retry with the same `commandId`. `'malformed'`:
   * it returned something that is not what the contract says (e.g. `readEvents` → not an array).
   * `'unsupported'`: the storage lacks a required method. `'abandoned'`: the append was dropped.
   * `'lost'`: the browser found the IndexedDB database corrupt and deleted it; its events are
   * gone (see `IndexedDbStorageOptions.acceptLoss`).
   */
  reason: 'failed' | 'timeout' | 'malformed' | 'unsupported' | 'abandoned' | 'lost';
  /** The storage's own error. */
  cause?: unknown;
}
export declare class IntegrityError extends EventJournalError {
  name: 'IntegrityError';
  code: 'INTEGRITY';
  /** The first bad position: everything before it is intact. */
  position: number;
}
export declare class NotFoundError extends EventJournalError {
  name: 'NotFoundError';
  code: 'NOT_FOUND';
}
export declare class ProjectionError extends EventJournalError {
  name: 'ProjectionError';
  code: 'PROJECTION';
  projection: string;
  position: number;
}
export declare class ClosedError extends EventJournalError {
  name: 'ClosedError';
  code: 'CLOSED';
}
export declare class ForbiddenError extends EventJournalError {
  name: 'ForbiddenError';
  code: 'FORBIDDEN';
}
/** A broken invariant inside eventjournal: a bug, never a business refusal. */
export declare class InternalError extends EventJournalError {
  name: 'InternalError';
  code: 'INTERNAL';
}
/** A sync server refused the client's credentials (HTTP 401), in `syncState().lastError`. */
export declare class UnauthenticatedError extends EventJournalError {
  name: 'UnauthenticatedError';
  code: 'UNAUTHENTICATED';
  status?: number;
}
/** A sync server speaks another protocol version: sync stopped. In `syncState().lastError`. */
export declare class ProtocolError extends EventJournalError {
  name: 'ProtocolError';
  code: 'PROTOCOL';
  status?: number;
}
/** The sync server could not be reached (or the answer was cut), in `syncState().lastError`. */
export declare class NetworkError extends EventJournalError {
  name: 'NetworkError';
  code: 'NETWORK';
}
