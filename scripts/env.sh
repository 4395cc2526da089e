# Sourced by the other scripts: where caches, tools and build outputs live.
# Everything heavy sits outside the checkout so a fresh clone reuses it.
export PARAPET_CACHE="${PARAPET_CACHE:-$HOME/.cache/parapet}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PARAPET_CACHE/target}"
export PARAPET_VENV="$PARAPET_CACHE/venv"
export PARAPET_TOOLS="$PARAPET_CACHE/tools"
export PATH="$PARAPET_TOOLS/bin:$PATH"
WASM_BINDGEN_VERSION=0.2.130   # must equal the wasm-bindgen crate pin in Cargo.toml
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
WASM_OUT="$CARGO_TARGET_DIR/wasm32-unknown-unknown/release"
export ENVOY_WASM="$WASM_OUT/parapet_envoy.wasm"
export EDGE_WASM="$WASM_OUT/parapet_edge.wasm"
