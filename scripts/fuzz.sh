#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo fuzz, libFuzzer) of the parsers, the SSE screen, every rule
# detector, text normalisation and the config compiler. Targets: fuzz/fuzz_targets/; seed
# corpora: fuzz/corpus/<target>/ (committed; new inputs the fuzzer finds stay in the cache).
#   bash scripts/fuzz.sh                 every target for FUZZ_SECONDS (default 60) each
#   bash scripts/fuzz.sh sse_stream 600  one target for 600 s
# Prints executions and crashes per target; exits 1 if any target crashed (the crashing input
# is in fuzz/artifacts/<target>/). The stable toolchain builds it with RUSTC_BOOTSTRAP=1 (cargo
# fuzz passes -Z flags); AddressSanitizer is off (safe Rust; the fuzzers look for panics).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT/fuzz"
CARGO_FUZZ_VERSION=0.13.1
if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  cargo install cargo-fuzz --version "=$CARGO_FUZZ_VERSION" --locked
fi
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="$PARAPET_CACHE/fuzz-target"
targets=("${1:-}")
[ -z "${1:-}" ] && mapfile -t targets < <(cargo fuzz list)
secs="${2:-${FUZZ_SECONDS:-60}}"
cargo fuzz build -O -s none
work="$PARAPET_CACHE/fuzz-corpus"
failed=0
printf '%-12s %10s %8s %8s\n' target executions seconds crashes
for t in "${targets[@]}"; do
  mkdir -p "$work/$t" "artifacts/$t"
  log="$work/$t.log"
  set +e
  # The committed seeds are read, new inputs go to the cache: the repo only changes by hand.
  cargo fuzz run -O -s none "$t" "$work/$t" "corpus/$t" -- -max_total_time="$secs" -print_final_stats=1 \
    -rss_limit_mb=4096 -timeout=20 >"$log" 2>&1
  rc=$?
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  crashes=$(ls "artifacts/$t" 2>/dev/null | grep -c '^crash-\|^timeout-\|^oom-' || true)
  printf '%-12s %10s %8s %8s\n' "$t" "${execs:-0}" "$secs" "$crashes"
  if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    failed=1
    tail -30 "$log"
  fi
done
exit $failed
