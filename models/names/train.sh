#!/usr/bin/env bash
# The `pii/name` tagger's pipeline, one command: generated text (faker in a small venv), the real
# text it derives from ../shared/datasets, training, evaluation. Writes models/name-tagger.bin and
# models/names/metrics.json; prints the card's tables. About 25 s on 2 cores (the trainer built).
#
#   bash models/names/train.sh [--eval-only]
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
source "$ROOT/scripts/env.sh"
VENV="${PARAPET_NAMES_VENV:-$HOME/.cache/parapet/names-venv}"
DATA="${PARAPET_NAMES_DATA:-$HOME/.cache/parapet/names-data}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -c 'import faker' 2>/dev/null || "$VENV/bin/pip" install --disable-pip-version-check -q faker==40.40.0
stage() { printf '[names] %s (%s)\n' "$1" "$(date +%T)"; }
stage "generate"
# Some of faker's fillers iterate sets: a fixed hash seed makes the generated file the same on
# every run.
PYTHONHASHSEED=0 "$VENV/bin/python" "$HERE/generate.py" --out "$DATA" --dev-per-template 12
stage "build the trainer"
cargo build --profile host -p parapet-filter --example names
stage "prepare real text"
# Rust code for the weak negatives: crates the core is built from, at Cargo.lock's versions
# (their sources are in cargo's registry once the trainer is built).
mapfile -t RUST_SRC < <(cargo metadata --format-version 1 --filter-platform x86_64-unknown-linux-gnu |
  python3 -c 'import json, sys
want = {"aho-corasick", "regex-automata", "regex-syntax", "serde_json", "tract-core", "tract-data", "tract-nnef", "unicode-normalization"}
print("\n".join(sorted(p["manifest_path"].rsplit("/", 1)[0] for p in json.load(sys.stdin)["packages"] if p["name"] in want)))')
python3 "$HERE/prepare.py" --out "$DATA" --rust-src "${RUST_SRC[@]}"
NAMES="$CARGO_TARGET_DIR/host/examples/names"
if [ "${1:-}" != "--eval-only" ]; then
  stage "train"
  "$NAMES" train "$DATA" "$ROOT/models/name-tagger.bin"
fi
stage "evaluate"
"$NAMES" eval "$ROOT/models/name-tagger.bin" "$DATA" "$HERE/metrics.json"
stage "done"
