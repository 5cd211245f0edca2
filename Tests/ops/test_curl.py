"""The HTTP API and server-sent events as a script author meets them: with curl, against the real hub (the
README's examples, in substance). Skipped only where curl is not installed."""
import json
import shutil
import subprocess
import threading

import pytest

from hubkit import Hub, make_user

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


@pytest.fixture(scope="module")
def hub():
    h = Hub().start()
    yield h
    h.stop()


def curl(*args: str, timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run(["curl", "-sS", *args], capture_output=True, text=True, timeout=timeout)


def test_curl_logs_in_moves_money_idempotently_and_reads_statuses(hub):
    user = make_user(hub, "curly", accounts=[("Checking", "50.00")])
    payee = make_user(hub, "curlee", accounts=[("Checking", "0")])
    api = f"http://127.0.0.1:{hub.port}/api/v1"
    login = curl(f"{api}/login", "-H", "Content-Type: application/json",
                 "-d", json.dumps({"username": user["username"], "password": user["password"]}))
    token = json.loads(login.stdout)["result"]["token"]
    auth = ["-H", f"Authorization: Bearer {token}"]
    transfer = ["-H", "Content-Type: application/json", "-H", "Idempotency-Key: curl-order-1", "-d",
                json.dumps({"from": user["accounts"][0], "to": payee["accounts"][0], "amount": "12.50"})]
    first = json.loads(curl(f"{api}/transfer", *auth, *transfer).stdout)
    again = json.loads(curl(f"{api}/transfer", *auth, *transfer).stdout)
    assert first["ok"] and again["result"]["replayed"] is True
    assert again["result"]["txn"]["id"] == first["result"]["txn"]["id"]
    # The status line carries the error: 422 for an overdraft, 401 without a token.
    overdraft = curl("-o", "/dev/null", "-w", "%{http_code}", f"{api}/withdraw", *auth, "-H",
                     "Content-Type: application/json", "-d",
                     json.dumps({"account": user["accounts"][0], "amount": "999999.00"}))
    assert overdraft.stdout == "422"
    anonymous = curl("-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", f"{api}/accounts")
    assert anonymous.stdout == "401"
    balances = json.loads(curl("-X", "POST", f"{api}/accounts", *auth).stdout)["result"]["accounts"]
    assert [a["balance"] for a in balances if a["id"] == user["accounts"][0]] == ["37.50"]


def test_curl_follows_a_stream_and_resumes_with_last_event_id(hub):
    user = make_user(hub, "curlsse", accounts=[("Checking", "1.00")])
    api = f"http://127.0.0.1:{hub.port}/api/v1"
    login = curl(f"{api}/login", "-H", "Content-Type: application/json",
                 "-d", json.dumps({"username": user["username"], "password": user["password"]}))
    token = json.loads(login.stdout)["result"]["token"]
    stream = f"{api}/streams/account:{user['accounts'][0]}"

    def deposit_soon():
        import time
        time.sleep(1.0)
        curl(f"{api}/deposit", "-H", f"Authorization: Bearer {token}", "-H", "Content-Type: application/json",
             "-d", json.dumps({"account": user["accounts"][0], "amount": "2.00"}))

    threading.Thread(target=deposit_soon, daemon=True).start()
    # Resume from 0: the stored events replay, then the live deposit arrives; curl stops after 4 s.
    out = curl("-N", "--max-time", "4", stream, "-H", f"Authorization: Bearer {token}", "-H", "Last-Event-ID: 0",
               timeout=20).stdout
    ids = [int(line[4:]) for line in out.splitlines() if line.startswith("id: ")]
    assert ids == list(range(1, len(ids) + 1)) and len(ids) >= 2, out
    balances = [json.loads(line[6:])["balance"] for line in out.splitlines()
                if line.startswith("data: ") and '"balance"' in line]
    assert balances[0] == "1.00" and balances[-1] == "3.00", out
    # Resuming after the last id seen sends nothing already seen.
    rest = curl("-N", "--max-time", "2", stream, "-H", f"Authorization: Bearer {token}",
                "-H", f"Last-Event-ID: {ids[-1]}", timeout=20).stdout
    assert not [line for line in rest.splitlines() if line.startswith("id: ")], rest
