/**
 * Small DOM helpers shared by the views.
 * @module dom
 */

/** document.getElementById that fails loudly. */
export function $(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el;
}

/** Create an element: h('li', {class: 'x', dataset: {id: '1'}}, 'text', child). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

/** Show a message in an element (hidden when empty). With `code` (an error code), the code follows in small
 * print ("code: insufficient_funds") for support and bots. */
export function setMessage(el, text, code = null) {
  el.textContent = text || '';
  if (text && code) el.append(' ', h('small', { class: 'error-code' }, `code: ${code}`));
  el.hidden = !text;
}

/** Mark a field invalid (or valid) and show its message (and error code) in `<id>-error`. */
export function setFieldError(input, text, code = null) {
  const errId = (input.getAttribute('aria-describedby') ?? '').split(/\s+/).find((id) => id.endsWith('-error'));
  const err = errId ? document.getElementById(errId) : null;
  if (text) input.setAttribute('aria-invalid', 'true'); else input.removeAttribute('aria-invalid');
  if (err) setMessage(err, text, code);
}

/** Clear every field and form message of a form. */
export function clearFormErrors(form) {
  for (const el of form.elements) if (el.name) setFieldError(el, '');
  for (const el of form.querySelectorAll('.form-error, .form-success')) setMessage(el, '');
}

/** Disable a form's controls while `fn` runs; marks the form aria-busy. */
export async function busy(form, fn) {
  const controls = [...form.elements].filter((el) => !el.disabled);
  form.setAttribute('aria-busy', 'true');
  for (const el of controls) if (el.tagName === 'BUTTON') el.disabled = true;
  const focused = document.activeElement;
  try {
    return await fn();
  } finally {
    for (const el of controls) el.disabled = false;
    form.removeAttribute('aria-busy');
    // Disabling the focused button drops focus to <body>: give it back to keyboard users.
    if (focused && form.contains(focused) && (document.activeElement === document.body || !document.activeElement)) focused.focus();
  }
}

let announceTimer = null;
/** Say something politely through the aria-live region. */
export function announce(text) {
  const region = document.getElementById('announcer');
  if (!region) return;
  clearTimeout(announceTimer);
  region.textContent = '';
  // A fresh text node after a tick makes screen readers announce repeated messages too.
  announceTimer = setTimeout(() => { region.textContent = text; }, 50);
}
