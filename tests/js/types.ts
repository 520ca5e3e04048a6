// Compiled with `tsc --noEmit --strict` against the installed package: the declarations
// must describe the whole API precisely enough for this typed usage to check.
import {
  Engine, memoryStorage, indexedDbStorage, sqliteStorage, ready, version,
  memoryKeyStore, indexedDbKeyStore, sqliteKeyStore, postgresKeyStore,
  ValidationError, DomainError, ConcurrencyError, StorageError, IntegrityError, NotFoundError,
  ProjectionError, ClosedError, EventJournalError, ERROR_CODES,
  UnauthenticatedError, ProtocolError, NetworkError,
  type SyncedEngine, type SyncState, type SyncExecuteResult, type PendingEvent, type Rejection, type OutboxEntry,
  type StorageAdapter, type StoredEvent, type ExecuteResult, type BankAccountState, type OrderState,
  type AccountBalanceRow, type OrderStatusRow, type Snapshot, type Stats, type VerifyResult,
  type ReplayResult, type Subscription, type ErrorCode, type Loaded, type KeyStore, type KeyStoreHandle,
  type EncryptedValue,
  postgresStorage, setPostgresDriver, type PostgresStorageOptions, type PostgresConnection, type PostgresPool,
} from 'eventjournal';
import { decider, projection, AssertionError } from 'eventjournal/testing';

