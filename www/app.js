// eventjournal demo page: plain ESM, no framework. Everything shown comes from the engine
// (projections, queries, reads, time travel); the page keeps only view state.
import { Engine, indexedDbStorage, memoryStorage } from '/pkg/index.js';
import { money, count, parseMoney, dateTime, toLocalInput, fromLocalInput, esc, summarize, errorText } from './format.js';
import { typeDistributionChart, balanceChart, typeColor } from './charts.js';
import { planSampleData } from './sample-data.js';

const $ = (sel) => document.querySelector(sel);
const params = new URLSearchParams(location.search);
const DB_NAME = params.get('db') || 'eventjournal-demo';
const TAB_ID = Math.random().toString(36).slice(2, 10);
const LOG_PAGE = 50;
const LIST_PAGE = 10;
const PROJECTIONS = ['account_balance', 'order_status'];
const STATUSES = ['placed', 'confirmed', 'shipped', 'delivered', 'cancelled'];
const TYPE_STREAM = {
  account_created: 'BankAccount', money_deposited: 'BankAccount', money_withdrawn: 'BankAccount', account_closed: 'BankAccount',
  order_placed: 'Order', order_confirmed: 'Order', order_shipped: 'Order', order_delivered: 'Order', order_cancelled: 'Order',
};

const S = {
  engine: null,
  gen: 0,                 // bumps when the engine is (re)opened: late answers of an old one are dropped
  storageKind: '',
  sub: null,
  clockOverride: null,    // the sample-data generator stamps a simulated history
  stats: { totalEvents: 0, totalStreams: 0, eventTypeDistribution: {}, headPosition: 0, headHash: '' },
  travel: null,           // position being viewed, or null for now
  accountsNow: {},
  accountsPage: 0,
  accountsSearch: '',
  ordersStatus: '',
  ordersCustomer: '',
  ordersPage: 0,
  selected: null,         // { type, id }: the aggregate in the inspector
  chartAccount: null,
  log: { page: 0, anchor: null, cursors: [], filters: { stream: '', streamType: '', type: '' }, lastShownHead: 0 },
  generating: false,
  stopRequested: false,
  foreignEvents: 0,
  charts: { types: null, balance: null },
};

// ------------------------------------------------------------------------------------------
// Engine lifecycle

async function openEngine() {
  const gen = ++S.gen;
  let storage = null;
  let note = '';
  if (params.get('storage') !== 'memory') {
    try {
      storage = await indexedDbStorage(DB_NAME);
      S.storageKind = 'indexeddb';
    } catch (err) {
      note = `IndexedDB storage is not available (${err && err.message ? err.message : err}); this page keeps its events in memory only: they are lost on reload and other tabs do not see them.`;
    }
  } else {
    note = 'Memory storage (?storage=memory): events are lost on reload.';
  }
  if (!storage) {
    storage = memoryStorage();
    S.storageKind = 'memory';
  }
  const t0 = performance.now();
  const engine = await Engine.open({ storage, clock: () => S.clockOverride ?? Date.now() });
  const openMs = performance.now() - t0;
  if (gen !== S.gen) { await engine.close(); return; }
  S.engine = engine;
  const badge = $('#storage-badge');
  badge.textContent = S.storageKind === 'indexeddb' ? `IndexedDB · ${DB_NAME}` : 'memory only';
  badge.dataset.kind = S.storageKind;
  const noteBox = $('#storage-note');
  noteBox.hidden = !note;
  noteBox.textContent = note;
  S.sub = engine.subscribe(onLiveEvent, { onError: (e) => console.error('subscriber', e) });
  const st = await engine.stats();
  badge.title = `Opened ${count(st.totalEvents)} events (hash chain checked) in ${Math.round(openMs)} ms`;
  $('#fatal').hidden = true;
}

async function closeEngine() {
  S.gen++;
  const engine = S.engine;
  S.engine = null;
  if (S.sub) { try { S.sub.unsubscribe(); } catch { /* closed already */ } S.sub = null; }
  if (engine) {
    try { await engine.close(); } catch (err) { console.warn('close', err); }
  }
}

/** Runs fn(engine) unless the engine is being replaced; answers from an old engine are dropped. */
async function withEngine(fn) {
  const engine = S.engine;
  const gen = S.gen;
  if (!engine) throw Object.assign(new Error('The journal is not open'), { code: 'CLOSED' });
  const out = await fn(engine);
  if (gen !== S.gen) throw Object.assign(new Error('stale'), { stale: true });
  return out;
}

// ------------------------------------------------------------------------------------------
// Live updates and the refresh loop

let refreshTimer = null;
let refreshRunning = false;
let refreshAgain = false;

function onLiveEvent(event) {
  if (!event.metadata || event.metadata.tab !== TAB_ID) S.foreignEvents++;
  scheduleRefresh();
}

let lastRefreshMs = 0;
// Renders at most every 60 ms, less often when a render is slow (a large log streaming in
// from another tab) or while this tab generates sample data.
function scheduleRefresh(delay = S.generating ? 400 : Math.min(500, Math.max(60, lastRefreshMs * 3))) {
  if (refreshTimer) return;
  refreshTimer = setTimeout(() => { refreshTimer = null; refreshAll(); }, delay);
}

async function refreshAll() {
  if (refreshRunning) { refreshAgain = true; return; }
  refreshRunning = true;
  try {
    do {
      refreshAgain = false;
      await refreshOnce();
    } while (refreshAgain);
  } finally {
    refreshRunning = false;
  }
}

async function refreshOnce() {
  if (!S.engine) return;
  const t0 = performance.now();
  try {
    await refreshStats();
    if (S.foreignEvents > 0) {
      toast(`${count(S.foreignEvents)} new event${S.foreignEvents === 1 ? '' : 's'} from another tab`);
      pulse($('#live-badge'));
      S.foreignEvents = 0;
    }
    await Promise.all([renderBank(), renderShop(), renderInspector(), renderBalanceChart(), renderLog()]);
  } catch (err) {
    if (!err.stale && err.code !== 'CLOSED') console.error('refresh', err);
  }
  lastRefreshMs = performance.now() - t0;
}

/** Keeps the suggested ids of the two "new" forms free (another tab or the generator may take them). */
function suggestId(input, prefix, taken) {
  if (document.activeElement === input || input.dataset.edited === 'true') return;
  if (!input.value || taken[input.value]) input.value = nextId(prefix, 3, taken);
}

async function refreshStats() {
  const st = await withEngine((e) => e.stats());
  S.stats = st;
  $('#stat-events').textContent = count(st.totalEvents);
  $('#stat-streams').textContent = count(st.totalStreams);
  const head = $('#stat-head');
  head.textContent = st.headHash ? `${st.headHash.slice(0, 24)}…` : '—';
  head.title = st.headHash || '';
  document.body.dataset.head = String(st.headPosition);
  renderTravelControls();
  S.charts.types = st.eventTypeDistribution;
  renderTypeChart();
  fillTypeFilter(st.eventTypeDistribution);
}

