// The one guard against stale answers. Every engine answer the page waits for (a section's
// render, the time-travel status line, a command's result, a tool's report) is asked for with a
// ticket; when the answer arrives, the ticket tells whether the view moved on meanwhile:
//   - a newer ticket with the same `key` was taken (a newer request for the same thing),
//   - one of the store keys in `deps` changed (e.g. the time-travel point, the log's page),
//   - the engine was closed or replaced (every ticket depends on `engine`).
// A stale answer is dropped: `check()` throws a StaleAnswer that the callers ignore.
// engine.js's `read` takes the ticket, checks it when the answer arrives and, in the same
// synchronous step, hands the answer to the code that shows it: no change of the view can slip
// in between the check and the use.
import { store } from './store.js';

const latest = new Map();

export class StaleAnswer extends Error {
  constructor(key) {
    super(`The view moved on before the answer${key ? ` for ${key}` : ''} arrived`);
    this.name = 'StaleAnswer';
    this.code = 'STALE';
  }
}

/** True for the error a stale answer throws (callers drop it silently). */
export const isStale = (err) => err instanceof StaleAnswer;

/**
 * A ticket for one answer. `key`: what it answers (null: no "newer request" rule);
 * `deps`: the store keys the question was asked under.
 */
export function ticket(key = null, deps = []) {
  const keys = ['engine', ...deps];
  const seen = keys.map((k) => store.revision(k));
  let n = 0;
  if (key != null) {
    n = (latest.get(key) || 0) + 1;
    latest.set(key, n);
  }
  const current = () => (key == null || latest.get(key) === n) && keys.every((k, i) => store.revision(k) === seen[i]);
  return {
    current,
    /** Throws a StaleAnswer when the view moved on. */
    check() {
      if (!current()) throw new StaleAnswer(key);
    },
  };
}
