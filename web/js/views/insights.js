/**
 * Insights for the selected account: money in vs money out, and a 6-month SVG chart (daily activity bars
 * and the end-of-day balance line), computed from the hub's own data: `history` pages back to the start of
 * the window and `balance_at` for the opening balance. Money stays in BigInt cents; only pixel positions
 * use floating point. A table by month is the accessible (and printable) form of the same data.
 * @module views/insights
 */
import { $, h, setMessage } from '../dom.js';
import { accountLabel, formatMoney, fromCents, toCents } from '../format.js';

const DAY_MS = 86_400_000;
const PAGE_LIMIT = 500;
const MAX_PAGES = 20;
const SVG_NS = 'http://www.w3.org/2000/svg';

let ctx;
let generation = 0;
let refreshTimer = null;
let lastModel = null;   // redrawn at the container's width (crisp text at any size)
let drawnWidth = 0;

export function mount(context) {
  ctx = context;
  const { store } = ctx;
  store.on('select', (id) => { clearTimeout(refreshTimer); if (id) load(id); else clear(); });
  store.on('user', (user) => { if (!user) { generation++; clear(); } });
  store.on('balance', ({ id }) => { if (id === store.selected) schedule(); });
  store.on('resync', () => { if (store.selected) schedule(); });
  // Draw at the container's own pixel width: text stays readable from phone to desktop.
  new ResizeObserver(() => {
    const w = Math.round($('chart').clientWidth);
    if (lastModel && w && Math.abs(w - drawnWidth) > 8) drawChart(lastModel.days, lastModel.months);
  }).observe($('chart'));
  store.on('accounts', () => {
    const acct = store.accounts.get(store.selected);
    $('insights-account').textContent = acct ? accountLabel(acct) : '';
  });
}

function schedule() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => { if (ctx.store.selected) load(ctx.store.selected, { quiet: true }); }, 800);
}

function clear() {
  lastModel = null;
  $('chart').replaceChildren();
  $('months-body').replaceChildren();
  for (const id of ['ins-in', 'ins-out', 'ins-net', 'ins-month']) $(id).textContent = '—';
  $('insights-account').textContent = '';
  setMessage($('insights-status'), '');
}

/** Local midnight of the first day of the month, five months before this one (six calendar months). */
export function windowStart(now = new Date()) {
  return new Date(now.getFullYear(), now.getMonth() - 5, 1);
}

