/**
 * Savings goals on the accounts page: a card per goal with a progress bar (`goals`, `goal_create`,
 * `goal_fund`, `goal_withdraw`, `goal_delete`; live `goal` events `{action: created|funded|withdrawn|deleted,
 * goal}` on `user:ID`). A goal's money is its own, set aside from one of the user's accounts; deleting a
 * goal returns what it saved to that account.
 *
 * Progress is computed in BigInt cents (per mille of the target), never in floating point; the bar is a
 * native <progress>, so it needs no inline style under the page's CSP.
 * @module views/goals
 */
import { $, h, busy, clearFormErrors, setFieldError, setMessage } from '../dom.js';
import { accountLabel, formatMoney, fromCents, parseAmountInput, toCents } from '../format.js';
import { fillOpenAccounts, todayLocalDate } from './choices.js';
import { applyBalance } from './accounts.js';

let ctx;
let generation = 0;
const keys = new Map();   // goal id -> idempotency key of the movement in progress (kept until it succeeds)

export function mount(context) {
  ctx = context;
  const { store } = ctx;
  store.on('user', (user) => {
    generation++;
    store.goals.clear();
    keys.clear();
    render();
    if (user) load();
  });
  store.on('resync', (stream) => { if (stream.startsWith('user:')) load(); });
  store.on('accounts', () => { renderAccountChoices(); render(); });
  store.on('event', (ev) => { if (ev.event === 'goal' && ev.data?.goal) applyEvent(ev.data); });
  $('goal-form').addEventListener('submit', (e) => { e.preventDefault(); busy($('goal-form'), createGoal); });
  for (const el of $('goal-form').elements) if (el.name) el.addEventListener('input', () => setFieldError(el, ''));
  $('goal-form').elements.target.addEventListener('blur', (e) => {
    const r = parseAmountInput(e.target.value);
    if (e.target.value.trim() && r.ok) e.target.value = r.amount;
  });
  const list = $('goals-list');
  list.addEventListener('submit', (e) => {
    const form = e.target.closest('form[data-goal]');
    if (!form) return;
    e.preventDefault();
    const op = e.submitter?.value === 'withdraw' ? 'goal_withdraw' : 'goal_fund';
    busy(form, () => move(form, op));
  });
  list.addEventListener('input', (e) => {
    const form = e.target.closest('form[data-goal]');
    if (!form) return;
    keys.delete(form.dataset.goal); // a different amount: a new movement
    setFieldError(e.target, '');
    setMessage(form.querySelector('.form-success'), '');
  });
  list.addEventListener('click', (e) => {
    const btn = e.target.closest('button[data-delete-goal]');
    if (btn) deleteGoal(btn);
  });
}

async function load() {
  const gen = generation;
  try {
    const { goals } = await ctx.call('goals', {});
    if (gen !== generation) return;
    ctx.store.goals.clear();
    for (const g of goals) ctx.store.goals.set(String(g.id), g);
    setMessage($('goals-status'), '');
    render();
  } catch (err) {
    if (gen !== generation) return;
    if (ctx.isUnavailable(err)) setMessage($('goals-status'), 'Savings goals are not available on this hub yet.');
    else ctx.showError($('goals-status'), err);
  }
}

function applyEvent({ action, goal }) {
  const id = String(goal.id);
  if (action === 'deleted') {
    if (!ctx.store.goals.delete(id)) return;
    ctx.announce(`Savings goal ${goal.name} was deleted.`);
  } else {
    ctx.store.goals.set(id, goal);
  }
  render();
}

/** Saved per mille of the target, 0 to 1000 (BigInt arithmetic, rounded down). */
export function perMille(saved, target) {
  const s = toCents(saved) ?? 0n;
  const t = toCents(target) ?? 0n;
  if (t <= 0n) return 1000;
  const pm = (s * 1000n) / t;
  return Number(pm > 1000n ? 1000n : pm < 0n ? 0n : pm);
}

