"""Locking clears every pane and drops the desk; unlocking restores the same view (minus the
search text); the idle timeout locks."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from identity_desktop.index import SortKey
from identity_desktop.ui.models.report_table_model import Column
from tests.conftest import PASSPHRASE
from tests.ui.conftest import REPORTS, WAIT, unlock


def _tick_first(choice_list) -> str:
    item = choice_list.item(0)
    item.setCheckState(Qt.CheckState.Checked)
    return item.data(Qt.ItemDataRole.UserRole)


def test_lock_clears_every_pane_and_unlock_restores_the_view(unlocked, qtbot):
    window = unlocked
    fp, lp, dp, session = window.filter_pane, window.list_pane, window.detail_pane, window.session
    desk = session.desk
    status = _tick_first(fp.statuses)
    lp.view.sortByColumn(Column.NAME, Qt.SortOrder.AscendingOrder)
    fp.search.setText("a")
    fp.flush()
    visible = lp.model.rowCount()
    assert 0 < visible < REPORTS
    with qtbot.waitSignal(dp.sig_shown, timeout=WAIT):
        lp.select_row(2)
    position = lp.current_position()
    window.context.clipboard.copy("a copied value")

    with qtbot.waitSignal(session.sig_locked, timeout=WAIT):
        window.lock_action.trigger()  # Ctrl+L
    assert not session.is_unlocked and session.index is None
    assert lp.model.rowCount() == 0 and lp.model.report_filter.text == ""
    assert dp.is_empty() and dp.view is None
    assert dp.json.text.toPlainText() == "" and dp.field_text("name") == "—"
    assert fp.search.text() == ""
    assert fp.statuses.count() == 0 and fp.countries.count() == 0  # vault values dropped
    assert fp.count_label.text() == "" and window.status.counts.text() == ""
    assert window.status.lock_state.text() == "Locked"
    assert QGuiApplication.clipboard().text() == ""
    assert window.stack.currentWidget() is window.locked_page
    assert not window.import_action.isEnabled() and not window.next_action.isEnabled()
    qtbot.waitUntil(lambda: desk.vault.is_locked, timeout=WAIT)  # keys dropped on its thread
    assert window.unlock_dialog is not None and window.unlock_dialog.isVisible()

    unlock(window, qtbot)
    assert fp.search.text() == ""  # the search text (maybe a name) is not kept
    assert fp.current_filter().statuses == {status}
    assert lp.model.sort_order == (SortKey.NAME, False)
    assert lp.current_position() == position
    assert dp.position == position and dp.view is not None
    assert lp.model.rowCount() > 0 and lp.model.rowCount() >= visible


def test_idle_timeout_locks(window_factory, vault_file, qtbot):
    window = window_factory(vault_file, idle_ms=300)
    assert not window.context.idle.active  # nothing to guard while locked
    unlock(window, qtbot)
    assert window.context.idle.active
    with qtbot.waitSignal(window.session.sig_locked, timeout=WAIT):
        pass
    assert window.list_pane.model.rowCount() == 0
    assert not window.context.idle.active


def test_user_input_postpones_the_idle_lock(window_factory, vault_file, qtbot):
    window = window_factory(vault_file, idle_ms=400)
    unlock(window, qtbot)
    locked: list[int] = []
    window.session.sig_locked.connect(lambda: locked.append(1))
    for _ in range(4):  # ~600 ms of typing in 150 ms steps: longer than the timeout
        qtbot.keyClick(window.filter_pane.search, Qt.Key.Key_A)
        qtbot.wait(150)
    assert not locked
    with qtbot.waitSignal(window.session.sig_locked, timeout=WAIT):
        pass


def test_results_arriving_after_lock_are_dropped(unlocked, qtbot):
    window = unlocked
    session = window.session
    seen: list[object] = []
    op = session.run(lambda desk, _ctx: len(desk.index)).success(seen.append)
    op.run_in_background()
    session.lock()
    with qtbot.waitSignal(op.sig_finished, timeout=WAIT):
        pass
    assert seen == []  # the locked generation's result never reaches a pane
    dialog = window.unlock_dialog
    dialog.passphrase.setText(PASSPHRASE)
    with qtbot.waitSignal(session.sig_unlocked, timeout=WAIT):
        dialog.submit()
