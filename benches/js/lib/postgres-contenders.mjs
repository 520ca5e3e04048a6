// Scenario 11's two contenders on one PostgreSQL cluster (each in its own database), behind the
// interface of contenders.mjs: create(id, holder, initialDeposit), deposit(id, amount), close().
//   - eventjournal: Engine.open({ storage: await postgresStorage({ connectionString }) }), the
//     built-in BankAccount domain through execute (group commit when callers are concurrent);
//   - Emmett 0.42: getPostgreSQLEventStore(connectionString) and DeciderCommandHandler over it,
//     as Emmett's docs show (the same decider as the in-memory contender; streams named
//     `BankAccount-<id>`). Each command reads its stream, decides, and appends in one
//     transaction with the expected stream version (emt_append_to_stream).
// Both use their library's default pool: pg.Pool's 10 connections (postgresStorage's poolSize
// default is 10, Emmett's dumbo pool is a pg.Pool with pg's default max of 10).
import { initialAccount, decideAccount, evolveAccount } from './contenders.mjs';

export async function eventjournalPostgres(connectionString) {
  const { Engine, postgresStorage } = await import('eventjournal');
  const engine = await Engine.open({ storage: await postgresStorage({ connectionString }) });
  return {
    name: 'eventjournal on postgresStorage',
    engine,
    create: (id, accountHolder, initialDeposit) =>
      engine.execute('BankAccount', id, { type: 'create_account', accountHolder, initialDeposit }),
    deposit: (id, amount) => engine.execute('BankAccount', id, { type: 'deposit', amount }),
    /** The balance of `id`, as the store has it (checked after the run). */
    async balance(id) { return (await engine.load('BankAccount', id)).state.balance; },
    async close() { await engine.close(); },
  };
}

export async function emmettPostgres(connectionString) {
  const { DeciderCommandHandler } = await import('@event-driven-io/emmett');
  const { getPostgreSQLEventStore } = await import('@event-driven-io/emmett-postgresql');
  const eventStore = getPostgreSQLEventStore(connectionString);
  await eventStore.schema.migrate(); // the schema exists before the clock starts
  const handle = DeciderCommandHandler({ decide: decideAccount, evolve: evolveAccount, initialState: initialAccount });
  return {
    name: 'Emmett 0.42 on getPostgreSQLEventStore',
    eventStore,
    create: (id, accountHolder, initialDeposit) =>
      handle(eventStore, `BankAccount-${id}`, { type: 'CreateAccount', data: { accountHolder, initialDeposit } }),
    deposit: (id, amount) => handle(eventStore, `BankAccount-${id}`, { type: 'Deposit', data: { amount } }),
    async balance(id) {
      const { state } = await eventStore.aggregateStream(`BankAccount-${id}`, { evolve: evolveAccount, initialState: initialAccount });
      return state.balance;
    },
    async close() { await eventStore.close(); },
  };
}

export const postgresFactories = { eventjournal: eventjournalPostgres, emmett: emmettPostgres };
