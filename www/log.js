// The event log section: one page of the log, newest first, filtered by stream, stream type or
// event type, paged without ever reading more than it shows (plus a margin). The filters offer
// the event types and stream types the engine reports (catalog.js). A paged view is anchored to
// the head it started from, so new events do not shift it ("N new events — show"). On a synced
// page the live first page also shows the commands still waiting for the server, greyed, on top.
import { store } from './store.js';
import { read } from './engine.js';
import { defineSection } from './refresh.js';
import { streamTypes, streamTypeOf } from './catalog.js';
import { eventRows } from './log-rows.js';
import { count, esc } from './format.js';
import { $ } from './ui.js';

export const LOG_PAGE = 50;
let cursors = [];        // filtered paging: cursors[p] = the highest position page p may show
let lastShownHead = 0;   // the head at the last render of the live first page (for 'fresh' marks)

/** How many events match a type / stream type filter, from the stats; null when unknown. */
function filteredTotal(type, streamType, distribution) {
  if (type) {
    const n = distribution[type] || 0;
    const st = streamTypeOf(type);
    return !streamType || st === streamType ? n : st == null && n > 0 ? null : 0;
  }
  let total = 0;
  for (const [t, n] of Object.entries(distribution)) {
    const st = streamTypeOf(t);
    if (st == null) return null;
    if (st === streamType) total += n;
  }
  return total;
}

async function fetchStreamPage(engine, { filters, page }, types, streamType) {
  const version = await engine.streamVersion(filters.stream);
  if (!types && !streamType) {
    const hi = version - page * LOG_PAGE;
    const events = hi > 0 ? await engine.readStream(filters.stream, { direction: 'backward', fromVersion: hi + 1, limit: LOG_PAGE }) : [];
    return { events, total: version, pages: Math.max(1, Math.ceil(version / LOG_PAGE)) };
  }
  const all = (await engine.readStream(filters.stream))
    .filter((e) => (!types || types.includes(e.type)) && (!streamType || e.streamType === streamType)).reverse();
  return { events: all.slice(page * LOG_PAGE, (page + 1) * LOG_PAGE), total: all.length, pages: Math.max(1, Math.ceil(all.length / LOG_PAGE)) };
}

/** Scans backwards in growing windows from the page's cursor, for a type / stream type filter. */
async function fetchFilteredPage(engine, { filters, page }, upper, types, streamType) {
  const next = page === 0 ? [upper] : cursors.slice();
  let hi = next[page] ?? upper;
  const found = [];
  let window = LOG_PAGE * 8;
  while (found.length <= LOG_PAGE && hi > 0) {
    const lo = Math.max(0, hi - window);
    const got = await engine.readAll({ fromPosition: lo, limit: hi - lo, types, streamType, ...confirmedOnly() });
    for (let i = got.length - 1; i >= 0; i--) if (got[i].position <= hi) found.push(got[i]);
    hi = lo;
    window = Math.min(window * 4, 65536);
  }
  const events = found.slice(0, LOG_PAGE);
  const more = found.length > LOG_PAGE;
  if (more) next[page + 1] = events[events.length - 1].position - 1;
  const { stats } = store.state;
  // the counts are for the whole log; an anchored view does not know its own
  const total = upper < stats.headPosition ? null : filteredTotal(filters.type, streamType, stats.eventTypeDistribution);
  return { events, total, pages: more ? page + 2 : page + 1, cursors: next };
}

/** `{ confirmed: true }` on a synced page (the server's events alone), else nothing. */
const confirmedOnly = () => (store.state.storage?.synced ? { confirmed: true } : {});

/** The pending events (newest first) matching the filters: synced pages, live first page. */
async function pendingEvents(engine, view, head, types, streamType) {
  if (!store.state.storage?.synced || view.page !== 0 || view.anchor != null || view.filters.stream) return [];
  const all = await engine.readAll({ fromPosition: head, types, streamType });
  return all.filter((e) => e.pending).reverse();
}

async function fetchPage(engine, view) {
  const page = await fetchConfirmedPage(engine, view);
  const { headPosition } = store.state.stats;
  const types = view.filters.type ? [view.filters.type] : undefined;
  const pending = await pendingEvents(engine, view, headPosition, types, view.filters.streamType || undefined);
  return pending.length ? { ...page, events: [...pending, ...page.events], pending: pending.length } : page;
}

async function fetchConfirmedPage(engine, view) {
  const head = store.state.stats.headPosition;
  const upper = Math.min(view.anchor ?? head, head);
  const types = view.filters.type ? [view.filters.type] : undefined;
  const streamType = view.filters.streamType || undefined;
  if (view.filters.stream) return fetchStreamPage(engine, view, types, streamType);
  if (types || streamType) return fetchFilteredPage(engine, view, upper, types, streamType);
  const hi = upper - view.page * LOG_PAGE;
  const lo = Math.max(0, hi - LOG_PAGE);
  const events = hi > 0 ? (await engine.readAll({ fromPosition: lo, limit: hi - lo })).reverse() : [];
  return { events, total: upper, pages: Math.max(1, Math.ceil(upper / LOG_PAGE)) };
}

async function renderLog() {
  const t0 = performance.now();
  const view = store.state.log;
  await read((e) => fetchPage(e, view), { key: 'log', deps: ['log'] }, (res) => showPage(view, res, t0));
}

