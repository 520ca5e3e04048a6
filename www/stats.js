// The header and the numbers above the sections: which storage the page runs on, and the log's
// stats (events, streams, head hash). The 'stats' section publishes the engine's stats in the
// store, after learning any new event type (catalog.js), for every other module to use.
import { store } from './store.js';
import { read } from './engine.js';
import { defineSection } from './refresh.js';
import { readNewTypes, addTypes } from './catalog.js';
import { count } from './format.js';
import { $ } from './ui.js';

function renderStats() {
  return read(async (engine) => {
    const stats = await engine.stats();
    return { stats, firstEvents: await readNewTypes(engine, stats.eventTypeDistribution) };
  }, { key: 'stats' }, ({ stats, firstEvents }) => {
    addTypes(firstEvents);
    store.set({ stats });
  });
}

function showStats({ stats }) {
  $('#stat-events').textContent = count(stats.totalEvents);
  $('#stat-streams').textContent = count(stats.totalStreams);
  const head = $('#stat-head');
  head.textContent = stats.headHash ? `${stats.headHash.slice(0, 24)}…` : '—';
  head.title = stats.headHash || '';
  document.body.dataset.head = String(stats.headPosition);
}

function showStorage({ storage }) {
  if (!storage) return;
  const badge = $('#storage-badge');
  badge.textContent = storage.kind === 'indexeddb' ? `IndexedDB · ${storage.name}` : 'memory only';
  badge.dataset.kind = storage.kind;
  badge.title = `Opened ${count(storage.openedEvents)} events (hash chain checked) in ${Math.round(storage.openMs)} ms`;
  const note = $('#storage-note');
  note.hidden = !storage.note;
  note.textContent = storage.note;
}

export function mountStats() {
  defineSection('stats', renderStats);
  store.subscribe(['stats'], showStats);
  store.subscribe(['storage'], showStorage);
}
