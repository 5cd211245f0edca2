/**
 * Step-up verification (docs/protocol.md, "One-time codes").
 *
 * A transfer or withdrawal over the threshold is held by the hub: the request answers `otp_required` with a
 * `challenge`, and an `otp` event `{challenge, op, summary, expires_at}` is pushed on `user:ID`, so every open
 * screen of the user shows this dialog. Entering the code on any of them sends `confirm_otp`, which runs the
 * held operation once and answers with its result.
 *
 * `prompt(info)` resolves with that result. The hub sends no event when a challenge is used on another
 * screen, so a waiting dialog also closes itself when the held operation's effect arrives (a completed
 * `transfer` event, or a `balance` drop of the amount for a withdrawal) — see the report in docs.
 * @module views/otp
 */
import { BankHubError } from '../bankhub.js';
import { $, busy, setMessage } from '../dom.js';
import { accountLabel, formatMoney, formatTime, toCents } from '../format.js';

let ctx;
/** challenge -> entry {challenge, op, args, summary, expiresAt, origin, promise, resolve, reject, timer} */
const entries = new Map();
const queue = [];
let current = null;

export function mount(context) {
  ctx = context;
  const dialog = $('otp-dialog');
  $('otp-form').addEventListener('submit', (e) => {
    e.preventDefault();
    busy($('otp-form'), verify);
  });
  $('otp-cancel').addEventListener('click', () => dialog.close('cancel'));
  dialog.addEventListener('close', () => {
    const entry = current;
    current = null;
    if (entry && entries.has(entry.challenge)) finish(entry, null, new BankHubError('cancelled', 'verification cancelled'));
    setTimeout(pump, 0);
  });
  $('otp-code').addEventListener('input', (e) => { e.target.value = e.target.value.replace(/[^0-9]/g, '').slice(0, 6); });
  ctx.store.on('event', (ev) => {
    if (ev.event === 'otp' && ev.data?.challenge && ev.data.status === 'confirmed') {
      confirmedElsewhere(ev.data.challenge);
    } else if (ev.event === 'otp' && ev.data?.challenge) {
      const d = ev.data;
      prompt({ challenge: d.challenge, op: d.op, summary: d.summary, expires_at: d.expires_at }).catch(() => {});
    } else if (ev.event === 'transfer' && ev.data?.status === 'completed') {
      settledElsewhere('transfer', ev.data);
    }
  });
  ctx.store.on('balance', ({ id, before, after, txn }) => {
    const drop = (toCents(before) ?? 0n) - (toCents(after) ?? 0n);
    if (drop > 0n) settledElsewhere('withdraw', { account: id, cents: drop, txn });
  });
  ctx.store.on('user', (user) => {
    if (user) return;
    for (const entry of [...entries.values()]) finish(entry, null, new BankHubError('cancelled', 'logged out'));
    queue.length = 0;
    if (dialog.open) dialog.close('logout');
  });
}

/**
 * Ask for the code of `info.challenge` (one dialog at a time; the same challenge twice — the reply and the
 * pushed event — shares one prompt). Resolves with the held operation's result.
 * @param {{challenge: string, op?: string, args?: object, summary?: string, expires_at?: string, message?: string, origin?: boolean}} info
 */
export function prompt(info) {
  const known = entries.get(info.challenge);
  if (known) {
    // The originating screen knows the arguments: keep them (they make "confirmed elsewhere" exact).
    if (info.args && !known.args) { known.args = info.args; known.op = info.op ?? known.op; }
    if (info.origin) known.origin = true;
    if (current === known) renderSummary(known);
    return known.promise;
  }
  const entry = { ...info, expiresAt: info.expires_at ? new Date(info.expires_at) : null };
  entry.promise = new Promise((resolve, reject) => { entry.resolve = resolve; entry.reject = reject; });
  entries.set(info.challenge, entry);
  if (entry.expiresAt && !Number.isNaN(entry.expiresAt.getTime())) {
    entry.timer = setTimeout(() => {
      finish(entry, null, new BankHubError('otp_expired', 'the code expired'));
      ctx.announce('The verification code expired.');
    }, Math.max(0, entry.expiresAt.getTime() - Date.now()));
  }
  queue.push(entry);
  pump();
  return entry.promise;
}

function pump() {
  const dialog = $('otp-dialog');
  if (current || dialog.open) return;
  while (queue.length && !entries.has(queue[0].challenge)) queue.shift();
  const entry = queue.shift();
  if (!entry) return;
  current = entry;
  setMessage($('otp-error'), '');
  $('otp-code').value = '';
  renderSummary(entry);
  $('otp-expiry').textContent = entry.expiresAt ? `The code is valid until ${formatTime(entry.expiresAt.toISOString())}.` : '';
  dialog.showModal();
  $('otp-code').focus();
  ctx.announce('A verification code is needed to continue.');
}

