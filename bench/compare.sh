#!/usr/bin/env bash
# One table, from one run on this machine (see docs/performance.md), the hub beside its peers:
#   - durable transfers/s: the hub's `transfers` (16 connections, each a customer with 4 of 64 accounts paying
#     the others, 8 in flight each; a second line at 64 in flight) against PostgreSQL's pgbench tpcb-like at 16
#     clients (scale 16, 10 s, -M prepared, fsync=on, synchronous_commit=on); latency p50/p99 of both (pgbench's
#     from its per-transaction log); the hub's CPU time per transfer (it runs as a `bankhub serve` child of
#     bankhub-bench, so that time is its own) and the load generator's;
#   - push latency p50/p99/p99.9/max at 5,000/s x 1,000 subscribers: the hub's `fanout` (transfer sent ->
#     payee's balance event, a durable commit included) against nginx+nchan (publish -> subscriber, commits
#     nothing).
# Ratios are hub / peer. The machine's load average is printed at the start and the end: on shared cores
# the figures depend on it. Loopback only, bounded in time (about a minute and a half with the defaults).
# On exit (also Ctrl-C, SIGTERM) it stops every process it started (the hub children stop with their
# bankhub-bench) and removes its temporary cluster and configs. Installs postgresql, nginx-light and
# libnginx-mod-nchan with apt-get when they are missing (needs root, as the rest of scripts/ does).
#
# Environment: CLIENTS (16), IN_FLIGHT (8), IN_FLIGHT_HIGH (64), ACCOUNTS (64), PG_SCALE (16), DURATION seconds
# per run (10), SUBSCRIBERS (1000), RATE (5000), BANKHUB_BIN (default: a release build of this checkout;
# bankhub-bench must sit next to it).
set -euo pipefail
cd "$(dirname "$0")/.."

clients="${CLIENTS:-16}"
in_flight="${IN_FLIGHT:-8}"
in_flight_high="${IN_FLIGHT_HIGH:-64}"
accounts="${ACCOUNTS:-64}"
scale="${PG_SCALE:-16}"
duration="${DURATION:-10}"
subscribers="${SUBSCRIBERS:-1000}"
rate="${RATE:-5000}"
pg_port=55432
nginx_port=55480

. bench/pg-cluster.sh
bench_name=compare
. bench/bench-lib.sh
pg_cluster_install
need=()
[ -x /usr/sbin/nginx ] || need+=(nginx-light)
[ -f /usr/lib/nginx/modules/ngx_nchan_module.so ] || need+=(libnginx-mod-nchan)
if [ "${#need[@]}" -gt 0 ]; then
  echo "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >/dev/null
fi

. bench/release-binaries.sh compare

work="$(mktemp -d /tmp/bankhub-compare.XXXXXX)"
chmod 755 "$work"
nginx_pid=""
job_pid=""
cleanup() {
  # A bankhub-bench told to stop (SIGTERM) stops its hub child and removes its files before it exits.
  stop_pid "$job_pid"
  pg_cluster_stop immediate
  stop_pid "$nginx_pid"
  rm -rf "$work"
}
on_exit cleanup

# verdict FILE: what the bench's correctness fields say.
verdict() {
  local line words=(); line="$(tail -1 "$1" 2>/dev/null || true)"
  if [[ "$line" == *'"conserved":true'* ]]; then words+=("conserved"); elif [[ "$line" == *'"conserved"'* ]]; then words+=("NOT CONSERVED"); fi
  words+=("missing $(field missing "$1")")
  [[ "$line" == *'"out_of_order"'* ]] && words+=("out of order $(field out_of_order "$1")")
  local IFS=,; echo "${words[*]}" | sed 's/,/, /g'
}

load_start="$(load)"
started="$(date -u '+%Y-%m-%d %H:%M UTC')"
machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB"
echo "machine: $machine; load average at start $load_start"

# --- pgbench tpcb-like ----------------------------------------------------------------------------------------
echo "== pgbench tpcb-like: scale $scale, $clients clients, $duration s, -M prepared, fsync=on synchronous_commit=on"
pg_cluster_start "$work" "$pg_port"
pgbench_run "$work" "$pg_port" "$scale" "$clients" "$duration"
pg_cluster_stop
echo "pgbench: tps $pg_tps, p50 $pg_p50 ms, p99 $pg_p99 ms"

