"""Selection drives the detail pane; values come from the typed ReportView; copies are
sensitive and cleared; the raw JSON is read-only and searchable."""

from __future__ import annotations

import json

from PySide6.QtGui import QGuiApplication

from identity_desktop.report import ReportView
from identity_desktop.ui import format as fmt
from identity_desktop.ui.clipboard import SENSITIVE_MIME
from identity_desktop.ui.models.report_table_model import Column
from tests.ui.conftest import TODAY, WAIT, unlock


def test_selection_drives_the_detail_pane(unlocked, qtbot):
    window = unlocked
    lp, dp = window.list_pane, window.detail_pane
    for row in (4, 9):
        with qtbot.waitSignal(dp.sig_shown, timeout=WAIT):
            lp.select_row(row)
        report_id = lp.model.index(row, Column.REPORT_ID).data()
        view = dp.view
        assert isinstance(view, ReportView) and view.id == report_id
        assert dp.field_text("report_id") == report_id
        assert dp.title.text() == (view.full_name or "(no name)")
        assert dp.field_text("created") == fmt.local_time_long(view.created)
        assert dp.field_text("livemode") == ("Live" if view.livemode else "Test")
        assert dp.mode_badge.text() == ("LIVE" if view.livemode else "TEST")
        raw = json.loads(dp.json.text.toPlainText())
        assert raw["id"] == report_id
        assert dp.json.text.isReadOnly()
        for name, (_title, status, reason) in dp._check_rows.items():
            check = view.check(name)
            if check is None:
                assert status.text() == "Not requested"
                continue
            assert status.text() == fmt.label(check.status)
            if check.error_reason:
                assert check.error_reason in reason.text()
        if view.date_of_birth is not None:
            assert dp.field_text("dob") == fmt.age_text(view.date_of_birth, TODAY)
    # Nothing selected: the pane is empty.
    lp.view.selectionModel().clearCurrentIndex()
    assert dp.is_empty()


def test_a_failing_check_shows_its_reason_and_expiry_cue(unlocked, qtbot):
    window = unlocked
    lp, dp, model = window.list_pane, window.detail_pane, window.list_pane.model
    for row in range(1, model.rowCount()):  # row 0 is already current
        if model.index(row, Column.STATUS).data() == "Unverified":
            break
    with qtbot.waitSignal(dp.sig_shown, timeout=WAIT):
        lp.select_row(row)
    failing = [c for c in dp.view.checks if c.status != "verified"]
    assert failing
    _title, status, reason = dp._check_rows[failing[0].name]
    assert status.text() == "Unverified"
    assert (failing[0].error_reason or failing[0].error_code or "") in reason.text()
    # An expired document is cued in the detail pane too.
    with qtbot.waitSignal(dp.sig_shown, timeout=WAIT):
        window.filter_pane.expiry.setCurrentIndex(1)  # expired only: the current row changes
        if lp.current_position() is None:
            lp.select_row(0)
    assert "Expired" in dp.field_text("expires")
    assert dp.expiry_badge.isVisible() and dp.expiry_badge.text().startswith("Expired")


def test_json_find(unlocked, qtbot):
    json_view = unlocked.detail_pane.json
    json_view.find_field.setText('"created"')
    assert json_view.matches.text() == "1 match"
    assert json_view.text.textCursor().selectedText() == '"created"'
    json_view.find_field.setText("no such text anywhere")
    assert json_view.matches.text() == "Not found"
    assert not json_view.find_next()


def test_copy_marks_sensitive_and_clears_after_timeout(window_factory, vault_file, qtbot):
    window = window_factory(vault_file, clipboard_ms=300)
    unlock(window, qtbot)
    dp = window.detail_pane
    clipboard = QGuiApplication.clipboard()
    field = dp._fields["report_id"]
    with qtbot.waitSignal(window.context.clipboard.sig_copied, timeout=WAIT):
        field.button.click()
    assert clipboard.text() == dp.view.id
    mime = clipboard.mimeData()
    assert bytes(mime.data(SENSITIVE_MIME)) == b"secret"
    assert "clipboard" in window.status.currentMessage()
    with qtbot.waitSignal(window.context.clipboard.sig_cleared, timeout=WAIT):
        pass
    assert clipboard.text() == ""
    # Something the user copied afterwards is left alone.
    with qtbot.waitSignal(window.context.clipboard.sig_copied, timeout=WAIT):
        field.button.click()
    clipboard.setText("the user's own text")
    with qtbot.waitSignal(window.context.clipboard.sig_cleared, timeout=WAIT):
        pass
    assert clipboard.text() == "the user's own text"
