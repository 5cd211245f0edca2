/**
 * Employee console (employees and admins): the live request queue (`requests`, then `request` events on
 * `staff:requests`), approve / reject with a reason, and read-only searches of customers and transactions.
 * @module views/employee
 */
import { $, h, busy, clearFormErrors, setFieldError, setMessage } from '../dom.js';
import { formatDateTime, formatMoney } from '../format.js';
import { KIND_TEXT, STATUS_TEXT } from './services.js';

const STREAM = 'staff:requests';
/** Transaction kinds as the hub names them (the `kind` of a txn and of the `transactions` filter). */
const KIND_LABEL = {
  deposit: 'Deposit', withdrawal: 'Withdrawal', transfer: 'Transfer',
  goal_fund: 'Into a savings goal', goal_withdraw: 'Out of a savings goal',
};
let ctx;
const queue = new Map(); // id -> request
let active = false;      // subscribed for the current user
let rejecting = null;    // request being rejected
let txArgs = null;       // last transaction search
let txNext = null;

const isStaff = (user) => !!user && (user.role === 'employee' || user.role === 'admin');

export function mount(context) {
  ctx = context;
  const { store } = ctx;
  store.on('user', (user) => {
    queue.clear();
    active = false;
    renderQueue();
    $('cust-list').replaceChildren();
    $('txs-body').replaceChildren();
    $('txs-table').hidden = true;
    if (isStaff(user)) start();
  });
  store.on('event', (ev) => {
    if (ev.stream !== STREAM || ev.event !== 'request' || !ev.data) return;
    const r = ev.data;
    const before = queue.get(String(r.id));
    queue.set(String(r.id), r);
    renderQueue(String(r.id));
    if (!before) ctx.announce(`New ${KIND_TEXT[r.kind] ?? r.kind} request from ${r.username ?? `user ${r.user}`}.`);
    else if (before.status !== r.status) ctx.announce(`Request ${r.id} ${STATUS_TEXT[r.status]?.toLowerCase() ?? r.status}.`);
  });
  store.on('resync', (stream) => { if (stream === STREAM) loadQueue(); });
  $('queue-filter').addEventListener('change', () => renderQueue());
  $('queue-list').addEventListener('click', (e) => {
    const btn = e.target.closest('button[data-action]');
    if (!btn) return;
    const r = queue.get(btn.dataset.id);
    if (!r) return;
    if (btn.dataset.action === 'approve') approve(r, btn);
    else openReject(r, btn);
  });
  $('reject-form').addEventListener('submit', (e) => { e.preventDefault(); busy($('reject-form'), reject); });
  $('reject-cancel').addEventListener('click', () => $('reject-dialog').close());
  $('reject-dialog').addEventListener('close', () => { rejecting?.btn?.isConnected && rejecting.btn.focus(); rejecting = null; });
  $('cust-form').addEventListener('submit', (e) => { e.preventDefault(); busy($('cust-form'), searchCustomers); });
  $('txs-form').addEventListener('submit', (e) => { e.preventDefault(); busy($('txs-form'), () => searchTransactions(false)); });
  $('txs-more').addEventListener('click', () => searchTransactions(true));
  $('cust-list').addEventListener('click', (e) => {
    const btn = e.target.closest('button[data-txs-user]');
    if (!btn) return;
    $('txs-user').value = btn.dataset.txsUser;
    $('txs-account').value = '';
    busy($('txs-form'), () => searchTransactions(false));
    $('txs-title').scrollIntoView({ block: 'start', behavior: 'smooth' });
  });
}

async function start() {
  // Subscribe first, then read: a request created in between shows up from the stream (merged by id).
  try {
    await ctx.subscribe(STREAM);
    active = true;
  } catch (err) {
    showStatus(ctx.isUnavailable(err) ? 'The live queue is not available on this hub yet.' : `Live updates are off: ${ctx.describeError(err)}`);
  }
  await loadQueue();
}

function showStatus(text, code = null) { setMessage($('queue-status'), text, code); }

async function loadQueue() {
  try {
    const { requests } = await ctx.call('requests', {});
    for (const r of requests) queue.set(String(r.id), r);
    if (active) showStatus('');
    renderQueue();
  } catch (err) {
    if (ctx.isUnavailable(err)) showStatus('Service requests are not available on this hub yet.'); else showStatus(ctx.describeError(err), ctx.errorCode(err));
  }
}

