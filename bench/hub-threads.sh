#!/usr/bin/env bash
# One SQLite hub as a process of its own and one bankhub-bench scenario against it, then per hub thread what the
# run cost: CPU clock ticks (/proc/PID/task/TID/stat utime + stime) and context switches (voluntary + involuntary,
# /proc/PID/task/TID/status), keyed by thread id and name (docs/performance.md, "The push tail, measured").
#   bench/hub-threads.sh BINDIR SCENARIO [bankhub-bench arguments...]
# BINDIR holds `bankhub` and `bankhub-bench` (e.g. .build/release). Prints the run's JSON figures (latency, CPU,
# the machine's busy cores, run-queue waits) on one line, then "tid:name ticks cs;" per thread, busiest first.
# Environment (all optional): HUBENV "NAME=value …" for the hub's environment (A/B switches such as
# BANKHUB_IDLE_COMMITS_INLINE=off); HUBARGS more `serve` arguments (e.g. "--metrics-port 9464"); METRICS a port to
# save /metrics from after the run (to /tmp/metrics.txt); TMPBASE the directory of the database (/tmp; /dev/shm
# takes the disk's fsync out of the path — an experiment, nothing is durable there); RENICE a nice value for
# every hub thread before the run (needs root for negative values). Stops the hub on exit.
set -u
bin=$1; shift; scen=$1; shift
d=$(mktemp -d "${TMPBASE:-/tmp}/hub-threads.XXXXXX"); mkdir -p "$d/web"
# shellcheck disable=SC2086  # HUBENV and HUBARGS are lists of words
env ${HUBENV:-} "$bin/bankhub" serve --host 127.0.0.1 --port 0 --db "$d/b.sqlite" --web "$d/web" \
  --password-iterations 1000 --log-level warning --no-rate-limits --burst-transfers 1000000000 \
  --connections-max 19500 --connections-per-address-max 19500 ${HUBARGS:-} > "$d/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$d"' EXIT
for _ in $(seq 100); do grep -q '://127.0.0.1:' "$d/serve.log" && break; sleep 0.1; done
port=$(grep -o '://127.0.0.1:[0-9]*' "$d/serve.log" | head -1 | sed 's/.*://')
[ -n "$port" ] || { echo "hub-threads: the hub did not start:" >&2; cat "$d/serve.log" >&2; exit 1; }
snapshot() {
  for t in /proc/$pid/task/*; do
    echo "$(basename "$t"):$(tr ' ' _ < "$t/comm") $(awk '{print $14 + $15}' "$t/stat")" \
         "$(awk '/^voluntary_ctxt/ {v = $2} /^nonvoluntary_ctxt/ {n = $2} END {print v + n}' "$t/status")"
  done | sort
}
if [ -n "${RENICE:-}" ]; then for t in /proc/$pid/task/*; do renice -n "$RENICE" -p "$(basename "$t")" >/dev/null; done; fi
snapshot > "$d/before"
"$bin/bankhub-bench" "$scen" --url "ws://127.0.0.1:$port/ws" --db "$d/b.sqlite" --hub-pid "$pid" --json "$@" > "$d/out" 2>&1
snapshot > "$d/after"
if [ -n "${METRICS:-}" ]; then curl -s "http://127.0.0.1:$METRICS/metrics" > /tmp/metrics.txt; fi
tail -n 1 "$d/out" | python3 -c 'import json, sys
j = json.loads(sys.stdin.read())
keys = ("p50", "p99", "max", "tps", "cpu", "missing", "per_s", "rate", "machine", "wait")
print({k: v for k, v in j.items() if any(s in k for s in keys)})'
join "$d/before" "$d/after" | awk '{ d = $4 - $2; if (d > 0) printf "%s %d ticks %d cs\n", $1, d, $5 - $3 }' \
  | sort -k2 -nr | tr '\n' ';'
echo
