"""Status bar: visible / total counts, live vs test counts, lock state and a busy indicator."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QWidget

from identity_desktop.index import ReportFilter
from identity_desktop.ui import format as fmt
from identity_desktop.ui.operations import VaultRunner
from identity_desktop.ui.resources import icon
from identity_desktop.ui.session import Session, VaultChanges

BUSY_DELAY_MS = 400  # a one-report load must not make the bar flicker

class StatusBar(QStatusBar):
    def __init__(self, session: Session, runner: VaultRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusBar")
        self._session = session
        self.counts = QLabel("", self)
        self.counts.setObjectName("statusCounts")
        self.modes = QLabel("", self)
        self.modes.setObjectName("statusModes")
        self.modes.setToolTip("Reports from live mode and from test mode (livemode = false)")
        self.busy = QProgressBar(self)
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(120)
        self.busy.setMaximumHeight(14)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.lock_icon = QLabel(self)
        self.lock_state = QLabel("", self)
        self.lock_state.setObjectName("statusLock")
        for widget in (self.counts, self.modes, self.busy, self.lock_icon, self.lock_state):
            self.addPermanentWidget(widget)
        self._busy_timer = QTimer(self)
        self._busy_timer.setSingleShot(True)
        self._busy_timer.setInterval(BUSY_DELAY_MS)
        self._busy_timer.timeout.connect(self.busy.show)
        runner.sig_busy.connect(self._on_busy)
        session.sig_unlocked.connect(self._on_unlocked)
        session.sig_locked.connect(self._on_locked)
        session.sig_changed.connect(self._on_changed)
        self._on_locked()

    def set_counts(self, visible: int, total: int) -> None:
        if not self._session.is_unlocked:
            self.counts.setText("")
            return
        self.counts.setText(f"Showing {fmt.count(visible)} of {fmt.count(total)}")

    def _update_modes(self) -> None:
        index = self._session.index
        if index is None:
            self.modes.setText("")
            return
        live = index.count(ReportFilter(livemode=True))
        self.modes.setText(f"Live {fmt.count(live)}  ·  Test {fmt.count(len(index) - live)}")

    def _on_busy(self, busy: bool) -> None:
        if busy:
            self._busy_timer.start()
        else:
            self._busy_timer.stop()
            self.busy.hide()

    def _on_unlocked(self) -> None:
        self.lock_icon.setPixmap(icon("unlock").pixmap(16, 16))
        self.lock_state.setText("Unlocked")
        self._update_modes()

    def _on_changed(self, changes: VaultChanges) -> None:
        if changes.added or not changes.redaction_only:
            self._update_modes()

    def _on_locked(self) -> None:
        self.lock_icon.setPixmap(icon("lock").pixmap(16, 16))
        self.lock_state.setText("Locked")
        self.counts.setText("")
        self.modes.setText("")
        self.clearMessage()

    def show_note(self, text: str, ms: int = 4000) -> None:
        self.showMessage(text, ms)
