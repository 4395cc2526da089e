#!/usr/bin/env bash
# Time from `git clone` to the first `/v2/guard` answer of `scripts/start.sh`, with empty caches:
# a fresh clone of this checkout's HEAD, and empty PARAPET_CACHE (tools, target dir) and
# CARGO_HOME (crate downloads) in a temporary directory. The Rust toolchain and its wasm32
# target live in RUSTUP_HOME and stay as installed (adding the target takes seconds).
# Prints each step of start.sh with its time since the clone, then the total.
#
#   bash tests/bench/first_answer.sh [PORT]     (default port 18080)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PORT="${1:-18080}"
WORK="$(mktemp -d /tmp/parapet-first-answer.XXXXXX)"
LOG="$WORK/start.log"
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill -- -"$SERVER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

T0=$(date +%s.%N)
git clone -q "$ROOT" "$WORK/parapet"
export PARAPET_CACHE="$WORK/cache" CARGO_HOME="$WORK/cargo-home"
unset CARGO_TARGET_DIR
# Its own process group, so that the server and everything start.sh started stop together;
# each output line is stamped with the seconds since the clone began.
export T0 PORT WORK
setsid bash -c 'bash "$WORK/parapet/scripts/start.sh" --addr "127.0.0.1:$PORT" 2>&1 |
  while IFS= read -r line; do printf "%6.0f s  %s\n" "$(echo "$(date +%s.%N) - $T0" | bc)" "$line"; done' >"$LOG" &
SERVER_PID=$!
body='{"messages":[{"role":"user","content":"What should I pack for Lisbon?"}]}'
while ! answer=$(curl -sf -m 5 "http://127.0.0.1:$PORT/v2/guard" -d "$body" 2>/dev/null); do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "start.sh exited before answering:" >&2
    tail -30 "$LOG" >&2
    exit 1
  fi
  sleep 1
done
T1=$(date +%s.%N)
grep -E ' s  (==>|    Finished|parapet: listening)' "$LOG" || true
printf 'first answer: %s\n' "$answer"
printf 'clone to first /v2/guard answer: %.0f s (%s cores)\n' "$(echo "$T1 - $T0" | bc)" "$(nproc)"
