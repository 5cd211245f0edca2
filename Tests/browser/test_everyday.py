"""Everyday banking in a real browser against the real hub (issue 11): payees, savings goals, standing orders,
the profile form, monthly statements with the CSV download, sign-up's first account and an initial deposit.

Each test skips only when the hub it runs against does not offer the op yet (`bad_request` "not available");
the hub is never faked."""
from __future__ import annotations

import csv
import io
import os
import tempfile
import time

import pytest

from hubkit import Proto, logged_in, make_user, op_available, unique

_offered: dict[str, bool] = {}


def need(hub, *ops: str) -> None:
    """Skip unless the running hub implements every op in `ops`."""
    for op in ops:
        if op not in _offered:
            _offered[op] = op_available(hub, op, as_role="customer")
        if not _offered[op]:
            pytest.skip(f"op {op} not in the hub yet")


def progress_of(page, goal_name: str) -> int:
    """The value (per mille of the target) of a goal card's progress bar, found by the card's name."""
    return int(page.d.execute_script("""
      const card = [...document.querySelectorAll('#goals-list li')].find((li) =>
        li.querySelector('.goal-name')?.textContent === arguments[0]);
      return card ? card.querySelector('progress').value : -1;""", goal_name))


def test_payees_add_use_save_rename_remove_live_on_a_second_tab(hub, browser):
    need(hub, "payees", "payee_add")
    me = make_user(hub, "payer", accounts=[("Everyday", "100.00")])
    mum = make_user(hub, "mum", accounts=[("Main", "0")])
    landlord = make_user(hub, "landlord", accounts=[("Rent", "0")])
    src, mum_acct, landlord_acct = me["accounts"][0], mum["accounts"][0], landlord["accounts"][0]

    other = browser(hub.url).open().login(me)      # a second tab of the same customer
    other.go("Payments")
    other.region("Payees")
    tab = browser(hub.url).open().login(me)
    tab.go("Payments")
    # The user's own account is not a payee: said before anything is sent.
    tab.fill("Account number", src, "Add a payee")
    tab.fill("Nickname", "Me", "Add a payee")
    tab.click("Add payee", "Add a payee")
    tab.wait_text("#payee-account-error", "one of your own accounts")
    tab.fill("Account number", mum_acct, "Add a payee")
    tab.fill("Nickname", "Mum", "Add a payee")
    tab.click("Add payee", "Add a payee")
    tab.wait_text("#payees-list", "Mum")
    other.wait_text("#payees-list", "Mum")             # live, from the `payee` event

    # The transfer form offers the payee by nickname.
    tab.go("Accounts")
    tab.fill("From account", src, "Transfer")
    tab.fill("Payee", mum_acct, "Transfer")
    assert tab.control("To account", "Transfer").get_attribute("value") == mum_acct
    tab.fill("Amount", "5", "Transfer")
    tab.click("Send", "Transfer")
    tab.wait_text("#tx-success", "Sent $5.00 to Mum (account")
    assert not tab.visible("#save-payee-form"), "a payee is not offered again"

    # A transfer to a new account offers "Save as payee".
    tab.fill("To account", landlord_acct, "Transfer")
    tab.fill("Amount", "7.50", "Transfer")
    tab.click("Send", "Transfer")
    tab.wait_text("#tx-success", "Sent $7.50")
    tab.region("Save as payee")
    tab.fill("Payee nickname", "Landlord", "Save as payee")
    tab.click("Save as payee", "Save as payee")
    tab.wait_text("#tx-success", "Saved Landlord")
    other.wait_text("#payees-list", "Landlord")

    # Rename and remove, each followed live by the other tab.
    tab.go("Payments")
    tab.click("Rename Mum", "Payees")
    tab.fill("New nickname", "Mother", "Rename Mum")
    tab.click("Save", "Rename Mum")
    tab.wait_text("#payees-list", "Mother")
    other.wait_text("#payees-list", "Mother")
    tab.click("Remove Landlord", "Payees")
    tab.wait(lambda: "Landlord" not in tab.text("#payees-list"), what="payee removed")
    other.wait(lambda: "Landlord" not in other.text("#payees-list"), what="removal pushed to the other tab")
    assert "Mother" in other.text("#payees-list")

    bot = logged_in(hub, me)
    try:
        payees = {p["nickname"]: p["account"] for p in bot.call("payees")["payees"]}
        balance = {a["id"]: a["balance"] for a in bot.call("accounts")["accounts"]}[src]
    finally:
        bot.close()
    assert payees == {"Mother": mum_acct}
    assert balance == "87.50"


