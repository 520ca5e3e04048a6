// The shop: orders as the `order_status` projection has them (as of the time-travel point),
// filtered by status and customer (the engine's query answers the filter now), moving an order
// along its lifecycle, and how order events and orders are worded. The form to place an order
// is order-form.js.
import { store } from './store.js';
import { read, execute } from './engine.js';
import { defineSection } from './refresh.js';
import { describeEvents, describeState } from './describe.js';
import { ORDERS, ORDER_LIFECYCLE } from './domains.js';
import { select } from './inspector.js';
import { mountOrderForm } from './order-form.js';
import { money, count, dateTime, esc, where } from './format.js';
import { $, showMsg, run, renderPager, suggestId } from './ui.js';

const { streamType: STREAM_TYPE, projection: PROJECTION } = ORDERS;
const PAGE = 10;
const RECENT = 100; // orders offered in the "Move an order along" list

describeEvents({
  order_placed: (d) => {
    const n = Array.isArray(d.items) ? d.items.reduce((a, i) => a + (i.quantity || 0), 0) : 0;
    return `${d.customerId} · ${n} item${n === 1 ? '' : 's'} · ${money(d.totalAmount)}`;
  },
  order_shipped: (d) => `tracking ${d.trackingNumber}`,
  order_cancelled: (d) => (d.reason ? `reason: ${d.reason}` : 'cancelled'),
});

const statusTag = (s, testid) => `<span class="status status-${esc(s)}" data-testid="${testid}">${esc(s)}</span>`;

describeState(STREAM_TYPE, (st) => [
  ['Customer', `<span class="mono">${esc(st.customerId)}</span>`],
  ['Status', statusTag(st.status, 'inspector-status')],
  ['Total', `<strong class="mono">${money(st.totalAmount)}</strong>`],
  ['Items', `<ul class="items-list">${(st.items || []).map((i) => `<li><span class="mono">${esc(i.itemId)}</span> × ${esc(i.quantity)} @ ${money(i.price)}</li>`).join('')}</ul>`],
  ['Ship to', esc(typeof st.shippingAddress === 'string' ? st.shippingAddress : JSON.stringify(st.shippingAddress))],
  ['Placed', esc(dateTime(st.createdAt))],
  ...[['Confirmed', st.confirmedAt], ['Shipped', st.shippedAt], ['Delivered', st.deliveredAt], ['Cancelled', st.cancelledAt]]
    .filter(([, v]) => v).map(([k, v]) => [k, esc(dateTime(v))]),
]);

/** The filter of the orders list, as a `query` where-clause. */
function filterOf(view) {
  const where = {};
  if (view.status) where.status = view.status;
  if (view.customer) where.customerId = view.customer;
  return where;
}

function renderShop() {
  const { travel, shop: view } = store.state;
  const at = travel != null ? { at: { position: travel } } : undefined;
  const where = filterOf(view);
  return read(async (e) => {
    const full = await e.projection(PROJECTION, at);
    // Now: the engine's query answers the filter; in the past: filter the projection as it was.
    const rows = at ? null : Object.keys(where).length ? await e.query(PROJECTION, where) : Object.values(full);
    return [full, rows];
  }, { key: 'shop', deps: ['shop', 'travel'] }, showOrders);
}

