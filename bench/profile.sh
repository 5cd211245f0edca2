#!/usr/bin/env bash
# Where the hub's CPU goes during `bankhub-bench transfers` (by default its default shape: 16 connections x 8
# in flight on 64 accounts), for the "top costs before/after" in docs/performance.md. `perf record -g` follows
# the hub child (a `bankhub serve` process of its own, started by bankhub-bench) over the measured window
# only, then prints
#   - the run's own table (transfers/s, latency, CPU per transfer: perf's sampling costs a little, so these
#     are not figures to compare with unprofiled runs),
#   - perf report --no-children --sort symbol: the top 15 (Swift names demangled),
#   - perf report --no-children --sort dso: the split between the hub's code, SQLite, libc, the kernel, ...,
#   - perf report --no-children --sort comm, and --sort pid (per thread id, with each busy thread's top 3
#     symbols): the split between the hub's threads.
# Prints the machine's load average at the start and the end. Stops the benchmark, the hub and perf and
# removes its files on exit (also on Ctrl-C or SIGTERM).
#
# Environment: BANKHUB_BIN (default: a release build of this checkout; bankhub-bench must sit next to it),
# DURATION seconds measured and profiled (10), FREQUENCY samples/s (499), CALL_GRAPH (fp; or dwarf, deeper
# stacks through libraries built without frame pointers, ~8 KiB per sample), BENCH_ARGS (more `transfers`
# options, e.g. "--in-flight 64"), KEEP (a folder to keep perf.data and the reports in).
# Installs linux-perf with apt-get when perf is missing. Needs root (or kernel.perf_event_paranoid <= 1).
set -euo pipefail
cd "$(dirname "$0")/.."

duration="${DURATION:-10}"
frequency="${FREQUENCY:-499}"
call_graph="${CALL_GRAPH:-fp}"
read -r -a bench_args <<<"${BENCH_ARGS:-}"

if ! command -v perf >/dev/null; then
  echo "installing linux-perf"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends linux-perf >/dev/null
fi
. bench/release-binaries.sh profile
demangle=(cat)
command -v swift-demangle >/dev/null && demangle=(swift-demangle --simplified)

work="$(mktemp -d /tmp/bankhub-profile.XXXXXX)"
bench_pid=""
perf_pid=""
cleanup() {
  if [ -n "$perf_pid" ]; then kill -INT "$perf_pid" 2>/dev/null || true; wait "$perf_pid" 2>/dev/null || true; fi
  # A bankhub-bench told to stop (SIGTERM) stops its hub child and removes its files before it exits.
  if [ -n "$bench_pid" ]; then kill "$bench_pid" 2>/dev/null || true; wait "$bench_pid" 2>/dev/null || true; fi
  if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP" && cp -r "$work"/. "$KEEP"/ && echo "profile: kept in $KEEP"; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
"$bench" transfers --duration "$duration" ${bench_args[@]+"${bench_args[@]}"} --json >"$work/bench.out" 2>"$work/bench.err" &
bench_pid=$!

# wait_for TEXT: until bankhub-bench's progress (stderr) shows TEXT; fails when the benchmark ended first.
wait_for() {
  until grep -q "$1" "$work/bench.err"; do
    if ! kill -0 "$bench_pid" 2>/dev/null; then
      echo "profile: bankhub-bench ended before \"$1\":" >&2; tail -5 "$work/bench.err" "$work/bench.out" >&2; exit 1
    fi
    sleep 0.1
  done
}
wait_for "hub: bankhub serve, pid "
hub_pid="$(sed -nE 's/.*hub: bankhub serve, pid ([0-9]+),.*/\1/p' "$work/bench.err" | head -1)"
wait_for "measuring for "
perf record -F "$frequency" --call-graph "$call_graph" -p "$hub_pid" -o "$work/perf.data" -- sleep "$duration" \
  >"$work/perf.log" 2>&1 &
perf_pid=$!
wait "$perf_pid" || { echo "profile: perf record failed:" >&2; cat "$work/perf.log" >&2; exit 1; }
perf_pid=""
wait "$bench_pid" || echo "profile: bankhub-bench exited with status $? (its table follows)" >&2
bench_pid=""

echo "== bankhub-bench transfers ${BENCH_ARGS:-} (hub pid $hub_pid, profiled: $frequency Hz, --call-graph $call_graph, ${duration} s)"
head -n -1 "$work/bench.out"
report() { perf report -i "$work/perf.data" --stdio --no-children -g none --percent-limit 0.1 "$@" 2>/dev/null; }
# rows N: the report's first N entry lines (not its # header), without the empty columns perf pads them with;
# reads all its input, so perf never writes into a closed pipe.
rows() { awk -v n="$1" '/^ +[0-9]+\.[0-9]+%/ && c < n { sub(/[ \t-]+$/, ""); print; c++ }'; }
echo
echo "== top 15 symbols (self time, hub process)"
report --sort symbol | rows 15 | "${demangle[@]}" | tee "$work/top-symbols.txt"
echo
echo "== by library (dso)"
report --sort dso | rows 12 | tee "$work/top-dso.txt"
echo
# --sort comm splits by thread name; the hub's threads share their creator's name today (Foundation's
# Thread.name does not reach the kernel from outside the thread), so split by thread id too, with each busy
# thread's top symbols to tell which is which (the writer's are SQLite's, the lws service thread's lws').
echo "== by thread name (comm)"
report --sort comm | rows 20 | tee "$work/top-comm.txt"
echo
echo "== by thread (tid:comm), each with its top 3 symbols (percentages of all samples)"
report --sort pid | rows 8 >"$work/top-threads.txt"
report --sort pid,symbol --percent-limit 0 | rows 100000 >"$work/thread-symbols.txt"
while read -r share thread; do
  echo "$share $thread"
  awk -v t="$thread" '$2 == t && c < 3 { $2 = ""; print "    " $0; c++ }' "$work/thread-symbols.txt" | "${demangle[@]}"
done <"$work/top-threads.txt"
echo
echo "samples: $(perf report -i "$work/perf.data" --stdio --no-children -g none --sort comm 2>/dev/null \
  | sed -nE 's/^# Samples: ([0-9A-Za-z]+).*/\1/p' | head -1); load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
