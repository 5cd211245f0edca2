/**
 * Payees: the accounts a user pays, under nicknames (`payees`, `payee_add`, `payee_update`, `payee_remove`;
 * live `payee` events `{action: added|updated|removed, payee}` on `user:ID`, so every open screen follows).
 * Owns `store.payees`, the Payees card on the Payments page, the "Payee" menus of the transfer and standing
 * order forms, and "Save as payee" after a transfer to an account that is neither the user's nor a payee.
 * @module views/payees
 */
import { $, h, busy, clearFormErrors, setFieldError, setMessage } from '../dom.js';

let ctx;
let generation = 0;      // discards a list read that an older session started
let renaming = null;     // id of the payee whose row shows the rename form
let offered = null;      // account number "Save as payee" offers

/** The "Payee" menus and the "To account" inputs they fill. */
const PICKERS = [{ select: 'tx-payee', field: 'tx-payee-field', input: 'tx-to' },
  { select: 'order-payee', field: 'order-payee-field', input: 'order-to' }];

export function mount(context) {
  ctx = context;
  const { store } = ctx;
  store.on('user', (user) => {
    generation++;
    store.payees.clear();
    renaming = null;
    hideOffer();
    render();
    if (user) load();
  });
  store.on('resync', (stream) => { if (stream.startsWith('user:')) load(); });
  store.on('accounts', render);
  store.on('event', (ev) => { if (ev.event === 'payee' && ev.data?.payee) applyEvent(ev.data); });
  store.on('transferred', ({ to }) => offerToSave(to));
  $('payee-form').addEventListener('submit', (e) => { e.preventDefault(); busy($('payee-form'), addPayee); });
  $('save-payee-form').addEventListener('submit', (e) => { e.preventDefault(); busy($('save-payee-form'), saveOffered); });
  $('tx-form').addEventListener('input', (e) => { if (e.target.name !== 'payee') hideOffer(); });
  for (const form of [$('payee-form'), $('save-payee-form')]) {
    for (const el of form.elements) if (el.name) el.addEventListener('input', () => setFieldError(el, ''));
  }
  for (const { select, input } of PICKERS) {
    $(select).addEventListener('change', () => {
      if (!$(select).value) return;
      $(input).value = $(select).value;
      $(input).dispatchEvent(new Event('input', { bubbles: true }));
    });
    $(input).addEventListener('input', () => syncPicker(select, input));
  }
  $('payees-list').addEventListener('click', onListClick);
  $('payees-list').addEventListener('submit', (e) => {
    const form = e.target.closest('form[data-rename]');
    if (!form) return;
    e.preventDefault();
    busy(form, () => rename(form.elements.nickname));
  });
  $('payees-list').addEventListener('keydown', (e) => { if (e.key === 'Escape' && renaming) { e.preventDefault(); stopRenaming(); } });
}

/** The nickname saved for an account number, or null. */
export function nicknameOf(account) {
  for (const p of ctx.store.payees.values()) if (String(p.account) === String(account)) return p.nickname;
  return null;
}

async function load() {
  const gen = generation;
  try {
    const { payees } = await ctx.call('payees', {});
    if (gen !== generation) return;
    ctx.store.payees.clear();
    for (const p of payees) ctx.store.payees.set(String(p.id), p);
    setMessage($('payees-status'), '');
    render();
  } catch (err) {
    if (gen !== generation) return;
    if (ctx.isUnavailable(err)) setMessage($('payees-status'), 'Payees are not available on this hub yet.');
    else ctx.showError($('payees-status'), err);
  }
}

function applyEvent({ action, payee }) {
  const id = String(payee.id);
  const before = ctx.store.payees.get(id);
  if (action === 'removed') {
    if (!before) return;
    ctx.store.payees.delete(id);
    if (renaming === id) renaming = null;
  } else {
    ctx.store.payees.set(id, payee);
  }
  render(action === 'removed' ? null : id);
}

function sorted() {
  return [...ctx.store.payees.values()].sort((a, b) => a.nickname.localeCompare(b.nickname) || Number(a.id) - Number(b.id));
}

