// Time travel: the slider, the position and time fields, the status line. The point being
// viewed is `store.state.travel` (a position, or null for now); every section that shows
// state reads it and renders as of that position.
import { store } from './store.js';
import { read } from './engine.js';
import { isStale } from './guard.js';
import { count, dateTime, toLocalInput, fromLocalInput, esc } from './format.js';
import { $ } from './ui.js';

/** Views the log as of `position` (null, or the head or past it: now). */
export function travelTo(position) {
  const head = store.state.stats.headPosition;
  const p = position == null || !Number.isFinite(position) || position >= head ? null : Math.max(0, Math.floor(position));
  store.set({ travel: p });
}

/** Views the log as of a time: every event stamped at or before it (to the end of that second). */
async function travelToTime(ms) {
  if (!Number.isFinite(ms)) return;
  const until = ms + 999;
  await read((e) => e.readAll({ fromTimestamp: until + 1, limit: 1 }), { key: 'travel-time', deps: ['travel'] },
    ([next]) => travelTo(next ? next.position - 1 : null));
}

function renderControls({ stats, travel }) {
  const head = stats.headPosition;
  const pos = travel ?? head;
  const slider = $('#tt-slider');
  slider.max = String(head);
  if (document.activeElement !== slider) slider.value = String(pos);
  slider.style.setProperty('--fill', head ? `${(pos / head) * 100}%` : '100%');
  const input = $('#tt-position');
  input.max = String(head);
  if (document.activeElement !== input) input.value = String(pos);
  if (travel == null) $('#tt-status').innerHTML = `Viewing <strong>now</strong> · ${count(head)} events`;
}

async function showPoint({ travel: p, stats }) {
  document.body.classList.toggle('traveling', p != null);
  for (const el of document.querySelectorAll('.timed')) {
    if (p == null) delete el.dataset.asof; else el.dataset.asof = count(p);
  }
  $('#tt-now').disabled = p == null;
  const status = $('#tt-status');
  status.dataset.mode = p == null ? 'now' : 'past';
  status.dataset.position = p == null ? '' : String(p);
  const time = $('#tt-time');
  if (p == null) {
    if (document.activeElement !== time) time.value = '';
    return;
  }
  const head = stats.headPosition;
  status.innerHTML = `Viewing the past at position <strong>${count(p)}</strong> of ${count(head)}`;
  if (p === 0) {
    status.innerHTML = 'Viewing the past at position <strong>0</strong>: before the first event';
    return;
  }
  try {
    await read((e) => e.readAll({ fromPosition: p - 1, limit: 1 }), { key: 'travel-status', deps: ['travel'] }, ([ev]) => {
      if (!ev) return;
      status.innerHTML = `Viewing the past at position <strong>${count(p)}</strong> of ${count(head)} · ${esc(dateTime(ev.timestamp))}`;
      if (document.activeElement !== time) time.value = toLocalInput(ev.timestamp);
    });
  } catch (err) {
    if (!isStale(err) && err.code !== 'CLOSED') console.error('time travel', err);
  }
}

export function mountTravel() {
  store.subscribe(['stats', 'travel'], renderControls);
  store.subscribe(['travel'], showPoint);

  const slider = $('#tt-slider');
  let raf = 0;
  slider.addEventListener('input', () => {
    slider.style.setProperty('--fill', `${(Number(slider.value) / Math.max(1, Number(slider.max))) * 100}%`);
    $('#tt-position').value = slider.value;
    cancelAnimationFrame(raf);
    raf = requestAnimationFrame(() => travelTo(Number(slider.value)));
  });
  slider.addEventListener('change', () => travelTo(Number(slider.value)));
  const position = $('#tt-position');
  position.addEventListener('change', () => travelTo(Number(position.value)));
  position.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') { ev.preventDefault(); travelTo(Number(position.value)); }
  });
  $('#tt-time').addEventListener('change', (ev) => travelToTime(fromLocalInput(ev.target.value)).catch((err) => {
    if (!isStale(err) && err.code !== 'CLOSED') console.error('time travel', err);
  }));
  $('#tt-now').addEventListener('click', () => travelTo(null));
}