function dayKey(d) {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

async function load(account, { quiet = false } = {}) {
  const gen = ++generation;
  const acct = ctx.store.accounts.get(account);
  $('insights-account').textContent = acct ? accountLabel(acct) : '';
  if (!quiet) setMessage($('insights-status'), 'Loading insights…');
  const start = windowStart();
  try {
    const entries = [];
    let before;
    for (let page = 0; page < MAX_PAGES; page++) {
      const args = { account, limit: PAGE_LIMIT };
      if (before != null) args.before = before;
      const res = await ctx.call('history', args);
      if (gen !== generation) return;
      entries.push(...res.entries);
      const oldest = res.entries[res.entries.length - 1];
      if (res.next == null || !oldest || new Date(oldest.at) < start) break;
      before = res.next;
    }
    const opening = await ctx.call('balance_at', { account, at: new Date(start.getTime() - 1).toISOString() });
    if (gen !== generation) return;
    const model = build(entries, toCents(opening.balance) ?? 0n, start, new Date());
    render(model);
    setMessage($('insights-status'), '');
  } catch (err) {
    if (gen === generation) setMessage($('insights-status'), `Insights unavailable: ${ctx.describeError(err)}`);
  }
}

/** Days from `start` to `end` with money in/out and the closing balance, plus per-month totals. */
export function build(entries, openingCents, start, end) {
  const inWindow = entries.filter((e) => new Date(e.at) >= start).reverse(); // oldest first
  const days = [];
  const byKey = new Map();
  for (let t = new Date(start); t <= end; t = new Date(t.getFullYear(), t.getMonth(), t.getDate() + 1)) {
    const day = { date: t, key: dayKey(t), inC: 0n, outC: 0n, close: null };
    days.push(day);
    byKey.set(day.key, day);
  }
  for (const e of inWindow) {
    const day = byKey.get(dayKey(new Date(e.at)));
    if (!day) continue;
    const amt = toCents(e.amount) ?? 0n;
    if (amt >= 0n) day.inC += amt; else day.outC -= amt;
    day.close = toCents(e.balance_after);
  }
  let bal = openingCents;
  for (const day of days) { if (day.close === null) day.close = bal; bal = day.close; }
  const months = [];
  for (const day of days) {
    const key = day.key.slice(0, 7);
    let m = months[months.length - 1];
    if (!m || m.key !== key) months.push((m = { key, date: day.date, inC: 0n, outC: 0n, close: 0n }));
    m.inC += day.inC;
    m.outC += day.outC;
    m.close = day.close;
  }
  return { days, months, opening: openingCents };
}

function render({ days, months }) {
  let inC = 0n; let outC = 0n;
  for (const m of months) { inC += m.inC; outC += m.outC; }
  const cur = months[months.length - 1];
  $('ins-in').textContent = formatMoney(fromCents(inC), { signed: true });
  $('ins-out').textContent = formatMoney(fromCents(-outC));
  $('ins-net').textContent = formatMoney(fromCents(inC - outC), { signed: true });
  $('ins-month').textContent = cur ? `${formatMoney(fromCents(cur.inC), { signed: true })} / ${formatMoney(fromCents(-cur.outC))}` : '—';
  const monthFmt = new Intl.DateTimeFormat(undefined, { month: 'long', year: 'numeric' });
  $('months-body').replaceChildren(...[...months].reverse().map((m) => h('tr', {},
    h('th', { scope: 'row' }, monthFmt.format(m.date)),
    h('td', { class: 'num money pos' }, formatMoney(fromCents(m.inC), { signed: true })),
    h('td', { class: 'num money' }, formatMoney(fromCents(-m.outC))),
    h('td', { class: 'num money' }, formatMoney(fromCents(m.inC - m.outC), { signed: true })),
    h('td', { class: 'num money' }, formatMoney(fromCents(m.close))))));
  lastModel = { days, months };
  drawChart(days, months);
  const last = days[days.length - 1];
  $('chart').setAttribute('aria-label', `Chart of the last ${months.length} months: money in ${formatMoney(fromCents(inC))}, `
    + `money out ${formatMoney(fromCents(outC))}, balance now ${formatMoney(fromCents(last?.close ?? 0n))}. The table below has the figures by month.`);
}

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children) if (c) el.append(c);
  return el;
}

/** "$1.2k", "$350", "−$2.5M" for axis labels. */
function compactMoney(cents) {
  const n = Number(cents) / 100;
  const abs = Math.abs(n);
  const sign = n < 0 ? '\u2212' : '';
  if (abs >= 1e6) return `${sign}$${(abs / 1e6).toFixed(abs >= 1e7 ? 0 : 1)}M`;
  if (abs >= 1e3) return `${sign}$${(abs / 1e3).toFixed(abs >= 1e4 ? 0 : 1)}k`;
  return `${sign}$${Math.round(abs)}`;
}

