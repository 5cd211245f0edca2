# Sourced by bench/*.sh: sets `bin` (bankhub) and `bench` (bankhub-bench next to it), building release binaries
# of this checkout unless BANKHUB_BIN names a bankhub executable. $1 names the caller in the error message.
bin="${BANKHUB_BIN:-}"
if [ -z "$bin" ]; then
  swift build -c release --product bankhub >/dev/null
  swift build -c release --product bankhub-bench >/dev/null
  bin="$(swift build -c release --show-bin-path)/bankhub"
fi
bench="$(dirname "$bin")/bankhub-bench"
[ -x "$bench" ] || { echo "$1: no bankhub-bench next to $bin" >&2; exit 1; }
