// A small in-memory stand-in for the BankHub server, speaking protocol v1 (docs/protocol.md) over real
// WebSockets (RFC 6455 framing by hand, no dependencies). It exists only to exercise web/js/bankhub.js and
// the dashboard before/without a Swift build; the real hub is the reference. It also serves ./web with the
// hub's Content-Security-Policy so CSP mistakes show up.
//
//   node Tests/browser/stub-hub.mjs --port 8093 --web web     (prints demo credentials: demo / demo-password)
import { createServer } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png' };
const CSP = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'";

function frame(opcode, payload) {
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0x80 | opcode, len])
    : len < 65536 ? Buffer.from([0x80 | opcode, 126, len >> 8, len & 255])
      : Buffer.concat([Buffer.from([0x80 | opcode, 127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(len)); return b; })()]);
  return Buffer.concat([head, payload]);
}

class Conn {
  constructor(socket, hub) {
    this.socket = socket; this.hub = hub; this.buf = Buffer.alloc(0); this.user = null; this.token = null; this.streams = new Set();
    socket.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); this.parse(); });
    socket.on('close', () => hub.conns.delete(this));
    socket.on('error', () => {});
  }
  parse() {
    while (this.buf.length >= 2) {
      const op = this.buf[0] & 15; let len = this.buf[1] & 127; let off = 2;
      if (len === 126) { if (this.buf.length < 4) return; len = this.buf.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (this.buf.length < 10) return; len = Number(this.buf.readBigUInt64BE(2)); off = 10; }
      const masked = this.buf[1] & 128;
      if (this.buf.length < off + (masked ? 4 : 0) + len) return;
      const mask = masked ? this.buf.subarray(off, off + 4) : null; off += masked ? 4 : 0;
      const data = Buffer.from(this.buf.subarray(off, off + len));
      if (mask) for (let i = 0; i < data.length; i++) data[i] ^= mask[i & 3];
      this.buf = this.buf.subarray(off + len);
      if (op === 8) { this.close(1000); return; }
      if (op === 9) { this.socket.write(frame(10, data)); continue; }
      if (op === 1) this.onText(data.toString('utf8'));
    }
  }
  send(obj) { if (!this.socket.destroyed) this.socket.write(frame(1, Buffer.from(JSON.stringify(obj)))); }
  close(code) {
    const p = Buffer.alloc(2); p.writeUInt16BE(code);
    if (!this.socket.destroyed) { this.socket.write(frame(8, p)); this.socket.end(); }
  }
  onText(text) {
    let msg;
    try { msg = JSON.parse(text); } catch { this.send({ id: null, ok: false, error: { code: 'bad_request', message: 'not JSON' } }); return; }
    const { id, op, args = {} } = msg;
    const delay = this.hub.replyDelayMs;
    const reply = () => {
      try { this.send({ id, ok: true, result: this.hub.handle(this, op, args) }); }
      catch (e) { this.send({ id, ok: false, error: e.wire ?? { code: 'internal', message: String(e) } }); }
    };
    if (delay) setTimeout(reply, delay); else reply();
  }
}

const fail = (code, message, extra = {}) => Object.assign(new Error(message), { wire: { code, message, ...extra } });
const AMOUNT_RE = /^(0|[1-9][0-9]*)(\.[0-9]{1,2})?$/;
const cents = (s) => { const [w, f = ''] = s.split('.'); return BigInt(w) * 100n + BigInt(f.padEnd(2, '0') || '0'); };
const money = (c) => `${c < 0n ? '-' : ''}${(c < 0n ? -c : c) / 100n}.${String((c < 0n ? -c : c) % 100n).padStart(2, '0')}`;

