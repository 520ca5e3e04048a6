// The event-shaped record every raw floor writes (IndexedDB on the page, SQLite on OPFS in the
// worker): what the engine stores per event (DESIGN.md §3), ~330 bytes as JSON.
const hex = (n) => Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => b.toString(16).padStart(2, '0')).join('');

/** Record `i` of the write scenarios, at global `position`. */
export function record(position, i) {
  const account = i % 1000;
  return {
    id: crypto.randomUUID(),
    streamId: `account_${String(account).padStart(4, '0')}`,
    streamType: 'BankAccount',
    type: 'money_deposited',
    data: { amount: 100 + (i % 50), description: '', balanceAfter: 10_000 + 125 * (Math.floor(i / 1000) + 1) },
    metadata: {},
    timestamp: Date.now(),
    version: Math.floor(i / 1000) + 3,
    position,
    hash: hex(32),
  };
}

/** Records 1..`n` (untimed: every floor builds them before its clock starts). */
export function records(n) {
  const all = new Array(n);
  for (let i = 0; i < n; i++) all[i] = record(i + 1, i);
  return all;
}

/** Mean size as JSON of `n` records from `from` (what the tables print as bytes per record). */
export const jsonBytes = (all, from, n) => all.slice(from, from + n).reduce((s, r) => s + JSON.stringify(r).length, 0) / Math.max(1, Math.min(n, all.length - from));
