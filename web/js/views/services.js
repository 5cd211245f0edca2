/**
 * "Services & security": service requests (request_create, requests, request_cancel, with live `request`
 * events on `user:ID`), login history (login_history) and change password (change_password).
 * @module views/services
 */
import { $, h, busy, clearFormErrors, setFieldError, setMessage } from '../dom.js';
import { accountLabel, formatDateTime } from '../format.js';

export const KIND_TEXT = {
  password_reset: 'Password reset',
  kyc_update: 'Personal details update',
  account_closure: 'Account closure',
  limit_increase: 'Limit increase',
};
export const STATUS_TEXT = { pending: 'Pending', approved: 'Approved', rejected: 'Rejected', cancelled: 'Cancelled' };
const OUTCOME_TEXT = {
  success: 'Signed in', bad_password: 'Wrong password', unknown_user: 'Unknown user', locked: 'Blocked: locked',
  rate_limited: 'Blocked: too many attempts', totp_required: 'Needed authenticator code',
};

let ctx;
const requests = new Map(); // id -> request (the user's own)

export function mount(context) {
  ctx = context;
  const { store } = ctx;
  $('req-kind').addEventListener('change', renderKind);
  $('req-form').addEventListener('submit', (e) => { e.preventDefault(); busy($('req-form'), createRequest); });
  for (const el of $('req-form').elements) if (el.name) el.addEventListener('input', () => setFieldError(el, ''));
  $('req-list').addEventListener('click', (e) => {
    const btn = e.target.closest('button[data-cancel]');
    if (btn) cancelRequest(btn);
  });
  $('pw-form').addEventListener('submit', (e) => { e.preventDefault(); busy($('pw-form'), changePassword); });
  for (const el of $('pw-form').elements) if (el.name) el.addEventListener('input', () => setFieldError(el, ''));
  $('lh-refresh').addEventListener('click', loadLoginHistory);
  $('totp-start').addEventListener('click', (e) => startTotp(e.currentTarget));
  $('totp-form').addEventListener('submit', (e) => { e.preventDefault(); busy($('totp-form'), confirmTotp); });
  store.on('accounts', renderAccounts);
  store.on('user', (user) => {
    requests.clear();
    renderRequests();
    $('lh-body').replaceChildren();
    $('lh-table').hidden = true;
    $('totp-setup').hidden = true;
    $('totp-secret').textContent = '';
    setMessage($('totp-success'), '');
    setMessage($('totp-error'), '');
    if (user && store.page === 'services') loadAll();
  });
  store.on('page', (page) => { if (page === 'services' && store.user) loadAll(); });
  store.on('event', (ev) => {
    if (ev.event !== 'request' || !ev.data || !store.user) return;
    if (String(ev.data.user) !== String(store.user.id)) return;
    const before = requests.get(String(ev.data.id));
    requests.set(String(ev.data.id), ev.data);
    renderRequests(String(ev.data.id));
    if (before && before.status !== ev.data.status) {
      ctx.announce(`Your ${KIND_TEXT[ev.data.kind] ?? ev.data.kind} request is now ${STATUS_TEXT[ev.data.status] ?? ev.data.status}.`);
    }
  });
  store.on('connection', (state) => { if (state === 'open' && store.user && store.page === 'services') loadRequests(); });
  renderKind();
}

function loadAll() {
  loadRequests();
  loadLoginHistory();
}

function renderKind() {
  const closure = $('req-kind').value === 'account_closure';
  $('req-account-field').hidden = !closure;
}

function renderAccounts() {
  const sel = $('req-account');
  const keep = sel.value;
  sel.replaceChildren(...[...ctx.store.accounts.values()].filter((a) => a.status !== 'closed')
    .map((a) => h('option', { value: a.id }, accountLabel(a))));
  if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
}

