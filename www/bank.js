// The bank: open an account, move money, close it; the accounts as the `account_balance`
// projection has them (as of the time-travel point); how bank events and accounts are worded.
import { store } from './store.js';
import { read, execute } from './engine.js';
import { defineSection, refresh } from './refresh.js';
import { describeEvents, describeState } from './describe.js';
import { ACCOUNTS } from './domains.js';
import { select } from './inspector.js';
import { money, count, parseMoney, dateTime, esc, where } from './format.js';
import { $, showMsg, run, renderPager, nextId, suggestId } from './ui.js';

const { streamType: STREAM_TYPE, projection: PROJECTION } = ACCOUNTS;
const PAGE = 10;
let accountsNow = {};   // the projection now: for the id suggestion
let optionsKey = '';    // what #tx-account lists, to rebuild it only when that changes

describeEvents({
  account_created: (d) => `holder ${d.accountHolder ?? '(erased)'}${d.initialDeposit ? ` · initial ${money(d.initialDeposit)}` : ''}`,
  money_deposited: (d) => `+${money(d.amount)} → ${money(d.balanceAfter)}${d.description ? ` · ${d.description}` : ''}`,
  money_withdrawn: (d) => `−${money(d.amount)} → ${money(d.balanceAfter)}${d.description ? ` · ${d.description}` : ''}`,
  account_closed: (d) => `final balance ${money(d.finalBalance)}`,
});

const status = (active) => `<span class="status status-${active ? 'active' : 'closed'}" data-testid="account-status">${active ? 'active' : 'closed'}</span>`;

describeState(STREAM_TYPE, (st) => [
  ['Holder', st.accountHolder === null
    ? '<span class="muted" data-testid="holder-erased">(erased)</span>'
    // Forgetting needs the data keys; a synced page has none (its server would hold them).
    : `${esc(st.accountHolder)}${store.state.storage?.synced ? '' : ` <button type="button" class="link danger" data-forget="${esc(st.accountId)}" data-testid="forget-customer">Forget this customer</button>`}`],
  ['Balance', `<strong class="mono" data-testid="inspector-balance">${money(st.balance)}</strong>`],
  ['Status', status(st.isActive)],
  ['Opened', esc(dateTime(st.createdAt))],
  ...(st.closedAt ? [['Closed', esc(dateTime(st.closedAt))]] : []),
]);

function renderBank() {
  const { travel } = store.state;
  const at = travel != null ? { at: { position: travel } } : undefined;
  return read(async (e) => {
    const now = await e.projection(PROJECTION);
    return [now, at ? await e.projection(PROJECTION, at) : now];
  }, { key: 'bank', deps: ['bank', 'travel'] }, showAccounts);
}

function showAccounts([now, shown]) {
  const { travel, bank: view } = store.state;
  accountsNow = now;
  fillAccountSelect(now);
  suggestId($('#create-account-id'), 'account_', now);
  $('#stat-accounts').textContent = count(Object.keys(now).length);

  const q = view.search.toLowerCase();
  const rows = Object.values(shown)
    .filter((a) => !q || a.accountId.toLowerCase().includes(q) || String(a.accountHolder).toLowerCase().includes(q))
    .sort((a, b) => (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0));
  const pages = Math.max(1, Math.ceil(rows.length / PAGE));
  const page = Math.min(view.page, pages - 1);
  const slice = rows.slice(page * PAGE, (page + 1) * PAGE);
  const total = Object.keys(shown).length;
  const selected = store.state.selected?.id;
  $('#accounts-count').textContent = total ? `· ${count(total)}${q ? `, ${count(rows.length)} shown` : ''}` : '';
  $('#accounts-table tbody').innerHTML = slice.length === 0
    ? `<tr><td colspan="4" class="empty">${total ? 'No account matches.' : travel != null ? 'No accounts at this point in time.' : 'No accounts yet: open one above.'}</td></tr>`
    : slice.map((a) => `<tr data-account-id="${esc(a.accountId)}" class="${selected === a.accountId ? 'selected' : ''}">
        <td><button type="button" class="link mono" data-select="${STREAM_TYPE}" data-id="${esc(a.accountId)}">${esc(a.accountId)}</button></td>
        <td>${a.accountHolder === null ? '<span class="muted">(erased)</span>' : esc(a.accountHolder)}</td>
        <td class="num mono" data-testid="balance">${money(a.balance)}</td>
        <td>${status(a.isActive)}</td>
      </tr>`).join('');
  renderPager($('#accounts-pager'), page, pages, (p) => store.update('bank', { page: p }));
}

function fillAccountSelect(accounts) {
  const list = Object.values(accounts).sort((a, b) => (a.accountId < b.accountId ? -1 : 1));
  const key = list.map((a) => `${a.accountId}\u0000${a.accountHolder}\u0000${a.isActive}`).join('\u0001');
  if (key === optionsKey) return;
  optionsKey = key;
  const sel = $('#tx-account');
  const keep = sel.value;
  sel.innerHTML = list.length === 0
    ? '<option value="">— no accounts yet —</option>'
    : list.map((a) => `<option value="${esc(a.accountId)}">${esc(a.accountId)} · ${esc(a.accountHolder ?? '(erased)')}${a.isActive ? '' : ' (closed)'}</option>`).join('');
  if (keep && list.some((a) => a.accountId === keep)) sel.value = keep;
}