async function main(): Promise<void> {
  const storage: StorageAdapter = await memoryStorage();
  const named: Promise<StorageAdapter> = memoryStorage('shared');
  const onDisk: Promise<StorageAdapter> = sqliteStorage('journal.db', { synchronous: 'NORMAL', watchIntervalMs: 0 });
  // @ts-expect-error: a storage must be awaited
  await Engine.open({ storage: memoryStorage() });
  const engine: Engine = await Engine.open({ storage, snapshotEvery: 50, clock: () => Date.now(), appendTimeoutMs: 5000 });

  const r: ExecuteResult = await engine.execute('BankAccount', 'account_001', { type: 'create_account', accountHolder: 'Ada', initialDeposit: 100000 });
  const first: StoredEvent = r.events[0];
  const pos: number = first.position + r.version + r.position;
  await engine.execute('BankAccount', 'account_001', { type: 'deposit', amount: 500, description: 'Salary' }, { expectedVersion: 2, commandId: 'c-1', metadata: { userId: 'u1' } });
  await engine.execute('Order', 'order_001', { type: 'place_order', customerId: 'c1', items: [{ itemId: 'i', quantity: 1, price: 5 }], shippingAddress: '1 Main St' }, { expectedVersion: 'no_stream' });
  // @ts-expect-error: deposit needs an amount
  await engine.execute('BankAccount', 'account_001', { type: 'deposit' });
  // @ts-expect-error: not an expected version
  await engine.execute('BankAccount', 'account_001', { type: 'close_account' }, { expectedVersion: 'latest' });

  const acc: Loaded<BankAccountState> | null = await engine.load('BankAccount', 'account_001', { at: { version: 2 } });
  const balance: number | undefined = acc?.state.balance;
  const order = await engine.load('Order', 'order_001', { at: { timestamp: new Date() } });
  const status: OrderState['status'] | undefined = order?.state.status;

  type CounterState = { n: number };
  type CounterCommand = { type: 'add'; by: number };
  engine.defineAggregate<CounterState, CounterCommand>('Counter', {
    initialState: { n: 0 },
    decide: (state, command) => (state.n + command.by < 0 ? [] : [{ type: 'added', data: { by: command.by } }]),
    evolve: (state, event) => ({ n: state.n + (event.data.by as number) }),
  });
  const counter = await engine.load<CounterState>('Counter', 'c1');
  const n: number | undefined = counter?.state.n;

  engine.defineProjection<Record<string, number>>('counts', {
    initialState: () => ({}),
    filter: { types: ['added'], streamType: 'Counter' },
    evolve: (s, e) => ({ ...s, [e.streamId]: (s[e.streamId] ?? 0) + 1 }),
  });
  const counts = await engine.projection<Record<string, number>>('counts', { at: { position: 3 } });
  const balances: Record<string, AccountBalanceRow> = await engine.projection('account_balance');
  const rows: OrderStatusRow[] = await engine.query('order_status', { customerId: 'c1' });
  const events: StoredEvent[] = await engine.readAll({ fromPosition: 0, limit: 10, types: ['money_deposited'], streamType: 'BankAccount', fromTimestamp: 0, toTimestamp: new Date() });
  const history: StoredEvent[] = await engine.readStream('account_001', { direction: 'backward', fromVersion: 3, limit: 2 });
  const v: number = await engine.streamVersion('account_001');
  const sub: Subscription = engine.subscribe((e) => { console.log(e.type); }, { fromPosition: 0, types: ['money_deposited'], onError: (err, e) => console.error(err, e.position) });
  sub.unsubscribe();
  const replayed: ReplayResult = await engine.replay('account_balance');
  const stats: Stats = await engine.stats();
  const verified: VerifyResult = await engine.verify();
  const bad: number | null = verified.firstBadPosition;

  try {
    await engine.execute('BankAccount', 'account_001', { type: 'withdraw', amount: 1e9 });
  } catch (e) {
    if (e instanceof DomainError) { const m: string = e.message; const c: 'DOMAIN' = e.code; void m; void c; }
    if (e instanceof ConcurrencyError) { const actual: number = e.actualVersion; void actual; }
    if (e instanceof StorageError) { const reason: string = e.reason; const cause: unknown = e.cause; void reason; void cause; }
    if (e instanceof IntegrityError) { const p: number = e.position; void p; }
    if (e instanceof ProjectionError) { const p: string = e.projection; void p; }
    if (e instanceof EventJournalError) { const code: ErrorCode = e.code; void code; }
    void [ValidationError, NotFoundError, ClosedError];
  }
  const codes: readonly ErrorCode[] = ERROR_CODES;

  // Upcasters, versioned definitions, personal data and erasure.
  const keys: KeyStoreHandle = memoryKeyStore();
  const sqliteKeys: Promise<KeyStoreHandle> = sqliteKeyStore('keys.db', { busyTimeoutMs: 100 });
  const pgKeys: Promise<KeyStoreHandle> = postgresKeyStore({ connectionString: 'postgres://x' }, { schema: 'keys' });
  const ownKeys: KeyStore = {
    getKey: (name) => undefined,
    createKey: (name, key) => key,
    deleteKey: async (name) => undefined,
  };
  const sealed: Engine = await Engine.open({ storage, keys });
  const sealedToo: Engine = await Engine.open({ keys: indexedDbKeyStore('keys') });
  sealed.defineUpcaster<{ name: string }, { first: string }>('registered', { from: 1, up: (data, event) => ({ first: data.name + event.type }) });
  sealed.defineUpcaster('registered', { from: 2, up: (data) => ({ type: 'joined', data }) });
  // @ts-expect-error: an upcaster needs from
  sealed.defineUpcaster('registered', { up: (data: { name: string }) => data });
  sealed.defineAggregate('Counter', { initialState: 0, decide: () => [], evolve: (s: number) => s + 1 }, { version: 2 });
  sealed.defineProjection('counted', { initialState: 0, evolve: (s: number) => s + 1 }, { version: 3 });
  sealed.definePersonalData('noted', { subject: (e) => String(e.data.author), fields: ['text'] });
  await sealed.forget('account_001');
  const exported: { keys: Record<string, string>; forgotten: string[] } = await sealed.exportKeys(['account_001']);
  const raw: StoredEvent[] = await sealed.readAll({ raw: true });
  const rawStream: StoredEvent[] = await sealed.readStream('account_001', { raw: true });
  const rawResult: ExecuteResult = await sealed.execute('BankAccount', 'a2', { type: 'close_account' }, { raw: true });
  const erased: string[] | undefined = raw[0].erased;
  const envelope = raw[0].data.accountHolder as unknown as EncryptedValue;
  const subject: string = envelope.$encrypted.subject;
  const holder: string | null | undefined = acc?.state.accountHolder;
  void [sqliteKeys, pgKeys, ownKeys, sealedToo, exported, rawStream, rawResult, erased, subject, holder];

  const custom: StorageAdapter = {
    readEvents: async (after, limit) => [] as StoredEvent[],
    appendEvents: (events, expectedPosition) => undefined,
    readSnapshot: async (key: string): Promise<Snapshot | undefined> => undefined,
    watch: (onAppend) => () => undefined,
  };
  // the test kit, on the same definitions
  const counterDefinition = {
    initialState: { n: 0 },
    decide: (state: CounterState, command: CounterCommand) => [{ type: 'added', data: { by: command.by + state.n } }],
    evolve: (state: CounterState, event: StoredEvent) => ({ n: state.n + (event.data.by as number) }),
  };
  const decided: StoredEvent[] = decider(counterDefinition, { streamId: 'c1' })
    .given([{ type: 'added', data: { by: 1 }, timestamp: 5 }])
    .when({ type: 'add', by: 2 })
    .then([{ type: 'added', data: { by: 3 } }]);
  const refusal: EventJournalError = decider(counterDefinition).when({ type: 'add', by: -1 }).thenThrows('DOMAIN', /negative/);
  // @ts-expect-error: not an error code
  decider(counterDefinition).when({ type: 'add', by: 1 }).thenThrows('NOPE');
  const counted: unknown = projection({ initialState: {}, evolve: (s: Record<string, number>, e: StoredEvent) => ({ ...s, [e.streamId]: 1 }) }, { name: 'counts' })
    .given([{ type: 'added', streamId: 'a', streamType: 'Counter' }])
    .then({ a: 1 });
  const mismatch: AssertionError | null = null;
  void [decided, refusal, counted, mismatch, named, onDisk];
  void [custom, indexedDbStorage, sqliteStorage, ready, version, pos, balance, status, n, counts, balances, rows, events, history, v, stats, replayed, bad, codes];
  await engine.close();
}

