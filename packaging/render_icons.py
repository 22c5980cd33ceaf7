"""Render the app icon's PNG sizes from its SVG source, for the desktop's icon theme.

Run after editing ``resources/icons/io.identitydesk.IdentityDesk.svg``; the PNGs are committed so
neither the build nor an install needs Qt's SVG renderer at that point:

    python packaging/render_icons.py

They land in ``resources/icons/hicolor/<N>x<N>/apps/``, the layout of the freedesktop hicolor
theme, so ``install.sh`` copies the tree as it is and the window can load a size it needs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_ID = "io.identitydesk.IdentityDesk"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ROOT = Path(__file__).resolve().parent.parent
ICONS = ROOT / "resources" / "icons"


def render(svg: Path, out_root: Path, sizes: tuple[int, ...] = SIZES) -> list[Path]:
    """Write one PNG per size under ``out_root/<N>x<N>/apps/``; returns the files written."""
    # Imported here so the module can be read (and its constants used) without Qt installed.
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"render_icons: {svg}: not a valid SVG")
    written = []
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter)
        painter.end()
        target = out_root / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(target), "PNG"):
            raise SystemExit(f"render_icons: could not write {target}")
        written.append(target)
    return written


def main() -> int:
    for path in render(ICONS / f"{APP_ID}.svg", ICONS / "hicolor"):
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
