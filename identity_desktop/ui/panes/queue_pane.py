"""The redaction queue pane (a dock): every outbox entry with its state, attempts, last error
and times; Retry (failed entries, with a new key), Cancel (entries never sent), Reclaim…
(entries handed off to an admin, taken back after a confirmation) and Sync now.

It reads and edits the queue only through ``session.run`` ops, follows the sync controller's
entry updates, and clears itself when the vault locks.

Reclaim is the window's ``identity-desk redact reclaim``: the entry's hand-off mark is cleared
and this laptop sends it at the next sync, with the idempotency key it was exported with. It
is only right when the other machine did not send it, which the app cannot know; hence the
confirmation, and the default button is Cancel. Entries already accepted at Stripe (or that
moved on while the box was open) are left as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from identity_desktop.desk import Desk
from identity_desktop.index import RedactionState
from identity_desktop.outbox import store
from identity_desktop.outbox.store import OutboxEntry, OutboxState
from identity_desktop.ui.dialogs.confirm import ask_to_confirm
from identity_desktop.ui.models.queue_model import QueueColumn, QueueModel
from identity_desktop.ui.operations import OpContext
from identity_desktop.ui.session import Session
from identity_desktop.ui.sync_controller import SyncController, SyncStatus

QueueSnapshot = tuple[list[OutboxEntry], dict[str, RedactionState]]


def snapshot(desk: Desk) -> QueueSnapshot:
    """Vault thread: the whole queue and the list's overlay, read together."""
    return store.list_entries(desk.vault), store.redaction_states(desk.vault)


