# Sourced by train.sh and teacher.sh: the venv, data and work directories, offline model files.
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="${PARAPET_TRAIN_VENV:-$HOME/.cache/parapet/train-venv}"
export PARAPET_DATA_DIR="${PARAPET_DATA_DIR:-$HOME/.cache/parapet/train-data}"
export PARAPET_WORK_DIR="${PARAPET_WORK_DIR:-$HOME/.cache/parapet/train-work}"
export PARAPET_SHARED_DATASETS="${PARAPET_SHARED_DATASETS:-$REPO/../shared/datasets}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONHASHSEED=0
export OMP_NUM_THREADS="${PARAPET_THREADS:-1}" MKL_NUM_THREADS="${PARAPET_THREADS:-1}"
mkdir -p "$PARAPET_DATA_DIR" "$PARAPET_WORK_DIR"
