/**
 * Money movement: "Deposit or withdraw" and "Transfer" forms, with inline validation and the hub's errors
 * shown next to the field it names (or under the form).
 *
 * Each form keeps one idempotency key until the request succeeds or the person edits the form, so pressing
 * the button again after a timeout or a dropped connection can never move money twice.
 * @module views/money
 */
import { $, busy, clearFormErrors, setFieldError, setMessage } from '../dom.js';
import { accountLabel, formatMoney, parseAmountInput } from '../format.js';
import { applyBalance } from './accounts.js';
import { nicknameOf } from './payees.js';

let ctx;
const keys = new WeakMap(); // form -> idempotency key of the attempt in progress

export function mount(context) {
  ctx = context;
  for (const form of [$('dw-form'), $('tx-form')]) {
    form.addEventListener('input', (e) => {
      keys.delete(form); // different arguments: a new operation
      if (e.target.name) setFieldError(e.target, '');
      setMessage(form.querySelector('.form-success'), '');
    });
    form.addEventListener('change', () => keys.delete(form));
    // Normalize the amount when leaving the field ("1,250.5" -> "1250.50") and say what is wrong early.
    form.elements.amount.addEventListener('blur', (e) => {
      if (!e.target.value.trim()) return;
      const r = parseAmountInput(e.target.value);
      if (r.ok) e.target.value = r.amount; else setFieldError(e.target, r.error);
    });
  }
  $('dw-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const op = e.submitter?.value === 'withdraw' ? 'withdraw' : 'deposit';
    busy($('dw-form'), () => depositOrWithdraw(op));
  });
  $('tx-form').addEventListener('submit', (e) => {
    e.preventDefault();
    busy($('tx-form'), transfer);
  });
  ctx.store.on('select', (id) => {
    for (const sel of [$('dw-account'), $('tx-from')]) if ([...sel.options].some((o) => o.value === id)) sel.value = id;
  });
}

function keyFor(form) {
  if (!keys.has(form)) keys.set(form, ctx.newIdempotencyKey());
  return keys.get(form);
}

function checkAmount(form) {
  const r = parseAmountInput(form.elements.amount.value);
  if (!r.ok) setFieldError(form.elements.amount, r.error);
  return r.ok ? r.amount : null;
}

/** What the page knows about a refused money movement: the account money comes from (its label and the
 * balance the page shows) and the amount asked, so "not enough money" can say how much is there. */
function aboutMoney(op, accountId, amount) {
  const acct = ctx.store.accounts.get(String(accountId));
  return { op, from: acct ? accountLabel(acct) : `account ${accountId}`, available: acct?.balance, amount };
}

function showFailure(form, err, about) {
  const field = err.field && form.elements[err.field];
  if (field) { ctx.fieldError(field, err, about); field.focus(); return; }
  if (err.code === 'invalid_amount' || err.code === 'insufficient_funds') {
    ctx.fieldError(form.elements.amount, err, about);
    form.elements.amount.focus();
    return;
  }
  if (err.code === 'same_account' || (err.code === 'not_found' && form.elements.to)) {
    ctx.fieldError(form.elements.to, err, about);
    form.elements.to.focus();
    return;
  }
  if (err.code === 'cancelled') {
    setMessage(form.querySelector('.form-error'), 'Not sent: the verification was cancelled.');
    return;
  }
  ctx.showError(form.querySelector('.form-error'), err, about);
}

/** The end of a success sentence: replay note and new balance (unknown when confirmed on another screen). */
function tail(res) {
  const again = res.replayed ? ' (already done earlier; nothing moved twice)' : '';
  const where = res.confirmedElsewhere ? ', confirmed on another screen' : '';
  return `${again}${where}.${res.balance !== undefined ? ` New balance: ${formatMoney(res.balance)}.` : ''}`;
}

function succeed(form, text, { balance, txn }, accountId) {
  keys.delete(form);
  form.elements.amount.value = '';
  form.elements.note.value = '';
  if (balance !== undefined) applyBalance({ account: accountId, balance, txn: txn?.id });
  setMessage(form.querySelector('.form-success'), text);
}

async function depositOrWithdraw(op) {
  const form = $('dw-form');
  clearFormErrors(form);
  const account = form.elements.account.value;
  if (!account) setFieldError(form.elements.account, 'Open an account first.');
  const amount = checkAmount(form);
  if (!account || !amount) { form.querySelector('[aria-invalid="true"]')?.focus(); return; }
  const args = { account, amount, idempotency_key: keyFor(form) };
  const note = form.elements.note.value.trim();
  if (note) args.note = note;
  try {
    const res = await ctx.call(op, args);
    const acct = ctx.store.accounts.get(account);
    const verb = op === 'deposit' ? 'Deposited' : 'Withdrew';
    const prep = op === 'deposit' ? 'to' : 'from';
    succeed(form, `${verb} ${formatMoney(amount)} ${prep} ${accountLabel(acct) || account}${tail(res)}`, res, account);
  } catch (err) {
    showFailure(form, err, aboutMoney(op, account, amount));
  }
}

async function transfer() {
  const form = $('tx-form');
  clearFormErrors(form);
  const from = form.elements.from.value;
  const to = form.elements.to.value.trim().replace(/\s+/g, '');
  let ok = true;
  if (!from) { setFieldError(form.elements.from, 'Open an account first.'); ok = false; }
  if (!to) { setFieldError(form.elements.to, 'Enter the account number to send to.'); ok = false; }
  else if (!/^[0-9]{1,20}$/.test(to)) { setFieldError(form.elements.to, 'An account number has digits only.'); ok = false; }
  else if (to === from) { setFieldError(form.elements.to, 'Choose a different account from the one you send from.'); ok = false; }
  const amount = checkAmount(form);
  if (!ok || !amount) { form.querySelector('[aria-invalid="true"]')?.focus(); return; }
  const args = { from, to, amount, idempotency_key: keyFor(form) };
  const note = form.elements.note.value.trim();
  if (note) args.note = note;
  try {
    const res = await ctx.call('transfer', args);
    const dest = ctx.store.accounts.get(to);
    const nickname = nicknameOf(to);
    const name = dest ? accountLabel(dest) : nickname ? `${nickname} (account ${to})` : `account ${to}`;
    succeed(form, `Sent ${formatMoney(amount)} to ${name}${tail(res)}`, res, from);
    form.elements.to.value = '';
    form.elements.payee.value = '';
    ctx.store.emit('transferred', { from, to, amount });
  } catch (err) {
    showFailure(form, err, aboutMoney('transfer', from, amount));
  }
}
