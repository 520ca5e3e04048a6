// The page side of tests/js/crash.browser.mjs, loaded as window.C. The engine runs on
// IndexedDB database 'crash'; every command whose promise resolves is reported to the test at
// once through window.ejAck (a Playwright binding), BEFORE the loop that issued it moves on.
// The test kills the renderer (or the whole browser) at random moments.
import { Engine, indexedDbStorage } from '/node_modules/eventjournal/index.js';
import { prng } from '../support/prng.mjs';

export const ACCOUNTS = 6;
const C = { engine: null, errors: {}, running: false };

/**
 * Opens the engine on IndexedDB 'crash' with the given durability. A database the browser
 * reports lost is told to the test (window.ejLost), then opened empty (acceptLoss).
 */
C.open = async (durability) => {
  let storage;
  try {
    storage = await indexedDbStorage('crash', { durability });
  } catch (e) {
    if (!(e && e.reason === 'lost')) throw e;
    // The browser deleted the database (it found it corrupt). Tell the test first: if this page
    // dies before the test has heard it, the adapter's record makes the next open say it again.
    await window.ejLost(e.message);
    storage = await indexedDbStorage('crash', { durability, acceptLoss: true });
  }
  C.engine = await Engine.open({ storage, snapshotEvery: 20 });
  window.engineOpen = true;
  return true;
};

/**
 * What the test checks after a crash: stats, verify, the hash of the event at `prevHead`
 * (the prefix the test already checked must be unchanged), the events after it (compact:
 * [position, commandId, streamId, streamType, type, amount, version]).
 */
C.check = async (prevHead) => {
  const e = C.engine;
  const stats = await e.stats();
  const verify = await e.verify();
  const at = prevHead > 0 ? (await e.readAll({ fromPosition: prevHead - 1, limit: 1 }))[0] : null;
  const events = await e.readAll({ fromPosition: prevHead });
  const compact = events.map((x) => [x.position, x.metadata.commandId ?? null, x.streamId, x.streamType, x.type, x.data.amount ?? null, x.version]);
  return { stats, verify, prevHash: at ? at.hash : null, prevPosition: at ? at.position : null, compact };
};

/** [version, balance or status] of each of `streams` ([[type, id], ...]). */
C.loads = async (streams) => {
  const loads = [];
  for (const [type, id] of streams) {
    const l = await C.engine.load(type, id);
    loads.push(l && [l.version, type === 'BankAccount' ? l.state.balance : l.state.status]);
  }
  return loads;
};

/**
 * Starts the command stream (not awaited): the accounts acc-0..acc-5 (create_account with a
 * fixed commandId, so a repeat in a later session is a no-op), then `loops` concurrent loops of
 * deposits, withdrawals, order lifecycles and Promise.all bursts of 5, every command with a
 * unique commandId `${prefix}-${n}`.
 */
C.start = (prefix, seed, loops = 3) => {
  const e = C.engine;
  const random = prng(seed);
  let n = 0;
  C.running = true;
  // The loop waits until the test has the acknowledgement (like a synchronous write to a
  // log) before it goes on: what is in flight at a kill stays small.
  const ack = (cid, r, streamId) => window.ejAck(`${cid} ${r.position} ${r.events.length} ${streamId}`);
  const run = async (type, id, command) => {
    const cid = `${prefix}-${n++}`;
    try {
      const r = await e.execute(type, id, command, { commandId: cid });
      await ack(cid, r, id);
      return r;
    } catch (err) {
      C.errors[err.code || err.name] = (C.errors[err.code || err.name] || 0) + 1;
      return null;
    }
  };
  const account = () => `acc-${Math.floor(random() * ACCOUNTS)}`;
  (async () => {
    await Promise.all(Array.from({ length: ACCOUNTS }, async (_, k) => {
      const r = await e.execute('BankAccount', `acc-${k}`, { type: 'create_account', accountHolder: `Holder ${k}`, initialDeposit: 1000 }, { commandId: `create-acc-${k}` }).catch(() => null);
      if (r) await ack(`create-acc-${k}`, r, `acc-${k}`);
    }));
    await Promise.all(Array.from({ length: loops }, async (_, l) => {
      let order = null;
      let orderNo = 0;
      while (C.running) {
        const x = random();
        if (x < 0.4) {
          await run('BankAccount', account(), { type: 'deposit', amount: 1 + Math.floor(random() * 1000) });
        } else if (x < 0.55) {
          await run('BankAccount', account(), { type: 'withdraw', amount: 1 + Math.floor(random() * 700) });
        } else if (x < 0.8) {
          if (!order) {
            const id = `ord-${prefix}-${l}-${orderNo++}`;
            const r = await run('Order', id, { type: 'place_order', customerId: `c${l}`, items: [{ itemId: 'sku', quantity: 1 + Math.floor(random() * 3), price: 100 + Math.floor(random() * 900) }], shippingAddress: 'Crash Street 1' });
            if (r) order = { id, step: 0 };
          } else {
            const verb = random() < 0.1 ? 'cancel_order' : ['confirm_order', 'ship_order', 'deliver_order'][order.step];
            const r = await run('Order', order.id, { type: verb, trackingNumber: `T-${n}`, reason: 'crash test' });
            if (r) {
              order.step += 1;
              if (verb === 'cancel_order' || order.step === 3) order = null;
            }
          }
        } else {
          // a burst: 5 commands at once (they share appends: group commit)
          await Promise.all(Array.from({ length: 5 }, (_, k) => (k === 4 && random() < 0.5
            ? run('BankAccount', account(), { type: 'withdraw', amount: 1 + Math.floor(random() * 300) })
            : run('BankAccount', account(), { type: 'deposit', amount: 1 + Math.floor(random() * 500) }))));
        }
      }
    }));
  })();
  return true;
};

window.C = C;
