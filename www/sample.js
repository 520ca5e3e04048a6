// Sample data: plans a realistic history (sample-data.js) after the log's last event and runs
// it through the engine round by round, with a progress bar; the visitor can stop it. The
// engine's clock is set to each round's simulated time, so the history spans about 90 days.
import { store } from './store.js';
import { read, TAB_ID } from './engine.js';
import { ticket } from './guard.js';
import { refresh } from './refresh.js';
import { select } from './inspector.js';
import { planSampleData } from './sample-data.js';
import { ACCOUNTS, ORDERS } from './domains.js';
import { count, errorText } from './format.js';
import { $, showMsg } from './ui.js';

const DAYS = 90;

/** Stream ids already used, and the time after the log's last event. */
async function startingPoint() {
  const head = store.state.stats.headPosition;
  return read(async (e) => {
    const [accounts, orders] = [await e.projection(ACCOUNTS.projection), await e.projection(ORDERS.projection)];
    const [last] = head > 0 ? await e.readAll({ fromPosition: head - 1, limit: 1 }) : [];
    return { taken: new Set([...Object.keys(accounts), ...Object.keys(orders)]), after: last ? last.timestamp + 1 : 0 };
  });
}

function showRunning(running, plan) {
  $('#sample-generate').disabled = running;
  $('#reset-db').disabled = running;
  $('#sample-stop').hidden = !running;
  const progress = $('#sample-progress');
  progress.hidden = !running;
  if (plan) { progress.max = plan.events; progress.value = 0; }
}

/** Runs the plan's rounds (each a burst of commands on distinct streams) until done or stopped. */
async function runPlan(plan, status) {
  const t = ticket('sample'); // the engine closing (a reset) ends the run
  const engine = store.state.engine;
  const metadata = { tab: TAB_ID, source: 'sample' };
  const t0 = performance.now();
  const out = { events: 0, refused: 0, firstRefusal: null };
  for (const round of plan.rounds) {
    if (store.state.sample.stopRequested || !t.current()) break;
    store.set({ clockOverride: Math.max(round.t, store.state.clockOverride ?? 0) });
    const results = await Promise.all(round.commands.map((c) => engine.execute(c.streamType, c.streamId, c.command, { metadata })
      .then((r) => r.events.length, (err) => { out.refused++; out.firstRefusal ??= `${c.streamId}: ${err.message}`; return 0; })));
    out.events += results.reduce((a, n) => a + n, 0);
    $('#sample-progress').value = out.events;
    const secs = (performance.now() - t0) / 1000;
    status.textContent = `Generating… ${count(out.events)} / ${count(plan.events)} events · ${count(Math.round(out.events / Math.max(secs, 0.001)))} events/s`;
  }
  out.ms = performance.now() - t0;
  return out;
}

async function generate() {
  if (store.state.sample.running || !store.state.engine) return;
  const status = $('#sample-status');
  const { taken, after } = await startingPoint();
  const now = Date.now();
  const plan = planSampleData({
    targetEvents: Number($('#sample-size').value), taken, startTime: Math.max(now - DAYS * 24 * 3600 * 1000, after), endTime: now - 60_000,
  });
  store.set({ sample: { running: true, stopRequested: false } });
  showRunning(true, plan);
  showMsg(status, 'info', `Generating ${count(plan.events)} events…`);
  status.dataset.state = 'running';
  let result;
  try {
    result = await runPlan(plan, status);
  } finally {
    store.set({ clockOverride: null });
    const stopped = store.state.sample.stopRequested;
    store.set({ sample: { running: false, stopRequested: false } });
    showRunning(false);
    if (result) report(status, plan, result, stopped);
  }
  if (plan.accounts.length) select(ACCOUNTS.streamType, plan.accounts[0]);
  await refresh();
}

function report(status, plan, { events, refused, firstRefusal, ms }, stopped) {
  showMsg(status, refused ? 'error' : 'ok',
    `${stopped ? 'Stopped after' : 'Generated'} ${count(events)} events (${count(plan.accounts.length)} accounts, ${count(plan.orders.length)} orders) in ${(ms / 1000).toFixed(1)} s · ${count(Math.round(events / (ms / 1000)))} events/s${refused ? ` · ${refused} commands refused (first: ${firstRefusal})` : ''}`);
  status.dataset.state = 'done';
  status.dataset.events = String(events);
  status.dataset.ms = String(Math.round(ms));
}

export function mountSample() {
  $('#sample-generate').addEventListener('click', () => generate().catch((err) => {
    showMsg($('#sample-status'), 'error', errorText(err));
    $('#sample-status').dataset.state = 'error';
  }));
  $('#sample-stop').addEventListener('click', () => store.update('sample', { stopRequested: true }));
  store.subscribe(['engine'], (s) => {
    if (s.engine) return;
    $('#sample-status').textContent = '';
    $('#sample-status').dataset.state = 'idle';
  });
}
