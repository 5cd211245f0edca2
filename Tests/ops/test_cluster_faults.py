"""Faults across hubs, as processes (issue 14, docs/scaling.md "What happens on each fault"): real `bankhub serve
--database … --bus …` hubs on one throwaway PostgreSQL and one real nats-server, driven by real WebSocket clients.

- kill -9 of one hub of three on one port (`--reuse-port`) under load: its clients reconnect to the same address,
  `auth` with their token, resume their account stream with `since` and retry the transfer that got no reply
  with the same idempotency key;
- nats-server stopped for 5 s: pushes on one hub go on live, the other hub's subscriber keeps up from the
  database (the head check) and gets everything in order, and pushes go over the bus again once it is back;
- PostgreSQL stopped and started under load: the hubs answer `unavailable` meanwhile and recover by themselves.
- kill -9 of the hub holding the receipt cursor: the other hub records the next receipts once the killed hub's
  heartbeat has passed (about 5 s), not after the cursor's 120 s lease.

After each of the three under load: every transfer that got an ok reply is in the ledger exactly once (with the txn id of its reply),
there is no other, balances are what the replies add up to and all balances sum to zero, and every stream a
client followed was seen without a gap and without a duplicate.
"""
from __future__ import annotations

import asyncio
import glob
import itertools
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from hubkit import LISTEN_RE, ROOT, bankhub_bin

PG_BINS = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
NATS_SERVER = shutil.which("nats-server")
pytestmark = pytest.mark.skipif(not PG_BINS or not NATS_SERVER,
                                reason="needs PostgreSQL and nats-server (scripts/setup --tests installs them)")

