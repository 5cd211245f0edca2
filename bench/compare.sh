#!/usr/bin/env bash
# Side by side on this machine, in one run (see docs/performance.md):
#   1. PostgreSQL's pgbench tpcb-like (durable commits: fsync=on, synchronous_commit=on) vs the hub's
#      `transfers` scenario at the same client count;
#   2. nginx with the nchan module (WebSocket pub/sub, commits nothing) vs the hub's `fanout` scenario at
#      the same subscriber count and rate.
# Prints each figure and the ratio hub / peer. Loopback only, bounded in time (~2 minutes), and it removes
# its temporary clusters, configs and processes on exit. Installs postgresql, nginx-light and
# libnginx-mod-nchan with apt-get when they are missing (needs root, as the rest of scripts/ does).
#
# Environment: CLIENTS (16), PG_SCALE (16), DURATION seconds per run (10), SUBSCRIBERS (1000), RATE (5000),
# BANKHUB_BIN (default: a release build of this checkout).
set -euo pipefail
cd "$(dirname "$0")/.."

clients="${CLIENTS:-16}"
scale="${PG_SCALE:-16}"
duration="${DURATION:-10}"
subscribers="${SUBSCRIBERS:-1000}"
rate="${RATE:-5000}"
pg_port=55432
nginx_port=55480

need=()
command -v pgbench >/dev/null || need+=(postgresql postgresql-contrib)
[ -x /usr/sbin/nginx ] || need+=(nginx-light)
[ -f /usr/lib/nginx/modules/ngx_nchan_module.so ] || need+=(libnginx-mod-nchan)
if [ "${#need[@]}" -gt 0 ]; then
  echo "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >/dev/null
fi
pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"

bin="${BANKHUB_BIN:-}"
if [ -z "$bin" ]; then
  swift build -c release --product bankhub >/dev/null
  swift build -c release --product bankhub-bench >/dev/null
  bin="$(swift build -c release --show-bin-path)/bankhub"
fi

bench="$(dirname "$bin")/bankhub-bench"
work="$(mktemp -d /tmp/bankhub-compare.XXXXXX)"
chmod 755 "$work"
nginx_pid=""
cleanup() {
  if [ -f "$work/pg/postmaster.pid" ]; then
    runuser -u postgres -- "$pg_bin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
  fi
  if [ -n "$nginx_pid" ]; then kill "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# field NAME JSON: a number from the bench's JSON line.
field() { sed -E "s/.*\"$1\":([-0-9.]+).*/\1/" <<<"$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB; load $(cut -d' ' -f1-3 /proc/loadavg)"

# --- 1. pgbench tpcb-like ------------------------------------------------------------------------------
echo "== pgbench tpcb-like: scale $scale, $clients clients, $duration s, fsync=on synchronous_commit=on"
chown postgres "$work"
runuser -u postgres -- "$pg_bin/initdb" -D "$work/pg" -A trust -U postgres >/dev/null
runuser -u postgres -- "$pg_bin/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w start \
  -o "-p $pg_port -k $work -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c max_connections=100 -c shared_buffers=512MB" >/dev/null
runuser -u postgres -- "$pg_bin/pgbench" -h 127.0.0.1 -p "$pg_port" -U postgres -i -q -s "$scale" postgres >/dev/null 2>&1
pg_out="$(runuser -u postgres -- "$pg_bin/pgbench" -h 127.0.0.1 -p "$pg_port" -U postgres -M prepared \
  -c "$clients" -j 2 -T "$duration" postgres 2>&1)"
pg_tps="$(sed -nE 's/^tps = ([0-9.]+) .*/\1/p' <<<"$pg_out" | head -1)"
pg_latency="$(sed -nE 's/^latency average = ([0-9.]+) ms/\1/p' <<<"$pg_out")"
runuser -u postgres -- "$pg_bin/pg_ctl" -D "$work/pg" -m fast -w stop >/dev/null
echo "pgbench: tps $pg_tps, latency average $pg_latency ms"

echo "== hub transfers: $clients connections, $duration s"
hub_out="$({ "$bench" transfers --duration "$duration" --connections "$clients" --json 2>/dev/null || true; } | tail -1)"
hub_tps="$(field tps "$hub_out")"
echo "hub: tps $hub_tps, p50 $(field p50_ms "$hub_out") ms, p99 $(field p99_ms "$hub_out") ms, conserved $(grep -q '"conserved":true' <<<"$hub_out" && echo yes || echo NO)"

# --- 2. nginx + nchan ----------------------------------------------------------------------------------
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
nchan_out="$({ "$bench" peer-fanout --url "ws://127.0.0.1:$nginx_port" --subscribers "$subscribers" --rate "$rate" \
  --duration "$duration" --json 2>/dev/null || true; } | tail -1)"
kill "$nginx_pid"; wait "$nginx_pid" 2>/dev/null || true; nginx_pid=""
echo "nchan: p50 $(field p50_ms "$nchan_out") ms, p99 $(field p99_ms "$nchan_out") ms, max $(field max_ms "$nchan_out") ms, missing $(field missing "$nchan_out")"

echo "== hub fanout: $subscribers subscribers, $rate transfers/s, $duration s"
fan_out="$({ "$bench" fanout --subscribers "$subscribers" --rate "$rate" --duration "$duration" --json 2>/dev/null || true; } | tail -1)"
echo "hub: p50 $(field p50_ms "$fan_out") ms, p99 $(field p99_ms "$fan_out") ms, max $(field max_ms "$fan_out") ms, missing $(field missing "$fan_out"), errors $(sed -E 's/.*"errors":(\{[^}]*\}).*/\1/' <<<"$fan_out")"

echo "== ratios (hub / peer)"
echo "transfers/s           hub/pgbench  $(ratio "$hub_tps" "$pg_tps")   ($hub_tps / $pg_tps; target >= 7)"
echo "push p50 latency      hub/nchan    $(ratio "$(field p50_ms "$fan_out")" "$(field p50_ms "$nchan_out")")"
echo "push p99 latency      hub/nchan    $(ratio "$(field p99_ms "$fan_out")" "$(field p99_ms "$nchan_out")")   (lower is better; the hub's includes a durable commit)"
