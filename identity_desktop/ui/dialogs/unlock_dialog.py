"""Unlock the vault, or create it (passphrase twice, with a strength hint).

The key derivation (Argon2id, ~0.2-1 s) and loading the index run on the vault thread while the
dialog shows an indeterminate busy bar; the inputs are disabled meanwhile and the dialog cannot
be dismissed halfway. A wrong passphrase keeps the dialog open with a clear message and the
field selected for retyping. Passphrases are never stored; the fields are cleared on success.
"""

from __future__ import annotations

import math
import string

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from identity_desktop.errors import WrongPassphraseError
from identity_desktop.ui.operations import user_message
from identity_desktop.ui.resources import app_icon
from identity_desktop.ui.session import Session

MIN_LENGTH = 8


def strength(passphrase: str) -> tuple[int, str]:
    """A rough score 0-4 and a hint. Length dominates: four random words beat clever symbols.

    Estimated bits = length x log2(alphabet of the character classes used), halved for long
    runs of one character; deliberately simple and conservative, it is only a hint."""
    if not passphrase:
        return 0, ""
    alphabet = 0
    for chars, size in ((string.ascii_lowercase, 26), (string.ascii_uppercase, 26),
                        (string.digits, 10), (string.punctuation + " ", 33)):
        if any(c in chars for c in passphrase):
            alphabet += size
    if any(ord(c) > 127 for c in passphrase):
        alphabet += 64
    distinct = len(set(passphrase))
    bits = len(passphrase) * math.log2(max(alphabet, 2))
    if distinct <= max(2, len(passphrase) // 4):
        bits /= 2
    if len(passphrase) < MIN_LENGTH:
        return 0, f"Too short: use at least {MIN_LENGTH} characters"
    if bits < 45:
        return 1, "Weak: add words or characters"
    if bits < 65:
        return 2, "Fair: a few more words would make it strong"
    if bits < 90:
        return 3, "Good"
    return 4, "Strong"


class UnlockDialog(QDialog):
    sig_done = Signal()  # the vault is open (emitted after the session's sig_unlocked)
    sig_failed = Signal(str)  # the message shown (never the passphrase)

    def __init__(self, session: Session, *, create: bool, parent: QWidget | None = None,
                 prefill: str | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("unlockDialog")
        self._session = session
        self.creating = create
        self._busy = False
        self.setWindowTitle("Create a vault" if create else "Unlock the vault")
        self.setWindowIcon(app_icon())
        self.setModal(True)
        self._build()
        if prefill:
            self.passphrase.setText(prefill)
            if create:
                self.confirm.setText(prefill)

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        head = QHBoxLayout()
        logo = QLabel(self)
        logo.setPixmap(app_icon().pixmap(48, 48))
        head.addWidget(logo, 0, Qt.AlignmentFlag.AlignTop)
        intro = QLabel(self)
        intro.setWordWrap(True)
        intro.setObjectName("dialogIntro")
        if self.creating:
            intro.setText("<b>Create a vault</b><br>Reports are stored encrypted with a key "
                          "protected by this passphrase. It cannot be recovered if you "
                          "forget it.")
        else:
            intro.setText("<b>Unlock the vault</b><br>Enter the vault's passphrase.")
        head.addWidget(intro, 1)
        layout.addLayout(head)
        self.path_label = QLabel(str(self._session.vault_path), self)
        self.path_label.setObjectName("vaultPath")
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.path_label.setWordWrap(True)
        layout.addWidget(self.path_label)

        form = QFormLayout()
        self.passphrase = QLineEdit(self)
        self.passphrase.setObjectName("passphrase")
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("&Passphrase:", self.passphrase)
        self.confirm = QLineEdit(self)
        self.confirm.setObjectName("confirm")
        self.confirm.setEchoMode(QLineEdit.EchoMode.Password)
        self.strength_bar = QProgressBar(self)
        self.strength_bar.setRange(0, 4)
        self.strength_bar.setTextVisible(False)
        self.strength_bar.setMaximumHeight(6)
        self.strength_hint = QLabel("", self)
        self.strength_hint.setObjectName("strengthHint")
        if self.creating:
            form.addRow("&Confirm:", self.confirm)
            form.addRow("", self.strength_bar)
            form.addRow("", self.strength_hint)
            self.passphrase.textChanged.connect(self._on_typed)
        else:
            self.confirm.hide()
            self.strength_bar.hide()
            self.strength_hint.hide()
        layout.addLayout(form)

        self.error_label = QLabel("", self)
        self.error_label.setObjectName("errorLabel")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        layout.addWidget(self.error_label)
        self.busy_bar = QProgressBar(self)
        self.busy_bar.setRange(0, 0)  # indeterminate: the key derivation has no progress
        self.busy_bar.setTextVisible(False)
        self.busy_bar.setMaximumHeight(8)
        self.busy_bar.hide()
        layout.addWidget(self.busy_bar)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel, self)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Create" if self.creating else "Unlock")
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(440)

    # -- behaviour ----------------------------------------------------------------------------
    def _on_typed(self, text: str) -> None:
        score, hint = strength(text)
        self.strength_bar.setValue(score)
        self.strength_bar.setProperty("score", score)
        self.strength_bar.style().unpolish(self.strength_bar)
        self.strength_bar.style().polish(self.strength_bar)
        self.strength_hint.setText(hint)

    def show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    @property
    def busy(self) -> bool:
        return self._busy

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.busy_bar.setVisible(busy)
        for widget in (self.passphrase, self.confirm, self.ok_button):
            widget.setEnabled(not busy)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setEnabled(not busy)

    def submit(self) -> None:
        if self._busy:
            return
        passphrase = self.passphrase.text()
        if not passphrase:
            self.show_error("Enter the passphrase.")
            return
        if self.creating:
            if len(passphrase) < MIN_LENGTH:
                self.show_error(f"The passphrase is too short: use at least {MIN_LENGTH} "
                                "characters.")
                return
            if self.confirm.text() != passphrase:
                self.show_error("The two passphrases differ.")
                self.confirm.setFocus()
                self.confirm.selectAll()
                return
        self.show_error("")
        self._set_busy(True)
        op = self._session.unlock(passphrase, create=self.creating, parent=self)
        op.success(lambda _desk: self._succeeded()).failure(self._failed)

    def _succeeded(self) -> None:
        self._set_busy(False)
        self.passphrase.clear()
        self.confirm.clear()
        self.accept()
        self.sig_done.emit()

    def _failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        if isinstance(exc, WrongPassphraseError):
            self.show_error("Wrong passphrase. Check Caps Lock and try again.")
        else:
            self.show_error(user_message(exc))
        self.sig_failed.emit(self.error_label.text())
        self.passphrase.setFocus()
        self.passphrase.selectAll()

    # Closing halfway would leave an unlock running with nobody to receive it.
    def reject(self) -> None:
        if not self._busy:
            self.passphrase.clear()
            self.confirm.clear()
            super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._busy:
            event.ignore()
        else:
            super().closeEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self._busy and event.key() == Qt.Key.Key_Escape:
            return
        super().keyPressEvent(event)
