"""The list model: qtmodeltester, lazy rows from the index, precise signals, cues, sorting."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QModelIndex, Qt

from identity_desktop.index import F, RedactionState, ReportFilter, ReportIndex, SortKey
from identity_desktop.report import ExpiryCue, summarize
from identity_desktop.ui.models.report_table_model import (
    Column,
    ExpiryCueRole,
    LivemodeRole,
    PositionRole,
    RedactionRole,
    ReportIdRole,
    ReportTableModel,
)
from tests.ui.conftest import TODAY, demo_reports


def _model(count: int = 200) -> tuple[ReportTableModel, ReportIndex, list[dict]]:
    reports = demo_reports(count)
    index = ReportIndex(summarize(r) for r in reports)
    model = ReportTableModel(today=lambda: TODAY)
    model.set_index(index)
    return model, index, reports


def test_model_tester_populated_and_after_filter_changes(qtmodeltester):
    model, _index, _ = _model()
    qtmodeltester.check(model)
    model.set_filter(ReportFilter(statuses=frozenset({"verified"}), livemode=False))
    qtmodeltester.check(model)
    model.set_filter(ReportFilter(text="zzz-no-such-name"))
    assert model.rowCount() == 0
    qtmodeltester.check(model)
    model.set_filter(ReportFilter())
    model.sort(Column.NAME, Qt.SortOrder.AscendingOrder)
    qtmodeltester.check(model)
    model.clear()
    qtmodeltester.check(model)


def test_rows_are_index_positions_in_query_order():
    model, index, _ = _model()
    flt = ReportFilter(types=frozenset({"document"}))
    model.set_filter(flt)
    expected = index.query(flt, SortKey.CREATED, True)
    assert model.rowCount() == len(expected)
    assert np.array_equal(model.positions(), expected)
    first = model.index(0, Column.REPORT_ID)
    assert first.data(PositionRole) == int(expected[0])
    assert first.data(ReportIdRole) == index.report_id(int(expected[0]))
    assert first.data() == index.report_id(int(expected[0]))


def test_cues_test_mode_and_roles():
    model, _index, _ = _model(300)
    cues = {model.index(r, Column.EXPIRES).data(ExpiryCueRole) for r in range(model.rowCount())}
    assert {ExpiryCue.EXPIRED, ExpiryCue.EXPIRES_SOON, ExpiryCue.VALID} <= cues
    for row in range(model.rowCount()):
        cell = model.index(row, Column.EXPIRES)
        cue = cell.data(ExpiryCueRole)
        if cue is ExpiryCue.EXPIRED:
            assert "Expired" in cell.data(Qt.ItemDataRole.ToolTipRole)
            assert cell.data(Qt.ItemDataRole.ForegroundRole) is not None
            assert not cell.data(Qt.ItemDataRole.DecorationRole).isNull()
        live = cell.data(LivemodeRole)
        font = model.index(row, Column.NAME).data(Qt.ItemDataRole.FontRole)
        assert (font is None) == live  # test rows are italic
        badge = model.index(row, Column.REPORT_ID).data(Qt.ItemDataRole.ToolTipRole)
        assert (badge is None) == live
        state = RedactionState(cell.data(RedactionRole))  # ~1% of demo reports come redacted
        assert state in (RedactionState.NONE, RedactionState.REDACTED)
        if state is RedactionState.REDACTED:
            assert model.index(row, Column.REDACTION).data() == "Redacted"


def test_sort_is_a_layout_change_that_keeps_the_selection(qtbot):
    model, index, _ = _model()
    persistent = [model.index(5, 0)]
    from PySide6.QtCore import QPersistentModelIndex

    kept = QPersistentModelIndex(persistent[0])
    pos = kept.data(PositionRole)
    with qtbot.waitSignal(model.layoutChanged, timeout=1000):
        model.sort(Column.NAME, Qt.SortOrder.AscendingOrder)
    assert kept.isValid() and kept.data(PositionRole) == pos
    names = [model.index(r, Column.NAME).data() for r in range(model.rowCount())]
    assert names == sorted(names, key=str.casefold)
    assert np.array_equal(model.positions(), index.query(ReportFilter(), SortKey.NAME, False))


def test_appended_reports_are_inserted_not_reset(qtbot):
    reports = demo_reports(120)
    index = ReportIndex(summarize(r) for r in reports[20:])  # the 20 newest arrive later
    model = ReportTableModel(today=lambda: TODAY)
    model.set_index(index)
    before = model.rowCount()
    inserted: list[tuple[int, int]] = []
    resets: list[int] = []
    model.rowsInserted.connect(lambda _p, first, last: inserted.append((first, last)))
    model.modelReset.connect(lambda: resets.append(1))
    added, changed = index.upsert([summarize(r) for r in reports[:20]])
    model.apply_changes(added, changed)
    assert not resets
    assert sum(last - first + 1 for first, last in inserted) == 20
    assert model.rowCount() == before + 20
    assert np.array_equal(model.positions(), index.query(ReportFilter(), SortKey.CREATED, True))


def test_changed_rows_emit_data_changed_for_exactly_those_rows(qtbot):
    model, index, _reports = _model(100)
    session_col = F["session"]
    session = index.summary(int(model.positions()[7]))[session_col]
    changed_rows: list[tuple[int, int]] = []
    resets: list[int] = []
    model.dataChanged.connect(lambda tl, br, _roles=(): changed_rows.append((tl.row(), br.row())))
    model.modelReset.connect(lambda: resets.append(1))
    positions = index.set_session_states({session: RedactionState.QUEUED})
    model.refresh_positions(positions)
    assert not resets
    rows = {r for first, last in changed_rows for r in range(first, last + 1)}
    assert rows == {model.row_of(p) for p in positions}
    assert model.index(7, Column.REDACTION).data() == "Queued"


def test_invalid_indexes_and_headers():
    model, _index, _ = _model(10)
    assert model.data(QModelIndex()) is None
    assert model.rowCount(model.index(0, 0)) == 0
    assert model.headerData(0, Qt.Orientation.Vertical) is None
    assert model.headerData(Column.EXPIRES, Qt.Orientation.Horizontal) == "Expires"
    assert [Column(c).value for c in Column] == [k.value for k in SortKey]
