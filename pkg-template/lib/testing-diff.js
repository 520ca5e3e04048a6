// @ts-check
// The comparison and the readable diff of eventjournal/testing: values are compared as JSON
// (key order aside), and a mismatch is shown as a line diff of their pretty-printed JSON.

/**
 * A copy of JSON data with every object's keys sorted (by UTF-16 code units, as JCS sorts).
 * @param {unknown} v
 * @returns {unknown}
 */
function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v === null || typeof v !== 'object') return v;
  /** @type {Record<string, unknown>} */
  const out = {};
  for (const k of Object.keys(v).sort()) out[k] = sortKeys(/** @type {Record<string, unknown>} */ (v)[k]);
  return out;
}

/** Pretty JSON with sorted keys. @param {unknown} v */
function pretty(v) {
  const text = JSON.stringify(sortKeys(v), null, 2);
  return text === undefined ? 'undefined' : text;
}

/** Are `a` and `b` the same JSON value (whatever the order of keys)? @param {unknown} a @param {unknown} b */
function jsonEqual(a, b) {
  return pretty(a) === pretty(b);
}

const MAX_DIFF_LINES = 400;

/**
 * A line diff (longest common subsequence): '- ' lines only in `expected`, '+ ' lines only
 * in `actual`, '  ' lines in both.
 * @param {string[]} expected
 * @param {string[]} actual
 * @returns {string[]}
 */
function diffLines(expected, actual) {
  const n = expected.length;
  const m = actual.length;
  // common[i][j]: length of the LCS of expected[i..] and actual[j..]
  const common = Array.from({ length: n + 1 }, () => new Array(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i -= 1) {
    for (let j = m - 1; j >= 0; j -= 1) {
      common[i][j] = expected[i] === actual[j] ? common[i + 1][j + 1] + 1 : Math.max(common[i + 1][j], common[i][j + 1]);
    }
  }
  const out = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && expected[i] === actual[j]) {
      out.push(`  ${expected[i]}`);
      i += 1;
      j += 1;
    } else if (i < n && (j === m || common[i + 1][j] >= common[i][j + 1])) {
      out.push(`- ${expected[i]}`);
      i += 1;
    } else {
      out.push(`+ ${actual[j]}`);
      j += 1;
    }
  }
  return out;
}

/**
 * The message of a failed `then`: what differs, as a diff of the two values.
 * @param {string} title
 * @param {unknown} expected
 * @param {unknown} actual
 */
function describeMismatch(title, expected, actual) {
  const e = pretty(expected).split('\n');
  const a = pretty(actual).split('\n');
  const body = e.length + a.length > 2 * MAX_DIFF_LINES
    ? ['expected:', ...e.slice(0, MAX_DIFF_LINES), 'actual:', ...a.slice(0, MAX_DIFF_LINES)]
    : diffLines(e, a);
  return `${title} (- expected, + actual):\n${body.join('\n')}`;
}

export { jsonEqual, describeMismatch, sortKeys };
