#!/usr/bin/env bash
# Benchmarks that print figures (no pass/fail): the guard model's size, start-up and latency
# budget in the shipped artifacts. See tests/bench/.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/setup.sh >/dev/null
bash scripts/build.sh >/dev/null
"$PARAPET_VENV/bin/python" tests/bench/model_budget.py
