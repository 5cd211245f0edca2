"""Employee console and admin threat monitor in a real browser against the real hub."""
from __future__ import annotations

import pytest

from hubkit import HubError, Proto, logged_in, make_user, op_available


def test_employee_sees_a_new_request_live_and_approves_it(hub, browser):
    if not op_available(hub, "requests", as_role="employee"):
        pytest.skip("op requests not in the hub yet")
    customer = make_user(hub, "asker", accounts=[("Main", "20.00")], full_name="Ada Asker")
    employee = make_user(hub, "clerk", role="employee", full_name="Cleo Clerk")

    staff = browser(hub.url).open().login(employee)
    staff.go("Employee console")
    staff.region("Request queue")
    staff.wait(lambda: "pending" in staff.text("#queue-count"), what="queue loaded")

    me = browser(hub.url).open().login(customer)
    me.go("Services & security")
    me.fill("Request type", "limit_increase", "New service request")
    me.fill("Details", "Please raise my daily limit to $5,000", "New service request")
    me.click("Submit request", "New service request")
    me.wait_text("#req-list", "Pending")

    # The request appears in the employee's queue without a reload.
    staff.wait_text("#queue-list", "raise my daily limit")
    assert customer["username"] in staff.text("#queue-list")
    staff.click("Approve", "Request queue")
    staff.wait(lambda: "raise my daily limit" not in staff.text("#queue-list"), what="approved request leaves the pending queue")

    # ... and the customer's own screen follows live.
    me.wait_text("#req-list", "Approved")

    # Reject with a reason.
    me.fill("Request type", "kyc_update", "New service request")
    me.fill("Details", "New surname after marriage", "New service request")
    me.click("Submit request", "New service request")
    staff.wait_text("#queue-list", "New surname")
    staff.click("Reject", "Request queue")
    staff.wait(lambda: staff.visible("#reject-dialog"), what="reject dialog")
    staff.click("Reject request")
    staff.wait_text("#reject-reason-error", "reason")
    staff.fill("Reason", "Please bring your marriage certificate to a branch")
    staff.click("Reject request")
    staff.wait(lambda: not staff.visible("#reject-dialog"), what="dialog closed")
    me.wait_text("#req-list", "Rejected")
    me.wait_text("#req-list", "marriage certificate")


def test_employee_searches_customers_and_transactions(hub, browser):
    if not op_available(hub, "customers", as_role="employee"):
        pytest.skip("op customers not in the hub yet")
    customer = make_user(hub, "findme", accounts=[("Holiday fund", "321.00")], full_name="Finn Findme",
                         email="finn@example.com")
    employee = make_user(hub, "teller", role="employee")
    staff = browser(hub.url).open().login(employee)
    staff.go("Employee console")
    staff.fill("Search customers", "Finn Findme", "Search customers")
    staff.click("Search", "Search customers")
    staff.wait_text("#cust-list", f"Checking · No. {customer['accounts'][0]}")
    assert "$321.00" in staff.text("#cust-list")
    assert "finn@example.com" in staff.text("#cust-list")
    staff.click(f"Transactions of {customer['username']}")
    staff.wait_text("#txs-body", "$321.00")
    assert "Opening deposit" in staff.text("#txs-body")
    # Read-only: no buttons that change anything in the search results.
    assert staff.d.execute_script("return document.querySelectorAll('#txs-body button').length") == 0


