"""Quality bars for the web client: CSP-clean code, labels, keyboard, themes, phone widths, and insights
drawn from the hub's own data (a `--demo` hub has six months of history)."""
from __future__ import annotations

import re
import time
import urllib.request
from datetime import datetime
from pathlib import Path

import pytest
from selenium.webdriver.common.keys import Keys

from hubkit import ROOT, Hub, logged_in, make_user

WEB = ROOT / "web"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def test_no_inline_code_no_cdn_no_framework():
    html = [p for p in WEB.rglob("*.html")]
    js = [p for p in WEB.rglob("*.js")]
    assert html and js
    for p in html:
        text = p.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), f"inline script in {p}"
        assert not re.search(r"<style\b", text), f"inline style block in {p}"
        assert not re.search(r"\sstyle=", text), f"style attribute in {p}"
        assert not re.search(r"\son[a-z]+=", text), f"inline handler in {p}"
        assert not re.search(r"(src|href)=\"(https?:)?//", text), f"external resource in {p}"
    for p in js:
        text = p.read_text()
        for bad in (r"\.innerHTML\b", r"\.outerHTML\b", r"insertAdjacentHTML", r"\beval\(", r"new Function\(",
                    r"setAttribute\(\s*['\"]style", r"\.style\.", r"https?://(?!www\.w3\.org/2000/svg)"):
            assert not re.search(bad, text), f"{bad} in {p}"
        assert not re.search(r"^\s*import .* from ['\"](?!\.)", text, re.M), f"bare (package) import in {p}"


def test_hub_serves_the_page_under_its_csp(hub):
    with urllib.request.urlopen(hub.url) as r:
        assert r.status == 200
        assert r.headers.get("Content-Security-Policy") == CSP
        assert "BankHub" in r.read().decode()


def visible_unlabelled(page) -> list[str]:
    return page.d.execute_script("""
      return [...document.querySelectorAll('input, select, textarea')].filter((el) =>
        el.type !== 'hidden' && el.getClientRects().length > 0 &&
        !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
        .map((el) => el.id || el.name);""")


def test_keyboard_login_labels_and_themes(hub, browser):
    user = make_user(hub, "keys", accounts=[("Main", "1.00")])
    page = browser(hub.url).open()
    assert visible_unlabelled(page) == []
    # The first Tab stop is the skip link; the form is usable with the keyboard alone.
    body = page.d.find_element("css selector", "body")
    body.send_keys(Keys.TAB)
    assert page.d.execute_script("return document.activeElement.className") == "skip-link"
    page.control("Username").click()
    page.d.switch_to.active_element.send_keys(user["username"], Keys.TAB, user["password"], Keys.ENTER)
    page.wait(lambda: page.visible("#app-shell"), what="signed in with Enter")
    admin = make_user(hub, "keysadm", role="admin")
    page.click("Log out")
    page.wait(lambda: page.visible("#auth-view"), what="logged out")
    page.login(admin)
    for route in ("#/", "#/payments", "#/services", "#/staff", "#/admin"):
        page.d.get(hub.url + route)
        page.wait(lambda: page.visible("#app-shell"), what=route)
        assert visible_unlabelled(page) == [], route
        # Moving between pages puts focus on the page heading (announced by screen readers).
    page.go("Accounts")
    page.wait(lambda: page.d.execute_script("return document.activeElement.tagName") == "H1", what="focus on h1")
    # Live regions exist for pushed changes.
    assert page.d.execute_script("return document.querySelectorAll('[aria-live]').length") >= 4

    # Light and dark themes: the toggle flips the palette and says which is on.
    bg = lambda: page.d.execute_script("return getComputedStyle(document.body).backgroundColor")  # noqa: E731
    before = bg()
    theme_button = page.button("Dark theme")
    pressed = theme_button.get_attribute("aria-pressed")
    theme_button.click()
    page.wait(lambda: bg() != before, what="palette change")
    assert page.button("Dark theme").get_attribute("aria-pressed") != pressed


@pytest.fixture(scope="module")
def demo_hub():
    h = Hub(extra_args=["--demo"])
    h.start()
    yield h
    h.stop()


