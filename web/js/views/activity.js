/**
 * Live activity: `transfer` events (completed and rejected) from every subscribed account, newest first.
 * A transfer between two of the user's own accounts arrives on both streams and is shown once.
 * @module views/activity
 */
import { $, h } from '../dom.js';
import { accountLabel, formatMoney, formatTime } from '../format.js';

const MAX_ITEMS = 50;
let ctx;
const seen = new Set();

export function mount(context) {
  ctx = context;
  ctx.store.on('event', (ev) => { if (ev.event === 'transfer') add(ev); });
  ctx.store.on('user', (user) => {
    if (user) return;
    seen.clear();
    $('activity-list').replaceChildren();
    $('activity-empty').hidden = false;
  });
}

function name(id) {
  const acct = ctx.store.accounts.get(String(id));
  return acct ? accountLabel(acct) : `account ${id}`;
}

function add(ev) {
  const d = ev.data ?? {};
  const key = d.txn != null ? `txn:${d.txn}` : `${ev.stream}:${ev.seq}`;
  if (seen.has(key)) return;
  seen.add(key);
  const mineFrom = ctx.store.accounts.has(String(d.from));
  const mineTo = ctx.store.accounts.has(String(d.to));
  const rejected = d.status === 'rejected';
  let title;
  if (mineFrom && mineTo) title = `${name(d.from)} → ${name(d.to)}`;
  else if (mineFrom) title = `Sent to ${name(d.to)}`;
  else title = `Received from ${name(d.from)}`;
  const sign = mineFrom && !mineTo ? '\u2212' : mineTo && !mineFrom ? '+' : '';
  const reason = (d.reason ?? 'rejected').replace(/_/g, ' ');
  const item = h('li', { class: `activity ${rejected ? 'rejected' : 'completed'} row-new` },
    h('div', { class: 'activity-main' },
      h('span', { class: 'activity-title' }, title),
      h('span', { class: `badge ${rejected ? 'badge-bad' : 'badge-good'}` }, rejected ? `Rejected: ${reason}` : 'Completed')),
    h('div', { class: 'activity-meta' },
      h('time', { class: 'muted', datetime: d.at }, formatTime(d.at)),
      h('span', { class: `money ${rejected ? 'struck' : sign === '+' ? 'pos' : ''}` }, `${rejected ? '' : sign}${formatMoney(d.amount)}`)));
  const list = $('activity-list');
  list.prepend(item);
  while (list.children.length > MAX_ITEMS) list.lastElementChild.remove();
  $('activity-empty').hidden = true;
  if (rejected) ctx.announce(`Transfer of ${formatMoney(d.amount)} to ${name(d.to)} was rejected: ${reason}.`);
}
