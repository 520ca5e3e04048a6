// Data & integrity: rebuild the projections from the log, verify the hash chain, and reset the
// database (with a confirmation). The sample-data generator is sample.js.
import { store } from './store.js';
import { read } from './engine.js';
import { isStale } from './guard.js';
import { refresh } from './refresh.js';
import { resetDatabase } from './tabs.js';
import { count, errorText } from './format.js';
import { $, showMsg } from './ui.js';

const yieldToPaint = () => new Promise((r) => setTimeout(r, 0));
const ms = (t0) => performance.now() - t0;

async function replay() {
  const btn = $('#replay-btn');
  const bar = $('#replay-progress');
  const out = $('#replay-result');
  btn.disabled = true;
  delete out.dataset.events;
  bar.hidden = false;
  bar.removeAttribute('value'); // indeterminate: the engine rebuilds every projection in one pass
  showMsg(out, 'info', `Rebuilding the projections from ${count(store.state.stats.totalEvents)} events…`);
  await yieldToPaint();
  const t0 = performance.now();
  try {
    await read((e) => e.replay(), { key: 'replay' }, (r) => {
      const took = ms(t0);
      showMsg(out, 'ok', `Rebuilt ${r.projectionsRebuilt} projection${r.projectionsRebuilt === 1 ? '' : 's'} from ${count(r.eventsReplayed)} events in ${took < 10 ? took.toFixed(1) : Math.round(took)} ms.`);
      out.dataset.events = String(r.eventsReplayed);
    });
    await refresh();
  } catch (err) {
    if (!isStale(err)) showMsg(out, 'error', errorText(err));
  } finally {
    btn.disabled = false;
    setTimeout(() => { bar.hidden = true; }, 600);
  }
}

async function verify() {
  const btn = $('#verify-btn');
  const out = $('#verify-result');
  btn.disabled = true;
  delete out.dataset.ok;
  delete out.dataset.checked;
  showMsg(out, 'info', `Verifying the hash chain of ${count(store.state.stats.totalEvents)} events…`);
  await yieldToPaint();
  const t0 = performance.now();
  try {
    await read((e) => e.verify(), { key: 'verify' }, (r) => {
      out.dataset.ok = String(r.ok);
      out.dataset.checked = String(r.checked);
      if (r.ok) showMsg(out, 'ok', `✓ Hash chain intact: ${count(r.checked)} events checked in ${Math.round(ms(t0))} ms.`);
      else showMsg(out, 'error', `✗ Hash chain broken at position ${count(r.firstBadPosition)} (${count(r.checked)} events checked).`);
    });
  } catch (err) {
    if (!isStale(err)) showMsg(out, 'error', errorText(err));
  } finally {
    btn.disabled = false;
  }
}

async function onReset() {
  const status = $('#reset-status');
  $('#reset-confirm-box').hidden = true;
  $('#reset-db').hidden = false;
  try {
    await resetDatabase({ onBlocked: () => showMsg(status, 'info', 'Waiting for other tabs to let go of the database…') });
    showMsg(status, 'ok', 'The database was deleted; the log is empty.');
  } catch (err) {
    showMsg(status, 'error', `Reset failed: ${err.message || err}`);
  }
}

export function mountTools() {
  $('#replay-btn').addEventListener('click', replay);
  $('#verify-btn').addEventListener('click', verify);
  $('#reset-db').addEventListener('click', () => {
    $('#reset-db').hidden = true;
    $('#reset-confirm-box').hidden = false;
    $('#reset-cancel').focus();
  });
  $('#reset-cancel').addEventListener('click', () => {
    $('#reset-confirm-box').hidden = true;
    $('#reset-db').hidden = false;
    $('#reset-db').focus();
  });
  $('#reset-confirm').addEventListener('click', onReset);
  store.subscribe(['engine'], (s) => {
    if (s.engine) return;
    for (const id of ['#replay-result', '#verify-result']) {
      const el = $(id);
      el.textContent = '';
      delete el.dataset.ok;
      delete el.dataset.checked;
      delete el.dataset.events;
    }
  });
}
