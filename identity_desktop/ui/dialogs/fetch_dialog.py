"""Fetch reports from Stripe: filters, progress with the count so far, cancel, then a summary.

The work itself is :class:`~identity_desktop.ui.fetch_worker.FetchWorker` (network thread plus
vault-thread commits). The dialog shows which key will be used (its mode and a mask, never the
key), lets the user narrow the fetch with Stripe's list filters, and can be closed while a
fetch runs: closing cancels after the page in flight, and the next fetch resumes.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QDateTime, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from identity_desktop.errors import UsageError
from identity_desktop.stripe_api.client import key_status
from identity_desktop.stripe_api.fetch import FetchFilters, FetchSummary
from identity_desktop.stripe_api.retry import RetryPolicy, Sleeper
from identity_desktop.ui import format as fmt
from identity_desktop.ui.dialogs.operation_status import OperationStatus
from identity_desktop.ui.fetch_worker import FetchWorker
from identity_desktop.ui.operations import user_message
from identity_desktop.ui.resources import icon
from identity_desktop.ui.session import Session

TYPES = (("Any type", None), ("Document", "document"), ("ID number", "id_number"))


def describe_keys(status: dict[str, str | None]) -> tuple[str, bool]:
    """A line about the key a fetch will use, and whether there is a usable one."""
    if status.get("env_problem"):
        return f"STRIPE_API_KEY is unusable: {status['env_problem']}", False
    if status.get("env_mode"):
        return (f"Using STRIPE_API_KEY: a <b>{status['env_mode']}-mode</b> key "
                f"({status['env_mask']}).", True)
    if status.get("vault_mode"):
        return (f"Using the vault's <b>{status['vault_mode']}-mode</b> key "
                f"({status['vault_mask']}).", True)
    return "No Stripe API key yet: add one with <i>Stripe API key…</i>.", False


class _DateBound(QWidget):
    """An optional date-time: a check box enables the editor."""

    def __init__(self, text: str, default: QDateTime, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.check = QCheckBox(text, self)
        self.edit = QDateTimeEdit(default, self)
        self.edit.setCalendarPopup(True)
        self.edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.edit.setEnabled(False)
        self.check.toggled.connect(self.edit.setEnabled)
        row.addWidget(self.check)
        row.addWidget(self.edit, 1)

    def epoch(self) -> int | None:
        return int(self.edit.dateTime().toSecsSinceEpoch()) if self.check.isChecked() else None


class FetchDialog(QDialog):
    sig_finished = Signal(object)  # FetchSummary, after a fetch ended (also cancelled)
    sig_open_settings = Signal()

    def __init__(self, session: Session, *, api_base: str | None = None,
                 parent: QWidget | None = None, policy: RetryPolicy | None = None,
                 sleeper: Sleeper | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("fetchDialog")
        self.setWindowTitle("Fetch from Stripe")
        self.setWindowIcon(icon("fetch"))
        self._session = session
        self._api_base = api_base
        self._policy = policy
        self._sleeper = sleeper
        self.worker: FetchWorker | None = None
        self.summary: FetchSummary | None = None
        self.has_key = False
        self._active = False
        self._build()
        session.sig_locked.connect(self._on_locked)
        self.refresh_key()

    # ---- layout ------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        key_row = QHBoxLayout()
        self.key_label = QLabel("Reading the key…", self)
        self.key_label.setObjectName("keyLabel")
        self.key_label.setWordWrap(True)
        self.settings_button = QPushButton("Stripe API key…", self)
        self.settings_button.clicked.connect(self.sig_open_settings.emit)
        key_row.addWidget(self.key_label, 1)
        key_row.addWidget(self.settings_button)
        layout.addLayout(key_row)

        box = QGroupBox("Only reports that match (all optional)", self)
        form = QFormLayout(box)
        now = QDateTime.currentDateTime()
        self.created_from = _DateBound("from", now.addDays(-30), box)
        self.created_to = _DateBound("to", now, box)
        self.type_combo = QComboBox(box)
        for text, value in TYPES:
            self.type_combo.addItem(text, value)
        self.session_edit = QLineEdit(box)
        self.session_edit.setPlaceholderText("vs_…")
        self.client_ref_edit = QLineEdit(box)
        form.addRow("Created", self.created_from)
        form.addRow("", self.created_to)
        form.addRow("Type", self.type_combo)
        form.addRow("Verification session", self.session_edit)
        form.addRow("Client reference id", self.client_ref_edit)
        self.filters_box = box
        layout.addWidget(box)
        hint = QLabel("Without a created range, a repeated fetch asks Stripe only for what is "
                      "new; an interrupted fetch resumes where it stopped.", self)
        hint.setWordWrap(True)
        hint.setObjectName("dialogHint")
        layout.addWidget(hint)

        self.status = OperationStatus("fetch", self)
        layout.addWidget(self.status)

        self.buttons = QDialogButtonBox(self)
        self.fetch_button = self.buttons.addButton("Fetch", QDialogButtonBox.ButtonRole.ActionRole)
        self.fetch_button.setIcon(icon("fetch"))
        self.fetch_button.setDefault(True)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.fetch_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.close)
        layout.addWidget(self.buttons)
        self._set_running(False)
        self.resize(520, 0)

    # ---- state ------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """From start until its result was shown (the worker's thread ends a moment later)."""
        return self._active

    def _set_running(self, running: bool) -> None:
        self.filters_box.setEnabled(not running)
        self.settings_button.setEnabled(not running)
        self.fetch_button.setEnabled(not running and self.has_key)
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(running)
        self.close_button.setVisible(not running)

    def refresh_key(self) -> None:
        """Show which key a fetch would use (read on the vault thread: mode and mask only)."""
        if not self._session.is_unlocked:
            return
        op = self._session.run(lambda desk, _ctx: key_status(desk.vault), parent=self,
                               label="Reading the API key…")
        op.success(self._show_key).run_in_background()

    def _show_key(self, status: dict[str, str | None]) -> None:
        text, self.has_key = describe_keys(status)
        self.key_label.setText(text)
        self._set_running(self.running)

    def filters(self) -> FetchFilters:
        gte, lte = self.created_from.epoch(), self.created_to.epoch()
        if gte is not None and lte is not None and gte > lte:
            raise UsageError("the 'from' date is after the 'to' date")
        session = self.session_edit.text().strip() or None
        if session is not None and not session.startswith("vs_"):
            raise UsageError("the verification session must be a session id (vs_…)")
        return FetchFilters(created_gte=gte, created_lte=lte,
                            type=self.type_combo.currentData(),
                            verification_session=session,
                            client_reference_id=self.client_ref_edit.text().strip() or None)

    # ---- actions ------------------------------------------------------------------------
    def start(self) -> None:
        if self.running:
            return
        try:
            filters = self.filters()
        except UsageError as exc:
            self.status.show_error(str(exc))
            return
        self.status.reset()
        self.summary = None
        # Stripe does not say how many reports there are: a busy bar (total 0).
        self.status.show_progress(0, 0, "Connecting to Stripe…")
        worker = FetchWorker(self._session, filters, api_base=self._api_base,
                             policy=self._policy, sleeper=self._sleeper)
        worker.sig_progress.connect(self._on_progress)
        worker.sig_finished.connect(self._on_finished)
        worker.sig_failed.connect(self._on_failed)
        self.worker = worker
        self._active = True
        self._set_running(True)
        worker.start()

    def cancel(self) -> None:
        if self.worker is not None and self._active:
            self.worker.cancel()
            self.cancel_button.setEnabled(False)
            self.status.set_progress_text(self.status.progress_text() + " — stopping after "
                                          "this page…")

    def _on_progress(self, summary: FetchSummary) -> None:
        text = f"Fetched {fmt.count(summary.fetched)} reports ({summary.pages} pages)"
        if summary.note:
            text += f" — {summary.note}"
        self.status.set_progress_text(text)

    def _on_finished(self, summary: FetchSummary) -> None:
        self.summary = summary
        self._active = False
        self._set_running(False)
        self.status.hide_progress()
        line = summary.line().capitalize()
        if summary.cancelled:
            self.status.show_summary(f"<b>Fetch stopped.</b> {line}. Pages fetched so far "
                                     "are kept; fetch again to resume.")
        else:
            extra = " (resumed an interrupted fetch)" if summary.resumed else ""
            self.status.show_summary(f"<b>Done.</b> {line}{extra}.")
        self.sig_finished.emit(summary)

    def _on_failed(self, exc: BaseException) -> None:
        self._active = False
        self._set_running(False)
        self.status.hide_progress()
        self.status.show_error(user_message(exc))
        self.sig_finished.emit(None)

    def _on_locked(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
        if shiboken6.isValid(self):
            self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        # Closing never waits for the network: the fetch stops after the page in flight.
        if self.worker is not None:
            self.worker.cancel()
        super().closeEvent(event)
