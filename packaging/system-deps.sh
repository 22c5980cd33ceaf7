#!/usr/bin/env bash
# System packages Identity Desk needs on Debian/Ubuntu: Qt's runtime libraries (PySide6 wheels
# bring Qt itself), the `age` tool for bundle interop tests, and Xvfb for real-window screenshots.
# Installs them when run as root (or with sudo) on an apt system; otherwise says what is missing.
set -euo pipefail
PKGS=(age xvfb libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3
      libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 fonts-dejavu-core
      desktop-file-utils appstream)
command -v dpkg-query >/dev/null 2>&1 || { echo "system-deps: not a Debian-like system; install Qt 6 runtime libraries and 'age' yourself" >&2; exit 0; }
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "system-deps: please install: ${missing[*]}" >&2; exit 0; fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "system-deps: installed ${missing[*]}" >&2
