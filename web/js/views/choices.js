/**
 * Form helpers shared by the views that pick one of the user's accounts or a date.
 * @module views/choices
 */
import { h } from '../dom.js';
import { accountLabel } from '../format.js';

/** Fill a <select> with the user's open accounts, keeping its choice (or the selected account) when still there. */
export function fillOpenAccounts(select, store) {
  const keep = select.value || store.selected || '';
  const options = [...store.accounts.values()].filter((a) => a.status === undefined || a.status === 'open')
    .map((a) => h('option', { value: a.id }, accountLabel(a)));
  if (!options.length) options.push(h('option', { value: '' }, 'No accounts yet'));
  select.replaceChildren(...options);
  if ([...select.options].some((o) => o.value === keep)) select.value = keep;
}

/** Today's local date as `YYYY-MM-DD` (the value of an <input type="date">). */
export function todayLocalDate(d = new Date()) {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}
