"""Finding the app's icons and stylesheet, in a source checkout and in an installed layout.

``resources/`` sits at the top of the repository (fixed by the product card), outside the
package, so it cannot ship as package data without copying. Two places are searched, first hit
wins: ``<repo>/resources`` (editable installs and checkouts) and
``<sys.prefix>/share/identity-desktop/resources`` (wheels, via ``[tool.setuptools.data-files]``
in ``pyproject.toml``). Icons are SVG so that QIcon renders them crisply at any device pixel
ratio.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

from PySide6.QtGui import QIcon

from identity_desktop import APP_ID

_SHARE = Path("share") / "identity-desktop" / "resources"


def resource_dirs() -> list[Path]:
    repo = Path(__file__).resolve().parents[2] / "resources"
    return [repo, Path(sys.prefix) / _SHARE, Path(sys.base_prefix) / _SHARE]


@functools.cache
def resource_dir() -> Path | None:
    for candidate in resource_dirs():
        if (candidate / "icons").is_dir():
            return candidate
    return None


def resource_path(relative: str) -> Path | None:
    base = resource_dir()
    if base is None:
        return None
    path = base / relative
    return path if path.exists() else None


@functools.cache
def icon(name: str) -> QIcon:
    """``icon("lock")`` -> ``resources/icons/lock.svg``; an empty icon if it is missing (a
    missing decoration must never stop the app)."""
    path = resource_path(f"icons/{name}.svg")
    return QIcon(str(path)) if path is not None else QIcon()


@functools.cache
def app_icon() -> QIcon:
    """The app's icon: the SVG source plus the rendered theme sizes, the same files the desktop
    integration installs (``packaging/``), so the window and the launcher show one picture."""
    path = resource_path(f"icons/{APP_ID}.svg")
    result = QIcon(str(path)) if path is not None else QIcon()
    for png in sorted((resource_dir() or Path()).glob(f"icons/hicolor/*/apps/{APP_ID}.png")):
        result.addFile(str(png))
    return result


def stylesheet() -> str:
    """``style.qss`` with ``@ICONS@`` replaced by the icons folder (QSS ``url()`` paths are
    relative to the working directory, not to the stylesheet)."""
    path = resource_path("style.qss")
    if path is None:
        return ""
    icons = (path.parent / "icons").as_posix()
    return path.read_text(encoding="utf-8").replace("@ICONS@", icons)