function renderQueue(highlight) {
  const filter = $('queue-filter').value;
  const all = [...queue.values()].sort((a, b) => Number(b.id) - Number(a.id));
  const shown = all.filter((r) => !filter || r.status === filter);
  const pending = all.filter((r) => r.status === 'pending').length;
  $('queue-count').textContent = `${pending} pending`;
  const list = $('queue-list');
  // Keep existing rows (and keyboard focus) where possible: rebuild only rows that changed.
  const existing = new Map([...list.children].map((li) => [li.dataset.request, li]));
  const rows = shown.map((r) => {
    const key = `${r.status}|${r.resolved_at ?? ''}`;
    const old = existing.get(String(r.id));
    if (old && old.dataset.key === key && String(r.id) !== highlight) return old;
    return queueRow(r, key, String(r.id) === highlight);
  });
  const focused = document.activeElement;
  list.replaceChildren(...rows);
  if (focused && !document.contains(focused)) list.querySelector('button')?.focus();
  $('queue-empty').hidden = shown.length > 0;
  $('queue-empty').textContent = filter === 'pending' || !all.length
    ? 'No requests waiting. New ones appear here as customers send them.' : 'No requests match this filter.';
}

function queueRow(r, key, isNew) {
  const who = r.username ?? `user ${r.user}`;
  return h('li', { class: `queue-item${isNew ? ' row-new' : ''}`, dataset: { request: r.id, key } },
    h('div', { class: 'queue-head' },
      h('span', { class: 'avatar avatar-sm', 'aria-hidden': 'true' }, who.slice(0, 2).toUpperCase()),
      h('div', { class: 'queue-who' },
        h('p', { class: 'queue-title' }, `${KIND_TEXT[r.kind] ?? r.kind}`, h('span', { class: 'muted' }, ` · ${who}`)),
        h('p', { class: 'muted queue-meta' }, `No. ${r.id} · ${formatDateTime(r.created_at)}${r.account ? ` · account ${r.account}` : ''}`)),
      h('span', { class: `status status-${r.status}` }, STATUS_TEXT[r.status] ?? r.status)),
    r.note ? h('p', { class: 'queue-note' }, r.note) : null,
    r.status === 'rejected' && r.reason ? h('p', { class: 'muted queue-meta' }, `Reason: ${r.reason}`) : null,
    r.status !== 'pending' && r.resolved_by ? h('p', { class: 'muted queue-meta' }, `${STATUS_TEXT[r.status]} by ${r.resolved_by_username ?? (String(r.resolved_by) === String(ctx.store.user?.id) ? 'you' : `staff #${r.resolved_by}`)}${r.resolved_at ? ` · ${formatDateTime(r.resolved_at)}` : ''}`) : null,
    r.status === 'pending' ? h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'btn btn-primary btn-sm', dataset: { action: 'approve', id: r.id }, 'aria-describedby': null, title: `Approve request ${r.id}` }, 'Approve'),
      h('button', { type: 'button', class: 'btn btn-danger-ghost btn-sm', dataset: { action: 'reject', id: r.id }, title: `Reject request ${r.id}` }, 'Reject')) : null);
}

async function approve(r, btn) {
  btn.disabled = true;
  try {
    const { request } = await ctx.call('request_approve', { id: r.id });
    queue.set(String(request.id), request);
    renderQueue();
    ctx.announce(`Request ${request.id} approved.`);
  } catch (err) {
    btn.disabled = false;
    showStatus(`Could not approve request ${r.id}: ${ctx.describeError(err)}`, ctx.errorCode(err));
  }
}

function openReject(r, btn) {
  rejecting = { r, btn };
  clearFormErrors($('reject-form'));
  $('reject-title').textContent = `Reject request No. ${r.id}`;
  $('reject-desc').textContent = `${KIND_TEXT[r.kind] ?? r.kind} from ${r.username ?? `user ${r.user}`}${r.note ? `: “${r.note}”` : ''}`;
  $('reject-reason').value = '';
  $('reject-dialog').showModal();
  $('reject-reason').focus();
}

async function reject() {
  if (!rejecting) return;
  const reason = $('reject-reason').value.trim();
  if (!reason) { setFieldError($('reject-reason'), 'Give the customer a reason.'); $('reject-reason').focus(); return; }
  try {
    const { request } = await ctx.call('request_reject', { id: rejecting.r.id, reason });
    queue.set(String(request.id), request);
    $('reject-dialog').close();
    renderQueue();
    ctx.announce(`Request ${request.id} rejected.`);
  } catch (err) {
    if (err.field === 'reason') ctx.fieldError($('reject-reason'), err);
    else ctx.showError($('reject-error'), err);
  }
}

