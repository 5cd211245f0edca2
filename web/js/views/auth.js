/**
 * Sign-up and log-in form, and "Forgot your password?" (forgot_password, then reset_password with the code).
 * One form, two buttons: "Log in" (Enter) and "Sign up" (creates the user, then logs in). The app appears
 * through the client's `session` event. A user with TOTP enrolled is asked for an "Authenticator code".
 * @module views/auth
 */
import { $, announce, busy, clearFormErrors, setFieldError, setMessage } from '../dom.js';
import { welcome } from './accounts.js';

const USERNAME_RE = /^[a-z0-9_.-]{3,32}$/;
let ctx;
let firstAccount = null; // the account sign-up opened, shown once logged in

export function mount(context) {
  ctx = context;
  const form = $('auth-form');
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const mode = e.submitter?.value === 'signup' ? 'signup' : 'login';
    busy(form, () => submit(form, mode));
  });
  for (const f of [form, $('forgot-form'), $('reset-form')]) {
    for (const el of f.elements) if (el.name) el.addEventListener('input', () => setFieldError(el, ''));
  }
  $('forgot-open').addEventListener('click', () => toggleReset());
  $('forgot-form').addEventListener('submit', (e) => {
    e.preventDefault();
    busy($('forgot-form'), forgot);
  });
  $('reset-form').addEventListener('submit', (e) => {
    e.preventDefault();
    busy($('reset-form'), reset);
  });
  ctx.store.on('user', (user) => {
    if (user) return;
    $('auth-totp-field').hidden = true;
    $('auth-totp').value = '';
  });
}

/** A line above the form (e.g. "Your session has ended"). */
export function showNotice(text) {
  setMessage($('auth-notice'), '');
  setMessage($('auth-error'), text);
}

function toggleReset(open = $('reset-panel').hidden) {
  $('reset-panel').hidden = !open;
  $('forgot-open').setAttribute('aria-expanded', String(open));
  if (open) {
    $('forgot-username').value = $('auth-username').value.trim();
    $('forgot-username').focus();
  }
}

function validate(form, mode) {
  const username = form.elements.username.value.trim().toLowerCase();
  const password = form.elements.password.value;
  let ok = true;
  if (!username) { setFieldError(form.elements.username, 'Enter your username.'); ok = false; }
  else if (mode === 'signup' && !USERNAME_RE.test(username)) {
    setFieldError(form.elements.username, 'Use 3 to 32 letters, digits, dots, dashes or underscores.'); ok = false;
  }
  if (!password) { setFieldError(form.elements.password, 'Enter your password.'); ok = false; }
  else if (mode === 'signup' && password.length < 8) {
    setFieldError(form.elements.password, 'Use at least 8 characters.'); ok = false;
  }
  const email = form.elements.email.value.trim();
  const phone = form.elements.phone.value.trim().replace(/[\s()-]/g, '');
  if (mode === 'signup' && email && !email.includes('@')) { setFieldError(form.elements.email, 'Enter a valid email address.'); ok = false; }
  if (mode === 'signup' && phone && !/^\+[0-9]{6,15}$/.test(phone)) { setFieldError(form.elements.phone, 'Use + and 6 to 15 digits, e.g. +15550100.'); ok = false; }
  return ok ? { username, password, email, phone, full_name: form.elements.full_name.value.trim() } : null;
}

async function submit(form, mode) {
  clearFormErrors(form);
  setMessage($('auth-notice'), '');
  const v = validate(form, mode);
  if (!v) { form.querySelector('[aria-invalid="true"]')?.focus(); return; }
  try {
    if (mode === 'signup') {
      const args = { username: v.username, password: v.password };
      if (v.full_name) args.full_name = v.full_name;
      if (v.email) args.email = v.email;
      if (v.phone) args.phone = v.phone;
      const res = await ctx.call('signup', args);
      announce('Account created. Logging you in.');
      firstAccount = res.account ?? null;
    }
    const totp = $('auth-totp-field').hidden ? '' : form.elements.totp.value.trim();
    await ctx.client.login(v.username, v.password, totp ? { totp } : {});
    form.elements.password.value = '';
    if (firstAccount) welcome(firstAccount);
    firstAccount = null;
  } catch (err) {
    const field = err.field && form.elements[err.field];
    if (err.code === 'otp_required') {
      // The user enrolled an authenticator app: ask for its code too.
      $('auth-totp-field').hidden = false;
      setFieldError(form.elements.totp, $('auth-totp').value ? 'That code is not right.' : 'Enter the code from your authenticator app.');
      form.elements.totp.focus();
    } else if (field) { ctx.fieldError(field, err); field.focus(); }
    else if (err.code === 'conflict') { ctx.fieldError(form.elements.username, err); form.elements.username.focus(); }
    else ctx.showError($('auth-error'), err, { op: err.op ?? 'login' });
  }
}

async function forgot() {
  const form = $('forgot-form');
  clearFormErrors(form);
  const username = form.elements.username.value.trim().toLowerCase();
  if (!username) { setFieldError(form.elements.username, 'Enter your username.'); form.elements.username.focus(); return; }
  try {
    await ctx.call('forgot_password', { username });
    setMessage($('forgot-success'), 'If that user exists, a code is on its way to the email or phone on file. It is valid for 15 minutes.');
    $('reset-code').focus();
  } catch (err) {
    ctx.showError($('forgot-error'), err);
  }
}

async function reset() {
  const form = $('reset-form');
  clearFormErrors(form);
  const username = $('forgot-username').value.trim().toLowerCase();
  const code = form.elements.code.value.trim();
  const password = form.elements.new_password.value;
  let ok = true;
  if (!username) { setFieldError($('forgot-username'), 'Enter your username.'); ok = false; }
  if (!/^[0-9]{6}$/.test(code)) { setFieldError(form.elements.code, 'Enter the 6-digit code.'); ok = false; }
  if (password.length < 8) { setFieldError(form.elements.new_password, 'Use at least 8 characters.'); ok = false; }
  if (!ok) { document.querySelector('#reset-panel [aria-invalid="true"]')?.focus(); return; }
  try {
    await ctx.call('reset_password', { username, code, new_password: password });
    form.reset();
    setMessage($('forgot-success'), '');
    toggleReset(false);
    $('auth-username').value = username;
    $('auth-password').value = '';
    setMessage($('auth-error'), '');
    setMessage($('auth-notice'), 'Your password was changed. Log in with the new one.');
    $('auth-password').focus();
  } catch (err) {
    if (err.code === 'otp_invalid' || err.code === 'otp_expired') { ctx.fieldError(form.elements.code, err); form.elements.code.focus(); }
    else if (err.field === 'new_password') { ctx.fieldError(form.elements.new_password, err); form.elements.new_password.focus(); }
    else ctx.showError($('reset-error'), err);
  }
}
