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
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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
        self._cache: dict[int, _Cells] = {}
        self._cache_day: dt.date | None = None
        self._day_valid_until = 0.0

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
        self._forget()
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
        self._forget(changed)
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
        # The view asks ~7 roles per visible cell on every paint: answer from a per-row cache
        # and leave early for roles we never provide.
        if role not in _ROLES or self._index is None:
            return None
        row, column = index.row(), index.column()
        if not (0 <= row < len(self._rows) and 0 <= column < _COLUMNS) or not index.isValid():
            return None
        cells = self._row(int(self._rows[row]))
        if role == _DISPLAY:
            return cells.display[column]
        if role == _FONT:
            return None if cells.live else self._italic
        if role == _FOREGROUND:
            return cells.foreground[column]
        if role == _DECORATION:
            return cells.decoration[column]
        if role == _TOOLTIP:
            return cells.tooltip[column]
        if role == _ALIGNMENT:
            return _ALIGN_CENTER if column == Column.COUNTRY else None
        if role == PositionRole:
            return int(self._rows[row])
        if role == ReportIdRole:
            return cells.display[Column.REPORT_ID]
        if role == LivemodeRole:
            return cells.live
        if role == RedactionRole:
            return cells.redaction.value
        if role == ExpiryCueRole:
            return cells.cue
        return None

    # -- cells ------------------------------------------------------------------------------------
    def _row(self, pos: int) -> _Cells:
        cells = self._cache.get(pos)
        if cells is not None and time.monotonic() < self._day_valid_until:
            return cells
        today = self._today()  # slow-ish (it imports): asked at most every few seconds
        self._day_valid_until = time.monotonic() + _DAY_CHECK_SECONDS
        if today != self._cache_day or len(self._cache) > _CACHE_ROWS:
            self._cache.clear()  # cues depend on the day; the cache only needs visible rows
            self._cache_day = today
        cells = self._cache.get(pos)
        if cells is None:
            assert self._index is not None
            cells = _Cells.build(self._index.summary(pos), self._index.redaction_state(pos),
                                 today)
            self._cache[pos] = cells
        return cells

    def _forget(self, positions: Sequence[int] | None = None) -> None:
        if positions is None:
            self._cache.clear()
        else:
            for pos in positions:
                self._cache.pop(int(pos), None)


_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_FONT = int(Qt.ItemDataRole.FontRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_DECORATION = int(Qt.ItemDataRole.DecorationRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole)
_ROLES = frozenset({_DISPLAY, _FONT, _FOREGROUND, _DECORATION, _TOOLTIP, _ALIGNMENT,
                    int(PositionRole), int(ReportIdRole), int(LivemodeRole),
                    int(RedactionRole), int(ExpiryCueRole)})
_COLUMNS = len(Column)
_CACHE_ROWS = 4096
_DAY_CHECK_SECONDS = 5.0


@dataclass(slots=True)
class _Cells:
    """Everything one row shows, computed once from its summary (rows are drawn often)."""

    display: list[str]
    foreground: list[QColor | None]
    decoration: list[Any]
    tooltip: list[str | None]
    live: bool
    cue: ExpiryCue
    redaction: RedactionState

    @classmethod
    def build(cls, s: Sequence[Any], state: RedactionState, today: dt.date) -> _Cells:
        expiration = fmt.partial_from_ymd(s[F["expires"]])
        cue = fmt.cue_for(expiration, today)
        live = bool(s[F["livemode"]])
        status = s[F["overall_status"]]
        display = [
            fmt.local_time(s[F["created"]]), str(s[F["id"]]), fmt.label(s[F["type"]]),
            fmt.label(status), str(s[F["name"]]), fmt.label(s[F["document_type"]]),
            str(s[F["issuing_country"]]), fmt.ymd_text(s[F["issued"]]),
            fmt.ymd_text(s[F["expires"]]), str(s[F["session"]]), fmt.label(state.value),
        ]
        foreground: list[QColor | None] = [None] * _COLUMNS
        decoration: list[Any] = [None] * _COLUMNS
        tooltip: list[str | None] = [None] * _COLUMNS
        foreground[Column.STATUS] = (VERIFIED_COLOR if status == "verified" else
                                     UNVERIFIED_COLOR if status == "unverified" else MUTED_COLOR)
        if s[F["name"]] == REDACTED:
            foreground[Column.NAME] = MUTED_COLOR
        if state is RedactionState.FAILED:
            foreground[Column.REDACTION] = UNVERIFIED_COLOR
        elif state is RedactionState.NONE:
            foreground[Column.REDACTION] = MUTED_COLOR
        if cue is ExpiryCue.EXPIRED:
            foreground[Column.EXPIRES] = EXPIRED_COLOR
            decoration[Column.EXPIRES] = icon("expired")
        elif cue is ExpiryCue.EXPIRES_SOON:
            foreground[Column.EXPIRES] = SOON_COLOR
            decoration[Column.EXPIRES] = icon("warning")
        tooltip[Column.EXPIRES] = fmt.cue_text(cue, expiration, today) or None
        if not live:
            decoration[Column.REPORT_ID] = icon("test")
            tooltip[Column.REPORT_ID] = "Test mode report (livemode = false)"
        tooltip[Column.CREATED] = fmt.local_time_long(s[F["created"]])
        return cls(display, foreground, decoration, tooltip, live, cue, state)
