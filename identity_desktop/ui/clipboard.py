"""Copying personal values without leaving them on the clipboard.

Every copy is marked sensitive (``x-kde-passwordManagerHint: secret``, which KDE's Klipper and
other clipboard managers honour by not recording it in their history) and is cleared after
``timeout_ms`` (30 s) if the clipboard still holds our value; if the user copied something else
meanwhile we leave it alone. Locking the vault clears it at once (:meth:`clear_now`).
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QObject, QTimer, Signal
from PySide6.QtGui import QClipboard

SENSITIVE_MIME = "x-kde-passwordManagerHint"
CLEAR_AFTER_MS = 30_000


class SensitiveClipboard(QObject):
    sig_copied = Signal()
    sig_cleared = Signal()

    def __init__(self, clipboard: QClipboard, timeout_ms: int = CLEAR_AFTER_MS,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._clipboard = clipboard
        self._value: str | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(timeout_ms)
        self._timer.timeout.connect(self.clear_now)

    @property
    def timeout_ms(self) -> int:
        return self._timer.interval()

    def copy(self, text: str) -> None:
        mime = QMimeData()
        mime.setText(text)
        mime.setData(SENSITIVE_MIME, b"secret")
        self._clipboard.setMimeData(mime, QClipboard.Mode.Clipboard)
        self._value = text
        self._timer.start()
        self.sig_copied.emit()

    def holds_our_value(self) -> bool:
        return self._value is not None and self._clipboard.text() == self._value

    def clear_now(self) -> None:
        """Clear the clipboard if it still holds what we put there."""
        self._timer.stop()
        if self.holds_our_value():
            self._clipboard.clear(QClipboard.Mode.Clipboard)
        self._value = None
        self.sig_cleared.emit()