const tokens = {};
/** A ticket for a section's render; `current(section, t)` is false once a newer one started. */
const ticket = (section) => (tokens[section] = (tokens[section] || 0) + 1);
const current = (section, t) => tokens[section] === t;

// ------------------------------------------------------------------------------------------
// Messages next to forms, toasts

function showMsg(el, kind, text) {
  el.textContent = text;
  el.dataset.kind = kind;
  el.className = `msg msg-${kind}`;
}

let toastTimer = null;
function toast(text) {
  const el = $('#toast');
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 2600);
}

function pulse(el) {
  el.classList.remove('pulse');
  void el.offsetWidth;
  el.classList.add('pulse');
}

async function run(msgEl, fn) {
  try {
    const text = await fn();
    if (text) showMsg(msgEl, 'ok', text);
    if (S.travel != null) setTravel(null);
    return true;
  } catch (err) {
    showMsg(msgEl, 'error', errorText(err));
    return false;
  }
}

const meta = () => ({ tab: TAB_ID });

// ------------------------------------------------------------------------------------------
// Bank

async function renderBank() {
  const t = ticket('bank');
  const at = S.travel != null ? { at: { position: S.travel } } : undefined;
  const [now, shown] = await withEngine(async (e) => {
    const n = await e.projection('account_balance');
    return [n, at ? await e.projection('account_balance', at) : n];
  });
  if (!current('bank', t)) return;
  S.accountsNow = now;
  fillAccountSelect(now);
  suggestId($('#create-account-id'), 'account_', now);
  $('#stat-accounts').textContent = count(Object.keys(now).length);

  const q = S.accountsSearch.toLowerCase();
  const rows = Object.values(shown)
    .filter((a) => !q || a.accountId.toLowerCase().includes(q) || String(a.accountHolder).toLowerCase().includes(q))
    .sort((a, b) => (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0));
  const pages = Math.max(1, Math.ceil(rows.length / LIST_PAGE));
  S.accountsPage = Math.min(S.accountsPage, pages - 1);
  const slice = rows.slice(S.accountsPage * LIST_PAGE, (S.accountsPage + 1) * LIST_PAGE);
  const total = Object.keys(shown).length;
  $('#accounts-count').textContent = total ? `· ${count(total)}${q ? `, ${count(rows.length)} shown` : ''}` : '';
  $('#accounts-table tbody').innerHTML = slice.length === 0
    ? `<tr><td colspan="4" class="empty">${total ? 'No account matches.' : S.travel != null ? 'No accounts at this point in time.' : 'No accounts yet: open one above.'}</td></tr>`
    : slice.map((a) => `<tr data-account-id="${esc(a.accountId)}" class="${S.selected && S.selected.id === a.accountId ? 'selected' : ''}">
        <td><button type="button" class="link mono" data-select="BankAccount" data-id="${esc(a.accountId)}">${esc(a.accountId)}</button></td>
        <td>${esc(a.accountHolder)}</td>
        <td class="num mono" data-testid="balance">${money(a.balance)}</td>
        <td><span class="status status-${a.isActive ? 'active' : 'closed'}" data-testid="account-status">${a.isActive ? 'active' : 'closed'}</span></td>
      </tr>`).join('');
  renderPager($('#accounts-pager'), S.accountsPage, pages, (p) => { S.accountsPage = p; renderBank(); });
}

let accountOptionsKey = '';
function fillAccountSelect(accounts) {
  const list = Object.values(accounts).sort((a, b) => (a.accountId < b.accountId ? -1 : 1));
  const key = list.map((a) => `${a.accountId}\u0000${a.accountHolder}\u0000${a.isActive}`).join('\u0001');
  if (key === accountOptionsKey) return;
  accountOptionsKey = key;
  const sel = $('#tx-account');
  const keep = sel.value;
  sel.innerHTML = list.length === 0
    ? '<option value="">— no accounts yet —</option>'
    : list.map((a) => `<option value="${esc(a.accountId)}">${esc(a.accountId)} · ${esc(a.accountHolder)}${a.isActive ? '' : ' (closed)'}</option>`).join('');
  if (keep && list.some((a) => a.accountId === keep)) sel.value = keep;
}

function nextId(prefix, width, taken) {
  for (let i = 1; ; i++) {
    const id = `${prefix}${String(i).padStart(width, '0')}`;
    if (!taken[id]) return id;
  }
}

async function onCreateAccount(ev) {
  ev.preventDefault();
  const msg = $('#create-account-msg');
  const id = $('#create-account-id').value.trim();
  const holder = $('#create-account-holder').value.trim();
  const dep = parseMoney($('#create-account-deposit').value, { allowEmpty: true });
  if (dep.error) { showMsg(msg, 'error', dep.error); $('#create-account-deposit').focus(); return; }
  const ok = await run(msg, async () => {
    const r = await withEngine((e) => e.execute('BankAccount', id, { type: 'create_account', accountHolder: holder, initialDeposit: dep.cents }, { metadata: meta() }));
    select('BankAccount', id);
    return `Opened ${id} for ${holder} with ${money(dep.cents)} (event${r.events.length > 1 ? 's' : ''} #${r.events[0].position}${r.events.length > 1 ? `–#${r.position}` : ''}).`;
  });
  if (ok) {
    accountOptionsKey = '';
    await renderBank();
    $('#tx-account').value = id;
    $('#create-account-holder').value = '';
    $('#create-account-deposit').value = '';
    $('#create-account-id').dataset.edited = 'false';
    $('#create-account-id').value = nextId('account_', 3, S.accountsNow);
  }
}

async function onTransaction(ev) {
  ev.preventDefault();
  const action = (ev.submitter && ev.submitter.value) || 'deposit';
  const msg = $('#tx-msg');
  const id = $('#tx-account').value;
  if (!id) { showMsg(msg, 'error', 'Open an account first.'); return; }
  if (action === 'close') {
    await run(msg, async () => {
      const r = await withEngine((e) => e.execute('BankAccount', id, { type: 'close_account' }, { metadata: meta() }));
      select('BankAccount', id);
      return `Closed ${id}; final balance ${money(r.events[0].data.finalBalance)}.`;
    });
    return;
  }
  const amt = parseMoney($('#tx-amount').value);
  if (amt.error) { showMsg(msg, 'error', amt.error); $('#tx-amount').focus(); return; }
  const description = $('#tx-description').value.trim();
  const ok = await run(msg, async () => {
    const r = await withEngine((e) => e.execute('BankAccount', id, { type: action, amount: amt.cents, description }, { metadata: meta() }));
    select('BankAccount', id);
    const verb = action === 'deposit' ? 'Deposited' : 'Withdrew';
    const prep = action === 'deposit' ? 'into' : 'from';
    return `${verb} ${money(amt.cents)} ${prep} ${id}; balance ${money(r.events[0].data.balanceAfter)} (event #${r.position}, version ${r.version}).`;
  });
  if (ok) { $('#tx-amount').value = ''; $('#tx-description').value = ''; }
}

