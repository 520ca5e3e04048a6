// What every storage adapter shares: one shape and one policy (DESIGN.md §5).
//
// - Factories are async and check their arguments: a bad one is a ValidationError.
// - appendEvents on a store that is not at `expectedPosition` writes nothing and rejects with
//   conflict(expected, last) (an Error whose code is 'CONFLICT').
// - watch(onAppend) with a non-function throws a ValidationError; each call returns its own
//   unwatch, and watchers that throw never stop the others.
// - After close(), every call but close() rejects (or, for watch, throws) with a ClosedError;
//   closing twice is harmless.
import { ClosedError, ValidationError } from './errors.js';

/** The error appendEvents rejects with when another writer appended first. */
function conflict(expected, last) {
  const e = new Error(`conflict: expected the store at position ${expected}, it is at ${last}`);
  e.code = 'CONFLICT';
  return e;
}

/** Throws a ValidationError unless `value` is a non-negative safe integer. */
function nonNegativeInteger(value, what) {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError(`${what} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}

/**
 * The watchers of one adapter: `add(fn)` returns its unwatch, `notify(last)` calls each one
 * (a watcher that throws is ignored), `size` counts them, `clear()` drops them all.
 */
function watcherRegistry(adapterName) {
  const watchers = new Set();
  return {
    add(onAppend) {
      if (typeof onAppend !== 'function') {
        throw new ValidationError(`${adapterName}.watch(onAppend): onAppend must be a function`);
      }
      // Wrapped, so watching the same function twice gives two independent unwatch calls.
      const entry = (last) => onAppend(last);
      watchers.add(entry);
      return () => { watchers.delete(entry); };
    },
    notify(last) {
      for (const w of [...watchers]) {
        try { w(last); } catch { /* a watcher's failure is its own */ }
      }
    },
    get size() { return watchers.size; },
    clear() { watchers.clear(); },
  };
}

/**
 * The closed state of one adapter: `check(method)` throws a ClosedError once `close()` was
 * called; `close()` returns true the first time only (so closing twice is harmless).
 */
function closedGuard(adapterName) {
  let closed = false;
  return {
    check(method) {
      if (closed) throw new ClosedError(`${adapterName}: ${method}() after close()`);
    },
    close() {
      if (closed) return false;
      closed = true;
      return true;
    },
    get closed() { return closed; },
  };
}

export { conflict, nonNegativeInteger, watcherRegistry, closedGuard };
