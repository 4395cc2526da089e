#!/usr/bin/env bash
# The main job: set up, build, and serve the Lakera-compatible guard API from the wasmtime host
# with the embedded default configuration (or pass --config FILE / --addr HOST:PORT).
set -euo pipefail
source "$(dirname "$0")/env.sh"
bash "$ROOT/scripts/setup.sh"
bash "$ROOT/scripts/build.sh"
exec "$CARGO_TARGET_DIR/host/parapet" serve --addr 127.0.0.1:8080 "$@"
