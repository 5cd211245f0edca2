/**
 * BankHub customer dashboard: wires the client library to the views.
 *
 * Views are modules under ./views/ exporting `mount(ctx)`; they talk to each other only through the
 * shared `store` (state + a tiny event bus) and `ctx.call` (requests, with step-up OTP handled here).
 * Staff views (employee console, threat monitor) are loaded on demand when the user's role allows.
 * @module app
 */
import { BankHubClient, BankHubError } from './bankhub.js';
import { $, announce, setMessage } from './dom.js';
import * as authView from './views/auth.js';
import * as accountsView from './views/accounts.js';
import * as moneyView from './views/money.js';
import * as historyView from './views/history.js';
import * as activityView from './views/activity.js';
import * as otpView from './views/otp.js';

/** Shared state. `accounts` keeps the hub's order (oldest first). */
export const store = {
  /** @type {{id: string, username: string, role: string, full_name?: string}|null} */
  user: null,
  /** @type {Map<string, {id: string, name: string, balance: string, currency: string, status: string}>} */
  accounts: new Map(),
  /** @type {string|null} id of the account whose history is shown */
  selected: null,
  _listeners: new Map(),
  /** Listen: `accounts` (list changed), `balance` ({id, before, after}), `select` (id), `event` (hub event),
   * `user` (user|null), `resync` (stream). */
  on(type, fn) {
    if (!this._listeners.has(type)) this._listeners.set(type, new Set());
    this._listeners.get(type).add(fn);
    return () => this._listeners.get(type).delete(fn);
  },
  emit(type, ...args) {
    for (const fn of this._listeners.get(type) ?? []) {
      try { fn(...args); } catch (err) { console.error(`store ${type} listener failed`, err); }
    }
  },
  select(id) {
    if (this.selected === id) return;
    this.selected = id;
    this.emit('select', id);
  },
};

const client = new BankHubClient({ timeoutMs: 15000 });

const FRIENDLY = {
  timeout: 'The bank did not answer in time. It is safe to try again.',
  disconnected: 'The connection dropped before the bank answered. It is safe to try again.',
  closed: 'You are offline.',
  unauthorized: 'Please log in again.',
  forbidden: 'You are not allowed to do that.',
  not_found: 'No such account.',
  internal: 'Something went wrong at the bank. Nothing was changed; please try again.',
  unavailable: 'The bank is restarting. Please try again in a moment.',
  cancelled: 'Cancelled.',
};

/** A sentence for a person, from a BankHubError (the hub's own message when it has one). */
export function describeError(err) {
  if (!(err instanceof BankHubError)) return 'Something went wrong. Please try again.';
  if (err.code === 'rate_limited') {
    const secs = Math.max(1, Math.ceil(Number(err.retry_after) || 1));
    return `Too many requests. Try again in ${secs} second${secs === 1 ? '' : 's'}.`;
  }
  if (FRIENDLY[err.code] && ['timeout', 'disconnected', 'closed', 'internal', 'cancelled'].includes(err.code)) {
    return FRIENDLY[err.code];
  }
  const msg = (err.message || FRIENDLY[err.code] || err.code).trim();
  return msg.charAt(0).toUpperCase() + msg.slice(1) + (/[.!?]$/.test(msg) ? '' : '.');
}

/** Send a request; when the hub asks for a step-up code (`otp_required`), prompt for it, confirm it and
 * retry the request once (money ops carry an idempotency key, so the retry cannot double-post). */
async function call(op, args, opts) {
  try {
    return await client.request(op, args, opts);
  } catch (err) {
    if (!(err instanceof BankHubError) || err.code !== 'otp_required' || !err.challenge) throw err;
    await otpView.prompt(err.challenge, err.message);
    return client.request(op, args, opts);
  }
}

