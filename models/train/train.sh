#!/usr/bin/env bash
# One command: venv + data + train + export + int8 weights + calibration + metrics.
#   bash models/train/train.sh            (from the repo root, or anywhere)
# Env: PARAPET_MODE (refit [default] | full | warm; see README), PARAPET_REFIT_BASE, PARAPET_REFIT_HEADS, PARAPET_REFIT_ANCHOR, PARAPET_EPOCHS (default 4), PARAPET_THREADS (default 1: with concurrent cargo builds 2 threads ran 8x slower here), PARAPET_DATA_DIR, PARAPET_WORK_DIR,
#      PARAPET_SHARED_DATASETS (default <repo>/../shared/datasets), PARAPET_TRAIN_VENV;
#      full/warm architecture and distillation: PARAPET_D (128), PARAPET_FFN (512), PARAPET_MAX_LEN (256 positions),
#      PARAPET_TEACHER (an ONNX guard model used as soft targets), PARAPET_TEACHER_SCORES (the teacher stage's
#      committed soft labels, e.g. models/train/teacher-scores; teacher.sh makes them), PARAPET_KD (0.5), PARAPET_KD_SKIP_GROUPS, PARAPET_DROP_GROUPS,
#      PARAPET_LR; warm: PARAPET_INIT_CHECKPOINT (model.pt or int8-weight ONNX), PARAPET_FT_STEPS;
#      int8 snap finish: PARAPET_SNAP_STEPS (400), PARAPET_SNAP_DISTIL (1: fit the pre-snap model's scores).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

bash "$HERE/setup.sh"
PY="nice -n 19 $VENV/bin/python -u"
T0=$(date +%s)
stamp() { echo "\"$1\": $(( $(date +%s) - T0 ))"; }

echo "== [1/5] build data (reads $PARAPET_SHARED_DATASETS, writes $PARAPET_DATA_DIR)"
$PY "$HERE/build_data.py"
S1=$(stamp data_s)
MODE="${PARAPET_MODE:-refit}"
if [ "$MODE" = "refit" ]; then
  # shipped model: encoder (every int8-stored weight) and prompt_attack row of the base file kept bit-identical,
  # the output rows of PARAPET_REFIT_HEADS (default: the six moderation heads) refit on frozen features with the current labels
  BASE="${PARAPET_REFIT_BASE:-$REPO/models/parapet-guard-v1.int8.onnx}"
  echo "== [2/5] refit output rows (${PARAPET_REFIT_HEADS:-the six moderation heads}) on the frozen encoder of $BASE"
  $PY "$HERE/refit_heads.py" --base "$BASE" ${PARAPET_REFIT_HEADS:+--heads "$PARAPET_REFIT_HEADS"} ${PARAPET_REFIT_ANCHOR:+--anchor "$PARAPET_REFIT_ANCHOR"}
  S2=$(stamp refit_s)
  S2b=$(stamp snap_s)  # nothing to snap: encoder weights are read from the int8 grid, the output layer is stored f32
else
  # full: train from scratch (PCA init); warm: continue from PARAPET_INIT_CHECKPOINT for PARAPET_FT_STEPS steps
  echo "== [2/5] train ($MODE)"
  $PY "$HERE/train.py" --epochs "${PARAPET_EPOCHS:-4}"
  S2=$(stamp train_s)
  echo "== [3/5] snap large weights to their int8 grid, freeze, fine-tune the rest (quantization-aware finish)"
  $PY "$HERE/snap_finetune.py"
  S2b=$(stamp snap_s)
fi
echo "== [4/5] export ONNX, int8 weights, verify, score validation"
$PY "$HERE/export.py"
S3=$(stamp export_s)
echo "{ $S1, $S2, $S2b, $S3, \"total_s\": $(( $(date +%s) - T0 )) }" > "$PARAPET_WORK_DIR/pipeline_timing.json"
echo "== [5/5] calibrate + metrics"
# the refit keeps version 2's calibration rule (one set of thresholds); full/warm read documents on their own
if [ "$MODE" = "refit" ]; then export PARAPET_CALIBRATION="${PARAPET_CALIBRATION:-single}"; fi
$PY "$HERE/calibrate.py"
echo "== done in $(( ($(date +%s) - T0) / 60 )) min; artifacts:"
ls -la "${PARAPET_MODELS_DIR:-$REPO/models}"