PASSWORD = "cluster-faults-42"
OPENING_CENTS = 500_00          # each customer's opening deposit
TRANSFER_CENTS_MAX = 50         # transfers of 0.01-0.50: no customer can run out within a test
TRANSFERS_PER_CUSTOMER_MAX = 600


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def amount(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def wait_until(predicate, timeout: float, what: str, step: float = 0.1):
    """Polls `predicate` until it returns something truthy (returned) or `timeout` passes (AssertionError)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


# -- the processes --------------------------------------------------------------------------------------------

def as_postgres(*command: str) -> list[str]:
    """PostgreSQL refuses to run as root: run its programs as `postgres` then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.getuid() == 0 else list(command)


class Postgres:
    """A throwaway cluster (initdb in a temporary directory, trust on 127.0.0.1, a free port) that a test can stop
    and start again on the same port and data."""

    def __init__(self):
        self.bin = PG_BINS[-1]
        self.directory = tempfile.mkdtemp(prefix="bankhub-faults-pg-")
        if os.getuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        self.data, self.port = os.path.join(self.directory, "data"), free_port()
        subprocess.run(as_postgres(f"{self.bin}/initdb", "-D", self.data, "-U", "postgres", "-A", "trust",
                                   "--no-sync"), check=True, capture_output=True)
        self.start()

    def start(self) -> None:
        subprocess.run(as_postgres(f"{self.bin}/pg_ctl", "-D", self.data, "-l",
                                   os.path.join(self.directory, "server.log"), "-w", "-t", "30", "-o",
                                   f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
                                   "-c max_connections=200", "start"), check=True, capture_output=True)

    def stop(self, mode: str = "fast") -> None:
        """`fast` ends every session (a COMMIT under way is cut off) and shuts down cleanly."""
        subprocess.run(as_postgres(f"{self.bin}/pg_ctl", "-D", self.data, "-m", mode, "-w", "stop"),
                       check=True, capture_output=True)

    def create_database(self) -> str:
        name = f"bank_{secrets.token_hex(4)}"
        self.sql(f"CREATE DATABASE {name}", database="postgres")
        return name

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def sql(self, statement: str, database: str) -> list[list[str]]:
        out = subprocess.run([f"{self.bin}/psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d",
                              database, "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", statement],
                             check=True, capture_output=True, text=True)
        return [line.split("\t") for line in out.stdout.splitlines() if line]

    def destroy(self) -> None:
        subprocess.run(as_postgres(f"{self.bin}/pg_ctl", "-D", self.data, "-m", "immediate", "stop"),
                       capture_output=True)
        shutil.rmtree(self.directory, ignore_errors=True)


class Nats:
    """A nats-server on a free port, stopped and started again on the same port."""

    def __init__(self):
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen([NATS_SERVER, "-a", "127.0.0.1", "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: self._accepts(), 10, "nats-server to listen")

    def _accepts(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


class ClusterHub:
    """One `bankhub serve --database URL --bus nats://…` process; its output is kept for the failure message."""

    def __init__(self, name: str, database_url: str, nats: Nats, port: int, reuse_port: bool, outbox_worker: bool,
                 keys: dict[str, str]):
        self.name, self.port, self.log = name, port, []
        args = [bankhub_bin(), "serve", "--host", "127.0.0.1", "--port", str(port), "--database", database_url,
                "--bus", nats.url, "--web", str(ROOT / "web"), "--password-iterations", "1000"]
        args += ["--reuse-port"] if reuse_port else []
        args += [] if outbox_worker else ["--no-outbox-worker"]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
                                     env=dict(os.environ, **keys), bufsize=1)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.log.append(line.rstrip("\n"))
            if LISTEN_RE.search(line):
                threading.Thread(target=self._drain, daemon=True).start()
                return
        self.proc.kill()
        raise RuntimeError(f"hub {name} did not start:\n" + "\n".join(self.log[-30:]))

    def _drain(self) -> None:
        for line in self.proc.stdout:
            self.log.append(line.rstrip("\n"))

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def readyz(self) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=5) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def kill9(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.alive:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def tail(self, lines: int = 40) -> str:
        return f"--- hub {self.name} (exit {self.proc.poll()}) ---\n" + "\n".join(self.log[-lines:])

    def socket_inodes(self) -> set[str]:
        """The inodes of the sockets this process holds open (from /proc: which hub took which connection)."""
        inodes = set()
        for fd in os.listdir(f"/proc/{self.proc.pid}/fd"):
            try:
                target = os.readlink(f"/proc/{self.proc.pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        return inodes


class Cluster:
    """Hubs of one fresh database on the module's PostgreSQL, with one nats-server of their own."""

    def __init__(self, postgres: Postgres):
        self.postgres, self.database = postgres, postgres.create_database()
        self.nats = Nats()
        self.keys = {"BANKHUB_CODE_KEY": secrets.token_hex(32), "BANKHUB_BUS_KEY": secrets.token_hex(32)}
        self.hubs: list[ClusterHub] = []

    def start_hubs(self, count: int, one_port: bool) -> list[ClusterHub]:
        """`count` hubs, one after the other (the first migrates the database and runs the outbox worker), on one
        port with `--reuse-port` or on a port each."""
        shared = free_port()
        for n in range(count):
            self.hubs.append(ClusterHub(chr(ord("A") + n), self.postgres.url(self.database), self.nats,
                                        shared if one_port else free_port(), reuse_port=one_port,
                                        outbox_worker=n == 0, keys=self.keys))
        return self.hubs

    def sql(self, statement: str) -> list[list[str]]:
        return self.postgres.sql(statement, self.database)

    def logs(self) -> str:
        return "\n".join(hub.tail() for hub in self.hubs)

    def close(self) -> None:
        for hub in self.hubs:
            hub.stop()
        self.nats.stop()


@pytest.fixture(scope="module")
def postgres():
    server = Postgres()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture
def cluster(postgres):
    """A fresh cluster; the hubs' last log lines are printed at the end (pytest shows them when a test failed)."""
    c = Cluster(postgres)
    try:
        yield c
    finally:
        c.close()
        print(c.logs())


# -- the clients ----------------------------------------------------------------------------------------------

class Dropped(Exception):
    """The connection ended (or stayed silent past the timeout) before the reply came: the outcome is unknown."""


class Link:
    """One WebSocket connection: requests matched to replies by id, events of the followed stream recorded."""

    def __init__(self, ws, on_event):
        self.ws, self.on_event = ws, on_event
        self.pending: dict[int, asyncio.Future] = {}
        self.ids = itertools.count(1)
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                msg = json.loads(raw)
                if "event" in msg:
                    self.on_event(msg)
                    continue
                future = self.pending.pop(msg.get("id"), None)
                if future and not future.done():
                    future.set_result(msg)
        except (WebSocketException, OSError):
            pass
        finally:
            for future in self.pending.values():
                if not future.done():
                    future.set_exception(Dropped())
            self.pending.clear()

    async def request(self, op: str, timeout: float = 15, **args) -> dict:
        """The reply envelope ({ok, result} or {ok: false, error}); Dropped when none came."""
        rid = next(self.ids)
        future = asyncio.get_running_loop().create_future()
        self.pending[rid] = future
        try:
            await self.ws.send(json.dumps({"id": rid, "op": op, "args": args}))
            return await asyncio.wait_for(future, timeout)
        except (WebSocketException, OSError, asyncio.TimeoutError) as e:
            self.pending.pop(rid, None)
            await self.close()
            raise Dropped() from e

    async def close(self) -> None:
        await self.ws.close()
        await self.reader


@dataclass
class Transfer:
    key: str
    source: str
    to: str
    cents: int
    txn: str
    unreplied: int       # tries that got no reply (connection dropped): retried with the same key
    unavailable: int     # tries answered `unavailable`: retried with the same key
    replayed: bool


@dataclass
class Customer:
    """A signed-up customer whose session survives its hub: it reconnects to the same address, `auth`s with its
    token and resumes its account stream with `since` (the last seq it saw)."""
    url: str
    username: str
    account: str = ""
    token: str = ""
    link: Link | None = None
    head: int = 0                       # the stream's head at the first subscribe
    seqs: list[int] = field(default_factory=list)
    reconnects: int = 0
    errors: list[tuple[float, str]] = field(default_factory=list)   # (when, code) of every error reply
    transfers: list[Transfer] = field(default_factory=list)

    @property
    def stream(self) -> str:
        return f"account:{self.account}"

    def _event(self, msg: dict) -> None:
        if msg.get("stream") == self.stream and "seq" in msg:
            self.seqs.append(int(msg["seq"]))

    async def _open(self) -> Link:
        self.link = Link(await connect(self.url, subprotocols=["bankhub.v1"], open_timeout=10, ping_interval=None),
                         self._event)
        return self.link

    async def ok(self, op: str, **args) -> dict:
        reply = await self.link.request(op, **args)
        assert reply.get("ok"), f"{self.username} {op}: {reply}"
        return reply["result"]

    async def sign_up(self, opening_cents: int) -> None:
        await self._open()
        self.account = (await self.ok("signup", username=self.username, password=PASSWORD))["account"]["id"]
        self.token = (await self.ok("login", username=self.username, password=PASSWORD))["token"]
        await self.ok("deposit", account=self.account, amount=amount(opening_cents),
                      idempotency_key=f"{self.username}-opening")
        self.head = int((await self.ok("subscribe", stream=self.stream))["head"])

    async def resume(self, timeout: float = 30) -> None:
        """Reconnects to the same address until `auth` and `subscribe … since` both succeed."""
        deadline = time.monotonic() + timeout
        self.reconnects += 1
        while True:
            try:
                link = await self._open()
                auth = await link.request("auth", token=self.token)
                if auth.get("ok"):
                    since = self.seqs[-1] if self.seqs else self.head
                    if (await link.request("subscribe", stream=self.stream, since=since)).get("ok"):
                        return
                await link.close()
            except (Dropped, OSError, asyncio.TimeoutError, WebSocketException):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.username} could not resume on {self.url} within {timeout} s")
            await asyncio.sleep(0.2)

    async def transfer(self, key: str, to: str, amount_cents: int, timeout: float = 40) -> Transfer:
        """A transfer retried with the same key until it gets an ok reply: after a drop (resuming first) and after
        `unavailable`. Any other error fails the test."""
        deadline = time.monotonic() + timeout
        unreplied = unavailable = 0
        while True:
            assert time.monotonic() < deadline, f"{key} got no ok reply within {timeout} s"
            try:
                reply = await self.link.request("transfer", **{"from": self.account}, to=to,
                                                amount=amount(amount_cents), idempotency_key=key)
            except Dropped:
                unreplied += 1
                await self.resume()
                continue
            if reply.get("ok"):
                result = reply["result"]
                done = Transfer(key, self.account, to, amount_cents, result["txn"]["id"], unreplied, unavailable,
                                bool(result.get("replayed")))
                self.transfers.append(done)
                return done
            code = reply["error"]["code"]
            self.errors.append((time.monotonic(), code))
            assert code == "unavailable", f"{key}: {reply['error']}"
            unavailable += 1
            await asyncio.sleep(0.1)

    async def pay_until(self, others: list[str], stop: asyncio.Event, rng: random.Random) -> None:
        """Transfers to the others, one in flight at a time, until `stop` is set."""
        for n in range(TRANSFERS_PER_CUSTOMER_MAX):
            if stop.is_set():
                return
            await self.transfer(f"{self.username}-t{n}", rng.choice(others), rng.randint(1, TRANSFER_CENTS_MAX))

    async def close(self) -> None:
        if self.link:
            await self.link.close()


async def head_of(url: str, customer: Customer) -> int:
    """The stream's head as a new connection of the customer's session sees it."""
    async with connect(url, subprotocols=["bankhub.v1"], open_timeout=10) as ws:
        link = Link(ws, lambda _: None)
        assert (await link.request("auth", token=customer.token)).get("ok")
        reply = await link.request("subscribe", stream=customer.stream)
        assert reply.get("ok"), reply
        return int(reply["result"]["head"])


async def sign_up_all(urls: list[str], prefix: str) -> list[Customer]:
    """One customer per URL, each with an opening deposit and its account stream followed."""
    tag = secrets.token_hex(2)
    customers = [Customer(url, f"{prefix}{tag}x{n}") for n, url in enumerate(urls)]
    for c in customers:
        await c.sign_up(OPENING_CENTS)
    return customers


# -- the checks -----------------------------------------------------------------------------------------------

def assert_ledger_matches_replies(cluster: Cluster, customers: list[Customer]) -> None:
    """Every acknowledged transfer is in the ledger once, with its reply's txn id, and there is no other;
    each balance is the opening deposit plus what the replies add up to; all balances sum to zero (double entry)
    and each equals the sum of its postings."""
    acked = {t.key: t for c in customers for t in c.transfers}
    accounts = [c.account for c in customers]
    rows = cluster.sql("SELECT t.idempotency_key, t.id, t.amount, t.debit_account, t.credit_account "
                       f"FROM transactions t WHERE t.kind = 'transfer' AND t.debit_account IN ({','.join(accounts)})")
    keys = [row[0] for row in rows]
    assert len(keys) == len(set(keys)), "a key moved money twice"
    assert set(keys) == set(acked), (f"in the ledger without an ok reply: {sorted(set(keys) - set(acked))[:5]}; "
                                     f"acknowledged but missing: {sorted(set(acked) - set(keys))[:5]}")
    for key, txn, amount_cents, debit, credit in rows:
        t = acked[key]
        assert (txn, int(amount_cents), {debit, credit}) == (t.txn, t.cents, {t.source, t.to}), (key, t)

    expected = {c.account: OPENING_CENTS for c in customers}
    for t in acked.values():
        expected[t.source] -= t.cents
        expected[t.to] += t.cents
    balances = {row[0]: int(row[1]) for row in cluster.sql(
        f"SELECT id, balance FROM accounts WHERE id IN ({','.join(accounts)})")}
    assert balances == expected
    assert cluster.sql("SELECT sum(balance) FROM accounts") == [["0"]]
    assert cluster.sql("SELECT count(*) FROM accounts a WHERE a.balance <> "
                       "(SELECT coalesce(sum(p.amount), 0) FROM postings p WHERE p.account_id = a.id)") == [["0"]]


async def assert_streams_whole(customers: list[Customer], check_url: dict[str, str] | None = None,
                               timeout: float = 20) -> None:
    """Each customer saw its account stream from the first subscribe's head to the stream's head now, every seq
    once and in order (waiting for what is still on its way)."""
    for c in customers:
        final = await head_of((check_url or {}).get(c.username, c.url), c)
        deadline = time.monotonic() + timeout
        while (c.seqs[-1] if c.seqs else c.head) < final and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert c.seqs == list(range(c.head + 1, final + 1)), (
            f"{c.stream}: seen {len(c.seqs)} events, expected {c.head + 1}..{final}; "
            f"gaps/duplicates near {[s for a, s in zip(c.seqs, c.seqs[1:]) if s != a + 1][:5]}")


# -- the tests ------------------------------------------------------------------------------------------------

def test_kill_9_of_one_hub_under_load_loses_no_acknowledged_transfer(cluster):
    """Three hubs share one port. Nine customers pay each other, one transfer in flight each; the hub holding the
    most of their connections is killed with SIGKILL. Its customers reconnect to the same address (landing on
    the others), `auth`, resume with `since` and retry their unanswered transfer with the same key."""
    hubs = cluster.start_hubs(3, one_port=True)
    url = f"ws://127.0.0.1:{hubs[0].port}/ws"

    async def run():
        customers = await sign_up_all([url] * 9, "kill")
        victim = max(hubs, key=lambda hub: len(holders(hub, customers)))
        on_victim = holders(victim, customers)
        assert on_victim, "no customer reached any hub?"
        stop, rng = asyncio.Event(), random.Random(9)
        accounts = [c.account for c in customers]
        load = [asyncio.create_task(c.pay_until([a for a in accounts if a != c.account], stop, rng))
                for c in customers]
        await wait_for_transfers(customers, 5 * len(customers))
        victim.kill9()
        killed_at = sum(len(c.transfers) for c in customers)
        await asyncio.sleep(3)
        stop.set()
        await asyncio.gather(*load)
        assert sum(len(c.transfers) for c in customers) > killed_at, "no transfer after the kill"
        # The victim's customers noticed and came back on the same address; nobody else had to.
        assert {c.username for c in customers if c.reconnects} == {c.username for c in on_victim}
        # Each of them had a transfer cut off without a reply, retried with its key (checked in the ledger below).
        assert all(any(t.unreplied for t in c.transfers) for c in on_victim)
        assert sum(len(holders(hub, customers)) for hub in hubs if hub is not victim) == len(customers)
        await assert_streams_whole(customers)
        for c in customers:
            await c.close()
        return customers, victim

    customers, victim = asyncio.run(run())
    assert [hub.alive for hub in hubs] == [hub is not victim for hub in hubs], cluster.logs()
    assert_ledger_matches_replies(cluster, customers)
    retried = [t for c in customers for t in c.transfers if t.unreplied]
    print(f"kill -9: {sum(len(c.transfers) for c in customers)} transfers, {sum(c.reconnects for c in customers)} "
          f"reconnects, {len(retried)} retried after no reply ({sum(t.replayed for t in retried)} replayed)")


async def assert_first_try_works(url: str, customer: Customer) -> None:
    """On a new connection: `login` (the sign-in reader, a session written), `accounts` on each general reader and
    `history` are answered ok at the first try: no connection of the hub is left broken by the outage."""
    async with connect(url, subprotocols=["bankhub.v1"], open_timeout=10) as ws:
        link = Link(ws, lambda _: None)
        calls = [("login", {"username": customer.username, "password": PASSWORD})]
        calls += [("accounts", {})] * 3 + [("history", {"account": customer.account})]
        for op, args in calls:
            reply = await link.request(op, **args)
            assert reply.get("ok"), f"{op} on {url} after PostgreSQL came back: {reply}"


def holders(hub: ClusterHub, customers: list[Customer]) -> list[Customer]:
    """The customers whose current connection this hub accepted (matched by socket inode through /proc)."""
    if not hub.alive:
        return []
    inodes = hub.socket_inodes()
    by_port = tcp_inodes_by_peer_port(hub.port)
    return [c for c in customers
            if by_port.get(c.link.ws.local_address[1]) in inodes]


def tcp_inodes_by_peer_port(server_port: int) -> dict[int, str]:
    """Server-side sockets of `server_port` on 127.0.0.1, keyed by the client's port (from /proc/net/tcp)."""
    found = {}
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if int(local.split(":")[1], 16) == server_port and inode != "0":
                found[int(remote.split(":")[1], 16)] = inode
    return found


async def wait_for_transfers(customers: list[Customer], count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while sum(len(c.transfers) for c in customers) < count:
        assert time.monotonic() < deadline, f"fewer than {count} transfers within {timeout} s"
        await asyncio.sleep(0.05)


def test_nats_stopped_for_5_s_pushes_across_hubs_go_on_from_the_database_without_a_gap(cluster):
    """Hubs A and B, one customer paying from A with a screen on A and one on B. nats-server stops for 5 s while
    the customer keeps paying: the screen on A follows live and B's /readyz says `bus_disconnected`; the screen on
    B keeps up through B's head check (the streams it follows read from the database every 250 ms), so it is
    late by about half a second at most, never for the whole outage, and sees every event in order. Once
    nats-server is back, /readyz is 200 again and live pushes across hubs go on over the bus."""
    a, b = cluster.start_hubs(2, one_port=False)
    url_a, url_b = f"ws://127.0.0.1:{a.port}/ws", f"ws://127.0.0.1:{b.port}/ws"

    async def run():
        payer, payee = await sign_up_all([url_a, url_b], "nats")
        screen_a, screen_b = Customer(url_a, payer.username), Customer(url_b, payer.username)
        for screen in (screen_a, screen_b):
            screen.account, screen.token, screen.head = payer.account, payer.token, payer.head
            await screen.resume()          # auth with the payer's token, subscribe since the payer's head
        screens, n = [payer, screen_a, screen_b], itertools.count()

        async def pay(count: int) -> None:
            for _ in range(count):
                await payer.transfer(f"{payer.username}-t{next(n)}", payee.account, 1)

        async def caught_up(screen: Customer, seq: int, timeout: float) -> bool:
            deadline = time.monotonic() + timeout
            while (screen.seqs[-1] if screen.seqs else screen.head) < seq and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            return (screen.seqs[-1] if screen.seqs else screen.head) >= seq

        await pay(3)
        assert await caught_up(screen_b, payer.seqs[-1], 10), "no live push across hubs before the outage"
        before = payer.seqs[-1]

        cluster.nats.stop()
        outage = time.monotonic()
        await asyncio.to_thread(wait_until, lambda: b.readyz()[1].get("status") == "bus_disconnected", 10,
                                "B's /readyz to say bus_disconnected")
        while time.monotonic() - outage < 5:
            await pay(1)
            assert await caught_up(screen_a, payer.seqs[-1], 5), "a push on the same hub stalled without the bus"
            await asyncio.sleep(0.1)
        during = payer.seqs[-1]
        assert during > before and await caught_up(screen_b, during, 5), (
            f"B's screen stopped at {screen_b.seqs[-1]} of {during} while the bus was down (the head check)")

        cluster.nats.start()
        await asyncio.to_thread(wait_until, lambda: b.readyz()[0] == 200, 10, "B's /readyz to be 200 again")
        await pay(3)
        assert await caught_up(screen_b, payer.seqs[-1], 10), "no live push across hubs after the outage"
        await assert_streams_whole([payee, *screens])
        for c in [payee, *screens]:
            await c.close()
        return payer, payee

    payer, payee = asyncio.run(run())
    assert a.alive and b.alive, cluster.logs()
    assert_ledger_matches_replies(cluster, [payer, payee])


def test_postgresql_restart_answers_unavailable_then_the_hubs_recover_by_themselves(cluster):
    """Hubs A and B, two paying customers on each. PostgreSQL stops (`pg_ctl stop -m fast`: sessions ended, a
    COMMIT under way cut off) for 4 s under load and starts again on the same port: meanwhile both hubs answer
    `unavailable` (nothing else, no connection dropped, no hub exits); afterwards transfers on both hubs succeed
    again without any restart of a hub, and the retried keys are in the ledger once."""
    a, b = cluster.start_hubs(2, one_port=False)
    url_a, url_b = f"ws://127.0.0.1:{a.port}/ws", f"ws://127.0.0.1:{b.port}/ws"

    async def run():
        customers = await sign_up_all([url_a, url_a, url_b, url_b], "pg")
        stop, rng = asyncio.Event(), random.Random(4)
        accounts = [c.account for c in customers]
        load = [asyncio.create_task(c.pay_until([x for x in accounts if x != c.account], stop, rng))
                for c in customers]
        await wait_for_transfers(customers, 5 * len(customers))
        await asyncio.to_thread(cluster.postgres.stop)
        down_at = time.monotonic()
        await asyncio.sleep(1)
        for c in (customers[0], customers[2]):       # on each hub: a read on an open session, beside its transfers,
            reply = await c.link.request("accounts")
            assert reply.get("error", {}).get("code") == "unavailable", f"accounts on {c.url} while down: {reply}"
            async with connect(c.url, subprotocols=["bankhub.v1"], open_timeout=10) as ws:   # and a sign-in
                reply = await Link(ws, lambda _: None).request("auth", token=c.token)
                assert reply.get("error", {}).get("code") == "unavailable", f"auth on {c.url} while down: {reply}"
        await asyncio.sleep(3)
        await asyncio.to_thread(cluster.postgres.start)
        up_at = time.monotonic()
        recovered = {c.username: len(c.transfers) for c in customers}
        await wait_for_transfers(customers, sum(recovered.values()) + len(customers))
        for url in (url_a, url_b):
            await assert_first_try_works(url, customers[0])
        await asyncio.sleep(2)
        stop.set()
        await asyncio.gather(*load)
        for c in customers:
            assert any(down_at <= when <= up_at for when, code in c.errors), (
                f"{c.username} on {c.url} got no `unavailable` while PostgreSQL was down")
            assert len(c.transfers) > recovered[c.username], f"{c.username} on {c.url} did not recover"
            assert c.reconnects == 0, f"{c.username}'s connection to {c.url} dropped"
        await assert_streams_whole(customers)
        for c in customers:
            await c.close()
        return customers

    customers = asyncio.run(run())
    assert a.alive and b.alive, cluster.logs()
    assert_ledger_matches_replies(cluster, customers)
    unavailable = sum(t.unavailable for c in customers for t in c.transfers)
    print(f"PostgreSQL restart: {sum(len(c.transfers) for c in customers)} transfers, {unavailable} `unavailable` "
          f"answers retried")


def test_kill_9_of_the_hub_holding_the_receipt_cursor_receipts_resume_on_the_other_in_seconds(cluster):
    """Hubs A and B, both with the outbox worker. A is frozen (SIGSTOP) as if in the middle of a pass, with the
    receipt cursor claimed in its name for 120 s, and then killed (SIGKILL). A deposit on B gets past the receipt
    cursor (its receipt recorded by B) once A's heartbeat has passed: within seconds of the freeze, far inside
    the lease."""
    url = cluster.postgres.url(cluster.database)
    a = ClusterHub("A", url, cluster.nats, free_port(), reuse_port=False, outbox_worker=True, keys=cluster.keys)
    cluster.hubs.append(a)
    b = ClusterHub("B", url, cluster.nats, free_port(), reuse_port=False, outbox_worker=True, keys=cluster.keys)
    cluster.hubs.append(b)
    holder_a = wait_until(lambda: cluster.sql(f"SELECT holder FROM hub_heartbeats WHERE holder LIKE '%:{a.proc.pid}:%'"),
                          10, "hub A's heartbeat")[0][0]
    assert len(cluster.sql("SELECT holder FROM hub_heartbeats")) == 2, "one heartbeat per hub"

    os.kill(a.proc.pid, signal.SIGSTOP)
    frozen_at = time.monotonic()
    cluster.sql(f"UPDATE receipt_cursor SET claimed_by = '{holder_a}', "
                "claimed_until = (extract(epoch FROM now()) * 1000)::bigint + 120000 WHERE id = 1")
    a.kill9()
    asyncio.run(sign_up_all([f"ws://127.0.0.1:{b.port}/ws"], "receipt"))   # an opening deposit on B

    def behind() -> int:
        return int(cluster.sql("SELECT count(*) FROM transactions t JOIN receipt_cursor c ON c.id = 1 "
                               "WHERE (t.commit_order, t.id) > (c.last_commit_order, c.last_transaction_id)")[0][0])
    wait_until(lambda: behind() == 0, 30, "B to take the receipt cursor of the killed hub")
    waited = time.monotonic() - frozen_at
    print(f"receipts resumed on B {waited:.1f} s after hub A froze (heartbeat 5 s, lease 120 s)")
    assert waited < 15, f"{waited:.1f} s: the lease, not the heartbeat?"
    assert cluster.sql(f"SELECT count(*) FROM receipt_cursor WHERE claimed_by = '{holder_a}'") == [["0"]]
