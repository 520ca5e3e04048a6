// The soak workload, shared by the Node soak (sqliteStorage) and the browser soak (IndexedDB).
// Plain ESM without Node or DOM imports: the page loads it from /tests/soak/workload.mjs.
//
// What it drives, on one engine:
//   - both built-in domains (BankAccount: create_account / deposit / withdraw / close_account;
//     Order: place_order / confirm_order / ship_order / deliver_order / cancel_order) and a JS
//     aggregate ('Inventory', engine.defineAggregate), from `workers` concurrent loops, each
//     owning its own streams (so a per-stream model predicts every outcome exactly), with
//     same-stream bursts (Promise.all of deposits to one account) to exercise group commit;
//   - commands the model knows must be refused (insufficient funds or stock, a wrong order
//     transition, a closed account: DomainError; amount 0 or 1.5: ValidationError);
//   - idempotency probes: an acknowledged command repeated with its commandId and a different
//     payload must answer the first result and append nothing;
//   - JS projections (engine.defineProjection): 'soak_totals' (counts and sums over all
//     events, checked against the model after every round), 'soak_inventory' (filtered by
//     stream type), 'soak_account_activity' (a map keyed by account: its state grows with
//     the number of accounts, like any per-entity read model), more defined mid-run (a bounded
//     number: definitions cannot be undone), and engine.replay(name) every few rounds;
//   - subscriptions: a permanent audit subscriber (every committed event exactly once, in
//     position order), one whose listener throws now and then (reported to onError, delivery
//     goes on), and transient ones with filters and catch-up coming and going (checked
//     against readAll/readStream when dropped; none is called after unsubscribe);
//   - injected storage faults: faultyStorage() rejects a fraction of appendEvents calls; each
//     affected command must reject with a StorageError (reason 'failed', the injected error as
//     cause) and is retried with the same commandId until it is acknowledged.
//
// Every acknowledged command's last position and event count are kept in typed arrays indexed
// by command number (preallocated: no heap growth from the bookkeeping), and checkLogPage()
// checks the stored log against them at the end: each command's events contiguous, exactly
// once, at the acknowledged position; no event for a refused or failed command.

// The seeded PRNG is the tests' one (support/prng.mjs), re-exported for the soak runners.
export { prng } from '../support/prng.mjs';

// ---------------------------------------------------------------------------------------------
// The JS aggregate and projections

/** 'Inventory': a stock level per item, defined in JavaScript. */
export const inventoryAggregate = {
  initialState: { sku: null, stock: 0, moves: 0 },
  decide(state, command) {
    switch (command.type) {
      case 'add_stock':
        if (!Number.isInteger(command.qty) || command.qty <= 0) {
          const e = new Error('qty must be a positive integer');
          e.code = 'VALIDATION';
          throw e;
        }
        return [{ type: 'stock_added', data: { sku: command.sku, qty: command.qty } }];
      case 'remove_stock':
        if (command.qty > state.stock) throw new Error(`Insufficient stock: ${state.stock} < ${command.qty}`);
        return [{ type: 'stock_removed', data: { sku: state.sku, qty: command.qty } }];
      default:
        throw new Error(`Unknown inventory command ${command.type}`);
    }
  },
  evolve(state, event) {
    if (event.type === 'stock_added') return { sku: event.data.sku, stock: state.stock + event.data.qty, moves: state.moves + 1 };
    if (event.type === 'stock_removed') return { sku: state.sku, stock: state.stock - event.data.qty, moves: state.moves + 1 };
    return state;
  },
};

/** Counts and sums over every event; `gaps` counts events that did not come in position order. */
export function totalsProjection() {
  return {
    initialState: () => ({ events: 0, lastPosition: 0, gaps: 0, byType: {}, deposited: 0, withdrawn: 0, stock: 0, ordered: 0 }),
    evolve(s, e) {
      if (e.position !== s.lastPosition + 1) s.gaps += 1;
      s.lastPosition = e.position;
      s.events += 1;
      s.byType[e.type] = (s.byType[e.type] || 0) + 1;
      if (e.type === 'money_deposited') s.deposited += e.data.amount;
      else if (e.type === 'money_withdrawn') s.withdrawn += e.data.amount;
      else if (e.type === 'stock_added') s.stock += e.data.qty;
      else if (e.type === 'stock_removed') s.stock -= e.data.qty;
      else if (e.type === 'order_placed') s.ordered += e.data.totalAmount;
      return s;
    },
  };
}

/** Stock per Inventory stream (filter: streamType). */
export function inventoryProjection() {
  return {
    filter: { streamType: 'Inventory' },
    initialState: () => ({}),
    evolve(s, e) {
      s[e.streamId] = (s[e.streamId] || 0) + (e.type === 'stock_added' ? e.data.qty : -e.data.qty);
      return s;
    },
  };
}