function render(highlight = null) {
  const list = sorted();
  // A live change while a payee is being renamed keeps what was typed.
  const typing = $('payees-list').querySelector('form[data-rename] input');
  const focusedId = document.activeElement?.closest?.('#payees-list [data-payee]')?.dataset.payee;
  $('payees-list').replaceChildren(...list.map((p) => row(p, String(p.id) === highlight)));
  const retyped = $('payees-list').querySelector('form[data-rename] input');
  if (typing && retyped) retyped.value = typing.value;
  if (focusedId && !$('payees-list').contains(document.activeElement)) {
    $('payees-list').querySelector(`[data-payee="${CSS.escape(focusedId)}"] button, [data-payee="${CSS.escape(focusedId)}"] input`)?.focus();
  }
  $('payees-empty').hidden = list.length > 0;
  $('payees-count').textContent = list.length ? `${list.length} saved` : '';
  for (const { select, field, input } of PICKERS) renderPicker(select, field, input, list);
  ctx.store.emit('payees');
}

function row(p, isNew) {
  const id = String(p.id);
  if (renaming === id) {
    return h('li', { class: 'payee', dataset: { payee: id } },
      h('form', { class: 'payee-rename', novalidate: true, 'aria-label': `Rename ${p.nickname}`, dataset: { rename: id } },
        h('div', { class: 'field' },
          h('label', { for: `payee-rename-${id}` }, 'New nickname'),
          h('input', { id: `payee-rename-${id}`, name: 'nickname', maxlength: 64, autocomplete: 'off', value: p.nickname,
            'aria-describedby': `payee-rename-${id}-error` }),
          h('p', { id: `payee-rename-${id}-error`, class: 'field-error', hidden: true })),
        h('div', { class: 'actions' },
          h('button', { type: 'submit', class: 'btn btn-primary btn-sm' }, 'Save'),
          h('button', { type: 'button', class: 'btn btn-ghost btn-sm', dataset: { action: 'cancel-rename' } }, 'Cancel'))));
  }
  return h('li', { class: `payee${isNew ? ' row-new' : ''}`, dataset: { payee: id } },
    h('span', { class: 'avatar avatar-sm', 'aria-hidden': 'true' }, initials(p.nickname)),
    h('div', { class: 'payee-who' },
      h('span', { class: 'payee-name' }, p.nickname),
      h('span', { class: 'payee-account muted' }, `Account ${p.account}`)),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'btn btn-ghost btn-sm', dataset: { action: 'rename', id }, 'aria-label': `Rename ${p.nickname}` }, 'Rename'),
      h('button', { type: 'button', class: 'btn btn-danger-ghost btn-sm', dataset: { action: 'remove', id }, 'aria-label': `Remove ${p.nickname}` }, 'Remove')));
}

/** "Bob (flatmate)" -> "BF": the first letter or digit of each word. */
function initials(name) {
  return name.split(/\s+/).map((w) => w.match(/[\p{L}\p{N}]/u)?.[0]).filter(Boolean).join('').slice(0, 2).toUpperCase() || '?';
}

function renderPicker(selectId, fieldId, inputId, list) {
  const select = $(selectId);
  select.replaceChildren(h('option', { value: '' }, 'Someone new'),
    ...list.map((p) => h('option', { value: String(p.account) }, `${p.nickname} \u00b7\u00b7${p.account}`)));
  $(fieldId).hidden = list.length === 0;
  syncPicker(selectId, inputId);
}

/** The menu shows the payee whose account is typed in "To account" (or "Someone new"). */
function syncPicker(selectId, inputId) {
  const typed = $(inputId).value.trim();
  const select = $(selectId);
  select.value = [...select.options].some((o) => o.value === typed) ? typed : '';
}

function onListClick(e) {
  const btn = e.target.closest('button[data-action]');
  if (!btn) return;
  if (btn.dataset.action === 'rename') { renaming = btn.dataset.id; render(); focusRename(); }
  else if (btn.dataset.action === 'cancel-rename') stopRenaming();
  else if (btn.dataset.action === 'remove') removePayee(btn);
}

function focusRename() {
  const input = $('payees-list').querySelector('form[data-rename] input');
  if (!input) return;
  input.focus();
  input.select();
}

function stopRenaming() {
  const id = renaming;
  renaming = null;
  render();
  $('payees-list').querySelector(`[data-payee="${CSS.escape(id ?? '')}"] button[data-action="rename"]`)?.focus();
}