def test_goal_progress_bar_moves_and_delete_returns_the_money(hub, browser):
    need(hub, "goals", "goal_create")
    user = make_user(hub, "goalie", accounts=[("Everyday", "300.00")])
    src = user["accounts"][0]
    page = browser(hub.url).open().login(user)
    page.wait(lambda: page.balance_of(src) == "$300.00", what="balance")
    page.d.find_element("css selector", "#goal-new summary").click()
    page.fill("Goal name", "Holiday", "New savings goal")
    page.fill("Target", "200", "New savings goal")
    page.fill("Saved from", src, "New savings goal")
    page.click("Create goal", "New savings goal")
    page.wait_text("#goals-list", "Holiday")
    assert progress_of(page, "Holiday") == 0

    page.fill("Amount", "50", "Move money for Holiday")
    page.click("Add money", "Move money for Holiday")
    page.wait(lambda: progress_of(page, "Holiday") == 250, what="bar at a quarter")
    assert "25%" in page.text("#goals-list") and "$50.00 of $200.00" in page.text("#goals-list")
    page.wait(lambda: page.balance_of(src) == "$250.00", what="money left the account")

    # Taking out more than the goal holds: plain words, nothing moves.
    page.fill("Amount", "80", "Move money for Holiday")
    page.click("Take out", "Move money for Holiday")
    page.wait(lambda: "not enough money" in page.text("#goals-list"), what="refusal in plain words")
    said = page.text("#goals-list")
    assert "$50.00 is available" in said and "code: insufficient_funds" in said, said
    assert progress_of(page, "Holiday") == 250

    page.click("Delete goal Holiday")
    page.wait(lambda: "Holiday" not in page.text("#goals-list"), what="goal gone")
    page.wait(lambda: page.balance_of(src) == "$300.00", what="savings back in the account")
    page.wait_text("#goals-success", "$50.00 went back")


def test_standing_order_due_now_is_paid_live(hub, browser):
    need(hub, "orders", "order_create")
    me = make_user(hub, "orderer", accounts=[("Everyday", "40.00")])
    them = make_user(hub, "orderee", accounts=[("Main", "0")])
    src, dst = me["accounts"][0], them["accounts"][0]
    page = browser(hub.url).open().login(me)
    page.wait(lambda: page.balance_of(src) == "$40.00", what="balance")
    page.go("Payments")
    page.fill("From account", src, "New standing order")
    page.fill("To account", dst, "New standing order")
    page.fill("Amount", "7.25", "New standing order")
    page.fill("How often", "day", "New standing order")
    page.fill("Number of payments", "1", "New standing order")
    page.fill("Note", "Pocket money", "New standing order")
    # "First payment" is today by default: the hub pays it within a second or so.
    page.click("Set up standing order", "New standing order")
    page.wait_text("#order-success", "Standing order set up")
    page.wait_text("#orders-log", "Paid $7.25", timeout=15)
    page.wait_text("#orders-list", "1 of 1 paid")
    assert "Finished" in page.text("#orders-list")
    page.go("Accounts")
    page.wait(lambda: page.balance_of(src) == "$32.75", what="balance after the payment")
    page.wait_text("#history-body", "Pocket money")


