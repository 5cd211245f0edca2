"""`bankhub migrate --database postgresql://…` against a REAL throwaway PostgreSQL (initdb and pg_ctl in a temporary
directory, as the `postgres` user when root, on a free port; the same set-up as Tests/PostgresTestPeer): it applies
the ledger schema once, a second run changes nothing, and a bad URL or an unreachable server is a one-line error
that never shows the password."""
import glob
import os
import shutil
import socket
import subprocess
import tempfile

import pytest

from hubkit import ROOT, bankhub_bin

PG_BINS = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
pytestmark = pytest.mark.skipif(not PG_BINS, reason="PostgreSQL is not installed (scripts/setup installs it)")
PASSWORD = "s3cret-Pa55"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_postgres(*command: str) -> list[str]:
    """PostgreSQL refuses to run as root: run its programs as `postgres` then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.getuid() == 0 else list(command)


@pytest.fixture(scope="module")
def postgres():
    """A started cluster; yields (port, psql runner); stopped and removed at the end."""
    pg_bin = PG_BINS[-1]
    directory = tempfile.mkdtemp(prefix="bankhub-migrate-")
    if os.getuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    data, port = os.path.join(directory, "data"), free_port()
    subprocess.run(as_postgres(f"{pg_bin}/initdb", "-D", data, "-U", "postgres", "-A", "trust", "--no-sync"),
                   check=True, capture_output=True)
    subprocess.run(as_postgres(f"{pg_bin}/pg_ctl", "-D", data, "-l", os.path.join(directory, "server.log"), "-w",
                               "-o", f"-p {port} -k {directory} -c listen_addresses=127.0.0.1", "start"),
                   check=True, capture_output=True)

    def psql(sql: str) -> str:
        return subprocess.run([f"{pg_bin}/psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-At", "-c", sql],
                              check=True, capture_output=True, text=True).stdout.strip()

    try:
        yield port, psql
    finally:
        subprocess.run(as_postgres(f"{pg_bin}/pg_ctl", "-D", data, "-m", "immediate", "stop"), capture_output=True)
        shutil.rmtree(directory, ignore_errors=True)


def migrate(url: str) -> subprocess.CompletedProcess:
    return subprocess.run([bankhub_bin(), "migrate", "--database", url], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)


def test_migrate_applies_the_schema_once_and_a_second_run_changes_nothing(postgres):
    """The first run takes the database from version 0 to the newest; the second finds it there and leaves it."""
    port, psql = postgres
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    first = migrate(url)
    assert first.returncode == 0, first
    assert "schema version before: 0" in first.stdout and "schema version after: 8" in first.stdout, first.stdout
    assert psql("SELECT count(*) FROM accounts WHERE kind = 'cash'") == "1"
    # Migration 2: the records' tables (users and the rest) and the receipt cursor's one row.
    assert psql("SELECT count(*) FROM users") == "0"
    assert psql("SELECT last_transaction_id FROM receipt_cursor") == "0"
    # Migration 3: the state several hubs share (id counters, revocations, code failures).
    assert psql("SELECT count(*) FROM session_revocations") == "0"
    # Migration 4: claims of outbox messages, the receipt cursor and standing orders (nobody holds one yet).
    assert psql("SELECT count(*) FROM receipt_cursor WHERE claimed_by IS NULL AND claimed_until IS NULL") == "1"
    # Migration 8: hubs' heartbeats (no hub runs yet).
    assert psql("SELECT count(*) FROM hub_heartbeats") == "0"
    applied = psql("SELECT version, applied_at FROM schema_migrations ORDER BY version")

    second = migrate(url)
    assert second.returncode == 0, second
    assert "schema version before: 8" in second.stdout and "already up to date" in second.stdout, second.stdout
    assert psql("SELECT version, applied_at FROM schema_migrations ORDER BY version") == applied
    assert psql("SELECT count(*) FROM accounts") == "1"


def test_migrate_rejects_a_url_that_is_not_postgresql_without_showing_its_password():
    """A mysql:// URL is refused before anything connects; the message names the expected form, not the secret."""
    out = migrate(f"mysql://bank:{PASSWORD}@127.0.0.1:3306/bank")
    assert out.returncode != 0
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "must be a postgresql:// URL" in lines[0], out.stderr
    assert PASSWORD not in out.stdout + out.stderr


def test_migrate_reports_an_unreachable_server_on_one_line_without_the_password():
    """Nothing listens on the port: exit non-zero with one 'Error:' line that hides the password."""
    port = free_port()
    out = migrate(f"postgresql://bank:{PASSWORD}@127.0.0.1:{port}/bank")
    assert out.returncode != 0
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: cannot migrate postgresql://bank:***@127.0.0.1"), out.stderr
    assert PASSWORD not in out.stdout + out.stderr
