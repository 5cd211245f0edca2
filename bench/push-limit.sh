#!/usr/bin/env bash
# Where the push latency's tail comes from (issue 13, "prove the limit"; docs/performance.md, "Reading the CPU
# fields"): `bankhub-bench fanout --json` at each rate of RATES, one after the other, each with its own
# `bankhub serve` child (bankhub-bench starts and stops it; this script starts nothing else), and one table:
# per rate the push latency p50/p99/p99.9/max, the hub's CPU microseconds per transfer and cores, the whole
# machine's busy and idle cores, the run-queue wait of the hub's threads (µs per transfer and ms per second: time
# runnable but waiting for a CPU) and of the load generator's, and the hub threads that waited most (ms per
# second each). If the p99 grows with the rate together with the run-queue wait while the machine's busy cores
# reach its core count, the tail is queueing for CPU. The load average is printed before and after: on
# shared cores the figures depend on it. On exit (also Ctrl-C, SIGTERM) it stops the running bankhub-bench,
# which stops its hub child. About RATES x (DURATION + 4) seconds.
#
# Environment: RATES transfers/s ("1000 2000 3000 4000 5000"), DURATION seconds measured per rate (10),
# SUBSCRIBERS (1000), BANKHUB_BIN (default: a release build of this checkout; bankhub-bench must sit next to it).
set -euo pipefail
cd "$(dirname "$0")/.."

rates="${RATES:-1000 2000 3000 4000 5000}"
duration="${DURATION:-10}"
subscribers="${SUBSCRIBERS:-1000}"

bench_name=push-limit
job_pid=""
. bench/bench-lib.sh
. bench/release-binaries.sh push-limit

work="$(mktemp -d /tmp/bankhub-push-limit.XXXXXX)"
cleanup() {
  # A bankhub-bench told to stop (SIGTERM) stops its hub child and removes its files before it exits.
  stop_pid "$job_pid"
  rm -rf "$work"
}
on_exit cleanup

# check FILE: "ok" when the run lost nothing and conserved the money, otherwise what went wrong.
check() {
  local line; line="$(tail -1 "$1" 2>/dev/null || true)"
  if [[ "$line" != *'"conserved":true'* ]]; then echo "NOT CONSERVED"
  elif [[ "$(field missing "$1")" != 0 ]]; then echo "missing $(field missing "$1")"
  elif [[ "$(field out_of_order "$1")" != 0 ]]; then echo "out of order $(field out_of_order "$1")"
  else echo ok; fi
}

load_start="$(load)"
started="$(date -u '+%Y-%m-%d %H:%M UTC')"
machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "machine: $machine; load average before $load_start"
for rate in $rates; do
  echo "== fanout: $rate transfers/s, $subscribers subscribers, $duration s (load average $(load))"
  job "$work/fanout-$rate.out" "$bench" fanout --rate "$rate" --subscribers "$subscribers" --duration "$duration" --json
done
load_end="$(load)"

echo
echo "== push latency against the rate, $started; $machine; $subscribers subscribers, $duration s per rate; load average $load_start before, $load_end after"
echo "   (ms; busy/idle/cpus: the machine's cores busy and idle of its CPUs; hub and bench run-queue wait: time"
echo "   runnable but waiting for a CPU; threads: comm:ms of wait per s)"
row() { printf '%6s %7s %7s %7s %7s %8s %6s %14s %9s %8s %9s %-13s %s\n' "$@"; }
row "rate/s" "p50" "p99" "p99.9" "max" "hub_us/t" "hub_c" "busy/idle/cpus" "hubwait" "hubwait" "benchwait" "check" "top waiting hub threads"
row "" "" "" "" "" "" "" "" "us/t" "ms/s" "us/t" "" ""
for rate in $rates; do
  out="$work/fanout-$rate.out"
  row "$rate" "$(field p50_ms "$out")" "$(field p99_ms "$out")" "$(field p999_ms "$out")" "$(field max_ms "$out")" \
    "$(field hub_cpu_us_per_transfer "$out")" "$(field hub_cpu_cores "$out")" \
    "$(field machine_busy_cores "$out")/$(field machine_idle_cores "$out")/$(field machine_cores "$out")" \
    "$(field hub_runqueue_wait_us_per_transfer "$out")" "$(field hub_runqueue_wait_ms_per_s "$out")" \
    "$(field bench_runqueue_wait_us_per_transfer "$out")" "$(check "$out")" "$(text_field hub_threads_wait "$out")"
done
