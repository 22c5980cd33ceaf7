"""The report list: a table view over :class:`ReportTableModel`, multi-select, keyboard-driven.

It runs the filter it is given, follows vault changes precisely, and tells the window which
report is current (``sig_current_changed(position | None)``) and which are selected
(``sig_selection_changed(list[int])``), as index positions; panes that need ids ask the session.

Lock: the model is emptied; only the current report's *position* (an int, kept in memory, never
on disk) is remembered so that unlocking selects the same report again. Positions are stable
across a lock because the index is rebuilt in the vault's storage order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QMenu,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from identity_desktop.index import ReportFilter
from identity_desktop.ui.models.report_table_model import Column, ReportTableModel
from identity_desktop.ui.session import Session, VaultChanges

# Default widths come from sample text in the current font, so the columns fit at any DPI or
# font; ids are elided in the middle and keep their distinct ends. (Saved widths win.)
WIDTH_SAMPLES = {
    Column.CREATED: "2026-12-31 23:59", Column.REPORT_ID: "vr_1Rxy…f20XY", Column.TYPE:
    "ID number", Column.STATUS: "Unverified", Column.NAME: "Thessaly Glimmerdal",
    Column.DOCUMENT_TYPE: "Driving license", Column.COUNTRY: "Country", Column.ISSUED:
    "2026-12-31", Column.EXPIRES: "2026-12-31", Column.SESSION: "vs_1Rxy…f20XY",
    Column.REDACTION: "Processing",
}
DECORATED = (Column.REPORT_ID, Column.EXPIRES)  # columns that may carry a cue icon


class ReportTable(QTableView):
    """QTableView with uniform rows and J/K as next/previous (Up/Down work natively)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("reportTable")
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # ids keep their distinct ends
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setTabKeyNavigation(False)  # Tab leaves the table: sensible tab order
        vertical = self.verticalHeader()
        vertical.setVisible(False)
        # Uniform row heights: the view never measures 100k rows.
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(self.fontMetrics().height() + 10)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionsMovable(True)
        header.setStretchLastSection(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._column_menu)

    def _column_menu(self, pos) -> None:
        """Right-click on the header: show or hide columns."""
        model = self.model()
        menu = QMenu(self)
        for column in Column:
            action = menu.addAction(str(model.headerData(column, Qt.Orientation.Horizontal)))
            action.setCheckable(True)
            action.setChecked(not self.isColumnHidden(column))
            action.toggled.connect(lambda on, c=column: self.setColumnHidden(c, not on))
        menu.popup(self.horizontalHeader().mapToGlobal(pos))


class ListPane(QWidget):
    sig_current_changed = Signal(object)  # index position or None
    sig_selection_changed = Signal(list)  # index positions of every selected row
    sig_counts_changed = Signal(int, int)  # visible, total
    sig_activated = Signal()  # Enter / double-click: the user wants the detail pane

    def __init__(self, session: Session, *, today: Callable[[], dt.date] = dt.date.today,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("listPane")
        self._session = session
        self._restore_position: int | None = None
        self.model = ReportTableModel(today=today, parent=self)
        self.view = ReportTable(self)
        self.view.setModel(self.model)
        self.apply_default_widths()
        header = self.view.horizontalHeader()
        header.setSortIndicator(Column.CREATED, Qt.SortOrder.DescendingOrder)
        self.view.setSortingEnabled(True)  # header clicks call model.sort -> core SortKey
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)

        self.model.sig_counts.connect(self.sig_counts_changed)
        self.model.modelReset.connect(self._after_reset)
        selection = self.view.selectionModel()
        selection.currentRowChanged.connect(self._on_current_row)
        selection.selectionChanged.connect(lambda *_: self.sig_selection_changed.emit(
            self.selected_positions()))
        self.view.activated.connect(lambda _index: self.sig_activated.emit())

        session.sig_unlocked.connect(self._on_unlocked)
        session.sig_changed.connect(self._on_changed)
        session.sig_locked.connect(self._on_locked)

    def apply_default_widths(self) -> None:
        metrics = self.view.fontMetrics()
        bold = self.view.horizontalHeader().font()
        bold.setBold(True)
        header_metrics = QFontMetrics(bold)
        for column, sample in WIDTH_SAMPLES.items():
            header = str(self.model.headerData(column, Qt.Orientation.Horizontal))
            width = max(metrics.horizontalAdvance(sample) + (20 if column in DECORATED else 0),
                        header_metrics.horizontalAdvance(header))
            self.view.setColumnWidth(column, width + 12)

    # -- queries -------------------------------------------------------------------------------
    def set_filter(self, flt: ReportFilter) -> None:
        current = self.current_position()
        if current is not None:
            self._restore_position = current
        self.model.set_filter(flt)

    def current_position(self) -> int | None:
        index = self.view.currentIndex()
        return self.model.position(index.row()) if index.isValid() else None

    def selected_positions(self) -> list[int]:
        rows = sorted(i.row() for i in self.view.selectionModel().selectedRows())
        return [self.model.position(row) for row in rows]

    def selected_report_ids(self) -> list[str]:
        return self._session.report_ids(self.selected_positions())

    # -- navigation -----------------------------------------------------------------------------
    def select_row(self, row: int) -> None:
        if not 0 <= row < self.model.rowCount():
            return
        index = self.model.index(row, max(0, self.view.currentIndex().column()))
        self.view.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)
        self.view.scrollTo(index)

    def select_position(self, position: int) -> bool:
        row = self.model.row_of(position)
        if row is None:
            return False
        self.select_row(row)
        return True

    def next_report(self) -> None:
        current = self.view.currentIndex()
        self.select_row(current.row() + 1 if current.isValid() else 0)

    def previous_report(self) -> None:
        current = self.view.currentIndex()
        self.select_row(current.row() - 1 if current.isValid() else 0)

    def focus_list(self) -> None:
        self.view.setFocus(Qt.FocusReason.ShortcutFocusReason)
        if not self.view.currentIndex().isValid():
            self.select_row(0)

    # -- reactions ----------------------------------------------------------------------------
    def _on_current_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.sig_current_changed.emit(
            self.model.position(current.row()) if current.isValid() else None)

    def _after_reset(self) -> None:
        """A reset drops the selection: bring back the report that was current, if visible."""
        wanted = self._restore_position
        if wanted is not None and self.model.rowCount() and self.select_position(wanted):
            return
        self.sig_current_changed.emit(None)
        self.sig_selection_changed.emit([])

    def _on_unlocked(self) -> None:
        self.model.set_index(self._session.index)
        if self.model.rowCount() and not self.view.currentIndex().isValid():
            self.select_row(0)  # the detail pane shows something from the first second

    def _on_changed(self, changes: VaultChanges) -> None:
        current = self.current_position()
        if current is not None:
            self._restore_position = current
        self.model.apply_changes(changes.added, changes.changed)

    def _on_locked(self) -> None:
        current = self.current_position()
        self._restore_position = current if current is not None else self._restore_position
        self.model.clear()
