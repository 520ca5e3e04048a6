// Logs in the JS tests: records to hand an adapter directly, and the check every multi-process
// test makes of the log its processes wrote together. Plain ESM with no Node import.

/**
 * A record with the 10 event fields (not a valid chain: adapters do not check hashes), with
 * text that JSON and SQL must keep exactly (non-ASCII, quotes, nesting, empty objects).
 * @param {number} position
 * @param {string} [streamId]
 * @param {number} [version]
 */
export function record(position, streamId = 's1', version = position) {
  return {
    id: `id-${position}`,
    streamId,
    streamType: 'Thing',
    type: 'happened',
    data: { n: position, text: 'héllo ✓ "quoted"', nested: { list: [1, 'two', null, true], empty: {} } },
    metadata: { commandId: `c-${position}`, userId: 'u1' },
    timestamp: 1_700_000_000_000 + position,
    version,
    position,
    hash: position.toString(16).padStart(64, '0'),
  };
}

/**
 * Throws unless `events` hold positions 1..n without a gap; returns each commandId of the log
 * (from the events' metadata) with how many events carry it.
 * @param {{ position: number, metadata?: { commandId?: string } }[]} events
 * @returns {Map<string, number>}
 */
export function checkLog(events) {
  const counts = new Map();
  events.forEach((e, i) => {
    if (e.position !== i + 1) throw new Error(`gap: event ${i} has position ${e.position}`);
    const id = e.metadata && e.metadata.commandId;
    if (id !== undefined) counts.set(id, (counts.get(id) || 0) + 1);
  });
  return counts;
}
