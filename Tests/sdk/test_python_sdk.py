"""The Python SDK (clients/python) against a real hub: calls, typed errors, and a subscription that survives a
hub restart with no gap and no duplicate."""
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

import bankhub
from hubkit import ROOT, Hub, make_user


@pytest.fixture
def hub():
    h = Hub().start()
    yield h
    h.stop()


def test_call_returns_results_and_raises_typed_errors(hub):
    user = make_user(hub, accounts=[("Checking", "10.00")])

    async def run():
        async with bankhub.connect(hub.ws_url) as client:
            with pytest.raises(bankhub.Error) as refused:
                await client.call("accounts")
            assert refused.value.code == "unauthorized"
            login = await client.login(user["username"], user["password"])
            assert client.token == login["token"]
            accounts = (await client.call("accounts"))["accounts"]
            assert [a["id"] for a in accounts] == user["accounts"]
            with pytest.raises(bankhub.Error) as overdraft:
                await client.call("withdraw", {"account": user["accounts"][0], "amount": "99.00"})
            assert overdraft.value.code == "insufficient_funds"
            with pytest.raises(bankhub.Error) as bad:
                await client.call("deposit", {"account": user["accounts"][0], "amount": 5})
            assert bad.value.code == "invalid_amount" and bad.value.data.get("field") == "amount"

    asyncio.run(run())


def test_subscription_resumes_across_a_hub_restart_without_gap_or_duplicate(hub):
    user = make_user(hub, accounts=[("Checking", "1.00")])
    account = user["accounts"][0]
    stream = f"account:{account}"

    async def deposit(n: int, tag: str) -> None:
        async with bankhub.connect(hub.ws_url) as other:
            await other.login(user["username"], user["password"])
            for i in range(n):
                await other.call("deposit", {"account": account, "amount": "1.00", "idempotency_key": f"{tag}-{i}"})

    async def run():
        seen = []
        async with bankhub.connect(hub.ws_url, backoff_initial=0.05, backoff_max=0.5) as client:
            await client.login(user["username"], user["password"])
            events = client.subscribe(stream, since=0)
            # The opening deposit (2 events: balance + the deposit's transfer-less balance) replays first.
            seen.append(await asyncio.wait_for(events.__anext__(), 10))
            await deposit(5, "before")
            while len([e for e in seen if e["event"] == "balance"]) < 6:
                seen.append(await asyncio.wait_for(events.__anext__(), 10))
            await asyncio.get_running_loop().run_in_executor(None, hub.restart)  # kill -9, start again
            await deposit(5, "after")
            while len([e for e in seen if e["event"] == "balance"]) < 11:
                seen.append(await asyncio.wait_for(events.__anext__(), 20))
            await events.aclose()
        return seen

    seen = asyncio.run(run())
    seqs = [e["seq"] for e in seen]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), f"gap or duplicate: {seqs}"
    balances = [e["data"]["balance"] for e in seen if e["event"] == "balance"]
    assert balances[-1] == "11.00"


def test_a_call_in_flight_when_the_hub_dies_fails_as_disconnected(hub):
    user = make_user(hub, accounts=[("Checking", "1.00")])

    async def run():
        async with bankhub.connect(hub.ws_url, backoff_initial=0.05, backoff_max=0.5) as client:
            await client.login(user["username"], user["password"])
            os.kill(hub.proc.pid, signal.SIGSTOP)  # the hub stops answering, then dies
            call = asyncio.create_task(client.call("accounts", timeout=20))
            await asyncio.sleep(0.2)
            os.kill(hub.proc.pid, signal.SIGKILL)
            with pytest.raises(bankhub.Error) as dropped:
                await call
            assert dropped.value.code == "disconnected"
            hub.proc.wait()
            await asyncio.get_running_loop().run_in_executor(None, hub.start)
            # The client reconnected and authenticated by itself: a new call works without logging in again.
            deadline = time.time() + 45  # the restart itself can take seconds on a loaded machine
            while True:
                try:
                    return await client.call("accounts", timeout=5)
                except bankhub.Error as error:
                    if error.code not in ("disconnected", "timeout") or time.time() > deadline:
                        raise

    result = asyncio.run(run())
    assert result["accounts"][0]["id"] == user["accounts"][0]


def run_example(args: list[str], timeout: float = 30) -> subprocess.Popen:
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)


def test_balance_alert_example_alerts_below_the_threshold_across_a_hub_restart(hub):
    user = make_user(hub, accounts=[("Checking", "150.00")])
    account = user["accounts"][0]
    bot = run_example([sys.executable, "examples/python/balance_alert.py", "--url", hub.ws_url, "--user",
                       user["username"], "--password", user["password"], "--account", account, "--below", "100.00",
                       "--count", "2"])
    wait_for_line(bot, "watching account")
    from hubkit import logged_in
    p = logged_in(hub, user)
    p.call("withdraw", account=account, amount="20.00")   # 130.00: fine
    wait_for_line(bot, "ok account")
    hub.restart()   # kill -9 and start again: the bot reconnects, re-authenticates and resumes by itself
    p = logged_in(hub, user)
    p.call("withdraw", account=account, amount="50.00")   # 80.00: alert
    out, _ = bot.communicate(timeout=30)
    assert f"ALERT account {account} balance 80.00 is below 100.00" in out


def test_auto_sweep_example_moves_only_the_excess_once(hub):
    user = make_user(hub, accounts=[("Checking", "100.00"), ("Savings", "0")])
    source, target = user["accounts"]
    bot = run_example([sys.executable, "examples/python/auto_sweep.py", "--url", hub.ws_url, "--user",
                       user["username"], "--password", user["password"], "--from", source, "--to", target,
                       "--keep", "100.00", "--count", "2"])
    wait_for_line(bot, "sweeping account")
    from hubkit import logged_in
    p = logged_in(hub, user)
    p.call("deposit", account=source, amount="25.50")
    p.call("deposit", account=source, amount="4.50")
    out, _ = bot.communicate(timeout=20)
    assert out.count("swept") >= 1, out
    balances = {a["id"]: a["balance"] for a in p.call("accounts")["accounts"]}
    assert balances == {source: "100.00", target: "30.00"}, (balances, out)


def test_node_threat_monitor_example_prints_live_threats(hub):
    version = subprocess.run(["node", "--version"], capture_output=True, text=True) if shutil.which("node") else None
    if version is None or version.returncode != 0:
        pytest.skip("node is not installed")
    major, minor = (int(part) for part in version.stdout.strip().lstrip("v").split(".")[:2])
    if (major, minor) < (20, 10):
        pytest.skip(f"node {version.stdout.strip()} has no WebSocket (needs 20.10+)")
    admin = make_user(hub, prefix="adm", role="admin")
    victim = make_user(hub, prefix="vic")
    bot = run_example(["node", "--experimental-websocket", "examples/js/threat_monitor.mjs", "--url", hub.ws_url,
                       "--user", admin["username"], "--password", admin["password"], "--count", "1"])
    wait_for_line(bot, "watching admin:threats")
    from hubkit import HubError, Proto
    p = Proto(hub)
    for _ in range(3):   # the third failure in the window raises a brute_force threat
        with pytest.raises(HubError):
            p.call("login", username=victim["username"], password="wrong-password-1")
    out, _ = bot.communicate(timeout=20)
    assert "THREAT" in out and victim["username"] in out, out


def wait_for_line(proc: subprocess.Popen, needle: str, timeout: float = 20) -> None:
    deadline = time.time() + timeout
    lines = []
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if needle in line:
            return
    proc.kill()
    raise AssertionError(f"{needle!r} not printed:\n" + "".join(lines))
