// The contract suite's tiny assertion kit: plain ESM that works in browsers and in Node.

export const show = (v) => { try { return JSON.stringify(v); } catch { return String(v); } };

export function ok(v, msg) { if (!v) throw new Error(msg || `expected truthy, got ${show(v)}`); }

export function eq(a, b, msg) { if (!Object.is(a, b)) throw new Error(`${msg || 'not equal'}: ${show(a)} !== ${show(b)}`); }

function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
  return v;
}

export function deepEq(a, b, msg) {
  const sa = show(sortKeys(a)); const sb = show(sortKeys(b));
  if (sa !== sb) throw new Error(`${msg || 'not deep-equal'}:\n  ${sa}\n  ${sb}`);
}

/** The Error `promiseOrFn` rejects with (or a function throws), checked: its code, and a message including `includes`. */
export async function rejects(promiseOrFn, code, includes) {
  let err;
  try {
    await (typeof promiseOrFn === 'function' ? promiseOrFn() : promiseOrFn);
  } catch (e) { err = e; }
  if (!err) throw new Error(`expected a ${code} rejection, got success`);
  if (!(err instanceof Error)) throw new Error(`expected an Error, got ${show(err)}`);
  if (err.code !== code) throw new Error(`expected code ${code}, got ${err.code} (${err.name}: ${err.message})`);
  if (includes && !err.message.includes(includes)) throw new Error(`message ${show(err.message)} lacks ${show(includes)}`);
  return err;
}

/** The Error a synchronous call throws, checked like rejects(). */
export function throws(fn, code) {
  let err;
  try { fn(); } catch (e) { err = e; }
  if (!err) throw new Error(`expected a ${code} throw, got success`);
  if (!(err instanceof Error)) throw new Error(`expected an Error, got ${show(err)}`);
  if (err.code !== code) throw new Error(`expected code ${code}, got ${err.code} (${err.name}: ${err.message})`);
  return err;
}

export const tick = () => new Promise((r) => setTimeout(r, 0));

export async function until(cond, what, ms = 3000) {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
