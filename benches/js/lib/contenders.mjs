// The four Node contenders behind one small interface, each written the way its docs show:
//   create(id, holder, initialDeposit), deposit(id, amount), placeOrder(id, order),
//   loadAt(id, version) -> state (time travel), bulkLoad(events) (memory scenario only),
//   close().
// Event payloads are the same everywhere (DESIGN.md §6), so every store holds the same facts.
import { PlainStore } from './plain-store.mjs';
import { LeanStore } from './lean-store.mjs';

// ---------------------------------------------------------------------------------- eventjournal
export async function eventjournal() {
  const { Engine } = await import('eventjournal');
  const engine = await Engine.open();
  return {
    name: 'eventjournal',
    engine,
    create: (id, accountHolder, initialDeposit) =>
      engine.execute('BankAccount', id, { type: 'create_account', accountHolder, initialDeposit }),
    deposit: (id, amount) => engine.execute('BankAccount', id, { type: 'deposit', amount }),
    placeOrder: (id, o) => engine.execute('Order', id, { type: 'place_order', ...o }),
    loadAt: (id, version) => engine.load('BankAccount', id, { at: { version } }),
    async close() { await engine.close(); engine.free(); },
  };
}

// ---------------------------------------------------------------------------------- plain JS
export async function plain() {
  const store = new PlainStore();
  return {
    name: 'plain-JS store',
    store,
    create: (id, accountHolder, initialDeposit) =>
      store.execute('BankAccount', id, { type: 'create_account', accountHolder, initialDeposit }),
    deposit: (id, amount) => store.execute('BankAccount', id, { type: 'deposit', amount }),
    placeOrder: (id, o) => store.execute('Order', id, { type: 'place_order', ...o }),
    loadAt: (id, version) => store.load('BankAccount', id, version),
    async close() {},
  };
}

// ---------------------------------------------------------------------------------- lean plain JS
export async function lean() {
  const store = new LeanStore();
  return {
    name: 'lean plain-JS store',
    store,
    create: (id, accountHolder, initialDeposit) =>
      store.execute('BankAccount', id, { type: 'create_account', accountHolder, initialDeposit }),
    deposit: (id, amount) => store.execute('BankAccount', id, { type: 'deposit', amount }),
    placeOrder: (id, o) => store.execute('Order', id, { type: 'place_order', ...o }),
    loadAt: (id, version) => store.load('BankAccount', id, version),
    async close() {},
  };
}

// ---------------------------------------------------------------------------------- Emmett
// The bank account as an Emmett decider ({ type, data } commands and events), shared by the
// in-memory contender here and the PostgreSQL one (postgres-contenders.mjs).
export const initialAccount = () => ({ status: 'Empty', balance: 0 });
export const decideAccount = (command, state) => {
  const { type, data } = command;
  switch (type) {
    case 'CreateAccount': {
      if (state.status !== 'Empty') throw new Error('Account already exists');
      const events = [{ type: 'account_created', data: { accountHolder: data.accountHolder, initialDeposit: data.initialDeposit } }];
      if (data.initialDeposit > 0) {
        events.push({ type: 'money_deposited', data: { amount: data.initialDeposit, description: 'Initial deposit', balanceAfter: data.initialDeposit } });
      }
      return events;
    }
    case 'Deposit': {
      if (!Number.isSafeInteger(data.amount) || data.amount <= 0) throw new Error('amount must be a positive integer');
      if (state.status !== 'Active') throw new Error('Account is not active');
      return { type: 'money_deposited', data: { amount: data.amount, description: data.description ?? '', balanceAfter: state.balance + data.amount } };
    }
    default:
      throw new Error(`unknown command ${type}`);
  }
};
export const evolveAccount = (state, event) => {
  switch (event.type) {
    case 'account_created':
      return { status: 'Active', accountHolder: event.data.accountHolder, balance: 0 };
    case 'money_deposited':
    case 'money_withdrawn':
      return { ...state, balance: event.data.balanceAfter };
    case 'account_closed':
      return { ...state, status: 'Closed' };
    default:
      return state;
  }
};