// ------------------------------------------------------------------------------------------
// Shop

let itemSeq = 0;
function addItemRow(item = {}) {
  const i = itemSeq++;
  const row = document.createElement('div');
  row.className = 'item-row';
  row.dataset.index = String(i);
  row.innerHTML = `
    <label><span class="item-label">Item</span><input id="order-item-${i}-id" name="itemId" autocomplete="off" spellcheck="false" placeholder="sku-coffee-beans" value="${esc(item.itemId || '')}"></label>
    <label><span class="item-label">Qty</span><input id="order-item-${i}-qty" name="quantity" type="number" min="1" step="1" inputmode="numeric" value="${esc(item.quantity ?? 1)}"></label>
    <label><span class="item-label">Price</span><input id="order-item-${i}-price" name="price" inputmode="decimal" autocomplete="off" placeholder="0.00" value="${esc(item.price || '')}"></label>
    <button type="button" class="btn btn-icon" data-remove-item aria-label="Remove item">×</button>`;
  $('#order-items').appendChild(row);
  updateOrderTotal();
  return row;
}

function readItems() {
  const items = [];
  for (const row of document.querySelectorAll('#order-items .item-row')) {
    const itemId = row.querySelector('[name=itemId]').value.trim();
    const qtyText = row.querySelector('[name=quantity]').value.trim();
    const priceText = row.querySelector('[name=price]').value.trim();
    if (!itemId && !priceText) continue;
    const price = parseMoney(priceText);
    if (price.error) return { error: `Item ${itemId || '?'}: ${price.error}` };
    if (!/^-?\d+$/.test(qtyText)) return { error: `Item ${itemId || '?'}: quantity must be a whole number` };
    items.push({ itemId, quantity: Number(qtyText), price: price.cents });
  }
  return { items };
}

function updateOrderTotal() {
  const { items } = readItems();
  const el = $('#order-total');
  if (!items || items.length === 0) { el.textContent = ''; return; }
  const total = items.reduce((a, i) => a + i.quantity * i.price, 0);
  el.textContent = `Total ${money(total)}`;
}

async function onPlaceOrder(ev) {
  ev.preventDefault();
  const msg = $('#place-order-msg');
  const id = $('#order-id').value.trim();
  const customerId = $('#order-customer').value.trim();
  const shippingAddress = $('#order-address').value.trim();
  const parsed = readItems();
  if (parsed.error) { showMsg(msg, 'error', parsed.error); return; }
  const ok = await run(msg, async () => {
    const r = await withEngine((e) => e.execute('Order', id, { type: 'place_order', customerId, items: parsed.items, shippingAddress }, { metadata: meta() }));
    select('Order', id);
    $('#oa-order').value = id;
    const n = parsed.items.length;
    return `Placed ${id} for ${customerId}: ${n} item${n === 1 ? '' : 's'}, total ${money(r.events[0].data.totalAmount)} (event #${r.position}).`;
  });
  if (ok) {
    const orders = await withEngine((e) => e.projection('order_status')).catch(() => ({}));
    $('#order-id').dataset.edited = 'false';
    $('#order-id').value = nextId('order_', 3, orders);
    $('#order-items').innerHTML = '';
    addItemRow();
    updateOrderTotal();
  }
}

const ORDER_VERBS = { confirm_order: 'confirmed', ship_order: 'shipped', deliver_order: 'delivered', cancel_order: 'cancelled' };

async function onOrderAction(ev) {
  ev.preventDefault();
  const type = (ev.submitter && ev.submitter.value) || 'confirm_order';
  const msg = $('#oa-msg');
  const id = $('#oa-order').value.trim();
  if (!id) { showMsg(msg, 'error', 'Enter an order id (or pick one in the list below).'); return; }
  const command = { type };
  if (type === 'ship_order') command.trackingNumber = $('#oa-tracking').value.trim();
  if (type === 'cancel_order') command.reason = $('#oa-reason').value.trim();
  const ok = await run(msg, async () => {
    const r = await withEngine((e) => e.execute('Order', id, command, { metadata: meta() }));
    select('Order', id);
    return `${id} is now ${ORDER_VERBS[type]}${type === 'ship_order' ? ` (tracking ${command.trackingNumber})` : ''} (event #${r.position}, version ${r.version}).`;
  });
  if (ok) {
    if (type === 'ship_order') $('#oa-tracking').value = '';
    if (type === 'cancel_order') $('#oa-reason').value = '';
  }
}