/** Random idempotency key (works outside secure contexts too). */
export function newIdempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `web-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

function showBanner(text) { setMessage($('banner'), text); }

const ctx = { client, store, call, describeError, announce, showBanner, newIdempotencyKey };

// ---- connection indicator -------------------------------------------------------------------------

const CONN_TEXT = { idle: 'Offline', connecting: 'Connecting…', open: 'Connected', reconnecting: 'Reconnecting…', closed: 'Offline' };
let lastAnnouncedConn = 'open';
client.on('state', (state, info) => {
  $('conn').dataset.state = state;
  let text = CONN_TEXT[state] ?? state;
  if (state === 'reconnecting' && info?.delayMs > 1500) text = `Reconnecting in ${Math.round(info.delayMs / 1000)} s…`;
  $('conn-text').textContent = text;
  // Tell screen-reader users about losing and regaining the connection, once each.
  if (state === 'reconnecting' && lastAnnouncedConn === 'open') { announce('Connection lost. Reconnecting.'); lastAnnouncedConn = state; }
  if (state === 'open' && lastAnnouncedConn !== 'open') { announce('Connected again.'); lastAnnouncedConn = state; }
  if (state === 'open') showBanner('');
});

// ---- theme ----------------------------------------------------------------------------------------

const darkQuery = matchMedia('(prefers-color-scheme: dark)');
function effectiveTheme() {
  return document.documentElement.dataset.theme ?? (darkQuery.matches ? 'dark' : 'light');
}
function renderThemeToggle() {
  const dark = effectiveTheme() === 'dark';
  $('theme-toggle').setAttribute('aria-pressed', String(dark));
}
$('theme-toggle').addEventListener('click', () => {
  const next = effectiveTheme() === 'dark' ? 'light' : 'dark';
  document.documentElement.dataset.theme = next;
  try { localStorage.setItem('bankhub.theme', next); } catch { /* private mode */ }
  renderThemeToggle();
});
darkQuery.addEventListener('change', renderThemeToggle);
renderThemeToggle();

// ---- views and session ----------------------------------------------------------------------------

/** Views that later issues fill in: shown only to the roles listed. */
const STAFF_VIEWS = [
  { section: 'employee-view', roles: ['employee', 'admin'], load: () => import('./views/employee.js') },
  { section: 'admin-view', roles: ['admin'], load: () => import('./views/admin.js') },
];
const mountedStaff = new Set();

function showView(name) {
  $('auth-view').hidden = name !== 'auth';
  $('dashboard-view').hidden = name !== 'dashboard';
  if (name !== 'dashboard') for (const v of STAFF_VIEWS) $(v.section).hidden = true;
}

async function enterDashboard(user) {
  store.user = user;
  $('session-user').textContent = user.full_name || user.username;
  $('session-box').hidden = false;
  $('greeting').textContent = `Hello, ${(user.full_name || user.username).split(' ')[0]}`;
  showView('dashboard');
  store.emit('user', user);
  for (const v of STAFF_VIEWS) {
    if (!v.roles.includes(user.role)) continue;
    $(v.section).hidden = false;
    if (!mountedStaff.has(v.section)) {
      mountedStaff.add(v.section);
      v.load().then((m) => m.mount(ctx, $(v.section))).catch((err) => console.error(err));
    }
  }
  // Step-up codes pushed to the user's stream (reserved in protocol v1: ignore a refusal).
  client.subscribe(`user:${user.id}`, (ev) => store.emit('event', ev)).catch(() => {});
  await accountsView.load();
}

function leaveDashboard(reason) {
  store.user = null;
  store.accounts.clear();
  store.selected = null;
  store.emit('user', null);
  $('session-box').hidden = true;
  showView('auth');
  const why = { expired: 'Your session has ended. Please log in again.', revoked: 'You were signed out. Please log in again.' };
  authView.showNotice(why[reason] ?? '');
}

client.on('session', (user, reason) => {
  if (user) {
    // A reconnect re-auths the same user: the library has already resubscribed; nothing to reload.
    if (store.user?.id === user.id) return;
    enterDashboard(user).catch((err) => showBanner(describeError(err)));
  } else if (store.user || reason !== 'logout') {
    leaveDashboard(reason);
  }
});

client.on('resync', (stream) => store.emit('resync', stream));
client.on('event', (ev) => { if (ev.event === 'otp') store.emit('event', ev); });

$('logout').addEventListener('click', async () => {
  // The library clears the session even when the hub cannot be told; its `session` event hides the dashboard.
  try { await client.logout(); } catch (err) { console.warn('logout', err); }
  announce('You are logged out.');
  $('auth-username').focus();
});

for (const view of [otpView, authView, accountsView, moneyView, historyView, activityView]) view.mount(ctx);

// Start: with a stored token, wait for the restore before showing the login form.
if (client.token) {
  $('main').setAttribute('aria-busy', 'true');
  client.connect().then(() => {
    $('main').removeAttribute('aria-busy');
    if (!client.user) showView('auth');
  });
} else {
  showView('auth');
  client.connect();
}

fetch('healthz').then((r) => (r.ok ? r.json() : null)).then((h) => {
  if (h?.version) $('footer-version').textContent = ` · Hub ${h.version}`;
}).catch(() => {});
