/**
 * Accounts card: the list with live balances, the total, and "Open account". Owns the `account:ID`
 * subscriptions and keeps `store.accounts` current from `balance` events.
 * @module views/accounts
 */
import { $, h, busy, clearFormErrors, setFieldError, setMessage } from '../dom.js';
import { accountLabel, formatMoney, fromCents, parseAmountInput, spokenMoney, toCents } from '../format.js';
import { fillOpenAccounts } from './choices.js';

let ctx;

export function mount(context) {
  ctx = context;
  const { store } = ctx;
  $('open-form').addEventListener('submit', (e) => {
    e.preventDefault();
    busy($('open-form'), openAccount);
  });
  $('accounts-list').addEventListener('click', (e) => {
    const btn = e.target.closest('button[data-account]');
    if (btn) store.select(btn.dataset.account);
  });
  store.on('select', renderSelection);
  store.on('user', (user) => { if (!user) { setMessage($('accounts-welcome'), ''); render(); } });
  store.on('resync', (stream) => { if (stream.startsWith('account:')) load().catch(() => {}); });
  store.on('event', (ev) => { if (ev.event === 'balance') applyBalance(ev.data); });
  store.on('reply-balance', applyBalance);
}

/** Read the accounts, subscribe to each, then read them again: a change between the first read and the
 * subscription would otherwise be missed (the protocol gives no seq with `accounts`). */
export async function load() {
  const { store } = ctx;
  const { accounts } = await ctx.call('accounts');
  setAccounts(accounts);
  await Promise.all(accounts.map((a) => subscribe(a.id)));
  if (!ctx.store.user) return;
  const again = await ctx.call('accounts');
  setAccounts(again.accounts);
  if (!store.selected && store.accounts.size) store.select(store.accounts.keys().next().value);
}

function subscribe(id) {
  return ctx.subscribe(`account:${id}`).catch((err) => {
    console.warn(`subscribe account:${id}`, err);
  });
}

function setAccounts(list) {
  const { store } = ctx;
  const before = new Map(store.accounts);
  store.accounts.clear();
  for (const a of list) store.accounts.set(a.id, { ...a, lastTxn: before.get(a.id)?.lastTxn });
  render();
  for (const a of list) {
    const old = before.get(a.id);
    if (old && old.balance !== a.balance) flash(a.id, old.balance, a.balance);
  }
  store.emit('accounts');
}

/** Apply a `balance` event (or a reply's `balance`): update, flash and announce. */
export function applyBalance({ account, balance, txn }) {
  const acct = ctx.store.accounts.get(String(account));
  if (!acct) return;
  // A reply and the events of other transactions can cross: never go back to an older transaction's balance
  // (transaction ids are assigned in commit order).
  if (txn != null && /^[0-9]+$/.test(String(txn))) {
    if (acct.lastTxn !== undefined && BigInt(txn) <= BigInt(acct.lastTxn)) return;
    acct.lastTxn = String(txn);
  }
  if (acct.balance === balance) return;
  const before = acct.balance;
  acct.balance = balance;
  // Update in place: re-rendering the list would steal keyboard focus from an account button.
  const el = $('accounts-list').querySelector(`[data-balance-of="${CSS.escape(acct.id)}"]`);
  if (el) el.textContent = formatMoney(balance);
  renderTotal();
  flash(acct.id, before, balance);
  ctx.announce(`${acct.name || 'Account'} ending ${acct.id.slice(-4)}: balance is now ${spokenMoney(balance)}.`);
  ctx.store.emit('balance', { id: acct.id, before, after: balance, txn: txn == null ? null : String(txn) });
}

function flash(id, before, after) {
  const el = $('accounts-list').querySelector(`[data-balance-of="${CSS.escape(id)}"]`);
  if (!el) return;
  const up = toCents(after) > toCents(before);
  el.classList.remove('flash-up', 'flash-down');
  void el.offsetWidth; // restart the animation
  el.classList.add(up ? 'flash-up' : 'flash-down');
  // Not on animationend: with reduced motion there is no animation, only an outline.
  clearTimeout(el.flashTimer);
  el.flashTimer = setTimeout(() => el.classList.remove('flash-up', 'flash-down'), 1700);
}

function render() {
  const { store } = ctx;
  const list = $('accounts-list');
  const items = [...store.accounts.values()].map((a) => h('li', {},
    h('button', {
      type: 'button', class: 'account', dataset: { account: a.id },
      'aria-current': store.selected === a.id ? 'true' : null,
    },
    h('span', { class: 'account-name' }, a.name || 'Account'),
    h('span', { class: 'account-number muted' }, `No. ${a.id}${a.status && a.status !== 'open' ? ` · ${a.status}` : ''}`),
    h('span', { class: 'account-balance money', dataset: { balanceOf: a.id } }, formatMoney(a.balance)))));
  list.replaceChildren(...items);
  $('accounts-empty').hidden = !store.user || store.accounts.size > 0;
  renderTotal();
  renderChoices();
}

function renderTotal() {
  let total = 0n;
  for (const a of ctx.store.accounts.values()) total += toCents(a.balance) ?? 0n;
  $('accounts-total').textContent = formatMoney(fromCents(total));
}

function renderSelection(id) {
  for (const btn of $('accounts-list').querySelectorAll('button[data-account]')) {
    if (btn.dataset.account === id) btn.setAttribute('aria-current', 'true'); else btn.removeAttribute('aria-current');
  }
}

/** Keep the Account / From account selects and the To account suggestions in step with the list. */
function renderChoices() {
  const { store } = ctx;
  for (const id of ['dw-account', 'tx-from']) {
    fillOpenAccounts($(id), store);
  }
  $('tx-to-options').replaceChildren(...[...store.accounts.values()]
    .map((a) => h('option', { value: a.id }, accountLabel(a))));
}

/** After sign-up: the hub opened the first account ("Checking") with the user; say so on the dashboard. */
export function welcome(account) {
  setMessage($('accounts-welcome'), `Welcome! Your ${account.name || 'first'} account, No. ${account.id}, is open. Add money with Deposit below.`);
}

async function openAccount() {
  const form = $('open-form');
  clearFormErrors(form);
  setMessage($('accounts-welcome'), '');
  const name = form.elements.name.value.trim();
  const depositText = form.elements.initial_deposit.value.trim();
  const deposit = depositText ? parseAmountInput(depositText) : null;
  if (deposit && !deposit.ok) { setFieldError(form.elements.initial_deposit, deposit.error); form.elements.initial_deposit.focus(); return; }
  const args = {};
  if (name) args.name = name;
  if (deposit) args.initial_deposit = deposit.amount;
  try {
    const { account } = await ctx.call('open_account', args);
    ctx.store.accounts.set(account.id, { ...account });
    render();
    ctx.store.emit('accounts');
    await subscribe(account.id);
    ctx.store.select(account.id);
    form.elements.name.value = '';
    form.elements.initial_deposit.value = '';
    const funded = deposit ? ` with ${formatMoney(account.balance)}` : '';
    setMessage($('accounts-welcome'), `Opened ${account.name || 'an account'}, No. ${account.id}${funded}.`);
    ctx.announce(`Opened ${account.name || 'account'}, number ${account.id}${funded}.`);
  } catch (err) {
    if (err.field === 'name') ctx.fieldError(form.elements.name, err);
    else if (err.field === 'initial_deposit' || err.code === 'invalid_amount') ctx.fieldError(form.elements.initial_deposit, err);
    else ctx.showError($('open-error'), err, { op: 'open_account' });
  }
}
