"""The client library (web/js/bankhub.js) inside a real browser against the real hub: request/reply ids,
typed errors, timeouts, resume with `since` across a hub restart, session restore; and the dashboard
reconnecting after the hub restarts. (These replace the earlier node tests against a stub hub.)"""
from __future__ import annotations

import os
import signal
import time

from hubkit import logged_in, make_user

# Runs in the page: loads the library as the page does and exposes a tiny harness on window.__t.
SETUP_JS = """
const done = arguments[arguments.length - 1];
import('./js/bankhub.js').then((lib) => {
  const mem = new Map();
  window.__t = {
    lib, events: [], states: [],
    storage: { getItem: (k) => mem.get(k) ?? null, setItem: (k, v) => mem.set(k, v), removeItem: (k) => mem.delete(k) },
  };
  done(true);
}).catch((e) => done('load failed: ' + e));
"""


def run(page, body: str, *args):
    """Run an async function body in the page (`t` is window.__t); returns its value or raises."""
    script = """
const done = arguments[arguments.length - 1];
const args = [...arguments].slice(0, -1);
const t = window.__t;
(async () => { %s })().then((v) => done({ ok: true, v }), (e) => done({ ok: false, e: String(e && e.code ? e.code + ': ' + e.message : e) }));
""" % body
    res = page.d.execute_async_script(script, *args)
    assert res["ok"], res.get("e")
    return res["v"]


def open_lib(browser, hub):
    page = browser(hub.url).open()
    page.d.set_script_timeout(30)
    assert page.d.execute_async_script(SETUP_JS) is True
    return page


def test_request_reply_by_id_and_typed_errors(hub, browser):
    user = make_user(hub, "lib", accounts=[("Main", "0")])
    page = open_lib(browser, hub)
    out = run(page, """
      const c = new t.lib.BankHubClient({ storage: t.storage });
      await c.connect();
      await c.login(args[0], args[1]);
      // 40 pipelined deposits: every reply goes back to its own request (replies may come in any order).
      const amounts = Array.from({ length: 40 }, (_, i) => `${i + 1}.0${i % 10}`);
      const replies = await Promise.all(amounts.map((amount) => c.request('deposit', { account: args[2], amount })));
      const matched = replies.every((r, i) => r.txn.amount === (Number(amounts[i].split('.')[0]) + '.' + amounts[i].split('.')[1].padEnd(2, '0')));
      const errors = {};
      for (const [name, op, a] of [
        ['number_amount', 'deposit', { account: args[2], amount: 5 }],
        ['not_found', 'history', { account: '999999' }],
        ['bad_field', 'transfer', { from: args[2], amount: '1.00' }],
        ['unknown_op', 'no_such_op', {}],
        ['same_account', 'transfer', { from: args[2], to: args[2], amount: '1.00' }],
        ['insufficient', 'withdraw', { account: args[2], amount: '100000.00' }],
      ]) {
        try { await c.request(op, a); errors[name] = 'no error'; }
        catch (e) { errors[name] = { cls: e instanceof t.lib.BankHubError, code: e.code, field: e.field ?? null }; }
      }
      const anon = new t.lib.BankHubClient({ storage: null });
      await anon.connect();
      try { await anon.request('accounts'); errors.anonymous = 'no error'; }
      catch (e) { errors.anonymous = { cls: e instanceof t.lib.BankHubError, code: e.code }; }
      anon.close();
      try { await anon.request('accounts'); errors.closed = 'no error'; } catch (e) { errors.closed = e.code; }
      const { accounts } = await c.request('accounts');
      c.close();
      return { matched, errors, balance: accounts.find((a) => a.id === args[2]).balance };
    """, user["username"], user["password"], user["accounts"][0])
    assert out["matched"]
    e = out["errors"]
    assert e["number_amount"]["cls"] and e["number_amount"]["code"] == "invalid_amount"
    assert e["not_found"]["code"] == "not_found"
    assert e["bad_field"]["code"] == "bad_request" and e["bad_field"]["field"] == "to"
    assert e["unknown_op"]["code"] in ("bad_request",) and e["unknown_op"]["field"] == "op"
    assert e["same_account"]["code"] == "same_account"
    assert e["insufficient"]["code"] == "insufficient_funds"
    assert e["anonymous"] == {"cls": True, "code": "unauthorized"}
    assert e["closed"] == "closed"
    # 1.00 + 2.01 + ... : sum of (i+1) + (i%10)/100 for i < 40
    expected = sum(i + 1 for i in range(40)) * 100 + sum(i % 10 for i in range(40))
    assert out["balance"] == f"{expected // 100}.{expected % 100:02d}"


