#!/usr/bin/env bash
# Install the built app (dist/identity-desktop/, from packaging/build.sh) for one user, or remove it.
#
#   bash packaging/install.sh              install into ~/.local
#   bash packaging/install.sh --uninstall  remove what an install put there
#   PREFIX=/opt/identity bash packaging/install.sh   (another prefix; DESTDIR is honoured too)
#
# Puts the app folder in $PREFIX/opt/identity-desktop, a launcher symlink in $PREFIX/bin, and the
# desktop entry, AppStream metainfo and hicolor icons under $PREFIX/share (the XDG locations a
# desktop searches when $PREFIX is ~/.local or /usr/local). The vault and settings are user data
# and are never touched, not even by --uninstall.
set -euo pipefail
cd "$(dirname "$0")/.."

APP_ID=io.identitydesk.IdentityDesk
PREFIX=${PREFIX:-$HOME/.local}
ROOT=${DESTDIR:-}$PREFIX
APP_DIR=$ROOT/opt/identity-desktop
BIN=$ROOT/bin/identity-desktop
DESKTOP=$ROOT/share/applications/$APP_ID.desktop
METAINFO=$ROOT/share/metainfo/$APP_ID.metainfo.xml
ICONS=$ROOT/share/icons/hicolor

say() { echo "install: $*" >&2; }
die() { say "error: $*"; exit 1; }

refresh_caches() {
  # Desktops pick up new entries by themselves too; these only make it immediate.
  if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database -q "$ROOT/share/applications" 2>/dev/null || true
  fi
  if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$ICONS/index.theme" ]; then
    gtk-update-icon-cache -q -t "$ICONS" 2>/dev/null || true
  fi
}

uninstall() {
  rm -rf "$APP_DIR"
  # Only our own launcher: a symlink into the app folder, not someone else's file.
  if [ -L "$BIN" ] && [ "$(readlink "$BIN")" = "$PREFIX/opt/identity-desktop/identity-desktop" ]; then
    rm -f "$BIN"
  fi
  rm -f "$DESKTOP" "$METAINFO"
  find "$ICONS" -path "*/apps/$APP_ID.png" -delete 2>/dev/null || true
  rm -f "$ICONS/scalable/apps/$APP_ID.svg"
  refresh_caches
  say "removed Identity Desk from $ROOT (your vault and settings are kept)"
}

install() {
  [ -x dist/identity-desktop/identity-desktop ] \
    || die "dist/identity-desktop/ not found: run 'bash packaging/build.sh' first"
  [ -e "$BIN" ] && [ ! -L "$BIN" ] && die "$BIN exists and is not our launcher; not replacing it"
  mkdir -p "$(dirname "$APP_DIR")" "$(dirname "$BIN")" "$(dirname "$DESKTOP")" \
    "$(dirname "$METAINFO")" "$ICONS/scalable/apps"
  # Copy beside, then swap, so a failed copy never leaves a half-installed app.
  rm -rf "$APP_DIR.new"
  cp -a dist/identity-desktop "$APP_DIR.new"
  rm -rf "$APP_DIR"
  mv "$APP_DIR.new" "$APP_DIR"
  ln -sfn "$PREFIX/opt/identity-desktop/identity-desktop" "$BIN"
  # Exec names the installed binary by its full path: $PREFIX/bin may not be on a desktop
  # session's PATH (~/.local/bin often is only for login shells).
  sed "s|^Exec=identity-desktop|Exec=$PREFIX/opt/identity-desktop/identity-desktop|" \
    "packaging/$APP_ID.desktop" >"$DESKTOP"
  cp "packaging/$APP_ID.metainfo.xml" "$METAINFO"
  (cd resources/icons/hicolor && find . -name "$APP_ID.png" -exec cp --parents {} "$ICONS/" \;)
  cp "resources/icons/$APP_ID.svg" "$ICONS/scalable/apps/$APP_ID.svg"
  refresh_caches
  say "installed into $APP_DIR; run 'identity-desktop' (launcher: $BIN) or use the app menu"
  case ":$PATH:" in *":$PREFIX/bin:"*) ;; *) say "note: $PREFIX/bin is not on your PATH" ;; esac
}

case "${1:-}" in
  "") install ;;
  --uninstall) uninstall ;;
  -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) die "unknown option '$1' (use --uninstall or --help)" ;;
esac
