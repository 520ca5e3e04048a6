// The seed's two domains (DESIGN.md §6) as plain JavaScript deciders: used by the plain-JS
// store, and as the reference the Emmett and Castore versions are written against.

class DomainError extends Error {
  constructor(message) { super(message); this.name = 'DomainError'; }
}

function amount(name, v, positive) {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || (positive && v === 0)) {
    throw new TypeError(`${name} must be a ${positive ? 'positive' : 'non-negative'} safe integer`);
  }
  return v;
}

export const bankAccount = {
  initialState: (id) => ({ accountId: null, accountHolder: null, balance: 0, isActive: false, createdAt: null, closedAt: null, id }),
  decide(state, c) {
    switch (c.type) {
      case 'create_account': {
        const initial = c.initialDeposit === undefined ? 0 : amount('initialDeposit', c.initialDeposit, false);
        if (state.accountId !== null) throw new DomainError('Account already exists');
        const events = [{ type: 'account_created', data: { accountHolder: c.accountHolder, initialDeposit: initial } }];
        if (initial > 0) events.push({ type: 'money_deposited', data: { amount: initial, description: 'Initial deposit', balanceAfter: initial } });
        return events;
      }
      case 'deposit': {
        const a = amount('amount', c.amount, true);
        if (state.accountId === null) throw new DomainError('Account does not exist');
        if (!state.isActive) throw new DomainError('Account is closed');
        return [{ type: 'money_deposited', data: { amount: a, description: c.description ?? '', balanceAfter: state.balance + a } }];
      }
      case 'withdraw': {
        const a = amount('amount', c.amount, true);
        if (!state.isActive) throw new DomainError('Account is closed');
        if (a > state.balance) throw new DomainError('Insufficient funds');
        return [{ type: 'money_withdrawn', data: { amount: a, description: c.description ?? '', balanceAfter: state.balance - a } }];
      }
      case 'close_account':
        if (!state.isActive) throw new DomainError('Account is closed');
        return [{ type: 'account_closed', data: { finalBalance: state.balance } }];
      default:
        throw new TypeError(`unknown BankAccount command ${c.type}`);
    }
  },
  evolve(state, e) {
    switch (e.type) {
      case 'account_created':
        return { ...state, accountId: e.streamId, accountHolder: e.data.accountHolder, isActive: true, createdAt: e.timestamp };
      case 'money_deposited':
      case 'money_withdrawn':
        return { ...state, balance: e.data.balanceAfter };
      case 'account_closed':
        return { ...state, isActive: false, closedAt: e.timestamp };
      default:
        return state;
    }
  },
};

export const order = {
  initialState: () => ({ orderId: null, customerId: null, items: [], totalAmount: 0, status: null, shippingAddress: null, createdAt: null }),
  decide(state, c) {
    if (c.type !== 'place_order') throw new TypeError(`unsupported Order command ${c.type} in this benchmark`);
    if (!Array.isArray(c.items) || c.items.length === 0) throw new TypeError('at least one item');
    let total = 0;
    for (const it of c.items) total += amount('quantity', it.quantity, true) * amount('price', it.price, false);
    if (state.status !== null) throw new DomainError('Order already exists');
    return [{ type: 'order_placed', data: { customerId: c.customerId, items: c.items, totalAmount: total, shippingAddress: c.shippingAddress } }];
  },
  evolve(state, e) {
    if (e.type === 'order_placed') {
      return { ...state, orderId: e.streamId, customerId: e.data.customerId, items: e.data.items, totalAmount: e.data.totalAmount, status: 'placed', shippingAddress: e.data.shippingAddress, createdAt: e.timestamp };
    }
    return state;
  },
};

// The two built-in projections, folded in plain JS (used for the plain-JS reference rows).
export function foldProjections(events, upTo = events.length) {
  const balances = {};
  const orders = {};
  for (let i = 0; i < upTo; i++) {
    const e = events[i];
    if (e.streamType === 'BankAccount') {
      if (e.type === 'account_created') {
        balances[e.streamId] = { accountId: e.streamId, accountHolder: e.data.accountHolder, balance: 0, isActive: true, lastUpdated: e.timestamp };
      } else {
        const row = balances[e.streamId];
        if (row) {
          if (e.type === 'account_closed') row.isActive = false; else row.balance = e.data.balanceAfter;
          row.lastUpdated = e.timestamp;
        }
      }
    } else if (e.streamType === 'Order' && e.type === 'order_placed') {
      orders[e.streamId] = { orderId: e.streamId, customerId: e.data.customerId, totalAmount: e.data.totalAmount, status: 'placed', createdAt: e.timestamp, lastUpdated: e.timestamp };
    }
  }
  return { account_balance: balances, order_status: orders };
}
