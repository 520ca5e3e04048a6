// The log's vocabulary, as the engine tells it: the event types in the log (stats'
// `eventTypeDistribution`), the stream type each belongs to (its events' `streamType`), hence
// the stream types, and a colour for each event type. Nothing here is written by hand: a domain
// added to the engine shows up on the page by itself.
//
// An event type is learnt from its first event in the log (one read per new type). Live events
// add the stream types of a type seen under more than one (then `streamTypeOf` says null).
// Colours: one palette family per stream type, one shade per event type, both in the order of
// their first appearance in the log, so every tab on the same log colours it the same way.
import { store } from './store.js';

const FAMILIES = 3;
const SHADES = 5;
const types = new Map(); // type → { first: position, streamTypes: Set<string> }

store.subscribe(['engine'], () => types.clear());

function byFirst(a, b) {
  return a[1].first - b[1].first;
}

/**
 * Reads what is not known yet of the types in `distribution`: the first event of each (one read
 * of `engine` each). Returns what `addTypes` learns from; nothing is learnt until then.
 */
export async function readNewTypes(engine, distribution) {
  const found = [];
  for (const type of Object.keys(distribution || {})) {
    if (types.has(type)) continue;
    const [first] = await engine.readAll({ types: [type], limit: 1 });
    if (first) found.push(first);
  }
  return found;
}

/** Learns event types from their first events (as `readNewTypes` found them). */
export function addTypes(firstEvents) {
  for (const e of firstEvents) {
    if (!types.has(e.type)) types.set(e.type, { first: e.position, streamTypes: new Set([e.streamType]) });
  }
}

/** Notes a live event's stream type (for a type already learnt). */
export function noteEvent(event) {
  types.get(event.type)?.streamTypes.add(event.streamType);
}

/** The stream types in the log, in the order they first appeared. */
export function streamTypes() {
  const firsts = new Map();
  for (const [, info] of [...types].sort(byFirst)) {
    for (const st of info.streamTypes) if (!firsts.has(st)) firsts.set(st, firsts.size);
  }
  return [...firsts.keys()];
}

/** The one stream type whose events have this type; null when unknown or several. */
export function streamTypeOf(type) {
  const info = types.get(type);
  return info && info.streamTypes.size === 1 ? [...info.streamTypes][0] : null;
}

/** A CSS colour for an event type. */
export function typeColor(type) {
  const st = streamTypeOf(type);
  if (!st) return 'var(--c-other)';
  const family = streamTypes().indexOf(st);
  const shade = [...types].sort(byFirst).filter(([, info]) => info.streamTypes.has(st)).findIndex(([t]) => t === type);
  return family < FAMILIES && shade < SHADES ? `var(--c-${family}-${shade})` : 'var(--c-other)';
}
