#!/usr/bin/env bash
# One command from a fresh checkout to the app running on a throwaway demo vault filled with
# synthetic reports (no real person). Extra arguments go to identity-desktop.
set -euo pipefail
cd "$(dirname "$0")/.."
bash packaging/system-deps.sh
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e .
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -z "${QT_QPA_PLATFORM:-}" ] && command -v xvfb-run >/dev/null; then
  echo "demo: no display found; running under Xvfb (add --screenshot FILE to see it)" >&2
  exec xvfb-run -a .venv/bin/identity-desktop --demo "$@"
fi
exec .venv/bin/identity-desktop --demo "$@"
