// A fault-injecting storage wrapper for faults.test.mjs.
//
// faultyStorage(base, { lateMs }) forwards to `base` (e.g. memoryStorage()) until armed with a
// plan: Map(callIndex -> { kind, variant }), where callIndex counts the readEvents and
// appendEvents calls made after arm(). The planned call then misbehaves:
//   reject   rejects without touching the store (an Error, a string, undefined, or an Error
//            with code 'CONFLICT' for appendEvents: a legitimate "someone else appended")
//   throw    throws synchronously (an Error, 42, null) without touching the store
//   hang     returns a promise that never settles (nothing written)
//   late     settles after lateMs (longer than the engine's timeout): appendEvents writes at
//            once and resolves late / writes late / rejects late; readEvents resolves late
//   gap      readEvents: records that skip a position (appendEvents: no fault)
//   garbage  readEvents: not an array of valid records (appendEvents: writes, then resolves
//            with a meaningless value, which is still a success)
//   stale    readEvents: [] as if the log ended here (a stale read; appendEvents: no fault)
// `corruptReads` counts the gap/garbage reads actually served: whoever consumed one must
// have failed with an IntegrityError or a StorageError.

export const KINDS = ['reject', 'throw', 'hang', 'late', 'gap', 'garbage', 'stale'];
export const GARBAGE_VARIANTS = 15;

function injected(message) {
  const e = new Error(`injected: ${message}`);
  e.code = 'EINJECTED';
  return e;
}

/** A record-shaped object at `position` whose hash cannot be right. */
export function fakeRecord(position) {
  return {
    id: `01900000-0000-7000-8000-${String(position).padStart(12, '0')}`,
    streamId: 'acc-0',
    streamType: 'BankAccount',
    type: 'money_deposited',
    data: { amount: 1, description: '', balanceAfter: 1 },
    metadata: {},
    timestamp: 1_700_000_000_000,
    version: 99,
    position,
    hash: 'f'.repeat(64),
  };
}

/** Variant `v` of a garbage answer to readEvents(after, ...) whose true answer is `page`. */
export function garbage(page, after, v) {
  const first = page.length > 0 ? page[0] : fakeRecord(after + 1);
  const rest = page.slice(1);
  const with1 = (r) => [r, ...rest];
  switch (v % GARBAGE_VARIANTS) {
    case 0: return null;
    case 1: return 42;
    case 2: return 'events';
    case 3: return { length: 1, 0: first };
    case 4: return [null];
    case 5: return [42, ...page];
    case 6: return with1({ ...first, extra: 1 });
    case 7: { const { hash, ...noHash } = first; return with1(noHash); }
    case 8: return with1({ ...first, data: { ...first.data, amount: 1_000_000 } });
    case 9: return with1({ ...first, version: String(first.version) });
    case 10: return with1({ ...first, position: first.position + 1 });
    case 11: return [first, first, ...rest];
    case 12: return undefined;
    case 13: return with1({ ...first, timestamp: -5 });
    default: return with1({ ...first, hash: 'f'.repeat(64) });
  }
}

export function faultyStorage(base, { lateMs }) {
  let plan = new Map();
  let armed = false;
  let calls = 0;
  const pending = new Set();
  const stats = { corruptReads: 0, fired: 0 };
  const track = (p) => {
    const q = p.catch(() => {}).finally(() => pending.delete(q));
    pending.add(q);
  };
  const later = (fn) => new Promise((resolve, reject) => {
    setTimeout(() => { Promise.resolve().then(fn).then(resolve, reject); }, lateMs);
  });

  function next(method) {
    if (!armed) return null;
    const f = plan.get(calls++);
    if (!f) return null;
    stats.fired += 1;
    return { ...f, method };
  }

  return {
    stats,
    arm(newPlan) { plan = newPlan; calls = 0; armed = true; },
    disarm() { armed = false; },
    /** Waits until every late operation has happened. */
    async drain() { while (pending.size > 0) await Promise.all([...pending]); },

    readEvents(after, limit) {
      const f = next('readEvents');
      if (!f) return base.readEvents(after, limit);
      switch (f.kind) {
        case 'reject': return Promise.reject([injected('read rejected'), 'boom', undefined][f.variant % 3]);
        case 'throw': throw [injected('read threw'), 42, null][f.variant % 3];
        case 'hang': return new Promise(() => {});
        case 'late': { const p = later(() => base.readEvents(after, limit)); track(p); return p; }
        case 'gap': return (async () => {
          const skipped = await base.readEvents(after + 1, limit);
          stats.corruptReads += 1;
          return skipped.length > 0 ? skipped : [fakeRecord(after + 2)];
        })();
        case 'garbage': return (async () => {
          const page = await base.readEvents(after, limit);
          stats.corruptReads += 1;
          return garbage(page, after, f.variant);
        })();
        case 'stale': return Promise.resolve([]);
        default: return base.readEvents(after, limit);
      }
    },

    appendEvents(events, expected) {
      const f = next('appendEvents');
      if (!f) return base.appendEvents(events, expected);
      switch (f.kind) {
        case 'reject': {
          if (f.variant % 4 === 3) {
            const e = injected('conflict');
            e.code = 'CONFLICT';
            return Promise.reject(e);
          }
          return Promise.reject([injected('append rejected'), 'boom', undefined][f.variant % 3]);
        }
        case 'throw': throw [injected('append threw'), 42, null][f.variant % 3];
        case 'hang': return new Promise(() => {});
        case 'late': {
          let p;
          if (f.variant % 3 === 0) { // written now, acknowledged late
            const written = Promise.resolve(base.appendEvents(events, expected));
            written.catch(() => {}); // (a CONFLICT is handed on, late)
            p = later(() => written);
          } else if (f.variant % 3 === 1) { // written late (may then conflict: nothing written)
            p = later(() => base.appendEvents(events, expected));
          } else { // nothing written, rejected late
            p = later(() => { throw injected('late rejection'); });
          }
          track(p);
          return p;
        }
        case 'garbage': return Promise.resolve(base.appendEvents(events, expected)).then(() => ({ code: 'CONFLICT', ok: false }));
        default: return base.appendEvents(events, expected);
      }
    },

    readSnapshot: base.readSnapshot ? (key) => base.readSnapshot(key) : undefined,
    writeSnapshot: base.writeSnapshot ? (s) => base.writeSnapshot(s) : undefined,
    watch: base.watch ? (onAppend) => base.watch(onAppend) : undefined,
    close: () => {},
  };
}
