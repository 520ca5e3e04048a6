// The toast: one short message at the bottom of the screen. A newer toast replaces the one
// shown. `kind` ('info' | 'error') is on data-kind for styling, e.g. a refused command.
import { $ } from './ui.js';

let timer = null;
let errorUntil = 0;

/** Shows `text` for `ms` milliseconds. */
export function toast(text, { kind = 'info', ms = 2600 } = {}) {
  // An error (a refusal) stays for its time: the next info toast does not hide it.
  if (kind !== 'error' && Date.now() < errorUntil) return;
  if (kind === 'error') errorUntil = Date.now() + ms;
  const el = $('#toast');
  el.textContent = text;
  el.dataset.kind = kind;
  el.hidden = false;
  clearTimeout(timer);
  timer = setTimeout(() => { el.hidden = true; }, ms);
}
