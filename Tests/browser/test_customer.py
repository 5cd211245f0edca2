"""Customer dashboard in a real browser against the real hub: money moves, live pushes, OTP step-up,
insights, service requests, login history, passwords."""
from __future__ import annotations

import time

import pytest

from hubkit import Hub, HubError, Proto, logged_in, make_user, op_available


def test_transfer_shows_live_on_the_payees_screen(hub, browser):
    payer = make_user(hub, "payer", accounts=[("Everyday", "250.00")], full_name="Paula Payer")
    payee = make_user(hub, "payee", accounts=[("Main", "10.00")], full_name="Pete Payee")
    src, dst = payer["accounts"][0], payee["accounts"][0]

    them = browser(hub.url).open().login(payee)
    them.wait(lambda: them.balance_of(dst) == "$10.00", what="payee balance")
    them.choose_account(dst)
    me = browser(hub.url).open().login(payer)
    me.wait(lambda: me.balance_of(src) == "$250.00", what="payer balance")
    assert "Paula" in me.text("#greeting")

    # Inline validation first: nothing is sent. (The account is chosen: sign-up may have opened another.)
    me.fill("From account", src, "Transfer")
    me.fill("To account", dst, "Transfer")
    me.fill("Amount", "12.345", "Transfer")
    me.click("Send", "Transfer")
    me.wait_text("#tx-amount-error", "2 decimals")
    # An overdraft, in plain words next to the field: not enough money, how much is there, what to do; the
    # error code stays visible in small print for support.
    me.fill("Amount", "9999", "Transfer")
    me.click("Send", "Transfer")
    me.wait_text("#tx-amount-error", "not enough money")
    said = me.text("#tx-amount-error")
    assert "$250.00 is available" in said and "$9,999.00" in said, said
    assert "or less, or move money into it first" in said, said
    assert "code: insufficient_funds" in said and "holds" not in said, said

    me.fill("Amount", "40.5", "Transfer")
    me.fill("Note", "Concert tickets", "Transfer")
    me.click("Send", "Transfer")
    me.wait_text("#tx-success", "Sent $40.50")
    me.wait(lambda: me.balance_of(src) == "$209.50", what="payer balance after")

    # The payee's screen changes by itself: balance (with a flash), live activity and history.
    them.wait(lambda: them.balance_of(dst) == "$50.50", what="payee balance pushed")
    them.wait_text("#activity-list", "Received from")
    them.wait_text("#history-body", "Concert tickets")
    assert "$50.50" in them.text("#accounts-total")


def test_deposit_withdraw_open_account_and_balance_lookup(hub, browser):
    user = make_user(hub, "saver")
    page = browser(hub.url).open().login(user)
    # Sign-up opened the first account.
    page.wait_text("#accounts-list", "Checking")
    page.fill("Nickname", "Rainy day")
    page.click("Open account")
    page.wait_text("#accounts-list", "Rainy day")
    # The new account is the one chosen in the forms.
    new_id = page.wait(lambda: page.d.execute_script(
        "return [...document.querySelectorAll('#accounts-list button')].find((b) => b.textContent.includes('Rainy day'))?.dataset.account"),
        what="new account's number")
    page.wait(lambda: page.control("Account", "Deposit or withdraw").get_attribute("value") == new_id, what="account chosen")
    page.fill("Amount", "1,250.5", "Deposit or withdraw")
    page.click("Deposit", "Deposit or withdraw")
    page.wait_text("#dw-success", "Deposited $1,250.50")
    page.fill("Amount", "50", "Deposit or withdraw")
    page.click("Withdraw", "Deposit or withdraw")
    page.wait_text("#dw-success", "Withdrew $50.00")
    page.wait_text("#accounts-total", "$1,200.50")
    page.wait_text("#history-body", "Withdrawal")
    page.click("Look up balance")
    page.wait_text("#balance-at-result", "$1,200.50")
    # Insights follow the account: money in and out of this month.
    page.wait_text("#ins-in", "+$1,250.50")
    page.wait_text("#ins-out", "$50.00")


