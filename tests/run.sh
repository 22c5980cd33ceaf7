#!/usr/bin/env bash
# One command from a fresh checkout to a passing test suite:
# system libraries (Qt runtime, age), a virtualenv with the app and its test extras, then pytest
# with Qt offscreen. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash packaging/system-deps.sh
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[test]'
export QT_QPA_PLATFORM=offscreen
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
