"""Drop files on a widget the way a file manager does: an accepted enter, then the drop."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget


def drag_enter(target: QWidget, paths: Sequence[Path]) -> tuple[QMimeData, bool]:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    # QDragEnterEvent takes an integer point on every PySide6 release; QDropEvent a QPointF.
    enter = QDragEnterEvent(QPoint(50, 50), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    return mime, enter.isAccepted()


def drop_files(target: QWidget, paths: Sequence[Path]) -> None:
    mime, accepted = drag_enter(target, paths)
    assert accepted, "the window refused the drag"  # Qt delivers a drop only after this
    QApplication.sendEvent(target, QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime,
                                              Qt.MouseButton.NoButton,
                                              Qt.KeyboardModifier.NoModifier))
