/**
 * "Your details" on the Services & security page: the user's name, e-mail and phone (`profile`,
 * `update_profile {full_name?, email?, phone?}`) and whether two-step sign-in is on (`totp_enabled`).
 * Only changed fields are sent; an emptied one is sent as "" (removed). A new e-mail or phone is held by the
 * hub until a one-time code sent to the contact on file confirms it (`otp_required` → the OTP dialog). A
 * change made on another screen arrives as a `user` event on `user:ID`.
 * @module views/profile
 */
import { $, busy, clearFormErrors, setFieldError, setMessage } from '../dom.js';
const dayFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

const FIELDS = ['full_name', 'email', 'phone'];
let ctx;
let profile = null;
let generation = 0;

export function mount(context) {
  ctx = context;
  const { store } = ctx;
  const form = $('profile-form');
  form.addEventListener('submit', (e) => { e.preventDefault(); busy(form, save); });
  for (const el of form.elements) {
    if (el.name) el.addEventListener('input', () => { setFieldError(el, ''); setMessage($('profile-success'), ''); });
  }
  store.on('user', (user) => {
    generation++;
    profile = null;
    form.reset();
    clearFormErrors(form);
    $('profile-meta').textContent = '';
    if (user && store.page === 'services') load();
  });
  store.on('page', (page) => { if (page === 'services' && store.user) load(); });
  store.on('totp', (enabled) => { if (profile) { profile.totp_enabled = enabled; renderMeta(); } });
  store.on('event', (ev) => {
    if (ev.event !== 'user' || !ev.data || !store.user) return;
    const user = ev.data.user ?? ev.data;
    if (String(user.id) !== String(store.user.id)) return;
    store.emit('profile', { full_name: user.full_name, email: user.email, phone: user.phone });
    if (profile) showKeepingEdits({ ...profile, ...user });
  });
}

async function load() {
  const gen = generation;
  try {
    const res = await ctx.call('profile', {});
    if (gen !== generation) return;
    show(res.profile ?? res.user ?? res);
    setMessage($('profile-status'), '');
  } catch (err) {
    if (gen !== generation) return;
    if (ctx.isUnavailable(err)) setMessage($('profile-status'), 'Changing your details is not available on this hub yet.');
    else ctx.showError($('profile-status'), err);
  }
}

function show(p) {
  profile = p;
  const form = $('profile-form');
  for (const name of FIELDS) form.elements[name].value = p[name] ?? '';
  renderMeta();
}

/** Take a change from another screen without overwriting what is being typed here. */
function showKeepingEdits(next) {
  const form = $('profile-form');
  const edited = FIELDS.filter((name) => form.elements[name].value.trim() !== (profile[name] ?? ''));
  const typed = Object.fromEntries(edited.map((name) => [name, form.elements[name].value]));
  show(next);
  for (const name of edited) form.elements[name].value = typed[name];
}

function renderMeta() {
  const created = new Date(profile.created_at);
  const since = Number.isNaN(created.getTime()) ? '' : ` · with us since ${dayFmt.format(created)}`;
  const totp = profile.totp_enabled === undefined ? '' : ` · Two-step sign-in: ${profile.totp_enabled ? 'on' : 'off'}`;
  $('profile-meta').textContent = `Username ${profile.username}${totp}${since}`;
}

function validate(form) {
  const v = {
    full_name: form.elements.full_name.value.trim(),
    email: form.elements.email.value.trim(),
    phone: form.elements.phone.value.trim().replace(/[\s()-]/g, ''),
  };
  if (v.email && !/^[^@\s]+@[^@\s]+$/.test(v.email)) setFieldError(form.elements.email, 'Enter an email address like name@example.com.');
  if (v.phone && !/^\+[0-9]{6,15}$/.test(v.phone)) setFieldError(form.elements.phone, 'Use + and 6 to 15 digits, e.g. +15550100.');
  return form.querySelector('[aria-invalid="true"]') ? null : v;
}

async function save() {
  const form = $('profile-form');
  clearFormErrors(form);
  if (!profile) { await load(); if (!profile) return; }
  const v = validate(form);
  if (!v) { form.querySelector('[aria-invalid="true"]')?.focus(); return; }
  const args = {};
  for (const name of FIELDS) if (v[name] !== (profile[name] ?? '')) args[name] = v[name];
  if (!Object.keys(args).length) { setMessage($('profile-success'), 'Nothing to save: your details are as shown.'); return; }
  try {
    const res = await ctx.call('update_profile', args);
    const updated = res.profile ?? res.user ?? null;
    show(updated ? { ...profile, ...updated } : { ...profile, ...args });
    ctx.store.emit('profile', { full_name: profile.full_name, email: profile.email, phone: profile.phone });
    const contact = 'email' in args || 'phone' in args;
    setMessage($('profile-success'), contact ? 'Your details were saved. We will use the new contact from now on.' : 'Your details were saved.');
    ctx.announce('Your details were saved.');
  } catch (err) {
    const field = err.field && form.elements[err.field];
    if (field) { ctx.fieldError(field, err); field.focus(); }
    else if (err.code === 'cancelled') setMessage($('profile-error'), 'Not saved: the verification was cancelled.');
    else ctx.showError($('profile-error'), err, { op: 'update_profile' });
  }
}
