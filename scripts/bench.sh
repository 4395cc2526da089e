#!/usr/bin/env bash
# Every benchmark, one command (docs/benchmarks.md). Figures, no pass/fail:
#   1. criterion: each detector and the default policy, 100 B .. 1 MB, native and wasm in wasmtime
#   2. cold start and memory, and the guard model's budget (tests/bench/model_budget.py)
#   3. end to end: latency added by Envoy's filter, workerd and parapet serve; rps at saturation
#   4. mixed traffic on one Envoy worker (tests/bench/mixed.py); a 30k document offloaded
#      (tests/bench/offload.py); Envoy holding a JSON response's headers against sending them first (tests/bench/hold.py)
#   5. with --soak: load and soak through Envoy and parapet serve (SOAK_MINUTES per level, default 10)
# Results: tests/bench/results/ (ignored by git). Run on an otherwise idle machine.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
SOAK=0
for a in "$@"; do
  case "$a" in
    --soak) SOAK=1 ;;
    *) echo "usage: bash scripts/bench.sh [--soak]" >&2; exit 2 ;;
  esac
done
OUT="$ROOT/tests/bench/results"
mkdir -p "$OUT"
PY="$PARAPET_VENV/bin/python"
bash scripts/setup.sh >/dev/null
bash scripts/build.sh >/dev/null
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average $(cut -d' ' -f1-3 /proc/loadavg)"

echo "==> criterion: detectors and the default policy, native and wasm (about 10 minutes)"
rm -rf "$CARGO_TARGET_DIR/criterion"
cargo bench --profile host -p parapet-host --bench detectors 2>&1 | grep -E '^(native|wasm)/|time:|thrpt:' || true
"$PY" tests/bench/criterion_table.py --json "$OUT/criterion.json" | tee "$OUT/criterion.md"

echo "==> cold start, memory and the guard model's budget"
"$PY" tests/bench/model_budget.py | tee "$OUT/model_budget.txt"

echo "==> end to end: Envoy with and without the filter, workerd, parapet serve"
"$PY" tests/bench/e2e.py --out "$OUT/e2e.json" | tee "$OUT/e2e.md"

echo "==> mixed traffic on one Envoy worker: short requests beside 30k documents"
"$PY" tests/bench/mixed.py --out "$OUT/mixed.json" | tee "$OUT/mixed.md"

echo "==> a 30k document in-process and offloaded to the scoring service"
"$PY" tests/bench/offload.py --out "$OUT/offload.json" | tee "$OUT/offload.md"

echo "==> Envoy holding a JSON response's headers against sending them first"
"$PY" tests/bench/hold.py --out "$OUT/hold.json" | tee "$OUT/hold.md"

if [ "$SOAK" = 1 ]; then
  echo "==> load and soak: ${SOAK_MINUTES:-10} minutes per level"
  "$PY" tests/bench/soak.py --minutes "${SOAK_MINUTES:-10}" --levels "${SOAK_LEVELS:-1,8,32}" --out "$OUT/soak.json" | tee "$OUT/soak.md"
fi
echo "results in $OUT"