function render() {
  const list = $('goals-list');
  const goals = [...ctx.store.goals.values()].sort((a, b) => Number(a.id) - Number(b.id));
  const existing = new Map([...list.children].map((li) => [li.dataset.goalCard, li]));
  const cards = goals.map((g) => {
    const li = existing.get(String(g.id)) ?? card(g);
    update(li, g);
    return li;
  });
  // Keep cards (their typed amounts and focus) that are still there; add new ones, drop deleted ones.
  const focused = document.activeElement;
  if (cards.length !== list.children.length || cards.some((c, i) => list.children[i] !== c)) list.replaceChildren(...cards);
  if (focused && !document.contains(focused) && cards.length) cards[0].querySelector('input')?.focus();
  $('goals-empty').hidden = goals.length > 0;
  let total = 0n;
  for (const g of goals) total += toCents(g.saved) ?? 0n;
  $('goals-total').textContent = formatMoney(fromCents(total));
}

function card(g) {
  const id = String(g.id);
  return h('li', { class: 'goal', dataset: { goalCard: id } },
    h('div', { class: 'goal-head' },
      h('span', { class: 'goal-name' }),
      h('span', { class: 'goal-pct' })),
    h('progress', { class: 'goal-progress', max: 1000, value: 0 }),
    h('p', { class: 'goal-figures' }),
    h('p', { class: 'goal-meta muted' }),
    h('form', { class: 'goal-move', novalidate: true, dataset: { goal: id } },
      h('div', { class: 'field' },
        h('label', { for: `goal-amount-${id}` }, 'Amount'),
        h('div', { class: 'input-money' }, h('span', { 'aria-hidden': 'true' }, '$'),
          h('input', { id: `goal-amount-${id}`, name: 'amount', inputmode: 'decimal', autocomplete: 'off', placeholder: '0.00',
            'aria-describedby': `goal-amount-${id}-error` })),
        h('p', { id: `goal-amount-${id}-error`, class: 'field-error', hidden: true })),
      h('button', { type: 'submit', class: 'btn btn-primary', value: 'fund' }, 'Add money'),
      h('button', { type: 'submit', class: 'btn btn-secondary', value: 'withdraw' }, 'Take out'),
      h('p', { class: 'form-error', role: 'alert', hidden: true }),
      h('p', { class: 'form-success', role: 'status', hidden: true })),
    h('button', { type: 'button', class: 'link-btn', dataset: { deleteGoal: id } }, 'Delete goal'));
}

/** Fill a goal's card with its current figures (in place: typed amounts and focus stay). */
function update(li, g) {
  const pm = perMille(g.saved, g.target);
  const pct = Math.floor(pm / 10);
  const acct = ctx.store.accounts.get(String(g.account));
  li.classList.toggle('reached', pm >= 1000);
  li.querySelector('.goal-name').textContent = g.name;
  li.querySelector('.goal-pct').textContent = `${pct}%`;
  const bar = li.querySelector('progress');
  bar.value = pm;
  bar.setAttribute('aria-label', `${g.name}: ${pct}% of the target saved`);
  li.querySelector('.goal-figures').textContent = `${formatMoney(g.saved)} of ${formatMoney(g.target)}`
    + (pm >= 1000 ? ' · target reached' : ` · ${formatMoney(fromCents((toCents(g.target) ?? 0n) - (toCents(g.saved) ?? 0n)))} to go`);
  const by = g.target_date ? `By ${formatDay(g.target_date)} · ` : '';
  li.querySelector('.goal-meta').textContent = `${by}from ${acct ? accountLabel(acct) : `account ${g.account}`}`;
  li.querySelector('form').setAttribute('aria-label', `Move money for ${g.name}`);
  li.querySelector('button[data-delete-goal]').setAttribute('aria-label', `Delete goal ${g.name}`);
}

/** "2027-06-30" -> "Jun 30, 2027" (a calendar date: no time zone shift). */
function formatDay(day) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day ?? '');
  if (!m) return String(day ?? '');
  return new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' }).format(new Date(+m[1], +m[2] - 1, +m[3]));
}

function renderAccountChoices() {
  fillOpenAccounts($('goal-account'), ctx.store);
}

