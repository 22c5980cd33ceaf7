"""The window's extension API, its layout settings, and what it leaves on disk."""

from __future__ import annotations

import logging
import sys

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel

from identity_desktop.index import F
from identity_desktop.logs import configure_logging
from identity_desktop.ui import extensions
from identity_desktop.ui.main_window import Menu, default_size
from tests.conftest import PASSPHRASE
from tests.ui.conftest import WAIT, unlock


def test_add_action_toolbar_and_dock(window_factory, vault_file, qtbot):
    window = window_factory(vault_file)
    action = QAction("&Export bundle…", window)
    window.add_action(action, menu=Menu.FILE, toolbar=True)
    file_actions = window.menu(Menu.FILE).actions()
    assert file_actions.index(action) < file_actions.index(window.lock_action)
    toolbar_actions = window.toolbar.actions()
    assert toolbar_actions.index(action) < toolbar_actions.index(window.lock_action)
    assert not action.isEnabled()  # locked
    tools = QAction("Queue &settings…", window)
    window.add_action(tools, menu=Menu.TOOLS, requires_unlock=False)
    assert window.menu(Menu.TOOLS).menuAction().isVisible() and tools.isEnabled()
    pane = QLabel("queue")
    dock = window.add_dock(pane, "Redaction queue", object_name="queueDock",
                           area=Qt.DockWidgetArea.BottomDockWidgetArea)
    assert dock.toggleViewAction() in window.menu(Menu.VIEW).actions()
    unlock(window, qtbot)
    assert action.isEnabled()
    with qtbot.waitSignal(window.session.sig_locked, timeout=WAIT):
        window.session.lock()
    assert not action.isEnabled() and tools.isEnabled()


def test_extensions_are_installed_from_the_package(window_factory, vault_file, tmp_path,
                                                   monkeypatch: pytest.MonkeyPatch):
    folder = tmp_path / "ext"
    folder.mkdir()
    (folder / "zz_probe.py").write_text(
        "def install(window):\n    window.probe_installed = True\n")
    (folder / "_helper.py").write_text("raise AssertionError('helpers are not installed')\n")
    monkeypatch.setattr(extensions, "__path__", [*extensions.__path__, str(folder)])
    monkeypatch.delitem(sys.modules, "identity_desktop.ui.extensions.zz_probe", raising=False)
    from identity_desktop.ui.main_window import MainWindow

    window = MainWindow(window_factory(vault_file).context, load_extensions=True)
    try:
        assert window.probe_installed is True
    finally:
        window.context.shutdown()
        window.deleteLater()


def test_default_size_fits_the_screen_but_never_below_1280x800():
    from PySide6.QtCore import QSize

    assert default_size(QSize(3840, 2160)) == QSize(1680, 1000)
    assert default_size(QSize(1366, 768)) == QSize(1280, 800)
    assert default_size(QSize(1920, 1080)).width() >= 1280


def test_nothing_personal_reaches_disk(window_factory, vault_file, qtbot, tmp_path,
                                      all_written_files):
    log_file = tmp_path / "logs" / "identity-desktop.log"
    configure_logging(log_file=log_file)
    try:
        window = window_factory(vault_file)
        dialog = window.request_unlock()
        dialog.passphrase.setText("a wrong passphrase")  # a failure is logged
        dialog.submit()
        qtbot.waitUntil(lambda: not dialog.busy, timeout=WAIT)
        unlock(window, qtbot)
        index = window.session.index
        summary = index.summary(window.list_pane.current_position())
        secrets = [summary[F["id"]], summary[F["session"]], PASSPHRASE]
        secrets += [part for part in summary[F["name"]].split() if len(part) > 3]
        window.filter_pane.search.setText(summary[F["name"]])
        window.filter_pane.flush()
        window.detail_pane._fields["report_id"].button.click()
        window.close()  # saves the layout, locks, stops the vault thread
    finally:
        for handler in list(logging.getLogger().handlers):
            if getattr(handler, "_identity_desk", False):
                handler.close()
        configure_logging()
    settings = (tmp_path / "ui-settings.ini").read_bytes()
    assert b"geometry" in settings  # layout was saved...
    written = list(all_written_files())
    assert log_file in written
    for path in written:
        data = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, f"{secret[:3]}… found in {path.name}"
