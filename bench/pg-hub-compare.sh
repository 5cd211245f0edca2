#!/usr/bin/env bash
# One hub on SQLite beside one hub on PostgreSQL (see docs/scaling.md, "One hub on PostgreSQL"): the same
# release `bankhub serve` (password iterations 1000, no rate limits), once with --db on a fresh SQLite file and
# once with --database on a fresh database of a throwaway cluster (bench/pg-cluster.sh: fsync=on,
# synchronous_commit=on), each measured with `bankhub-bench transfers --url … --hub-pid …` (committed transfers/s,
# p50/p99, the hub's CPU µs per transfer; PostgreSQL's own CPU is not counted). The pair runs ROUNDS times,
# interleaved, since shared cores are noisy; the load average is printed with every row.
#
# Environment: DURATION seconds per run (10), CONNECTIONS (16), IN_FLIGHT per connection (8), ROUNDS (2),
# BANKHUB_BIN (default: a release build of this checkout; bankhub-bench must sit next to it).
set -euo pipefail
cd "$(dirname "$0")/.."

duration="${DURATION:-10}"
connections="${CONNECTIONS:-16}"
in_flight="${IN_FLIGHT:-8}"
rounds="${ROUNDS:-2}"
pg_port=55434

. bench/pg-cluster.sh
bench_name=pg-hub-compare
. bench/bench-lib.sh
pg_cluster_install
. bench/release-binaries.sh pg-hub-compare

work="$(mktemp -d /tmp/bankhub-pg-hub-compare.XXXXXX)"
job_pid=""
hub_pid=""
cleanup() {
  stop_pid "$job_pid"
  stop_pid "$hub_pid"
  pg_cluster_stop immediate
  rm -rf "$work"
}
on_exit cleanup

pg_cluster_start "$work" "$pg_port"
psql_() { "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -q -At "$@"; }

# Starts a hub with the storage arguments given; sets hub_pid and hub_port.
start_hub() {
  local log="$work/serve-$1.log"; shift
  BANKHUB_CODE_KEY="$(openssl rand -hex 32)" "$bin" serve --host 127.0.0.1 --port 0 --web "$work" \
    --password-iterations 1000 --no-rate-limits --burst-transfers 1000000 --log-level warning "$@" >"$log" 2>&1 &
  hub_pid=$!
  hub_port=""
  for _ in $(seq 1 500); do
    hub_port="$(grep -soE '://127.0.0.1:[0-9]+' "$log" | head -1 | cut -d: -f3 || true)"
    [ -n "$hub_port" ] && return 0
    kill -0 "$hub_pid" 2>/dev/null || break
    sleep 0.02
  done
  echo "$bench_name: bankhub serve did not start:" >&2; cat "$log" >&2; exit 1
}

run() {
  local name="$1"; shift
  start_hub "$name" "$@"
  job "$work/$name.out" "$bench" transfers --url "ws://127.0.0.1:$hub_port/ws" --hub-pid "$hub_pid" \
    --connections "$connections" --in-flight "$in_flight" --duration "$duration" --json
  stop_pid "$hub_pid"; hub_pid=""
  printf '%-22s tps %-9s p50/p99 ms %-7s / %-8s hub cpu us/tx %-7s load %s\n' "$name" "$(field tps "$work/$name.out")" \
    "$(field p50_ms "$work/$name.out")" "$(field p99_ms "$work/$name.out")" \
    "$(field hub_cpu_us_per_transfer "$work/$name.out")" "$(load)"
}

echo "== $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; release; $connections connections x $in_flight in flight, $duration s"
for round in $(seq 1 "$rounds"); do
  run "sqlite-$round" --db "$work/sqlite-$round/bank.sqlite"
  psql_ -c "CREATE DATABASE hub_$round"
  run "postgresql-$round" --database "postgresql://postgres@127.0.0.1:$pg_port/hub_$round"
done
