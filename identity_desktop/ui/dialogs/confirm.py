"""A window-modal "are you sure?" box for acts that cannot be taken back.

Non-blocking (``open()``, never ``exec()``), so a test or the idle lock can act while it is up;
Cancel is both the default and the escape button, so only a deliberate click confirms; the box
deletes itself when closed. Used before queueing a redaction and before reclaiming a hand-off.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget


def ask_to_confirm(parent: QWidget, *, title: str, text: str, details: str, confirm: str,
                   on_confirm: Callable[[], object], object_name: str,
                   role: QMessageBox.ButtonRole = QMessageBox.ButtonRole.AcceptRole
                   ) -> QMessageBox:
    """Open the box and return it; ``on_confirm`` runs only if ``confirm`` is clicked."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, parent=parent)
    box.setObjectName(object_name)
    box.setInformativeText(details)
    yes = box.addButton(confirm, role)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(cancel)
    box.setEscapeButton(cancel)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.buttonClicked.connect(lambda button: on_confirm() if button is yes else None)
    box.open()
    return box
