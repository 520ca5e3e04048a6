// The event log's rows. Each event is one <tr>; its `marks` say what state the event is in
// for this view, as classes (styled in style.css) and as data-marks (for tests):
//   'future'       after the time-travel point (greyed)
//   'travel-point' the event at the time-travel point
//   'fresh'        arrived since the last render
//   'pending'      decided here, not yet confirmed by the sync server (no position, no hash)
import { esc, dateTime } from './format.js';
import { typeColor } from './catalog.js';
import { summarize } from './describe.js';

/** One row; `marks`: an array of mark names. */
export function eventRow(e, marks = []) {
  const json = JSON.stringify(e.data);
  const pending = e.pending === true;
  if (pending && !marks.includes('pending')) marks = [...marks, 'pending'];
  const at = pending ? 'data-pending="true"' : `data-position="${e.position}"`;
  return `<tr ${at} data-stream="${esc(e.streamId)}" data-type="${esc(e.type)}" data-version="${e.version}" data-marks="${marks.join(' ')}" class="${marks.join(' ')}">
    <td class="num mono" data-col="position"${pending ? ' title="waiting for the server to confirm it">pending' : `>${e.position}`}</td>
    <td class="nowrap" data-col="time" title="${e.timestamp}">${esc(dateTime(e.timestamp))}</td>
    <td data-col="stream"><button type="button" class="link mono" data-select="${esc(e.streamType)}" data-id="${esc(e.streamId)}" title="${esc(e.streamType)}: inspect">${esc(e.streamId)}</button></td>
    <td class="num mono" data-col="version">${e.version}</td>
    <td data-col="type"><span class="type-tag" style="--tc:${typeColor(e.type)}">${esc(e.type)}</span></td>
    <td data-col="data" class="data" title="${esc(json)}">${esc(summarize(e))}${e.erased ? ` <span class="erased" data-testid="erased" title="forgotten: the key is gone, the chain still verifies">erased: ${esc(e.erased.join(', '))}</span>` : ''}</td>
    <td data-col="hash" class="mono muted" title="${esc(e.hash || '')}">${pending ? '—' : esc(e.hash.slice(0, 10))}</td>
  </tr>`;
}

/** The rows of `events`; `marksOf(event)` gives each one's marks. `empty`: the text when there are none. */
export function eventRows(events, marksOf, empty) {
  if (events.length === 0) return `<tr><td colspan="7" class="empty">${esc(empty)}</td></tr>`;
  return events.map((e) => eventRow(e, marksOf(e))).join('');
}
