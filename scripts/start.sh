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
# compile last (the HTTP stack, the S3 client): they use what the module's build leaves idle
# (its fat-LTO link is single-threaded) without slowing it: 658 -> 615 s from an empty cache to
# the first answer (docs/benchmarks.md).
mkdir -p "$CARGO_TARGET_DIR"
( nice -n 19 cargo build --profile host -p object_store -p reqwest -p hyper-util -p tokio \
    >"$CARGO_TARGET_DIR/.start-prebuild.log" 2>&1 || true ) &
prebuild=$!
# JSON messages on stdout (the usual progress stays on stderr): they name the OUT_DIR where the
# detector core's build script converted the guard model.
cargo build --release --target wasm32-unknown-unknown -p parapet-envoy --message-format=json-render-diagnostics \
  >"$CARGO_TARGET_DIR/.start-module.json"
converted=$(grep '"reason":"build-script-executed"' "$CARGO_TARGET_DIR/.start-module.json" |
  grep '#parapet-filter@' | sed -E 's/.*"out_dir":"([^"]*)".*/\1/' | tail -n 1)
wait "$prebuild"
step "parapet host (profile host)"
# The host's detector core copies that conversion (checked against its inputs' digest) instead
# of compiling tract's ONNX importer a second time (filter/build.rs).
# The host's own crate (command line, HTTP glue; the last thing compiled, alone on the critical
# path) at opt-level 1: 33 -> 13 s. The detector core, tract and wasmtime stay at opt-level 3,
# and the verdicts come from the embedded module either way.
# (Should cargo name no OUT_DIR, the host converts the model itself, as every other build does.)
features=(--no-default-features)
[ -n "$converted" ] || features=()
PARAPET_CONVERTED_MODEL="$converted" cargo build --profile host -p parapet-host "${features[@]}" \
  --config 'profile.host.package.parapet-host.opt-level=1'
exec "$CARGO_TARGET_DIR/host/parapet" serve --addr 127.0.0.1:8080 "$@"
