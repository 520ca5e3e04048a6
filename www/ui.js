// Small DOM helpers shared by the sections: the message next to a form, the pager, the
// overlay, the fatal banner, and `run`, the one way a form performs a command.
import { store } from './store.js';
import { errorText } from './format.js';
import { isStale } from './guard.js';

export const $ = (sel) => document.querySelector(sel);

/** Writes the message next to a form: kind 'ok' | 'error' | 'info' (tests read data-kind). */
export function showMsg(el, kind, text) {
  el.textContent = text;
  el.dataset.kind = kind;
  el.className = `msg msg-${kind}`;
}

/** Replays the badge's pulse animation. */
export function pulse(el) {
  el.classList.remove('pulse');
  void el.offsetWidth;
  el.classList.add('pulse');
}

/**
 * Performs a form's command: `fn` resolves to the success message (or nothing). A refusal or an
 * error is shown next to the form in words; a success brings the view back to now.
 * Resolves to true on success.
 */
export async function run(msgEl, fn) {
  try {
    const text = await fn();
    if (text) showMsg(msgEl, 'ok', text);
    store.set({ travel: null });
    return true;
  } catch (err) {
    showMsg(msgEl, isStale(err) ? 'info' : 'error', isStale(err) ? 'The journal was reopened meanwhile; look again.' : errorText(err));
    return false;
  }
}

/** Previous/next buttons under a table; `go(page)` is called with the page asked for. */
export function renderPager(nav, page, pages, go) {
  if (pages <= 1) { nav.innerHTML = ''; return; }
  nav.innerHTML = `<button type="button" class="btn btn-small" data-go="${page - 1}" ${page === 0 ? 'disabled' : ''}>‹ Prev</button>
    <span class="muted">page ${page + 1} of ${pages}</span>
    <button type="button" class="btn btn-small" data-go="${page + 1}" ${page >= pages - 1 ? 'disabled' : ''}>Next ›</button>`;
  nav.onclick = (ev) => {
    const b = ev.target.closest('[data-go]');
    if (b && !b.disabled) go(Number(b.dataset.go));
  };
}

export function showOverlay(text) {
  $('#overlay-text').textContent = text;
  $('#overlay').hidden = false;
}

export function hideOverlay() {
  $('#overlay').hidden = true;
}

/** The banner shown when the journal cannot be opened (e.g. a damaged log). */
export function fatal(err) {
  const box = $('#fatal');
  box.hidden = false;
  const where = err && err.code === 'INTEGRITY' ? ` The stored log is damaged${err.position ? ` at position ${err.position}` : ''}; “Reset database” starts over.` : '';
  box.textContent = `The journal could not be opened: ${err && err.message ? err.message : err}.${where}`;
}

/** The first id `prefix` + n (zero-padded to `width`) that is not a key of `taken`. */
export function nextId(prefix, width, taken) {
  for (let i = 1; ; i++) {
    const id = `${prefix}${String(i).padStart(width, '0')}`;
    if (!taken[id]) return id;
  }
}

/**
 * Keeps a suggested id free (another tab or the generator may take it), unless the visitor is
 * typing in the field or has written an id of their own.
 */
export function suggestId(input, prefix, taken) {
  if (document.activeElement === input || input.dataset.edited === 'true') return;
  if (!input.value || taken[input.value]) input.value = nextId(prefix, 3, taken);
}