async function createGoal() {
  const form = $('goal-form');
  clearFormErrors(form);
  const name = form.elements.name.value.trim();
  const account = form.elements.account.value;
  const target = parseAmountInput(form.elements.target.value);
  const date = form.elements.target_date.value;
  if (!name) setFieldError(form.elements.name, 'Give the goal a name, e.g. Summer holiday.');
  if (!target.ok) setFieldError(form.elements.target, target.error);
  if (!account) setFieldError(form.elements.account, 'Open an account first.');
  if (date && date < todayLocalDate()) setFieldError(form.elements.target_date, 'Choose a date from today on.');
  const invalid = form.querySelector('[aria-invalid="true"]');
  if (invalid) { invalid.focus(); return; }
  const args = { account, name, target: target.amount };
  if (date) args.target_date = date;
  try {
    const { goal } = await ctx.call('goal_create', args);
    ctx.store.goals.set(String(goal.id), goal);
    render();
    form.elements.name.value = '';
    form.elements.target.value = '';
    form.elements.target_date.value = '';
    setMessage($('goal-success'), `Goal “${goal.name}” created. Add money to it below.`);
    $(`goal-amount-${goal.id}`).focus();
  } catch (err) {
    const field = err.field && form.elements[err.field];
    if (field) { ctx.fieldError(field, err); field.focus(); } else ctx.showError($('goal-error'), err);
  }
}

function keyFor(id) {
  if (!keys.has(id)) keys.set(id, ctx.newIdempotencyKey());
  return keys.get(id);
}

async function move(form, op) {
  const id = form.dataset.goal;
  const goal = ctx.store.goals.get(id);
  const input = form.elements.amount;
  clearFormErrors(form);
  const amount = parseAmountInput(input.value);
  if (!amount.ok) { setFieldError(input, amount.error); input.focus(); return; }
  if (!goal) return;
  const acct = ctx.store.accounts.get(String(goal.account));
  const about = op === 'goal_fund'
    ? { op, from: acct ? accountLabel(acct) : `account ${goal.account}`, available: acct?.balance, amount: amount.amount }
    : { op, from: `the goal ${goal.name}`, available: goal.saved, amount: amount.amount };
  try {
    const res = await ctx.call(op, { goal: id, amount: amount.amount, idempotency_key: keyFor(id) });
    keys.delete(id);
    if (res.goal) ctx.store.goals.set(String(res.goal.id), res.goal);
    if (res.balance !== undefined) applyBalance({ account: goal.account, balance: res.balance, txn: res.txn?.id });
    render();
    input.value = '';
    const done = op === 'goal_fund' ? `Put ${formatMoney(amount.amount)} into ${goal.name}.` : `Took ${formatMoney(amount.amount)} out of ${goal.name}.`;
    setMessage(form.querySelector('.form-success'), done);
    ctx.announce(done);
  } catch (err) {
    if (err.code === 'invalid_amount' || err.code === 'insufficient_funds' || err.field === 'amount') {
      ctx.fieldError(input, err, about);
      input.focus();
    } else {
      ctx.showError(form.querySelector('.form-error'), err, about);
    }
  }
}

async function deleteGoal(btn) {
  const id = btn.dataset.deleteGoal;
  const goal = ctx.store.goals.get(id);
  if (!goal) return;
  btn.disabled = true;
  try {
    const res = await ctx.call('goal_delete', { goal: id });
    ctx.store.goals.delete(id);
    if (res.balance !== undefined) applyBalance({ account: goal.account, balance: res.balance, txn: res.txn?.id ?? null });
    render();
    const acct = ctx.store.accounts.get(String(goal.account));
    const back = (toCents(goal.saved) ?? 0n) > 0n ? ` ${formatMoney(goal.saved)} went back to ${acct ? accountLabel(acct) : `account ${goal.account}`}.` : '';
    setMessage($('goals-status'), '');
    setMessage($('goals-success'), `Deleted the goal ${goal.name}.${back}`);
    ctx.announce(`Deleted the goal ${goal.name}.${back}`);
  } catch (err) {
    btn.disabled = false;
    ctx.showError($('goals-status'), err);
  }
}
