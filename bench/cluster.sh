#!/usr/bin/env bash
# Several hubs of one bank, measured side by side in one run on this machine (issue 14; docs/scaling.md,
# "Figures: several hubs"): a throwaway PostgreSQL cluster (bench/pg-cluster.sh: fsync=on, synchronous_commit=on,
# shared_buffers 512MB), a nats-server on a free port, and release `bankhub serve --database URL --bus nats://…`
# hubs on distinct ports (password iterations 1000, no rate limits), measured with `bankhub-bench … --url … --url …`:
#   1. for N in HUBS (1 2 3): N hubs on one fresh database, `transfers` 16 × 8 with the connections round robin
#      over the hubs (hub CPU µs/transfer summed over the hubs; PostgreSQL's own CPU is not counted), then
#      pgbench tpcb-like @16 (scale 16, -M prepared) on the same server; ROUNDS times, interleaved;
#   2. cross-hub fan-out: 3 hubs, the payer connections round robin over all three (FANOUT_PAYERS, by default
#      4 per hub), 1,000 subscribers each on the hub after its payer's (so every hub commits a third of the
#      5,000 transfers/s and every event crosses the bus); latency from the transfer sent to hub A to the
#      payee's `balance` event received from hub B;
#   3. CONNECTIONS_TOTAL (50,000) authenticated, subscribed connections over 3 hubs, from 3 load-generating
#      processes (a process here holds at most 20,000 files); each hub's RSS, one event to all of them.
# Every run checks the money (balances over the protocol, PostgresLedger.verify on the database: postings,
# balances, gapless streams). One table at the end, with ratios and the load average of every row. On exit (also
# Ctrl-C, SIGTERM) it stops what it started and removes the cluster.
#
# Environment: DURATION seconds per measured run (10), ROUNDS (1), HUBS ("1 2 3"), CONNECTIONS (16), IN_FLIGHT
# (8), PG_SCALE (16), FANOUT_RATE (5000), FANOUT_SUBSCRIBERS (1000), FANOUT_PAYERS (bankhub-bench's default: 4 per
# hub), CONNECTIONS_TOTAL (50000),
# CONNECTION_PROCESSES (3), SKIP (any of: transfers fanout connections), BANKHUB_BIN (default: a release build of
# this checkout; bankhub-bench must sit next to it), PG_STATEMENTS=1 (load pg_stat_statements and print, after each
# transfers and fan-out run, PostgreSQL's costliest statements and the tables it scanned sequentially, set-up
# included: where PostgreSQL's share of the CPU goes). A quick run: DURATION=3 CONNECTIONS_TOTAL=3000 bench/cluster.sh
set -euo pipefail
cd "$(dirname "$0")/.."

duration="${DURATION:-10}"
rounds="${ROUNDS:-1}"
hub_counts="${HUBS:-1 2 3}"
connections="${CONNECTIONS:-16}"
in_flight="${IN_FLIGHT:-8}"
scale="${PG_SCALE:-16}"
fanout_rate="${FANOUT_RATE:-5000}"
fanout_subscribers="${FANOUT_SUBSCRIBERS:-1000}"
fanout_payers="${FANOUT_PAYERS:-}"
connections_total="${CONNECTIONS_TOTAL:-50000}"
connection_processes="${CONNECTION_PROCESSES:-3}"
skip="${SKIP:-}"
pg_statements="${PG_STATEMENTS:-}"
[ -n "$pg_statements" ] && export PG_EXTRA_OPTIONS="-c shared_preload_libraries=pg_stat_statements"
# Each hub may hold this many connections (the open-file limit is 20,000 per process here).
hub_connections_max=19500

. bench/pg-cluster.sh
bench_name=cluster
. bench/bench-lib.sh
pg_cluster_install
command -v nats-server >/dev/null || { echo "cluster: needs nats-server (scripts/setup --tests installs it)" >&2; exit 1; }
. bench/release-binaries.sh cluster
# grep reads the whole help (not -q): with pipefail, -q's early exit would fail the pipeline by SIGPIPE.
if ! "$bin" serve --help 2>&1 | grep -- '--bus' >/dev/null; then
  echo "cluster: $bin has no 'serve --bus': several hubs of one bank need the bus (issue 14)" >&2; exit 1