async function renderShop() {
  const t = ticket('shop');
  const at = S.travel != null ? { at: { position: S.travel } } : undefined;
  const where = {};
  if (S.ordersStatus) where.status = S.ordersStatus;
  if (S.ordersCustomer) where.customerId = S.ordersCustomer;
  const [all, rowsNow] = await withEngine(async (e) => {
    const full = await e.projection('order_status', at);
    // Now: the engine's query answers the filter; in the past: filter the projection as it was.
    const rows = at ? null : Object.keys(where).length ? await e.query('order_status', where) : Object.values(full);
    return [full, rows];
  });
  if (!current('shop', t)) return;
  const allRows = Object.values(all);
  if (S.travel == null) $('#stat-orders').textContent = count(allRows.length);
  const rows = rowsNow || allRows.filter((o) => (!where.status || o.status === where.status) && (!where.customerId || o.customerId === where.customerId));

  // status tabs with counts for the current customer filter
  const base = S.ordersCustomer ? allRows.filter((o) => o.customerId === S.ordersCustomer) : allRows;
  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0]));
  for (const o of base) counts[o.status] = (counts[o.status] || 0) + 1;
  $('#orders-status').innerHTML = [['', 'all', base.length], ...STATUSES.map((s) => [s, s, counts[s]])]
    .map(([value, label, n]) => `<button type="button" class="tab ${S.ordersStatus === value ? 'active' : ''}" data-status="${value}" aria-pressed="${S.ordersStatus === value}">${label} <span class="tab-count">${count(n)}</span></button>`).join('');

  rows.sort((a, b) => b.createdAt - a.createdAt || (a.orderId < b.orderId ? 1 : -1));
  const pages = Math.max(1, Math.ceil(rows.length / LIST_PAGE));
  S.ordersPage = Math.min(S.ordersPage, pages - 1);
  const slice = rows.slice(S.ordersPage * LIST_PAGE, (S.ordersPage + 1) * LIST_PAGE);
  $('#orders-count').textContent = allRows.length ? `· ${count(rows.length)}${rows.length !== allRows.length ? ` of ${count(allRows.length)}` : ''}` : '';
  $('#orders-table tbody').innerHTML = slice.length === 0
    ? `<tr><td colspan="4" class="empty">${allRows.length ? 'No order matches.' : S.travel != null ? 'No orders at this point in time.' : 'No orders yet: place one above.'}</td></tr>`
    : slice.map((o) => `<tr data-order-id="${esc(o.orderId)}" class="${S.selected && S.selected.id === o.orderId ? 'selected' : ''}">
        <td><button type="button" class="link mono" data-select="Order" data-id="${esc(o.orderId)}">${esc(o.orderId)}</button></td>
        <td><button type="button" class="link mono" data-customer="${esc(o.customerId)}" title="Show this customer's orders">${esc(o.customerId)}</button></td>
        <td class="num mono">${money(o.totalAmount)}</td>
        <td><span class="status status-${esc(o.status)}" data-testid="order-status">${esc(o.status)}</span></td>
      </tr>`).join('');
  renderPager($('#orders-pager'), S.ordersPage, pages, (p) => { S.ordersPage = p; renderShop(); });

  if (S.travel == null) {
    suggestId($('#order-id'), 'order_', all);
    const recent = allRows.slice().sort((a, b) => b.lastUpdated - a.lastUpdated).slice(0, 100);
    const key = recent.map((o) => o.orderId + o.status).join(',');
    const dl = $('#oa-orders');
    if (dl.dataset.key !== key) {
      dl.dataset.key = key;
      dl.innerHTML = recent.map((o) => `<option value="${esc(o.orderId)}">${esc(o.status)} · ${esc(o.customerId)}</option>`).join('');
    }
  }
}

// ------------------------------------------------------------------------------------------
// Pagers

function renderPager(nav, page, pages, go) {
  if (pages <= 1) { nav.innerHTML = ''; return; }
  nav.innerHTML = `<button type="button" class="btn btn-small" data-go="${page - 1}" ${page === 0 ? 'disabled' : ''}>‹ Prev</button>
    <span class="muted">page ${page + 1} of ${pages}</span>
    <button type="button" class="btn btn-small" data-go="${page + 1}" ${page >= pages - 1 ? 'disabled' : ''}>Next ›</button>`;
  nav.onclick = (ev) => {
    const b = ev.target.closest('[data-go]');
    if (b && !b.disabled) go(Number(b.dataset.go));
  };
}

// ------------------------------------------------------------------------------------------
// Selection and inspector

function select(type, id) {
  S.selected = { type, id };
  if (type === 'BankAccount') S.chartAccount = id;
  scheduleRefresh(0);
}

async function renderInspector() {
  const t = ticket('inspector');
  const body = $('#inspector-body');
  const sel = S.selected;
  $('#inspector-name').textContent = sel ? sel.id : '';
  if (!sel) return;
  const at = S.travel != null ? { at: { position: S.travel } } : undefined;
  const [loaded, recent] = await withEngine(async (e) => [
    await e.load(sel.type, sel.id, at),
    await e.readStream(sel.id, { direction: 'backward', limit: 6 }),
  ]);
  if (!current('inspector', t)) return;
  if (!loaded) {
    $('#inspector-events').innerHTML = '';
    body.innerHTML = `<p class="empty">${esc(sel.id)} ${S.travel != null ? `did not exist yet at position ${count(S.travel)}.` : 'has no events.'}</p>`;
    return;
  }
  const st = loaded.state;
  let fields;
  if (sel.type === 'BankAccount') {
    fields = [
      ['Holder', esc(st.accountHolder)],
      ['Balance', `<strong class="mono" data-testid="inspector-balance">${money(st.balance)}</strong>`],
      ['Status', `<span class="status status-${st.isActive ? 'active' : 'closed'}">${st.isActive ? 'active' : 'closed'}</span>`],
      ['Opened', esc(dateTime(st.createdAt))],
      ...(st.closedAt ? [['Closed', esc(dateTime(st.closedAt))]] : []),
    ];
  } else if (sel.type === 'Order') {
    const addr = typeof st.shippingAddress === 'string' ? st.shippingAddress : JSON.stringify(st.shippingAddress);
    fields = [
      ['Customer', `<span class="mono">${esc(st.customerId)}</span>`],
      ['Status', `<span class="status status-${esc(st.status)}" data-testid="inspector-status">${esc(st.status)}</span>`],
      ['Total', `<strong class="mono">${money(st.totalAmount)}</strong>`],
      ['Items', `<ul class="items-list">${(st.items || []).map((i) => `<li><span class="mono">${esc(i.itemId)}</span> × ${esc(i.quantity)} @ ${money(i.price)}</li>`).join('')}</ul>`],
      ['Ship to', esc(addr)],
      ['Placed', esc(dateTime(st.createdAt))],
      ...[['Confirmed', st.confirmedAt], ['Shipped', st.shippedAt], ['Delivered', st.deliveredAt], ['Cancelled', st.cancelledAt]]
        .filter(([, v]) => v).map(([k, v]) => [k, esc(dateTime(v))]),
    ];
  } else {
    fields = [['State', `<pre>${esc(JSON.stringify(st, null, 2))}</pre>`]];
  }
  fields.push(['Version', `<span class="mono" data-testid="inspector-version">${loaded.version}</span>${S.travel != null ? ' <span class="muted">(at the time-travel point)</span>' : ''}`]);
  body.innerHTML = `<dl class="kv">${fields.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>`;
  $('#inspector-events').innerHTML = `<h4>Latest events of this stream <button type="button" class="link" data-filter-stream="${esc(sel.id)}">show all in the log ↓</button></h4>
    <ol class="mini-log">${recent.map((e) => `<li class="${S.travel != null && e.position > S.travel ? 'future' : ''}">
      <span class="mono muted">v${e.version}</span> <span class="type-dot" style="background:${typeColor(e.type)}"></span><span class="mono">${esc(e.type)}</span>
      <span class="muted">${esc(summarize(e))}</span></li>`).join('')}</ol>`;
}

