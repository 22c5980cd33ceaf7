"""The redaction queue's table model: one row per outbox entry, in queue order.

The queue is small (one row per session asked for), so rows hold the frozen
:class:`~identity_desktop.outbox.store.OutboxEntry` values themselves. Updates are precise:
a changed entry is ``dataChanged`` for its row only, a new one is inserted at its place in
queue order, a vanished one is removed; :meth:`clear` (lock) is a reset.

An entry handed off to an admin (``identity-desk redact export``) keeps its state and reads
"Queued — handed off" while this vault waits on the admin's app to send it (its tooltip says
so, and how to take it back: Reclaim… in the queue pane); once Stripe has it the state reads
as usual.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor

from identity_desktop.outbox.store import OutboxEntry, OutboxState, counts
from identity_desktop.ui import format as fmt

AnyIndex = QModelIndex | QPersistentModelIndex


class QueueColumn(IntEnum):
    SESSION = 0
    STATE = 1
    ATTEMPTS = 2
    ERROR = 3
    QUEUED = 4
    UPDATED = 5


HEADERS = {QueueColumn.SESSION: "Session", QueueColumn.STATE: "State",
           QueueColumn.ATTEMPTS: "Attempts", QueueColumn.ERROR: "Last error",
           QueueColumn.QUEUED: "Queued", QueueColumn.UPDATED: "Updated"}
STATE_TEXT = {OutboxState.QUEUED: "Queued", OutboxState.SENDING: "Sending",
              OutboxState.PROCESSING: "Processing at Stripe", OutboxState.REDACTED: "Redacted",
              OutboxState.FAILED: "Failed", OutboxState.CANCELLED: "Cancelled"}
STATE_COLOURS = {OutboxState.FAILED: QColor("#b3261e"), OutboxState.REDACTED: QColor("#2e7d32"),
                 OutboxState.CANCELLED: QColor("#757575")}
HANDED_OFF_COLOUR = QColor("#757575")  # waiting on someone else's app

EntryRole = Qt.ItemDataRole.UserRole + 1  # OutboxEntry
SessionRole = Qt.ItemDataRole.UserRole + 2  # str
StateRole = Qt.ItemDataRole.UserRole + 3  # str: an OutboxState value


class QueueModel(QAbstractTableModel):
    sig_counts = Signal(object)  # dict[OutboxState, int]

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[OutboxEntry] = []
        self._row_of: dict[str, int] = {}

    # -- Qt model API ----------------------------------------------------------------------------
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(QueueColumn)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(QueueColumn):
            return HEADERS[QueueColumn(section)]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        e = self._rows[index.row()]
        column = QueueColumn(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(e, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column is QueueColumn.ERROR and e.error:
                return e.error
            if column is QueueColumn.STATE and e.awaits_admin:
                return (f"Handed off to an admin on {fmt.local_time(int(e.handed_off_at))}: "
                        "their app sends it, this one does not. If it was never sent, "
                        "Reclaim… (or 'identity-desk redact reclaim') takes it back.")
            if column is QueueColumn.STATE and e.next_attempt_at and e.state in (
                    OutboxState.SENDING, OutboxState.PROCESSING):
                return f"Next attempt {fmt.local_time(int(e.next_attempt_at), seconds=True)}"
            return None
        if role == Qt.ItemDataRole.ForegroundRole and column is QueueColumn.STATE:
            return HANDED_OFF_COLOUR if e.awaits_admin else STATE_COLOURS.get(e.state)
        if role == Qt.ItemDataRole.TextAlignmentRole and column is QueueColumn.ATTEMPTS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == EntryRole:
            return e
        if role == SessionRole:
            return e.session
        if role == StateRole:
            return str(e.state)
        return None

    # -- content ---------------------------------------------------------------------------------
    def entries(self) -> list[OutboxEntry]:
        return list(self._rows)

    def entry(self, row: int) -> OutboxEntry:
        return self._rows[row]

    def row_of(self, session: str) -> int | None:
        return self._row_of.get(session)

    def counts(self) -> dict[OutboxState, int]:
        return counts(self._rows)

    def clear(self) -> None:
        self.beginResetModel()
        self._rows, self._row_of = [], {}
        self.endResetModel()
        self.sig_counts.emit(self.counts())

    def set_entries(self, entries: Iterable[OutboxEntry]) -> None:
        """The whole queue (after unlock, queueing, cancel, retry): precise updates."""
        fresh = {e.session: e for e in entries}
        for row in range(len(self._rows) - 1, -1, -1):
            if self._rows[row].session not in fresh:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._rows[row]
                self.endRemoveRows()
        self._reindex()
        self._apply(fresh.values())

    def update_entries(self, entries: Iterable[OutboxEntry]) -> None:
        """Entries that changed (from the sync engine); unknown ones are inserted."""
        self._apply(entries)

    def _apply(self, entries: Iterable[OutboxEntry]) -> None:
        last = self.columnCount() - 1
        for e in entries:
            row = self._row_of.get(e.session)
            if row is not None:
                if self._rows[row] != e or self._rows[row].seq != e.seq:
                    self._rows[row] = e
                    self.dataChanged.emit(self.index(row, 0), self.index(row, last))
                continue
            row = bisect.bisect_right([r.seq for r in self._rows], e.seq)
            self.beginInsertRows(QModelIndex(), row, row)
            self._rows.insert(row, e)
            self._reindex()
            self.endInsertRows()
        self.sig_counts.emit(self.counts())

    def _reindex(self) -> None:
        self._row_of = {e.session: i for i, e in enumerate(self._rows)}


def _display(e: OutboxEntry, column: QueueColumn) -> str:
    if column is QueueColumn.SESSION:
        return e.session
    if column is QueueColumn.STATE:
        text = STATE_TEXT.get(e.state, str(e.state))
        if e.awaits_admin:
            return f"{text} — handed off"
        if e.state is OutboxState.SENDING and e.error:
            text += " (retrying)"
        return text
    if column is QueueColumn.ATTEMPTS:
        return str(e.attempts)
    if column is QueueColumn.ERROR:
        return (e.error or "").splitlines()[0] if e.error else ""
    if column is QueueColumn.QUEUED:
        return fmt.local_time(int(e.queued_at), seconds=True)
    return fmt.local_time(int(e.updated_at), seconds=True)
