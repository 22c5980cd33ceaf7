"""Tools > My public key…: the vault's age public key, for an admin to encrypt batches to.

The key (``age1...``) is read on the vault thread (:func:`identity_desktop.bundles.public_key`,
which creates the vault's identity on first use) and shown in a read-only, selectable field
with a Copy button. A public key is not secret (it can only encrypt *to* this vault), so it goes
to the clipboard as an ordinary copy, not through the sensitive clipboard that clears itself.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from identity_desktop.bundles import public_key
from identity_desktop.ui.operations import user_message
from identity_desktop.ui.resources import app_icon, icon
from identity_desktop.ui.session import Session

COPIED_FOR_MS = 2000  # how long the button says "Copied"


EXPLANATION = ("Give this key to the admin who sends you batches of reports. It is not secret: "
               "it can only encrypt files <i>for</i> this vault, and only this vault can open "
               "them. An admin encrypts batches for you with the command below; you import "
               "<code>batch.age</code> with <i>File › Import…</i> or by dropping it on the "
               "window.")


def admin_command(key: str | None) -> str:
    return f"age -r {key or '<key>'} -o batch.age batch.jsonl"


class PublicKeyDialog(QDialog):
    sig_loaded = Signal(str)  # the key, once read (for tests and callers)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("publicKeyDialog")
        self.setWindowTitle("My public key")
        self.setWindowIcon(app_icon())
        self._session = session
        self.key: str | None = None

        layout = QVBoxLayout(self)
        title = QLabel("<b>This vault's age public key</b>", self)
        title.setObjectName("dialogIntro")
        layout.addWidget(title)
        row = QHBoxLayout()
        self.key_edit = QLineEdit(self)
        self.key_edit.setObjectName("publicKey")
        self.key_edit.setReadOnly(True)  # read-only still selects and copies
        self.key_edit.setPlaceholderText("Reading the key…")
        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.key_edit.setFont(fixed)
        # An X25519 age key is always 62 characters: size the field to show it whole.
        self.key_edit.setMinimumWidth(
            self.key_edit.fontMetrics().horizontalAdvance("a" * 62) + 16)
        self.copy_button = QPushButton(icon("copy"), "Copy", self)
        self.copy_button.setObjectName("copyKey")
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self.copy)
        row.addWidget(self.key_edit, 1)
        row.addWidget(self.copy_button)
        layout.addLayout(row)

        self.help_label = QLabel(EXPLANATION, self)
        self.help_label.setObjectName("dialogHint")
        self.help_label.setWordWrap(True)
        layout.addWidget(self.help_label)
        # The command in a field of its own: it stays on one line and copies whole.
        self.command_edit = QLineEdit(admin_command(None), self)
        self.command_edit.setObjectName("adminCommand")
        self.command_edit.setReadOnly(True)
        self.command_edit.setFont(fixed)
        layout.addWidget(self.command_edit)
        self.error_label = QLabel("", self)
        self.error_label.setObjectName("errorLabel")
        self.error_label.setWordWrap(True)
        self.error_label.setVisible(False)
        layout.addWidget(self.error_label)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.close)
        layout.addWidget(buttons)
        self._copied_timer = QTimer(self)
        self._copied_timer.setSingleShot(True)
        self._copied_timer.setInterval(COPIED_FOR_MS)
        self._copied_timer.timeout.connect(lambda: self.copy_button.setText("Copy"))
        session.sig_locked.connect(self.close)
        self.refresh()

    def refresh(self) -> None:
        """Read the key on the vault thread (never SQL here on the GUI thread)."""
        if not self._session.is_unlocked:
            return
        op = self._session.run(lambda desk, _ctx: public_key(desk.vault), parent=self,
                               label="Reading the public key…")
        op.success(self._show).failure(self._failed).run_in_background()

    def _show(self, key: str) -> None:
        self.key = key
        self.key_edit.setText(key)
        self.key_edit.setCursorPosition(0)
        self.copy_button.setEnabled(True)
        self.command_edit.setText(admin_command(key))
        self.command_edit.setCursorPosition(0)
        self.command_edit.setMinimumWidth(  # the whole command in view, so it copies as seen
            self.command_edit.fontMetrics().horizontalAdvance(admin_command(key)) + 16)
        self.error_label.setVisible(False)
        self.sig_loaded.emit(key)

    def _failed(self, exc: BaseException) -> None:
        self.key_edit.setPlaceholderText("")
        self.error_label.setText(f"Cannot read the public key: {user_message(exc)}")
        self.error_label.setVisible(True)

    def copy(self) -> None:
        if self.key is None:
            return
        QGuiApplication.clipboard().setText(self.key)
        self.copy_button.setText("Copied")
        self._copied_timer.start()
