#!/usr/bin/env bash
# The guard model's yardstick, one command: builds the dev sets from held-out sources
# (models/eval/holdout.py; never trained on), screens every case with the shipped build's
# `prompt_attack` (policy prompt-defense-only; documents as tool results), and prints the
# tables: share flagged per group at L1..L4, documents per length bucket and language, the
# injected-document and non-English breakdowns, and latency per model window.
#
#   bash models/eval/run.sh            # native core (same verdicts as the module: `parapet verify`)
#   bash models/eval/run.sh --wasm     # the Envoy module in wasmtime, as Envoy runs it (slower)
#   bash models/eval/run.sh --write    # also store results.json / results.md and update the card
#
# Work files go to $PARAPET_CACHE/eval-work (the sets hold shared-data text: never commit them).
set -euo pipefail
source "$(dirname "$0")/../../scripts/env.sh"
cd "$ROOT"
SHARED="${PARAPET_SHARED_DATASETS:-$ROOT/../shared/datasets}"
WORK="${PARAPET_EVAL_WORK:-$PARAPET_CACHE/eval-work}"
runtime=(--native); label="native core"; write=()
for arg in "$@"; do
  case "$arg" in
    --wasm) runtime=(); label="Envoy module in wasmtime" ;;
    --write) write=(--write) ;;
    *) echo "usage: bash models/eval/run.sh [--wasm] [--write]" >&2; exit 2 ;;
  esac
done

echo "==> build (the parapet host, and the Envoy module it embeds, as scripts/build.sh builds them)" >&2
# The native core needs only the host: the module is rebuilt for --wasm or when there is none
# (a new model is then measured natively in minutes, without the module's fat-LTO build).
if [ ${#runtime[@]} -eq 0 ] || [ ! -f "$ENVOY_WASM" ]; then
  rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
  cargo build --release --target wasm32-unknown-unknown -p parapet-envoy
fi
cargo build --profile host -p parapet-host
PARAPET="$CARGO_TARGET_DIR/host/parapet"
# docs_packages reads the READMEs of the locked crates from cargo's download cache.
cargo fetch --locked --quiet

echo "==> dev sets from $SHARED (held-out sources only)" >&2
rm -rf "$WORK/sets" "$WORK/cases"
mkdir -p "$WORK/cases"
python3 models/eval/build_sets.py --shared "$SHARED" --out "$WORK"

echo "==> screening ($label)" >&2
for set in "$WORK"/sets/*.meta.jsonl; do
  group=$(basename "$set" .meta.jsonl)
  printf '  %-24s ' "$group" >&2
  if ! out=$("$PARAPET" eval "$WORK/sets/$group.jsonl" --policy prompt-defense-only --detector prompt_attack \
      "${runtime[@]}" --json --cases "$WORK/cases/$group.jsonl" 2>"$WORK/cases/$group.log"); then
    echo "failed:" >&2; tail -5 "$WORK/cases/$group.log" >&2; exit 1
  fi
  python3 -c 'import json, sys; r = json.loads(sys.argv[1]); print(r["cases"], "cases, p50", round(r["latency_ms"]["p50"], 1), "ms")' "$out" >&2
done

python3 models/eval/report.py --work "$WORK" --runtime "$label" "${write[@]}"
