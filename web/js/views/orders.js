/**
 * Standing orders on the Payments page: the list (`orders`), a form to set one up (`order_create`, held for
 * a one-time code like a large transfer when the hub asks), cancel (`order_cancel`), and the live `order`
 * events `{action: "paid"|"failed", order, txn | reason, message, due}` on `user:ID`: each payment made (or
 * refused) by the hub is shown as it happens, and the order's row follows.
 * @module views/orders
 */
import { $, h, busy, clearFormErrors, setFieldError, setMessage } from '../dom.js';
import { accountLabel, formatDateTime, formatMoney, parseAmountInput } from '../format.js';
import { fillOpenAccounts, todayLocalDate } from './choices.js';
import { nicknameOf } from './payees.js';

const EVERY_TEXT = { day: 'every day', week: 'every week', month: 'every month' };
const STATUS_TEXT = { active: 'Active', cancelled: 'Cancelled', completed: 'Finished' };
const LOG_ITEMS_MAX = 20;
/** Time of day (local) at which an order starting on a later date is first paid. */
const LATER_START_HOUR = 9;

let ctx;
let generation = 0;
const orders = new Map(); // id -> order
const logged = new Set();  // "order:due" already in the payments log

export function mount(context) {
  ctx = context;
  const { store } = ctx;
  store.on('user', (user) => {
    generation++;
    orders.clear();
    logged.clear();
    $('orders-log').replaceChildren();
    $('orders-log-empty').hidden = false;
    render();
    if (user) load();
  });
  store.on('resync', (stream) => { if (stream.startsWith('user:')) load(); });
  store.on('accounts', () => { renderFromChoices(); render(); });
  store.on('payees', render);
  store.on('event', (ev) => { if (ev.event === 'order' && ev.data?.order) applyEvent(ev.data); });
  store.on('page', (page) => { if (page === 'payments' && !$('order-start').value) $('order-start').value = todayLocalDate(); });
  const form = $('order-form');
  form.addEventListener('submit', (e) => { e.preventDefault(); busy(form, createOrder); });
  for (const el of form.elements) if (el.name) el.addEventListener('input', () => setFieldError(el, ''));
  form.elements.amount.addEventListener('blur', (e) => {
    const r = parseAmountInput(e.target.value);
    if (e.target.value.trim() && r.ok) e.target.value = r.amount;
  });
  $('order-start').value = todayLocalDate();
  $('orders-list').addEventListener('click', (e) => {
    const btn = e.target.closest('button[data-cancel-order]');
    if (btn) cancelOrder(btn);
  });
}

async function load() {
  const gen = generation;
  try {
    const { orders: list } = await ctx.call('orders', {});
    if (gen !== generation) return;
    orders.clear();
    for (const o of list) orders.set(String(o.id), o);
    setMessage($('orders-status'), '');
    render();
  } catch (err) {
    if (gen !== generation) return;
    if (ctx.isUnavailable(err)) setMessage($('orders-status'), 'Standing orders are not available on this hub yet.');
    else ctx.showError($('orders-status'), err);
  }
}

/** "Mum (account 1002)", "Savings ··1003", or "account 1002". */
function recipient(id) {
  const own = ctx.store.accounts.get(String(id));
  if (own) return accountLabel(own);
  const nickname = nicknameOf(id);
  return nickname ? `${nickname} (account ${id})` : `account ${id}`;
}

function source(id) {
  const own = ctx.store.accounts.get(String(id));
  return own ? accountLabel(own) : `account ${id}`;
}

function applyEvent(d) {
  const o = d.order;
  orders.set(String(o.id), o);
  render(String(o.id));
  const key = `${o.id}:${d.due ?? d.txn?.id ?? ''}`;
  if (logged.has(key)) return;
  logged.add(key);
  const paid = d.action === 'paid';
  const what = `${formatMoney(o.amount)} to ${recipient(o.to)}`;
  let line;
  let code = null;
  if (paid) {
    line = `Paid ${what} from ${source(o.from)}.`;
  } else {
    line = `Not paid: ${what}. ${ctx.describeError({ code: d.reason, message: d.message },
      { op: 'order', from: source(o.from), available: ctx.store.accounts.get(String(o.from))?.balance, amount: o.amount })}`;
    code = d.reason ?? null;
  }
  const item = h('li', { class: `row-new${paid ? '' : ' failed'}`, dataset: { order: o.id } },
    h('span', {}, line, code ? h('small', { class: 'error-code' }, ` code: ${code}`) : null),
    h('span', { class: 'muted order-meta' }, `Standing order No. ${o.id} · ${formatDateTime(paid ? d.txn?.at ?? d.due : d.due)}`));
  const log = $('orders-log');
  log.prepend(item);
  while (log.children.length > LOG_ITEMS_MAX) log.lastElementChild.remove();
  $('orders-log-empty').hidden = true;
  ctx.announce(`Standing order: ${line}`);
}

function render(highlight = null) {
  const list = [...orders.values()].sort((a, b) => Number(b.id) - Number(a.id));
  $('orders-list').replaceChildren(...list.map((o) => row(o, String(o.id) === highlight)));
  $('orders-empty').hidden = list.length > 0;
}

