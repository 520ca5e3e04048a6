// Formatting and parsing helpers for the demo page (money is integer cents in the engine).

const moneyFormat = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const countFormat = new Intl.NumberFormat('en-US');

/** 160000 → "1,600.00" */
export function money(cents) {
  if (typeof cents !== 'number' || !Number.isFinite(cents)) return '—';
  return moneyFormat.format(cents / 100);
}

/** 50000 → "50,000" */
export function count(n) {
  return countFormat.format(n);
}

/**
 * "1,600.00" / "1600" / "16.5" → cents. Returns { cents } or { error } with a sentence for
 * the visitor. Zero and negative amounts are passed on: the engine decides whether they are valid.
 */
export function parseMoney(text, { allowEmpty = false } = {}) {
  const s = String(text ?? '').trim().replace(/[\s,_]/g, '');
  if (s === '') return allowEmpty ? { cents: 0 } : { error: 'Enter an amount, e.g. 250.00' };
  const m = /^(-?)(\d+)(?:\.(\d{0,2}))?$/.exec(s) || /^(-?)()\.(\d{1,2})$/.exec(s);
  if (!m) {
    if (/^-?\d*\.\d{3,}$/.test(s)) return { error: 'Use at most two decimals (cents)' };
    return { error: `"${String(text).trim()}" is not an amount; write it like 1,234.56` };
  }
  const whole = m[2] === '' ? 0 : Number(m[2]);
  const frac = Number((m[3] || '').padEnd(2, '0'));
  const cents = whole * 100 + frac;
  return { cents: m[1] === '-' ? -cents : cents };
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

/** ms → "2025-03-04 13:05:09" (local time) */
export function dateTime(ms) {
  if (typeof ms !== 'number') return '—';
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** ms → value for <input type="datetime-local" step="1"> */
export function toLocalInput(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** "2025-03-04T13:05:09" (local) → ms, or NaN */
export function fromLocalInput(value) {
  if (!value) return NaN;
  const d = new Date(value);
  return d.getTime();
}

/** ms → "3 min ago" style text for recent times, else the date */
export function ago(ms, now = Date.now()) {
  const s = Math.round((now - ms) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return dateTime(ms).slice(0, 10);
}

const escapes = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Escapes text for HTML content and attribute values. */
/** Where a command's events went: `event #42`, or `pending` (decided here, not yet confirmed by the server). */
export function where(r, range = false) {
  if (r.pending) return 'pending: the server has not confirmed it yet';
  if (range && r.events.length > 1) return `events #${r.events[0].position}–#${r.position}`;
  return `event #${r.position}`;
}

export function esc(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => escapes[c]);
}

/** How an engine error is shown next to a form. */
export function errorText(err) {
  if (!err) return '';
  const message = err.message || String(err);
  switch (err.code) {
    case 'DOMAIN': return message;
    case 'VALIDATION': return `Invalid: ${message}`;
    case 'CONCURRENCY': return `Someone else changed this meanwhile: ${message}`;
    case 'STORAGE': return `Could not save: ${message}`;
    case 'CLOSED': return 'The journal is closed (resetting?). Try again in a moment.';
    default: return message;
  }
}