export class StubHub {
  constructor() {
    this.conns = new Set(); this.users = new Map(); this.tokens = new Map(); this.accounts = new Map();
    this.events = new Map(); this.txns = []; this.nextAcct = 1001; this.nextUser = 2; this.nextTxn = 1; this.replyDelayMs = 0;
    this.opsSeen = [];
  }
  now() { return new Date().toISOString(); }
  push(stream, event, data) {
    const list = this.events.get(stream) ?? []; this.events.set(stream, list);
    const ev = { event, stream, seq: list.length + 1, data }; list.push(ev);
    for (const c of this.conns) if (c.streams.has(stream)) c.send(ev);
  }
  mine(conn, id) {
    const a = this.accounts.get(String(id));
    if (!a || a.owner !== conn.user.id) throw fail('not_found', `no account ${id}`);
    return a;
  }
  amount(s) {
    if (typeof s !== 'string' || !AMOUNT_RE.test(s) || cents(s) <= 0n || cents(s) > 100000000000n) throw fail('invalid_amount', `invalid amount ${JSON.stringify(s)}`);
    return cents(s);
  }
  post(kind, from, to, c, note) {
    const txn = { id: String(this.nextTxn++), kind, amount: money(c), from: from?.id ?? null, to: to?.id ?? null, note: note ?? null, at: this.now() };
    this.txns.push(txn);
    for (const [a, sign] of [[from, -1n], [to, 1n]]) {
      if (!a) continue;
      a.balance += sign * c;
      a.history.push({ txn: txn.id, kind, amount: money(sign * c), balance_after: money(a.balance), at: txn.at, note: txn.note, counterparty: kind === 'transfer' ? (sign < 0n ? to.id : from.id) : null });
      this.push(`account:${a.id}`, 'balance', { account: a.id, balance: money(a.balance), txn: txn.id, at: txn.at });
    }
    return txn;
  }
  view(a) { return { id: a.id, name: a.name, balance: money(a.balance), currency: 'USD', status: 'open', created_at: a.created_at }; }
  handle(conn, op, args) {
    this.opsSeen.push(op);
    const needAuth = () => { if (!conn.user) throw fail('unauthorized', 'log in first'); };
    switch (op) {
      case 'signup': {
        const username = String(args.username ?? '').toLowerCase();
        if (!/^[a-z0-9_.-]{3,32}$/.test(username)) throw fail('bad_request', 'bad username', { field: 'username' });
        if (String(args.password ?? '').length < 8) throw fail('bad_request', 'password too short', { field: 'password' });
        if ([...this.users.values()].some((u) => u.username === username)) throw fail('conflict', `username ${username} is taken`, { field: 'username' });
        const user = { id: String(this.nextUser++), username, role: 'customer', full_name: args.full_name ?? null, email: args.email ?? null, phone: null, created_at: this.now(), password: args.password };
        this.users.set(user.id, user);
        return { user: this.userView(user) };
      }
      case 'login': {
        const user = [...this.users.values()].find((u) => u.username === String(args.username).toLowerCase() && u.password === args.password);
        if (!user) throw fail('unauthorized', 'wrong username or password');
        const token = randomBytes(32).toString('base64url'); this.tokens.set(token, user.id);
        conn.user = user; conn.token = token;
        return { token, user: this.userView(user), expires_at: new Date(Date.now() + 864e5).toISOString() };
      }
      case 'auth': {
        const uid = this.tokens.get(args.token);
        if (!uid) throw fail('unauthorized', 'token expired or revoked');
        conn.user = this.users.get(uid); conn.token = args.token;
        return { user: this.userView(conn.user), expires_at: new Date(Date.now() + 864e5).toISOString() };
      }
      case 'logout': needAuth(); this.tokens.delete(conn.token); conn.user = null; conn.token = null; conn.streams.clear(); return {};
      case 'open_account': {
        needAuth();
        const a = { id: String(this.nextAcct++), owner: conn.user.id, name: args.name ?? 'Checking', balance: 0n, created_at: this.now(), history: [] };
        this.accounts.set(a.id, a);
        return { account: this.view(a) };
      }
      case 'accounts': needAuth(); return { accounts: [...this.accounts.values()].filter((a) => a.owner === conn.user.id).map((a) => this.view(a)) };
      case 'deposit': case 'withdraw': {
        needAuth();
        const a = this.mine(conn, args.account); const c = this.amount(args.amount);
        if (op === 'withdraw' && a.balance < c) throw fail('insufficient_funds', `account ${a.id} holds ${money(a.balance)}, ${money(c)} was asked`);
        const txn = op === 'deposit' ? this.post('deposit', null, a, c, args.note) : this.post('withdraw', a, null, c, args.note);
        return { txn, balance: money(a.balance) };
      }
      case 'transfer': {
        needAuth();
        const from = this.mine(conn, args.from); const c = this.amount(args.amount);
        const to = this.accounts.get(String(args.to));
        if (!to) throw fail('not_found', `no account ${args.to}`, { field: 'to' });
        if (to === from) throw fail('same_account', 'cannot transfer to the same account');
        if (from.balance < c) {
          this.push(`account:${from.id}`, 'transfer', { txn: null, from: from.id, to: to.id, amount: money(c), status: 'rejected', reason: 'insufficient_funds', at: this.now() });
          throw fail('insufficient_funds', `account ${from.id} holds ${money(from.balance)}, ${money(c)} was asked`);
        }
        const txn = this.post('transfer', from, to, c, args.note);
        for (const a of [from, to]) this.push(`account:${a.id}`, 'transfer', { txn: txn.id, from: from.id, to: to.id, amount: txn.amount, status: 'completed', at: txn.at });
        return { txn, balance: money(from.balance) };
      }
      case 'history': {
        needAuth();
        const a = this.mine(conn, args.account); const limit = args.limit ?? 50;
        let list = [...a.history].reverse();
        if (args.before != null) list = list.filter((e) => Number(e.txn) < Number(args.before));
        const entries = list.slice(0, limit);
        return list.length > limit ? { entries, next: entries[entries.length - 1].txn } : { entries };
      }
      case 'balance_at': {
        needAuth();
        const a = this.mine(conn, args.account); const at = new Date(args.at).getTime();
        const before = a.history.filter((e) => new Date(e.at).getTime() <= at);
        return { balance: before.length ? before[before.length - 1].balance_after : '0.00', at: new Date(at).toISOString() };
      }
      case 'subscribe': {
        needAuth();
        const m = /^account:(\d+)$/.exec(String(args.stream));
        if (!m) throw fail('bad_request', `unknown stream ${args.stream}`, { field: 'stream' });
        this.mine(conn, m[1]);
        const list = this.events.get(args.stream) ?? [];
        if (args.since != null && list.length - args.since > 10000) throw fail('resync_required', 'too far behind');
        const already = conn.streams.has(args.stream);
        conn.streams.add(args.stream);
        if (args.since != null && !already) setImmediate(() => { for (const ev of list.slice(args.since)) conn.send(ev); });
        return { stream: args.stream, head: list.length };
      }
      case 'unsubscribe': needAuth(); conn.streams.delete(args.stream); return { stream: args.stream };
      default: throw fail('bad_request', `unknown op ${op}`, { field: 'op' });
    }
  }
  userView(u) { const { password, ...rest } = u; return rest; }
  /** Close every connection with `code` (1001 = shutting down). */
  dropAll(code = 1001) { for (const c of this.conns) c.close(code); }

