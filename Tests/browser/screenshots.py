#!/usr/bin/env python3
"""Screenshots of the three consoles against a real `bankhub serve --demo` (six months of history), with live
activity made over the protocol first: customer dashboard (with savings goals), payments (payees and standing
orders), employee console, admin threat monitor.

    BANKHUB_BIN=.build/debug/bankhub python3 Tests/browser/screenshots.py [--out docs/screenshots]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

from browserkit import Page, launch  # noqa: E402
from hubkit import ROOT, Hub, HubError, Proto  # noqa: E402

DEMO = {name: {"username": name, "password": f"{name}-demo-2026"} for name in ("alice", "bob", "erin", "adam")}


def proto_login(hub: Hub, who: str) -> Proto:
    p = Proto(hub)
    p.call("login", **DEMO[who])
    return p


def make_activity(hub: Hub) -> None:
    alice, bob = proto_login(hub, "alice"), proto_login(hub, "bob")
    a_main = alice.call("accounts")["accounts"][0]["id"]
    b_main = bob.call("accounts")["accounts"][0]["id"]
    alice.call("request_create", kind="limit_increase", note="Please raise my daily transfer limit to $5,000 for a house deposit.")
    bob.call("request_create", kind="kyc_update", note="New home address: 12 Harbour Street, Kingston.")
    alice.call("request_create", kind="account_closure", account=alice.call("accounts")["accounts"][1]["id"],
               note="Moving my savings to a joint account.")
    # A large transfer (held for a code) and a wrong code: threats for the monitor.
    try:
        alice.call("transfer", **{"from": a_main, "to": b_main, "amount": "2400.00"})
    except HubError as e:
        try:
            alice.call("confirm_otp", challenge=e.extra["challenge"], code="000000")
        except HubError:
            pass
    # Brute force on a third customer, then the lock.
    p = Proto(hub)
    p.call("signup", username="carol", password="carol-demo-2026", full_name="Carol Danvers", email="carol@example.com")
    p.close()
    for _ in range(5):
        p = Proto(hub)
        try:
            p.call("login", username="carol", password="guess-123456")
        except HubError:
            pass
        p.close()
    everyday(alice, a_main, b_main)
    alice.close()
    bob.close()


def everyday(alice: Proto, a_main: str, b_main: str) -> None:
    """Payees, savings goals and a standing order for alice (skipped on a hub without them)."""
    try:
        alice.call("payee_add", account=b_main, nickname="Bob (flatmate)")
        goal = alice.call("goal_create", account=a_main, name="Summer holiday", target="1500.00",
                          target_date=time.strftime("%Y-06-30", time.localtime(time.time() + 200 * 86400)))["goal"]
        alice.call("goal_fund", goal=goal["id"], amount="420.00", idempotency_key="shot-goal-1")
        bike = alice.call("goal_create", account=a_main, name="New bike", target="350.00")["goal"]
        alice.call("goal_fund", goal=bike["id"], amount="350.00", idempotency_key="shot-goal-2")
        start = time.strftime("%Y-%m-%dT09:00:00Z", time.gmtime(time.time() + 86400))
        alice.call("order_create", **{"from": a_main, "to": b_main, "amount": "450.00", "every": "month",
                                      "start": start, "note": "Rent share"})
        alice.call("order_create", **{"from": a_main, "to": b_main, "amount": "12.50", "every": "week",
                                      "start": start, "count": 8, "note": "Dog walking"})
    except HubError as e:
        print("everyday banking not shown:", e)


def shoot(hub: Hub, out: str, who: str, route: str, name: str, width=1280, height=900, dark=False, prepare=None,
          full_page=False):
    page = Page(launch(width, height, dark), hub.url)
    try:
        page.open()
        page.login(DEMO[who])
        if route:
            page.d.get(hub.url + route)
        page.wait(lambda: page.text("#conn-text") == "Live", what="connected")
        time.sleep(1.2)
        if prepare:
            prepare(page)
        page.d.execute_script("window.scrollTo(0, 0); document.activeElement && document.activeElement.blur()")
        time.sleep(0.3)
        path = os.path.join(out, name)
        page.screenshot(path, full_page=full_page)
        print("wrote", path)
    finally:
        page.d.quit()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    hub = Hub(extra_args=["--demo"]).start()
    try:
        make_activity(hub)

        def customer(page: Page) -> None:
            # A payment arrives while the dashboard is open: live activity and a flashing balance.
            bob = proto_login(hub, "bob")
            alice = proto_login(hub, "alice")
            a_main = alice.call("accounts")["accounts"][0]["id"]
            bob.call("transfer", **{"from": bob.call("accounts")["accounts"][0]["id"], "to": a_main,
                                    "amount": "48.20", "note": "Concert tickets"})
            bob.close()
            alice.close()
            page.wait_text("#activity-list", "Received from")

        def employee(page: Page) -> None:
            page.fill("Search customers", "a", "Search customers")
            page.click("Search", "Search customers")
            page.wait_text("#cust-list", "Alice")

        def admin(page: Page) -> None:
            page.wait_text("#threat-feed", "failed logins")
            page.fill("Admin key", hub.ADMIN_KEY)
            page.d.find_element("css selector", "#threat-feed li[data-kind=large_transfer] button").click()
            time.sleep(0.5)

        def payments(page: Page) -> None:
            page.wait_text("#payees-list", "Bob")
            page.wait_text("#orders-list", "Rent share")
            # A payment made now by a standing order shows in "Latest payments".
            alice = proto_login(hub, "alice")
            accounts = alice.call("accounts")["accounts"]
            try:
                alice.call("order_create", **{"from": accounts[0]["id"], "to": accounts[1]["id"], "amount": "25.00",
                                              "every": "week", "start": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                              "note": "Weekly savings"})
                page.wait_text("#orders-log", "Paid $25.00", timeout=15)
            except HubError as e:
                print("standing order not shown:", e)
            alice.close()

        shoot(hub, args.out, "alice", "", "customer-dashboard.png", prepare=customer)
        shoot(hub, args.out, "alice", "#/payments", "customer-payments.png", prepare=payments, full_page=True)
        shoot(hub, args.out, "erin", "#/staff", "employee-console.png", prepare=employee)
        shoot(hub, args.out, "adam", "#/admin", "admin-threat-monitor.png", prepare=admin)
        shoot(hub, args.out, "alice", "", "customer-dashboard-phone-dark.png", width=390, height=844, dark=True)
    finally:
        hub.stop()


if __name__ == "__main__":
    main()