/** A database the browser lost: reason 'lost', then an open that accepts it (typings only). */
async function openAfterLoss(): Promise<Engine> {
  let storage;
  try {
    storage = await indexedDbStorage('bank-app', { durability: 'strict' });
  } catch (e) {
    if (!(e instanceof StorageError && e.reason === 'lost')) throw e;
    storage = await indexedDbStorage('bank-app', { acceptLoss: true });
  }
  // @ts-expect-error: acceptLoss is a boolean
  void indexedDbStorage('bank-app', { acceptLoss: 'yes' });
  return Engine.open({ storage });
}

void main;
void openAfterLoss;

// A synced engine: pending results, settled, waitFor, confirmed reads, syncState, the outbox.
async function synced(): Promise<void> {
  const rejections: Rejection[] = [];
  const engine: SyncedEngine = await Engine.open({
    storage: await memoryStorage('synced'),
    keys: memoryKeyStore(),
    sync: {
      url: 'http://127.0.0.1:8080', token: async () => 't', batchSize: 50, retryMinMs: 100,
      onRejected: (r) => { rejections.push(r); const code: ErrorCode = r.error.code; void code; },
    },
  });
  const r: SyncExecuteResult = await engine.execute('BankAccount', 'a1', { type: 'deposit', amount: 5 });
  const pos: number | null = r.position;
  const id: string = r.commandId;
  const first = r.events[0];
  if (first.position === null) { const p: PendingEvent = first; const none: null = p.hash; const yes: true = p.pending; void [none, yes]; }
  const confirmed: ExecuteResult = await engine.settled(id);
  const waited: ExecuteResult = await engine.execute('BankAccount', 'a1', { type: 'deposit', amount: 1 }, { waitFor: 'server', commandId: 'c1' });
  // @ts-expect-error: waitFor is 'server' only
  await engine.execute('BankAccount', 'a1', { type: 'deposit', amount: 1 }, { waitFor: 'local' });
  const all: Array<StoredEvent | PendingEvent> = await engine.readAll();
  const serverOnly = await engine.readAll({ confirmed: true });
  const acc: Loaded<BankAccountState> | null = await engine.load('BankAccount', 'a1', { confirmed: true });
  const v: number = await engine.streamVersion('a1', { confirmed: true });
  const state: SyncState = engine.syncState();
  const error: EventJournalError | null = state.lastError;
  const unauthenticated = error instanceof UnauthenticatedError || error instanceof ProtocolError || error instanceof NetworkError;
  const off: () => void = engine.onSyncState((s) => { const n: number = s.pending + s.confirmedPosition; void n; });
  off();
  const entry: OutboxEntry = {
    commandId: 'c', seq: 1, streamType: 'BankAccount', streamId: 'a1', command: { type: 'deposit', amount: 1 },
    expectedVersion: 'any', metadata: {}, issuedAt: 0, issuer: 'e1',
  };
  const withOutbox: StorageAdapter = {
    readEvents: async () => [], appendEvents: async () => undefined,
    readOutbox: async () => [entry], writeOutbox: async (e: OutboxEntry) => undefined, deleteOutbox: async (ids: string[]) => undefined,
  };
  void [pos, confirmed, waited, all, serverOnly, acc, v, unauthenticated, withOutbox, rejections];
  await engine.close();
}
void synced;

// postgresStorage: typed use compiles, misuse does not.
async function postgres(): Promise<void> {
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

void postgres;