async function renderBalanceChart() {
  const t = ticket('balance');
  const id = S.chartAccount;
  const box = $('#balance-chart');
  $('#balance-chart-name').textContent = id || '';
  if (!id) return;
  const events = await withEngine((e) => e.readStream(id, { direction: 'backward', limit: 2000 }));
  if (!current('balance', t)) return;
  events.reverse();
  const points = [];
  for (const e of events) {
    if (e.type === 'account_created') points.push({ t: e.timestamp, balance: 0, position: e.position });
    else if (typeof e.data.balanceAfter === 'number') points.push({ t: e.timestamp, balance: e.data.balanceAfter, position: e.position });
    else if (e.type === 'account_closed') points.push({ t: e.timestamp, balance: e.data.finalBalance ?? 0, position: e.position });
  }
  S.charts.balance = points;
  drawBalanceChart();
  box.dataset.points = String(points.length);
}

function drawBalanceChart() {
  const box = $('#balance-chart');
  if (!S.charts.balance) return;
  box.innerHTML = balanceChart(S.charts.balance, { width: box.clientWidth, travelPosition: S.travel });
}

function renderTypeChart() {
  const box = $('#type-chart');
  box.innerHTML = typeDistributionChart(S.charts.types, box.clientWidth);
}

// ------------------------------------------------------------------------------------------
// Time travel

function renderTravelControls() {
  const head = S.stats.headPosition;
  const slider = $('#tt-slider');
  slider.max = String(head);
  const pos = S.travel ?? head;
  if (document.activeElement !== slider) slider.value = String(pos);
  const input = $('#tt-position');
  input.max = String(head);
  if (document.activeElement !== input) input.value = String(pos);
  slider.style.setProperty('--fill', head ? `${(pos / head) * 100}%` : '100%');
  if (S.travel == null) {
    $('#tt-status').dataset.mode = 'now';
    $('#tt-status').innerHTML = `Viewing <strong>now</strong> · ${count(head)} events`;
  }
}

let travelSeq = 0;
async function setTravel(position) {
  const head = S.stats.headPosition;
  const p = position == null || !Number.isFinite(position) || position >= head ? null : Math.max(0, Math.floor(position));
  S.travel = p;
  const seq = ++travelSeq;
  document.body.classList.toggle('traveling', p != null);
  for (const el of document.querySelectorAll('.timed')) {
    if (p == null) delete el.dataset.asof; else el.dataset.asof = count(p);
  }
  $('#tt-now').disabled = p == null;
  const status = $('#tt-status');
  status.dataset.mode = p == null ? 'now' : 'past';
  status.dataset.position = p == null ? '' : String(p);
  renderTravelControls();
  if (p != null) {
    status.innerHTML = `Viewing the past at position <strong>${count(p)}</strong> of ${count(head)}`;
    // Show the log page that holds the point, when the log is unfiltered.
    const f = S.log.filters;
    if (!f.stream && !f.type && !f.streamType) {
      const upper = S.log.anchor ?? head;
      S.log.page = Math.max(0, Math.floor((upper - p) / LOG_PAGE));
      if (S.log.page > 0 && S.log.anchor == null) S.log.anchor = head;
    }
    try {
      const [ev] = p > 0 ? await withEngine((e) => e.readAll({ fromPosition: p - 1, limit: 1 })) : [];
      if (seq === travelSeq && ev) {
        status.innerHTML = `Viewing the past at position <strong>${count(p)}</strong> of ${count(head)} · ${esc(dateTime(ev.timestamp))}`;
        if (document.activeElement !== $('#tt-time')) $('#tt-time').value = toLocalInput(ev.timestamp);
      } else if (seq === travelSeq && p === 0) {
        status.innerHTML = `Viewing the past at position <strong>0</strong>: before the first event`;
      }
    } catch { /* engine replaced */ }
  } else {
    if (document.activeElement !== $('#tt-time')) $('#tt-time').value = '';
    S.log.page = 0;
    S.log.anchor = null;
  }
  await refreshAll();
}

async function travelToTime(ms) {
  if (!Number.isFinite(ms)) return;
  // The state at a time includes every event stamped at or before it (to the end of that second).
  const until = ms + 999;
  const [next] = await withEngine((e) => e.readAll({ fromTimestamp: until + 1, limit: 1 }));
  await setTravel(next ? next.position - 1 : null);
}

// ------------------------------------------------------------------------------------------
// Event log

function fillTypeFilter(dist) {
  const sel = $('#log-type');
  const types = [...new Set([...Object.keys(TYPE_STREAM), ...Object.keys(dist || {})])].sort();
  const key = types.join(',') + JSON.stringify(dist);
  if (sel.dataset.key === key) return;
  sel.dataset.key = key;
  const keep = sel.value;
  sel.innerHTML = `<option value="">any</option>${types.map((t) => `<option value="${esc(t)}">${esc(t)} (${count((dist || {})[t] || 0)})</option>`).join('')}`;
  sel.value = keep;
}

/** Reads one page of the log, newest first, without ever reading more than it shows (plus a margin). */
async function fetchLogPage(engine) {
  const { filters } = S.log;
  const head = S.stats.headPosition;
  const upper = Math.min(S.log.anchor ?? head, head);
  const page = S.log.page;
  const types = filters.type ? [filters.type] : undefined;
  const streamType = filters.streamType || undefined;

  if (filters.stream) {
    const version = await engine.streamVersion(filters.stream);
    if (!types && !streamType) {
      const hi = version - page * LOG_PAGE;
      const events = hi > 0 ? await engine.readStream(filters.stream, { direction: 'backward', fromVersion: hi + 1, limit: LOG_PAGE }) : [];
      return { events, total: version, pages: Math.max(1, Math.ceil(version / LOG_PAGE)) };
    }
    const all = (await engine.readStream(filters.stream)).filter((e) => (!types || types.includes(e.type)) && (!streamType || e.streamType === streamType)).reverse();
    return { events: all.slice(page * LOG_PAGE, (page + 1) * LOG_PAGE), total: all.length, pages: Math.max(1, Math.ceil(all.length / LOG_PAGE)) };
  }

  if (!types && !streamType) {
    const hi = upper - page * LOG_PAGE;
    const lo = Math.max(0, hi - LOG_PAGE);
    const events = hi > 0 ? (await engine.readAll({ fromPosition: lo, limit: hi - lo })).reverse() : [];
    return { events, total: upper, pages: Math.max(1, Math.ceil(upper / LOG_PAGE)) };
  }

  // Filtered by type / stream type: scan backwards in growing windows from the page's cursor.
  if (page === 0) S.log.cursors = [upper];
  let hi = S.log.cursors[page] ?? upper;
  const found = [];
  let window = LOG_PAGE * 8;
  while (found.length <= LOG_PAGE && hi > 0) {
    const lo = Math.max(0, hi - window);
    const got = await engine.readAll({ fromPosition: lo, limit: hi - lo, types, streamType });
    for (let i = got.length - 1; i >= 0; i--) if (got[i].position <= hi) found.push(got[i]);
    hi = lo;
    window = Math.min(window * 4, 65536);
  }
  const events = found.slice(0, LOG_PAGE);
  const more = found.length > LOG_PAGE;
  if (more) S.log.cursors[page + 1] = events[events.length - 1].position - 1;
  let total = null;
  if (types) {
    const n = S.stats.eventTypeDistribution[filters.type] || 0;
    total = !streamType || TYPE_STREAM[filters.type] === streamType || !TYPE_STREAM[filters.type] ? n : 0;
  } else if (streamType) {
    total = Object.entries(S.stats.eventTypeDistribution).reduce((a, [t, n]) => a + (TYPE_STREAM[t] === streamType ? n : 0), 0);
  }
  if (upper < head) total = null; // counts are for the whole log, the view is anchored
  return { events, total, pages: more ? page + 2 : page + 1, cursor: true };
}