async function onCreateAccount(ev) {
  ev.preventDefault();
  const msg = $('#create-account-msg');
  const idInput = $('#create-account-id');
  const id = idInput.value.trim();
  const holder = $('#create-account-holder').value.trim();
  const dep = parseMoney($('#create-account-deposit').value, { allowEmpty: true });
  if (dep.error) { showMsg(msg, 'error', dep.error); $('#create-account-deposit').focus(); return; }
  const ok = await run(msg, async () => {
    const r = await execute(STREAM_TYPE, id, { type: 'create_account', accountHolder: holder, initialDeposit: dep.cents });
    select(STREAM_TYPE, id);
    return `Opened ${id} for ${holder} with ${money(dep.cents)} (${where(r, true)}).`;
  });
  if (!ok) return;
  await refresh(['bank']);
  $('#tx-account').value = id;
  $('#create-account-holder').value = '';
  $('#create-account-deposit').value = '';
  idInput.dataset.edited = 'false';
  idInput.value = nextId('account_', 3, accountsNow);
}

async function onTransaction(ev) {
  ev.preventDefault();
  const action = (ev.submitter && ev.submitter.value) || 'deposit';
  const msg = $('#tx-msg');
  const id = $('#tx-account').value;
  if (!id) { showMsg(msg, 'error', 'Open an account first.'); return; }
  if (action === 'close') {
    await run(msg, async () => {
      const r = await execute(STREAM_TYPE, id, { type: 'close_account' });
      select(STREAM_TYPE, id);
      return `Closed ${id}; final balance ${money(r.events[0].data.finalBalance)}.`;
    });
    return;
  }
  const amt = parseMoney($('#tx-amount').value);
  if (amt.error) { showMsg(msg, 'error', amt.error); $('#tx-amount').focus(); return; }
  const description = $('#tx-description').value.trim();
  const ok = await run(msg, async () => {
    const r = await execute(STREAM_TYPE, id, { type: action, amount: amt.cents, description });
    select(STREAM_TYPE, id);
    const [verb, prep] = action === 'deposit' ? ['Deposited', 'into'] : ['Withdrew', 'from'];
    return `${verb} ${money(amt.cents)} ${prep} ${id}; balance ${money(r.events[0].data.balanceAfter)} (${where(r)}, version ${r.version}).`;
  });
  if (ok) { $('#tx-amount').value = ''; $('#tx-description').value = ''; }
}

/**
 * "Forget this customer": the engine deletes the account's key, so its holder's name reads as
 * null everywhere (the log marks the erased field); then the chain is verified again: it still
 * holds, because it covers the ciphertext, which did not change.
 */
async function onForget(ev) {
  const button = ev.target.closest('[data-forget]');
  if (!button) return;
  const id = button.dataset.forget;
  const msg = $('#tx-msg');
  button.disabled = true;
  const ok = await run(msg, async () => {
    const checked = await read(async (e) => {
      await e.forget(id);
      return e.verify();
    });
    return `Forgot the holder of ${id}: the name is erased for good. The hash chain still verifies (${count(checked.checked)} events${checked.ok ? ', intact' : ', BROKEN'}).`;
  });
  if (ok) await refresh();
  button.disabled = false;
}

/** A selected account becomes the one money moves on and the one charted. */
function followSelection({ selected }) {
  for (const tr of document.querySelectorAll('#accounts-table tr[data-account-id]')) tr.classList.toggle('selected', tr.dataset.accountId === selected?.id);
  if (selected?.type !== STREAM_TYPE) return;
  store.set({ chartAccount: selected.id });
  if ([...$('#tx-account').options].some((o) => o.value === selected.id)) $('#tx-account').value = selected.id;
}

/** Forgets what was shown of the previous engine's log (a reset database). */
function forget() {
  accountsNow = {};
  optionsKey = '';
  $('#create-account-id').value = 'account_001';
}

export function mountBank() {
  defineSection('bank', renderBank, { deps: ['bank', 'travel'] });
  store.subscribe(['selected'], followSelection);
  store.subscribe(['engine'], (s) => { if (!s.engine) forget(); });
  $('#create-account-form').addEventListener('submit', onCreateAccount);
  $('#tx-form').addEventListener('submit', onTransaction);
  $('#inspector').addEventListener('click', onForget);
  $('#create-account-id').addEventListener('input', (ev) => { ev.target.dataset.edited = String(ev.target.value.trim() !== ''); });
  $('#accounts-search').addEventListener('input', (ev) => store.update('bank', { search: ev.target.value.trim(), page: 0 }));
  $('#create-account-id').value = 'account_001';
}
