/**
 * Admin threat monitor: the live `threat` feed on `admin:threats` (after reading `threats`), counters by
 * kind, acknowledge (`ack_threat`); the users table with status and last login, lock / unlock; the audit
 * log. State-changing admin ops carry the "Admin key" typed on the page: it lives in this module's memory
 * only (never in storage, never in the DOM after it is read) and is forgotten at logout.
 * @module views/admin
 */
import { $, h, setMessage } from '../dom.js';
import { formatDateTime, formatTime } from '../format.js';

const STREAM = 'admin:threats';
export const THREAT_KINDS = {
  brute_force: 'Brute force',
  account_locked: 'User locked',
  rate_limited: 'Rate limited',
  otp_failed: 'Wrong one-time code',
  new_ip: 'New address',
  large_transfer: 'Large transfer',
  transfer_burst: 'Transfer burst',
  locked_action: 'Locked action',
};
const SEVERITY_TEXT = { high: 'High', medium: 'Medium', low: 'Low' };
const MAX_FEED = 300;

let ctx;
let adminKey = '';           // memory only
const threats = new Map();   // id -> threat
const users = new Map();     // id -> user
let usersNext = null;
let auditNext = null;
let loadedFor = null;

export function mount(context) {
  ctx = context;
  const { store } = ctx;
  // Read the key out of the field into memory; the field is a password box the browser never saves.
  $('admin-key').addEventListener('input', (e) => { adminKey = e.target.value; });
  $('key-form').addEventListener('submit', (e) => e.preventDefault());
  store.on('user', (user) => {
    adminKey = '';
    $('admin-key').value = '';
    threats.clear();
    users.clear();
    loadedFor = null;
    renderThreats();
    $('users-body').replaceChildren();
    $('audit-list').replaceChildren();
    if (user?.role === 'admin') start();
  });
  store.on('page', (page) => { if (page === 'admin' && store.user?.role === 'admin' && loadedFor === store.user.id) { loadUsers(false); loadAudit(false); } });
  store.on('event', (ev) => {
    if (ev.stream !== STREAM || ev.event !== 'threat' || !ev.data) return;
    const t = ev.data;
    const isNew = !threats.has(String(t.id));
    threats.set(String(t.id), { ...threats.get(String(t.id)), ...t });
    renderThreats(isNew ? String(t.id) : null);
    if (isNew) ctx.announce(`${SEVERITY_TEXT[t.severity] ?? t.severity} severity threat: ${THREAT_KINDS[t.kind] ?? t.kind}${t.user ? ` for user ${t.user}` : ''}.`);
    // A lock shows in the users table too.
    if (t.kind === 'account_locked' && store.page === 'admin') loadUsers(false);
  });
  store.on('resync', (stream) => { if (stream === STREAM) loadThreats(); });
  $('feed-unacked').addEventListener('change', () => renderThreats());
  $('threat-feed').addEventListener('click', (e) => {
    const btn = e.target.closest('button[data-ack]');
    if (btn) ack(btn);
  });
  $('users-form').addEventListener('submit', (e) => { e.preventDefault(); loadUsers(false); });
  $('users-more').addEventListener('click', () => loadUsers(true));
  $('users-body').addEventListener('click', (e) => {
    const btn = e.target.closest('button[data-lock]');
    if (btn) lockOrUnlock(btn);
  });
  $('audit-refresh').addEventListener('click', () => loadAudit(false));
  $('audit-more').addEventListener('click', () => loadAudit(true));
}

async function start() {
  loadedFor = ctx.store.user.id;
  try {
    await ctx.subscribe(STREAM);
    setMessage($('feed-status'), '');
  } catch (err) {
    setMessage($('feed-status'), ctx.isUnavailable(err) ? 'The live threat feed is not available on this hub yet.' : `Live alerts are off: ${ctx.describeError(err)}`);
  }
  await loadThreats();
  loadUsers(false);
  loadAudit(false);
}

/** Args for a state-changing admin op, with the step-up key; null (and a message) when there is none. */
function withKey(args, onMissing) {
  if (!adminKey) {
    onMissing('Enter the admin key at the top of the page first.');
    $('admin-key').focus();
    return null;
  }
  return { ...args, admin_key: adminKey };
}

function keyError(err) {
  return ctx.describeError(err);
}

// ---- threats ---------------------------------------------------------------------------------------

async function loadThreats() {
  try {
    const { threats: list } = await ctx.call('threats', { limit: 200 });
    for (const t of list) {
      const known = threats.get(String(t.id));
      threats.set(String(t.id), { ...known, ...t, username: t.username ?? known?.username ?? null });
    }
    renderThreats();
  } catch (err) {
    if (ctx.isUnavailable(err)) setMessage($('feed-status'), 'The threat monitor is not available on this hub yet.'); else ctx.showError($('feed-status'), err);
  }
}

