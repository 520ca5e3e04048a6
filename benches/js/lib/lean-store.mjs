// The lean floor: the same store as plain-store.mjs, written the way a JS developer who cares
// about speed would (and the way the seed's Python classes are: one state object per aggregate,
// mutated in place by `apply`). Same decisions and checks as the plain floor (`decide` from
// domain.mjs: amounts validated, "Account does not exist", ...; the expected-version check on
// append), `crypto.randomUUID()` and one event object per event, but:
//   - no spreads: each stream's state is one small object of a fixed shape, mutated in place;
//   - a per-stream cached state: the first command on a stream folds it once; after that
//     `execute` decides on the cached state, appends with the cached version as the expected
//     version, then applies the new events to that state (only after the append succeeded, so a
//     refused command or a failed check leaves it untouched).
// What it does not do: no hash chain, no snapshots, no serialization, nothing persisted (like
// the plain floor); the cache holds one state per stream for the store's life (never evicted);
// an event appended to a cached stream other than through `execute` makes the next command on
// that stream fail the expected-version check (a ConcurrencyError), it is not re-folded.
import { bankAccount, order } from './domain.mjs';

class AccountState {
  constructor() {
    this.accountId = null; this.accountHolder = null; this.balance = 0;
    this.isActive = false; this.createdAt = null; this.closedAt = null;
  }

  apply(e) {
    switch (e.type) {
      case 'account_created':
        this.accountId = e.streamId; this.accountHolder = e.data.accountHolder; this.isActive = true; this.createdAt = e.timestamp;
        break;
      case 'money_deposited':
      case 'money_withdrawn':
        this.balance = e.data.balanceAfter;
        break;
      case 'account_closed':
        this.isActive = false; this.closedAt = e.timestamp;
        break;
      default:
    }
  }
}

class OrderState {
  constructor() {
    this.orderId = null; this.customerId = null; this.items = null; this.totalAmount = 0;
    this.status = null; this.shippingAddress = null; this.createdAt = null;
  }

  apply(e) {
    if (e.type === 'order_placed') {
      this.orderId = e.streamId; this.customerId = e.data.customerId; this.items = e.data.items;
      this.totalAmount = e.data.totalAmount; this.status = 'placed';
      this.shippingAddress = e.data.shippingAddress; this.createdAt = e.timestamp;
    }
  }
}

const domains = {
  BankAccount: { decide: bankAccount.decide, State: AccountState },
  Order: { decide: order.decide, State: OrderState },
};
const EMPTY = [];

export class LeanStore {
  constructor() {
    this.streams = new Map(); // streamId -> events
    this.all = [];
    this.cache = new Map(); // streamId -> { state, version }
  }

  append(streamType, streamId, expectedVersion, newEvents) {
    let stream = this.streams.get(streamId);
    const current = stream ? stream.length : 0;
    if (current !== expectedVersion) {
      const e = new Error(`expected version ${expectedVersion}, stream is at ${current}`);
      e.name = 'ConcurrencyError';
      throw e;
    }
    if (!stream) { stream = []; this.streams.set(streamId, stream); }
    const timestamp = Date.now();
    const out = new Array(newEvents.length);
    for (let i = 0; i < newEvents.length; i++) {
      const ne = newEvents[i];
      const event = {
        id: crypto.randomUUID(), streamId, streamType, type: ne.type, data: ne.data, metadata: {},
        timestamp, version: stream.length + 1, position: this.all.length + 1,
      };
      stream.push(event);
      this.all.push(event);
      out[i] = event;
    }
    return out;
  }

  async execute(streamType, streamId, command) {
    const d = domains[streamType];
    let cached = this.cache.get(streamId);
    if (cached === undefined) {
      // First command on this stream since the store was made: fold what the stream holds.
      const stream = this.streams.get(streamId) ?? EMPTY;
      cached = { state: new d.State(), version: stream.length };
      for (let i = 0; i < stream.length; i++) cached.state.apply(stream[i]);
      this.cache.set(streamId, cached);
    }
    const events = d.decide(cached.state, command);
    const stored = this.append(streamType, streamId, cached.version, events);
    for (let i = 0; i < stored.length; i++) cached.state.apply(stored[i]);
    cached.version += stored.length;
    return { events: stored, version: cached.version, position: this.all.length };
  }

  /** The state at `version` (time travel): folded from the start into a fresh state object. */
  async load(streamType, streamId, version = Infinity) {
    const stream = this.streams.get(streamId) ?? EMPTY;
    const n = Math.min(stream.length, version);
    if (n === 0) return null;
    const state = new domains[streamType].State();
    for (let i = 0; i < n; i++) state.apply(stream[i]);
    return { state, version: n };
  }
}
