/**
 * Sign-up and log-in form. One form, two buttons: "Log in" (Enter) and "Sign up" (creates the user, then
 * logs in). The dashboard appears through the client's `session` event.
 * @module views/auth
 */
import { $, announce, busy, clearFormErrors, setFieldError, setMessage } from '../dom.js';

const USERNAME_RE = /^[a-z0-9_.-]{3,32}$/;
let ctx;

export function mount(context) {
  ctx = context;
  const form = $('auth-form');
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const mode = e.submitter?.value === 'signup' ? 'signup' : 'login';
    busy(form, () => submit(form, mode));
  });
  for (const el of form.elements) if (el.name) el.addEventListener('input', () => setFieldError(el, ''));
}

/** A line above the form (e.g. "Your session has ended"). */
export function showNotice(text) {
  setMessage($('auth-error'), text);
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
  if (mode === 'signup' && email && !email.includes('@')) { setFieldError(form.elements.email, 'Enter a valid email address.'); ok = false; }
  return ok ? { username, password, email, full_name: form.elements.full_name.value.trim() } : null;
}

async function submit(form, mode) {
  clearFormErrors(form);
  const v = validate(form, mode);
  if (!v) { form.querySelector('[aria-invalid="true"]')?.focus(); return; }
  try {
    if (mode === 'signup') {
      const args = { username: v.username, password: v.password };
      if (v.full_name) args.full_name = v.full_name;
      if (v.email) args.email = v.email;
      await ctx.call('signup', args);
      announce('Account created. Logging you in.');
    }
    await ctx.client.login(v.username, v.password);
    form.elements.password.value = '';
  } catch (err) {
    const field = err.field && form.elements[err.field];
    if (field) { setFieldError(field, ctx.describeError(err)); field.focus(); }
    else if (err.code === 'unauthorized') setMessage($('auth-error'), 'That username and password do not match.');
    else if (err.code === 'conflict') { setFieldError(form.elements.username, 'That username is taken. Try another one.'); form.elements.username.focus(); }
    else setMessage($('auth-error'), ctx.describeError(err));
  }
}
