/**
 * Refusals in plain words: the one place that turns an error code (BankCore's ErrorCode, docs/protocol.md
 * "Errors", plus the client's own `timeout`, `disconnected`, `closed` and `cancelled`) into a sentence a
 * customer understands and can act on. The code itself stays visible next to the sentence (small
 * "code: insufficient_funds") for support and bots; the hub's `message` is technical and is not shown, except
 * for a `bad_request` on a field this page has no words for.
 * @module messages
 */
import { formatMoney } from './format.js';

/** Every hub error code, in ErrorCode's order; Tests/browser/test_messages.py checks this list against the
 * Swift enum and the protocol's errors table. */
export const HUB_CODES = ['bad_request', 'unauthorized', 'forbidden', 'not_found', 'conflict', 'invalid_amount',
  'insufficient_funds', 'same_account', 'too_large', 'rate_limited', 'resync_required', 'unavailable', 'internal',
  'account_locked', 'otp_required', 'otp_invalid', 'otp_expired', 'too_many_attempts'];

/** Codes the client library and the page make themselves. */
export const CLIENT_CODES = ['timeout', 'disconnected', 'closed', 'cancelled'];

/** What the thing an op is about is called, for "not found" and "conflict". */
const SUBJECT = {
  transfer: 'account', deposit: 'account', withdraw: 'account', open_account: 'account', history: 'account',
  statement: 'account', balance_at: 'account', payee_add: 'account', order_create: 'account',
  payee_update: 'payee', payee_remove: 'payee',
  goal_create: 'account', goal_fund: 'savings goal', goal_withdraw: 'savings goal', goal_delete: 'savings goal',
  order_cancel: 'standing order',
  request_cancel: 'request', request_approve: 'request', request_reject: 'request',
};

/** `not_found`: what to say, by what was looked for. Another customer's account is `not_found` too. */
const NOT_FOUND = {
  account: 'There is no open account with that number. Check the number and try again.',
  payee: 'That payee is no longer saved. The list has been refreshed.',
  'savings goal': 'That savings goal no longer exists. It may have been deleted on another screen.',
  'standing order': 'That standing order no longer exists.',
  request: 'That request no longer exists.',
};

/** `conflict`: what clashed, by op. */
const CONFLICT = {
  signup: 'That username is taken. Try another one.',
  open_account: 'You already have the most accounts allowed (20). Close one you no longer use first.',
  payee_add: (err) => (err.field === 'account' ? 'That account is already one of your payees.'
    : 'You have saved the most payees allowed (200). Remove one you no longer pay first.'),
  goal_create: 'You already have the most savings goals allowed. Delete one you have reached first.',
  order_create: 'You already have the most standing orders allowed (50). Cancel one first.',
  order_cancel: 'This standing order has already ended.',
  request_create: 'You have too many open requests. Wait for one to be answered, or cancel one.',
  request_cancel: 'This request was already answered.',
  request_approve: 'This request was already handled by someone else.',
  request_reject: 'This request was already handled by someone else.',
};

/** `bad_request` naming a field: what the field must look like. */
const FIELD = {
  'request_create.note': 'Tell us what you need in 1 to 500 characters.',
  'request_reject.reason': 'Give the customer a reason of 1 to 500 characters.',
  'payee_add.account': 'There is no open account with that number. Check the number and try again.',
  note: 'A note can have at most 140 characters.',
  name: 'A name can have at most 64 characters.',
  nickname: 'A nickname needs 1 to 64 characters.',
  full_name: 'A name can have at most 100 characters.',
  email: 'Enter an email address like name@example.com.',
  phone: 'Enter a mobile number with + and 6 to 15 digits, e.g. +15550100.',
  username: 'Use 3 to 32 letters, digits, dots, dashes or underscores.',
  password: 'Use at least 8 characters.',
  new_password: 'Use at least 8 characters.',
  new: 'Use at least 8 characters.',
  month: 'Choose a month from the account\'s opening to this month.',
  start: 'Choose a first payment date from today up to five years ahead.',
  count: 'The number of payments must be between 1 and 10,000.',
  every: 'Choose how often to pay: every day, week or month.',
  target: 'Enter a target amount like 500 or 500.00.',
  target_date: 'Choose a target date in the future.',
  amount: 'Enter an amount like 25 or 25.50.',
  initial_deposit: 'Enter an amount like 25 or 25.50.',
  idempotency_key: 'This form was sent twice with different details. Check them and send again.',
};

/** Words for one code from one op, where the general words would mislead. */
const SPECIFIC = {
  'statement.too_large': 'This month has too many transactions to download at once (more than 100,000). Ask the bank for it.',
  'statement.bad_request': 'Choose a month from the account\'s opening to this month.',
  'payee_add.not_found': 'There is no open account with that number. Check the number and try again.',
  'update_profile.conflict': 'Another change of your details is waiting for its code. Finish or cancel it first.',
  'login.unauthorized': 'That username and password do not match.',
  'login.account_locked': 'This user is locked after too many attempts. Try again later or contact the bank.',
  'change_password.forbidden': 'That is not your current password.',
  'change_password.unauthorized': 'That is not your current password.',
  'totp_confirm.otp_invalid': 'That code does not match. Check the time on your device and try the new code.',
};