# --- hub transfers ---------------------------------------------------------------------------------------------
for flight in "$in_flight" "$in_flight_high"; do
  echo "== hub transfers: $clients connections x $flight in flight, $accounts accounts, $duration s"
  job "$work/transfers-$flight.out" "$bench" transfers --duration "$duration" --connections "$clients" \
    --in-flight "$flight" --accounts "$accounts" --json
  echo "hub: tps $(field tps "$work/transfers-$flight.out"), $(verdict "$work/transfers-$flight.out")"
done

# --- nginx + nchan -------------------------------------------------------------------------------------------
echo "== nginx+nchan: $subscribers WebSocket subscribers, $rate messages/s, $duration s (1 worker)"
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_nchan_module.so;
worker_processes 1;
worker_rlimit_nofile 20000;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 16000; }
http {
  access_log off;
  client_body_temp_path $work/nginx;
  server {
    listen 127.0.0.1:$nginx_port;
    location ~ ^/sub/(\w+)$ { nchan_subscriber websocket; nchan_channel_id \$1; }
    location ~ ^/pub/(\w+)$ { nchan_publisher websocket; nchan_channel_id \$1; }
  }
}
CONF
/usr/sbin/nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" -g 'daemon off;' &
nginx_pid=$!
sleep 1
job "$work/nchan.out" "$bench" peer-fanout --url "ws://127.0.0.1:$nginx_port" --subscribers "$subscribers" \
  --rate "$rate" --duration "$duration" --json
kill "$nginx_pid"; wait "$nginx_pid" 2>/dev/null || true; nginx_pid=""
echo "nchan: p99 $(field p99_ms "$work/nchan.out") ms, missing $(field missing "$work/nchan.out")"

# --- hub fanout ----------------------------------------------------------------------------------------------
echo "== hub fanout: $subscribers subscribers, $rate transfers/s, $duration s"
job "$work/fanout.out" "$bench" fanout --subscribers "$subscribers" --rate "$rate" --duration "$duration" --json
echo "hub: p99 $(field p99_ms "$work/fanout.out") ms, $(verdict "$work/fanout.out")"

# --- the table -----------------------------------------------------------------------------------------------
load_end="$(load)"
row() { printf '%-50s %-20s %-20s %-9s %s\n' "$@"; }
pair() { echo "$1 / $2"; }
cpu() {
  local us cores
  us="$(field "$1_cpu_us_per_transfer" "$2")"; cores="$(field "$1_cpu_cores" "$2")"
  echo "$us ($cores cores)"
}
echo
echo "== one run, $started; $machine; release build; load average $load_start at start, $load_end at end"
row "measure" "hub" "peer" "hub/peer" "target (peer)"
for flight in "$in_flight" "$in_flight_high"; do
  out="$work/transfers-$flight.out"
  tps="$(field tps "$out")"
  row "durable transfers/s, $clients x $flight in flight" "$tps" "$pg_tps" "$(ratio "$tps" "$pg_tps")" \
    "$([ "$flight" = "$in_flight" ] && echo ">= 7x ")(pgbench tpcb-like @$clients, scale $scale, prepared)"
  row "  latency p50 / p99 ms" "$(pair "$(field p50_ms "$out")" "$(field p99_ms "$out")")" "$(pair "$pg_p50" "$pg_p99")" \
    "$(ratio "$(field p99_ms "$out")" "$pg_p99")" "$([ "$flight" = "$in_flight" ] && echo "hub p99 < 25 ms; ")ratio of p99"
  row "  hub CPU microseconds per transfer (cores)" "$(cpu hub "$out")" "" "" "load generator: $(cpu bench "$out")"
  row "  correctness" "" "" "" "hub: $(verdict "$out")"
done
push_targets=("< 2 ms" "< 10 ms" "< 25 ms")
for name in p50 p99 p999 max; do
  label="$name"; [ "$name" = p999 ] && label="p99.9"
  target=""
  case "$name" in p99) target="${push_targets[0]}" ;; p999) target="${push_targets[1]}" ;; max) target="${push_targets[2]}" ;; esac
  hub="$(field "${name}_ms" "$work/fanout.out")"; peer="$(field "${name}_ms" "$work/nchan.out")"
  row "push latency $label ms, $rate/s x $subscribers subscribers" "$hub" "$peer" "$(ratio "$hub" "$peer")" \
    "${target:+$target }(nginx+nchan, commits nothing)"
done
row "  hub CPU microseconds per transfer (cores)" "$(cpu hub "$work/fanout.out")" "" "" "load generator: $(cpu bench "$work/fanout.out")"
row "  correctness" "" "" "" "hub: $(verdict "$work/fanout.out"); nchan: missing $(field missing "$work/nchan.out")"
