#!/usr/bin/env bash
# Build the self-contained app from a checkout: dist/identity-desktop/, a folder whose executable
# `identity-desktop` runs without the repo or a virtualenv (copy the folder anywhere, or install
# it with packaging/install.sh).
#
# It uses its own virtualenv, build/venv (made on first run), so the build sees exactly the
# project's declared dependencies and nothing from .venv's test tooling. Safe to run again: the
# venv is reused, the project is reinstalled from the working tree, dist/identity-desktop/ is
# replaced. Any failing step stops the build with a non-zero exit.
#
#   bash packaging/build.sh            PYTHON=python3.11 bash packaging/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "build: $*" >&2; }
die() { say "error: $*"; exit 1; }
# Run a step with its chatter in build/build.log, shown only when the step fails.
LOG=build/build.log
quiet() { "$@" >>"$LOG" 2>&1 || { tail -n 40 "$LOG" >&2; return 1; }; }

PY=${PYTHON:-python3}
VENV=build/venv
# PyInstaller reads ELF headers with objdump (binutils) on Linux; without it, shared libraries
# shipped as data are silently left unprocessed.
if [ "$(uname -s)" = Linux ] && ! command -v objdump >/dev/null 2>&1; then
  die "objdump not found: install binutils (apt-get install binutils)"
fi

start=$(date +%s)
mkdir -p build && : >"$LOG"
if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV"
  "$PY" -m venv "$VENV" || die "could not create $VENV with $PY"
fi
say "installing the project and PyInstaller into $VENV"
quiet "$VENV/bin/python" -m pip install -q --upgrade pip || die "pip upgrade failed"
# setuptools leaves build/lib from the last install, and would ship a module deleted since.
rm -rf build/lib build/bdist.*
quiet "$VENV/bin/python" -m pip install -q "pyinstaller>=6.10,<7" . || die "pip install failed"
# pip keeps an installed project of the same version as it is; reinstall so the build always
# freezes the working tree (and its metadata, which --version reads).
quiet "$VENV/bin/python" -m pip install -q --no-deps --force-reinstall . \
  || die "pip reinstall failed"

say "freezing with PyInstaller (a few minutes)"
rm -rf dist/identity-desktop
# PYTHONSAFEPATH keeps the checkout off sys.path: the build freezes the installed package and its
# metadata, not the working tree's stray identity_desktop.egg-info.
quiet env PYTHONSAFEPATH=1 "$VENV/bin/python" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/identity-desktop.spec \
  || die "PyInstaller failed (full log: $LOG)"

app=dist/identity-desktop/identity-desktop
[ -x "$app" ] || die "$app was not produced"
"$VENV/bin/python" packaging/audit_dist.py dist/identity-desktop \
  || die "dist/identity-desktop/ holds test data or secrets (see above)"
size=$(du -sh dist/identity-desktop | cut -f1)
say "built $app in $(( $(date +%s) - start ))s; dist/identity-desktop/ is $size"
