/**
 * BankHub web client: wires the client library to the views.
 *
 * Views are modules under ./views/ exporting `mount(ctx)`; they talk to each other only through the
 * shared `store` (state + a tiny event bus) and `ctx.call` (requests, with step-up OTP handled here).
 * Pages are chosen by the URL hash (#/, #/services, #/staff, #/admin); staff pages only for their roles.
 * @module app
 */
import { BankHubClient, BankHubError } from './bankhub.js';
import { $, announce, setFieldError, setMessage } from './dom.js';
import { codeOf, describe, isUnavailableOp } from './messages.js';
import * as authView from './views/auth.js';
import * as accountsView from './views/accounts.js';
import * as moneyView from './views/money.js';
import * as historyView from './views/history.js';
import * as insightsView from './views/insights.js';
import * as activityView from './views/activity.js';
import * as otpView from './views/otp.js';
import * as servicesView from './views/services.js';
import * as employeeView from './views/employee.js';
import * as adminView from './views/admin.js';
import * as payeesView from './views/payees.js';
import * as goalsView from './views/goals.js';
import * as ordersView from './views/orders.js';
import * as profileView from './views/profile.js';
import * as statementView from './views/statement.js';

/** Shared state. `accounts` keeps the hub's order (oldest first). */
export const store = {
  /** @type {{id: string, username: string, role: string, full_name?: string}|null} */
  user: null,
  /** @type {Map<string, {id: string, name: string, balance: string, currency: string, status: string}>} */
  accounts: new Map(),
  /** @type {Map<string, {id: string, account: string, nickname: string}>} saved payees, by payee id */
  payees: new Map(),
  /** @type {Map<string, {id: string, account: string, name: string, target: string, saved: string}>} by goal id */
  goals: new Map(),
  /** @type {string|null} id of the account whose history is shown */
  selected: null,
  /** @type {string} the page shown: accounts, services, staff or admin */
  page: 'accounts',
  _listeners: new Map(),
  /** Listen: `accounts` (list changed), `balance` ({id, before, after, txn}), `select` (id), `event` (hub
   * event), `user` (user|null), `profile` (user: name or contact changed), `payees` (list changed),
   * `transferred` ({from, to, amount}), `resync` (stream), `page` (name), `connection` (state). */
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

/** A sentence for a person from a BankHubError (web/js/messages.js); `about` adds what the page knows. */
export function describeError(err, about) {
  return describe(err, about);
}

/** Show an error in a message element: the plain sentence, then the code in small print. */
function showError(el, err, about) { setMessage(el, describe(err, about), codeOf(err)); }

/** The same next to a form field (marks it invalid). */
function fieldError(input, err, about) { setFieldError(input, describe(err, about), codeOf(err)); }

/** The hub answers `bad_request` "op X is not available ..." for ops it does not implement yet. */
export function isUnavailable(err) {
  return err instanceof BankHubError && isUnavailableOp(err);
}

/** Send a request. When the hub holds it for a step-up code (`otp_required`), prompt for the code; the
 * hub then runs the held operation on `confirm_otp` and its reply is this call's result. Nothing is resent. */
async function call(op, args, opts) {
  try {
    return await client.request(op, args, opts);
  } catch (err) {
    // The op travels with the error so the page can say what was not found or what clashed.
    if (err instanceof BankHubError && err.op === undefined) err.op = op;
    if (!(err instanceof BankHubError) || err.code !== 'otp_required' || !err.challenge) throw err;
    try {
      return await otpView.prompt({ challenge: err.challenge, op, args, expires_at: err.expires_at, message: err.message, origin: true });
    } catch (held) {
      if (held instanceof BankHubError && held.op === undefined) held.op = op;
      throw held;
    }
  }
}

/** Random idempotency key (works outside secure contexts too). */
export function newIdempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `web-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

function showBanner(text) { setMessage($('banner'), text); }

/** Subscribe a stream for the signed-in user; the library resumes it with `since` after reconnects. */
function subscribe(stream) {
  return client.subscribe(stream, (ev) => store.emit('event', ev));
}

const ctx = { client, store, call, subscribe, describeError, errorCode: codeOf, showError, fieldError, isUnavailable, announce, showBanner,
  newIdempotencyKey };

// ---- connection indicator -------------------------------------------------------------------------

const CONN_TEXT = { idle: 'Offline', connecting: 'Connecting…', open: 'Live', reconnecting: 'Reconnecting…', dormant: 'Ready', closed: 'Offline' };
let lastAnnouncedConn = 'open';
client.on('state', (state, info) => {
  $('conn').dataset.state = state;
  let text = CONN_TEXT[state] ?? state;
  if (state === 'reconnecting' && info?.delayMs > 1500) text = `Reconnecting in ${Math.round(info.delayMs / 1000)} s…`;
  $('conn-text').textContent = text;
  $('conn').title = state === 'open' ? 'Connected: changes appear as they happen' : 'Not connected to the bank';
  // Tell screen-reader users about losing and regaining the connection, once each.
  if (state === 'reconnecting' && lastAnnouncedConn === 'open') { announce('Connection lost. Reconnecting.'); lastAnnouncedConn = state; }
  if (state === 'open' && lastAnnouncedConn !== 'open') { announce('Connected again.'); lastAnnouncedConn = state; }
  if (state === 'open') showBanner('');
  store.emit('connection', state);
});

// ---- theme ----------------------------------------------------------------------------------------

// theme-init.js has set data-theme (saved choice or system) before first paint and follows the system.
const darkQuery = matchMedia('(prefers-color-scheme: dark)');
function effectiveTheme() {
  return document.documentElement.dataset.theme === 'dark' ? 'dark' : 'light';
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

// ---- pages ----------------------------------------------------------------------------------------

const PAGES = {
  accounts: { hash: '#/', roles: null, title: 'Accounts' },
  payments: { hash: '#/payments', roles: null, title: 'Payments' },
  services: { hash: '#/services', roles: null, title: 'Services & security' },
  staff: { hash: '#/staff', roles: ['employee', 'admin'], title: 'Employee console' },
  admin: { hash: '#/admin', roles: ['admin'], title: 'Threat monitor' },
};

function pageFromHash() {
  const h = location.hash.replace(/^#\/?/, '').split(/[/?]/)[0];
  return PAGES[h] ? h : 'accounts';
}

function allowed(page, user) {
  const roles = PAGES[page]?.roles;
  return !!user && (!roles || roles.includes(user.role));
}

function renderPage({ focus = false } = {}) {
  const user = store.user;
  let page = pageFromHash();
  if (!allowed(page, user)) page = 'accounts';
  for (const el of document.querySelectorAll('[data-page]')) el.hidden = el.dataset.page !== page;
  for (const a of $('main-nav').querySelectorAll('a[data-route]')) {
    a.hidden = !allowed(a.dataset.route, user);
    if (a.dataset.route === page) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  document.title = `${PAGES[page].title} · BankHub`;
  const changed = store.page !== page;
  store.page = page;
  if (changed || focus) store.emit('page', page);
  if (changed && focus) {
    // Move keyboard and screen-reader focus to the new page's heading.
    const h1 = document.querySelector(`[data-page="${page}"] h1`);
    if (h1) { h1.setAttribute('tabindex', '-1'); h1.focus(); }
  }
}
window.addEventListener('hashchange', () => { if (store.user) renderPage({ focus: true }); });

// ---- session --------------------------------------------------------------------------------------

function showSignedIn(signedIn) {
  $('auth-view').hidden = signedIn;
  $('app-shell').hidden = !signedIn;
  $('main-nav').hidden = !signedIn;
  $('session-box').hidden = !signedIn;
}

const ROLE_TEXT = { customer: 'Personal', employee: 'Employee', admin: 'Administrator' };

/** The signed-in user's name in the top bar and the greeting. */
function renderUser(user) {
  const name = user.full_name || user.username;
  $('session-user').textContent = name;
  $('session-role').textContent = ROLE_TEXT[user.role] ?? user.role;
  $('session-avatar').textContent = name.split(/\s+/).map((w) => w[0]).join('').slice(0, 2).toUpperCase();
  const hour = new Date().getHours();
  const greet = hour < 12 ? 'Good morning' : hour < 18 ? 'Good afternoon' : 'Good evening';
  $('greeting').textContent = `${greet}, ${name.split(' ')[0]}`;
  $('greeting-date').textContent = new Intl.DateTimeFormat(undefined, { dateStyle: 'full' }).format(new Date());
}
store.on('profile', (user) => { if (store.user && user) { store.user = { ...store.user, ...user }; renderUser(store.user); } });

async function enterApp(user) {
  store.user = user;
  renderUser(user);
  showSignedIn(true);
  store.page = null;
  renderPage();
  store.emit('user', user);
  // Step-up prompts and service-request updates are pushed on the user's own stream.
  subscribe(`user:${user.id}`).catch((err) => console.warn(`subscribe user:${user.id}`, err));
  await accountsView.load();
}

function leaveApp(reason) {
  store.user = null;
  store.accounts.clear();
  store.payees.clear();
  store.goals.clear();
  store.selected = null;
  store.emit('user', null);
  showSignedIn(false);
  const why = { expired: 'Your session has ended. Please log in again.', revoked: 'You were signed out. Please log in again.' };
  authView.showNotice(why[reason] ?? '');
}

client.on('session', (user, reason) => {
  if (user) {
    // A reconnect re-auths the same user: the library has already resubscribed; nothing to reload.
    if (store.user?.id === user.id) return;
    enterApp(user).catch((err) => showBanner(describeError(err)));
  } else if (store.user || reason !== 'logout') {
    leaveApp(reason);
  }
});

client.on('resync', (stream) => store.emit('resync', stream));

$('logout').addEventListener('click', async () => {
  // The library clears the session even when the hub cannot be told; its `session` event hides the app.
  try { await client.logout(); } catch (err) { console.warn('logout', err); }
  announce('You are logged out.');
  $('auth-username').focus();
});

for (const view of [otpView, authView, accountsView, moneyView, historyView, insightsView, activityView,
  servicesView, employeeView, adminView, payeesView, goalsView, ordersView, profileView, statementView]) view.mount(ctx);

// Start: with a stored token, wait for the restore before showing the login form.
if (client.token) {
  $('main').setAttribute('aria-busy', 'true');
  client.connect().then(() => {
    $('main').removeAttribute('aria-busy');
    if (!client.user) showSignedIn(false);
  });
} else {
  showSignedIn(false);
  client.connect();
}

fetch('healthz').then((r) => (r.ok ? r.json() : null)).then((h) => {
  if (h?.version) $('footer-version').textContent = ` · Hub ${h.version}`;
}).catch(() => {});
