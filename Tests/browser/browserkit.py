"""Selenium + headless Chromium, driven the way a person reads the page: controls by their visible label,
buttons by their text, regions by their heading."""
from __future__ import annotations

import os
import shutil
import time

from selenium import webdriver
from selenium.common.exceptions import (StaleElementReferenceException, TimeoutException,
                                        WebDriverException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

CHROMIUM = os.environ.get("CHROMIUM_BIN") or shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_BIN") or shutil.which("chromedriver")

# Finds regions and controls by accessible names, in the page (no ids in the tests' vocabulary).
_FIND_JS = r"""
const norm = (s) => (s || '').replace(/\s+/g, ' ').trim();
const visible = (el) => !!el && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
const nameOf = (el) => {
  const ids = el.getAttribute('aria-labelledby');
  if (ids) return norm(ids.split(/\s+/).map((id) => document.getElementById(id)?.textContent).join(' '));
  return norm(el.getAttribute('aria-label'));
};
window.__bh = {
  scope(name) {
    if (!name) return document;
    const all = [...document.querySelectorAll('section, form, dialog, [role=region], [role=dialog], nav')];
    return all.find((s) => visible(s) && nameOf(s) === name) || null;
  },
  control(label, scope) {
    const root = this.scope(scope);
    if (!root) return null;
    for (const l of root.querySelectorAll('label')) {
      if (norm(l.textContent) === label && l.control && visible(l.control)) return l.control;
    }
    for (const el of root.querySelectorAll('input, select, textarea')) {
      if (visible(el) && nameOf(el) === label) return el;
    }
    return null;
  },
  button(text, scope) {
    const root = this.scope(scope);
    if (!root) return null;
    return [...root.querySelectorAll('button, a[href]')].find((b) =>
      visible(b) && (norm(b.textContent) === text || norm(b.getAttribute('aria-label')) === text)) || null;
  },
};
"""


def launch(width: int = 1280, height: int = 900, dark: bool = False) -> webdriver.Chrome:
    opts = webdriver.ChromeOptions()
    if CHROMIUM:
        opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-extensions", "--disable-background-timer-throttling",
                "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows",
                f"--window-size={width},{height}", "--hide-scrollbars", "--force-device-scale-factor=1"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=CHROMEDRIVER) if CHROMEDRIVER else Service()
    driver = webdriver.Chrome(options=opts, service=service)
    # The page's viewport is exactly width x height (the window's own chrome would take some of it).
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
    if dark:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia",
                               {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    return driver


class Page:
    def __init__(self, driver: webdriver.Chrome, base_url: str):
        self.d = driver
        self.base = base_url

    def open(self, hash_: str = "") -> "Page":
        self.d.get(self.base + hash_)
        self.wait_state("open")
        return self

    # -- finding --------------------------------------------------------------------------------------

    def _js(self, expr: str, *args):
        return self.d.execute_script(_FIND_JS + "\nreturn (" + expr + ");", *args)

    def region(self, name: str, timeout: float = 10):
        return self.wait(lambda: self._js("window.__bh.scope(arguments[0])", name), timeout,
                         f"region named {name!r}")

    def control(self, label: str, scope: str | None = None, timeout: float = 10):
        return self.wait(lambda: self._js("window.__bh.control(arguments[0], arguments[1])", label, scope),
                         timeout, f"control labelled {label!r} in {scope!r}")

    def button(self, text: str, scope: str | None = None, timeout: float = 10):
        return self.wait(lambda: self._js("window.__bh.button(arguments[0], arguments[1])", text, scope),
                         timeout, f"button {text!r} in {scope!r}")

    # -- acting ---------------------------------------------------------------------------------------

    def fill(self, label: str, value: str, scope: str | None = None) -> None:
        el = self.control(label, scope)
        if el.tag_name == "select":
            sel = Select(el)
            try:
                sel.select_by_value(value)
            except Exception:
                sel.select_by_visible_text(value)
            return
        el.clear()
        el.send_keys(value)

    def click(self, text: str, scope: str | None = None) -> None:
        def attempt():
            b = self._js("window.__bh.button(arguments[0], arguments[1])", text, scope)
            if not b or not b.is_enabled():
                return None
            try:
                b.click()
            except (StaleElementReferenceException, WebDriverException):
                return None
            return True
        self.wait(attempt, 10, f"clickable button {text!r} in {scope!r}")

    # -- waiting and reading --------------------------------------------------------------------------

    def wait(self, fn, timeout: float = 10, what: str = "condition"):
        end = time.time() + timeout
        last_exc = None
        while time.time() < end:
            try:
                v = fn()
                if v:
                    return v
            except StaleElementReferenceException as e:
                last_exc = e
            time.sleep(0.05)
        raise TimeoutException(f"timed out after {timeout}s waiting for {what}" + (f" ({last_exc})" if last_exc else ""))

    def text(self, css: str) -> str:
        """The element's text content (as a screen reader gets it: no CSS text-transform), spaces collapsed."""
        return self.d.execute_script(
            "const el = document.querySelector(arguments[0]);"
            "return el ? el.textContent.replace(/\\s+/g, ' ').trim() : '';", css)

    def wait_text(self, css: str, needle: str, timeout: float = 10) -> str:
        return self.wait(lambda: needle in self.text(css) and self.text(css), timeout,
                         f"{needle!r} in {css} (now {self.text(css)!r})")

    def wait_state(self, state: str, timeout: float = 15) -> None:
        self.wait(lambda: self.d.execute_script("return document.getElementById('conn').dataset.state") == state,
                  timeout, f"connection state {state}")

    def visible(self, css: str) -> bool:
        els = self.d.find_elements(By.CSS_SELECTOR, css)
        return bool(els) and els[0].is_displayed()

    def login(self, user: dict) -> "Page":
        self.fill("Username", user["username"], "Log in or sign up")
        self.fill("Password", user["password"], "Log in or sign up")
        self.click("Log in", "Log in or sign up")
        self.wait(lambda: self.visible("#app-shell"), 15, "the signed-in app")
        return self

    def go(self, nav_text: str) -> None:
        self.click(nav_text, "Main")

    def choose_account(self, account_id: str) -> None:
        """Click an account in the Accounts list (its history, insights and statement are then shown)."""
        def attempt():
            els = self.d.find_elements(By.CSS_SELECTOR, f'#accounts-list button[data-account="{account_id}"]')
            if not els:
                return None
            els[0].click()
            return els[0].get_attribute("aria-current") == "true"
        self.wait(attempt, 10, f"account {account_id} chosen")

    def balance_of(self, account_id: str) -> str:
        return self.text(f'[data-balance-of="{account_id}"]')

    def severe_logs(self) -> list[str]:
        try:
            logs = self.d.get_log("browser")
        except Exception:
            return []
        return [e["message"] for e in logs if e.get("level") == "SEVERE"]

    def screenshot(self, path: str, full_page: bool = False) -> None:
        if not full_page:
            self.d.save_screenshot(path)
            return
        import base64
        m = self.d.execute_cdp_cmd("Page.getLayoutMetrics", {})
        size = m["cssContentSize"]
        shot = self.d.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}})
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
