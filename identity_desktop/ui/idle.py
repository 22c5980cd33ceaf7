"""Lock after a period without user input.

An application-wide event filter restarts a single-shot timer on every keyboard, mouse, wheel
or touch event; when the timer fires, ``sig_idle`` is emitted (the window locks the session).
The watcher only runs while the vault is unlocked, so a locked app costs nothing.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

_INPUT_EVENTS = frozenset({
    QEvent.Type.KeyPress, QEvent.Type.KeyRelease, QEvent.Type.MouseButtonPress,
    QEvent.Type.MouseButtonRelease, QEvent.Type.MouseMove, QEvent.Type.Wheel,
    QEvent.Type.TouchBegin, QEvent.Type.TouchUpdate, QEvent.Type.TabletPress,
    QEvent.Type.ShortcutOverride,
})


class IdleWatcher(QObject):
    sig_idle = Signal()

    def __init__(self, app: QApplication, timeout_ms: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._app = app
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.sig_idle)
        self._installed = False
        self.set_timeout(timeout_ms)

    def set_timeout(self, timeout_ms: int) -> None:
        """0 disables the idle lock."""
        self._timer.setInterval(max(0, timeout_ms))
        if self.active:
            self._timer.start()
        elif timeout_ms <= 0:
            self._timer.stop()

    @property
    def timeout_ms(self) -> int:
        return self._timer.interval()

    @property
    def active(self) -> bool:
        return self._installed and self._timer.interval() > 0

    def start(self) -> None:
        if not self._installed:
            self._app.installEventFilter(self)
            self._installed = True
        if self._timer.interval() > 0:
            self._timer.start()

    def stop(self) -> None:
        if self._installed:
            self._app.removeEventFilter(self)
            self._installed = False
        self._timer.stop()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _INPUT_EVENTS and self._timer.interval() > 0:
            self._timer.start()  # restart: cheap, and exact
        return False
