"""Unlock and create dialogs: right and wrong passphrase, confirm mismatch, busy state."""

from __future__ import annotations

from pathlib import Path

from identity_desktop.ui.dialogs.unlock_dialog import UnlockDialog, strength
from tests.conftest import PASSPHRASE
from tests.ui.conftest import REPORTS, WAIT, gone


def test_right_passphrase_unlocks_and_fills_the_panes(window_factory, vault_file, qtbot):
    window = window_factory(vault_file)
    assert window.stack.currentWidget() is window.locked_page
    assert not window.lock_action.isEnabled()
    dialog = window.request_unlock()
    dialog.passphrase.setText(PASSPHRASE)
    left_behind = []
    dialog.sig_done.connect(lambda: left_behind.append(dialog.passphrase.text()))
    with qtbot.waitSignal(window.detail_pane.sig_shown, timeout=WAIT):
        dialog.submit()
    qtbot.waitUntil(lambda: gone(dialog), timeout=WAIT)
    assert left_behind == [""]  # the passphrase is not kept in the field
    assert window.session.is_unlocked
    assert window.stack.currentWidget() is window.splitter
    assert window.list_pane.model.rowCount() == REPORTS
    assert window.detail_pane.view is not None
    assert window.lock_action.isEnabled()


def test_wrong_passphrase_shows_the_error_and_stays_open(window_factory, vault_file, qtbot):
    window = window_factory(vault_file)
    dialog = window.request_unlock()
    assert isinstance(dialog, UnlockDialog) and not dialog.creating
    dialog.passphrase.setText("not the passphrase")
    op_done = []
    window.session.runner.sig_busy.connect(lambda busy: op_done.append(busy))
    dialog.submit()
    assert dialog.busy and dialog.busy_bar.isVisible() and not dialog.passphrase.isEnabled()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=WAIT)
    assert dialog.isVisible()
    assert dialog.error_label.isVisible()
    assert "Wrong passphrase" in dialog.error_label.text()
    assert not window.session.is_unlocked
    assert window.list_pane.model.rowCount() == 0
    # The same dialog then accepts the right one.
    dialog.passphrase.setText(PASSPHRASE)
    with qtbot.waitSignal(window.session.sig_unlocked, timeout=WAIT):
        dialog.submit()
    qtbot.waitUntil(lambda: gone(dialog), timeout=WAIT)
    assert window.list_pane.model.rowCount() == REPORTS


def test_create_vault_with_confirm_mismatch_then_match(window_factory, tmp_path: Path, qtbot):
    path = tmp_path / "fresh" / "new.idvault"
    window = window_factory(path)
    dialog = window.request_unlock()
    assert dialog.creating and dialog.confirm.isVisible()
    dialog.passphrase.setText("a long enough passphrase")
    assert dialog.strength_hint.text()  # a hint while typing
    dialog.confirm.setText("a different passphrase")
    dialog.submit()
    assert not dialog.busy
    assert "differ" in dialog.error_label.text()
    assert not path.exists()
    dialog.passphrase.setText("short")
    dialog.confirm.setText("short")
    dialog.submit()
    assert "too short" in dialog.error_label.text()
    dialog.passphrase.setText("a long enough passphrase")
    dialog.confirm.setText("a long enough passphrase")
    with qtbot.waitSignal(window.session.sig_unlocked, timeout=WAIT):
        dialog.submit()
    assert path.is_file()
    assert window.list_pane.model.rowCount() == 0
    assert window.detail_pane.is_empty()


def test_strength_hint_grows_with_length():
    assert strength("")[0] == 0
    assert strength("abc")[0] == 0
    assert strength("password")[0] <= 1
    assert strength("correct horse battery staple")[0] >= 3