def test_admin_sees_a_brute_force_alert_live_and_manages_users(hub, browser):
    if not op_available(hub, "threats", as_role="admin"):
        pytest.skip("op threats not in the hub yet")
    admin = make_user(hub, "sec", role="admin", full_name="Sam Security")
    victim = make_user(hub, "target", accounts=[("Main", "5.00")])
    mon = browser(hub.url).open().login(admin)
    mon.go("Threat monitor")
    mon.region("Live threat feed")
    mon.wait(lambda: mon.d.execute_script("return document.querySelector('#threat-counters li') !== null"),
             what="counters")
    before = int(mon.text('[data-count="brute_force"]') or 0)

    # Five failed logins over the protocol: brute_force alerts, then the lock.
    for _ in range(5):
        p = Proto(hub)
        try:
            with pytest.raises(HubError):
                p.call("login", username=victim["username"], password="definitely-wrong")
        finally:
            p.close()
    mon.wait_text("#threat-feed", "failed logins", timeout=10)
    mon.wait(lambda: mon.d.execute_script(
        "return document.querySelector('#threat-feed li.threat.sev-high[data-kind=account_locked]') !== null"),
        what="high-severity lock alert")
    assert mon.d.execute_script("return document.querySelectorAll('#threat-feed li.sev-medium[data-kind=brute_force]').length") >= 3
    mon.wait(lambda: int(mon.text('[data-count="brute_force"]')) >= before + 3, what="brute-force counter")
    assert victim["username"] in mon.text("#threat-feed")

    # Acknowledge needs the admin key: without it the page says so; with it the alert is marked.
    mon.click("Acknowledge", "Live threat feed")
    mon.wait_text("#feed-status", "admin key")
    mon.fill("Admin key", "not-the-key")
    mon.click("Acknowledge", "Live threat feed")
    mon.wait_text("#feed-status", "not accepted")
    mon.fill("Admin key", hub.ADMIN_KEY)
    open_before = mon.d.execute_script("return document.querySelectorAll('#threat-feed li.threat:not(.acked)').length")
    mon.click("Acknowledge", "Live threat feed")
    mon.wait(lambda: mon.d.execute_script(
        "return document.querySelectorAll('#threat-feed li.threat:not(.acked)').length") == open_before - 1,
        what="one threat acknowledged")
    assert "acknowledged by you" in mon.text("#threat-feed")

    # Users table: the victim is locked; unlock, then lock again, with the key kept in memory.
    mon.fill("Search users", victim["username"])
    mon.click("Search", "Search users")
    mon.wait(lambda: mon.text(f'#users-body tr[data-user="{victim["id"]}"]'), what="victim row")
    row = f'#users-body tr[data-user="{victim["id"]}"]'
    mon.wait_text(row, "Locked")
    mon.click(f"Unlock {victim['username']}")
    mon.wait_text(row, "Active")
    # The unlocked customer signs in; locking them again ends their open session (close 1008) on screen.
    theirs = browser(hub.url).open().login(victim)
    mon.click(f"Lock {victim['username']}")
    mon.wait_text(row, "Locked")
    theirs.wait(lambda: theirs.visible("#auth-view"), what="locked user's page signed out")
    theirs.wait_text("#auth-error", "signed out")
    # The audit log records the staff actions.
    mon.wait_text("#audit-list", "lock user")
    assert "unlock user" in mon.text("#audit-list")
    assert "ack threat" in mon.text("#audit-list")
    # The key never reaches storage.
    stored = mon.d.execute_script("return JSON.stringify(Object.assign({}, localStorage, sessionStorage))")
    assert hub.ADMIN_KEY not in stored


def test_staff_pages_are_hidden_from_customers(hub, browser):
    customer = make_user(hub, "plain")
    page = browser(hub.url).open().login(customer)
    nav = page.text("#main-nav")
    assert "Accounts" in nav and "Employee console" not in page.d.execute_script(
        "return [...document.querySelectorAll('#main-nav a')].filter((a) => !a.hidden).map((a) => a.textContent).join()")
    page.d.get(hub.url + "#/admin")
    page.wait(lambda: page.visible("#page-accounts"), what="customer sent back to accounts")
    assert not page.visible("#page-admin")


@pytest.fixture(scope="module")
def journal(hub):
    """A customer with one transaction of each kind (savings goals included), and an employee's console open on
    the Employee page
    (one browser for the filter tests below; console errors fail them, as with the `browser` fixture)."""
    from browserkit import Page, launch
    customer = make_user(hub, "kinds", accounts=[("Main", "80.00")])
    other = make_user(hub, "kindsto", accounts=[("Main", "0")])
    bot = logged_in(hub, customer)
    try:
        bot.call("withdraw", account=customer["accounts"][0], amount="5.00", note="Cash machine")
        bot.call("transfer", **{"from": customer["accounts"][0], "to": other["accounts"][0], "amount": "7.00"})
        goal = bot.call("goal_create", account=customer["accounts"][0], name="Bike", target="100.00")["goal"]
        bot.call("goal_fund", goal=goal["id"], amount="3.00")
        bot.call("goal_withdraw", goal=goal["id"], amount="1.00")
    finally:
        bot.close()
    employee = make_user(hub, "kindclerk", role="employee")
    page = Page(launch(), hub.url).open().login(employee)
    page.go("Employee console")
    yield customer, page
    problems = page.severe_logs()
    page.d.quit()
    assert not problems, "browser console errors:\n" + "\n".join(problems)


@pytest.mark.parametrize("label", ["Deposit", "Withdrawal", "Transfer", "Into a savings goal", "Out of a savings goal"])
def test_employee_transaction_kind_filter_shows_only_that_kind(journal, label):
    customer, staff = journal
    staff.fill("Customer ID", customer["id"], "Search transactions")
    staff.fill("Kind", label, "Search transactions")
    staff.click("Search transactions", "Search transactions")
    kinds = lambda: staff.d.execute_script(  # noqa: E731
        "return [...document.querySelectorAll('#txs-body tr td:nth-child(2)')].map((td) => td.firstChild.textContent)")
    staff.wait(lambda: kinds() == [label], what=f"only the {label} of the customer (now {kinds()}, "
                                                 f"{staff.text('#txs-status')!r})")
    assert staff.text("#txs-status") == "1 transaction shown."
