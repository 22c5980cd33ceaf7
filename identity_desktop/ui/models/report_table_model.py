"""The report list's table model: an ordered array of index positions, rows drawn lazily.

The model holds only ``numpy`` positions from :meth:`ReportIndex.query` (Anki's browser model
holds only ids the same way); a row's cells are computed in :meth:`data` from
``index.summary(pos)`` when the view paints it, so 100,000 reports cost one int32 array here.
Filtering and sorting run in the core index, never by hiding rows.

Signals are precise (KeePassXC's EntryModel): a filter change is a reset (the row set changes
wholesale), a sort is a layout change that carries the selection along, added reports that
keep the existing order become ``rowsInserted`` in contiguous runs, and changed reports that
stay where they are become ``dataChanged`` for exactly their rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from enum import IntEnum
from typing import Any

import numpy as np
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont

from identity_desktop.index import F, RedactionState, ReportFilter, ReportIndex, SortKey
from identity_desktop.report import REDACTED, ExpiryCue
from identity_desktop.ui import format as fmt
from identity_desktop.ui.resources import icon

AnyIndex = QModelIndex | QPersistentModelIndex


class Column(IntEnum):
    """Display columns; the order matches the core's :class:`SortKey`, one to one."""

    CREATED = 0
    REPORT_ID = 1
    TYPE = 2
    STATUS = 3
    NAME = 4
    DOCUMENT_TYPE = 5
    COUNTRY = 6
    ISSUED = 7
    EXPIRES = 8
    SESSION = 9
    REDACTION = 10


HEADERS = {
    Column.CREATED: "Created", Column.REPORT_ID: "Report", Column.TYPE: "Type",
    Column.STATUS: "Status", Column.NAME: "Name", Column.DOCUMENT_TYPE: "Document",
    Column.COUNTRY: "Country", Column.ISSUED: "Issued", Column.EXPIRES: "Expires",
    Column.SESSION: "Session", Column.REDACTION: "Redaction",
}
HEADER_TIPS = {
    Column.CREATED: "When Stripe created the report (local time)",
    Column.STATUS: "Verified when every check present is verified",
    Column.COUNTRY: "Issuing country of the document",
    Column.EXPIRES: "Document expiration; red: expired, amber: expires within 30 days",
    Column.REDACTION: "Redaction state (local copy and queue)",
}
SORT_KEY = {column: SortKey(int(column)) for column in Column}

# Custom roles, named so views, delegates and tests never use magic numbers.
PositionRole = Qt.ItemDataRole.UserRole + 1  # int: the row's position in the ReportIndex
ReportIdRole = Qt.ItemDataRole.UserRole + 2  # str
ExpiryCueRole = Qt.ItemDataRole.UserRole + 3  # ExpiryCue
LivemodeRole = Qt.ItemDataRole.UserRole + 4  # bool
RedactionRole = Qt.ItemDataRole.UserRole + 5  # str: a RedactionState value

EXPIRED_COLOR = QColor("#c62828")
SOON_COLOR = QColor("#b26a00")
VERIFIED_COLOR = QColor("#2e7d32")
UNVERIFIED_COLOR = QColor("#c62828")
MUTED_COLOR = QColor("#6b7280")
_ALIGN_CENTER = Qt.AlignmentFlag.AlignCenter


