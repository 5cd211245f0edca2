#!/usr/bin/env bash
# One table, from one run on this machine (see docs/scaling.md, "PostgreSQL ledger"): the PostgreSQL ledger layer
# (`bankhub-bench ledger-pg`: PostgresLedger with its group commit, no hub, no WebSockets) beside PostgreSQL's
# own pgbench tpcb-like, on the same throwaway cluster (bench/pg-cluster.sh: fsync=on, synchronous_commit=on):
#   - pgbench tpcb-like at 16 clients (scale 16, 10 s, -M prepared), tps and p50/p99 from its per-transaction log;
#   - the ledger with 1, 2 and 3 processes at once (each one hub) x 1 and 2 connections each, batch 128 in
#     flight per connection, 1,000 accounts per process, each configuration on a fresh database: summed
#     transfers/s, ratio to pgbench, p50/p99 of `apply` (the slowest process's), CPU microseconds per transfer
#     of the ledger processes (Swift + libpq; the server's is not counted), and verify() on the whole database.
# The load average is printed at the start and the end: on shared cores the figures depend on it. On exit (also
# Ctrl-C, SIGTERM) it stops what it started and removes the cluster. About two minutes with the defaults.
#
# Environment: CLIENTS (16), PG_SCALE (16), DURATION seconds per run (10), PROCESSES ("1 2 3"),
# CONNECTIONS ("1 2"), BATCH (128), ACCOUNTS per process (1000), BANKHUB_BIN (default: a release build of
# this checkout; bankhub-bench must sit next to it).
set -euo pipefail
cd "$(dirname "$0")/.."

clients="${CLIENTS:-16}"
scale="${PG_SCALE:-16}"
duration="${DURATION:-10}"
process_counts="${PROCESSES:-1 2 3}"
connection_counts="${CONNECTIONS:-1 2}"
batch="${BATCH:-128}"
accounts="${ACCOUNTS:-1000}"
pg_port=55433

. bench/pg-cluster.sh
bench_name=pg-compare
. bench/bench-lib.sh
pg_cluster_install
. bench/release-binaries.sh pg-compare

work="$(mktemp -d /tmp/bankhub-pg-compare.XXXXXX)"
job_pid=""
cleanup() {
  # A ledger-pg told to stop (SIGTERM) ends; its children end when their connections go with the server.
  stop_pid "$job_pid"
  pg_cluster_stop immediate
  rm -rf "$work"
}
on_exit cleanup

verdict() {
  local line; line="$(tail -1 "$1" 2>/dev/null || true)"
  if [[ "$line" == *'"conserved":true'* && "$line" == *'"verify_problems":0'* ]]; then echo "conserved, verify ok"
  elif [[ "$line" == *'"conserved"'* ]]; then echo "FAILED: conserved/verify $(field verify_problems "$1")"
  else echo "n/a"; fi
}

load_start="$(load)"
started="$(date -u '+%Y-%m-%d %H:%M UTC')"
machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB"
echo "machine: $machine; load average at start $load_start"
pg_cluster_start "$work" "$pg_port"
psql_() { "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -q -At "$@"; }

echo "== pgbench tpcb-like: scale $scale, $clients clients, $duration s, -M prepared"
pgbench_run "$work" "$pg_port" "$scale" "$clients" "$duration"
echo "pgbench: tps $pg_tps, p50 $pg_p50 ms, p99 $pg_p99 ms"

for processes in $process_counts; do
  for connections in $connection_counts; do
    name="p${processes}c${connections}"
    psql_ -c "CREATE DATABASE ledger_$name"
    echo "== ledger-pg: $processes process(es) x $connections connection(s) x $batch in flight, $duration s"
    job "$work/$name.out" "$bench" ledger-pg --database "postgresql://postgres@127.0.0.1:$pg_port/ledger_$name" \
      --processes "$processes" --connections "$connections" --batch "$batch" --accounts "$accounts" \
      --duration "$duration" --json
    echo "ledger: tps $(field tps "$work/$name.out"), $(verdict "$work/$name.out")"
  done
done

load_end="$(load)"
row() { printf '%-44s %-10s %-9s %-18s %-12s %s\n' "$@"; }
echo
echo "== one run, $started; $machine; release build; load average $load_start at start, $load_end at end"
row "measure" "tps" "/pgbench" "p50 / p99 ms" "cpu us/tx" "correctness"
row "pgbench tpcb-like @$clients, scale $scale, prepared" "$pg_tps" "1.00x" "$pg_p50 / $pg_p99" "" ""
for processes in $process_counts; do
  for connections in $connection_counts; do
    out="$work/p${processes}c${connections}.out"
    tps="$(field tps "$out")"
    row "ledger-pg $processes proc x $connections conn x $batch in flight" "$tps" "$(ratio "$tps" "$pg_tps")" \
      "$(field p50_ms "$out") / $(field p99_ms "$out")" "$(field cpu_us_per_transfer "$out")" "$(verdict "$out")"
  done
done
