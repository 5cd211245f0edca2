/**
 * bankhub.js — reference client for the BankHub wire protocol v1 (docs/protocol.md).
 *
 * No dependencies; runs in browsers and in Node >= 20 (pass `WebSocket` if there is no global one).
 *
 *   import { BankHubClient } from './bankhub.js';
 *   const hub = new BankHubClient({ onState: (s) => console.log(s) });
 *   await hub.connect();                       // restores a stored session, if any
 *   await hub.login('alice', 'correct horse');  // stores the token for later restores
 *   await hub.subscribe('account:1001', (ev) => console.log(ev.event, ev.data));
 *   const { txn, balance } = await hub.request('deposit', { account: '1001', amount: '25.00' });
 *
 * Guarantees: requests are matched by id; every request settles (reply, `timeout`, `disconnected` or
 * `closed`); after a reconnect the client re-`auth`s with the stored token and resubscribes every stream
 * with `since` = the last seq it delivered, and drops any event whose seq is not above that, so handlers see
 * each event of a stream once and in order. Requests are never resent automatically (they may not be
 * idempotent): retry them yourself, with an `idempotency_key` for money movements.
 * @module bankhub
 */

/** The WebSocket subprotocol the hub speaks. */
export const PROTOCOL = 'bankhub.v1';

/** Error for a failed request. `code` is the hub's stable error code, or one of the client-side codes
 * `timeout`, `disconnected` (the connection dropped before the reply) and `closed` (client closed).
 * Extra fields of the hub's error object (`field`, `retry_after`, `challenge`, ...) are copied onto it. */
export class BankHubError extends Error {
  /** @param {string} code @param {string} message @param {Record<string, unknown>} [extra] */
  constructor(code, message, extra = {}) {
    super(message || code);
    this.name = 'BankHubError';
    /** @type {string} */ this.code = code;
    for (const [k, v] of Object.entries(extra)) if (!(k in this)) this[k] = v;
  }
}

