#!/usr/bin/env bash
# Builds what Parapet ships and runs: the two wasm32 modules (release profile: fat LTO, one
# codegen unit, panic=abort), the worker's wasm-bindgen glue, and the native `parapet` host
# (which embeds the Envoy module, so it is built last), and a fault-injection build of the Envoy
# module that only the tests load.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
echo "==> wasm32 modules (release)"
cargo build --release --target wasm32-unknown-unknown -p parapet-envoy -p parapet-edge
echo "==> Envoy module, fault-injection test build (profile fault; tests/e2e/test_faults.py)"
cargo build --profile fault --target wasm32-unknown-unknown -p parapet-envoy --features fault-injection
echo "==> worker glue (wasm-bindgen $WASM_BINDGEN_VERSION)"
wasm-bindgen --target web --out-dir "$ROOT/edge-worker/pkg" --out-name parapet_edge "$EDGE_WASM"
echo "==> parapet host (profile host)"
cargo build --profile host -p parapet-host
ls -l "$ENVOY_WASM" "$ROOT/edge-worker/pkg/parapet_edge_bg.wasm" "$CARGO_TARGET_DIR/host/parapet" | awk '{print $5, $9}'
