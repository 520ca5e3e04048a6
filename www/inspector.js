// The aggregate inspector: the selected stream's state as of the time-travel point (loaded by
// the engine), described by the section that owns its stream type (describe.js), and its latest
// events. Any element with data-select="<streamType>" data-id="<streamId>" selects on click.
import { store } from './store.js';
import { read } from './engine.js';
import { defineSection } from './refresh.js';
import { stateFields, summarize } from './describe.js';
import { typeColor } from './catalog.js';
import { setLogFilters } from './log.js';
import { count, esc } from './format.js';
import { $ } from './ui.js';

const RECENT = 6;
const EMPTY = '<p class="empty">Select an account or an order to see its state (at the time-travel point) and its history.</p>';

/** Shows the aggregate `id` of `type` in the inspector. */
export function select(type, id) {
  store.set({ selected: { type, id } });
}

async function renderInspector() {
  const { selected: sel, travel } = store.state;
  $('#inspector-name').textContent = sel ? sel.id : '';
  if (!sel) return;
  const at = travel != null ? { at: { position: travel } } : undefined;
  await read(async (e) => [
    await e.load(sel.type, sel.id, at),
    await e.readStream(sel.id, { direction: 'backward', limit: RECENT }),
  ], { key: 'inspector', deps: ['selected', 'travel'] }, show);
}

function show([loaded, recent]) {
  const { selected: sel, travel } = store.state;
  const body = $('#inspector-body');
  if (!loaded) {
    $('#inspector-events').innerHTML = '';
    body.innerHTML = `<p class="empty">${esc(sel.id)} ${travel != null ? `did not exist yet at position ${count(travel)}.` : 'has no events.'}</p>`;
    return;
  }
  const fields = stateFields(sel.type, loaded.state);
  fields.push(['Version', `<span class="mono" data-testid="inspector-version">${loaded.version}</span>${travel != null ? ' <span class="muted">(at the time-travel point)</span>' : ''}`]);
  body.innerHTML = `<dl class="kv">${fields.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join('')}</dl>`;
  $('#inspector-events').innerHTML = `<h4>Latest events of this stream <button type="button" class="link" data-filter-stream="${esc(sel.id)}">show all in the log ↓</button></h4>
    <ol class="mini-log">${recent.map((e) => `<li class="${travel != null && e.position > travel ? 'future' : ''}">
      <span class="mono muted">v${e.version}</span> <span class="type-dot" style="background:${typeColor(e.type)}"></span><span class="mono">${esc(e.type)}</span>
      <span class="muted">${esc(summarize(e))}</span></li>`).join('')}</ol>`;
}

function clear() {
  $('#inspector-name').textContent = '';
  $('#inspector-body').innerHTML = EMPTY;
  $('#inspector-events').innerHTML = '';
}

export function mountInspector() {
  defineSection('inspector', renderInspector, { deps: ['selected', 'travel'] });
  store.subscribe(['selected'], (s) => { if (!s.selected) clear(); });
  document.addEventListener('click', (ev) => {
    const s = ev.target.closest('[data-select]');
    if (s) { select(s.dataset.select, s.dataset.id); return; }
    const f = ev.target.closest('[data-filter-stream]');
    if (f) {
      setLogFilters({ stream: f.dataset.filterStream, type: '', streamType: '' });
      $('#log').scrollIntoView({ behavior: 'smooth', block: 'start' });
    }
  });
}