// Decider + DeciderCommandHandler over getInMemoryEventStore(), as in Emmett's docs
// (commands and events are { type, data }; the stream name is `<Type>-<id>`).
export async function emmett() {
  const { getInMemoryEventStore, DeciderCommandHandler } = await import('@event-driven-io/emmett');
  const eventStore = getInMemoryEventStore();

  const handleAccount = DeciderCommandHandler({ decide: decideAccount, evolve: evolveAccount, initialState: initialAccount });

  const initialOrder = () => ({ status: 'Empty' });
  const decideOrder = (command, state) => {
    if (state.status !== 'Empty') throw new Error('Order already exists');
    const { customerId, items, shippingAddress } = command.data;
    const totalAmount = items.reduce((s, i) => s + i.quantity * i.price, 0);
    return { type: 'order_placed', data: { customerId, items, totalAmount, shippingAddress } };
  };
  const evolveOrder = (state, event) => (event.type === 'order_placed' ? { status: 'Placed', ...event.data } : state);
  const handleOrder = DeciderCommandHandler({ decide: decideOrder, evolve: evolveOrder, initialState: initialOrder });

  return {
    name: 'Emmett 0.42 (in-memory)',
    eventStore,
    create: (id, accountHolder, initialDeposit) =>
      handleAccount(eventStore, `BankAccount-${id}`, { type: 'CreateAccount', data: { accountHolder, initialDeposit } }),
    deposit: (id, amount) => handleAccount(eventStore, `BankAccount-${id}`, { type: 'Deposit', data: { amount } }),
    placeOrder: (id, o) => handleOrder(eventStore, `Order-${id}`, { type: 'PlaceOrder', data: o }),
    loadAt: (id, version) => eventStore.aggregateStream(`BankAccount-${id}`, {
      evolve: evolveAccount, initialState: initialAccount, read: { to: BigInt(version) },
    }),
    loadAll: (id) => eventStore.aggregateStream(`BankAccount-${id}`, { evolve: evolveAccount, initialState: initialAccount }),
    // Memory scenario: the same events appended through the store's own API, one call per
    // stream batch (the command handler costs O(all streams) per append in 0.42).
    bulkAppend: (streamName, events) => eventStore.appendToStream(streamName, events),
    async close() {},
  };
}

// ---------------------------------------------------------------------------------- Castore
// EventType / EventStore with a reducer / Command with a handler, as in Castore's docs.
export async function castore() {
  const { EventType, EventStore, Command, tuple } = await import('@castore/core');
  const { InMemoryEventStorageAdapter } = await import('@castore/event-storage-adapter-in-memory');

  const accountCreated = new EventType({ type: 'account_created' });
  const moneyDeposited = new EventType({ type: 'money_deposited' });
  const orderPlaced = new EventType({ type: 'order_placed' });

  const accountReducer = (aggregate, event) => {
    const { version, aggregateId } = event;
    switch (event.type) {
      case 'account_created':
        return { aggregateId, version, accountHolder: event.payload.accountHolder, balance: 0, isActive: true, createdAt: event.timestamp };
      case 'money_deposited':
        return { ...aggregate, version, balance: event.payload.balanceAfter };
      default:
        return { ...aggregate, version };
    }
  };
  const orderReducer = (aggregate, event) => ({ aggregateId: event.aggregateId, version: event.version, status: 'placed', ...event.payload });

  const accountsStore = new EventStore({
    eventStoreId: 'BANK_ACCOUNTS', eventTypes: [accountCreated, moneyDeposited], reducer: accountReducer,
    eventStorageAdapter: new InMemoryEventStorageAdapter(),
  });
  const ordersStore = new EventStore({
    eventStoreId: 'ORDERS', eventTypes: [orderPlaced], reducer: orderReducer,
    eventStorageAdapter: new InMemoryEventStorageAdapter(),
  });

  const createAccount = new Command({
    commandId: 'CREATE_ACCOUNT',
    requiredEventStores: tuple(accountsStore),
    handler: async ({ accountId, accountHolder, initialDeposit }, [store]) => {
      await store.pushEvent({ aggregateId: accountId, version: 1, type: 'account_created', payload: { accountHolder, initialDeposit } });
      if (initialDeposit > 0) {
        await store.pushEvent({ aggregateId: accountId, version: 2, type: 'money_deposited', payload: { amount: initialDeposit, description: 'Initial deposit', balanceAfter: initialDeposit } });
      }
      return { accountId };
    },
  });
  const deposit = new Command({
    commandId: 'DEPOSIT',
    requiredEventStores: tuple(accountsStore),
    handler: async ({ accountId, amount }, [store]) => {
      if (!Number.isSafeInteger(amount) || amount <= 0) throw new Error('amount must be a positive integer');
      const { aggregate } = await store.getExistingAggregate(accountId);
      if (!aggregate.isActive) throw new Error('Account is not active');
      await store.pushEvent({ aggregateId: accountId, version: aggregate.version + 1, type: 'money_deposited', payload: { amount, description: '', balanceAfter: aggregate.balance + amount } });
    },
  });
  const placeOrder = new Command({
    commandId: 'PLACE_ORDER',
    requiredEventStores: tuple(ordersStore),
    handler: async ({ orderId, customerId, items, shippingAddress }, [store]) => {
      const totalAmount = items.reduce((s, i) => s + i.quantity * i.price, 0);
      await store.pushEvent({ aggregateId: orderId, version: 1, type: 'order_placed', payload: { customerId, items, totalAmount, shippingAddress } });
    },
  });

  return {
    name: 'Castore 2.4 (in-memory adapter)',
    accountsStore, ordersStore,
    create: (accountId, accountHolder, initialDeposit) => createAccount.handler({ accountId, accountHolder, initialDeposit }, [accountsStore]),
    deposit: (accountId, amount) => deposit.handler({ accountId, amount }, [accountsStore]),
    placeOrder: (orderId, o) => placeOrder.handler({ orderId, ...o }, [ordersStore]),
    loadAt: (id, version) => accountsStore.getAggregate(id, { maxVersion: version }),
    async close() {},
  };
}

export const factories = { eventjournal, plain, lean, emmett, castore };