async function renderLog() {
  const t = ticket('log');
  const t0 = performance.now();
  const res = await withEngine((e) => fetchLogPage(e));
  if (!current('log', t)) return;
  const head = S.stats.headPosition;
  const { events } = res;
  const prevShown = S.log.lastShownHead;
  const live = S.log.page === 0 && S.log.anchor == null;
  const travel = S.travel;
  const tbody = $('#log-table tbody');
  tbody.innerHTML = events.length === 0
    ? `<tr><td colspan="7" class="empty">${head ? 'No event matches these filters.' : 'The log is empty. Open an account, place an order, or generate sample data.'}</td></tr>`
    : events.map((e) => {
      const cls = [];
      if (travel != null && e.position > travel) cls.push('future');
      if (travel != null && e.position === travel) cls.push('travel-point');
      if (live && prevShown && e.position > prevShown) cls.push('fresh');
      const json = JSON.stringify(e.data);
      return `<tr data-position="${e.position}" data-stream="${esc(e.streamId)}" data-type="${esc(e.type)}" data-version="${e.version}" class="${cls.join(' ')}">
        <td class="num mono" data-col="position">${e.position}</td>
        <td class="nowrap" data-col="time" title="${e.timestamp}">${esc(dateTime(e.timestamp))}</td>
        <td data-col="stream"><button type="button" class="link mono" data-select="${esc(e.streamType)}" data-id="${esc(e.streamId)}" title="${esc(e.streamType)}: inspect">${esc(e.streamId)}</button></td>
        <td class="num mono" data-col="version">${e.version}</td>
        <td data-col="type"><span class="type-tag" style="--tc:${typeColor(e.type)}">${esc(e.type)}</span></td>
        <td data-col="data" class="data" title="${esc(json)}">${esc(summarize(e))}</td>
        <td data-col="hash" class="mono muted" title="${esc(e.hash)}">${esc(e.hash.slice(0, 10))}</td>
      </tr>`;
    }).join('');
  if (live) S.log.lastShownHead = head;
  const first = events[0];
  const last = events[events.length - 1];
  const info = res.total == null
    ? `page ${S.log.page + 1}`
    : `page ${S.log.page + 1} of ${count(res.pages)} · ${count(res.total)} event${res.total === 1 ? '' : 's'}`;
  $('#log-page-info').textContent = events.length ? `${info} · #${count(first.position)}–#${count(last.position)}` : info;
  $('#log-count').textContent = head ? `· ${count(head)}` : '';
  $('#log-newest').disabled = $('#log-newer').disabled = S.log.page === 0 && S.log.anchor == null;
  $('#log-older').disabled = S.log.page >= res.pages - 1;
  $('#log-oldest').disabled = res.cursor || S.log.page >= res.pages - 1;
  const newer = S.log.anchor != null ? head - S.log.anchor : 0;
  const btn = $('#log-new-events');
  btn.hidden = newer <= 0;
  btn.textContent = `${count(newer)} new event${newer === 1 ? '' : 's'} — show`;
  const table = $('#log-table');
  table.dataset.renderMs = (performance.now() - t0).toFixed(1);
  table.dataset.page = String(S.log.page);
  table.dataset.rows = String(events.length);
}

async function logGo(page) {
  const head = S.stats.headPosition;
  if (page <= 0) {
    S.log.page = 0;
    S.log.anchor = null;
  } else {
    if (S.log.anchor == null) S.log.anchor = head;
    S.log.page = page;
  }
  await renderLog();
}

function setLogFilters(changes) {
  Object.assign(S.log.filters, changes);
  S.log.page = 0;
  S.log.anchor = null;
  S.log.cursors = [];
  $('#log-stream').value = S.log.filters.stream;
  $('#log-stream-type').value = S.log.filters.streamType;
  $('#log-type').value = S.log.filters.type;
  renderLog().catch(() => {});
}

// ------------------------------------------------------------------------------------------
// Sample data

async function generateSample() {
  if (S.generating || !S.engine) return;
  const target = Number($('#sample-size').value);
  const status = $('#sample-status');
  const progress = $('#sample-progress');
  const [accounts, orders] = await withEngine(async (e) => [await e.projection('account_balance'), await e.projection('order_status')]);
  const taken = new Set([...Object.keys(accounts), ...Object.keys(orders)]);
  const head = S.stats.headPosition;
  const [lastEvent] = head > 0 ? await withEngine((e) => e.readAll({ fromPosition: head - 1, limit: 1 })) : [];
  const now = Date.now();
  const start = Math.max(now - 90 * 24 * 3600 * 1000, lastEvent ? lastEvent.timestamp + 1 : 0);
  const plan = planSampleData({ targetEvents: target, taken, startTime: start, endTime: now - 60_000 });

  S.generating = true;
  S.stopRequested = false;
  $('#sample-generate').disabled = true;
  $('#reset-db').disabled = true;
  $('#sample-stop').hidden = false;
  progress.hidden = false;
  progress.max = plan.events;
  progress.value = 0;
  status.dataset.state = 'running';
  showMsg(status, 'info', `Generating ${count(plan.events)} events…`);
  status.dataset.state = 'running';

  const t0 = performance.now();
  let events = 0;
  let refused = 0;
  let firstRefusal = null;
  const metadata = { tab: TAB_ID, source: 'sample' };
  try {
    for (const round of plan.rounds) {
      if (S.stopRequested || !S.engine) break;
      S.clockOverride = Math.max(round.t, S.clockOverride ?? 0);
      const engine = S.engine;
      const results = await Promise.all(round.commands.map((c) => engine.execute(c.streamType, c.streamId, c.command, { metadata })
        .then((r) => r.events.length, (err) => { refused++; firstRefusal ??= `${c.streamId}: ${err.message}`; return 0; })));
      events += results.reduce((a, n) => a + n, 0);
      progress.value = events;
      const secs = (performance.now() - t0) / 1000;
      status.textContent = `Generating… ${count(events)} / ${count(plan.events)} events · ${count(Math.round(events / Math.max(secs, 0.001)))} events/s`;
    }
  } finally {
    S.clockOverride = null;
    S.generating = false;
  }
  const ms = performance.now() - t0;
  const stopped = S.stopRequested;
  S.stopRequested = false;
  $('#sample-generate').disabled = false;
  $('#reset-db').disabled = false;
  $('#sample-stop').hidden = true;
  progress.hidden = true;
  showMsg(status, refused ? 'error' : 'ok',
    `${stopped ? 'Stopped after' : 'Generated'} ${count(events)} events (${count(plan.accounts.length)} accounts, ${count(plan.orders.length)} orders) in ${(ms / 1000).toFixed(1)} s · ${count(Math.round(events / (ms / 1000)))} events/s${refused ? ` · ${refused} commands refused (first: ${firstRefusal})` : ''}`);
  status.dataset.state = 'done';
  status.dataset.events = String(events);
  status.dataset.ms = String(Math.round(ms));
  if (plan.accounts.length) select('BankAccount', plan.accounts[0]);
  await refreshAll();
}

