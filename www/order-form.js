// The "Place an order" form: its item rows, the running total, and the place_order command.
import { read, execute } from './engine.js';
import { select } from './inspector.js';
import { money, parseMoney, esc, where } from './format.js';
import { $, showMsg, run, nextId } from './ui.js';

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
  updateTotal();
  return row;
}

/** The items as the command wants them, or { error } in words; rows left blank are skipped. */
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

function updateTotal() {
  const { items } = readItems();
  const el = $('#order-total');
  if (!items || items.length === 0) { el.textContent = ''; return; }
  el.textContent = `Total ${money(items.reduce((a, i) => a + i.quantity * i.price, 0))}`;
}

function removeItem(button) {
  const row = button.closest('.item-row');
  if (document.querySelectorAll('#order-items .item-row').length > 1) row.remove();
  else row.querySelectorAll('input').forEach((i) => { i.value = i.name === 'quantity' ? '1' : ''; });
  updateTotal();
}

async function onPlaceOrder(ev, { streamType, projection }) {
  ev.preventDefault();
  const msg = $('#place-order-msg');
  const idInput = $('#order-id');
  const id = idInput.value.trim();
  const customerId = $('#order-customer').value.trim();
  const shippingAddress = $('#order-address').value.trim();
  const parsed = readItems();
  if (parsed.error) { showMsg(msg, 'error', parsed.error); return; }
  const ok = await run(msg, async () => {
    const r = await execute(streamType, id, { type: 'place_order', customerId, items: parsed.items, shippingAddress });
    select(streamType, id);
    const n = parsed.items.length;
    return `Placed ${id} for ${customerId}: ${n} item${n === 1 ? '' : 's'}, total ${money(r.events[0].data.totalAmount)} (${where(r)}).`;
  });
  if (!ok) return;
  const orders = await read((e) => e.projection(projection)).catch(() => ({}));
  idInput.dataset.edited = 'false';
  idInput.value = nextId('order_', 3, orders);
  $('#order-items').innerHTML = '';
  addItemRow();
}

/** Wires the form: orders are streams of `streamType`, listed by the projection `projection`. */
export function mountOrderForm(orders) {
  $('#place-order-form').addEventListener('submit', (ev) => onPlaceOrder(ev, orders));
  $('#order-add-item').addEventListener('click', () => { addItemRow().querySelector('input').focus(); });
  $('#order-items').addEventListener('click', (ev) => {
    const b = ev.target.closest('[data-remove-item]');
    if (b) removeItem(b);
  });
  $('#order-items').addEventListener('input', updateTotal);
  $('#order-id').addEventListener('input', (ev) => { ev.target.dataset.edited = String(ev.target.value.trim() !== ''); });
  $('#order-id').value = 'order_001';
  addItemRow();
}
