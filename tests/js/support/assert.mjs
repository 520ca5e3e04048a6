// Assertions the Node tests share (node:assert; the runtime-agnostic ones of the contract
// suite are in contract/assert.mjs).
import assert from 'node:assert/strict';

/**
 * Awaits `promise`, asserts that it rejects, runs `check(error)` and returns the error.
 * @param {Promise<unknown>} promise
 * @param {(error: any) => void} check
 */
export async function rejectsWith(promise, check) {
  let error;
  try { await promise; } catch (e) { error = e; }
  assert.ok(error, 'expected a rejection');
  check(error);
  return error;
}