function renderThreats(highlight) {
  const all = [...threats.values()].sort((a, b) => Number(b.id) - Number(a.id));
  const onlyOpen = $('feed-unacked').checked;
  const shown = all.filter((t) => !onlyOpen || !t.acked_at).slice(0, MAX_FEED);
  // Counters by kind: open / total.
  const counts = new Map(Object.keys(THREAT_KINDS).map((k) => [k, { open: 0, total: 0, severity: null }]));
  for (const t of all) {
    const c = counts.get(t.kind) ?? { open: 0, total: 0, severity: null };
    c.total++;
    if (!t.acked_at) c.open++;
    c.severity = c.severity ?? t.severity;
    counts.set(t.kind, c);
  }
  const open = all.filter((t) => !t.acked_at).length;
  $('threat-open').textContent = `${open} open`;
  $('threat-counters').replaceChildren(...[...counts.entries()].map(([kind, c]) => h('li', {
    class: `counter ${c.open ? `counter-${c.severity ?? 'low'}` : ''}`, dataset: { kind },
  },
  h('span', { class: 'counter-value', dataset: { count: kind } }, String(c.total)),
  h('span', { class: 'counter-label' }, THREAT_KINDS[kind] ?? kind),
  h('span', { class: 'counter-open muted' }, c.open ? `${c.open} open` : 'all clear'))));

  const list = $('threat-feed');
  const existing = new Map([...list.children].map((li) => [li.dataset.threat, li]));
  const focused = document.activeElement;
  list.replaceChildren(...shown.map((t) => {
    const key = `${t.acked_at ?? ''}|${t.username ?? users.get(String(t.user))?.username ?? ''}`;
    const old = existing.get(String(t.id));
    if (old && old.dataset.key === key) return old;
    return threatRow(t, key, String(t.id) === highlight);
  }));
  if (focused && focused !== document.body && !document.contains(focused)) list.querySelector('button')?.focus();
  $('feed-empty').hidden = shown.length > 0;
}