  listen(port, webDir) {
    const server = createServer(async (req, res) => {
      const url = new URL(req.url, 'http://x');
      if (url.pathname === '/healthz') { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ status: 'ok', connections: this.conns.size, version: 'stub' })); return; }
      if (!webDir) { res.writeHead(404); res.end(); return; }
      const path = normalize(join(webDir, url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname)));
      try {
        const body = await readFile(path);
        res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream', 'content-security-policy': CSP });
        res.end(body);
      } catch { res.writeHead(404); res.end('not found'); }
    });
    server.on('upgrade', (req, socket) => {
      const protos = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
      if (new URL(req.url, 'http://x').pathname !== '/ws' || !protos.includes('bankhub.v1')) { socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'); return; }
      const accept = createHash('sha1').update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: bankhub.v1\r\n\r\n`);
      this.conns.add(new Conn(socket, this));
    });
    return new Promise((resolve) => server.listen(port, '127.0.0.1', () => { this.server = server; resolve(server.address().port); }));
  }
  stop() { this.dropAll(1001); return new Promise((r) => this.server.close(r)); }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name, dflt) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : dflt; };
  const hub = new StubHub();
  hub.handle({ user: null }, 'signup', { username: 'demo', password: 'demo-password', full_name: 'Dana Demo' });
  const port = await hub.listen(Number(arg('--port', 8093)), arg('--web', 'web'));
  console.log(`stub hub on http://127.0.0.1:${port}/  login: demo / demo-password`);
}
