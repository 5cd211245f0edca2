// Client-library tests for web/js/bankhub.js over real WebSockets.
//   node --experimental-websocket --test Tests/browser/bankhub-client.test.mjs
// Against the stub hub by default; set BANKHUB_URL=ws://127.0.0.1:8091/ws to point the protocol-level
// tests at a real hub (the reconnect test needs the stub, which it can drop connections on).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BankHubClient, BankHubError } from '../../web/js/bankhub.js';
import { StubHub } from './stub-hub.mjs';

const memoryStorage = () => { const m = new Map(); return { getItem: (k) => m.get(k) ?? null, setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k) }; };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nextState = (c, state) => new Promise((resolve) => { const off = c.on('state', (s) => { if (s === state) { off(); resolve(); } }); });
async function until(cond, ms = 3000) {
  const end = Date.now() + ms;
  while (!cond()) { if (Date.now() > end) throw new Error('condition not met in time'); await sleep(10); }
}

let hub; let url;
before(async () => {
  hub = new StubHub();
  const port = await hub.listen(0);
  url = `ws://127.0.0.1:${port}/ws`;
});
after(() => hub.stop());

const newClient = (extra = {}) => new BankHubClient({ url, storage: memoryStorage(), backoffInitialMs: 20, backoffMaxMs: 100, timeoutMs: 2000, ...extra });
let userCount = 0;
async function freshUser(client) {
  const username = `user${++userCount}`;
  await client.request('signup', { username, password: 'long enough pw' });
  await client.login(username, 'long enough pw');
  return username;
}

test('requests resolve with result; failures reject with BankHubError carrying code and extra fields', async () => {
  const c = newClient();
  const states = [];
  c.on('state', (s) => states.push(s));
  await c.connect();
  assert.equal(c.state, 'open');
  assert.deepEqual(states, ['connecting', 'open']);
  await freshUser(c);
  const { account } = await c.request('open_account', { name: 'Main' });
  const r = await c.request('deposit', { account: account.id, amount: '25.50' });
  assert.equal(r.balance, '25.50');
  await assert.rejects(c.request('withdraw', { account: account.id, amount: '100' }), (e) => e instanceof BankHubError && e.code === 'insufficient_funds');
  await assert.rejects(c.request('signup', { username: 'x', password: 'long enough pw' }), (e) => e.code === 'bad_request' && e.field === 'username');
  c.close();
  assert.equal(c.state, 'closed');
});

test('pipelined requests are matched by id; a slow reply times out with code "timeout"', async () => {
  const c = newClient();
  await c.connect();
  await freshUser(c);
  const results = await Promise.all([1, 2, 3].map((n) => c.request('open_account', { name: `A${n}` })));
  assert.deepEqual(results.map((r) => r.account.name), ['A1', 'A2', 'A3']);
  hub.replyDelayMs = 300;
  try {
    await assert.rejects(c.request('accounts', {}, { timeoutMs: 50 }), (e) => e.code === 'timeout');
  } finally { hub.replyDelayMs = 0; }
  c.close();
});

test('after the hub drops the connection: re-auth, resubscribe with since, no gap and no duplicate', async () => {
  const storage = memoryStorage();
  const c = newClient({ storage });
  await c.connect();
  await freshUser(c);
  const { account } = await c.request('open_account', {});
  const stream = `account:${account.id}`;
  const seen = [];
  await c.subscribe(stream, (ev) => seen.push(ev.seq));
  await c.request('deposit', { account: account.id, amount: '1' });
  await until(() => seen.length === 1);

  // A second screen of the same user keeps working while the first is cut off.
  const other = newClient({ storage: memoryStorage() });
  await other.connect();
  await other.auth(c.token);

  const states = [];
  c.on('state', (s) => states.push(s));
  hub.opsSeen = [];
  hub.dropAll(1001);
  await until(() => states.includes('reconnecting'));
  await other.request('deposit', { account: account.id, amount: '2' });
  await other.request('deposit', { account: account.id, amount: '3' });
  await until(() => c.state === 'open');
  assert.ok(hub.opsSeen.includes('auth'), 'the client re-authenticated with its stored token');
  await c.request('deposit', { account: account.id, amount: '4' });
  await until(() => seen.length === 4);
  await sleep(50);
  assert.deepEqual(seen, [1, 2, 3, 4]);
  assert.equal(c.lastSeq(stream), 4);

  // An event at or below the last seq (e.g. a replay overlap) is dropped.
  c._onEvent({ event: 'balance', stream, seq: 3, data: {} });
  assert.deepEqual(seen, [1, 2, 3, 4]);
  c.close(); other.close();
});

test('a stored token restores the session; a revoked one ends it', async () => {
  const storage = memoryStorage();
  const a = newClient({ storage });
  await a.connect();
  const username = await freshUser(a);
  a.close();

  const sessions = [];
  const b = newClient({ storage, onSession: (u, why) => sessions.push([u?.username ?? null, why]) });
  await b.connect();
  assert.equal(b.user.username, username);
  assert.deepEqual(sessions, [[username, 'restored']]);
  await b.logout();
  assert.equal(b.token, null);
  b.close();

  storage.setItem('bankhub.token', 'revoked-token');
  const c = newClient({ storage, onSession: (u, why) => sessions.push([u, why]) });
  await c.connect();
  assert.equal(c.user, null);
  assert.equal(storage.getItem('bankhub.token'), null);
  assert.deepEqual(sessions.at(-1), [null, 'expired']);
  c.close();
});

test('requests made while reconnecting wait for the connection; close() rejects them with "closed"', async () => {
  const c = newClient({ backoffInitialMs: 200, backoffMaxMs: 200 });
  await c.connect();
  await freshUser(c);
  let reconnecting = nextState(c, 'reconnecting');
  hub.dropAll(1001);
  await reconnecting;
  const r = await c.request('accounts');
  assert.ok(Array.isArray(r.accounts));
  assert.equal(c.user?.id !== undefined, true, 'still logged in after the reconnect');
  reconnecting = nextState(c, 'reconnecting');
  hub.dropAll(1001);
  await reconnecting;
  const pending = c.request('accounts');
  c.close();
  await assert.rejects(pending, (e) => e.code === 'closed' || e.code === 'disconnected');
});