function threatRow(t, key, isNew) {
  const sev = ['high', 'medium', 'low'].includes(t.severity) ? t.severity : 'low';
  return h('li', { class: `threat sev-${sev}${t.acked_at ? ' acked' : ''}${isNew ? ' row-new' : ''}`, dataset: { threat: t.id, key, kind: t.kind } },
    h('span', { class: `sev-badge sev-badge-${sev}` }, SEVERITY_TEXT[sev]),
    h('div', { class: 'threat-body' },
      h('p', { class: 'threat-title' }, THREAT_KINDS[t.kind] ?? t.kind,
        t.user ? h('span', { class: 'muted' }, ` · ${t.username ?? users.get(String(t.user))?.username ?? `user #${t.user}`}`) : null),
      t.detail ? h('p', { class: 'threat-detail' }, typeof t.detail === 'string' ? t.detail : JSON.stringify(t.detail)) : null,
      h('p', { class: 'muted threat-meta' },
        h('time', { datetime: t.at, title: formatDateTime(t.at) }, formatTime(t.at)),
        t.ip ? ` · ${t.ip}` : '',
        t.acked_at ? ` · acknowledged by ${String(t.acked_by) === String(ctx.store.user?.id) ? 'you' : actorName(t.acked_by)} ${formatTime(t.acked_at)}` : '')),
    t.acked_at ? h('span', { class: 'acked-mark', 'aria-label': 'Acknowledged' }, '✓')
      : h('button', { type: 'button', class: 'btn btn-ghost btn-sm', dataset: { ack: t.id } }, 'Acknowledge'));
}

async function ack(btn) {
  const args = withKey({ id: btn.dataset.ack }, (m) => setMessage($('feed-status'), m));
  if (!args) return;
  btn.disabled = true;
  try {
    const { threat } = await ctx.call('ack_threat', args);
    const known = threats.get(String(threat.id));
    threats.set(String(threat.id), { ...known, ...threat, username: threat.username ?? known?.username ?? null });
    setMessage($('feed-status'), '');
    renderThreats();
    ctx.announce(`Threat ${threat.id} acknowledged.`);
    loadAudit(false);
  } catch (err) {
    btn.disabled = false;
    setMessage($('feed-status'), keyError(err), ctx.errorCode(err));
  }
}

// ---- users -----------------------------------------------------------------------------------------

async function loadUsers(more) {
  if (more && usersNext == null) return;
  const query = $('users-query').value.trim();
  const args = { limit: 50 };
  if (query) args.query = query;
  if (more) args.before = usersNext;
  setMessage($('users-status'), 'Loading users…');
  try {
    const res = await ctx.call('users', args);
    if (!more) users.clear();
    for (const u of res.users) users.set(String(u.id), u);
    usersNext = res.next ?? null;
    renderUsers();
    renderThreats();
    setMessage($('users-status'), '');
  } catch (err) {
    if (ctx.isUnavailable(err)) setMessage($('users-status'), 'The users list is not available on this hub yet.'); else ctx.showError($('users-status'), err);
  }
}

function renderUsers() {
  const roleText = { customer: 'Customer', employee: 'Employee', admin: 'Admin' };
  const focusedId = document.activeElement?.dataset?.lock;
  $('users-body').replaceChildren(...[...users.values()].map((u) => {
    const locked = u.status === 'locked';
    const name = u.full_name || u.username;
    return h('tr', { dataset: { user: u.id } },
      h('td', {}, h('span', { class: 'user-name' }, name), h('span', { class: 'note muted' }, `${u.username} · ID ${u.id}`)),
      h('td', {}, roleText[u.role] ?? u.role),
      h('td', {}, h('span', { class: `status ${locked ? 'status-rejected' : 'status-approved'}` }, locked ? 'Locked' : 'Active')),
      h('td', { class: 'nowrap' }, u.last_login ? h('time', { datetime: u.last_login }, formatDateTime(u.last_login)) : h('span', { class: 'muted' }, 'Never')),
      h('td', { class: 'num' }, u.id === ctx.store.user?.id ? null : h('button', {
        type: 'button', class: `btn btn-sm ${locked ? 'btn-secondary' : 'btn-danger-ghost'}`,
        dataset: { lock: u.id, action: locked ? 'unlock' : 'lock' }, 'aria-label': `${locked ? 'Unlock' : 'Lock'} ${u.username}`,
      }, locked ? 'Unlock' : 'Lock')));
  }));
  $('users-table').hidden = users.size === 0;
  $('users-more').hidden = usersNext == null;
  if (focusedId) $('users-body').querySelector(`button[data-lock="${CSS.escape(focusedId)}"]`)?.focus();
}

async function lockOrUnlock(btn) {
  const op = btn.dataset.action === 'unlock' ? 'unlock_user' : 'lock_user';
  const base = op === 'lock_user' ? { user: btn.dataset.lock, reason: 'locked from the threat monitor' } : { user: btn.dataset.lock };
  const args = withKey(base, (m) => setMessage($('users-error'), m));
  if (!args) return;
  setMessage($('users-error'), '');
  btn.disabled = true;
  try {
    const { user } = await ctx.call(op, args);
    users.set(String(user.id), { ...users.get(String(user.id)), ...user });
    renderUsers();
    ctx.announce(`${user.username} is now ${user.status === 'locked' ? 'locked' : 'active'}.`);
    loadAudit(false);
  } catch (err) {
    btn.disabled = false;
    setMessage($('users-error'), keyError(err), ctx.errorCode(err));
  }
}

// ---- audit -----------------------------------------------------------------------------------------

async function loadAudit(more) {
  if (more && auditNext == null) return;
  const args = { limit: 50 };
  if (more) args.before = auditNext;
  try {
    const res = await ctx.call('audit', args);
    const rows = res.entries.map((e) => h('li', { class: 'audit' },
      h('p', {}, h('strong', {}, e.actor_username ?? actorName(e.actor)), ` ${String(e.action).replace(/_/g, ' ')}`, e.target ? h('span', { class: 'mono' }, ` ${targetName(e.target)}`) : null),
      e.detail ? h('p', { class: 'muted audit-detail' }, typeof e.detail === 'string' ? e.detail : JSON.stringify(e.detail)) : null,
      h('time', { class: 'muted audit-time', datetime: e.at }, formatDateTime(e.at))));
    if (more) $('audit-list').append(...rows); else $('audit-list').replaceChildren(...rows);
    auditNext = res.next ?? null;
    $('audit-more').hidden = auditNext == null;
    setMessage($('audit-status'), $('audit-list').children.length ? '' : 'No staff actions yet.');
  } catch (err) {
    if (ctx.isUnavailable(err)) setMessage($('audit-status'), 'The audit log is not available on this hub yet.'); else ctx.showError($('audit-status'), err);
  }
}

function actorName(a) {
  if (a && typeof a === 'object') return a.username ?? `user ${a.id}`;
  const u = users.get(String(a));
  return u ? u.username : `user #${a}`;
}

function targetName(t) {
  if (t && typeof t === 'object') return JSON.stringify(t);
  return String(t);
}