function describe(entry) {
  const a = entry.args;
  if (a && entry.op === 'transfer') {
    const from = ctx.store.accounts.get(String(a.from));
    const to = ctx.store.accounts.get(String(a.to));
    return `Transfer ${formatMoney(a.amount)} from ${from ? accountLabel(from) : `account ${a.from}`} to ${to ? accountLabel(to) : `account ${a.to}`}`;
  }
  if (a && entry.op === 'withdraw') {
    const acct = ctx.store.accounts.get(String(a.account));
    return `Withdraw ${formatMoney(a.amount)} from ${acct ? accountLabel(acct) : `account ${a.account}`}`;
  }
  if (a && entry.op === 'order_create') {
    return `Standing order: ${formatMoney(a.amount)} every ${a.every} to account ${a.to}`;
  }
  if (a && entry.op === 'update_profile') {
    const parts = [];
    if ('email' in a) parts.push(a.email ? `change your email to ${a.email}` : 'remove your email');
    if ('phone' in a) parts.push(a.phone ? `change your phone to ${a.phone}` : 'remove your phone');
    if ('full_name' in a) parts.push(a.full_name ? `change your name to ${a.full_name}` : 'remove your name');
    const text = parts.join(', ');
    return text.charAt(0).toUpperCase() + text.slice(1);
  }
  return entry.summary || '';
}

function renderSummary(entry) {
  const text = describe(entry);
  $('otp-summary').textContent = text;
  $('otp-summary').hidden = !text;
  $('otp-desc').textContent = entry.origin
    ? 'We sent a 6-digit code to your phone or email. Enter it to confirm.'
    : 'A payment started on another screen needs your confirmation. Enter the 6-digit code we sent you.';
}

/** Settle an entry (resolve with `result` or reject with `error`) and close its dialog if shown. */
function finish(entry, result, error) {
  if (!entries.has(entry.challenge)) return;
  entries.delete(entry.challenge);
  clearTimeout(entry.timer);
  if (error) entry.reject(error); else entry.resolve(result);
  if (current === entry) {
    current = null;
    if ($('otp-dialog').open) $('otp-dialog').close('done');
  }
}

/** The hub says a challenge was confirmed (`otp` event, `status: "confirmed"`): on another screen, unless
 * this screen is the one verifying it (its own reply, with the result, follows). */
function confirmedElsewhere(challenge) {
  const entry = entries.get(challenge);
  if (!entry || entry.verifying) return;
  finish(entry, { confirmedElsewhere: true }, null);
  ctx.announce('Confirmed on another screen.');
}

/** The held operation's effect arrived: someone confirmed the code on another screen. */
function settledElsewhere(kind, d) {
  for (const entry of entries.values()) {
    if (entry.op !== kind) continue;
    let match = false;
    if (kind === 'transfer') {
      if (entry.args) {
        match = String(entry.args.from) === String(d.from) && String(entry.args.to) === String(d.to)
          && toCents(entry.args.amount) === toCents(d.amount);
      } else {
        match = ctx.store.accounts.has(String(d.from)) && mentionsAmount(entry.summary, toCents(d.amount));
      }
    } else if (entry.args) {
      match = String(entry.args.account) === String(d.account) && toCents(entry.args.amount) === d.cents;
    } else {
      match = mentionsAmount(entry.summary, d.cents);
    }
    if (!match) continue;
    const result = kind === 'transfer' ? { txn: { id: d.txn, kind, from: d.from, to: d.to, amount: d.amount, at: d.at }, confirmedElsewhere: true }
      : { txn: { id: d.txn }, confirmedElsewhere: true };
    finish(entry, result, null);
    ctx.announce('Confirmed on another screen.');
    return;
  }
}

function mentionsAmount(summary, cents) {
  if (!summary || cents == null) return false;
  const plain = summary.replace(/,/g, '');
  const whole = `${cents / 100n}.${String(cents % 100n).padStart(2, '0')}`;
  return plain.includes(whole);
}

async function verify() {
  const entry = current;
  if (!entry) return;
  const code = $('otp-code').value.trim();
  if (!/^[0-9]{6}$/.test(code)) { setMessage($('otp-error'), 'Enter the 6 digits of the code.'); $('otp-code').focus(); return; }
  entry.verifying = true;
  try {
    const res = await ctx.client.request('confirm_otp', { challenge: entry.challenge, code });
    if (res.balance !== undefined) {
      const account = entry.args?.from ?? entry.args?.account ?? res.txn?.from ?? res.txn?.account;
      if (account) ctx.store.emit('reply-balance', { account, balance: res.balance, txn: res.txn?.id });
    }
    finish(entry, res, null);
    ctx.announce('Confirmed.');
  } catch (err) {
    entry.verifying = false;
    if (err.code === 'otp_invalid' || err.code === 'too_many_attempts') {
      ctx.showError($('otp-error'), err);
      $('otp-code').select();
      return;
    }
    // Expired, too many tries, or the held operation itself failed (e.g. the money is no longer there).
    finish(entry, null, err);
  }
}
