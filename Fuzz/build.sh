#!/usr/bin/env bash
# Builds the libFuzzer targets outside SwiftPM, so the product build is untouched.
#
# BankCore and BankWire are compiled as modules (one object file each) with the fuzzer's coverage
# instrumentation and AddressSanitizer, optimised but with `assert` kept (-assert-config Debug); each harness
# in Fuzz/Targets/ is then linked against them with libFuzzer's main. Only what changed is rebuilt.
#
#   Fuzz/build.sh [OUT]     OUT defaults to .build/fuzz; binaries land in OUT/bin/fuzz-<target>
#   FUZZ_COVERAGE=1 Fuzz/build.sh OUT
#                           the same targets without ASan, unoptimised and with source-based coverage
#                           (-profile-generate -profile-coverage-mapping), to measure what a corpus reaches
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-.build/fuzz}"
mkdir -p "$out/modules" "$out/obj" "$out/bin"

if [ "${FUZZ_COVERAGE:-0}" = 1 ]; then
  mode=(-Onone -sanitize=fuzzer -profile-generate -profile-coverage-mapping)
else
  mode=(-O -assert-config Debug -sanitize=fuzzer,address)
fi
flags=(-swift-version 6 -g "${mode[@]}" -parse-as-library -use-ld=lld -I "$out/modules")

# True when $1 is missing or older than any of the files after it.
stale() {
  local target="$1"; shift
  [ -e "$target" ] || return 0
  local source
  for source in "$@"; do [ "$source" -nt "$target" ] && return 0; done
  return 1
}

# build_module NAME [DEPENDENCY objects...]: Sources/NAME/**/*.swift -> OUT/obj/NAME.o + OUT/modules/NAME.swiftmodule
build_module() {
  local name="$1"; shift
  local sources; mapfile -t sources < <(find "Sources/$name" -name '*.swift' | sort)
  if stale "$out/obj/$name.o" "${sources[@]}" "$@" Fuzz/build.sh; then
    echo "fuzz build: module $name (${#sources[@]} files)"
    swiftc "${flags[@]}" -module-name "$name" -enable-testing -wmo -c "${sources[@]}" -o "$out/obj/$name.o" \
      -emit-module -emit-module-path "$out/modules/$name.swiftmodule"
  fi
}

build_module BankCore
build_module BankWire "$out/obj/BankCore.o"

support=(Fuzz/Support/*.swift)
for harness in Fuzz/Targets/*.swift; do
  target="$(basename "$harness" .swift)"
  binary="$out/bin/fuzz-$target"
  if stale "$binary" "$harness" "${support[@]}" "$out/obj/BankCore.o" "$out/obj/BankWire.o"; then
    echo "fuzz build: fuzz-$target"
    swiftc "${flags[@]}" -module-name "Fuzz_$target" "$harness" "${support[@]}" \
      "$out/obj/BankCore.o" "$out/obj/BankWire.o" -o "$binary"
  fi
done