fi

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
work="$(mktemp -d /tmp/bankhub-cluster.XXXXXX)"
job_pid=""
nats_pid=""
hub_pids=()
stop_hubs() {
  local pid
  for pid in "${hub_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${hub_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  hub_pids=()
}
cleanup() {
  stop_pid "$job_pid"
  stop_hubs
  stop_pid "$nats_pid"
  pg_cluster_stop immediate
  rm -rf "$work"
}
on_exit cleanup

pg_port="$(free_port)"
pg_cluster_start "$work" "$pg_port"
psql_() { "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -q -At "$@"; }
nats_port="$(free_port)"
nats-server -a 127.0.0.1 -p "$nats_port" >"$work/nats.log" 2>&1 &
nats_pid=$!
# The keys every hub of the bank shares: one-time codes (never in the database) and the bus seal.
export BANKHUB_CODE_KEY="$(openssl rand -hex 32)"
export BANKHUB_BUS_KEY="$(openssl rand -hex 32)"

# start_hubs NAME N: N hubs on a fresh database NAME of the cluster, each on a port of its own; sets hub_pids,
# hub_urls (--url arguments), pid_args (--hub-pid arguments) and database_url.
start_hubs() {
  local name="$1" count="$2" n log port pid
  psql_ -c "CREATE DATABASE $name"
  if [ -n "$pg_statements" ]; then
    psql_ -d "$name" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" -c "SELECT pg_stat_statements_reset()" >/dev/null
  fi
  database_url="postgresql://postgres@127.0.0.1:$pg_port/$name"
  hub_pids=(); hub_urls=(); pid_args=()
  for n in $(seq 1 "$count"); do
    log="$work/$name-hub$n.log"
    "$bin" serve --host 127.0.0.1 --port 0 --web "$work" --database "$database_url" --bus "nats://127.0.0.1:$nats_port" \
      --password-iterations 1000 --no-rate-limits --burst-transfers 1000000000 --log-level warning \
      --connections-max "$hub_connections_max" --connections-per-address-max "$hub_connections_max" >"$log" 2>&1 &
    pid=$!
    hub_pids+=("$pid")
    port=""
    for _ in $(seq 1 1500); do
      port="$(grep -soE '://127.0.0.1:[0-9]+' "$log" | head -1 | cut -d: -f3 || true)"
      [ -n "$port" ] && break
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.02
    done
    [ -n "$port" ] || { echo "cluster: hub $n of $name did not start:" >&2; cat "$log" >&2; exit 1; }
    hub_urls+=(--url "ws://127.0.0.1:$port/ws")
    pid_args+=(--hub-pid "$pid")
  done
}

verdict() {
  local line; line="$(tail -1 "$1" 2>/dev/null || true)"
  if [[ "$line" == *'"conserved":true'* && "$line" == *'"violations":0'* && "$line" == *'"missing":0'* ]]; then echo "ok"
  elif [[ "$line" == *'"conserved"'* ]]; then echo "FAILED"
  else echo "n/a"; fi
}

# statements NAME: with PG_STATEMENTS, PostgreSQL's costliest statements of database NAME since its hubs started,
# and its tables by sequential scans.
statements() {
  [ -n "$pg_statements" ] || return 0
  echo "-- PostgreSQL, database $1: statements by total time (calls, ms, ms per call), tables by sequential scans"
  psql_ -d "$1" -F ' | ' -c "SELECT calls, round(total_exec_time::numeric), round((total_exec_time / calls)::numeric, 3),
    left(regexp_replace(query, '\s+', ' ', 'g'), 100) FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database
    WHERE datname = current_database()) ORDER BY total_exec_time DESC LIMIT 8"
  psql_ -d "$1" -F ' | ' -c "SELECT relname, seq_scan, seq_tup_read, idx_scan FROM pg_stat_user_tables
    WHERE seq_scan > 0 ORDER BY seq_tup_read DESC LIMIT 5"
}

load_start="$(load)"
started="$(date -u '+%Y-%m-%d %H:%M UTC')"
machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB"
echo "machine: $machine; load average at start $load_start"
rows=()
row() { printf '%-46s %-10s %-9s %-32s %-14s %-8s %s\n' "$@"; }