def test_otp_prompt_on_every_open_screen_and_the_pending_transfer_resolves_live(hub, browser):
    payer = make_user(hub, "bigpayer", accounts=[("Everyday", "5000.00")], email="big@example.com")
    payee = make_user(hub, "bigpayee", accounts=[("Main", "0")])
    src, dst = payer["accounts"][0], payee["accounts"][0]
    origin = browser(hub.url).open().login(payer)
    other = browser(hub.url).open().login(payer)
    other.wait(lambda: other.balance_of(src) == "$5,000.00", what="second screen ready")
    time.sleep(0.3)  # let the second screen finish subscribing to user:ID
    sent_before = hub.code_count()

    origin.fill("From account", src, "Transfer")
    origin.fill("To account", dst, "Transfer")
    origin.fill("Amount", "1500", "Transfer")
    origin.click("Send", "Transfer")
    # The prompt shows on both screens: the one that sent, and the other one through the `otp` event.
    for page in (origin, other):
        page.region("Confirm it's you")
        page.wait(lambda page=page: page.visible("#otp-dialog"), what="OTP dialog")
    assert "$1,500.00" in origin.text("#otp-summary")
    assert "1500.00" in other.text("#otp-summary")
    code = hub.wait_code(sent_before, "1500.00")

    # A wrong code on the other screen is refused there, with the dialog still open.
    wrong = "000000" if code != "000000" else "111111"
    other.fill("Verification code", wrong, "Confirm it's you")
    other.click("Verify", "Confirm it's you")
    other.wait_text("#otp-error", "not right")
    assert origin.balance_of(src) == "$5,000.00"

    other.fill("Verification code", code, "Confirm it's you")
    other.click("Verify", "Confirm it's you")
    # Both screens settle: dialogs close, balances move, and the sending screen reports the transfer.
    for page in (origin, other):
        page.wait(lambda page=page: not page.visible("#otp-dialog"), what="dialog closed")
        page.wait(lambda page=page: page.balance_of(src) == "$3,500.00", what="balance after OTP")
    origin.wait_text("#tx-success", "Sent $1,500.00")
    assert "another screen" in origin.text("#tx-success")

    p = logged_in(hub, payee)
    try:
        assert next(a for a in p.call("accounts")["accounts"] if a["id"] == dst)["balance"] == "1500.00"
    finally:
        p.close()


def test_otp_confirmed_on_the_sending_screen(hub, browser):
    payer = make_user(hub, "wpayer", accounts=[("Everyday", "3000.00")])
    page = browser(hub.url).open().login(payer)
    src = payer["accounts"][0]
    sent_before = hub.code_count()
    page.fill("Account", src, "Deposit or withdraw")
    page.fill("Amount", "1200", "Deposit or withdraw")
    page.click("Withdraw", "Deposit or withdraw")
    page.wait(lambda: page.visible("#otp-dialog"), what="OTP dialog")
    code = hub.wait_code(sent_before, "1200.00")
    page.fill("Verification code", code, "Confirm it's you")
    page.click("Verify", "Confirm it's you")
    page.wait_text("#dw-success", "Withdrew $1,200.00")
    page.wait(lambda: page.balance_of(src) == "$1,800.00", what="balance after withdrawal")