function showPage(view, res, t0) {
  const { stats: { headPosition: head }, travel } = store.state;
  const { events } = res;
  if (res.cursors) cursors = res.cursors;
  const live = view.page === 0 && view.anchor == null;
  const prevShown = lastShownHead;
  $('#log-table tbody').innerHTML = eventRows(events, (e) => {
    const marks = [];
    if (travel != null && e.position > travel) marks.push('future');
    if (travel != null && e.position === travel) marks.push('travel-point');
    if (live && prevShown && e.position > prevShown) marks.push('fresh');
    return marks;
  }, head ? 'No event matches these filters.' : 'The log is empty. Open an account, place an order, or generate sample data.');
  if (live) lastShownHead = head;
  renderPagerInfo(view, res, head);
  const table = $('#log-table');
  table.dataset.renderMs = (performance.now() - t0).toFixed(1);
  table.dataset.page = String(view.page);
  table.dataset.rows = String(events.length);
  table.dataset.pending = String(res.pending || 0);
}

function renderPagerInfo(view, { events, total, pages, cursors: scanned }, head) {
  const info = total == null
    ? `page ${view.page + 1}`
    : `page ${view.page + 1} of ${count(pages)} · ${count(total)} event${total === 1 ? '' : 's'}`;
  const shown = events.filter((e) => !e.pending);
  $('#log-page-info').textContent = shown.length ? `${info} · #${count(shown[0].position)}–#${count(shown[shown.length - 1].position)}` : info;
  $('#log-count').textContent = head ? `· ${count(head)}` : '';
  $('#log-newest').disabled = $('#log-newer').disabled = view.page === 0 && view.anchor == null;
  $('#log-older').disabled = view.page >= pages - 1;
  $('#log-oldest').disabled = Boolean(scanned) || view.page >= pages - 1; // a scan cannot jump to the end
  const newer = view.anchor != null ? head - view.anchor : 0;
  const btn = $('#log-new-events');
  btn.hidden = newer <= 0;
  btn.textContent = `${count(newer)} new event${newer === 1 ? '' : 's'} — show`;
}

/** Shows page `page` (0: the newest, live). */
function go(page) {
  const head = store.state.stats.headPosition;
  const view = store.state.log;
  if (page <= 0) store.update('log', { page: 0, anchor: null });
  else store.update('log', { page, anchor: view.anchor ?? head });
}

/** Changes the filters (e.g. `{ stream: 'account_001' }`) and goes back to the newest page. */
export function setLogFilters(changes) {
  const filters = { ...store.state.log.filters, ...changes };
  store.set({ log: { page: 0, anchor: null, filters } });
  $('#log-stream').value = filters.stream;
  $('#log-stream-type').value = filters.streamType;
  $('#log-type').value = filters.type;
}

function fillSelect(sel, values, label) {
  const key = values.map((v) => `${v}\u0000${label(v)}`).join('\u0001');
  if (sel.dataset.key === key) return;
  sel.dataset.key = key;
  const keep = sel.value;
  sel.innerHTML = `<option value="">any</option>${values.map((v) => `<option value="${esc(v)}">${esc(label(v))}</option>`).join('')}`;
  sel.value = keep;
}

/** The filters offer what the engine reports (and keep the one chosen, even once gone). */
function fillFilters({ stats, log: { filters } }) {
  const dist = stats.eventTypeDistribution;
  const types = [...new Set([...Object.keys(dist), ...(filters.type ? [filters.type] : [])])].sort();
  fillSelect($('#log-type'), types, (t) => `${t} (${count(dist[t] || 0)})`);
  const sts = [...new Set([...streamTypes(), ...(filters.streamType ? [filters.streamType] : [])])].sort();
  fillSelect($('#log-stream-type'), sts, (s) => s);
}

/** Shows the log page that holds the time-travel point (when unfiltered); back to now: the newest. */
function followTravel({ travel, stats, log: view }) {
  if (travel == null) { store.update('log', { page: 0, anchor: null }); return; }
  const f = view.filters;
  if (f.stream || f.type || f.streamType) return;
  const head = stats.headPosition;
  const page = Math.max(0, Math.floor(((view.anchor ?? head) - travel) / LOG_PAGE));
  store.update('log', { page, anchor: page > 0 && view.anchor == null ? head : view.anchor });
}

export function mountLog() {
  defineSection('log', renderLog, { deps: ['log', 'travel'] });
  store.subscribe(['stats'], fillFilters);
  store.subscribe(['travel'], followTravel);
  store.subscribe(['engine'], () => { lastShownHead = 0; cursors = []; });
  let streamTimer = null;
  $('#log-stream').addEventListener('input', (ev) => {
    clearTimeout(streamTimer);
    streamTimer = setTimeout(() => setLogFilters({ stream: ev.target.value.trim() }), 200);
  });
  $('#log-stream-type').addEventListener('change', (ev) => setLogFilters({ streamType: ev.target.value }));
  $('#log-type').addEventListener('change', (ev) => setLogFilters({ type: ev.target.value }));
  $('#log-clear').addEventListener('click', () => setLogFilters({ stream: '', streamType: '', type: '' }));
  $('#log-newest').addEventListener('click', () => go(0));
  $('#log-new-events').addEventListener('click', () => go(0));
  $('#log-newer').addEventListener('click', () => go(store.state.log.page - 1));
  $('#log-older').addEventListener('click', () => go(store.state.log.page + 1));
  $('#log-oldest').addEventListener('click', () => {
    const { log: view, stats } = store.state;
    go(Math.max(0, Math.ceil((view.anchor ?? stats.headPosition) / LOG_PAGE) - 1));
  });
}