// ------------------------------------------------------------------------------------------
// Replay, verify, reset

async function replay() {
  const btn = $('#replay-btn');
  const bar = $('#replay-progress');
  const out = $('#replay-result');
  btn.disabled = true;
  bar.hidden = false;
  bar.max = PROJECTIONS.length;
  bar.removeAttribute('value'); // indeterminate until the first projection is rebuilt
  showMsg(out, 'info', `Rebuilding ${PROJECTIONS.length} projections from ${count(S.stats.totalEvents)} events…`);
  const t0 = performance.now();
  try {
    let eventsReplayed = 0;
    let rebuilt = 0;
    for (const [i, name] of PROJECTIONS.entries()) {
      out.textContent = `Rebuilding ${name} (${i + 1} of ${PROJECTIONS.length}) from ${count(S.stats.totalEvents)} events…`;
      await new Promise((r) => setTimeout(r, 0));
      const r = await withEngine((e) => e.replay(name));
      eventsReplayed = Math.max(eventsReplayed, r.eventsReplayed);
      rebuilt += r.projectionsRebuilt;
      bar.value = i + 1;
    }
    const ms = performance.now() - t0;
    showMsg(out, 'ok', `Rebuilt ${rebuilt} projections from ${count(eventsReplayed)} events in ${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms.`);
    out.dataset.events = String(eventsReplayed);
    await refreshAll();
  } catch (err) {
    showMsg(out, 'error', errorText(err));
  } finally {
    btn.disabled = false;
    setTimeout(() => { bar.hidden = true; }, 600);
  }
}

async function verify() {
  const btn = $('#verify-btn');
  const out = $('#verify-result');
  btn.disabled = true;
  showMsg(out, 'info', `Verifying the hash chain of ${count(S.stats.totalEvents)} events…`);
  await new Promise((r) => setTimeout(r, 0));
  const t0 = performance.now();
  try {
    const r = await withEngine((e) => e.verify());
    const ms = performance.now() - t0;
    out.dataset.ok = String(r.ok);
    out.dataset.checked = String(r.checked);
    if (r.ok) showMsg(out, 'ok', `✓ Hash chain intact: ${count(r.checked)} events checked in ${Math.round(ms)} ms.`);
    else showMsg(out, 'error', `✗ Hash chain broken at position ${count(r.firstBadPosition)} (${count(r.checked)} events checked).`);
  } catch (err) {
    showMsg(out, 'error', errorText(err));
  } finally {
    btn.disabled = false;
  }
}

const control = 'BroadcastChannel' in self ? new BroadcastChannel(`eventjournal-demo:${DB_NAME}`) : null;

function deleteDatabase(name) {
  return new Promise((resolve, reject) => {
    const req = indexedDB.deleteDatabase(name);
    req.onsuccess = () => resolve();
    req.onerror = () => reject(req.error);
    req.onblocked = () => { showMsg($('#reset-status'), 'info', 'Waiting for other tabs to let go of the database…'); };
  });
}

async function resetDatabase() {
  const status = $('#reset-status');
  $('#reset-confirm-box').hidden = true;
  $('#reset-db').hidden = false;
  showOverlay('Deleting every event…');
  try {
    if (control) control.postMessage({ type: 'reset-begin', from: TAB_ID });
    await closeEngine();
    if (S.storageKind === 'indexeddb') {
      await new Promise((r) => setTimeout(r, 150));
      await deleteDatabase(DB_NAME);
    }
    resetViewState();
    await openEngine();
    if (control) control.postMessage({ type: 'reset-done', from: TAB_ID });
    showMsg(status, 'ok', 'The database was deleted; the log is empty.');
    await refreshAll();
  } catch (err) {
    showMsg(status, 'error', `Reset failed: ${err.message || err}`);
  } finally {
    hideOverlay();
  }
}

function resetViewState() {
  S.travel = null;
  S.selected = null;
  S.chartAccount = null;
  S.charts.balance = null;
  S.accountsPage = 0;
  S.ordersPage = 0;
  S.log.page = 0;
  S.log.anchor = null;
  S.log.lastShownHead = 0;
  S.stats = { totalEvents: 0, totalStreams: 0, eventTypeDistribution: {}, headPosition: 0, headHash: '' };
  document.body.classList.remove('traveling');
  for (const el of document.querySelectorAll('.timed')) delete el.dataset.asof;
  $('#tt-now').disabled = true;
  $('#inspector-name').textContent = '';
  $('#inspector-body').innerHTML = '<p class="empty">Select an account or an order to see its state (at the time-travel point) and its history.</p>';
  $('#inspector-events').innerHTML = '';
  $('#balance-chart').innerHTML = '<p class="empty">Select an account.</p>';
  $('#balance-chart-name').textContent = '';
  for (const id of ['#replay-result', '#verify-result', '#sample-status']) { $(id).textContent = ''; }
  $('#sample-status').dataset.state = 'idle';
  accountOptionsKey = '';
  $('#create-account-id').value = 'account_001';
  $('#order-id').value = 'order_001';
}

let remoteResetTimer = null;
if (control) {
  control.onmessage = async (ev) => {
    const msg = ev.data || {};
    if (msg.from === TAB_ID) return;
    if (msg.type === 'reset-begin') {
      showOverlay('Another tab is resetting the database…');
      S.stopRequested = true;
      await closeEngine();
      clearTimeout(remoteResetTimer);
      remoteResetTimer = setTimeout(() => reopenAfterRemoteReset(), 8000);
    } else if (msg.type === 'reset-done') {
      clearTimeout(remoteResetTimer);
      await reopenAfterRemoteReset();
    }
  };
}