def test_profile_name_change_and_email_change_with_the_otp_prompt(hub, browser):
    need(hub, "profile", "update_profile")
    user = make_user(hub, "prof", email="prof-old@example.com", full_name="Pat Old")
    page = browser(hub.url).open().login(user)
    page.go("Services & security")
    page.wait(lambda: page.control("Full name", "Your details").get_attribute("value") == "Pat Old", what="profile")
    assert "Two-step sign-in: off" in page.text("#profile-meta")
    page.fill("Full name", "Pat Newname", "Your details")
    page.click("Save details", "Your details")
    page.wait_text("#profile-success", "saved")
    page.wait_text("#session-user", "Pat Newname")

    sent_before = hub.code_count()
    page.fill("Email", "prof-new@example.com", "Your details")
    page.click("Save details", "Your details")
    page.wait(lambda: page.visible("#otp-dialog"), what="OTP prompt for the new email")
    assert "prof-new@example.com" in page.text("#otp-summary")
    code = hub.wait_code(sent_before)
    page.fill("Verification code", code, "Confirm it's you")
    page.click("Verify", "Confirm it's you")
    page.wait_text("#profile-success", "saved")
    bot = logged_in(hub, user)
    try:
        profile = bot.call("profile")
    finally:
        bot.close()
    profile = profile.get("profile", profile.get("user", profile))
    assert profile["email"] == "prof-new@example.com" and profile["full_name"] == "Pat Newname"


def test_statement_figures_and_the_csv_download_match_the_statement(hub, browser):
    need(hub, "statement")
    me = make_user(hub, "stmt", accounts=[("Everyday", "120.00")])
    them = make_user(hub, "stmtpal", accounts=[("Main", "0")])
    src = me["accounts"][0]
    bot = logged_in(hub, me)
    bot.call("withdraw", account=src, amount="20.00", note="Cash, \"quoted\"")
    bot.call("transfer", **{"from": src, "to": them["accounts"][0], "amount": "15.50", "note": "Lunch"})
    month = time.strftime("%Y-%m", time.gmtime())
    statement = bot.call("statement", account=src, month=month)
    bot.close()

    page = browser(hub.url).open().login(me)
    page.choose_account(src)
    page.wait(lambda: page.visible("#statement-figures"), what="statement figures")
    assert page.text("#st-opening") == "$0.00"
    assert page.text("#st-credits") == "+$120.00"
    assert page.text("#st-debits") == "$35.50"
    assert page.text("#st-closing") == "$84.50"
    assert page.text("#st-count") == "3"

    downloads = tempfile.mkdtemp(prefix="bankhub-downloads-")
    page.d.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
    page.click("Download CSV", "Monthly statement")
    page.wait(lambda: page.text("#statement-status").startswith("Downloaded")
              or page.text("#statement-error"), what="download finished")
    if "not available on this hub" in page.text("#statement-error"):
        pytest.skip("the CSV route is not in the hub yet")
    path = os.path.join(downloads, f"bankhub-{src}-{month}.csv")
    page.wait(lambda: os.path.exists(path), what="downloaded file")
    with open(path, newline="", encoding="utf-8") as f:
        text = f.read()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["txn"] for r in rows] == [e["txn"] for e in statement["entries"]]
    assert [r["amount"] for r in rows] == [e["amount"] for e in statement["entries"]]
    assert [r["balance"] for r in rows] == [e["balance_after"] for e in statement["entries"]]
    assert rows[1]["description"].endswith('Cash, "quoted"')


def test_sign_up_shows_the_first_account_and_open_with_an_initial_deposit(hub, browser):
    need(hub, "payees")  # the first account ships with the everyday-banking hub
    page = browser(hub.url).open()
    name = unique("newbie")
    page.fill("Username", name, "Log in or sign up")
    page.fill("Password", "a-long-password-1", "Log in or sign up")
    page.click("Sign up", "Log in or sign up")
    page.wait(lambda: page.visible("#app-shell"), what="signed in after sign-up")
    page.wait_text("#accounts-welcome", "Your Checking account")
    page.wait_text("#accounts-list", "Checking")

    page.fill("Nickname", "Rainy day")
    page.fill("Initial deposit", "50", "Open account")
    page.click("Open account")
    page.wait_text("#accounts-welcome", "with $50.00")
    page.wait_text("#accounts-list", "Rainy day")
    page.wait_text("#accounts-total", "$50.00")
    p = Proto(hub)
    try:
        p.call("login", username=name, password="a-long-password-1")
        accounts = {a["name"]: a["balance"] for a in p.call("accounts")["accounts"]}
    finally:
        p.close()
    assert accounts == {"Checking": "0.00", "Rainy day": "50.00"}
