#!/usr/bin/env bash
# Serves the Parapet edge worker locally with workerd.
#   edge-worker/run.sh [PORT] [CONFIG_FILE] [ORIGIN_URL]
# PORT defaults to 8787 (127.0.0.1 only; set PARAPET_LISTEN=0.0.0.0 to listen on every
# interface); CONFIG_FILE is a Parapet config JSON (default: none, i.e. `{}`); ORIGIN_URL is the
# upstream LLM API (default: $ORIGIN_URL, else none). Build first: scripts/build.sh.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PORT="${1:-8787}"
CONFIG_FILE="${2:-}"
ORIGIN="${3:-${ORIGIN_URL:-}}"
WORKERD="$HERE/node_modules/.bin/workerd"
[ -x "$WORKERD" ] || { echo "run.sh: $WORKERD missing; run 'npm ci' in $HERE" >&2; exit 1; }
[ -f "$HERE/pkg/parapet_edge_bg.wasm" ] || { echo "run.sh: $HERE/pkg missing; run scripts/build.sh" >&2; exit 1; }
if [ -n "$CONFIG_FILE" ]; then
  PARAPET_CONFIG="$(cat "$CONFIG_FILE")"
  export PARAPET_CONFIG
fi
if [ -n "$ORIGIN" ]; then export ORIGIN_URL="$ORIGIN"; else unset ORIGIN_URL; fi
exec "$WORKERD" serve "$HERE/workerd.capnp" --socket-addr "http=${PARAPET_LISTEN:-127.0.0.1}:$PORT"
