"""File > Export bundle…: the reports in the current list, or the selected ones, as an age file.

Threading: the :class:`ReportIndex` and the list's model belong to the GUI thread, so the
report ids are taken from them *here*, when Export is pressed, and handed to an op; on the
vault thread :func:`identity_desktop.bundles.export_reports` only reads report bodies (and
checks each id with a dict look-up that never mutates the index). The core writes the file
atomically (temporary 0600 file, fsync, rename), so a cancel or a failure leaves nothing behind
and an existing file untouched.

Encryption is either to age public keys (one ``age1...`` per line: a reviewer's key plus, say,
an organisation's recovery key) or with a bundle passphrase typed twice. Both are checked
before anything runs; a bad recipient line is named in an inline error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QDir, Signal
from PySide6.QtGui import QCloseEvent, QFontDatabase, QTextCursor
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from identity_desktop.bundles import ExportCancelledError, export_reports, parse_recipients
from identity_desktop.errors import BundleError, UsageError
from identity_desktop.index import ReportFilter
from identity_desktop.ui import format as fmt
from identity_desktop.ui.dialogs.operation_status import OperationStatus
from identity_desktop.ui.operations import VaultOp, user_message
from identity_desktop.ui.panes.list_pane import ListPane
from identity_desktop.ui.resources import icon
from identity_desktop.ui.session import Session

SUFFIX = "age"
FILE_FILTER = "age bundles (*.age);;All files (*)"
_SECRET_PREFIX = "AGE-SECRET-KEY-"


class RecipientLineError(UsageError):
    """A recipient line that is not an age public key; ``line`` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def parse_recipient_lines(text: str) -> list[str]:
    """The age public keys in ``text``, one per line; blank lines and ``#`` comments are
    skipped, as in age's recipients files. Raises :class:`RecipientLineError` naming the first
    bad line (a secret key is never echoed back)."""
    keys: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith(_SECRET_PREFIX):
            raise RecipientLineError(number, f"Line {number} is a secret key, not a public "
                                     "key: paste its public key (age1…) and keep the secret "
                                     "key private.")
        try:
            parse_recipients([line])
        except BundleError:
            shown = line if len(line) <= 40 else line[:37] + "…"
            raise RecipientLineError(number, f"Line {number} is not an age public key "
                                     f"(age1…): “{shown}”.") from None
        keys.append(line)
    if not keys:
        raise RecipientLineError(1, "Add at least one recipient: an age public key (age1…) "
                                 "per line.")
    return keys


@dataclass(frozen=True)
class ExportResult:
    path: Path
    count: int = 0
    cancelled: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return not self.cancelled and self.error is None


