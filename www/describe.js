// How the page puts events and aggregate states into words. The engine knows the data; only
// the section that owns a stream type knows how to say it, so bank.js and shop.js register
// their descriptions here and the log and the inspector use them without knowing any domain.
// Whatever has no description is shown as its JSON.
import { esc } from './format.js';

const summaries = new Map();
const stateViews = new Map();

/** Registers one-line summaries of event data: `{ [eventType]: (data, event) => text }`. */
export function describeEvents(byType) {
  for (const [type, fn] of Object.entries(byType)) summaries.set(type, fn);
}

/** Registers the inspector's view of a stream type's state: `(state) => [[label, html], ...]`. */
export function describeState(streamType, fields) {
  stateViews.set(streamType, fields);
}

/** A short, human summary of an event's data for the log. */
export function summarize(event) {
  const data = event.data || {};
  const fn = summaries.get(event.type);
  if (fn) return fn(data, event);
  const json = JSON.stringify(data);
  return json === '{}' ? '' : json.length > 90 ? `${json.slice(0, 87)}…` : json;
}

/** The inspector's rows for an aggregate's state: [[label, html], ...]. */
export function stateFields(streamType, state) {
  const fn = stateViews.get(streamType);
  return fn ? fn(state) : [['State', `<pre>${esc(JSON.stringify(state, null, 2))}</pre>`]];
}