class QueuePane(QWidget):
    sig_message = Signal(str)  # short notes for the status bar
    sig_reloaded = Signal()  # the model holds the vault's queue (tests wait for it)

    def __init__(self, session: Session, controller: SyncController, sync_action: QAction,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("queuePane")
        self._session = session
        self._controller = controller
        self.model = QueueModel(self)
        self._build(sync_action)
        session.sig_unlocked.connect(self.reload)
        session.sig_locked.connect(self._on_locked)
        controller.sig_entries.connect(self.model.update_entries)
        controller.sig_status.connect(self._on_status)
        self.model.sig_counts.connect(lambda _c: self._update_buttons())

    def _build(self, sync_action: QAction) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        self.status_label = QLabel("", self)
        self.status_label.setObjectName("queueStatus")
        self.status_label.setWordWrap(True)
        self.retry_button = QPushButton("Retry", self)
        self.retry_button.setToolTip("Send the selected failed entries again")
        self.retry_button.clicked.connect(self.retry_selected)
        self.cancel_button = QPushButton("Cancel request", self)
        self.cancel_button.setToolTip("Cancel the selected entries that were never sent")
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.reclaim_button = QPushButton("Reclaim…", self)
        self.reclaim_button.setObjectName("reclaimButton")
        self.reclaim_button.setToolTip("Take back the selected entries handed off to an admin "
                                       "(identity-desk redact export): this laptop then sends "
                                       "them. Only if the admin did not send them.")
        self.reclaim_button.clicked.connect(self.reclaim_selected)
        self.reclaim_box: QMessageBox | None = None
        self.sync_button = QToolButton(self)
        self.sync_button.setDefaultAction(sync_action)
        self.sync_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        row.addWidget(self.status_label, 1)
        for widget in (self.retry_button, self.cancel_button, self.reclaim_button,
                       self.sync_button):
            row.addWidget(widget)
        layout.addLayout(row)

        self.view = QTableView(self)
        self.view.setObjectName("queueTable")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.setShowGrid(False)
        self.view.setWordWrap(False)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QueueColumn.ERROR, QHeaderView.ResizeMode.Stretch)
        for column, width in ((QueueColumn.SESSION, 230), (QueueColumn.STATE, 170),
                              (QueueColumn.ATTEMPTS, 70), (QueueColumn.QUEUED, 150),
                              (QueueColumn.UPDATED, 150)):
            self.view.setColumnWidth(column, width)
        self.view.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        layout.addWidget(self.view, 1)
        self._update_buttons()

    # -- reading -----------------------------------------------------------------------------------
    def reload(self) -> None:
        """Re-read the queue (after unlock, or after the queue was edited elsewhere)."""
        if not self._session.is_unlocked:
            return
        op = self._session.run(lambda desk, _ctx: snapshot(desk), parent=self,
                               label="Reading the redaction queue…")
        op.success(self.show_snapshot).run_in_background()

    def show_snapshot(self, snap: QueueSnapshot) -> None:
        entries, states = snap
        self.model.set_entries(entries)
        self._session.apply_redaction_states(states)
        self.sig_reloaded.emit()

    def selected_entries(self) -> list[OutboxEntry]:
        rows = sorted({i.row() for i in self.view.selectionModel().selectedRows()})
        return [self.model.entry(r) for r in rows]

    def select_sessions(self, sessions: list[str]) -> None:
        selection = self.view.selectionModel()
        selection.clearSelection()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for s in sessions:
            row = self.model.row_of(s)
            if row is not None:
                selection.select(self.model.index(row, 0), flags)

    # -- editing -----------------------------------------------------------------------------------
    def retry_selected(self) -> None:
        sessions = [e.session for e in self.selected_entries() if e.state is OutboxState.FAILED]
        if sessions:
            self._edit(lambda desk: store.retry(desk.vault, sessions), f"{len(sessions)} "
                       "failed request(s) will be sent again")

    def cancel_selected(self) -> None:
        sessions = [e.session for e in self.selected_entries() if e.cancellable]
        if sessions:
            self._edit(lambda desk: store.cancel(desk.vault, sessions),
                       f"Cancelled {len(sessions)} redaction request(s)")

    def reclaim_selected(self) -> QMessageBox | None:
        """Ask, then take back the selected entries that wait on an admin's app."""
        sessions = [e.session for e in self.selected_entries() if e.awaits_admin]
        if not sessions or not self._session.is_unlocked:
            return None
        n = len(sessions)
        it = "it" if n == 1 else "them"
        self.reclaim_box = ask_to_confirm(
            self, session=self._session, title="Reclaim redaction requests",
            object_name="reclaimBox",
            text=f"Take back {n} redaction request{'' if n == 1 else 's'} handed off to "
                 "another machine?",
            details=f"{'It was' if n == 1 else 'They were'} exported with \u201cidentity-desk "
            "redact export\u201d for an admin's app to send. Reclaiming means this laptop "
            f"sends {it} itself, at the next sync.\n\nOnly do this if the other machine did "
            f"not send {it} (the file was never imported, or was lost): ask the admin first. "
            "The original idempotency key is kept, so Stripe ignores a repeat of a request "
            "the other machine sent within the last 24 hours; after that, a send from here "
            "would be a second request.",
            confirm="Reclaim", on_confirm=lambda: self._reclaim(sessions))
        return self.reclaim_box

    def _reclaim(self, sessions: list[str]) -> None:
        if not self._session.is_unlocked:
            return

        def change(desk: Desk) -> tuple[int, int]:
            # Re-read: a sync may have seen the admin's request accepted while the box was open.
            still = [s for s in sessions
                     if (e := store.get_entry(desk.vault, s)) is not None and e.awaits_admin]
            taken = store.reclaim(desk.vault, still) if still else []
            return len(taken), len(sessions) - len(taken)

        def note(counts: tuple[int, int]) -> str:
            taken, left = counts
            text = (f"Took back {taken} redaction request(s): this laptop sends them at the "
                    "next sync")
            return text + (f"; {left} had moved on and were left as they are" if left else "")

        self._edit(change, note)

    def _edit(self, change: Callable[[Desk], Any], note: str | Callable[[Any], str]) -> None:
        def body(desk: Desk, _ctx: OpContext) -> tuple[Any, QueueSnapshot]:
            return change(desk), snapshot(desk)

        def done(result: tuple[Any, QueueSnapshot]) -> None:
            value, snap = result
            self.show_snapshot(snap)
            self._controller.reload()
            self.sig_message.emit(note if isinstance(note, str) else note(value))

        op = self._session.run(body, parent=self, label="Updating the redaction queue…")
        op.success(done).run_in_background()

    # -- state -----------------------------------------------------------------------------------
    def _update_buttons(self) -> None:
        selected = self.selected_entries() if self._session.is_unlocked else []
        self.retry_button.setEnabled(any(e.state is OutboxState.FAILED for e in selected))
        self.cancel_button.setEnabled(any(e.cancellable for e in selected))
        self.reclaim_button.setEnabled(any(e.awaits_admin for e in selected))

    def _on_status(self, status: SyncStatus) -> None:
        self.status_label.setText(status.message)

    def set_network_text(self, text: str) -> None:
        if not self._controller.running:
            self.status_label.setText(text)

    def _on_locked(self) -> None:
        self.reclaim_box = None  # ask_to_confirm closes it: its answer would have no vault
        self.model.clear()
        self.status_label.setText("")
        self._update_buttons()
