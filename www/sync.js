// Sync with the demo server (`make demo` serves this page and the sync API on one origin).
// The engine opens with `sync`: commands are decided here at once, kept in the outbox and
// pushed to the server, which decides them again; the server's events come back and replace
// the pending ones. `?sync=off` (or memory storage) opens a local-only engine, as before.
//
//   the badge          online/offline (syncState().online), pending commands, the confirmed
//                      position, the last error; the tab that talks to the server says so
//   the offline switch holds every request to the server (the engine's `fetch` waits) and
//                      cuts the ones under way: pushes wait, the live stream reconnects later
//   refusals           onRejected: a toast naming the command and the server's reason
import { store } from './store.js';
import { toast } from './toast.js';
import { count, esc } from './format.js';
import { $ } from './ui.js';

const params = new URLSearchParams(location.search);
/** True when this page syncs with the server it was served by. */
export const SYNC_ENABLED = params.get('sync') !== 'off' && params.get('storage') !== 'memory';

// ---- the offline switch: a fetch that waits while the switch is on
let offline = false;
let goOnline = null;
const wentOnline = () => new Promise((resolve) => { goOnline = resolve; });
let onlineAgain = wentOnline();
/** The controllers of the requests under way (cut when the switch goes off). */
const underWay = new Set();

/** `fetch`, held while the page is switched offline. */
async function heldFetch(input, init = {}) {
  const outer = init.signal;
  while (offline) {
    await new Promise((resolve, reject) => {
      const abort = () => reject(outer.reason ?? new DOMException('aborted', 'AbortError'));
      if (outer?.aborted) { abort(); return; }
      outer?.addEventListener('abort', abort, { once: true });
      onlineAgain.then(resolve);
    });
  }
  const mine = new AbortController();
  const follow = () => { underWay.delete(mine); mine.abort(outer.reason); };
  if (outer?.aborted) follow();
  outer?.addEventListener('abort', follow, { once: true });
  // Kept until done; a live stream's until the transport aborts it (it always does at its end).
  underWay.add(mine);
  const live = String(input).includes('/v1/live');
  try {
    return await fetch(input, { ...init, signal: mine.signal });
  } finally {
    if (!live) underWay.delete(mine);
  }
}

/** Switches the page offline (requests wait, the live stream is cut) or back online. */
export function setOffline(value) {
  if (value === offline) return;
  offline = value;
  if (offline) {
    for (const c of [...underWay]) c.abort(new DOMException('switched offline', 'AbortError'));
    underWay.clear();
  } else {
    const release = goOnline;
    onlineAgain = wentOnline();
    release?.();
  }
  store.update('sync', { offline });
}

/** Empties the demo server's log (a demo-only endpoint of scripts/serve.mjs). */
export async function resetServer() {
  const res = await fetch('/demo/reset', { method: 'POST', headers: { 'x-demo-reset': '1' } });
  if (!res.ok) throw new Error(`the demo server did not reset its log (HTTP ${res.status})`);
}

/** Names a refused command for people: "withdraw on account_001". */
function commandName({ command, streamId }) {
  const type = command && typeof command.type === 'string' ? command.type.replace(/_/g, ' ') : 'a command';
  return `${type} on ${streamId}`;
}

function onRejected(refusal) {
  const reason = refusal.error?.message || String(refusal.error);
  const text = `Refused by the server: ${commandName(refusal)} — ${reason}`;
  store.update('sync', { refusals: [...store.state.sync.refusals, { commandId: refusal.commandId, text, code: refusal.error?.code }] });
  toast(text, { kind: 'error', ms: 8000 });
}

/** `Engine.open`'s `sync` option for this page, or undefined when it does not sync. */
export function syncOptions(kind) {
  if (!SYNC_ENABLED || kind !== 'indexeddb') return undefined;
  // Short retries: a demo visitor switches back online and expects it to go on soon.
  return { url: location.origin, fetch: heldFetch, onRejected, retryMaxMs: 3000 };
}

/** Follows the engine's sync state into the store (called once the engine is open). */
export function followSync(engine) {
  if (!SYNC_ENABLED || typeof engine.syncState !== 'function') return () => {};
  let state;
  try { state = engine.syncState(); } catch { return () => {}; }
  store.update('sync', { state });
  return engine.onSyncState((next) => store.update('sync', { state: next }));
}

function showBadge({ sync: { state, offline: held } }) {
  const badge = $('#sync-badge');
  badge.hidden = !state;
  if (!state) return;
  const error = state.lastError;
  const status = held ? 'offline' : state.online ? 'online' : 'connecting';
  badge.dataset.online = String(state.online);
  badge.dataset.status = status;
  badge.dataset.pending = String(state.pending);
  badge.dataset.confirmed = String(state.confirmedPosition);
  badge.dataset.error = error ? error.code : '';
  const word = held ? 'offline (held)' : state.online ? 'synced' : 'offline';
  badge.innerHTML = `<span class="dot" aria-hidden="true"></span>${esc(word)} · <span data-testid="sync-pending">${count(state.pending)}</span> pending · #<span data-testid="sync-confirmed">${count(state.confirmedPosition)}</span>`;
  badge.title = error
    ? `Sync: ${error.name} (${error.code}): ${error.message}`
    : `Sync with ${location.origin}: ${state.online ? 'connected' : 'not connected'}; ${state.pending} command(s) waiting for the server; the server's log is confirmed up to #${state.confirmedPosition}`;
}

export function mountSync() {
  const toggle = $('#offline-toggle');
  toggle.closest('label').hidden = !SYNC_ENABLED;
  toggle.addEventListener('change', () => setOffline(toggle.checked));
  store.subscribe(['sync'], showBadge);
}