if [[ " $skip " != *" transfers "* ]]; then
  for round in $(seq 1 "$rounds"); do
    hub_loads=()
    for hubs in $hub_counts; do
      name="transfers_r${round}_h${hubs}"
      start_hubs "$name" "$hubs"
      echo "== round $round: transfers, $hubs hub(s), $connections x $in_flight, $duration s"
      job "$work/$name.out" "$bench" transfers "${hub_urls[@]}" "${pid_args[@]}" --database "$database_url" \
        --connections "$connections" --in-flight "$in_flight" --duration "$duration" --json
      stop_hubs
      statements "$name"
      hub_loads+=("$(load)")
      echo "tps $(field tps "$work/$name.out"), p99 $(field p99_ms "$work/$name.out") ms, $(verdict "$work/$name.out")"
    done
    echo "== round $round: pgbench tpcb-like @$connections, scale $scale, $duration s"
    # A directory per round: pgbench_run reads back every per-transaction log in it.
    mkdir -p "$work/pgbench-$round" && chown postgres "$work/pgbench-$round"
    pgbench_run "$work/pgbench-$round" "$pg_port" "$scale" "$connections" "$duration"
    echo "pgbench: tps $pg_tps, p99 $pg_p99 ms"
    index=0
    for hubs in $hub_counts; do
      out="$work/transfers_r${round}_h${hubs}.out"
      tps="$(field tps "$out")"
      rows+=("$(row "transfers, $hubs hub(s), $connections x $in_flight (round $round)" "$tps" "$(ratio "$tps" "$pg_tps")" \
        "p50/p99 $(field p50_ms "$out") / $(field p99_ms "$out") ms" "$(field hub_cpu_us_per_transfer "$out") us/tx" \
        "$(verdict "$out")" "${hub_loads[$index]}; machine $(machine_of "$out")")")
      index=$((index + 1))
    done
    rows+=("$(row "pgbench tpcb-like @$connections, scale $scale (round $round)" "$pg_tps" "1.00x" \
      "p50/p99 $pg_p50 / $pg_p99 ms" "" "" "$(load); machine $pg_machine")")
  done
fi

if [[ " $skip " != *" fanout "* ]]; then
  name="fanout"
  start_hubs "$name" 3
  payer_args=(); [ -n "$fanout_payers" ] && payer_args=(--payers "$fanout_payers")
  echo "== cross-hub fan-out: 3 hubs, payers round robin over all 3, $fanout_subscribers subscribers each on the hub after its payer's, $fanout_rate transfers/s, $duration s"
  job "$work/$name.out" "$bench" fanout "${hub_urls[@]}" "${pid_args[@]}" --database "$database_url" \
    --subscribers "$fanout_subscribers" --rate "$fanout_rate" --duration "$duration" "${payer_args[@]}" --json
  stop_hubs
  statements "$name"
  out="$work/$name.out"
  rows+=("$(row "fan-out across hubs, $fanout_rate/s x $fanout_subscribers subs" "$(field events_per_s "$out")" "ev/s" \
    "p50/p99 $(field p50_ms "$out") / $(field p99_ms "$out") ms" "p99.9 $(field p999_ms "$out")" \
    "$(verdict "$out")" "$(load); committed $(field committed "$out") of $(field sent "$out"), missing $(field missing "$out"), out of order $(field out_of_order "$out"), machine $(machine_of "$out"), refused rate_limited $(field rate_limited "$out"), max $(field max_ms "$out") ms; payers per hub $(text_field payers_per_hub "$out"), subscribers per hub $(text_field subscribers_per_hub "$out")")")
  echo "${rows[-1]}"
  echo "fanout JSON: $(tail -1 "$out")"
fi

if [[ " $skip " != *" connections "* ]]; then
  name="connections"
  start_hubs "$name" 3
  echo "== $connections_total subscribed connections over 3 hubs from $connection_processes processes"
  job "$work/$name.out" "$bench" connections "${hub_urls[@]}" "${pid_args[@]}" --database "$database_url" \
    --count "$connections_total" --processes "$connection_processes" --json
  stop_hubs
  out="$work/$name.out"
  rss="$(field hub1_rss_after_kib "$out") / $(field hub2_rss_after_kib "$out") / $(field hub3_rss_after_kib "$out")"
  rows+=("$(row "$connections_total connections over 3 hubs, one event to all" "$(field deliver_all_ms "$out")" "ms" \
    "RSS KiB $rss" "$(field rss_per_connection_kib "$out") KiB/conn" "$(verdict "$out")" \
    "$(load); open $(field open_s "$out") s, missing $(field missing "$out")")")
  echo "${rows[-1]}"
fi

echo
echo "== one run, $started; $machine; $bin; load average $load_start at start, $(load) at end"
row "measure" "figure" "ratio" "latency / memory" "cost" "checked" "load (1, 5, 15 min)"
for line in "${rows[@]}"; do echo "$line"; done
