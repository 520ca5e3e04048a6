// eventjournal demo page: plain ESM, no framework, no bundler. Everything shown comes from the
// engine (projections, queries, reads, time travel); the page keeps only view state, in one
// store (store.js). This file only wires the modules together:
//
//   store.js     the one state store          guard.js    the one guard against stale answers
//   engine.js    open/close, read, execute    refresh.js  the render loop (sections, throttling)
//   tabs.js      other tabs, reset            catalog.js  event and stream types, from the engine
//   stats.js     header and stat cards        travel.js   time travel
//   bank.js      the bank                     shop.js     the shop (order-form.js: placing one)
//   inspector.js the selected aggregate       charts.js   type and balance charts
//   log.js       the event log (log-rows.js)  tools.js    replay, verify, reset; sample.js
//   describe.js  events and states in words   domains.js  the names of the built-in domains
//   sync.js      the sync badge, the offline switch, refusals (a page served by the sync server)
//   ui.js, toast.js, format.js: DOM and text helpers
import { onEvent, openEngine } from './engine.js';
import { refresh, scheduleRefresh } from './refresh.js';
import { noteEvent } from './catalog.js';
import { mountStats } from './stats.js';
import { mountTravel } from './travel.js';
import { mountBank } from './bank.js';
import { mountShop } from './shop.js';
import { mountInspector } from './inspector.js';
import { mountCharts } from './charts.js';
import { mountLog } from './log.js';
import { mountTools } from './tools.js';
import { mountSample } from './sample.js';
import { mountTabs } from './tabs.js';
import { mountSync } from './sync.js';
import { store } from './store.js';
import { showOverlay, hideOverlay, fatal, $ } from './ui.js';

function mount() {
  mountStats();  // first: the other sections render with the stats it publishes
  mountTravel();
  mountBank();
  mountShop();
  mountInspector();
  mountCharts();
  mountLog();
  mountTools();
  mountSample();
  mountTabs();
  mountSync();
  // Pending commands come and go (sent, confirmed, refused): the optimistic view changes.
  store.subscribe(['sync'], () => scheduleRefresh());
  onEvent(noteEvent);
  onEvent(() => scheduleRefresh());
}

async function main() {
  mount();
  showOverlay('Opening the journal: reading and checking every stored event…');
  try {
    await openEngine();
    await refresh();
    $('#fatal').hidden = true;
  } catch (err) {
    console.error(err);
    fatal(err);
  } finally {
    hideOverlay();
    document.body.dataset.ready = 'true';
  }
}

main();