async function reopenAfterRemoteReset() {
  if (S.engine) return;
  try {
    resetViewState();
    await openEngine();
    toast('The database was reset in another tab.');
    await refreshAll();
  } catch (err) {
    fatal(err);
  } finally {
    hideOverlay();
  }
}

// ------------------------------------------------------------------------------------------
// Overlay, errors

function showOverlay(text) {
  $('#overlay-text').textContent = text;
  $('#overlay').hidden = false;
}
function hideOverlay() { $('#overlay').hidden = true; }

function fatal(err) {
  const box = $('#fatal');
  box.hidden = false;
  const where = err && err.code === 'INTEGRITY' ? ` The stored log is damaged${err.position ? ` at position ${err.position}` : ''}; “Reset database” starts over.` : '';
  box.textContent = `The journal could not be opened: ${err && err.message ? err.message : err}.${where}`;
}

// ------------------------------------------------------------------------------------------
// Wiring

function wire() {
  $('#create-account-form').addEventListener('submit', onCreateAccount);
  $('#tx-form').addEventListener('submit', onTransaction);
  $('#place-order-form').addEventListener('submit', onPlaceOrder);
  $('#order-action-form').addEventListener('submit', onOrderAction);
  $('#order-add-item').addEventListener('click', () => { addItemRow().querySelector('input').focus(); });
  $('#order-items').addEventListener('click', (ev) => {
    const b = ev.target.closest('[data-remove-item]');
    if (!b) return;
    const rows = document.querySelectorAll('#order-items .item-row');
    if (rows.length > 1) b.closest('.item-row').remove();
    else b.closest('.item-row').querySelectorAll('input').forEach((i) => { i.value = i.name === 'quantity' ? '1' : ''; });
    updateOrderTotal();
  });
  $('#order-items').addEventListener('input', updateOrderTotal);
  for (const id of ['#create-account-id', '#order-id']) {
    $(id).addEventListener('input', (ev) => { ev.target.dataset.edited = String(ev.target.value.trim() !== ''); });
  }

  // selection from any table, customer filter, "show in log"
  document.addEventListener('click', (ev) => {
    const s = ev.target.closest('[data-select]');
    if (s) {
      select(s.dataset.select, s.dataset.id);
      if (s.dataset.select === 'BankAccount') $('#tx-account').value = s.dataset.id;
      if (s.dataset.select === 'Order') $('#oa-order').value = s.dataset.id;
      return;
    }
    const c = ev.target.closest('[data-customer]');
    if (c) {
      S.ordersCustomer = c.dataset.customer;
      $('#orders-customer').value = S.ordersCustomer;
      S.ordersPage = 0;
      renderShop().catch(() => {});
      return;
    }
    const f = ev.target.closest('[data-filter-stream]');
    if (f) {
      setLogFilters({ stream: f.dataset.filterStream, type: '', streamType: '' });
      $('#log').scrollIntoView({ behavior: 'smooth', block: 'start' });
    }
  });

  $('#accounts-search').addEventListener('input', (ev) => { S.accountsSearch = ev.target.value.trim(); S.accountsPage = 0; renderBank().catch(() => {}); });
  $('#orders-customer').addEventListener('input', (ev) => { S.ordersCustomer = ev.target.value.trim(); S.ordersPage = 0; renderShop().catch(() => {}); });
  $('#orders-status').addEventListener('click', (ev) => {
    const b = ev.target.closest('[data-status]');
    if (!b) return;
    S.ordersStatus = b.dataset.status;
    S.ordersPage = 0;
    renderShop().catch(() => {});
  });

  // time travel
  const slider = $('#tt-slider');
  let raf = 0;
  slider.addEventListener('input', () => {
    slider.style.setProperty('--fill', `${(Number(slider.value) / Math.max(1, Number(slider.max))) * 100}%`);
    $('#tt-position').value = slider.value;
    cancelAnimationFrame(raf);
    raf = requestAnimationFrame(() => setTravel(Number(slider.value)));
  });
  slider.addEventListener('change', () => setTravel(Number(slider.value)));
  $('#tt-position').addEventListener('change', (ev) => setTravel(Number(ev.target.value)));
  $('#tt-position').addEventListener('keydown', (ev) => { if (ev.key === 'Enter') { ev.preventDefault(); setTravel(Number(ev.target.value)); } });
  $('#tt-time').addEventListener('change', (ev) => travelToTime(fromLocalInput(ev.target.value)).catch(() => {}));
  $('#tt-now').addEventListener('click', () => setTravel(null));

  // log
  let streamTimer = null;
  $('#log-stream').addEventListener('input', (ev) => {
    clearTimeout(streamTimer);
    streamTimer = setTimeout(() => setLogFilters({ stream: ev.target.value.trim() }), 200);
  });
  $('#log-stream-type').addEventListener('change', (ev) => setLogFilters({ streamType: ev.target.value }));
  $('#log-type').addEventListener('change', (ev) => setLogFilters({ type: ev.target.value }));
  $('#log-clear').addEventListener('click', () => setLogFilters({ stream: '', streamType: '', type: '' }));
  $('#log-newest').addEventListener('click', () => logGo(0));
  $('#log-new-events').addEventListener('click', () => logGo(0));
  $('#log-newer').addEventListener('click', () => logGo(S.log.page - 1));
  $('#log-older').addEventListener('click', () => logGo(S.log.page + 1));
  $('#log-oldest').addEventListener('click', () => {
    const upper = S.log.anchor ?? S.stats.headPosition;
    logGo(Math.max(0, Math.ceil(upper / LOG_PAGE) - 1));
  });

  // tools
  $('#sample-generate').addEventListener('click', () => generateSample().catch((err) => {
    showMsg($('#sample-status'), 'error', errorText(err));
    $('#sample-status').dataset.state = 'error';
  }));
  $('#sample-stop').addEventListener('click', () => { S.stopRequested = true; });
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
  $('#reset-confirm').addEventListener('click', resetDatabase);

  // charts follow the width of their boxes
  let resizeTimer = null;
  const resized = new ResizeObserver(() => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => { renderTypeChart(); drawBalanceChart(); }, 80);
  });
  resized.observe($('#insights'));
  resized.observe($('#inspector'));
}

async function main() {
  wire();
  addItemRow();
  $('#create-account-id').value = 'account_001';
  $('#order-id').value = 'order_001';
  showOverlay('Opening the journal: reading and checking every stored event…');
  try {
    await openEngine();
    await refreshAll();
    $('#create-account-id').value = nextId('account_', 3, S.accountsNow);
    const orders = await withEngine((e) => e.projection('order_status'));
    $('#order-id').value = nextId('order_', 3, orders);
  } catch (err) {
    console.error(err);
    fatal(err);
  } finally {
    hideOverlay();
    document.body.dataset.ready = 'true';
  }
}

main();