/** The smallest of 1, 2, 2.5, 5 × 10^k at or above v. */
function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function drawChart(days, months) {
  const W = Math.max(300, Math.round($('chart').clientWidth) || 760);
  drawnWidth = W;
  const H = W < 520 ? 220 : 280;
  const L = 50; const R = 8; const T = 10; const B = 24;
  const plotW = W - L - R;
  const balTop = T; const balH = (H - T - B) * 0.6;
  const actTop = balTop + balH + 18; const actH = H - B - actTop;
  const n = days.length || 1;
  const step = plotW / n;
  const x = (i) => L + step * i + step / 2;

  const balances = days.map((d) => Number(d.close) / 100);
  const TICKS = 4;
  const tick = niceMax((Math.max(...balances, 0) - Math.min(0, ...balances)) / TICKS || 1);
  const lo = Math.floor(Math.min(0, ...balances) / tick) * tick;
  const hi = Math.max(lo + tick, Math.ceil(Math.max(...balances, 0) / tick) * tick);
  const yBal = (v) => balTop + balH - ((v - lo) / (hi - lo || 1)) * balH;

  const maxAct = niceMax(Math.max(1, ...days.map((d) => Number(d.inC > d.outC ? d.inC : d.outC) / 100)));
  const mid = actTop + actH / 2;
  const yAct = (v) => (v / maxAct) * (actH / 2);

  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart-svg', 'aria-hidden': 'true', focusable: 'false' });
  const defs = svg('defs', {}, svg('linearGradient', { id: 'bal-fill', x1: 0, y1: 0, x2: 0, y2: 1 },
    svg('stop', { offset: '0%', class: 'grad-top' }), svg('stop', { offset: '100%', class: 'grad-bottom' })));
  root.append(defs);

  // Balance grid and labels.
  const grid = svg('g', { class: 'chart-grid' });
  for (let v = lo; v <= hi + tick / 2; v += tick) {
    const y = yBal(v);
    grid.append(svg('line', { x1: L, x2: W - R, y1: y, y2: y }));
    const t = svg('text', { x: L - 8, y: y + 4, class: 'chart-label', 'text-anchor': 'end' });
    t.textContent = compactMoney(Math.round(v * 100));
    grid.append(t);
  }
  grid.append(svg('line', { x1: L, x2: W - R, y1: mid, y2: mid, class: 'chart-zero' }));
  const actLabel = svg('text', { x: L - 8, y: actTop + 8, class: 'chart-label', 'text-anchor': 'end' });
  actLabel.textContent = compactMoney(Math.round(maxAct * 100));
  grid.append(actLabel);
  // Month separators and names.
  const monthFmt = new Intl.DateTimeFormat(undefined, { month: 'short' });
  days.forEach((d, i) => {
    if (d.date.getDate() !== 1) return;
    const gx = L + step * i;
    grid.append(svg('line', { x1: gx, x2: gx, y1: T, y2: H - B, class: 'chart-month' }));
    const t = svg('text', { x: gx + 4, y: H - 6, class: 'chart-label' });
    t.textContent = monthFmt.format(d.date);
    if (W - gx > 30) grid.append(t);
  });
  root.append(grid);

  // Daily activity bars: money in above the line, money out below.
  const bars = svg('g', { class: 'chart-bars' });
  const bw = Math.max(1.2, step * 0.7);
  const dayFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
  days.forEach((d, i) => {
    if (!d.inC && !d.outC) return;
    const g = svg('g', {});
    const title = svg('title');
    title.textContent = `${dayFmt.format(d.date)}: in ${formatMoney(fromCents(d.inC))}, out ${formatMoney(fromCents(d.outC))}, balance ${formatMoney(fromCents(d.close))}`;
    g.append(title);
    if (d.inC) { const hh = Math.max(1.5, yAct(Number(d.inC) / 100)); g.append(svg('rect', { x: x(i) - bw / 2, y: mid - hh, width: bw, height: hh, rx: 0.8, class: 'bar-in' })); }
    if (d.outC) { const hh = Math.max(1.5, yAct(Number(d.outC) / 100)); g.append(svg('rect', { x: x(i) - bw / 2, y: mid, width: bw, height: hh, rx: 0.8, class: 'bar-out' })); }
    bars.append(g);
  });
  root.append(bars);

  // Balance line with a soft area under it.
  if (days.length) {
    const pts = days.map((d, i) => `${x(i).toFixed(1)},${yBal(balances[i]).toFixed(1)}`);
    const base = yBal(Math.max(lo, 0));
    root.append(svg('path', { d: `M${x(0).toFixed(1)},${base} L${pts.join(' L')} L${x(days.length - 1).toFixed(1)},${base} Z`, class: 'bal-area' }));
    root.append(svg('path', { d: `M${pts.join(' L')}`, class: 'bal-line' }));
    const li = days.length - 1;
    root.append(svg('circle', { cx: x(li), cy: yBal(balances[li]), r: 4, class: 'bal-dot' }));
  }
  $('chart').replaceChildren(root);
  $('chart').dataset.days = String(days.length);
  $('chart').dataset.months = String(months.length);
}