/** `ws(s)://<host of the page>/ws`, or `ws://127.0.0.1/ws` outside a browser. */
export function defaultUrl(loc = globalThis.location) {
  if (!loc || !loc.host) return 'ws://127.0.0.1/ws';
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/ws`;
}

function defaultStorage() {
  try { return globalThis.sessionStorage ?? null; } catch { return null; }
}

/** Ops that do not need (and must not trigger) the "session ended" handling on `unauthorized`. */
const ANONYMOUS_OPS = new Set(['signup', 'login', 'auth', 'forgot_password', 'reset_password']);

/**
 * @typedef {'idle'|'connecting'|'open'|'reconnecting'|'dormant'|'closed'} ConnectionState
 * `open` is reported only once the stored session is restored and streams resubscribed. `dormant`: the hub
 * closed an idle anonymous connection (4001); the next request reconnects by itself.
 * @typedef {{event: string, stream: string, seq: number, data: any}} HubEvent
 * @typedef {{getItem(k: string): string|null, setItem(k: string, v: string): void, removeItem(k: string): void}} TokenStorage
 * @typedef {object} ClientOptions
 * @property {string} [url] WebSocket URL; default {@link defaultUrl}.
 * @property {TokenStorage|null} [storage] where the session token is kept; default sessionStorage.
 * @property {string} [tokenKey] storage key; default `bankhub.token`.
 * @property {typeof WebSocket} [WebSocket] constructor to use; default the global one.
 * @property {number} [timeoutMs] default per-request timeout; default 15000.
 * @property {number} [backoffInitialMs] first reconnect delay cap; default 250 (doubles per attempt).
 * @property {number} [backoffMaxMs] largest reconnect delay cap; default 10000.
 * @property {number} [connectTimeoutMs] give up on an opening handshake after this long; default 10000.
 * @property {boolean} [reconnect] reconnect after an unexpected close; default true.
 * @property {(state: ConnectionState, info?: object) => void} [onState]
 * @property {(ev: HubEvent) => void} [onEvent] every event, after seq de-duplication.
 * @property {(user: object|null, reason: string) => void} [onSession] login, restore, logout, expiry.
 * @property {(stream: string) => void} [onResync] a stream could not be replayed (`resync_required`):
 *   re-read state; the client has already resubscribed without `since`.
 */

export class BankHubClient {
  /** @param {ClientOptions} [opts] */
  constructor(opts = {}) {
    this.url = opts.url ?? defaultUrl();
    this.storage = opts.storage === undefined ? defaultStorage() : opts.storage;
    this.tokenKey = opts.tokenKey ?? 'bankhub.token';
    this.timeoutMs = opts.timeoutMs ?? 15000;
    this.backoffInitialMs = opts.backoffInitialMs ?? 250;
    this.backoffMaxMs = opts.backoffMaxMs ?? 10000;
    this.autoReconnect = opts.reconnect ?? true;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10000;
    this._WS = opts.WebSocket ?? globalThis.WebSocket;
    /** @type {ConnectionState} */ this._state = 'idle';
    this._ws = null;
    this._nextId = 1;
    this._pending = new Map();   // id -> {resolve, reject, timer, op}
    this._queue = [];            // requests waiting for the connection to be ready
    this._ready = false;         // socket open and session/streams restored
    this._subs = new Map();      // stream -> Set of handlers
    this._seqs = new Map();      // stream -> last seq delivered
    this._user = null;
    this._attempt = 0;
    this._retryTimer = null;
    this._listeners = { state: new Set(), event: new Set(), session: new Set(), resync: new Set(), error: new Set() };
    if (opts.onState) this.on('state', opts.onState);
    if (opts.onEvent) this.on('event', opts.onEvent);
    if (opts.onSession) this.on('session', opts.onSession);
    if (opts.onResync) this.on('resync', opts.onResync);
    if (typeof globalThis.addEventListener === 'function') {
      globalThis.addEventListener('online', () => { if (this._state === 'reconnecting') this._reconnectNow(); });
    }
  }

  /** @returns {ConnectionState} */ get state() { return this._state; }
  /** The authenticated user (`{id, username, role, ...}`) or null. */ get user() { return this._user; }
  /** The stored session token, or null. */
  get token() { try { return this.storage?.getItem(this.tokenKey) ?? null; } catch { return null; } }

  /** Listen to `state`, `event`, `session`, `resync` or `error` (frames with `id: null`).
   * @returns {() => void} a function that removes the listener */
  on(type, fn) { this._listeners[type].add(fn); return () => this._listeners[type].delete(fn); }

  /** Open the connection (restoring the stored session). Resolves once ready; also resolves if it fails,
   * in which case the client keeps retrying in the background (watch `state`). */
  connect() {
    if (this._state === 'idle' || this._state === 'closed' || this._state === 'dormant') this._open('connecting');
    return this._ready ? Promise.resolve() : new Promise((resolve) => {
      const off = this.on('state', (s) => { if (s !== 'connecting') { off(); resolve(); } });
    });
  }

  /** Close for good (code 1000); pending and queued requests reject with `closed`. */
  close() {
    clearTimeout(this._retryTimer);
    const ws = this._ws;
    this._ws = null;
    this._ready = false;
    if (ws) { ws.onclose = ws.onmessage = ws.onerror = null; try { ws.close(1000); } catch { /* already closed */ } }
    this._failAll('closed', 'the client closed the connection');
    this._setState('closed');
  }

  /**
   * Send one request. Waits (within the timeout) for the connection if it is not ready yet.
   * @param {string} op @param {object} [args] @param {{timeoutMs?: number}} [options]
   * @returns {Promise<any>} the reply's `result`; rejects with {@link BankHubError}
   */
  request(op, args = {}, { timeoutMs } = {}) {
    return this._request(op, args, timeoutMs ?? this.timeoutMs, false);
  }

  /** `login` (with `extra` such as `{totp}` once the user enrolled a second factor), then keep the token
   * for restores. @returns {Promise<{token, user, expires_at}>} */
  async login(username, password, extra = {}) {
    const res = await this.request('login', { username, password, ...extra });
    this._storeToken(res.token);
    this._setUser(res.user, 'login');
    return res;
  }

  /** Authenticate with a token (e.g. one from another tab); stores it on success. */
  async auth(token) {
    const res = await this.request('auth', { token });
    this._storeToken(token);
    this._setUser(res.user, 'auth');
    return res;
  }

  /** Unsubscribe every stream, revoke the token and forget it. Local state is cleared even if offline. */
  async logout() {
    const streams = [...this._subs.keys()];
    this._subs.clear();
    this._seqs.clear();
    try {
      if (this._ready) await Promise.allSettled(streams.map((stream) => this.request('unsubscribe', { stream })));
      if (this._ready) await this.request('logout');
    } finally {
      this._storeToken(null);
      this._setUser(null, 'logout');
    }
  }

  /**
   * Subscribe to a stream (`account:ID`, `user:ID`, ...). Events are delivered to `onEvent` once each, in
   * seq order, including across reconnects. Resolves with `{stream, head}`.
   * @param {string} stream @param {(ev: HubEvent) => void} [onEvent]
   */
  async subscribe(stream, onEvent) {
    let handlers = this._subs.get(stream);
    if (!handlers) this._subs.set(stream, (handlers = new Set()));
    if (onEvent) handlers.add(onEvent);
    try {
      return await this._subscribe(stream, false);
    } catch (err) {
      if (onEvent) handlers.delete(onEvent);
      if (!handlers.size && err.code !== 'timeout' && err.code !== 'disconnected') this._subs.delete(stream);
      throw err;
    }
  }

  /** Stop a stream and forget its seq. */
  async unsubscribe(stream) {
    this._subs.delete(stream);
    this._seqs.delete(stream);
    return this.request('unsubscribe', { stream });
  }

  /** Last seq delivered on a stream (undefined if none yet). */
  lastSeq(stream) { return this._seqs.get(stream); }

  // ---- internals ---------------------------------------------------------------------------------

  _emit(type, ...args) {
    for (const fn of [...this._listeners[type]]) {
      try { fn(...args); } catch (err) { console.error(`bankhub ${type} listener failed`, err); }
    }
  }

  _setState(state, info) {
    if (state === this._state && !info) return;
    this._state = state;
    this._emit('state', state, info);
  }

  _setUser(user, reason) { this._user = user; this._emit('session', user, reason); }

  _storeToken(token) {
    try { token ? this.storage?.setItem(this.tokenKey, token) : this.storage?.removeItem(this.tokenKey); } catch { /* storage unavailable */ }
  }

  _request(op, args, timeoutMs, internal) {
    if (this._state === 'closed' || this._state === 'idle') {
      return Promise.reject(new BankHubError('closed', 'not connected: call connect() first'));
    }
    // Dormant (the hub closed an idle anonymous connection with 4001): the next request opens a new one.
    if (this._state === 'dormant') this._open('connecting');
    return new Promise((resolve, reject) => {
      const id = this._nextId++;
      const entry = { id, op, args, resolve, reject, timer: null };
      entry.timer = setTimeout(() => {
        this._pending.delete(id);
        this._queue = this._queue.filter((e) => e !== entry);
        reject(new BankHubError('timeout', `no reply to ${op} within ${timeoutMs} ms`));
      }, timeoutMs);
      if (internal || this._ready) this._send(entry); else this._queue.push(entry);
    });
  }

  _send(entry) {
    this._pending.set(entry.id, entry);
    try {
      this._ws.send(JSON.stringify({ id: entry.id, op: entry.op, args: entry.args }));
    } catch (err) {
      this._pending.delete(entry.id);
      clearTimeout(entry.timer);
      entry.reject(new BankHubError('disconnected', `could not send ${entry.op}: ${err.message}`));
    }
  }

  async _subscribe(stream, internal) {
    const since = this._seqs.get(stream);
    const args = since === undefined ? { stream } : { stream, since };
    try {
      const res = await this._request('subscribe', args, this.timeoutMs, internal);
      // Without `since`, only events after `head` follow: start counting there.
      if (since === undefined && typeof res.head === 'number') {
        this._seqs.set(stream, Math.max(this._seqs.get(stream) ?? 0, res.head));
      }
      return res;
    } catch (err) {
      if (err.code !== 'resync_required') throw err;
      this._seqs.delete(stream);
      const res = await this._subscribe(stream, internal);
      this._emit('resync', stream);
      return res;
    }
  }

  _failAll(code, message) {
    for (const entry of [...this._pending.values(), ...this._queue]) {
      clearTimeout(entry.timer);
      entry.reject(new BankHubError(code, `${entry.op}: ${message}`));
    }
    this._pending.clear();
    this._queue = [];
  }

  _open(state) {
    this._setState(state);
    let ws;
    try {
      ws = new this._WS(this.url, PROTOCOL);
    } catch (err) {
      this._scheduleReconnect({ code: 0, reason: err.message });
      return;
    }
    this._ws = ws;
    // A hub that accepts TCP but never answers the upgrade (e.g. while shutting down) would leave the socket
    // CONNECTING forever: treat a slow handshake as a failed attempt.
    const handshakeTimer = setTimeout(() => {
      if (this._ws !== ws) return;
      ws.onopen = ws.onclose = ws.onmessage = ws.onerror = null;
      try { ws.close(); } catch { /* ignore */ }
      this._ws = null;
      this._scheduleReconnect({ code: 4000, reason: 'handshake timed out' });
    }, this.connectTimeoutMs);
    ws.onopen = () => { clearTimeout(handshakeTimer); this._restore(ws); };
    ws.onmessage = (msg) => this._onMessage(msg.data);
    ws.onerror = () => { /* onclose follows and carries the details */ };
    ws.onclose = (ev) => {
      clearTimeout(handshakeTimer);
      if (this._ws !== ws) return;
      this._ws = null;
      this._ready = false;
      for (const entry of this._pending.values()) {
        clearTimeout(entry.timer);
        entry.reject(new BankHubError('disconnected', `${entry.op}: connection closed (${ev.code}) before the reply`));
      }
      this._pending.clear();
      if (ev.code === 1008) { this._storeToken(null); this._subs.clear(); this._seqs.clear(); this._setUser(null, 'revoked'); }
      // 4001: the hub closes connections that stay anonymous (30 s). Nothing is lost by waiting: stay dormant
      // and open a new connection when the next request (a login, say) is made, instead of reconnecting in a loop.
      if (ev.code === 4001 && !this.token && this._subs.size === 0) {
        this._failAll('disconnected', 'connection closed while idle');
        this._setState('dormant', { code: ev.code, reason: ev.reason });
        return;
      }
      this._scheduleReconnect(ev);
    };
  }

  async _restore(ws) {
    if (ws.protocol && ws.protocol !== PROTOCOL) console.warn(`bankhub: server chose subprotocol ${ws.protocol}`);
    try {
      const token = this.token;
      if (token) {
        try {
          const res = await this._request('auth', { token }, this.timeoutMs, true);
          this._setUser(res.user, 'restored');
        } catch (err) {
          if (err.code !== 'unauthorized') throw err;
          this._storeToken(null);
          this._subs.clear();
          this._seqs.clear();
          this._setUser(null, 'expired');
        }
      }
      await Promise.all([...this._subs.keys()].map((stream) => this._subscribe(stream, true).catch((err) => {
        if (err.code === 'disconnected' || err.code === 'timeout') throw err;
        console.warn(`bankhub: could not resubscribe ${stream}: ${err.code}`);
        this._subs.delete(stream);
        this._seqs.delete(stream);
      })));
    } catch (err) {
      if (this._ws === ws) { try { ws.close(4000, 'restore failed'); } catch { /* ignore */ } }
      return;
    }
    if (this._ws !== ws) return;
    this._ready = true;
    this._attempt = 0;
    this._setState('open');
    const queued = this._queue;
    this._queue = [];
    for (const entry of queued) this._send(entry);
  }

  _scheduleReconnect(ev) {
    if (!this.autoReconnect || ev.code === 1000) {
      this._failAll('disconnected', 'connection closed');
      this._setState('closed', { code: ev.code, reason: ev.reason });
      return;
    }
    // Full jitter: a random delay between 0 and min(max, initial * 2^attempt).
    const cap = Math.min(this.backoffMaxMs, this.backoffInitialMs * 2 ** this._attempt);
    const delayMs = Math.round(Math.random() * cap);
    this._attempt++;
    this._setState('reconnecting', { delayMs, attempt: this._attempt, code: ev.code, reason: ev.reason });
    clearTimeout(this._retryTimer);
    this._retryTimer = setTimeout(() => this._open('reconnecting'), delayMs);
  }

  _reconnectNow() {
    clearTimeout(this._retryTimer);
    if (!this._ws) this._open('reconnecting');
  }

  _onMessage(raw) {
    if (typeof raw !== 'string') return;
    let msg;
    try { msg = JSON.parse(raw); } catch { return; }
    if (!msg || typeof msg !== 'object') return;
    if (typeof msg.event === 'string') { this._onEvent(msg); return; }
    const entry = msg.id == null ? undefined : this._pending.get(msg.id);
    if (!entry) {
      if (msg.ok === false) this._emit('error', new BankHubError(msg.error?.code ?? 'internal', msg.error?.message, msg.error));
      return;
    }
    this._pending.delete(msg.id);
    clearTimeout(entry.timer);
    if (msg.ok) { entry.resolve(msg.result ?? {}); return; }
    const { code = 'internal', message = '', ...extra } = msg.error ?? {};
    const err = new BankHubError(code, message, extra);
    if (code === 'unauthorized' && !extra.field && !ANONYMOUS_OPS.has(entry.op) && this._user) {
      // The token was revoked elsewhere (logout on another screen) or expired. (An `unauthorized` that names
      // a `field`, like change_password's wrong `old`, is about that argument, not the session.)
      this._storeToken(null);
      this._subs.clear();
      this._seqs.clear();
      this._setUser(null, 'expired');
    }
    entry.reject(err);
  }

  _onEvent(ev) {
    const { stream, seq } = ev;
    if (typeof stream === 'string' && typeof seq === 'number') {
      const last = this._seqs.get(stream);
      if (last !== undefined && seq <= last) return; // already delivered (replay overlap)
      this._seqs.set(stream, seq);
    }
    for (const fn of [...(this._subs.get(stream) ?? [])]) {
      try { fn(ev); } catch (err) { console.error('bankhub stream handler failed', err); }
    }
    // The hub ended this subscription itself (logout, expiry, a role change): do not resubscribe on reconnect.
    if (ev.event === 'unsubscribed' && typeof stream === 'string') { this._subs.delete(stream); this._seqs.delete(stream); }
    this._emit('event', ev);
  }
}
