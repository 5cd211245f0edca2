"""What an operator meets: `--version`, every `serve` option also from a BANKHUB_* variable (the flag wins, bad
values are errors), JSON logs one object a line, and a systemd unit that `systemd-analyze verify` accepts."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from hubkit import LISTEN_RE, ROOT, Hub, Proto, bankhub_bin


def run(*args, env=None, timeout=30):
    return subprocess.run([bankhub_bin(), *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout,
                          env=dict(os.environ, **(env or {})))


def serve(args, env, wait_for=LISTEN_RE):
    """Starts `bankhub` with these arguments and environment; returns (process, port, stdout lines)."""
    proc = subprocess.Popen([bankhub_bin(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT, env=dict(os.environ, **env))
    deadline = time.time() + 20
    lines = []
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        m = wait_for.search(line)
        if m:
            return proc, int(m.group(1)), lines
    proc.kill()
    raise AssertionError("did not start: " + "".join(lines) + proc.stderr.read())


def test_version_is_printed():
    out = run("--version")
    assert out.returncode == 0 and re.fullmatch(r"\d+\.\d+\.\d+\n", out.stdout), out


def test_help_names_the_environment_variable_of_every_option():
    help_text = run("serve", "--help").stdout
    options = re.findall(r"^  --([a-z0-9-]+)", help_text, re.M)
    assert {"port", "db", "log-level", "log-format", "allowed-origin", "demo"} <= set(options)
    for name in set(options) - {"version"}:
        variable = "BANKHUB_" + name.upper().replace("-", "_")
        assert f"--{name}" in help_text and f"[env: {variable}]" in help_text, name


def test_environment_configures_serve_and_the_flag_wins():
    tmp = tempfile.mkdtemp(prefix="bankhub-ops-")
    env_db, flag_db = os.path.join(tmp, "env.sqlite"), os.path.join(tmp, "flag.sqlite")
    # Every setting from the environment, including a flag (--demo) and a repeatable option.
    proc, port, lines = serve([], {"BANKHUB_PORT": "0", "BANKHUB_DB": env_db, "BANKHUB_DEMO": "true",
                                   "BANKHUB_PASSWORD_ITERATIONS": "1000",
                                   "BANKHUB_ALLOWED_ORIGIN": "https://a.example, https://b.example"})
    proc.terminate()
    proc.wait(timeout=15)
    assert os.path.exists(env_db)
    assert any("demo customer alice" in line for line in lines)
    # A flag on the command line wins over its variable.
    proc, port, lines = serve(["serve", "--port", "0", "--db", flag_db], {"BANKHUB_DB": env_db, "BANKHUB_PORT": "1"})
    proc.terminate()
    proc.wait(timeout=15)
    assert any(flag_db in line for line in lines) and os.path.exists(flag_db)


@pytest.mark.parametrize("args,env", [
    (["serve", "--log-level", "bogus"], {}),
    (["serve"], {"BANKHUB_LOG_LEVEL": "loud"}),
    (["serve"], {"BANKHUB_EVENT_LOOP": "kqueue"}),
    (["serve"], {"BANKHUB_LOG_FORMAT": "xml"}),
    (["serve"], {"BANKHUB_DEMO": "maybe"}),
    (["serve"], {"BANKHUB_PORT": "eighty"}),
])
def test_bad_values_are_errors_not_silent_defaults(args, env):
    out = run(*args, "--port", "0", "--db", os.path.join(tempfile.mkdtemp(), "x.sqlite"), env=env, timeout=20) \
        if "--port" not in args and "BANKHUB_PORT" not in env else run(*args, env=env, timeout=20)
    assert out.returncode != 0, out
    assert "Error" in out.stderr or "error" in out.stderr.lower(), out.stderr


# The NKey example pair of the libnats README: a user seed (a secret in real life) and its public key.
EXAMPLE_SEED = "SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY"
EXAMPLE_PUBLIC_KEY = "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4"


def private_file(text, mode=0o600):
    fd, path = tempfile.mkstemp(prefix="bankhub-nkey-")
    os.write(fd, text.encode())
    os.close(fd)
    os.chmod(path, mode)
    return path


@pytest.mark.parametrize("case", ["without-bus", "both", "url-credentials", "missing", "group-readable",
                                  "public-key", "account-seed", "env-missing"])
def test_bus_identity_files_are_checked_before_anything_opens(case):
    """--bus-nkey-seed-file and --bus-creds-file (or their variables) are refused with a clear error when
    misplaced or unusable; the seed never appears in the output. (The server is never reached: nothing listens
    on the --bus and --database ports.)"""
    seed = private_file(EXAMPLE_SEED + "\n")
    creds = private_file("-----BEGIN NATS USER JWT-----\n")
    bus = ["--database", "postgresql://bank@127.0.0.1:1/bank", "--bus", "nats://127.0.0.1:1"]
    env = {"BANKHUB_CODE_KEY": "ab" * 32, "BANKHUB_BUS_KEY": "cd" * 32}
    args, expected = {
        "without-bus": (["--bus-nkey-seed-file", seed], "--bus-nkey-seed-file is for --bus"),
        "both": (bus + ["--bus-nkey-seed-file", seed, "--bus-creds-file", creds], "not both"),
        "url-credentials": (["--database", "postgresql://bank@127.0.0.1:1/bank", "--bus",
                             "nats://hub:s3cret@127.0.0.1:1", "--bus-creds-file", creds], "not both"),
        "missing": (bus + ["--bus-nkey-seed-file", "/nonexistent/hub.nk"], "/nonexistent/hub.nk: no such file"),
        "group-readable": (bus + ["--bus-nkey-seed-file", private_file(EXAMPLE_SEED, 0o640)],
                           "may be read by others (mode 640); chmod 600"),
        "public-key": (bus + ["--bus-nkey-seed-file", private_file(EXAMPLE_PUBLIC_KEY)], "a public key is not a seed"),
        "account-seed": (bus + ["--bus-nkey-seed-file", private_file("SA" + EXAMPLE_SEED[2:])], "not a user NKey seed"),
        "env-missing": (bus, "/nonexistent/hub.creds: no such file"),
    }[case]
    if case == "env-missing":
        env["BANKHUB_BUS_CREDS_FILE"] = "/nonexistent/hub.creds"
    out = run("serve", "--port", "0", *args, env=env, timeout=20)
    assert out.returncode != 0, out
    assert expected in out.stderr, out.stderr
    assert "s3cret" not in out.stderr + out.stdout
    assert EXAMPLE_SEED[2:] not in out.stderr + out.stdout


def test_json_logs_are_one_object_per_line_without_secrets():
    tmp = tempfile.mkdtemp(prefix="bankhub-ops-")
    password = "a-secret-password-77"
    proc, port, _ = serve(["serve", "--port", "0", "--db", os.path.join(tmp, "hub.sqlite"), "--log-format", "json",
                           "--log-level", "trace", "--password-iterations", "1000"], {})
    hub = Hub.__new__(Hub)
    hub.port = port
    client = Proto(hub)
    client.call("signup", username="logcheck", password=password, email="logcheck@example.test")
    token = client.call("login", username="logcheck", password=password)["token"]
    account = client.call("open_account", name="Checking")["account"]["id"]
    client.call("deposit", account=account, amount="12.34", note="private note text")
    client.close()
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=20)
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines, "no log lines"
    for line in lines:
        record = json.loads(line)  # every line is one JSON object
        assert {"ts", "level", "msg"} <= record.keys(), record
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["ts"])
    for secret in (password, token, "private note text"):
        assert secret not in stderr, f"{secret!r} appears in the log"


def test_systemd_unit_verifies():
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        pytest.skip("systemd-analyze is not installed")
    unit = (ROOT / "deploy" / "bankhub.service").read_text()
    assert "DynamicUser=yes" in unit and "StateDirectory=bankhub" in unit and "NoNewPrivileges=yes" in unit
    assert "ProtectSystem=strict" in unit and re.search(r"^LimitNOFILE=(\d+)", unit, re.M)
    assert int(re.search(r"^LimitNOFILE=(\d+)", unit, re.M).group(1)) >= 65536
    # Verify it as installed, with ExecStart pointing at the binary built here.
    tmp = tempfile.mkdtemp(prefix="bankhub-unit-")
    path = os.path.join(tmp, "bankhub.service")
    with open(path, "w") as f:
        f.write(unit.replace("/usr/local/bin/bankhub", os.path.abspath(bankhub_bin())))
    out = subprocess.run([analyze, "verify", path], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "bankhub.service" not in out.stderr, out.stderr


def test_dockerfile_runs_as_non_root_with_a_readiness_check():
    text = (ROOT / "deploy" / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.M)) >= 2, "multi-stage"
    assert re.search(r"^USER (?!root)\w+", text, re.M)
    assert re.search(r"^HEALTHCHECK .*\n?.*readyz", text, re.M)


def test_root_help_lists_the_commands():
    out = run("--help")
    assert out.returncode == 0
    for command in ("serve", "admin", "outbox"):
        assert re.search(rf"^\s+{command}\b", out.stdout, re.M), out.stdout