def test_timeout_resume_with_since_across_a_restart_and_session_restore(fresh_hub, browser):
    hub = fresh_hub
    user = make_user(hub, "resume", accounts=[("Main", "1.00")])
    acct = user["accounts"][0]
    page = open_lib(browser, hub)
    run(page, """
      const c = new t.lib.BankHubClient({ storage: t.storage, reconnect: false, timeoutMs: 5000 });
      t.c = c;
      c.on('state', (s) => t.states.push(s));
      await c.connect();
      await c.login(args[0], args[1]);
      await c.subscribe('account:' + args[2], (ev) => t.events.push([ev.seq, ev.event, ev.data.balance ?? null]));
    """, user["username"], user["password"], acct)

    bot = logged_in(hub, user)
    bot.call("deposit", account=acct, amount="1.00")
    page.wait(lambda: run(page, "return t.events.length") >= 1, what="first live event")

    # A hub that stops answering: the request times out (and the client stays usable).
    os.kill(hub.proc.pid, signal.SIGSTOP)
    try:
        err = run(page, """
          try { await t.c.request('accounts', {}, { timeoutMs: 400 }); return 'answered'; }
          catch (e) { return e.code; }
        """)
    finally:
        os.kill(hub.proc.pid, signal.SIGCONT)
    assert err == "timeout"
    bot.close()

    # Kill the hub; money moves while this client is away; it comes back and resumes with `since`.
    last_seq = run(page, "return t.c.lastSeq('account:' + args[0])", acct)
    hub.kill()
    page.wait(lambda: run(page, "return t.c.state") == "closed", what="client sees the close")
    pending = run(page, "try { await t.c.request('accounts'); return 'answered'; } catch (e) { return e.code; }")
    assert pending == "closed"
    hub.start(hub.port)
    bot = logged_in(hub, user)
    for amount in ("2.00", "3.00", "4.00"):
        bot.call("deposit", account=acct, amount=amount)
    bot.close()

    seen_before = run(page, "return t.events.length")
    run(page, "await t.c.connect();")
    page.wait(lambda: run(page, "return t.events.length") >= seen_before + 3, what="replayed events")
    events = run(page, "return t.events")
    seqs = [e[0] for e in events]
    assert seqs == sorted(set(seqs)), f"duplicates or out of order: {seqs}"
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), f"gap: {seqs}"
    assert seqs[-1] > last_seq
    assert [e[2] for e in events if e[1] == "balance"][-1] == "11.00"
    # The session was restored from the stored token (the hub keeps sessions in its database).
    restored = run(page, "return [t.c.user && t.c.user.username, t.c.state]")
    assert restored == [user["username"], "open"]
    # A second client with the same storage restores the session by itself.
    again = run(page, """
      const c2 = new t.lib.BankHubClient({ storage: t.storage });
      await c2.connect();
      const who = c2.user && c2.user.username;
      const { accounts } = await c2.request('accounts');
      c2.close();
      return [who, accounts.find((a) => a.id === args[0]).balance];
    """, user["accounts"][0])
    assert again == [user["username"], "11.00"]
    run(page, "t.c.close()")


def test_dashboard_reconnects_after_the_hub_restarts_and_shows_pushes_again(fresh_hub, browser):
    hub = fresh_hub
    user = make_user(hub, "rebound", accounts=[("Main", "100.00")])
    acct = user["accounts"][0]
    page = browser(hub.url).open().login(user)
    page.wait(lambda: page.balance_of(acct) == "$100.00", what="balance")
    page.choose_account(acct)

    hub.kill()
    page.wait(lambda: page.d.execute_script("return document.getElementById('conn').dataset.state") == "reconnecting",
              what="indicator shows reconnecting")
    assert "Reconnecting" in page.text("#conn-text")
    time.sleep(0.5)
    hub.start(hub.port)
    page.wait_state("open", timeout=20)
    assert page.text("#conn-text") == "Live"
    assert page.visible("#app-shell"), "still signed in after the restart"

    bot = logged_in(hub, user)
    try:
        bot.call("deposit", account=acct, amount="23.45", note="After the restart")
    finally:
        bot.close()
    page.wait(lambda: page.balance_of(acct) == "$123.45", what="pushed balance after reconnect")
    page.wait_text("#history-body", "After the restart")

    # Reloading the page restores the session from the stored token.
    page.d.refresh()
    page.wait(lambda: page.visible("#app-shell"), what="session restored after reload")
    page.wait(lambda: page.balance_of(acct) == "$123.45", what="balance after reload")