class ReportTableModel(QAbstractTableModel):
    sig_counts = Signal(int, int)  # visible rows, reports in the index

    def __init__(self, *, today: Callable[[], dt.date] = dt.date.today,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._index: ReportIndex | None = None
        self._rows = np.empty(0, np.int32)
        self._filter = ReportFilter()
        self._sort = SortKey.CREATED
        self._descending = True
        self._today = today
        self._italic = QFont()
        self._italic.setItalic(True)

    # -- state ----------------------------------------------------------------------------------
    @property
    def report_filter(self) -> ReportFilter:
        return self._filter

    @property
    def sort_order(self) -> tuple[SortKey, bool]:
        return self._sort, self._descending

    @property
    def total(self) -> int:
        return 0 if self._index is None else len(self._index)

    def position(self, row: int) -> int:
        return int(self._rows[row])

    def positions(self) -> np.ndarray:
        return self._rows

    def row_of(self, position: int) -> int | None:
        hits = np.flatnonzero(self._rows == position)
        return int(hits[0]) if hits.size else None

    def _query(self) -> np.ndarray:
        if self._index is None:
            return np.empty(0, np.int32)
        return self._index.query(self._filter, self._sort, self._descending).astype(np.int32)

    def _emit_counts(self) -> None:
        self.sig_counts.emit(len(self._rows), self.total)

    # -- wholesale changes: resets --------------------------------------------------------------
    def set_index(self, index: ReportIndex | None) -> None:
        """Show ``index`` (None: show nothing, e.g. while locked)."""
        self.beginResetModel()
        self._index = index
        self._rows = self._query()
        self.endResetModel()
        self._emit_counts()

    def clear(self) -> None:
        """Forget the index and the filter's text (it may be a name); keep the rest of the
        view (other filters, sort) so that unlocking shows the same list."""
        self._filter = dataclasses.replace(self._filter, text="")
        self.set_index(None)

    def set_filter(self, flt: ReportFilter) -> None:
        self._filter = flt
        rows = self._query()
        if not np.array_equal(rows, self._rows):
            self.beginResetModel()
            self._rows = rows
            self.endResetModel()
        self._emit_counts()

    # -- sorting: a layout change that keeps the selection ---------------------------------------
    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(Column):
            return
        self._sort = SORT_KEY[Column(column)]
        self._descending = order == Qt.SortOrder.DescendingOrder
        rows = self._query()
        if np.array_equal(rows, self._rows):
            return
        self.layoutAboutToBeChanged.emit()
        old = self._rows
        row_of_pos = np.empty(self.total, np.int64)
        row_of_pos[rows] = np.arange(len(rows))
        persistent = self.persistentIndexList()
        moved = [self.index(int(row_of_pos[old[p.row()]]), p.column()) for p in persistent]
        self._rows = rows
        self.changePersistentIndexList(persistent, moved)
        self.layoutChanged.emit()

    # -- precise updates after a vault change ----------------------------------------------------
    def apply_changes(self, added: Sequence[int], changed: Sequence[int]) -> None:
        """Reports were added/changed in the index (positions). Emits inserts for added rows
        that leave the existing order intact, dataChanged for changed rows that did not move,
        and falls back to a reset when rows vanished or moved."""
        if self._index is None:
            return
        new = self._query()
        old = self._rows
        added_mask = np.isin(new, np.asarray(added, np.int32)) if added else np.zeros(
            len(new), np.bool_)
        if np.array_equal(new[~added_mask], old):
            inserted = np.flatnonzero(added_mask)
            runs = np.split(inserted, np.flatnonzero(np.diff(inserted) != 1) + 1) \
                if inserted.size else []
            if len(runs) > 64:  # many scattered runs: one reset is cheaper than 64+ inserts
                self._reset_to(new)
                return
            current = old
            for run in runs:
                first, last = int(run[0]), int(run[-1])
                self.beginInsertRows(QModelIndex(), first, last)
                current = np.insert(current, first, new[first:last + 1])
                self._rows = current
                self.endInsertRows()
            self._rows = new
            self._emit_data_changed(changed)
            self._emit_counts()
        else:
            self._reset_to(new)

    def refresh_positions(self, positions: Sequence[int]) -> None:
        """Rows whose displayed values changed in place (e.g. a redaction state); if the
        filter or sort depends on what changed, the row set is recomputed."""
        self.apply_changes((), positions)

    def _reset_to(self, rows: np.ndarray) -> None:
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()
        self._emit_counts()

    def _emit_data_changed(self, positions: Sequence[int]) -> None:
        if not len(positions) or not len(self._rows):
            return
        rows = np.flatnonzero(np.isin(self._rows, np.asarray(positions, np.int32)))
        if not rows.size:
            return
        last_column = len(Column) - 1
        for run in np.split(rows, np.flatnonzero(np.diff(rows) != 1) + 1):
            self.dataChanged.emit(self.index(int(run[0]), 0),
                                  self.index(int(run[-1]), last_column))

    # -- Qt model API -----------------------------------------------------------------------------
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                | Qt.ItemFlag.ItemNeverHasChildren)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(Column):
            return None
        column = Column(section)
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            return HEADER_TIPS.get(column)
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (self._index is None or not index.isValid()
                or not 0 <= index.row() < len(self._rows)
                or not 0 <= index.column() < len(Column)):
            return None
        pos = int(self._rows[index.row()])
        column = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(pos, column)
        if role == PositionRole:
            return pos
        if role == ReportIdRole:
            return self._index.report_id(pos)
        if role == LivemodeRole:
            return bool(self._index.summary(pos)[F["livemode"]])
        if role == RedactionRole:
            return self._index.redaction_state(pos).value
        if role == ExpiryCueRole:
            return self._cue(pos)[0]
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._foreground(pos, column)
        if role == Qt.ItemDataRole.FontRole:
            return self._italic if not self._index.summary(pos)[F["livemode"]] else None
        if role == Qt.ItemDataRole.DecorationRole:
            return self._decoration(pos, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(pos, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column is Column.COUNTRY:
            return _ALIGN_CENTER
        return None

    # -- cells ------------------------------------------------------------------------------------
    def _cue(self, pos: int) -> tuple[ExpiryCue, str]:
        assert self._index is not None
        expiration = fmt.partial_from_ymd(self._index.summary(pos)[F["expires"]])
        today = self._today()
        cue = fmt.cue_for(expiration, today)
        return cue, fmt.cue_text(cue, expiration, today)

    def _display(self, pos: int, column: Column) -> str:
        assert self._index is not None
        s = self._index.summary(pos)
        if column is Column.CREATED:
            return fmt.local_time(s[F["created"]])
        if column is Column.REPORT_ID:
            return str(s[F["id"]])
        if column is Column.TYPE:
            return fmt.label(s[F["type"]])
        if column is Column.STATUS:
            return fmt.label(s[F["overall_status"]])
        if column is Column.NAME:
            return str(s[F["name"]])
        if column is Column.DOCUMENT_TYPE:
            return fmt.label(s[F["document_type"]])
        if column is Column.COUNTRY:
            return str(s[F["issuing_country"]])
        if column is Column.ISSUED:
            return fmt.ymd_text(s[F["issued"]])
        if column is Column.EXPIRES:
            return fmt.ymd_text(s[F["expires"]])
        if column is Column.SESSION:
            return str(s[F["session"]])
        return fmt.label(self._index.redaction_state(pos).value)

    def _foreground(self, pos: int, column: Column) -> QColor | None:
        assert self._index is not None
        if column is Column.EXPIRES:
            cue = self._cue(pos)[0]
            if cue is ExpiryCue.EXPIRED:
                return EXPIRED_COLOR
            if cue is ExpiryCue.EXPIRES_SOON:
                return SOON_COLOR
        elif column is Column.STATUS:
            status = self._index.summary(pos)[F["overall_status"]]
            return VERIFIED_COLOR if status == "verified" else (
                UNVERIFIED_COLOR if status == "unverified" else MUTED_COLOR)
        elif column is Column.NAME and self._index.summary(pos)[F["name"]] == REDACTED:
            return MUTED_COLOR
        elif column is Column.REDACTION:
            state = self._index.redaction_state(pos)
            if state is RedactionState.FAILED:
                return UNVERIFIED_COLOR
            if state is RedactionState.NONE:
                return MUTED_COLOR
        return None

    def _decoration(self, pos: int, column: Column) -> Any:
        assert self._index is not None
        if column is Column.REPORT_ID and not self._index.summary(pos)[F["livemode"]]:
            return icon("test")
        if column is Column.EXPIRES:
            cue = self._cue(pos)[0]
            if cue is ExpiryCue.EXPIRED:
                return icon("expired")
            if cue is ExpiryCue.EXPIRES_SOON:
                return icon("warning")
        return None

    def _tooltip(self, pos: int, column: Column) -> str | None:
        assert self._index is not None
        if column is Column.EXPIRES:
            return self._cue(pos)[1] or None
        if column is Column.REPORT_ID and not self._index.summary(pos)[F["livemode"]]:
            return "Test mode report (livemode = false)"
        if column is Column.CREATED:
            return fmt.local_time_long(self._index.summary(pos)[F["created"]])
        return None