function unavailable(err) {
  if (ctx.isUnavailable(err)) setMessage($('req-unavailable'), 'Service requests are not available on this hub yet.'); else ctx.showError($('req-unavailable'), err);
}

async function loadRequests() {
  try {
    const { requests: list } = await ctx.call('requests', {});
    requests.clear();
    for (const r of list) requests.set(String(r.id), r);
    setMessage($('req-unavailable'), '');
    renderRequests();
  } catch (err) {
    unavailable(err);
  }
}

function renderRequests(highlight) {
  const list = [...requests.values()].sort((a, b) => Number(b.id) - Number(a.id));
  $('req-list').replaceChildren(...list.map((r) => {
    const acct = r.account ? ctx.store.accounts.get(String(r.account)) : null;
    return h('li', { class: `req ${String(r.id) === highlight ? 'row-new' : ''}`, dataset: { request: r.id } },
      h('div', { class: 'req-main' },
        h('span', { class: 'req-kind' }, KIND_TEXT[r.kind] ?? r.kind),
        h('span', { class: `status status-${r.status}` }, STATUS_TEXT[r.status] ?? r.status)),
      r.note ? h('p', { class: 'req-note' }, r.note) : null,
      h('p', { class: 'req-meta muted' },
        `No. ${r.id} · ${formatDateTime(r.created_at)}`,
        r.account ? ` · ${acct ? accountLabel(acct) : `account ${r.account}`}` : '',
        r.status === 'rejected' && r.reason ? ` · Reason: ${r.reason}` : '',
        r.resolved_at && r.status !== 'pending' ? ` · ${STATUS_TEXT[r.status] ?? r.status} ${formatDateTime(r.resolved_at)}` : ''),
      r.status === 'pending'
        ? h('button', { type: 'button', class: 'btn btn-ghost btn-sm', dataset: { cancel: r.id }, 'aria-label': `Cancel request ${r.id}` }, 'Cancel request')
        : null);
  }));
  $('req-empty').hidden = list.length > 0;
}

async function createRequest() {
  const form = $('req-form');
  clearFormErrors(form);
  const kind = form.elements.kind.value;
  const note = form.elements.note.value.trim();
  const args = { kind, note };
  if (kind === 'account_closure') {
    if (!form.elements.account.value) { setFieldError(form.elements.account, 'Choose the account to close.'); form.elements.account.focus(); return; }
    args.account = form.elements.account.value;
  }
  if (!note) { setFieldError(form.elements.note, 'Tell us a few words about what you need.'); form.elements.note.focus(); return; }
  try {
    const { request } = await ctx.call('request_create', args);
    requests.set(String(request.id), request);
    renderRequests(String(request.id));
    form.elements.note.value = '';
    setMessage($('req-success'), `Request No. ${request.id} sent. We will get back to you here.`);
  } catch (err) {
    const field = err.field && form.elements[err.field];
    if (field) { ctx.fieldError(field, err); field.focus(); }
    else if (ctx.isUnavailable(err)) setMessage($('req-error'), 'Service requests are not available on this hub yet.'); else ctx.showError($('req-error'), err);
  }
}

async function cancelRequest(btn) {
  btn.disabled = true;
  try {
    const { request } = await ctx.call('request_cancel', { id: btn.dataset.cancel });
    requests.set(String(request.id), request);
    renderRequests();
    ctx.announce(`Request ${request.id} cancelled.`);
    $('req-list').focus?.();
  } catch (err) {
    btn.disabled = false;
    ctx.showError($('req-error'), err);
  }
}

