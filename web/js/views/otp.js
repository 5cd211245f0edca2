/**
 * Step-up verification dialog. `prompt(challenge)` asks for the 6-digit code, sends
 * `confirm_otp {challenge, code}` and resolves once the hub accepts it (rejects with code `cancelled` if the
 * person cancels). It also opens by itself when an `otp` event arrives on the user's stream.
 * @module views/otp
 */
import { BankHubError } from '../bankhub.js';
import { $, busy, setMessage } from '../dom.js';

let ctx;
let current = null; // {challenge, resolve, reject}
let chain = Promise.resolve();

export function mount(context) {
  ctx = context;
  const dialog = $('otp-dialog');
  $('otp-form').addEventListener('submit', (e) => {
    e.preventDefault();
    busy($('otp-form'), verify);
  });
  $('otp-cancel').addEventListener('click', () => dialog.close('cancel'));
  dialog.addEventListener('close', () => {
    if (!current) return;
    const { reject } = current;
    current = null;
    reject(new BankHubError('cancelled', 'verification cancelled'));
  });
  $('otp-code').addEventListener('input', (e) => { e.target.value = e.target.value.replace(/[^0-9]/g, '').slice(0, 6); });
  ctx.store.on('event', (ev) => {
    if (ev.event === 'otp' && ev.data?.challenge) prompt(ev.data.challenge, ev.data.message).catch(() => {});
  });
  ctx.store.on('user', (user) => { if (!user && dialog.open) dialog.close('logout'); });
}

/** Ask for a code for `challenge`; prompts queue up one at a time. */
export function prompt(challenge, message) {
  const run = () => new Promise((resolve, reject) => {
    current = { challenge, resolve, reject };
    setMessage($('otp-error'), '');
    $('otp-code').value = '';
    if (message) $('otp-desc').textContent = message;
    $('otp-dialog').showModal();
    $('otp-code').focus();
  });
  const p = chain.then(run, run);
  chain = p.catch(() => {});
  return p;
}

async function verify() {
  if (!current) return;
  const code = $('otp-code').value.trim();
  if (!/^[0-9]{6}$/.test(code)) { setMessage($('otp-error'), 'Enter the 6 digits of the code.'); return; }
  try {
    const res = await ctx.client.request('confirm_otp', { challenge: current.challenge, code });
    const { resolve } = current;
    current = null;
    $('otp-dialog').close('ok');
    resolve(res);
  } catch (err) {
    setMessage($('otp-error'), ctx.describeError(err));
    $('otp-code').select();
  }
}