def test_service_requests_login_history_and_change_password(hub, browser):
    if not op_available(hub, "requests", as_role="customer"):
        pytest.skip("op requests not in the hub yet")
    user = make_user(hub, "svc", accounts=[("Old savings", "0")])
    page = browser(hub.url).open().login(user)
    page.go("Services & security")
    page.region("Service requests")
    page.fill("Request type", "account_closure", "New service request")
    page.fill("Account to close", user["accounts"][0], "New service request")
    page.fill("Details", "I am moving abroad", "New service request")
    page.click("Submit request", "New service request")
    page.wait_text("#req-success", "sent")
    page.wait_text("#req-list", "Account closure")
    assert "Pending" in page.text("#req-list")
    page.click("Cancel request")
    page.wait_text("#req-list", "Cancelled")

    # Login history: the browser's own sign-in is listed.
    page.wait_text("#lh-body", "Signed in")
    assert "Chrome" in page.text("#lh-body")

    # Change password: a wrong current password is an error on that field and keeps the session.
    other = logged_in(hub, user)
    page.fill("Current password", "not-my-password", "Change password")
    page.fill("New password", "brand-new-pass-1", "Change password")
    page.fill("Confirm new password", "brand-new-pass-1", "Change password")
    page.click("Change password", "Change password")
    page.wait_text("#pw-old-error", "not your current password")
    assert page.visible("#app-shell")
    page.fill("Current password", user["password"], "Change password")
    page.click("Change password", "Change password")
    page.wait_text("#pw-success", "Password changed")
    assert page.visible("#app-shell")
    # The other session is revoked; the new password works.
    with pytest.raises(Exception):
        other.call("accounts")
    other.close()
    p = Proto(hub)
    try:
        p.call("login", username=user["username"], password="brand-new-pass-1")
    finally:
        p.close()


def test_forgot_and_reset_password(hub, browser):
    user = make_user(hub, "forget", email="forget@example.com")
    page = browser(hub.url).open()
    page.click("Forgot your password?")
    sent_before = hub.code_count()
    page.fill("Username", user["username"], "Reset your password")
    page.click("Send code", "Reset your password")
    page.wait_text("#forgot-success", "code is on its way")
    code = hub.wait_code(sent_before)
    page.fill("Code", code, "Set a new password")
    page.fill("New password", "a-fresh-password-9", "Set a new password")
    page.click("Reset password", "Set a new password")
    page.wait_text("#auth-notice", "password was changed")
    page.login({"username": user["username"], "password": "a-fresh-password-9"})


def totp_now(secret: str, at: float | None = None) -> str:
    """RFC 6238 (SHA-1, 6 digits, 30 s), as the hub and authenticator apps compute it."""
    import base64
    import hashlib
    import hmac
    import struct
    key = base64.b32decode(secret.replace(" ", "").upper() + "=" * (-len(secret.replace(" ", "")) % 8))
    counter = int((time.time() if at is None else at) // 30)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    return f"{(struct.unpack('>I', mac[off:off + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def test_two_step_sign_in_with_an_authenticator_app(hub, browser):
    user = make_user(hub, "totp")
    page = browser(hub.url).open().login(user)
    page.go("Services & security")
    page.click("Set up authenticator app")
    page.wait(lambda: page.text("#totp-secret"), what="secret shown")
    secret = page.text("#totp-secret")
    assert page.d.find_element("id", "totp-uri").get_attribute("href").startswith("otpauth://")
    page.fill("Authenticator code", "000000" if totp_now(secret) != "000000" else "111111", "Confirm authenticator app")
    page.click("Turn on", "Confirm authenticator app")
    page.wait_text("#totp-code-error", "does not match")
    # The hub takes each time step once (and one step of clock drift): confirm with the previous step's code
    # so the current one is still fresh for the log-in below.
    page.fill("Authenticator code", totp_now(secret, time.time() - 30), "Confirm authenticator app")
    page.click("Turn on", "Confirm authenticator app")
    page.wait_text("#totp-success", "Two-step sign-in is on")

    page.click("Log out")
    page.wait(lambda: page.visible("#auth-view"), what="logged out")
    page.fill("Username", user["username"], "Log in or sign up")
    page.fill("Password", user["password"], "Log in or sign up")
    page.click("Log in", "Log in or sign up")
    page.wait_text("#auth-totp-error", "authenticator app")
    page.fill("Authenticator code", totp_now(secret), "Log in or sign up")
    page.click("Log in", "Log in or sign up")
    page.wait(lambda: page.visible("#app-shell"), what=f"signed in with password and code ({page.text('#auth-error')} {page.text('#auth-totp-error')})")
