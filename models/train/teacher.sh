#!/usr/bin/env bash
# Stage "teacher" of the version-3 pipeline, one command, resumable across sessions:
#   bash models/train/teacher.sh
# 1. venv and data, as train.sh builds them;
# 2. fine-tune the pretrained MiniLM-L6 teacher (teacher.py) towards PARAPET_TEACHER_STEPS steps, at
#    most PARAPET_TEACHER_MINUTES per call: a call that stops early leaves its checkpoint in
#    $PARAPET_WORK_DIR/teacher/ and the next call goes on from it;
# 2b. then PARAPET_TEACHER_HN_STEPS (800) more steps with the committed hard negatives (hard-negatives.json);
# 3. once the steps are done: the teacher on the yardstick's dev sets (threshold-free separation;
#    the sets are built here from held-out sources if missing), then its soft labels for every
#    training example's student window -> models/train/teacher-scores.{bin.gz,json}, the compact
#    artifact the student's distillation reads (PARAPET_TEACHER_SCORES).
# Env: PARAPET_THREADS (2), PARAPET_TEACHER_STEPS (3500), PARAPET_TEACHER_HN_STEPS (800), PARAPET_TEACHER_MINUTES (76),
#      PARAPET_TEACHER_LR (4e-5), PARAPET_GROUP_REPEAT (default below), PARAPET_EVAL_WORK.
set -euo pipefail
export PARAPET_THREADS="${PARAPET_THREADS:-2}"
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# Real documents and public attacks weigh more than in the student's default mix; the hate-speech
# tweets (a third of the examples) less: the teacher's first job is prompt_attack.
export PARAPET_GROUP_REPEAT="${PARAPET_GROUP_REPEAT:-docs_real=2.5,indirect_docs_real=1.5,attack_public=1.5,mod_hate=0.3,non_english_attacks=8,non_english_benign=12}"
STEPS="${PARAPET_TEACHER_STEPS:-3500}"
EVAL_WORK="${PARAPET_EVAL_WORK:-$HOME/.cache/parapet/eval-work}"

bash "$HERE/setup.sh"
PY="nice -n 5 $VENV/bin/python -u"
T0=$(date +%s)
$PY "$HERE/build_data.py"  # deterministic: a resumed stage sees the same examples
echo "== teacher: training towards $STEPS steps"
$PY "$HERE/teacher.py" --steps "$STEPS" --lr "${PARAPET_TEACHER_LR:-4e-5}" --max-minutes "${PARAPET_TEACHER_MINUTES:-76}"
done_steps=$("$VENV/bin/python" -c 'import sys, torch; print(torch.load(sys.argv[1], weights_only=False)["step"])' \
  "$PARAPET_WORK_DIR/teacher/ckpt.pt")
if [ "$done_steps" -lt "$STEPS" ]; then
  echo "== teacher: $done_steps of $STEPS steps; run this command again to go on"
  exit 0
fi
# 2b. The same teacher continued on the committed hard negatives (mine.py's benign document
# windows that the students scored highest), in a work directory of its own; everything after
# this reads that teacher (T3 in the model card: 800 steps, 17 min here). PARAPET_TEACHER_HN_STEPS=0
# skips it.
HN_STEPS="${PARAPET_TEACHER_HN_STEPS:-800}"
if [ "$HN_STEPS" -gt 0 ]; then
  HN_WORK="$PARAPET_WORK_DIR/hard-negatives"
  echo "== teacher: $HN_STEPS steps on the hard negatives"
  PARAPET_WORK_DIR="$HN_WORK" $PY "$HERE/teacher.py" --init "$PARAPET_WORK_DIR/teacher/ckpt.pt" \
    --hard-negatives "$HERE/hard-negatives.json" --steps "$HN_STEPS" --lr 2e-5 --max-minutes "${PARAPET_TEACHER_MINUTES:-76}"
  export PARAPET_WORK_DIR="$HN_WORK"
  done_steps=$("$VENV/bin/python" -c 'import sys, torch; print(torch.load(sys.argv[1], weights_only=False)["step"])' \
    "$PARAPET_WORK_DIR/teacher/ckpt.pt")
  if [ "$done_steps" -lt "$HN_STEPS" ]; then
    echo "== teacher: $done_steps of $HN_STEPS steps on the hard negatives; run this command again to go on"
    exit 0
  fi
fi
if [ ! -d "$EVAL_WORK/sets" ]; then
  (cd "$REPO" && cargo fetch --locked --quiet && python3 models/eval/build_sets.py --shared "$PARAPET_SHARED_DATASETS" --out "$EVAL_WORK")
fi
echo "== teacher on the yardstick (held-out dev sets)"
$PY "$HERE/teacher.py" --yardstick "$EVAL_WORK" | tee "$PARAPET_WORK_DIR/teacher/yardstick.txt"
echo "== teacher: soft labels of the distillation windows"
$PY "$HERE/teacher.py" --score-train "$HERE/teacher-scores"
echo "== teacher stage done in $(( ($(date +%s) - T0) / 60 )) min"