function showOrders([all, matching]) {
  const { travel, shop: view } = store.state;
  const where = filterOf(view);
  const allRows = Object.values(all);
  if (travel == null) $('#stat-orders').textContent = count(allRows.length);
  const rows = matching || allRows.filter((o) => (!where.status || o.status === where.status) && (!where.customerId || o.customerId === where.customerId));
  renderStatusTabs(view, view.customer ? allRows.filter((o) => o.customerId === view.customer) : allRows);

  rows.sort((a, b) => b.createdAt - a.createdAt || (a.orderId < b.orderId ? 1 : -1));
  const pages = Math.max(1, Math.ceil(rows.length / PAGE));
  const page = Math.min(view.page, pages - 1);
  const slice = rows.slice(page * PAGE, (page + 1) * PAGE);
  const selected = store.state.selected?.id;
  $('#orders-count').textContent = allRows.length ? `· ${count(rows.length)}${rows.length !== allRows.length ? ` of ${count(allRows.length)}` : ''}` : '';
  $('#orders-table tbody').innerHTML = slice.length === 0
    ? `<tr><td colspan="4" class="empty">${allRows.length ? 'No order matches.' : travel != null ? 'No orders at this point in time.' : 'No orders yet: place one above.'}</td></tr>`
    : slice.map((o) => `<tr data-order-id="${esc(o.orderId)}" class="${selected === o.orderId ? 'selected' : ''}">
        <td><button type="button" class="link mono" data-select="${STREAM_TYPE}" data-id="${esc(o.orderId)}">${esc(o.orderId)}</button></td>
        <td><button type="button" class="link mono" data-customer="${esc(o.customerId)}" title="Show this customer's orders">${esc(o.customerId)}</button></td>
        <td class="num mono">${money(o.totalAmount)}</td>
        <td>${statusTag(o.status, 'order-status')}</td>
      </tr>`).join('');
  renderPager($('#orders-pager'), page, pages, (p) => store.update('shop', { page: p }));
  if (travel == null) {
    suggestId($('#order-id'), 'order_', all);
    fillOrderList(allRows);
  }
}

/** "all" and one tab per status, with the count of `orders` in it. */
function renderStatusTabs(view, orders) {
  const counts = new Map(ORDER_LIFECYCLE.map((s) => [s, 0]));
  for (const o of orders) counts.set(o.status, (counts.get(o.status) || 0) + 1);
  $('#orders-status').innerHTML = [['', 'all', orders.length], ...[...counts].map(([s, n]) => [s, s, n])]
    .map(([value, label, n]) => `<button type="button" class="tab ${view.status === value ? 'active' : ''}" data-status="${esc(value)}" aria-pressed="${view.status === value}">${esc(label)} <span class="tab-count">${count(n)}</span></button>`).join('');
}

function fillOrderList(orders) {
  const recent = orders.slice().sort((a, b) => b.lastUpdated - a.lastUpdated).slice(0, RECENT);
  const key = recent.map((o) => o.orderId + o.status).join(',');
  const dl = $('#oa-orders');
  if (dl.dataset.key === key) return;
  dl.dataset.key = key;
  dl.innerHTML = recent.map((o) => `<option value="${esc(o.orderId)}">${esc(o.status)} · ${esc(o.customerId)}</option>`).join('');
}

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
    const r = await execute(STREAM_TYPE, id, command);
    // the status the order reached, as the engine folds it (right after this command)
    // (a pending command's state is the optimistic one: time travel reads confirmed events only)
    const after = await read((e) => (r.pending ? e.load(STREAM_TYPE, id) : e.load(STREAM_TYPE, id, { at: { version: r.version } })));
    select(STREAM_TYPE, id);
    return `${id} is now ${after?.state.status ?? 'changed'}${type === 'ship_order' ? ` (tracking ${command.trackingNumber})` : ''} (${where(r)}, version ${r.version}).`;
  });
  if (ok) {
    if (type === 'ship_order') $('#oa-tracking').value = '';
    if (type === 'cancel_order') $('#oa-reason').value = '';
  }
}

function followSelection({ selected }) {
  for (const tr of document.querySelectorAll('#orders-table tr[data-order-id]')) tr.classList.toggle('selected', tr.dataset.orderId === selected?.id);
  if (selected?.type === STREAM_TYPE) $('#oa-order').value = selected.id;
}

export function mountShop() {
  defineSection('shop', renderShop, { deps: ['shop', 'travel'] });
  mountOrderForm({ streamType: STREAM_TYPE, projection: PROJECTION });
  store.subscribe(['selected'], followSelection);
  store.subscribe(['engine'], (s) => { if (!s.engine) $('#order-id').value = 'order_001'; });
  $('#order-action-form').addEventListener('submit', onOrderAction);
  $('#orders-customer').addEventListener('input', (ev) => store.update('shop', { customer: ev.target.value.trim(), page: 0 }));
  $('#orders-status').addEventListener('click', (ev) => {
    const b = ev.target.closest('[data-status]');
    if (b) store.update('shop', { status: b.dataset.status, page: 0 });
  });
  document.addEventListener('click', (ev) => {
    const c = ev.target.closest('[data-customer]');
    if (!c) return;
    $('#orders-customer').value = c.dataset.customer;
    store.update('shop', { customer: c.dataset.customer, page: 0 });
  });
}
