#!/usr/bin/env bash
# The main job: build only what `parapet serve` needs (the wasm32 target, the Envoy filter module
# the host embeds, and the `parapet` host) and serve the Lakera-compatible guard API from the
# wasmtime host with the embedded default configuration (or pass --config FILE / --addr HOST:PORT).
# Tests and benchmarks install the rest themselves (scripts/setup.sh, scripts/build.sh).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
step() { printf '==> %s\n' "$*"; }
step "rust target wasm32-unknown-unknown"
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
# The host's dependencies build at normal priority while the module builds at the lowest, in
# the time they leave a core idle (the module's fat-LTO link is single-threaded); then the host
# itself, which embeds the module. Measured from an empty cache (docs/benchmarks.md, "From clone
# to first answer"): one after the other 658 s to the first answer; both at equal priority 694 s.
mkdir -p "$CARGO_TARGET_DIR"
module_log="$CARGO_TARGET_DIR/.start-module.log"
step "Envoy filter module (release: fat LTO), in the background at the lowest CPU priority: $module_log"
nice -n 19 cargo build --release --target wasm32-unknown-unknown -p parapet-envoy >"$module_log" 2>&1 &
module=$!
step "the host's dependencies (profile host)"
cargo build --profile host -p wasmtime -p tract-nnef -p object_store -p reqwest -p hyper-util -p tokio -p zstd
step "waiting for the Envoy module"
if ! wait "$module"; then
  tail -40 "$module_log" >&2
  exit 1
fi
grep -E '^ +Finished' "$module_log" || true
step "parapet host (profile host)"
cargo build --profile host -p parapet-host
exec "$CARGO_TARGET_DIR/host/parapet" serve --addr 127.0.0.1:8080 "$@"
