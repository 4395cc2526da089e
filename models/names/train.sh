#!/usr/bin/env bash
# The `pii/name` tagger's pipeline, one command: generated text (faker in a small venv), the real
# text it derives from ../shared/datasets, training, evaluation. Writes models/name-tagger.bin and
# models/names/metrics.json; prints the card's tables. About 25 s on 2 cores (the trainer built).
# `--teacher` first runs the name teacher's stage (the training venv with torch,
# models/train/setup.sh; about 22 min on 2 cores): fine-tunes MiniLM with a token head on the
# generated text and writes its labels of the real unlabelled text to
# models/names/silver-labels.json.gz, which is committed; without it the committed file is used.
#
#   bash models/names/train.sh [--eval-only | --teacher]
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
PYTHONHASHSEED=0 "$VENV/bin/python" "$HERE/generate.py" --out "$DATA" --dev-per-template 48
stage "build the trainer"
cargo build --profile host -p parapet-filter --example names
stage "prepare real text"
# Rust code for the weak negatives: crates the core is built from, at Cargo.lock's versions
# (their sources are in cargo's registry once the trainer is built).
mapfile -t RUST_SRC < <(cargo metadata --format-version 1 --filter-platform x86_64-unknown-linux-gnu |
  python3 -c 'import json, sys
want = {"aho-corasick", "regex-automata", "regex-syntax", "serde_json", "tract-core", "tract-data", "tract-nnef", "unicode-normalization"}
print("\n".join(sorted(p["manifest_path"].rsplit("/", 1)[0] for p in json.load(sys.stdin)["packages"] if p["name"] in want)))')
if [ "${1:-}" = "--teacher" ]; then
  python3 "$HERE/prepare.py" --out "$DATA" --rust-src "${RUST_SRC[@]}" --no-silver
  stage "name teacher (MiniLM, token head)"
  bash "$ROOT/models/train/setup.sh"
  TVENV="${PARAPET_TRAIN_VENV:-$HOME/.cache/parapet/train-venv}"
  TWORK="${PARAPET_NAMES_TEACHER_DIR:-$HOME/.cache/parapet/names-teacher}"
  mkdir -p "$TWORK"
  # 509 batches of 32 windows (about a third of the training windows, 15 min here): twice as
  # many learn the templates and read real text worse (card).
  PARAPET_THREADS=2 "$TVENV/bin/python" "$HERE/teacher.py" train --data "$DATA" --steps 509 --out "$TWORK/teacher.pt"
  PARAPET_THREADS=2 "$TVENV/bin/python" "$HERE/teacher.py" eval --data "$DATA" --ckpt "$TWORK/teacher.pt"
  PARAPET_THREADS=2 "$TVENV/bin/python" "$HERE/teacher.py" label --data "$DATA" --ckpt "$TWORK/teacher.pt" --out "$HERE/silver-labels.json.gz"
fi
python3 "$HERE/prepare.py" --out "$DATA" --rust-src "${RUST_SRC[@]}"
NAMES="$CARGO_TARGET_DIR/host/examples/names"
if [ "${1:-}" != "--eval-only" ]; then
  stage "train"
  "$NAMES" train "$DATA" "$ROOT/models/name-tagger.bin"
fi
stage "evaluate"
"$NAMES" eval "$ROOT/models/name-tagger.bin" "$DATA" "$HERE/metrics.json"
stage "done"
