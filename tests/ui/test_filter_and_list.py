"""Filtering changes the rows (combined filters, debounced text), counts follow, keyboard
navigation moves through the list."""

from __future__ import annotations

import datetime as dt

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from identity_desktop.index import F, RedactionState, ReportFilter, SortKey
from identity_desktop.ui.models.report_table_model import Column
from identity_desktop.ui.panes.filter_pane import TEXT_DEBOUNCE_MS
from tests.ui.conftest import REPORTS, TODAY, WAIT


def _tick(choice_list, value: str) -> None:
    for i in range(choice_list.count()):
        item = choice_list.item(i)
        if item.data(Qt.ItemDataRole.UserRole) == value:
            item.setCheckState(Qt.CheckState.Checked)
            return
    raise AssertionError(f"no choice {value!r}")


def _expected(window, flt: ReportFilter) -> np.ndarray:
    return window.session.index.query(flt, SortKey.CREATED, True)


def test_combined_filters_change_the_rows(unlocked, qtbot):
    window = unlocked
    pane, model = window.filter_pane, window.list_pane.model
    assert model.rowCount() == REPORTS
    assert pane.count_label.text() == f"{REPORTS} reports"
    assert "Showing 300 of 300" in window.status.counts.text()

    with qtbot.waitSignal(pane.sig_filter_changed, timeout=WAIT):
        _tick(pane.statuses, "verified")
    verified = model.rowCount()
    assert 0 < verified < REPORTS
    _tick(pane.document_types, "passport")
    pane.mode.setCurrentIndex(2)  # test only
    flt = pane.current_filter()
    assert flt.statuses == {"verified"} and flt.document_types == {"passport"}
    assert flt.livemode is False
    rows = model.rowCount()
    assert 0 < rows < verified
    assert np.array_equal(model.positions(), _expected(window, flt))
    assert pane.count_label.text() == f"{rows} of {REPORTS} reports"
    for row in range(rows):
        assert model.index(row, Column.STATUS).data() == "Verified"
        assert model.index(row, Column.DOCUMENT_TYPE).data() == "Passport"

    pane.reset()
    assert model.rowCount() == REPORTS


def test_text_is_debounced_and_matches_names_and_ids(unlocked, qtbot):
    window = unlocked
    pane, model, index = window.filter_pane, window.list_pane.model, window.session.index
    name = index.summary(int(model.positions()[3]))[F["name"]]
    first_name = name.split()[0]
    emitted: list[ReportFilter] = []
    pane.sig_filter_changed.connect(emitted.append)
    with qtbot.waitSignal(pane.sig_filter_changed, timeout=WAIT) as blocker:
        qtbot.keyClicks(pane.search, first_name.lower())
    assert len(emitted) == 1  # one query per pause, not one per key
    assert blocker.args[0].text == first_name.lower()
    assert TEXT_DEBOUNCE_MS <= 200
    rows = model.rowCount()
    assert 0 < rows < REPORTS
    for row in range(rows):
        hay = " ".join(str(model.index(row, c).data()) for c in (Column.NAME, Column.REPORT_ID,
                                                                 Column.SESSION))
        summary = index.summary(model.position(row))
        assert first_name.lower() in (hay + summary[F["client_reference_id"]]).lower()
    # Combined with a non-text filter.
    countries = [index.summary(model.position(r))[F["issuing_country"]] for r in range(rows)]
    _tick(pane.countries, next(c for c in countries if c))
    assert np.array_equal(model.positions(), _expected(window, pane.current_filter()))
    # A report id finds exactly that report.
    report_id = index.report_id(int(index.query(ReportFilter())[0]))
    pane.reset()
    pane.search.setText(report_id)
    pane.flush()
    assert model.rowCount() == 1 and model.index(0, Column.REPORT_ID).data() == report_id


def test_dates_expiry_and_redaction_filters(unlocked, qtbot):
    window = unlocked
    pane, model = window.filter_pane, window.list_pane.model
    pane.expiry.setCurrentIndex(1)  # expired
    flt = pane.current_filter()
    assert flt.expired
    expired = model.rowCount()
    assert 0 < expired < REPORTS
    assert np.array_equal(model.positions(), _expected(window, flt.__class__(
        expired=True, today=TODAY)))
    pane.expiry.setCurrentIndex(2)
    pane.expiry_days.setValue(365)
    assert pane.current_filter().expires_within_days == 365
    pane.expiry.setCurrentIndex(0)
    pane.expires_before.set_value(dt.date(2030, 1, 1))
    pane.expires_after.set_value(dt.date(2027, 1, 1))
    flt = pane.current_filter()
    assert flt.expires_before == dt.date(2030, 1, 1) and flt.expires_after == dt.date(2027, 1, 1)
    assert np.array_equal(model.positions(), _expected(window, flt))
    pane.reset()
    pane.created_from.set_value(TODAY - dt.timedelta(days=60))
    pane.created_to.set_value(TODAY - dt.timedelta(days=30))
    flt = pane.current_filter()
    assert flt.created_from is not None and flt.created_to is not None
    assert 0 < model.rowCount() < REPORTS
    assert np.array_equal(model.positions(), _expected(window, flt))
    pane.reset()
    _tick(pane.redaction, RedactionState.QUEUED.value)
    assert model.rowCount() == 0
    assert pane.count_label.text() == f"0 of {REPORTS} reports"


def test_sorting_from_the_header_uses_the_core(unlocked, qtbot):
    window = unlocked
    view, model = window.list_pane.view, window.list_pane.model
    view.sortByColumn(Column.EXPIRES, Qt.SortOrder.AscendingOrder)
    assert model.sort_order == (SortKey.EXPIRES, False)
    assert np.array_equal(model.positions(),
                          window.session.index.query(ReportFilter(), SortKey.EXPIRES, False))


def test_keyboard_navigation_and_focus(unlocked, qtbot):
    window = unlocked
    lp, dp = window.list_pane, window.detail_pane
    window.activateWindow()  # window shortcuts need the active window (the dialog just closed)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=WAIT)
    lp.focus_list()
    assert lp.view.currentIndex().row() == 0
    with qtbot.waitSignal(dp.sig_shown, timeout=WAIT):
        qtbot.keyClick(lp.view, Qt.Key.Key_J)
    assert lp.view.currentIndex().row() == 1
    with qtbot.waitSignal(dp.sig_shown, timeout=WAIT):
        qtbot.keyClick(lp.view, Qt.Key.Key_Down)
    assert lp.view.currentIndex().row() == 2
    with qtbot.waitSignal(dp.sig_shown, timeout=WAIT):
        qtbot.keyClick(lp.view, Qt.Key.Key_K)
    assert lp.view.currentIndex().row() == 1
    assert dp.position == lp.current_position()
    window.search_action.trigger()  # Ctrl+F
    assert window.filter_pane.search.hasFocus()
    qtbot.keyClicks(window.filter_pane.search, "jk")  # letters type, they do not navigate
    assert window.filter_pane.search.text() == "jk"
    assert lp.view.currentIndex().row() == 1
    lp.focus_list()
    qtbot.keyClick(lp.view, Qt.Key.Key_Return)  # Enter opens the detail pane
    assert dp.tabs.hasFocus()