async function rename(input) {
  const id = input.form.dataset.rename;
  const nickname = input.value.trim();
  if (!nickname) { setFieldError(input, 'Enter a nickname.'); input.focus(); return; }
  try {
    const { payee } = await ctx.call('payee_update', { id, nickname });
    ctx.store.payees.set(String(payee.id), payee);
    stopRenaming();
    ctx.announce(`Renamed to ${payee.nickname}.`);
  } catch (err) {
    ctx.fieldError(input, err);
    input.focus();
  }
}

async function removePayee(btn) {
  const p = ctx.store.payees.get(btn.dataset.id);
  btn.disabled = true;
  try {
    await ctx.call('payee_remove', { id: btn.dataset.id });
    ctx.store.payees.delete(btn.dataset.id);
    render();
    ctx.announce(`Removed ${p?.nickname ?? 'the payee'}.`);
    $('payee-account').focus();
  } catch (err) {
    btn.disabled = false;
    if (err.code === 'not_found') { ctx.store.payees.delete(btn.dataset.id); render(); }
    ctx.showError($('payees-status'), err);
  }
}

/** Checks an account number typed for a payee; null when fine, else what is wrong. */
function accountProblem(account) {
  if (!account) return 'Enter the account number of the person you pay.';
  if (!/^[0-9]{1,20}$/.test(account)) return 'An account number has digits only.';
  if (ctx.store.accounts.has(account)) return 'That is one of your own accounts. Payees are accounts of other people.';
  if (nicknameOf(account) !== null) return `That account is already saved as ${nicknameOf(account)}.`;
  return null;
}

async function addPayee() {
  const form = $('payee-form');
  clearFormErrors(form);
  const account = form.elements.account.value.trim().replace(/\s+/g, '');
  const nickname = form.elements.nickname.value.trim();
  const problem = accountProblem(account);
  if (problem) setFieldError(form.elements.account, problem);
  if (!nickname) setFieldError(form.elements.nickname, 'Enter a nickname, e.g. Mum or Landlord.');
  if (problem || !nickname) { form.querySelector('[aria-invalid="true"]')?.focus(); return; }
  try {
    const { payee } = await ctx.call('payee_add', { account, nickname });
    ctx.store.payees.set(String(payee.id), payee);
    render(String(payee.id));
    form.reset();
    ctx.announce(`Saved ${payee.nickname} as a payee.`);
    form.elements.account.focus();
  } catch (err) {
    const field = (err.code === 'not_found' || err.field === 'account') ? form.elements.account
      : err.field === 'nickname' ? form.elements.nickname : null;
    if (field) { ctx.fieldError(field, err); field.focus(); } else ctx.showError($('payee-error'), err);
  }
}

// ---- "Save as payee" after a transfer --------------------------------------------------------------

function offerToSave(to) {
  const account = String(to);
  if (accountProblem(account) !== null) { hideOffer(); return; }
  offered = account;
  const form = $('save-payee-form');
  clearFormErrors(form);
  form.elements.nickname.value = '';
  $('save-payee-text').textContent = `Pay account ${account} again later? Save it as a payee.`;
  form.hidden = false;
}

function hideOffer() {
  offered = null;
  $('save-payee-form').hidden = true;
}

async function saveOffered() {
  const form = $('save-payee-form');
  clearFormErrors(form);
  const nickname = form.elements.nickname.value.trim();
  if (!offered) return;
  if (!nickname) { setFieldError(form.elements.nickname, 'Enter a nickname, e.g. Mum or Landlord.'); form.elements.nickname.focus(); return; }
  try {
    const { payee } = await ctx.call('payee_add', { account: offered, nickname });
    ctx.store.payees.set(String(payee.id), payee);
    render(String(payee.id));
    hideOffer();
    setMessage($('tx-success'), `Saved ${payee.nickname} (account ${payee.account}) as a payee. Pick them from the Payee menu next time.`);
    $('tx-payee').focus();
  } catch (err) {
    if (err.field === 'nickname') ctx.fieldError(form.elements.nickname, err);
    else ctx.showError($('save-payee-error'), err);
  }
}