function progress(o) {
  const failed = o.failed ? ` (${o.failed} not paid)` : '';
  if (o.count != null) return `${o.paid ?? 0} of ${o.count} paid${failed}`;
  return `${o.paid ?? 0} paid so far${failed}`;
}

function row(o, isNew) {
  const next = o.status === 'active' && o.next_due ? `Next payment ${formatDateTime(o.next_due)}` : null;
  return h('li', { class: `order${isNew ? ' row-new' : ''}`, dataset: { order: o.id } },
    h('div', { class: 'order-main' },
      h('span', { class: 'order-title' }, `${formatMoney(o.amount)} ${EVERY_TEXT[o.every] ?? o.every} to ${recipient(o.to)}`),
      h('span', { class: `status status-${o.status}` }, STATUS_TEXT[o.status] ?? o.status)),
    h('p', { class: 'order-meta muted' },
      [`No. ${o.id}`, `from ${source(o.from)}`, next, progress(o), o.note ? `“${o.note}”` : null].filter(Boolean).join(' · ')),
    o.status === 'active'
      ? h('button', { type: 'button', class: 'btn btn-ghost btn-sm', dataset: { cancelOrder: o.id }, 'aria-label': `Cancel standing order ${o.id}` }, 'Cancel order')
      : null);
}

function renderFromChoices() {
  fillOpenAccounts($('order-from'), ctx.store);
}

/** The first payment's time: now for today (the hub pays it at once), else that day at 9:00 local time. */
function startFor(day) {
  if (day === todayLocalDate()) return new Date().toISOString();
  const [y, m, d] = day.split('-').map(Number);
  return new Date(y, m - 1, d, LATER_START_HOUR).toISOString();
}

function validate(form) {
  const from = form.elements.from.value;
  const to = form.elements.to.value.trim().replace(/\s+/g, '');
  const amount = parseAmountInput(form.elements.amount.value);
  const day = form.elements.start.value;
  const count = form.elements.count.value.trim();
  if (!from) setFieldError(form.elements.from, 'Open an account first.');
  if (!to) setFieldError(form.elements.to, 'Enter the account number to pay, or pick a payee.');
  else if (!/^[0-9]{1,20}$/.test(to)) setFieldError(form.elements.to, 'An account number has digits only.');
  else if (to === from) setFieldError(form.elements.to, 'Choose a different account from the one you pay from.');
  if (!amount.ok) setFieldError(form.elements.amount, amount.error);
  if (!day) setFieldError(form.elements.start, 'Choose the day of the first payment.');
  else if (day < todayLocalDate()) setFieldError(form.elements.start, 'Choose today or a later day.');
  if (count && !(/^[0-9]{1,5}$/.test(count) && +count >= 1 && +count <= 10000)) {
    setFieldError(form.elements.count, 'Enter a number of payments from 1 to 10,000, or leave it empty.');
  }
  if (form.querySelector('[aria-invalid="true"]')) return null;
  const args = { from, to, amount: amount.amount, every: form.elements.every.value, start: startFor(day) };
  if (count) args.count = Number(count);
  const note = form.elements.note.value.trim();
  if (note) args.note = note;
  return args;
}

async function createOrder() {
  const form = $('order-form');
  clearFormErrors(form);
  const args = validate(form);
  if (!args) { form.querySelector('[aria-invalid="true"]')?.focus(); return; }
  try {
    const { order } = await ctx.call('order_create', args);
    if (order) { orders.set(String(order.id), order); render(String(order.id)); }
    for (const name of ['to', 'amount', 'count', 'note']) form.elements[name].value = '';
    form.elements.payee.value = '';
    const when = order?.next_due ? ` First payment: ${formatDateTime(order.next_due)}.` : '';
    setMessage($('order-success'), `Standing order set up: ${formatMoney(args.amount)} ${EVERY_TEXT[args.every]} to ${recipient(args.to)}.${when}`);
  } catch (err) {
    const about = { op: 'order_create' };
    const field = err.field && form.elements[err.field];
    if (field) { ctx.fieldError(field, err, about); field.focus(); }
    else if (err.code === 'not_found' || err.code === 'same_account') { ctx.fieldError(form.elements.to, err, about); form.elements.to.focus(); }
    else if (err.code === 'invalid_amount') { ctx.fieldError(form.elements.amount, err, about); form.elements.amount.focus(); }
    else if (err.code === 'cancelled') setMessage($('order-error'), 'Not set up: the verification was cancelled.');
    else ctx.showError($('order-error'), err, about);
  }
}

async function cancelOrder(btn) {
  btn.disabled = true;
  try {
    const { order } = await ctx.call('order_cancel', { id: btn.dataset.cancelOrder });
    orders.set(String(order.id), order);
    render();
    ctx.announce(`Standing order ${order.id} cancelled.`);
    $('order-from').focus();
  } catch (err) {
    btn.disabled = false;
    ctx.showError($('orders-status'), err);
    if (err.code === 'conflict' || err.code === 'not_found') load();
  }
}
