"""File > Export bundle… (and its toolbar button) plus Tools > My public key….

One export dialog per window, reused while it runs (reopening shows the export in progress);
otherwise each opening starts fresh, so its counts describe the list as it is now.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtGui import QAction, QKeySequence

from identity_desktop.ui.dialogs.export_dialog import ExportDialog
from identity_desktop.ui.dialogs.public_key_dialog import PublicKeyDialog
from identity_desktop.ui.resources import icon

if TYPE_CHECKING:
    from identity_desktop.ui.dialogs.export_dialog import ExportResult
    from identity_desktop.ui.main_window import MainWindow


class BundlesFeature:
    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.export_dialog: ExportDialog | None = None
        self.key_dialog: PublicKeyDialog | None = None

    def open_export(self) -> ExportDialog:
        dialog = self.export_dialog
        if dialog is None or not shiboken6.isValid(dialog) or not dialog.running:
            if dialog is not None and shiboken6.isValid(dialog):
                dialog.deleteLater()
            w = self.window
            dialog = ExportDialog(w.session, w.list_pane, parent=w)
            dialog.sig_finished.connect(self._finished)
            self.export_dialog = dialog
        dialog.open()
        return dialog

    def open_public_key(self) -> PublicKeyDialog:
        dialog = self.key_dialog
        if dialog is None or not shiboken6.isValid(dialog):
            dialog = PublicKeyDialog(self.window.session, parent=self.window)
            self.key_dialog = dialog
        else:
            dialog.refresh()
        dialog.open()
        return dialog

    def _finished(self, result: ExportResult) -> None:
        if result.ok:
            self.window.status.show_note(
                f"Exported {result.count:,} reports to {result.path.name}", 8000)


def install(window: MainWindow) -> None:
    from identity_desktop.ui.main_window import Menu

    feature = BundlesFeature(window)
    window.bundles_feature = feature  # type: ignore[attr-defined]
    export = QAction(icon("export"), "&Export bundle…", window)
    export.setShortcut(QKeySequence("Ctrl+Shift+E"))
    export.setToolTip("Export the listed or selected reports as an encrypted age bundle "
                      "(Ctrl+Shift+E)")
    export.triggered.connect(lambda _checked=False: feature.open_export())
    window.add_action(export, menu=Menu.FILE, toolbar=True)
    key = QAction("My &public key…", window)
    key.setToolTip("The vault's age public key, for an admin to encrypt batches to")
    key.triggered.connect(lambda _checked=False: feature.open_public_key())
    window.add_action(key, menu=Menu.TOOLS)
