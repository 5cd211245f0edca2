# Sourced by bench/compare.sh and bench/pg-compare.sh: the helpers both use. Set `bench_name` (for messages)
# and `job_pid=""` (the caller's clean-up trap kills a running job) before sourcing.
#   job OUT CMD...          runs CMD in the background with stdout in OUT and stderr in OUT.err and waits for it, so
#                           a signal reaches the clean-up at once instead of after CMD; a failure is reported, not
#                           fatal (the table shows what is missing)
#   field NAME FILE         a number from the JSON line (last line) of a bankhub-bench output file; n/a when absent
#   text_field NAME FILE    a string from the same JSON line (no escapes inside); n/a when absent
#   ratio A B               A / B as "1.23x"; n/a when either is missing
#   load                    the machine's load averages (1, 5, 15 min)
#   percentile Q            the Q-th percentile (0-100) of the sorted numbers on stdin (microseconds), in ms
#   stop_pid PID            kills PID (if set) and waits for it
#   on_exit FUNCTION        runs FUNCTION on exit, and turns HUP, INT and TERM into exits (so it runs on them too)
#   pgbench_run WORK PORT SCALE CLIENTS DURATION
#                           pgbench tpcb-like on the running pg-cluster.sh cluster (initialised at SCALE, -M prepared,
#                           CLIENTS clients, DURATION s, -l: one line per transaction, its latency in µs the third
#                           field); sets pg_tps, pg_p50, pg_p99 (ms) and pg_machine ("busy B / idle I cores" of the
#                           whole machine while pgbench ran, from /proc/stat as bankhub-bench's machine_* fields)
#   machine_ticks           "busy idle" clock ticks of the whole machine so far (first line of /proc/stat)
#   machine_of FILE         "busy B / idle I cores" from a bankhub-bench output file (its machine_* fields)
#   machine_cores_since TICKS START
#                           "busy B / idle I cores" since `machine_ticks` said TICKS at `date +%s.%N` START

job() {
  local out="$1"; shift
  "$@" >"$out" 2>"$out.err" &
  job_pid=$!
  if ! wait "$job_pid"; then echo "$bench_name: $* failed; last lines:" >&2; tail -n 5 "$out.err" "$out" >&2; fi
  job_pid=""
}

field() {
  local value
  value="$(tail -1 "$2" 2>/dev/null | grep -oE "\"$1\":-?[0-9.]+" | head -1 | cut -d: -f2 || true)"
  echo "${value:-n/a}"
}

text_field() {
  local value
  value="$(tail -1 "$2" 2>/dev/null | grep -oE "\"$1\":\"[^\"]*\"" | head -1 | cut -d: -f2- | tr -d '"' || true)"
  echo "${value:-n/a}"
}

stop_pid() { if [ -n "$1" ]; then kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; fi; }

on_exit() {
  trap "$1" EXIT
  trap 'exit 129' HUP
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "n/a" && b != "n/a" && b > 0) printf "%.2fx", a / b; else print "n/a" }'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
percentile() { awk -v q="$1" '{ v[NR] = $1 } END { if (NR == 0) { print "n/a"; exit } i = int(NR * q / 100 + 0.999999); if (i < 1) i = 1; printf "%.3f", v[i] / 1000 }'; }

machine_ticks() {
  # user nice system idle iowait irq softirq steal: busy as bankhub-bench counts it (MachineCPU.swift).
  awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6; exit }' /proc/stat
}
machine_of() { echo "busy $(field machine_busy_cores "$1") / idle $(field machine_idle_cores "$1") cores"; }
machine_cores_since() {
  local now; now="$(machine_ticks)"
  awk -v before="$1" -v now="$now" -v start="$2" -v end="$(date +%s.%N)" -v hz="$(getconf CLK_TCK)" 'BEGIN {
    split(before, b, " "); split(now, n, " "); seconds = end - start
    if (seconds <= 0) { print "n/a"; exit }
    printf "busy %.2f / idle %.2f cores", (n[1] - b[1]) / hz / seconds, (n[2] - b[2]) / hz / seconds }'
}

pgbench_run() {
  local work="$1" port="$2" scale="$3" clients="$4" duration="$5"
  pg_as_postgres "$pg_bin/pgbench" -h 127.0.0.1 -p "$port" -U postgres -i -q -s "$scale" postgres >/dev/null 2>&1
  local ticks started
  ticks="$(machine_ticks)"; started="$(date +%s.%N)"
  job "$work/pgbench.out" pg_as_postgres "$pg_bin/pgbench" -h 127.0.0.1 -p "$port" -U postgres -M prepared \
    -c "$clients" -j 2 -T "$duration" -l --log-prefix="$work/pgbench_log" postgres
  pg_machine="$(machine_cores_since "$ticks" "$started")"
  pg_tps="$(sed -nE 's/^tps = ([0-9]+\.?[0-9]?).*/\1/p' "$work/pgbench.out" | head -1)"
  pg_tps="${pg_tps:-n/a}"
  cat "$work"/pgbench_log.* 2>/dev/null | awk '{ print $3 }' | sort -n >"$work/pg_latency_us" || true
  pg_p50="$(percentile 50 <"$work/pg_latency_us")"
  pg_p99="$(percentile 99 <"$work/pg_latency_us")"
}
