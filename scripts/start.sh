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

# The two builds run side by side: the module's fat-LTO link is single-threaded, so the host's
# dependencies use the other core meanwhile. The host's build script waits for the module (it
# embeds it) through the status file; a last sequential host build relinks if the module changed
# after the host's build script had looked at it.
mkdir -p "$CARGO_TARGET_DIR"
status="$CARGO_TARGET_DIR/.start-module-status"
rm -f "$status"
step "Envoy filter module (release: fat LTO) and parapet host (profile host), side by side"
( if cargo build --release --target wasm32-unknown-unknown -p parapet-envoy; then echo ok >"$status"; else echo failed >"$status"; fi ) &
module=$!
PARAPET_MODULE_STATUS="$status" cargo build --profile host -p parapet-host || { wait "$module" || true; exit 1; }
wait "$module"
[ "$(cat "$status")" = ok ] || exit 1
cargo build --profile host -p parapet-host
exec "$CARGO_TARGET_DIR/host/parapet" serve --addr 127.0.0.1:8080 "$@"
