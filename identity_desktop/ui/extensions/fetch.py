"""File > Fetch from Stripe… (and its toolbar button) plus Tools > Stripe API key….

One fetch dialog and one key dialog per window, reused: reopening the fetch dialog while a fetch
runs shows that fetch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtGui import QAction, QKeySequence

from identity_desktop.ui.dialogs.fetch_dialog import FetchDialog
from identity_desktop.ui.dialogs.settings_dialog import SettingsDialog
from identity_desktop.ui.resources import icon

if TYPE_CHECKING:
    from identity_desktop.ui.main_window import MainWindow


class FetchFeature:
    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.fetch_dialog: FetchDialog | None = None
        self.settings_dialog: SettingsDialog | None = None

    def open_fetch(self) -> FetchDialog:
        dialog = self.fetch_dialog
        if dialog is None or not shiboken6.isValid(dialog):
            w = self.window
            dialog = FetchDialog(w.session, api_base=w.context.api_base, parent=w)
            dialog.sig_open_settings.connect(self.open_settings)
            dialog.sig_finished.connect(self._finished)
            self.fetch_dialog = dialog
        else:
            dialog.refresh_key()
        dialog.open()
        return dialog

    def open_settings(self) -> SettingsDialog:
        dialog = self.settings_dialog
        if dialog is None or not shiboken6.isValid(dialog):
            dialog = SettingsDialog(self.window.session, parent=self.window)
            dialog.sig_changed.connect(self._key_changed)
            self.settings_dialog = dialog
        else:
            dialog.refresh()
        dialog.open()
        return dialog

    def _key_changed(self, _status: object) -> None:
        if self.fetch_dialog is not None and shiboken6.isValid(self.fetch_dialog):
            self.fetch_dialog.refresh_key()

    def _finished(self, summary: object) -> None:
        line = getattr(summary, "line", None)
        if callable(line):
            self.window.status.show_note(f"Fetch: {line()}", 8000)


def install(window: MainWindow) -> None:
    from identity_desktop.ui.main_window import Menu

    feature = FetchFeature(window)
    window.fetch_feature = feature  # type: ignore[attr-defined]
    fetch = QAction(icon("fetch"), "&Fetch from Stripe…", window)
    fetch.setShortcut(QKeySequence("Ctrl+Shift+F"))
    fetch.setToolTip("Fetch verification reports from Stripe (Ctrl+Shift+F)")
    fetch.triggered.connect(lambda _checked=False: feature.open_fetch())
    window.add_action(fetch, menu=Menu.FILE, toolbar=True)
    key = QAction("Stripe &API key…", window)
    key.triggered.connect(lambda _checked=False: feature.open_settings())
    window.add_action(key, menu=Menu.TOOLS)
