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
step "Envoy filter module (release: fat LTO; the host embeds it)"
# Meanwhile, at the lowest CPU priority, some of the host's dependencies that would otherwise
# compile last (the HTTP stack, the S3 client, zstd for wasmtime's code cache): they use what
# the module's build leaves idle (its fat-LTO link is single-threaded) without slowing it:
# 658 -> 615 s from an empty cache to the first answer (docs/benchmarks.md).
mkdir -p "$CARGO_TARGET_DIR"
( nice -n 19 cargo build --profile host -p object_store -p reqwest -p hyper-util -p tokio -p zstd \
    >"$CARGO_TARGET_DIR/.start-prebuild.log" 2>&1 || true ) &
prebuild=$!
cargo build --release --target wasm32-unknown-unknown -p parapet-envoy
wait "$prebuild"
step "parapet host (profile host)"
cargo build --profile host -p parapet-host
exec "$CARGO_TARGET_DIR/host/parapet" serve --addr 127.0.0.1:8080 "$@"
