"""The Stripe API key: enter it (hidden), store it encrypted in the vault, see its mode.

The key goes from the password field straight to the vault thread, where it is validated and
stored (:func:`identity_desktop.stripe_api.client.store_key`); the field is cleared at once.
What comes back to the window is only the key's mode (test / live) and a mask
(``sk_test_…abcd``). ``STRIPE_API_KEY``, when set, overrides the vault's key; the dialog says so.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from identity_desktop.errors import IdentityDeskError
from identity_desktop.stripe_api.client import (
    clear_stored_key,
    key_mode,
    key_status,
    store_key,
    validate_key,
)
from identity_desktop.ui.operations import user_message
from identity_desktop.ui.resources import app_icon
from identity_desktop.ui.session import Session


def status_text(status: dict[str, str | None]) -> str:
    if status.get("vault_mode"):
        text = (f"The vault holds a <b>{status['vault_mode']}-mode</b> key "
                f"({status['vault_mask']}).")
    else:
        text = "The vault holds no Stripe API key."
    if status.get("env_problem"):
        text += f"<br>STRIPE_API_KEY is set but unusable: {status['env_problem']}"
    elif status.get("env_mode"):
        text += (f"<br>STRIPE_API_KEY overrides it: a <b>{status['env_mode']}-mode</b> key "
                 f"({status['env_mask']}).")
    return text


class SettingsDialog(QDialog):
    sig_changed = Signal(object)  # the key status dict after a save or removal

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Stripe API key")
        self.setWindowIcon(app_icon())
        self._session = session
        self.status: dict[str, str | None] = {}
        self.busy = False
        layout = QVBoxLayout(self)
        self.status_label = QLabel("Reading…", self)
        self.status_label.setObjectName("keyStatus")
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)
        form = QFormLayout()
        self.key_edit = QLineEdit(self)
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText("sk_test_…, sk_live_…, rk_test_… or rk_live_…")
        self.key_edit.textChanged.connect(self._check_typed)
        form.addRow("New key", self.key_edit)
        layout.addLayout(form)
        self.hint_label = QLabel("A secret or restricted key. It is stored encrypted in the "
                                 "vault and never shown again.", self)
        self.hint_label.setObjectName("keyHint")
        self.hint_label.setWordWrap(True)
        layout.addWidget(self.hint_label)
        self.error_label = QLabel("", self)
        self.error_label.setObjectName("errorLabel")
        self.error_label.setWordWrap(True)
        self.error_label.setVisible(False)
        layout.addWidget(self.error_label)
        buttons = QDialogButtonBox(self)
        self.save_button = buttons.addButton(QDialogButtonBox.StandardButton.Save)
        self.remove_button: QPushButton = buttons.addButton(
            "Remove key", QDialogButtonBox.ButtonRole.DestructiveRole)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.save_button.clicked.connect(self.save)
        self.remove_button.clicked.connect(self.remove)
        close.clicked.connect(self.close)
        self.save_button.setEnabled(False)
        layout.addWidget(buttons)
        self.resize(480, 0)
        session.sig_locked.connect(self.close)
        self.refresh()

    def refresh(self) -> None:
        if not self._session.is_unlocked:
            return
        op = self._session.run(lambda desk, _ctx: key_status(desk.vault), parent=self,
                               label="Reading the API key…")
        op.success(self._show_status).run_in_background()

    def _show_status(self, status: dict[str, str | None]) -> None:
        self.status = status
        self.status_label.setText(status_text(status))
        self.remove_button.setEnabled(bool(status.get("vault_mode")) and not self.busy)

    def _check_typed(self, text: str) -> None:
        """Tell the mode (or what is wrong) while typing; never echo the text."""
        self.error_label.setVisible(False)
        if not text.strip():
            self.hint_label.setText("A secret or restricted key. It is stored encrypted in the "
                                    "vault and never shown again.")
            self.save_button.setEnabled(False)
            return
        try:
            key = validate_key(text, where="this")
        except IdentityDeskError as exc:
            self.hint_label.setText(str(exc).capitalize())
            self.save_button.setEnabled(False)
            return
        self.hint_label.setText(f"A {key_mode(key)}-mode key.")
        self.save_button.setEnabled(not self.busy)

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.key_edit.setEnabled(not busy)
        self.save_button.setEnabled(not busy and bool(self.key_edit.text().strip()))
        self.remove_button.setEnabled(not busy and bool(self.status.get("vault_mode")))

    def save(self) -> None:
        text = self.key_edit.text()
        self.key_edit.clear()  # the key leaves the widget now; only the op holds it
        if not text.strip() or self.busy:
            return

        def body(desk, _ctx):  # type: ignore[no-untyped-def]
            store_key(desk.vault, text)
            return key_status(desk.vault)

        self._run(body, "Storing the API key…")

    def remove(self) -> None:
        def body(desk, _ctx):  # type: ignore[no-untyped-def]
            clear_stored_key(desk.vault)
            return key_status(desk.vault)

        self._run(body, "Removing the API key…")

    def _run(self, body, label: str) -> None:  # type: ignore[no-untyped-def]
        self._set_busy(True)
        op = self._session.run(body, parent=self, label=label)
        op.success(self._done).failure(self._failed).finally_(lambda: self._set_busy(False))
        op.run_in_background()

    def _done(self, status: dict[str, str | None]) -> None:
        self._show_status(status)
        self.sig_changed.emit(status)

    def _failed(self, exc: BaseException) -> None:
        self.error_label.setText(user_message(exc))
        self.error_label.setVisible(True)
