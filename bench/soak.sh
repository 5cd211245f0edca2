#!/usr/bin/env bash
# Memory soak (docs/performance.md): a `bankhub serve` child on a temporary database under `transfers` and
# `fanout` at once for SOAK_SECONDS (600), sampling the hub's VmRSS every 30 s. Bounded queues and no leak
# show as an RSS that levels off instead of climbing with the number of transfers.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${SOAK_SECONDS:-600}"
bin="${BANKHUB_BIN:-$(swift build -c release --show-bin-path)/bankhub}"
bench="$(dirname "$bin")/bankhub-bench"
work="$(mktemp -d /tmp/bankhub-soak.XXXXXX)"
port=55490
"$bin" serve --host 127.0.0.1 --port "$port" --db "$work/soak.sqlite" --web "$work" --password-iterations 1000 \
  --log-level warning --no-rate-limits --burst-transfers 1000000000 --connections-per-address-max 19000 \
  >"$work/serve.log" 2>&1 &
hub=$!
trap 'kill $hub 2>/dev/null || true; wait $hub 2>/dev/null || true; rm -rf "$work"' EXIT
sleep 1
"$bench" fanout --url "ws://127.0.0.1:$port/ws" --db "$work/soak.sqlite" --subscribers 1000 --rate 2000 \
  --duration "$seconds" --json >"$work/fanout.out" 2>&1 &
fan=$!
"$bench" transfers --url "ws://127.0.0.1:$port/ws" --db "$work/soak.sqlite" --connections 4 --in-flight 8 \
  --duration "$seconds" --json >"$work/transfers.out" 2>&1 &
tra=$!
for ((t = 0; t <= seconds; t += 30)); do
  echo "t=${t}s hub_rss_kib=$(awk '/VmRSS/ {print $2}' /proc/$hub/status) db_mib=$(( $(du -sk "$work" | cut -f1) / 1024 ))"
  sleep 30
done
wait $fan || true; wait $tra || true
echo "fanout:    $(tail -1 "$work/fanout.out")"
echo "transfers: $(tail -1 "$work/transfers.out")"
echo "end hub_rss_kib=$(awk '/VmRSS/ {print $2}' /proc/$hub/status)"
