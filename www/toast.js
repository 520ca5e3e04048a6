// The toast: one short message at the bottom of the screen. A newer toast replaces the one
// shown. `kind` ('info' | 'error') is on data-kind for styling, e.g. a refused command.
import { $ } from './ui.js';

let timer = null;

/** Shows `text` for `ms` milliseconds. */
export function toast(text, { kind = 'info', ms = 2600 } = {}) {
  const el = $('#toast');
  el.textContent = text;
  el.dataset.kind = kind;
  el.hidden = false;
  clearTimeout(timer);
  timer = setTimeout(() => { el.hidden = true; }, ms);
}
