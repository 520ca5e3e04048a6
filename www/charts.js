// The charts on the page: the event-type distribution of the whole log (from the stats the
// engine gives) and the balance over time of the account last selected (from its stream).
// Both follow the width of their boxes.
import { store } from './store.js';
import { read } from './engine.js';
import { defineSection } from './refresh.js';
import { typeColor } from './catalog.js';
import { typeDistributionChart, balanceChart } from './svg-charts.js';
import { $ } from './ui.js';

const HISTORY = 2000; // the newest events of the account that the chart shows
let balancePoints = null;

function drawTypeChart() {
  const box = $('#type-chart');
  box.innerHTML = typeDistributionChart(store.state.stats.eventTypeDistribution, box.clientWidth, typeColor);
}

/**
 * Balance after each event, read from the events themselves: an event that carries
 * `balanceAfter` sets it, any other keeps the balance before it (0 before the first).
 */
function balanceHistory(events) {
  let balance = 0;
  return events.map((e) => {
    if (typeof e.data?.balanceAfter === 'number') balance = e.data.balanceAfter;
    return { t: e.timestamp, balance, position: e.position };
  });
}

async function renderBalanceChart() {
  const id = store.state.chartAccount;
  $('#balance-chart-name').textContent = id || '';
  if (!id) return;
  await read((e) => e.readStream(id, { direction: 'backward', limit: HISTORY }), { key: 'balance-chart', deps: ['chartAccount'] }, (events) => {
    balancePoints = balanceHistory(events.reverse());
    drawBalanceChart();
    $('#balance-chart').dataset.points = String(balancePoints.length);
  });
}

function drawBalanceChart() {
  const box = $('#balance-chart');
  if (!balancePoints) return;
  box.innerHTML = balanceChart(balancePoints, { width: box.clientWidth, travelPosition: store.state.travel });
}

function clear() {
  balancePoints = null;
  $('#balance-chart').innerHTML = '<p class="empty">Select an account.</p>';
  delete $('#balance-chart').dataset.points;
  $('#balance-chart-name').textContent = '';
}

export function mountCharts() {
  defineSection('balance-chart', renderBalanceChart, { deps: ['chartAccount'] });
  store.subscribe(['stats'], drawTypeChart);
  store.subscribe(['travel'], drawBalanceChart);
  store.subscribe(['chartAccount'], (s) => { if (!s.chartAccount) clear(); });
  let timer = null;
  const resized = new ResizeObserver(() => {
    clearTimeout(timer);
    timer = setTimeout(() => { drawTypeChart(); drawBalanceChart(); }, 80);
  });
  resized.observe($('#insights'));
  resized.observe($('#inspector'));
}
