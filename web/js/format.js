/**
 * Money and time formatting. Money never goes through floating point: amounts stay decimal strings
 * ("25.50") or BigInt cents.
 * @module format
 */

export const MAX_CENTS = 100000000000n; // 1,000,000,000.00
const AMOUNT_RE = /^(0|[1-9][0-9]*)(?:\.([0-9]{1,2}))?$/;

/** "25.5" -> 2550n, "-3.00" -> -300n; null if not a decimal string with at most 2 decimals. */
export function toCents(str) {
  const m = /^(-?)([0-9]+)(?:\.([0-9]{1,2}))?$/.exec(String(str ?? '').trim());
  if (!m) return null;
  const cents = BigInt(m[2]) * 100n + BigInt((m[3] ?? '').padEnd(2, '0') || '0');
  return m[1] ? -cents : cents;
}

/** 2550n -> "25.50", -300n -> "-3.00". */
export function fromCents(cents) {
  const neg = cents < 0n;
  const abs = neg ? -cents : cents;
  return `${neg ? '-' : ''}${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`;
}

/**
 * Validate what a person typed into an Amount field. Accepts "1,250.5", "$20", " 7 ".
 * @returns {{ok: true, amount: string, cents: bigint} | {ok: false, error: string}}
 *   `amount` is the canonical wire form ("1250.50").
 */
export function parseAmountInput(input) {
  const s = String(input ?? '').trim().replace(/^\$\s*/, '').replace(/,(?=[0-9]{3}(?:[.,]|$))/g, '');
  if (s === '') return { ok: false, error: 'Enter an amount.' };
  if (/^-/.test(s)) return { ok: false, error: 'Enter a positive amount.' };
  if (/^[0-9]*\.[0-9]{3,}$/.test(s)) return { ok: false, error: 'Use at most 2 decimals (cents).' };
  const normalized = s.startsWith('.') ? `0${s}` : s.replace(/^0+(?=[0-9])/, '');
  const m = AMOUNT_RE.exec(normalized);
  if (!m) return { ok: false, error: 'Enter an amount like 25 or 25.50.' };
  const cents = toCents(normalized);
  if (cents <= 0n) return { ok: false, error: 'The amount must be at least 0.01.' };
  if (cents > MAX_CENTS) return { ok: false, error: 'The largest amount is 1,000,000,000.00.' };
  return { ok: true, amount: fromCents(cents), cents };
}

/** "1234.5" -> "$1,234.50"; "-3.00" -> "−$3.00" (true minus sign). `signed` adds "+" to positives. */
export function formatMoney(str, { signed = false } = {}) {
  const cents = toCents(str);
  if (cents === null) return String(str ?? '');
  const neg = cents < 0n;
  const [whole, frac] = fromCents(neg ? -cents : cents).split('.');
  const grouped = whole.replace(/\B(?=([0-9]{3})+(?![0-9]))/g, ',');
  const sign = neg ? '\u2212' : signed && cents > 0n ? '+' : '';
  return `${sign}$${grouped}.${frac}`;
}

/** Words a screen reader says well: "1,234 dollars and 50 cents". */
export function spokenMoney(str) {
  const cents = toCents(str);
  if (cents === null) return String(str);
  const neg = cents < 0n;
  const abs = neg ? -cents : cents;
  const dollars = (abs / 100n).toString().replace(/\B(?=([0-9]{3})+(?![0-9]))/g, ',');
  return `${neg ? 'minus ' : ''}${dollars} dollars${abs % 100n ? ` and ${abs % 100n} cents` : ''}`;
}

const dateTimeFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** RFC 3339 -> "Nov 25, 2026, 7:01 PM" in the viewer's zone. */
export function formatDateTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso ?? '') : dateTimeFmt.format(d);
}

/** RFC 3339 -> "19:01:00". */
export function formatTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso ?? '') : timeFmt.format(d);
}

/** Value of an <input type="datetime-local"> ("2026-11-25T19:01" or with seconds) -> RFC 3339 UTC, taking
 * the whole minute (or second) that was entered, so "19:01" includes everything up to 19:01:59.999. */
export function localInputToIso(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value ?? '');
  if (!m) return null;
  const [, y, mo, d, h, mi, s] = m;
  const end = new Date(+y, +mo - 1, +d, +h, +mi, s === undefined ? 59 : +s, 999);
  return Number.isNaN(end.getTime()) ? null : end.toISOString();
}

/** Now, formatted for an <input type="datetime-local"> (local time, to the minute). */
export function nowLocalInput(date = new Date()) {
  const p = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}T${p(date.getHours())}:${p(date.getMinutes())}`;
}

/** A label for an account: "Savings ··1001". */
export function accountLabel(acct) {
  if (!acct) return '';
  return `${acct.name || 'Account'} \u00b7\u00b7${acct.id}`;
}
