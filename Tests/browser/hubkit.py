"""Test kit for the browser suite: the REAL hub as a subprocess, a protocol client over real WebSockets,
and a Selenium page helper that finds controls by their visible names.

Nothing here fakes the server: every test talks to `bankhub serve` started from the build.
"""
from __future__ import annotations

import itertools
import json
import os
import re
import sqlite3
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from websockets.sync.client import connect as ws_connect

ROOT = Path(__file__).resolve().parents[2]
LISTEN_RE = re.compile(r"bankhub listening on http://127\.0\.0\.1:(\d+)")
_names = itertools.count(1)


def unique(prefix: str) -> str:
    """A username nobody else in this run uses (3-32 of a-z 0-9 _ . -)."""
    return f"{prefix}{os.getpid() % 10000}x{next(_names)}"[:32]


def bankhub_bin() -> str:
    return os.environ.get("BANKHUB_BIN") or str(ROOT / ".build" / "debug" / "bankhub")


class Hub:
    """`bankhub serve` on a free port with a fresh database. `restart()` kills it and starts it again on the
    same port and database, as a crash/redeploy would."""

    ADMIN_KEY = "browser-suite-admin-key"

    def __init__(self, extra_args: list[str] | None = None, db: str | None = None):
        self.tmp = tempfile.mkdtemp(prefix="bankhub-browser-")
        self.db = db or os.path.join(self.tmp, "hub.sqlite")
        self.extra_args = extra_args or []
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.log: list[str] = []
        self._log_lock = threading.Lock()
        self._has_outbox: bool | None = None

    # -- process -----------------------------------------------------------------------------------

    def start(self, port: int | None = None) -> "Hub":
        port = self.port if port is None else port
        env = dict(os.environ, BANKHUB_ADMIN_KEY=self.ADMIN_KEY)
        args = [bankhub_bin(), "serve", "--port", str(port), "--db", self.db, "--web", str(ROOT / "web"),
                "--password-iterations", "1000", *self.extra_args]
        deadline = time.time() + 20
        while True:
            self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                         env=env, cwd=ROOT, bufsize=1)
            bound = self._read_port(deadline)
            if bound:
                self.port = bound
                break
            # The old process may still hold the port for a moment after a kill: try again.
            self.proc.kill()
            self.proc.wait()
            if time.time() > deadline:
                raise RuntimeError("bankhub did not start:\n" + "\n".join(self.log[-30:]))
            time.sleep(0.2)
        threading.Thread(target=self._drain, args=(self.proc,), daemon=True).start()
        return self

    def _read_port(self, deadline: float) -> int | None:
        assert self.proc and self.proc.stdout
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                return None
            with self._log_lock:
                self.log.append(line.rstrip("\n"))
            m = LISTEN_RE.search(line)
            if m:
                return int(m.group(1))
        return None

    def _drain(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            with self._log_lock:
                self.log.append(line.rstrip("\n"))

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def restart(self) -> None:
        self.kill()
        self.start(self.port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    # -- command line and database -----------------------------------------------------------------

    def cli(self, *args: str, env: dict | None = None, input: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([bankhub_bin(), *args], capture_output=True, text=True, cwd=ROOT, input=input,
                              env=dict(os.environ, **(env or {})), timeout=60)

    def has_subcommand(self, name: str) -> bool:
        # `bankhub --help` is the default subcommand's (serve) help; `bankhub help` lists the subcommands.
        out = self.cli("help").stdout + self.cli("--help").stdout
        return re.search(rf"^\s+{re.escape(name)}\b", out, re.M) is not None

    def serve_flags(self) -> str:
        return self.cli("serve", "--help").stdout

    def set_role(self, username: str, role: str) -> None:
        """Give a user a staff role. Uses `bankhub admin` when it exists for admins; otherwise the users table
        (read by the hub at login, so do this before the user logs in)."""
        with sqlite3.connect(self.db, timeout=10) as db:
            db.execute("UPDATE users SET role = ? WHERE username = ?", (role, username))

    def outbox(self) -> list[dict]:
        out = self.cli("outbox", "--db", self.db, "--limit", "200", "--json")
        if out.returncode != 0:
            raise RuntimeError(f"bankhub outbox failed: {out.stderr}")
        return [json.loads(line) for line in out.stdout.splitlines() if line.strip().startswith("{")]

    def messages(self) -> list[str]:
        """Messages the hub sent to people, oldest first: from `bankhub outbox --json` when this build has it,
        else from the hub's log (the default `--notify log` sink writes each message there)."""
        if self._has_outbox is None:
            self._has_outbox = self.has_subcommand("outbox")
        if self._has_outbox:
            msgs = sorted(self.outbox(), key=lambda m: int(m.get("id", 0)))
            return [f"to={m.get('to')} {m.get('subject', '')} {m.get('body', '')}" for m in msgs]
        with self._log_lock:
            return [line for line in self.log if "notify" in line]

    def code_count(self) -> int:
        return len(self.messages())

    def wait_code(self, after: int, needle: str = "", timeout: float = 10) -> str:
        """The 6-digit code in the first message after the first `after` ones that mentions `needle`."""
        end = time.time() + timeout
        while time.time() < end:
            for msg in self.messages()[after:]:
                if needle in msg:
                    m = re.search(r"code is (\d{6})", msg) or re.search(r"\b(\d{6})\b", msg)
                    if m:
                        return m.group(1)
            time.sleep(0.1)
        raise TimeoutError(f"no code mentioning {needle!r} was sent")


class HubError(Exception):
    def __init__(self, code: str, message: str, extra: dict):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.extra = code, message, extra


class Proto:
    """A plain protocol client over a real WebSocket (sync), the way a bot talks to the hub."""

    def __init__(self, hub: Hub):
        self.ws = ws_connect(hub.ws_url, subprotocols=["bankhub.v1"], open_timeout=10)
        self.ids = itertools.count(1)
        self.events: list[dict] = []

    def call(self, op: str, timeout: float = 10, **args):
        rid = next(self.ids)
        self.ws.send(json.dumps({"id": rid, "op": op, "args": args}))
        deadline = time.time() + timeout
        while True:
            msg = json.loads(self.ws.recv(timeout=max(0.01, deadline - time.time())))
            if "event" in msg:
                self.events.append(msg)
                continue
            if msg.get("id") != rid:
                continue
            if msg.get("ok"):
                return msg.get("result", {})
            err = dict(msg.get("error") or {})
            raise HubError(err.pop("code", "internal"), err.pop("message", ""), err)

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:
            pass


def op_available(hub: Hub, op: str, as_role: str = "admin", **args) -> bool:
    """Whether the running hub implements `op`: call it as a user with a role allowed to, and see whether
    the answer is `bad_request` "... not available ..." or "unknown op". Never fakes anything."""
    p = Proto(hub)
    try:
        name = unique("probe")
        p.call("signup", username=name, password="probe-password-1")
        if as_role != "customer":
            hub.set_role(name, as_role)
        p.call("login", username=name, password="probe-password-1")
        try:
            p.call(op, **args)
        except HubError as e:
            if e.code == "bad_request" and ("not available" in e.message or "unknown op" in e.message):
                return False
        return True
    finally:
        p.close()


def make_user(hub: Hub, prefix: str = "cust", role: str = "customer", password: str = "correct-horse-42",
              accounts: list[tuple[str, str]] | None = None, **profile) -> dict:
    """Sign a user up over the protocol (optionally with staff role and funded accounts).
    Sign-up opens the user's first account ("Checking"): it stands for the first of `accounts` (whose name
    is then not used); the others are opened. Returns {username, password, id, accounts: [ids]}."""
    p = Proto(hub)
    try:
        name = unique(prefix)
        signup = p.call("signup", username=name, password=password, **profile)
        user = signup["user"]
        if role != "customer":
            hub.set_role(name, role)
        ids = []
        if accounts:
            p.call("login", username=name, password=password)
            for index, (acct_name, amount) in enumerate(accounts):
                acct = signup["account"] if index == 0 else p.call("open_account", name=acct_name)["account"]
                if amount and amount != "0":
                    p.call("deposit", account=acct["id"], amount=amount, note="Opening deposit")
                ids.append(acct["id"])
            p.call("logout")
        return {"username": name, "password": password, "id": user["id"], "accounts": ids}
    finally:
        p.close()


def logged_in(hub: Hub, user: dict) -> Proto:
    p = Proto(hub)
    p.call("login", username=user["username"], password=user["password"])
    return p
