/**
 * History of the selected account (newest first, paged with the hub's `next` cursor) and the
 * "Balance on" lookup (`balance_at`). New transactions pushed while the page is open are merged in on top.
 * @module views/history
 */
import { $, h, busy, clearFormErrors, setFieldError, setMessage } from '../dom.js';
import { nicknameOf } from './payees.js';
import { accountLabel, formatDateTime, formatMoney, localInputToIso, nowLocalInput, toCents } from '../format.js';

const PAGE = 25;
let ctx;
let entries = [];      // loaded entries, newest first
let next = null;       // cursor for older entries
let loadedFor = null;  // account id the entries belong to
let generation = 0;    // discards replies for an account no longer shown
let refreshTimer = null;
let atPicked = false;  // the person chose the "Balance on" time (else it follows the clock)

export function mount(context) {
  ctx = context;
  const { store } = ctx;
  store.on('select', (id) => { reset(); if (id) loadFirst(id); renderHeader(); });
  store.on('accounts', renderHeader);
  store.on('user', (user) => { if (!user) reset(); });
  store.on('balance', ({ id }) => { if (id === store.selected) scheduleRefresh(); });
  store.on('resync', () => { if (store.selected) { reset(); loadFirst(store.selected); } });
  $('history-more').addEventListener('click', async (e) => {
    const btn = e.currentTarget;
    btn.disabled = true;
    try { await loadMore(); } finally { btn.disabled = false; }
  });
  // Until the person picks a time, "Balance on" means now (the time of the lookup, not of the page load).
  $('balance-at-input').value = nowLocalInput();
  $('balance-at-input').addEventListener('input', () => { atPicked = true; });
  $('balance-at-form').addEventListener('submit', (e) => {
    e.preventDefault();
    busy($('balance-at-form'), lookUpBalance);
  });
}

function reset() {
  generation++;
  entries = [];
  next = null;
  loadedFor = null;
  clearTimeout(refreshTimer);
  setMessage($('balance-at-result'), '');
  setMessage($('history-error'), '');
  render();
}

function renderHeader() {
  const acct = ctx.store.accounts.get(ctx.store.selected);
  $('history-account').textContent = acct ? accountLabel(acct) : '';
}

async function fetchPage(account, before) {
  const args = { account, limit: PAGE };
  if (before != null) args.before = before;
  return ctx.call('history', args);
}

async function loadFirst(account) {
  const gen = generation;
  try {
    const page = await fetchPage(account);
    if (gen !== generation) return;
    entries = page.entries;
    next = page.next ?? null;
    loadedFor = account;
    render();
  } catch (err) {
    if (gen === generation) ctx.showError($('history-error'), err);
  }
}

async function loadMore() {
  if (next == null || !loadedFor) return;
  const gen = generation;
  try {
    const page = await fetchPage(loadedFor, next);
    if (gen !== generation) return;
    const seen = new Set(entries.map((e) => e.txn));
    entries = entries.concat(page.entries.filter((e) => !seen.has(e.txn)));
    next = page.next ?? null;
    render();
  } catch (err) {
    if (gen === generation) ctx.showError($('history-error'), err);
  }
}

/** Balance events come in bursts (a bot, a replay): fetch the newest page once things settle. */
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refreshTop, 250);
}

async function refreshTop() {
  const account = loadedFor;
  if (!account) return;
  const gen = generation;
  try {
    const page = await fetchPage(account);
    if (gen !== generation) return;
    const seen = new Set(entries.map((e) => e.txn));
    const fresh = page.entries.filter((e) => !seen.has(e.txn));
    if (fresh.length === page.entries.length && entries.length) {
      entries = page.entries; // more new entries than one page: start over from the newest
      next = page.next ?? null;
    } else {
      entries = fresh.concat(entries);
    }
    render(new Set(fresh.map((e) => e.txn)));
  } catch (err) {
    console.warn('history refresh', err);
  }
}

function describe(e) {
  const other = e.counterparty ? ctx.store.accounts.get(String(e.counterparty)) : null;
  const nickname = e.counterparty && !other ? nicknameOf(e.counterparty) : null;
  const otherText = other ? accountLabel(other) : nickname ? `${nickname} (account ${e.counterparty})` : `account ${e.counterparty}`;
  const negative = (toCents(e.amount) ?? 0n) < 0n;
  const goal = e.counterparty ? ctx.store.goals.get(String(e.counterparty)) : null;
  const goalText = goal ? `savings goal ${goal.name}` : 'a savings goal';
  switch (e.kind) {
    case 'deposit': return 'Deposit';
    case 'withdraw': case 'withdrawal': return 'Withdrawal';
    case 'transfer': return negative ? `Transfer to ${otherText}` : `Transfer from ${otherText}`;
    case 'goal_fund': return `Put aside for ${goalText}`;
    case 'goal_withdraw': return `Back from ${goalText}`;
    default: return e.kind ? e.kind.charAt(0).toUpperCase() + e.kind.slice(1).replace(/_/g, ' ') : 'Transaction';
  }
}

function render(highlight = new Set()) {
  const body = $('history-body');
  body.replaceChildren(...entries.map((e) => {
    const negative = (toCents(e.amount) ?? 0n) < 0n;
    return h('tr', { class: highlight.has(e.txn) ? 'row-new' : null },
      h('td', { class: 'nowrap' }, h('time', { datetime: e.at }, formatDateTime(e.at))),
      h('td', {}, h('span', { class: 'desc' }, describe(e)), e.note ? h('span', { class: 'note muted' }, e.note) : null),
      h('td', { class: `num money ${negative ? 'neg' : 'pos'}` }, formatMoney(e.amount, { signed: true })),
      h('td', { class: 'num money col-balance' }, formatMoney(e.balance_after)));
  }));
  const shown = !!ctx.store.selected;
  $('history-table').hidden = entries.length === 0;
  $('history-empty').hidden = !shown || loadedFor === null || entries.length > 0;
  $('history-more').hidden = next == null;
}

async function lookUpBalance() {
  const form = $('balance-at-form');
  clearFormErrors(form);
  setMessage($('balance-at-result'), '');
  const account = ctx.store.selected;
  if (!atPicked) form.elements.at.value = nowLocalInput();
  const at = localInputToIso(form.elements.at.value);
  if (!account) { setMessage($('history-error'), 'Choose an account first.'); return; }
  if (!at) { setFieldError(form.elements.at, 'Enter a date and time.'); form.elements.at.focus(); return; }
  try {
    const res = await ctx.call('balance_at', { account, at });
    setMessage($('balance-at-result'), `Balance on ${formatDateTime(res.at ?? at)}: ${formatMoney(res.balance)}`);
  } catch (err) {
    if (err.field === 'at') ctx.fieldError(form.elements.at, err);
    else ctx.showError($('history-error'), err);
  }
}
