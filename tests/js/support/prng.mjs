// The one seeded PRNG of the JS tests (mulberry32): same seed, same sequence. Plain ESM with
// no Node or DOM import, so pages load it too (served as /tests/support/prng.mjs).

/**
 * A generator of numbers in [0, 1), reproducible from `seed` (an integer; 32 bits are used).
 * @param {number} seed
 * @returns {() => number}
 */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed from the environment variable's value if it is set, else a random one (print it to reproduce). */
export function seedFrom(value) {
  const n = Number(value);
  return value !== undefined && value !== '' && Number.isFinite(n) ? n : Math.floor(Math.random() * 2 ** 31);
}
