/**
 * Monthly statement of the selected account, in the History card: a month picker, the month's figures
 * (`statement {account, month}`: opening, money in, money out, closing, number of transactions) and
 * "Download CSV" (`GET /statements/ACCOUNT/YYYY-MM.csv` with the session's bearer token, saved through an
 * object URL: no inline script, so it works under the page's CSP). Months are calendar months in UTC, as
 * the hub cuts them.
 * @module views/statement
 */
import { $, h, busy, setMessage } from '../dom.js';
import { formatMoney } from '../format.js';

/** Months offered in the picker, newest first (older ones: page through `statement` from a client). */
const MONTHS_LISTED_MAX = 36;
/** How long the object URL of a downloaded file stays valid after its click. */
const OBJECT_URL_LIFETIME_MS = 60000;

let ctx;
let generation = 0;
let refreshTimer = null;
const monthName = new Intl.DateTimeFormat(undefined, { month: 'long', year: 'numeric', timeZone: 'UTC' });

export function mount(context) {
  ctx = context;
  const { store } = ctx;
  store.on('select', () => { renderMonths(); load(); });
  store.on('accounts', () => { if (renderMonths()) load(); });
  store.on('user', (user) => { if (!user) reset(); });
  store.on('balance', ({ id }) => {
    if (id !== store.selected || $('statement-month').value !== currentMonth()) return;
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(load, 300);
  });
  $('statement-month').addEventListener('change', load);
  $('statement-form').addEventListener('submit', (e) => { e.preventDefault(); busy($('statement-form'), download); });
}

/** "2026-12" for now, in UTC. */
export function currentMonth(now = new Date()) {
  return `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** The months from `first` ("YYYY-MM") to `last`, newest first, at most `max`. */
export function monthsBetween(first, last, max = MONTHS_LISTED_MAX) {
  const out = [];
  let [y, m] = last.split('-').map(Number);
  while (out.length < max) {
    const month = `${y}-${String(m).padStart(2, '0')}`;
    out.push(month);
    if (month <= first) break;
    m -= 1;
    if (m === 0) { m = 12; y -= 1; }
  }
  return out;
}

function reset() {
  generation++;
  clearTimeout(refreshTimer);
  $('statement-month').replaceChildren();
  $('statement-figures').hidden = true;
  setMessage($('statement-status'), '');
  setMessage($('statement-error'), '');
}

/** Fill the month picker for the selected account; true when its choices changed. */
function renderMonths() {
  const acct = ctx.store.accounts.get(ctx.store.selected);
  const select = $('statement-month');
  const last = currentMonth();
  const opened = acct?.created_at && /^\d{4}-\d{2}/.test(acct.created_at) ? acct.created_at.slice(0, 7) : last;
  const months = acct ? monthsBetween(opened, last) : [];
  const before = [...select.options].map((o) => o.value).join();
  if (before === months.join()) return false;
  const keep = select.value;
  select.replaceChildren(...months.map((m) => h('option', { value: m }, monthLabel(m))));
  if (months.includes(keep)) select.value = keep;
  return true;
}

function monthLabel(month) {
  const [y, m] = month.split('-').map(Number);
  return monthName.format(new Date(Date.UTC(y, m - 1, 1)));
}

async function load() {
  clearTimeout(refreshTimer);
  const gen = ++generation;
  const account = ctx.store.selected;
  const month = $('statement-month').value;
  setMessage($('statement-error'), '');
  if (!account || !month) { $('statement-figures').hidden = true; return; }
  try {
    const st = await ctx.call('statement', { account, month, limit: 1 });
    if (gen !== generation) return;
    $('st-opening').textContent = formatMoney(st.opening);
    $('st-credits').textContent = formatMoney(st.credits, { signed: true });
    $('st-debits').textContent = formatMoney(st.debits);
    $('st-closing').textContent = formatMoney(st.closing);
    $('st-count').textContent = String(st.count);
    $('statement-figures').hidden = false;
    setMessage($('statement-status'), `${monthLabel(month)}: ${st.count} transaction${st.count === 1 ? '' : 's'}, from ${formatMoney(st.opening)} to ${formatMoney(st.closing)}.`);
  } catch (err) {
    if (gen !== generation) return;
    $('statement-figures').hidden = true;
    setMessage($('statement-status'), '');
    if (ctx.isUnavailable(err)) setMessage($('statement-error'), 'Statements are not available on this hub yet.');
    else ctx.showError($('statement-error'), err, { op: 'statement' });
  }
}

/** An error object from an HTTP answer that is not the CSV: the hub's JSON error when it sent one. */
async function httpError(response) {
  let error = null;
  try { error = (await response.json())?.error ?? null; } catch { /* not JSON */ }
  if (error?.code) return { ...error, op: 'statement' };
  if (response.status === 404) return { code: 'not_offered' };
  return { code: response.status >= 500 ? 'internal' : 'bad_request', message: `HTTP ${response.status}` };
}

async function download() {
  setMessage($('statement-error'), '');
  const account = ctx.store.selected;
  const month = $('statement-month').value;
  const token = ctx.client.token;
  if (!account || !month) { setMessage($('statement-error'), 'Choose an account and a month first.'); return; }
  if (!token) { setMessage($('statement-error'), 'Please log in again to download statements.'); return; }
  const name = `bankhub-${account}-${month}.csv`;
  let response;
  try {
    response = await fetch(`statements/${encodeURIComponent(account)}/${month}.csv`,
      { headers: { Authorization: `Bearer ${token}` }, cache: 'no-store', credentials: 'omit' });
  } catch {
    ctx.showError($('statement-error'), { code: 'disconnected' });
    return;
  }
  if (!response.ok) {
    const err = await httpError(response);
    if (err.code === 'not_offered') setMessage($('statement-error'), 'Statement downloads are not available on this hub yet.');
    else ctx.showError($('statement-error'), err, { op: 'statement' });
    return;
  }
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = h('a', { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), OBJECT_URL_LIFETIME_MS);
  setMessage($('statement-status'), `Downloaded ${name}.`);
  ctx.announce(`Downloaded the statement for ${monthLabel(month)}.`);
}
