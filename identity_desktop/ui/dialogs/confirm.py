"""A window-modal "are you sure?" box for acts that cannot be taken back.

Non-blocking (``open()``, never ``exec()``), so a test or the idle lock can act while it is up;
Cancel is both the default and the escape button, so only a deliberate click confirms; the box
deletes itself when closed. Used before queueing a redaction and before reclaiming a hand-off.

Every box closes when the vault locks (Lock or the idle lock): its answer would act on a vault
that is no longer open, and the box may describe what was selected in it. An answer that still
reaches a box after the lock (it closes, then is deleted a moment later) is ignored.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from identity_desktop.ui.session import Session


def ask_to_confirm(parent: QWidget, *, session: Session, title: str, text: str, details: str,
                   confirm: str, on_confirm: Callable[[], object], object_name: str,
                   role: QMessageBox.ButtonRole = QMessageBox.ButtonRole.AcceptRole
                   ) -> QMessageBox:
    """Open the box and return it; ``on_confirm`` runs only if ``confirm`` is clicked while
    ``session`` is still unlocked. Locking the session closes the box."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, parent=parent)
    box.setObjectName(object_name)
    box.setInformativeText(details)
    yes = box.addButton(confirm, role)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(cancel)
    box.setEscapeButton(cancel)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    # A slot of the box itself: Qt drops the connection when the box is deleted.
    session.sig_locked.connect(box.close)
    box.buttonClicked.connect(
        lambda button: on_confirm() if button is yes and session.is_unlocked else None)
    box.open()
    return box