/** A record per account (filter: types): a map that grows with the number of accounts. */
export function activityProjection() {
  return {
    filter: { types: ['account_created', 'money_deposited', 'money_withdrawn', 'account_closed'] },
    initialState: () => ({}),
    evolve(s, e) {
      const r = s[e.streamId] || (s[e.streamId] = { n: 0, net: 0, open: true });
      r.n += 1;
      if (e.type === 'money_deposited') r.net += e.data.amount;
      else if (e.type === 'money_withdrawn') r.net -= e.data.amount;
      else if (e.type === 'account_closed') r.open = false;
      return s;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Storage faults

/**
 * Wraps a storage adapter: appendEvents rejects (without touching the store) with probability
 * `rate`, drawn from `random`. `rate` can be changed at any time (w.rate = ...).
 */
export function faultyStorage(base, { rate, random }) {
  const stats = { appendCalls: 0, faults: 0 };
  const w = {
    stats,
    rate,
    readEvents: (after, limit) => base.readEvents(after, limit),
    appendEvents(events, expected) {
      stats.appendCalls += 1;
      if (w.rate > 0 && random() < w.rate) {
        stats.faults += 1;
        const e = new Error(`injected storage fault #${stats.faults}`);
        e.code = 'EINJECTED';
        return Promise.reject(e);
      }
      return base.appendEvents(events, expected);
    },
  };
  if (base.readSnapshot) w.readSnapshot = (key) => base.readSnapshot(key);
  if (base.writeSnapshot) w.writeSnapshot = (s) => base.writeSnapshot(s);
  if (base.watch) w.watch = (f) => base.watch(f);
  if (base.close) w.close = () => base.close();
  return w;
}

export const isInjected = (e) => !!(e && e.code === 'STORAGE' && e.reason === 'failed' && e.cause && e.cause.code === 'EINJECTED');

// ---------------------------------------------------------------------------------------------
// The soak

const ORDER_NEXT = { placed: 'confirm_order', confirmed: 'ship_order', shipped: 'deliver_order' };
const ORDER_EVENT = {
  place_order: 'order_placed', confirm_order: 'order_confirmed', ship_order: 'order_shipped',
  deliver_order: 'order_delivered', cancel_order: 'order_cancelled',
};
const ORDER_AFTER = { confirm_order: 'confirmed', ship_order: 'shipped', deliver_order: 'delivered', cancel_order: 'cancelled' };
const SUB_FILTERS = [
  () => ({ types: ['money_deposited', 'money_withdrawn'] }),
  () => ({ streamType: 'Order' }),
  () => ({ streamType: 'Inventory' }),
  () => ({ types: ['order_placed', 'account_created', 'stock_removed'] }),
  () => ({}),
];

function matches(filter, e) {
  if (filter.types && !filter.types.includes(e.type)) return false;
  if (filter.streamType && e.streamType !== filter.streamType) return false;
  if (filter.streamId && e.streamId !== filter.streamId) return false;
  return true;
}

const tick = () => new Promise((r) => setTimeout(r, 0));

/**
 * A soak over `engine`. Options: commands (total), leakOps (for leakPhase), workers, random,
 * prefix (commandIds are prefix + number), mapProjection (define 'soak_account_activity'), faults (a faultyStorage wrapper or null), accountsPerWorker,
 * ordersPerWorker, inventoryPerWorker, maxDefinedProjections, defineEveryRounds,
 * replayEveryRounds, failures (an array the soak pushes failure messages to).
 */
export class Soak {
  constructor(engine, opts) {
    this.engine = engine;
    this.o = {
      workers: 4, accountsPerWorker: 6, ordersPerWorker: 6, inventoryPerWorker: 2,
      maxDefinedProjections: 4, defineEveryRounds: 4, replayEveryRounds: 3, prefix: 'c', mapProjection: true,
      ...opts,
    };
    this.random = opts.random;
    this.faults = opts.faults || null;
    this.failures = opts.failures || [];
    // + bursts past the end + the leak phase's commands (refusals and faults, with warm-ups)
    const cap = this.o.commands + 1000 + 3 * (this.o.leakOps || 10_000);
    this.ackPosition = new Float64Array(cap); // last position of an acknowledged command
    this.ackCount = new Uint8Array(cap); // its number of events (0: none or not acknowledged)
    this.seq = 0;
    this.c = {
      commands: 0, acknowledged: 0, appendedCommands: 0, refusedAsExpected: 0, storageErrors: 0, retries: 0,
      idempotencyProbes: 0, burstCommands: 0, streamsRetired: 0, subscriptionsCreated: 0,
      subscriptionsDropped: 0, transientDeliveries: 0, auditDeliveries: 0, listenerThrows: 0, onErrorReports: 0,
      replays: 0, projectionsDefined: 0,
    };
    // model totals, compared with 'soak_totals' and stats()
    this.totals = { events: 0, byType: {}, deposited: 0, withdrawn: 0, stock: 0, ordered: 0 };
    this.inventory = {}; // streamId -> stock
    this.recent = []; // ring of recently acknowledged commands for idempotency probes
    this.workers = Array.from({ length: this.o.workers }, (_, w) => this.newWorker(w));
    this.definedProjections = [];
    this.transient = new Set();
    this.dropped = []; // dropped transient subscriptions, checked at the end of the round
    this.round = 0;
    this.nextStream = 0;
  }

  fail(message) {
    if (this.failures.length < 50) this.failures.push(message);
    if (this.failures.length === 1 && this.o.log) this.o.log(`FAILURE: ${message}`);
  }

  newWorker(w) {
    return {
      w,
      accounts: Array.from({ length: this.o.accountsPerWorker }, () => null),
      orders: Array.from({ length: this.o.ordersPerWorker }, () => null),
      inventory: Array.from({ length: this.o.inventoryPerWorker }, (_, i) => ({ id: `inv-${w}-${i}`, stock: 0, version: 0 })),
      subs: [],
    };
  }

  newId(kind) {
    this.nextStream += 1;
    return `${kind}-${this.nextStream}`;
  }

  /**
   * The JS projections (name -> definition factory) a fresh engine must define to reproduce
   * this one: the three of setup() (without the map-shaped one when mapProjection is false)
   * and those defined mid-run.
   */
  jsProjections() {
    const p = { soak_totals: totalsProjection, soak_inventory: inventoryProjection };
    if (this.o.mapProjection) p.soak_account_activity = activityProjection;
    for (const name of this.definedProjections) p[name] = totalsProjection;
    return p;
  }

  /** Sets up the JS aggregate, projections and permanent subscribers. Call once, before run(). */
  setup() {
    const e = this.engine;
    e.defineAggregate('Inventory', inventoryAggregate);
    for (const [name, def] of Object.entries(this.jsProjections())) e.defineProjection(name, def());
    this.c.projectionsDefined = Object.keys(this.jsProjections()).length;
    this.audit = { last: null, count: 0 };
    this.auditSub = e.subscribe((ev) => {
      if (this.audit.last !== null && ev.position !== this.audit.last + 1) {
        this.fail(`audit subscriber: got position ${ev.position} after ${this.audit.last}`);
      }
      this.audit.last = ev.position;
      this.audit.count += 1;
      this.c.auditDeliveries += 1;
    }, { onError: (err) => this.fail(`audit listener error: ${err && err.message}`) });
    this.thrower = e.subscribe((ev) => {
      if (ev.position % 997 === 0) {
        this.c.listenerThrows += 1;
        throw new Error(`listener throws at ${ev.position}`);
      }
    }, { onError: (err, ev) => {
      this.c.onErrorReports += 1;
      if (!err || !/listener throws at/.test(err.message) || !ev || typeof ev.position !== 'number') this.fail(`onError got ${err && err.message}`);
    } });
  }

  // -------------------------------------------------------------------------------------------
  // one command, with retries after injected faults

  /**
   * Executes one command. `expect`: { types: [...], version } (events and the stream version
   * after) or { code } (a refusal). Returns the result (or null for an expected refusal).
   */
  async exec(streamType, streamId, command, expect, { seq = this.nextSeq(), retryFaults = true } = {}) {
    const commandId = `${this.o.prefix}${seq}`;
    const opts = { commandId, metadata: { soak: 1 } };
    for (let attempt = 0; ; attempt += 1) {
      let result;
      try {
        result = await this.engine.execute(streamType, streamId, command, opts);
      } catch (e) {
        if (isInjected(e)) {
          this.c.storageErrors += 1;
          if (e.name !== 'StorageError') this.fail(`${commandId}: a storage fault surfaced as ${e.name}`);
          if (!retryFaults) return undefined;
          this.c.retries += 1;
          if (attempt > 100) {
            this.fail(`${commandId}: still failing after 100 retries`);
            return undefined;
          }
          continue;
        }
        if (expect.code && e && e.code === expect.code) {
          this.c.refusedAsExpected += 1;
          return null;
        }
        this.fail(`${commandId} ${streamType}/${streamId} ${JSON.stringify(command)}: expected ${JSON.stringify(expect)}, got ${e && e.name}/${e && e.code}${e && e.reason ? `/${e.reason}` : ''}: ${e && e.message}`);
        return undefined;
      }
      if (expect.code) {
        this.fail(`${commandId} ${streamType}/${streamId} ${JSON.stringify(command)}: expected ${expect.code}, got events ${result.events.map((x) => x.type)}`);
        return undefined;
      }
      const types = result.events.map((x) => x.type);
      if (JSON.stringify(types) !== JSON.stringify(expect.types)) {
        this.fail(`${commandId} ${streamId}: expected events ${expect.types}, got ${types}`);
      }
      if (expect.version !== undefined && result.version !== expect.version) {
        this.fail(`${commandId} ${streamId}: expected version ${expect.version}, got ${result.version}`);
      }
      const n = result.events.length;
      result.events.forEach((ev, i) => {
        if (ev.metadata.commandId !== commandId || ev.streamId !== streamId || ev.position !== result.position - n + 1 + i) {
          this.fail(`${commandId}: event ${i} is ${JSON.stringify({ position: ev.position, streamId: ev.streamId, commandId: ev.metadata.commandId })}, result position ${result.position}`);
        }
      });
      this.c.acknowledged += 1;
      if (n > 0) {
        this.c.appendedCommands += 1;
        this.ackPosition[seq] = result.position;
        this.ackCount[seq] = n;
        for (const ev of result.events) this.count(ev);
        this.remember({ streamType, streamId, seq, result });
      }
      return result;
    }
  }

  nextSeq() {
    const s = this.seq;
    this.seq += 1;
    this.c.commands += 1;
    return s;
  }

  count(ev) {
    const t = this.totals;
    t.events += 1;
    t.byType[ev.type] = (t.byType[ev.type] || 0) + 1;
    if (ev.type === 'money_deposited') t.deposited += ev.data.amount;
    else if (ev.type === 'money_withdrawn') t.withdrawn += ev.data.amount;
    else if (ev.type === 'stock_added') t.stock += ev.data.qty;
    else if (ev.type === 'stock_removed') t.stock -= ev.data.qty;
    else if (ev.type === 'order_placed') t.ordered += ev.data.totalAmount;
  }

  remember(entry) {
    if (this.recent.length < 64) this.recent.push(entry);
    else this.recent[Math.floor(this.random() * 64)] = entry;
  }

  // -------------------------------------------------------------------------------------------
  // steps

  amount(max) {
    return 1 + Math.floor(this.random() * max);
  }

  async accountStep(wk, i) {
    const r = this.random;
    let a = wk.accounts[i];
    if (!a) {
      const id = this.newId('acc');
      const initialDeposit = r() < 0.5 ? 0 : this.amount(100_000);
      const types = initialDeposit > 0 ? ['account_created', 'money_deposited'] : ['account_created'];
      const res = await this.exec('BankAccount', id, { type: 'create_account', accountHolder: `Holder ${id}`, initialDeposit }, { types, version: types.length });
      if (res) wk.accounts[i] = { id, balance: initialDeposit, version: types.length, open: true };
      return 1;
    }
    if (!a.open) {
      // a closed account: one refused command now and then, then the slot gets a new account
      if (r() < 0.3) await this.exec('BankAccount', a.id, { type: 'deposit', amount: 5 }, { code: 'DOMAIN' });
      await this.retireAccount(wk, i);
      return 1;
    }
    const x = r();
    if (x < 0.40) {
      const amount = this.amount(50_000);
      const res = await this.exec('BankAccount', a.id, { type: 'deposit', amount, description: `dep ${this.seq}` }, { types: ['money_deposited'], version: a.version + 1 });
      if (res) {
        a.balance += amount;
        a.version += 1;
        if (res.events[0].data.balanceAfter !== a.balance) this.fail(`${a.id}: balanceAfter ${res.events[0].data.balanceAfter}, model ${a.balance}`);
      }
      return 1;
    }
    if (x < 0.70) {
      if (a.balance > 0 && r() < 0.85) {
        const amount = 1 + Math.floor(r() * a.balance);
        const res = await this.exec('BankAccount', a.id, { type: 'withdraw', amount, description: 'wd' }, { types: ['money_withdrawn'], version: a.version + 1 });
        if (res) {
          a.balance -= amount;
          a.version += 1;
        }
      } else {
        await this.exec('BankAccount', a.id, { type: 'withdraw', amount: a.balance + this.amount(1000) }, { code: 'DOMAIN' });
      }
      return 1;
    }
    if (x < 0.78) {
      // a burst: several deposits to the same account at once (group commit, same stream)
      const n = 2 + Math.floor(r() * 3);
      const amounts = Array.from({ length: n }, () => this.amount(10_000));
      const v = a.version;
      const results = await Promise.all(amounts.map((amount) => this.exec('BankAccount', a.id, { type: 'deposit', amount }, { types: ['money_deposited'] })));
      this.c.burstCommands += n;
      const versions = results.filter(Boolean).map((res) => res.version).sort((p, q) => p - q);
      results.forEach((res, k) => { if (res) { a.balance += amounts[k]; a.version += 1; } });
      if (JSON.stringify(versions) !== JSON.stringify(Array.from({ length: versions.length }, (_, k) => v + 1 + k))) {
        this.fail(`${a.id}: burst versions ${versions} after version ${v}`);
      }
      return n;
    }
    if (x < 0.80) {
      // invalid amounts: ValidationError, nothing recorded
      const bad = r() < 0.5 ? 0 : 1.5;
      await this.exec('BankAccount', a.id, { type: r() < 0.5 ? 'deposit' : 'withdraw', amount: bad }, { code: 'VALIDATION' });
      return 1;
    }
    if (x < 0.82) {
      const res = await this.exec('BankAccount', a.id, { type: 'close_account' }, { types: ['account_closed'], version: a.version + 1 });
      if (res) {
        a.version += 1;
        a.open = false;
        if (res.events[0].data.finalBalance !== a.balance) this.fail(`${a.id}: finalBalance ${res.events[0].data.finalBalance}, model ${a.balance}`);
      }
      return 1;
    }
    if (x < 0.84 && this.recent.length > 0) {
      await this.probeIdempotency();
      return 1;
    }
    const amount = this.amount(20_000);
    const res = await this.exec('BankAccount', a.id, { type: 'deposit', amount }, { types: ['money_deposited'], version: a.version + 1 });
    if (res) { a.balance += amount; a.version += 1; }
    return 1;
  }

  async retireAccount(wk, i) {
    const a = wk.accounts[i];
    const loaded = await this.engine.load('BankAccount', a.id);
    if (!loaded || loaded.version !== a.version || loaded.state.balance !== a.balance || loaded.state.isActive !== a.open) {
      this.fail(`${a.id}: load() ${JSON.stringify(loaded)} != model ${JSON.stringify(a)}`);
    }
    wk.accounts[i] = null;
    this.c.streamsRetired += 1;
  }

  async orderStep(wk, i) {
    const r = this.random;
    const o = wk.orders[i];
    if (!o) {
      const id = this.newId('ord');
      const items = Array.from({ length: 1 + Math.floor(r() * 3) }, (_, k) => ({ itemId: `sku-${k}-${Math.floor(r() * 50)}`, quantity: 1 + Math.floor(r() * 4), price: Math.floor(r() * 10_000) }));
      const total = items.reduce((s, it) => s + it.quantity * it.price, 0);
      const res = await this.exec('Order', id, { type: 'place_order', customerId: `cust-${Math.floor(r() * 100)}`, items, shippingAddress: `${Math.floor(r() * 999)} Soak Street` }, { types: ['order_placed'], version: 1 });
      if (res) {
        wk.orders[i] = { id, status: 'placed', version: 1, total };
        if (res.events[0].data.totalAmount !== total) this.fail(`${id}: totalAmount ${res.events[0].data.totalAmount}, model ${total}`);
      }
      return 1;
    }
    if (o.status === 'delivered' || o.status === 'cancelled') {
      if (r() < 0.3) {
        const verb = r() < 0.5 ? 'cancel_order' : 'ship_order';
        await this.exec('Order', o.id, { type: verb, reason: 'late', trackingNumber: 'T' }, { code: 'DOMAIN' });
      }
      const loaded = await this.engine.load('Order', o.id);
      if (!loaded || loaded.version !== o.version || loaded.state.status !== o.status || loaded.state.totalAmount !== o.total) {
        this.fail(`${o.id}: load() ${JSON.stringify(loaded && { version: loaded.version, status: loaded.state.status, totalAmount: loaded.state.totalAmount })} != model ${JSON.stringify(o)}`);
      }
      wk.orders[i] = null;
      this.c.streamsRetired += 1;
      return 1;
    }
    const x = r();
    let verb;
    if (x < 0.08) verb = 'cancel_order';
    else if (x < 0.12) {
      // a transition the status does not allow
      const wrong = { placed: 'deliver_order', confirmed: 'confirm_order', shipped: 'ship_order' }[o.status];
      await this.exec('Order', o.id, { type: wrong, trackingNumber: 'T' }, { code: 'DOMAIN' });
      return 1;
    } else verb = ORDER_NEXT[o.status];
    const command = { type: verb };
    if (verb === 'ship_order') command.trackingNumber = `TRK-${this.seq}`;
    if (verb === 'cancel_order') command.reason = 'changed mind';
    const res = await this.exec('Order', o.id, command, { types: [ORDER_EVENT[verb]], version: o.version + 1 });
    if (res) {
      o.version += 1;
      o.status = ORDER_AFTER[verb];
    }
    return 1;
  }

  async inventoryStep(wk, i) {
    const r = this.random;
    const inv = wk.inventory[i];
    const x = r();
    if (x < 0.55 || inv.stock === 0) {
      const qty = 1 + Math.floor(r() * 50);
      const res = await this.exec('Inventory', inv.id, { type: 'add_stock', sku: inv.id, qty }, { types: ['stock_added'], version: inv.version + 1 });
      if (res) { inv.stock += qty; inv.version += 1; this.inventory[inv.id] = inv.stock; }
    } else if (x < 0.9) {
      const qty = 1 + Math.floor(r() * inv.stock);
      const res = await this.exec('Inventory', inv.id, { type: 'remove_stock', qty }, { types: ['stock_removed'], version: inv.version + 1 });
      if (res) { inv.stock -= qty; inv.version += 1; this.inventory[inv.id] = inv.stock; }
    } else if (x < 0.97) {
      await this.exec('Inventory', inv.id, { type: 'remove_stock', qty: inv.stock + 1 + Math.floor(r() * 10) }, { code: 'DOMAIN' });
    } else {
      await this.exec('Inventory', inv.id, { type: 'add_stock', sku: inv.id, qty: 0 }, { code: 'VALIDATION' });
    }
    return 1;
  }

  /** Repeats an acknowledged command with another payload: the first result, nothing appended. */
  async probeIdempotency() {
    const entry = this.recent[Math.floor(this.random() * this.recent.length)];
    const commandId = `${this.o.prefix}${entry.seq}`;
    const command = entry.streamType === 'Inventory' ? { type: 'add_stock', sku: 'x', qty: 999 }
      : entry.streamType === 'Order' ? { type: 'cancel_order', reason: 'probe' } : { type: 'deposit', amount: 999_999 };
    this.c.idempotencyProbes += 1;
    for (let attempt = 0; attempt < 100; attempt += 1) {
      try {
        const again = await this.engine.execute(entry.streamType, entry.streamId, command, { commandId });
        if (again.position !== entry.result.position || again.version !== entry.result.version
          || JSON.stringify(again.events) !== JSON.stringify(entry.result.events)) {
          this.fail(`idempotency: ${commandId} repeated answered ${JSON.stringify({ position: again.position, version: again.version })}, first ${JSON.stringify({ position: entry.result.position, version: entry.result.version })}`);
        }
        return;
      } catch (e) {
        if (isInjected(e)) { this.c.storageErrors += 1; this.c.retries += 1; continue; }
        this.fail(`idempotency: ${commandId} repeated rejected with ${e && e.name}: ${e && e.message}`);
        return;
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // transient subscriptions

  maybeSubscribe(wk) {
    const r = this.random;
    if (r() < 0.02) {
      const filter = r() < 0.3 && wk.accounts.some(Boolean)
        ? { streamId: wk.accounts.find(Boolean).id }
        : SUB_FILTERS[Math.floor(r() * SUB_FILTERS.length)]();
      const head = this.audit.last || 0;
      const from = r() < 0.5 ? undefined : Math.max(0, head - Math.floor(r() * 40));
      const sub = { filter, from: from === undefined ? null : from, positions: [], bad: 0, lateCalls: 0, dropped: false, ttl: 1 + Math.floor(r() * 60) };
      sub.handle = this.engine.subscribe((ev) => {
        if (sub.dropped) { sub.lateCalls += 1; return; }
        if (!matches(filter, ev)) sub.bad += 1;
        sub.positions.push(ev.position);
        this.c.transientDeliveries += 1;
      }, { ...filter, ...(from === undefined ? {} : { fromPosition: from }), onError: (err) => this.fail(`transient listener error ${err && err.message}`) });
      this.c.subscriptionsCreated += 1;
      wk.subs.push(sub);
      this.transient.add(sub);
    }
    for (const sub of [...wk.subs]) {
      sub.ttl -= 1;
      if (sub.ttl <= 0) this.drop(wk, sub);
    }
  }

  drop(wk, sub) {
    sub.handle.unsubscribe();
    sub.dropped = true;
    wk.subs.splice(wk.subs.indexOf(sub), 1);
    this.transient.delete(sub);
    this.dropped.push(sub);
    this.c.subscriptionsDropped += 1;
  }

  /** Each dropped subscription got exactly the matching events after its start, in order. */
  async checkDropped() {
    for (const sub of this.dropped) {
      const label = `subscription ${JSON.stringify(sub.filter)} from ${sub.from}`;
      if (sub.bad > 0) this.fail(`${label}: ${sub.bad} events that do not match its filter`);
      if (sub.lateCalls > 0) this.fail(`${label}: called ${sub.lateCalls} times after unsubscribe`);
      const p = sub.positions;
      for (let k = 1; k < p.length; k += 1) if (p[k] <= p[k - 1]) { this.fail(`${label}: position ${p[k]} after ${p[k - 1]}`); break; }
      if (p.length === 0) continue;
      if (sub.from !== null && p[0] <= sub.from) this.fail(`${label}: delivered ${p[0]}, not after its fromPosition`);
      // nothing skipped: the log's matching events in (start, last delivered] are exactly these
      const start = sub.from !== null ? sub.from : p[0] - 1;
      let expected;
      if (sub.filter.streamId) {
        expected = (await this.engine.readStream(sub.filter.streamId)).map((e) => e.position).filter((x) => x > start && x <= p[p.length - 1]);
      } else {
        const opts = { fromPosition: start, limit: p.length + 1 };
        if (sub.filter.types) opts.types = sub.filter.types;
        if (sub.filter.streamType) opts.streamType = sub.filter.streamType;
        expected = (await this.engine.readAll(opts)).map((e) => e.position).filter((x) => x <= p[p.length - 1]);
      }
      if (JSON.stringify(expected) !== JSON.stringify(p)) {
        this.fail(`${label}: delivered ${p.length} events [${p.slice(0, 5)}...], the log has ${expected.length} [${expected.slice(0, 5)}...]`);
      }
    }
    this.dropped = [];
  }

  // -------------------------------------------------------------------------------------------
  // rounds

  async worker(wk, budget) {
    const r = this.random;
    while (budget.left > 0) {
      const x = r();
      let used;
      if (x < 0.5) used = await this.accountStep(wk, Math.floor(r() * wk.accounts.length));
      else if (x < 0.85) used = await this.orderStep(wk, Math.floor(r() * wk.orders.length));
      else used = await this.inventoryStep(wk, Math.floor(r() * wk.inventory.length));
      budget.left -= used;
      this.maybeSubscribe(wk);
    }
  }

  /** Runs `n` commands over the workers, then the end-of-round checks. */
  async runRound(n) {
    this.round += 1;
    const budget = { left: n };
    await Promise.all(this.workers.map((wk) => this.worker(wk, budget)));
    for (const wk of this.workers) for (const sub of [...wk.subs]) this.drop(wk, sub);
    await tick();
    await this.checkDropped();
    await this.checkTotals(`round ${this.round}`);
    if (this.round % this.o.replayEveryRounds === 0) {
      const names = Object.keys(this.jsProjections()).slice(0, 3);
      const name = names[this.c.replays % names.length];
      const before = await this.engine.projection(name);
      const r = await this.engine.replay(name);
      this.c.replays += 1;
      const stats = await this.engine.stats();
      if (r.eventsReplayed !== stats.totalEvents || r.projectionsRebuilt !== 1) this.fail(`replay(${name}): ${JSON.stringify(r)}, log has ${stats.totalEvents}`);
      const after = await this.engine.projection(name);
      if (JSON.stringify(after) !== JSON.stringify(before)) this.fail(`replay(${name}) changed the projection`);
    }
    if (this.round % this.o.defineEveryRounds === 0 && this.definedProjections.length < this.o.maxDefinedProjections) {
      const name = `soak_totals_${this.definedProjections.length + 1}`;
      this.engine.defineProjection(name, totalsProjection());
      this.definedProjections.push(name);
      this.c.projectionsDefined += 1;
      const [a, b] = [await this.engine.projection(name), await this.engine.projection('soak_totals')];
      if (JSON.stringify(a) !== JSON.stringify(b)) this.fail(`${name}, defined at round ${this.round}, differs from soak_totals`);
    }
  }

  /** 'soak_totals', 'soak_inventory', stats() and the audit subscriber agree with the model. */
  async checkTotals(when) {
    const e = this.engine;
    const [p, inv, stats] = [await e.projection('soak_totals'), await e.projection('soak_inventory'), await e.stats()];
    const t = this.totals;
    const sorted = (o) => JSON.stringify(Object.keys(o).sort().map((k) => [k, o[k]]));
    const want = { events: t.events, gaps: 0, lastPosition: t.events, deposited: t.deposited, withdrawn: t.withdrawn, stock: t.stock, ordered: t.ordered };
    const got = { events: p.events, gaps: p.gaps, lastPosition: p.lastPosition, deposited: p.deposited, withdrawn: p.withdrawn, stock: p.stock, ordered: p.ordered };
    if (JSON.stringify(got) !== JSON.stringify(want)) this.fail(`${when}: soak_totals ${JSON.stringify(got)} != model ${JSON.stringify(want)}`);
    if (sorted(p.byType) !== sorted(t.byType)) this.fail(`${when}: soak_totals.byType ${sorted(p.byType)} != model ${sorted(t.byType)}`);
    if (sorted(stats.eventTypeDistribution) !== sorted(t.byType)) this.fail(`${when}: stats().eventTypeDistribution != model`);
    if (stats.totalEvents !== t.events || stats.headPosition !== t.events) this.fail(`${when}: stats ${stats.totalEvents}/${stats.headPosition}, model ${t.events} events`);
    if (sorted(inv) !== sorted(this.inventory)) this.fail(`${when}: soak_inventory != model`);
    if (this.audit.count !== t.events - (this.auditStart || 0) || this.audit.last !== (t.events || null)) {
      this.fail(`${when}: audit subscriber saw ${this.audit.count} events up to ${this.audit.last}, log has ${t.events}`);
    }
    return stats;
  }

  /** Every model stream's load() agrees with the model (accounts, orders, inventory). */
  async checkStreams() {
    for (const wk of this.workers) {
      for (const a of wk.accounts) {
        if (!a) continue;
        const l = await this.engine.load('BankAccount', a.id);
        if (!l || l.version !== a.version || l.state.balance !== a.balance || l.state.isActive !== a.open) this.fail(`${a.id}: load() != model at the end`);
      }
      for (const o of wk.orders) {
        if (!o) continue;
        const l = await this.engine.load('Order', o.id);
        if (!l || l.version !== o.version || l.state.status !== o.status) this.fail(`${o.id}: load() != model at the end`);
      }
      for (const inv of wk.inventory) {
        const l = await this.engine.load('Inventory', inv.id);
        const got = l ? { stock: l.state.stock, version: l.version } : { stock: 0, version: 0 };
        if (got.stock !== inv.stock || got.version !== inv.version) this.fail(`${inv.id}: load() ${JSON.stringify(got)} != model`);
      }
    }
  }
}

/**
 * Checks a page of the stored log (ascending, continuing from `state`) against the
 * acknowledgements: positions gapless; each command's events contiguous, exactly once, ending
 * at its acknowledged position; no event of a command that was not acknowledged with events.
 * `state` = { next: 1, run: null, streams: Map } is updated (streams: streamId -> streamType).
 */
export function checkLogPage(soak, events, state, fail) {
  for (const e of events) {
    if (e.position !== state.next) { fail(`log: position ${e.position} where ${state.next} was expected`); state.next = e.position; }
    state.next += 1;
    if (!state.streams.has(e.streamId)) state.streams.set(e.streamId, e.streamType);
    const cid = e.metadata && e.metadata.commandId;
    const run = state.run;
    if (run && cid === run.cid) { run.n += 1; run.last = e.position; continue; }
    if (run) closeRun(soak, run, fail, state);
    state.run = cid ? { cid, n: 1, last: e.position } : null;
  }
}

export function finishLog(soak, state, fail) {
  if (state.run) closeRun(soak, state.run, fail, state);
  state.run = null;
  // lost: acknowledged with events, not in the log
  let lost = 0;
  let acknowledged = 0;
  for (let s = 0; s < soak.seq; s += 1) {
    if (soak.ackCount[s] === 0) continue;
    acknowledged += 1;
    if (!state.seen || !state.seen[s]) {
      lost += 1;
      if (lost <= 5) fail(`log: acknowledged command ${soak.o.prefix}${s} (${soak.ackCount[s]} events ending at ${soak.ackPosition[s]}) is not in the log`);
    }
  }
  return { acknowledgedWithEvents: acknowledged, commandsInLog: state.commands || 0, lost, duplicated: state.duplicated || 0, unexpected: state.unexpected || 0 };
}

function closeRun(soak, run, fail, state) {
  state.commands = (state.commands || 0) + 1;
  const prefix = soak.o.prefix;
  if (!run.cid.startsWith(prefix)) { fail(`log: unknown commandId ${run.cid}`); return; }
  const seq = Number(run.cid.slice(prefix.length));
  if (!Number.isInteger(seq) || seq >= soak.seq) { fail(`log: unknown commandId ${run.cid}`); return; }
  if (state.seen === undefined) state.seen = new Uint8Array(soak.ackCount.length);
  if (state.seen[seq]) { state.duplicated = (state.duplicated || 0) + 1; fail(`log: command ${run.cid} appears twice (again ending at ${run.last})`); return; }
  state.seen[seq] = 1;
  if (soak.ackCount[seq] === 0) { state.unexpected = (state.unexpected || 0) + 1; fail(`log: command ${run.cid} was not acknowledged with events, but ${run.n} are in the log at ${run.last}`); return; }
  if (soak.ackCount[seq] !== run.n || soak.ackPosition[seq] !== run.last) {
    fail(`log: command ${run.cid}: ${run.n} events ending at ${run.last}, acknowledged ${soak.ackCount[seq]} ending at ${soak.ackPosition[seq]}`);
  }
}

/**
 * Operations that must leave nothing behind, `n` of each kind (the fault kind n/5), with a
 * memory sample (`measure()`, which should collect garbage first) before and after each kind:
 *   subscriptions  subscribe (catching up 3 events) and unsubscribe
 *   repeats        acknowledged commands repeated with their commandId (no append)
 *   refusals       withdrawals the account cannot cover (DomainError, nothing recorded)
 *   faults         commands whose append is rejected by the storage (StorageError, not retried)
 *   reads          load, readStream, streamVersion, readAll, projection, query, stats
 * The log must be unchanged at the end (same head and hash). Returns [{ kind, ops, before, after }].
 */
export async function leakPhase(soak, { n, measure }) {
  const e = soak.engine;
  const fail = (m) => soak.fail(`leak phase: ${m}`);
  // an account to refuse withdrawals from
  const acc = `leak-acc-${soak.nextStream += 1}`;
  await soak.exec('BankAccount', acc, { type: 'create_account', accountHolder: 'Leak', initialDeposit: 100 }, { types: ['account_created', 'money_deposited'], version: 2 });
  const stats0 = await e.stats();
  const steps = [];
  // Each kind runs a warm-up (a tenth as many) before its first sample, so that tables that
  // grow once to a working size (hash tables, the FinalizationRegistry wasm-bindgen frees
  // closures with, the allocator's free lists) are not counted as left behind.
  const step = async (kind, ops, fn) => {
    await fn(Math.max(10, Math.ceil(ops / 100) * 10));
    const before = await measure();
    await fn(ops);
    const after = await measure();
    steps.push({ kind, ops, before, after });
  };
  const head = stats0.headPosition;

  await step('subscriptions', n, async (count) => {
    const want = Math.min(3, head);
    for (let i = 0; i < count; i += 100) {
      const subs = [];
      const got = { n: 0 };
      for (let k = 0; k < 100; k += 1) subs.push(e.subscribe(() => { got.n += 1; }, { fromPosition: head - want }));
      await tick();
      for (const s of subs) s.unsubscribe();
      if (got.n !== 100 * want) { fail(`100 subscriptions from ${head - want} got ${got.n} events, want ${100 * want}`); break; }
    }
  });

  await step('repeats', n, async (count) => {
    for (let i = 0; i < count; i += 10) {
      await Promise.all(Array.from({ length: 10 }, () => soak.probeIdempotency()));
    }
  });

  await step('refusals', n, async (count) => {
    for (let i = 0; i < count; i += 10) {
      await Promise.all(Array.from({ length: 10 }, () => soak.exec('BankAccount', acc, { type: 'withdraw', amount: 1_000_000 }, { code: 'DOMAIN' })));
    }
  });

  const nf = Math.max(10, Math.floor(n / 50) * 10);
  await step('faults', nf, async (count) => {
    if (!soak.faults) return;
    const rate = soak.faults.rate;
    soak.faults.rate = 1;
    const before = soak.c.storageErrors;
    try {
      for (let i = 0; i < count; i += 10) {
        await Promise.all(Array.from({ length: 10 }, () => soak.exec('BankAccount', acc, { type: 'deposit', amount: 1 }, { types: ['money_deposited'] }, { retryFaults: false })));
      }
    } finally {
      soak.faults.rate = rate;
    }
    if (soak.c.storageErrors - before !== count) fail(`${soak.c.storageErrors - before} StorageErrors for ${count} commands whose append failed`);
  });

  await step('reads', n, async (count) => {
    for (let i = 0; i < count; i += 7) {
      await e.load('BankAccount', acc);
      await e.readStream(acc, { limit: 5 });
      await e.streamVersion(acc);
      await e.readAll({ fromPosition: head - 5 });
      await e.projection('soak_totals');
      await e.query('soak_inventory', {}).catch(() => null);
      await e.stats();
    }
  });

  const stats1 = await e.stats();
  if (stats1.headPosition !== stats0.headPosition || stats1.headHash !== stats0.headHash) {
    fail(`the log changed: head ${stats0.headPosition} -> ${stats1.headPosition}`);
  }
  // the account is still as it was
  const l = await e.load('BankAccount', acc);
  if (!l || l.state.balance !== 100 || l.version !== 2) fail(`${acc}: ${JSON.stringify(l)}`);
  return steps;
}