class ExportDialog(QDialog):
    sig_finished = Signal(object)  # ExportResult, after every run (done, cancelled or failed)

    def __init__(self, session: Session, list_pane: ListPane,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("exportDialog")
        self.setWindowTitle("Export bundle")
        self.setWindowIcon(icon("export"))
        self._session = session
        self._list = list_pane
        self.op: VaultOp | None = None
        self.last_result: ExportResult | None = None
        self.file_dialog: QFileDialog | None = None  # the "Save as" chooser, once opened
        self._build()
        self.refresh_counts()
        list_pane.sig_counts_changed.connect(lambda *_: self.refresh_counts())
        list_pane.sig_selection_changed.connect(lambda *_: self.refresh_counts())
        session.sig_locked.connect(self._on_locked)

    # ---- layout ------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        scope = QGroupBox("Reports", self)
        column = QVBoxLayout(scope)
        self.filter_radio = QRadioButton(scope)
        self.selection_radio = QRadioButton(scope)
        self.scope_group = QButtonGroup(self)
        for button in (self.filter_radio, self.selection_radio):
            self.scope_group.addButton(button)
            column.addWidget(button)
        layout.addWidget(scope)

        crypt = QGroupBox("Encryption", self)
        form = QVBoxLayout(crypt)
        self.recipients_radio = QRadioButton("To age public keys (recipients)", crypt)
        self.recipients_radio.setChecked(True)
        self.recipients_edit = QPlainTextEdit(crypt)
        self.recipients_edit.setObjectName("recipients")
        self.recipients_edit.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.recipients_edit.setPlaceholderText("age1…  one public key per line, e.g. the "
                                                "reviewer's key and your organisation's "
                                                "recovery key")
        self.recipients_edit.setTabChangesFocus(True)
        self.recipients_edit.setFixedHeight(self.recipients_edit.fontMetrics().lineSpacing() * 4
                                            + 14)
        self.passphrase_radio = QRadioButton("With a bundle passphrase", crypt)
        self.passphrase_edit = QLineEdit(crypt)
        self.confirm_edit = QLineEdit(crypt)
        for edit, text in ((self.passphrase_edit, "Bundle passphrase"),
                           (self.confirm_edit, "Same passphrase again")):
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.setPlaceholderText(text)
        self.crypt_group = QButtonGroup(self)
        self.crypt_group.addButton(self.recipients_radio)
        self.crypt_group.addButton(self.passphrase_radio)
        form.addWidget(self.recipients_radio)
        form.addWidget(self.recipients_edit)
        form.addWidget(self.passphrase_radio)
        pass_row = QHBoxLayout()
        pass_row.addWidget(self.passphrase_edit)
        pass_row.addWidget(self.confirm_edit)
        form.addLayout(pass_row)
        self.recipients_radio.toggled.connect(self._mode_changed)
        self.crypt_box = crypt
        layout.addWidget(crypt)

        out_form = QFormLayout()
        out_row = QHBoxLayout()
        self.out_edit = QLineEdit(self)
        self.out_edit.setObjectName("outputPath")
        self.out_edit.setReadOnly(True)  # set through the file dialog, which asks to overwrite
        self.out_edit.setPlaceholderText("Choose where to save the bundle")
        self.choose_button = QPushButton("Choose…", self)
        self.choose_button.clicked.connect(self.choose_output)
        out_row.addWidget(self.out_edit, 1)
        out_row.addWidget(self.choose_button)
        out_form.addRow("Save as", out_row)
        layout.addLayout(out_form)

        self.status = OperationStatus("export", self)
        layout.addWidget(self.status)

        self.buttons = QDialogButtonBox(self)
        self.export_button = self.buttons.addButton("Export",
                                                    QDialogButtonBox.ButtonRole.ActionRole)
        self.export_button.setIcon(icon("export"))
        self.export_button.setDefault(True)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.export_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.close)
        layout.addWidget(self.buttons)
        self._mode_changed()
        self._set_running(False)
        self.resize(560, 0)

    # ---- state ------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.op is not None

    def _set_running(self, running: bool) -> None:
        for widget in (self.filter_radio, self.selection_radio, self.crypt_box,
                       self.choose_button, self.export_button):
            widget.setEnabled(not running)
        if not running:
            self.refresh_counts()  # re-applies "no selection" disabling
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(running)
        self.close_button.setVisible(not running)

    def _mode_changed(self, *_args: object) -> None:
        by_key = self.recipients_radio.isChecked()
        self.recipients_edit.setEnabled(by_key)
        self.passphrase_edit.setEnabled(not by_key)
        self.confirm_edit.setEnabled(not by_key)

    def refresh_counts(self) -> None:
        """Label the two choices with what each would export (GUI thread: model and index)."""
        if self.running:
            return
        model = self._list.model
        shown, total = len(model.positions()), model.total
        if model.report_filter == ReportFilter():
            self.filter_radio.setText(f"All reports ({fmt.count(shown)})")
        else:
            self.filter_radio.setText(f"Reports matching the current filter "
                                      f"({fmt.count(shown)} of {fmt.count(total)})")
        selected = len(self._list.selected_positions())
        self.selection_radio.setText(f"Selected reports ({fmt.count(selected)})")
        self.selection_radio.setEnabled(selected > 0)
        if selected == 0 and self.selection_radio.isChecked():
            self.filter_radio.setChecked(True)
        if self.scope_group.checkedButton() is None:
            # One selected row is just the current report; several is a deliberate choice.
            (self.selection_radio if selected > 1 else self.filter_radio).setChecked(True)

    def report_ids(self) -> list[str]:
        """The ids to export, in list order (GUI thread: the index lives here)."""
        if self.selection_radio.isChecked():
            return self._list.selected_report_ids()
        return self._session.report_ids(self._list.model.positions().tolist())

    def set_output(self, path: str | Path) -> None:
        path = Path(path)
        if not path.suffix:
            path = path.with_suffix(f".{SUFFIX}")
        self.out_edit.setText(str(path))

    def output(self) -> Path | None:
        text = self.out_edit.text().strip()
        return Path(text) if text else None

    def choose_output(self) -> None:
        dialog = QFileDialog(self, "Save bundle as", self.out_edit.text() or QDir.homePath(),
                             FILE_FILTER)
        dialog.setObjectName("exportFileDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        dialog.setDefaultSuffix(SUFFIX)
        if not self.out_edit.text():
            dialog.selectFile("reports.age")
        dialog.fileSelected.connect(self.set_output)
        self.file_dialog = dialog
        dialog.open()  # window-modal, non-blocking; asks before replacing a file

    # ---- actions ------------------------------------------------------------------------
    def _key_material(self) -> tuple[list[str] | None, str | None]:
        if self.recipients_radio.isChecked():
            return parse_recipient_lines(self.recipients_edit.toPlainText()), None
        passphrase = self.passphrase_edit.text()
        if not passphrase:
            raise UsageError("Type a bundle passphrase (twice).")
        if passphrase != self.confirm_edit.text():
            raise UsageError("The two bundle passphrases differ.")
        return None, passphrase

    def _select_line(self, number: int) -> None:
        block = self.recipients_edit.document().findBlockByNumber(number - 1)
        cursor = QTextCursor(block)
        cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock,
                            QTextCursor.MoveMode.KeepAnchor)
        self.recipients_edit.setTextCursor(cursor)
        self.recipients_edit.setFocus()

    def start(self) -> VaultOp | None:
        """Check everything, then export on the vault thread; None if nothing started."""
        if self.running or not self._session.is_unlocked:
            return None
        self.status.reset()
        try:
            recipients, passphrase = self._key_material()
        except RecipientLineError as exc:
            self.status.show_error(str(exc))
            self._select_line(exc.line)
            return None
        except UsageError as exc:
            self.status.show_error(str(exc))
            return None
        out = self.output()
        if out is None:
            self.status.show_error("Choose where to save the bundle.")
            return None
        ids = self.report_ids()
        if not ids:
            self.status.show_error("Nothing to export: no report is in the list or selected.")
            return None
        self.passphrase_edit.clear()  # from here only the op holds the passphrase
        self.confirm_edit.clear()
        total = len(ids)

        def body(desk, ctx):  # type: ignore[no-untyped-def]
            return export_reports(
                desk, out, report_ids=ids, recipients=recipients, passphrase=passphrase,
                progress=lambda done, _total: ctx.progress(done, total, ""),
                cancelled=ctx.cancelled)

        op = self._session.run(body, parent=self, label="Exporting…")
        self.op = op
        self.status.show_progress(0, total, f"Encrypting {fmt.count(total)} reports…")
        self._set_running(True)
        how = (f"{len(recipients)} recipient{'s' if len(recipients) != 1 else ''}"
               if recipients else "a passphrase")
        op.progress(self._on_progress)
        op.success(lambda count: self._done(ExportResult(out, count), how))
        op.failure(lambda exc: self._failed(out, exc))
        op.finally_(self._ended)
        return op.run_in_background()

    def cancel(self) -> None:
        if self.op is not None:
            self.op.cancel()
            self.cancel_button.setEnabled(False)
            self.status.set_progress_text("Cancelling…")

    def _on_progress(self, done: int, total: int, _text: str) -> None:
        self.status.show_progress(done, total, f"Encrypted {fmt.count(done)} of "
                                  f"{fmt.count(total)} reports…")

    def _done(self, result: ExportResult, how: str) -> None:
        self.status.show_summary(f"<b>Exported {fmt.count(result.count)} "
                                 f"report{'s' if result.count != 1 else ''}</b> to "
                                 f"{result.path.name}, encrypted to {how}.")
        self._finish(result)

    def _failed(self, out: Path, exc: BaseException) -> None:
        if isinstance(exc, ExportCancelledError):
            self.status.show_summary("<b>Export cancelled.</b> Nothing was written.")
            self._finish(ExportResult(out, cancelled=True))
            return
        message = user_message(exc)
        self.status.show_error(f"Export failed: {message}")
        self._finish(ExportResult(out, error=message))

    def _finish(self, result: ExportResult) -> None:
        self.last_result = result
        self._ended()
        self.sig_finished.emit(result)

    def _ended(self) -> None:
        if self.op is None:
            return
        self.op = None
        self.status.hide_progress()
        self._set_running(False)

    def _on_locked(self) -> None:
        # Locking cancels the op and drops its result; nothing here is worth keeping. The
        # chooser is a window of its own: closing this dialog would leave it over the lock.
        self._ended()
        if self.file_dialog is not None:
            self.file_dialog.reject()
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.cancel()  # closing while exporting means "stop": the core then writes nothing
        self.passphrase_edit.clear()
        self.confirm_edit.clear()
        super().closeEvent(event)