def test_insights_chart_matches_the_hubs_history(demo_hub, browser):
    alice = {"username": "alice", "password": "alice-demo-2026"}
    page = browser(demo_hub.url).open().login(alice)
    page.wait(lambda: page.d.execute_script("return document.querySelector('#chart svg .bal-line') !== null"),
              what="balance line")
    days = int(page.d.execute_script("return document.getElementById('chart').dataset.days"))
    assert 150 <= days <= 184
    bars = page.d.execute_script("return document.querySelectorAll('#chart .bar-in').length + ' ' + document.querySelectorAll('#chart .bar-out').length")
    n_in, n_out = map(int, bars.split())
    assert n_in >= 20 and n_out >= 20

    # Money in over the window, computed independently from the hub's history.
    bot = logged_in(demo_hub, alice)
    try:
        acct = bot.call("accounts")["accounts"][0]["id"]
        entries = bot.call("history", account=acct, limit=500)["entries"]
    finally:
        bot.close()
    now = datetime.now()
    m = now.month - 5
    start = datetime(now.year + (m - 1) // 12, (m - 1) % 12 + 1, 1).astimezone()
    cents_in = sum(int(e["amount"].replace(".", "")) for e in entries
                   if not e["amount"].startswith("-") and datetime.fromisoformat(e["at"].replace("Z", "+00:00")) >= start)
    expected = f"+${cents_in // 100:,}.{cents_in % 100:02d}"
    page.wait_text("#ins-in", expected)
    # The same figures as a table by month (the chart's text alternative).
    rows = page.d.execute_script("return document.querySelectorAll('#months-body tr').length")
    assert rows == 6
    assert "money in" in page.d.find_element("id", "chart").get_attribute("aria-label")


def test_every_page_fits_a_360px_phone(demo_hub, browser):
    demo_hub.set_role("bob", "admin")
    page = browser(demo_hub.url, width=360, height=780, dark=True).open()
    page.login({"username": "bob", "password": "bob-demo-2026"})
    for route in ("#/", "#/payments", "#/services", "#/staff", "#/admin"):
        page.d.get(demo_hub.url + route)
        page.wait(lambda: page.visible("#app-shell"), what=route)
        page.wait(lambda: page.text("#conn-text") == "Live", what="connected")
        width = page.d.execute_script("return document.documentElement.scrollWidth")
        assert width <= 360, f"{route} is {width}px wide at 360px"


def hub_error_codes() -> list[str]:
    """The raw values of BankCore's ErrorCode, in order."""
    swift = (ROOT / "Sources" / "BankCore" / "BankError.swift").read_text()
    body = swift[swift.index("enum ErrorCode"):]
    body = body[:body.index("\n}")]
    return re.findall(r'case \w+ = "([a-z_]+)"', body)


def documented_error_codes() -> list[str]:
    text = (ROOT / "docs" / "protocol.md").read_text()
    section = text[text.index("\n## Errors"):]
    section = section[:section.index("\n## ", 1)]
    return re.findall(r"^\| `([a-z_]+)` \|", section, re.M)


def test_every_error_code_reads_as_plain_words(hub, browser):
    codes = hub_error_codes()
    assert len(codes) >= 17 and set(documented_error_codes()) <= set(codes)
    page = browser(hub.url).open()
    page.d.set_script_timeout(10)
    listed, said = page.d.execute_async_script("""
      const done = arguments[arguments.length - 1];
      import('./js/messages.js').then((m) => done([m.HUB_CODES, arguments[0].concat(m.CLIENT_CODES).map((code) =>
        [code, m.describe({ code, message: 'hub words' }), m.codeOf({ code })])]));
    """, codes)
    assert listed == codes, "web/js/messages.js HUB_CODES must list BankCore's ErrorCode"
    for code, text, shown in said:
        assert text and "Something went wrong" not in text or code == "internal", (code, text)
        assert code not in text and "hub words" not in text or code == "bad_request", (code, text)
        assert shown == (None if code == "cancelled" else code)


def test_idle_sign_in_page_rests_after_4001_and_logs_in(browser):
    """The hub closes a connection that stays anonymous (4001). The sign-in page does not reconnect in a loop:
    it rests, and the next action (logging in) opens a new connection by itself."""
    quick = Hub(extra_args=["--anonymous-seconds", "2", "--rate-auth-per-minute", "2000",
                            "--rate-hash-per-minute", "2000"]).start()
    try:
        user = make_user(quick, "idle", accounts=[("Main", "1.00")])
        page = browser(quick.url).open()
        page.wait(lambda: page.d.find_element("css selector", "#conn").get_attribute("data-state") == "dormant",
                  timeout=15, what="the page rests after the hub closed its idle connection")
        time.sleep(2.5)  # no reconnect loop while it rests
        assert page.d.find_element("css selector", "#conn").get_attribute("data-state") == "dormant"
        page.login(user)
        page.wait(lambda: page.visible("#app-shell"), what="signed in on a new connection")
    finally:
        quick.stop()