async function loadLoginHistory() {
  setMessage($('lh-status'), 'Loading…');
  try {
    const { attempts } = await ctx.call('login_history', { limit: 20 });
    $('lh-body').replaceChildren(...attempts.map((a) => h('tr', {},
      h('td', { class: 'nowrap' }, h('time', { datetime: a.at }, formatDateTime(a.at))),
      h('td', {}, h('span', { class: `status ${a.outcome === 'success' ? 'status-approved' : 'status-rejected'}` }, OUTCOME_TEXT[a.outcome] ?? a.outcome)),
      h('td', { class: 'mono' }, a.ip ?? '—'),
      h('td', { class: 'ua' }, shortAgent(a.user_agent)))));
    $('lh-table').hidden = attempts.length === 0;
    setMessage($('lh-status'), attempts.length ? '' : 'No sign-ins yet.');
  } catch (err) {
    if (ctx.isUnavailable(err)) setMessage($('lh-status'), 'Login history is not available on this hub yet.'); else ctx.showError($('lh-status'), err);
  }
}

/** "Chrome on Linux" from a User-Agent string (the full string stays in the title). */
export function shortAgent(ua) {
  if (!ua) return '—';
  const browser = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox' : /Chrom(e|ium)\//.test(ua) ? 'Chrome'
    : /Safari\//.test(ua) ? 'Safari' : /python|websockets/i.test(ua) ? 'App / bot' : ua.split(/[ /]/)[0];
  const os = /Windows/.test(ua) ? 'Windows' : /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS'
    : /Mac OS X/.test(ua) ? 'macOS' : /Linux/.test(ua) ? 'Linux' : '';
  return os ? `${browser} on ${os}` : browser;
}

async function changePassword() {
  const form = $('pw-form');
  clearFormErrors(form);
  const old = form.elements.old.value;
  const next = form.elements.new.value;
  const confirm = form.elements.confirm.value;
  let ok = true;
  if (!old) { setFieldError(form.elements.old, 'Enter your current password.'); ok = false; }
  if (next.length < 8) { setFieldError(form.elements.new, 'Use at least 8 characters.'); ok = false; }
  else if (next === old) { setFieldError(form.elements.new, 'Choose a password different from the current one.'); ok = false; }
  if (confirm !== next) { setFieldError(form.elements.confirm, 'The two new passwords do not match.'); ok = false; }
  if (!ok) { form.querySelector('[aria-invalid="true"]')?.focus(); return; }
  try {
    await ctx.call('change_password', { old, new: next });
    form.reset();
    setMessage($('pw-success'), 'Password changed. Your other sessions were signed out.');
  } catch (err) {
    if (err.code === 'unauthorized' || err.field === 'old') { ctx.fieldError(form.elements.old, err); form.elements.old.focus(); }
    else if (err.field === 'new') { ctx.fieldError(form.elements.new, err); form.elements.new.focus(); }
    else ctx.showError($('pw-error'), err);
  }
}

// ---- two-step sign-in (TOTP) -------------------------------------------------------------------------

async function startTotp(btn) {
  setMessage($('totp-error'), '');
  setMessage($('totp-success'), '');
  btn.disabled = true;
  try {
    const { secret, uri } = await ctx.call('totp_enroll', {});
    $('totp-secret').textContent = secret.replace(/(.{4})(?=.)/g, '$1 ');
    $('totp-uri').href = uri;
    $('totp-setup').hidden = false;
    $('totp-code').focus();
  } catch (err) {
    ctx.showError($('totp-error'), err);
  } finally {
    btn.disabled = false;
  }
}

async function confirmTotp() {
  const form = $('totp-form');
  clearFormErrors(form);
  const code = form.elements.code.value.trim();
  if (!/^[0-9]{6}$/.test(code)) { setFieldError(form.elements.code, 'Enter the 6 digits your app shows.'); form.elements.code.focus(); return; }
  try {
    await ctx.call('totp_confirm', { code });
    form.reset();
    $('totp-setup').hidden = true;
    $('totp-secret').textContent = '';
    setMessage($('totp-success'), 'Two-step sign-in is on. Next time you log in, enter the code from your app too.');
    ctx.store.emit('totp', true);
  } catch (err) {
    ctx.fieldError(form.elements.code, err);
    form.elements.code.focus();
  }
}