async function searchCustomers() {
  const query = $('cust-query').value.trim();
  setMessage($('cust-status'), 'Searching…');
  try {
    const { customers } = await ctx.call('customers', query ? { query, limit: 50 } : { limit: 50 });
    $('cust-list').replaceChildren(...customers.map((c) => h('li', { class: 'cust' },
      h('div', { class: 'cust-head' },
        h('span', { class: 'avatar avatar-sm', 'aria-hidden': 'true' }, (c.full_name || c.username).split(/\s+/).map((w) => w[0]).join('').slice(0, 2).toUpperCase()),
        h('div', {},
          h('p', { class: 'cust-name' }, c.full_name || c.username, h('span', { class: 'muted' }, ` · ${c.username} · ID ${c.id}`)),
          h('p', { class: 'muted cust-meta' }, [c.email, c.phone].filter(Boolean).join(' · ') || 'No contact details')),
        c.status && c.status !== 'active' ? h('span', { class: 'status status-rejected' }, c.status) : null),
      (c.accounts ?? []).length ? h('ul', { class: 'cust-accounts' }, ...(c.accounts ?? []).map((a) => h('li', {},
        h('span', {}, `${a.name || 'Account'} · No. ${a.id}${a.status && a.status !== 'open' ? ` · ${a.status}` : ''}`),
        h('span', { class: 'money' }, formatMoney(a.balance))))) : null,
      h('button', { type: 'button', class: 'link-btn', dataset: { txsUser: c.id } }, `Transactions of ${c.username}`))));
    setMessage($('cust-status'), `${customers.length} customer${customers.length === 1 ? '' : 's'} found.`);
  } catch (err) {
    if (ctx.isUnavailable(err)) setMessage($('cust-status'), 'Customer search is not available on this hub yet.'); else ctx.showError($('cust-status'), err);
  }
}

function dateBound(value, endOfDay) {
  if (!value) return null;
  const [y, m, d] = value.split('-').map(Number);
  const t = endOfDay ? new Date(y, m - 1, d, 23, 59, 59, 999) : new Date(y, m - 1, d);
  return Number.isNaN(t.getTime()) ? null : t.toISOString();
}

async function searchTransactions(more) {
  const form = $('txs-form');
  if (!more) {
    clearFormErrors(form);
    const args = { limit: 50 };
    const user = form.elements.user.value.trim();
    const account = form.elements.account.value.trim();
    if (user && !/^[0-9]+$/.test(user)) { setFieldError(form.elements.user, 'A customer ID has digits only.'); return; }
    if (account && !/^[0-9]+$/.test(account)) { setFieldError(form.elements.account, 'An account number has digits only.'); return; }
    if (user) args.user = user;
    if (account) args.account = account;
    if (form.elements.kind.value) args.kind = form.elements.kind.value;
    const from = dateBound(form.elements.from.value, false);
    const to = dateBound(form.elements.to.value, true);
    if (from) args.from = from;
    if (to) args.to = to;
    txArgs = args;
    txNext = null;
  } else if (!txArgs || txNext == null) return;
  setMessage($('txs-status'), 'Searching…');
  try {
    const res = await ctx.call('transactions', more ? { ...txArgs, before: txNext } : txArgs);
    const rows = res.transactions.map((t) => h('tr', {},
      h('td', { class: 'nowrap' }, h('time', { datetime: t.at }, formatDateTime(t.at))),
      h('td', {}, KIND_LABEL[t.kind] ?? t.kind, t.note ? h('span', { class: 'note muted' }, t.note) : null),
      h('td', { class: 'mono' }, `${t.from ?? 'cash'} → ${t.to ?? 'cash'}`, t.user ? h('span', { class: 'note muted' }, `by user ${typeof t.user === 'object' ? (t.user.username ?? t.user.id) : t.user}`) : null),
      h('td', { class: 'num money' }, formatMoney(t.amount))));
    if (more) $('txs-body').append(...rows); else $('txs-body').replaceChildren(...rows);
    txNext = res.next ?? null;
    $('txs-more').hidden = txNext == null;
    const count = $('txs-body').children.length;
    $('txs-table').hidden = count === 0;
    setMessage($('txs-status'), `${count} transaction${count === 1 ? '' : 's'} shown.`);
  } catch (err) {
    if (err.field && form.elements[err.field]) ctx.fieldError(form.elements[err.field], err);
    if (ctx.isUnavailable(err)) setMessage($('txs-status'), 'Transaction search is not available on this hub yet.'); else ctx.showError($('txs-status'), err);
  }
}
