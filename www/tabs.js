// Other tabs on the same database. Their events reach this tab through the storage's watch
// (the engine's subscription): they are counted and announced. A reset is coordinated over a
// BroadcastChannel: the resetting tab says "reset-begin" (the others close their engine so
// that the database can be deleted) and "reset-done" (they reopen on the empty database).
// A synced page resets the server's log too, so the channel then reaches every client of this
// origin (`?client=b` has its own database): the others empty their own database as well.
import { store } from './store.js';
import { TAB_ID, DB_NAME, onEvent, openEngine, closeEngine, deleteDatabase } from './engine.js';
import { refresh } from './refresh.js';
import { toast } from './toast.js';
import { count } from './format.js';
import { $, pulse, showOverlay, hideOverlay, fatal } from './ui.js';
import { SYNC_ENABLED, resetServer } from './sync.js';

const REMOTE_RESET_TIMEOUT_MS = 8000;
const control = 'BroadcastChannel' in self ? new BroadcastChannel(SYNC_ENABLED ? 'eventjournal-demo:synced' : `eventjournal-demo:${DB_NAME}`) : null;
let foreignEvents = 0;
let remoteResetTimer = null;

/** Deletes every event (the database) and reopens this tab and the others on the empty one. */
export async function resetDatabase({ onBlocked } = {}) {
  showOverlay('Deleting every event…');
  try {
    control?.postMessage({ type: 'reset-begin', from: TAB_ID, db: DB_NAME });
    const kind = store.state.storage?.kind;
    await closeEngine();
    if (kind === 'indexeddb') await new Promise((r) => setTimeout(r, 150)); // the other tabs close theirs
    await deleteDatabase(onBlocked);
    if (SYNC_ENABLED) await resetServer();
    store.resetView();
    await openEngine();
    control?.postMessage({ type: 'reset-done', from: TAB_ID, db: DB_NAME, reset: `${TAB_ID}-${Date.now()}` });
    await refresh();
  } finally {
    hideOverlay();
  }
}

/**
 * Another client emptied the server's log: this client's copy must go too (it would be a fork).
 * One tab of this database deletes it (a Web Lock and a mark of which reset it handled).
 */
async function deleteForReset(reset) {
  const mark = `eventjournal-demo-reset:${DB_NAME}`;
  const run = async () => {
    if (localStorage.getItem(mark) === reset) return;
    await deleteDatabase();
    localStorage.setItem(mark, reset);
  };
  if (navigator.locks) await navigator.locks.request(mark, run);
  else await run();
}

async function reopenAfterRemoteReset(msg = {}) {
  if (store.state.engine) return;
  try {
    if (msg.db && msg.db !== DB_NAME && msg.reset) await deleteForReset(msg.reset);
    store.resetView();
    await openEngine();
    toast('The database was reset in another tab.');
    await refresh();
  } catch (err) {
    fatal(err);
  } finally {
    hideOverlay();
  }
}

async function onControl(ev) {
  const msg = ev.data || {};
  if (msg.from === TAB_ID) return;
  if (msg.type === 'reset-begin') {
    showOverlay('Another tab is resetting the database…');
    store.update('sample', { stopRequested: true });
    await closeEngine();
    clearTimeout(remoteResetTimer);
    remoteResetTimer = setTimeout(reopenAfterRemoteReset, REMOTE_RESET_TIMEOUT_MS);
  } else if (msg.type === 'reset-done') {
    clearTimeout(remoteResetTimer);
    await reopenAfterRemoteReset(msg);
  }
}

/** Announces other tabs' events once the stats that include them are shown. */
function announce() {
  if (foreignEvents === 0) return;
  const from = store.state.storage?.synced ? 'another tab or client' : 'another tab';
  toast(`${count(foreignEvents)} new event${foreignEvents === 1 ? '' : 's'} from ${from}`);
  pulse($('#live-badge'));
  foreignEvents = 0;
}

export function mountTabs() {
  if (control) control.onmessage = onControl;
  onEvent((event) => {
    if (!event.metadata || event.metadata.tab !== TAB_ID) foreignEvents++;
  });
  store.subscribe(['stats'], announce);
}
