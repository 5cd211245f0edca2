"""Fixtures for the browser suite: one real hub for the session (fresh database), browsers on demand."""
from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from browserkit import Page, launch  # noqa: E402
from hubkit import Hub, bankhub_bin  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("filterwarnings", "ignore:connect\\(\\) must be used as a context manager")


def hub_flags(hub: Hub) -> list[str]:
    """Flags that keep a busy test run from tripping the hub's per-address login defences (every browser and
    bot here comes from 127.0.0.1). Only flags this build knows are passed."""
    helptext = hub.serve_flags()
    flags = []
    if "--rate-auth-per-minute" in helptext:
        flags += ["--rate-auth-per-minute", "2000"]
    if "--rate-hash-per-minute" in helptext:
        flags += ["--rate-hash-per-minute", "2000"]
    return flags


@pytest.fixture(scope="session")
def hub():
    if not os.path.exists(bankhub_bin()):
        pytest.exit(f"{bankhub_bin()} is missing: build it with `swift build --product bankhub`", returncode=2)
    h = Hub()
    h.extra_args = hub_flags(h)
    h.start()
    yield h
    h.stop()


@pytest.fixture
def fresh_hub():
    """A hub of its own (for tests that kill and restart it)."""
    h = Hub()
    h.extra_args = hub_flags(h)
    h.start()
    yield h
    h.kill()


@pytest.fixture
def browser():
    """browser(base_url, width=, height=, dark=) -> Page; every browser is closed after the test, and any
    JavaScript error or CSP violation in its console fails the test."""
    opened: list[Page] = []

    def make(base_url: str, **kw) -> Page:
        page = Page(launch(**kw), base_url)
        opened.append(page)
        return page

    yield make
    problems = []
    for page in opened:
        for msg in page.severe_logs():
            # A refused WebSocket while the hub is down (restart test) is expected noise, not a page bug.
            if "WebSocket connection to" in msg or "Failed to load resource" in msg:
                continue
            problems.append(msg)
        page.d.quit()
    assert not problems, "browser console errors:\n" + "\n".join(problems)