const SIMPLE = {
  unauthorized: 'Your session has ended. Please log in again.',
  forbidden: 'You are not allowed to do that.',
  invalid_amount: 'Enter an amount from $0.01 to $1,000,000,000.00, with at most 2 decimals.',
  same_account: 'You cannot send money to the account it comes from. Choose a different account.',
  too_large: 'That is too much to send at once. Make it shorter and try again.',
  resync_required: 'This screen fell behind the bank. Reload the page to catch up.',
  unavailable: 'The bank is restarting. Please try again in a moment.',
  internal: 'Something went wrong at the bank. Nothing was changed; please try again.',
  account_locked: 'This account is locked, so no money can move in or out of it. Contact the bank to unlock it.',
  otp_required: 'This needs a one-time code. Enter the code we sent you to confirm it.',
  otp_invalid: 'That code is not right. Check it and try again.',
  otp_expired: 'That code has expired. Start again to get a new one.',
  timeout: 'The bank did not answer in time. It is safe to try again.',
  disconnected: 'The connection dropped before the bank answered. It is safe to try again.',
  closed: 'You are offline.',
  cancelled: 'Cancelled.',
};

const VERB = {
  transfer: 'send', withdraw: 'withdraw', goal_fund: 'put aside', goal_withdraw: 'take out', order: 'pay',
};

function tooManyAttempts(err) {
  const minutes = Math.max(1, Math.ceil((Number(err.retry_after) || 60) / 60));
  return `Too many wrong codes. For your safety, codes are refused for ${minutes} minute${minutes === 1 ? '' : 's'}; try again after that.`;
}

function rateLimited(err) {
  const secs = Math.max(1, Math.ceil(Number(err.retry_after) || 1));
  return `Too many requests. Try again in ${secs} second${secs === 1 ? '' : 's'}.`;
}

/**
 * "Not enough money": how much is there, how much was asked, and what to do.
 * @param {{op?: string, from?: string, available?: string, amount?: string}} about
 */
function insufficient(about) {
  const where = about.from ?? 'this account';
  const verb = VERB[about.op] ?? 'use';
  if (about.available == null || about.amount == null) {
    return `There is not enough money in ${where} for that amount. Choose a smaller amount, or move money into it first.`;
  }
  const available = formatMoney(about.available);
  if (about.op === 'order') {
    return `There was not enough money in ${where}: ${available} was available and the payment is ${formatMoney(about.amount)}. Move money into it before the next payment.`;
  }
  const fix = about.op === 'goal_withdraw'
    ? `Take out ${available} or less.`
    : `${verb.charAt(0).toUpperCase()}${verb.slice(1)} ${available} or less, or move money into it first.`;
  return `There is not enough money in ${where}: ${available} is available and you asked to ${verb} ${formatMoney(about.amount)}. ${fix}`;
}

/**
 * A sentence for a person.
 * @param {unknown} err a BankHubError (anything else is "something went wrong")
 * @param {{op?: string, from?: string, available?: string, amount?: string}} [about] what the page knows:
 *   the op, a label for the account money comes from, its balance (`available`) and the amount asked.
 */
export function describe(err, about = {}) {
  const code = err?.code;
  if (typeof code !== 'string') return 'Something went wrong. Please try again.';
  if (isUnavailableOp(err)) return 'This hub does not offer that yet.';
  const op = about.op ?? err.op;
  if (SPECIFIC[`${op}.${code}`] && !(code === 'bad_request' && err.field && err.field !== 'month')) return SPECIFIC[`${op}.${code}`];
  if (code === 'forbidden' && (err.field === 'admin_key' || err.field === 'totp')) return 'The admin key was not accepted.';
  switch (code) {
    case 'rate_limited': return rateLimited(err);
    case 'too_many_attempts': return tooManyAttempts(err);
    case 'insufficient_funds': return insufficient({ ...about, op });
    case 'not_found': return NOT_FOUND[SUBJECT[op]] ?? 'We could not find that. It may have been closed or removed.';
    case 'conflict':
      if (err.field === 'idempotency_key') return FIELD.idempotency_key;
      if (typeof CONFLICT[op] === 'function') return CONFLICT[op](err);
      return CONFLICT[op] ?? 'That clashes with a change made a moment ago. Refresh and try again.';
    case 'invalid_amount':
      return /would hold more/i.test(err.message ?? '')
        ? 'That would take the account over the largest balance allowed ($1,000,000,000.00).' : SIMPLE.invalid_amount;
    case 'bad_request': {
      const words = err.field && (FIELD[`${op}.${err.field}`] ?? FIELD[err.field]);
      if (words) return words;
      const msg = String(err.message || 'the request was not accepted').trim();
      return `This was not accepted: ${msg}${/[.!?]$/.test(msg) ? '' : '.'}`;
    }
    default:
      return SIMPLE[code] ?? 'Something went wrong. Please try again.';
  }
}

/** The code to show small next to the sentence ("code: insufficient_funds"), or null. */
export function codeOf(err) {
  return typeof err?.code === 'string' && err.code !== 'cancelled' ? err.code : null;
}

/** The hub answers `bad_request` "op X is not available ..." for ops it does not implement yet. */
export function isUnavailableOp(err) {
  return err?.code === 'bad_request' && err.field === 'op' && /not available|unknown op/i.test(err.message ?? '');
}
