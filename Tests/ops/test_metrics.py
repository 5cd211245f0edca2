"""`--metrics-port`: GET /metrics on a listener of its own, in the Prometheus text format, parsed with the
prometheus_client library's own parser, after real requests over a real WebSocket to the REAL hub."""
import json
import os
import re
import secrets
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from hubkit import LISTEN_RE, ROOT, Hub, HubError, Proto, bankhub_bin
from test_operability import serve

METRICS_RE = re.compile(r"bankhub metrics on http://127\.0\.0\.1:(\d+)/metrics")
PASSWORD = "metrics-password-1"


def scrape(port: int) -> dict:
    """The page as {family name: family}; counters are named without `_total`, as the parser names them."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    return {family.name: family for family in text_string_to_metric_families(text)}


def samples(families: dict, name: str, sample_name: str | None = None) -> list:
    family = families[name]
    return [s for s in family.samples if sample_name is None or s.name == sample_name]


@pytest.fixture
def hub_with_metrics():
    tmp = tempfile.mkdtemp(prefix="bankhub-metrics-")
    proc, port, lines = serve(["serve", "--port", "0", "--db", os.path.join(tmp, "hub.sqlite"),
                               "--password-iterations", "1000", "--metrics-port", "0"], {}, wait_for=METRICS_RE)
    listening = [LISTEN_RE.search(line) for line in lines]
    hub = Hub.__new__(Hub)
    hub.port = int(next(m for m in listening if m).group(1))
    yield hub, port
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=20)


def test_metrics_page_counts_requests_commits_threats_and_the_process(hub_with_metrics):
    hub, metrics_port = hub_with_metrics
    client = Proto(hub)
    signup = client.call("signup", username="metricsuser", password=PASSWORD)
    for _ in range(3):  # the third failure raises a brute_force threat
        with pytest.raises(HubError) as failed:
            client.call("login", username="metricsuser", password="wrong-password-0")
        assert failed.value.code == "unauthorized"
    client.call("login", username="metricsuser", password=PASSWORD)
    client.call("deposit", account=signup["account"]["id"], amount="12.34", note="metrics note")
    with pytest.raises(HubError):
        client.call("no_such_op")
    # A threat is stored and counted asynchronously after its commit: scrape until it shows (bounded).
    deadline = time.time() + 10
    while True:
        families = scrape(metrics_port)
        threats = samples(families, "bankhub_threats", "bankhub_threats_total") if "bankhub_threats" in families else []
        if threats or time.time() > deadline:
            break
        time.sleep(0.1)

    requests = {(s.labels["op"], s.labels["code"]): s.value
                for s in samples(families, "bankhub_requests", "bankhub_requests_total")}
    assert families["bankhub_requests"].type == "counter"
    assert requests[("login", "unauthorized")] == 3
    assert requests[("login", "ok")] == 1
    assert requests[("signup", "ok")] == 1
    assert requests[("deposit", "ok")] == 1
    assert not any(op == "no_such_op" for op, _ in requests), "an unknown op became a label"

    durations = families["bankhub_request_duration_seconds"]
    assert durations.type == "histogram"
    counts = {s.labels["op"]: s.value for s in durations.samples if s.name.endswith("_count")}
    assert counts["login"] == 4 and counts["deposit"] == 1
    assert any(s.labels.get("le") == "+Inf" for s in durations.samples)

    assert families["bankhub_commit_batch_size"].type == "histogram"
    batch_count = [s.value for s in families["bankhub_commit_batch_size"].samples if s.name.endswith("_count")]
    assert batch_count and batch_count[0] >= 2  # at least the sign-up and the deposit
    assert families["bankhub_commit_duration_seconds"].type == "histogram"

    published = samples(families, "bankhub_events_published", "bankhub_events_published_total")
    assert published and published[0].value >= 1  # the deposit's event at least

    assert families["bankhub_connections"].type == "gauge"
    assert samples(families, "bankhub_connections")[0].value == 1  # this client's WebSocket
    assert samples(families, "bankhub_outbox_pending")[0].value >= 0
    # Delivery keeps up on one SQLite hub: nothing due waits, every receipt is past the cursor within a pass.
    assert families["bankhub_outbox_lag_seconds"].type == "gauge"
    assert samples(families, "bankhub_outbox_due")[0].value >= 0
    assert samples(families, "bankhub_receipt_lag_seconds")[0].value < 5
    assert samples(families, "bankhub_slow_consumer_closes", "bankhub_slow_consumer_closes_total")[0].value == 0

    assert {s.labels["kind"] for s in threats} == {"brute_force"}

    assert samples(families, "process_resident_memory_bytes")[0].value > 1 << 20
    assert samples(families, "process_open_fds")[0].value > 3
    assert samples(families, "process_cpu_seconds", "process_cpu_seconds_total")[0].value > 0

    # Every metric the Grafana dashboard charts is one the hub serves.
    dashboard = json.loads((ROOT / "deploy" / "grafana-dashboard.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    charted = {re.sub(r"_(bucket|sum|count|total)$", "", name)
               for expr in exprs for name in re.findall(r"\b((?:bankhub|process)_[a-z_]+)", expr)}
    assert charted and charted <= set(families), charted - set(families)
    client.close()


def test_metrics_listener_serves_only_metrics(hub_with_metrics):
    hub, metrics_port = hub_with_metrics
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/index.html", timeout=10)
    assert missing.value.code == 404
    # The hub's own port has no /metrics: the page is only where --metrics-host/--metrics-port put it.
    with pytest.raises(urllib.error.HTTPError) as elsewhere:
        urllib.request.urlopen(f"http://127.0.0.1:{hub.port}/metrics", timeout=10)
    assert elsewhere.value.code == 404


def test_no_metrics_listener_without_the_flag():
    tmp = tempfile.mkdtemp(prefix="bankhub-metrics-")
    proc, _, lines = serve(["serve", "--port", "0", "--db", os.path.join(tmp, "hub.sqlite")], {})
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    assert not any(METRICS_RE.search(line) for line in lines + out.splitlines())


def test_receipt_and_outbox_lag_rise_while_a_live_hub_holds_them_and_fall_once_it_dies():
    """On PostgreSQL another hub, alive (its heartbeat live for 10 minutes) but not delivering, holds the receipt
    cursor and a due message under a 120 s lease: `bankhub_receipt_lag_seconds`, `bankhub_outbox_due` and
    `bankhub_outbox_lag_seconds` show it and grow. Once its heartbeat is gone (it died), this hub takes the work
    within seconds, far inside the lease, and the gauges fall to 0."""
    from test_cluster_faults import PG_BINS, Postgres, wait_until
    if not PG_BINS:
        pytest.skip("needs PostgreSQL (scripts/setup --tests installs it)")
    pg = Postgres()
    proc = None
    try:
        database = pg.create_database()
        url = pg.url(database)
        migrated = subprocess.run([bankhub_bin(), "migrate", "--database", url], capture_output=True, text=True,
                                  cwd=ROOT)
        assert migrated.returncode == 0, migrated
        now_ms = "(extract(epoch FROM now()) * 1000)::bigint"
        pg.sql(f"INSERT INTO hub_heartbeats(holder, seen_until) VALUES ('other-hub', {now_ms} + 600000)", database)
        pg.sql(f"UPDATE receipt_cursor SET claimed_by = 'other-hub', claimed_until = {now_ms} + 120000", database)
        pg.sql("INSERT INTO outbox(channel, recipient, subject, body, next_attempt_at, created_at, claimed_by, "
               f"claimed_until) VALUES ('email', 'x@example.com', 'held', 'b', {now_ms}, {now_ms}, 'other-hub', "
               f"{now_ms} + 120000)", database)
        proc, metrics_port, lines = serve(["serve", "--port", "0", "--database", url, "--password-iterations", "1000",
                                           "--metrics-port", "0"], {"BANKHUB_CODE_KEY": secrets.token_hex(32)},
                                          wait_for=METRICS_RE)
        hub = Hub.__new__(Hub)
        hub.port = int(next(m for m in (LISTEN_RE.search(line) for line in lines) if m).group(1))
        client = Proto(hub)
        signup = client.call("signup", username="laguser", password=PASSWORD)
        client.call("login", username="laguser", password=PASSWORD)
        client.call("deposit", account=signup["account"]["id"], amount="5.00")

        def lags() -> dict:
            families = scrape(metrics_port)
            for name in ("bankhub_receipt_lag_seconds", "bankhub_outbox_due", "bankhub_outbox_lag_seconds"):
                assert families[name].type == "gauge", name
            return {name: samples(families, name)[0].value
                    for name in ("bankhub_receipt_lag_seconds", "bankhub_outbox_due", "bankhub_outbox_lag_seconds")}

        first = wait_until(lambda: (lag := lags())["bankhub_receipt_lag_seconds"] >= 1 and lag, 15,
                           "the receipt lag to show")
        assert first["bankhub_outbox_due"] >= 1 and first["bankhub_outbox_lag_seconds"] >= 1, first
        wait_until(lambda: (lag := lags())["bankhub_receipt_lag_seconds"] >= first["bankhub_receipt_lag_seconds"] + 1
                   and lag["bankhub_outbox_lag_seconds"] >= first["bankhub_outbox_lag_seconds"] + 1, 15,
                   "the lags to grow while the other hub holds the work")

        pg.sql("DELETE FROM hub_heartbeats WHERE holder = 'other-hub'", database)  # the other hub died
        wait_until(lambda: all(value == 0 for value in lags().values()), 15, "the lags to fall to 0 after it died")
        assert pg.sql("SELECT status FROM outbox WHERE subject = 'held'", database) == [["sent"]]
        client.close()
    finally:
        if proc:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=20)
        pg.destroy()
