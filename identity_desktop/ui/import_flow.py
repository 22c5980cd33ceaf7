"""Importing from the window: File > Import…, the toolbar, or files dropped on the window.

One flow for every source: files (JSON, JSON Lines, ``.age`` bundles) are imported on the vault
thread with ``skip_invalid=True`` so that the summary can list every rejected record with its
reason; a progress dialog shows batches committed and can cancel (committed batches stay, as
the core guarantees); the index is updated on the GUI thread from the returned summaries and
the change is broadcast once; then a summary dialog lists added / updated / unchanged /
rejected.

A passphrase-protected age bundle (an ``scrypt`` recipient stanza) is detected before the
import starts and the user is asked for its passphrase; if that passphrase does not open it,
the user is asked again and only that bundle is retried. If the vault locked while the prompt
was up (the idle lock), the answer is dropped: nothing is imported and no summary is shown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QInputDialog, QLineEdit, QProgressDialog, QWidget

from identity_desktop.desk import Desk
from identity_desktop.importing import ImportSummary, import_files
from identity_desktop.importing.importer import FileOutcome
from identity_desktop.ui.dialogs.import_summary import ImportSummaryDialog
from identity_desktop.ui.operations import OpContext, VaultOp, show_error
from identity_desktop.ui.session import Session

FILE_FILTER = "Report exports (*.json *.jsonl *.ndjson *.age);;All files (*)"
# ask(file_name, retry) -> passphrase or None (skip that file)
AskPassphrase = Callable[[str, bool], str | None]


def is_passphrase_bundle(path: Path) -> bool:
    """True for an age bundle encrypted to a passphrase (asked for before importing)."""
    try:
        from identity_desktop.bundles import path_needs_passphrase
    except ImportError:  # without the bundles feature, .age files are refused by the importer
        return False
    return path_needs_passphrase(path)


def _ask_passphrase_dialog(parent: QWidget) -> AskPassphrase:
    def ask(name: str, retry: bool) -> str | None:
        prompt = (f"That passphrase did not open {name}.\nTry again:" if retry
                  else f"{name} is protected by a passphrase.\nBundle passphrase:")
        text, ok = QInputDialog.getText(parent, "Bundle passphrase", prompt,
                                        QLineEdit.EchoMode.Password)
        return text if ok and text else None

    return ask


class ImportController(QObject):
    """Owns the import flow for one window; at most one import runs at a time."""

    sig_started = Signal()
    sig_progress = Signal(object, object, str)  # done, total, text (re-emitted from the op)
    sig_finished = Signal(object)  # ImportSummary (also when cancelled)

    def __init__(self, session: Session, window: QWidget, *,
                 ask_passphrase: AskPassphrase | None = None) -> None:
        super().__init__(window)
        self._session = session
        self._window = window
        self._ask = ask_passphrase or _ask_passphrase_dialog(window)
        self.current_op: VaultOp | None = None
        self.progress_dialog: QProgressDialog | None = None
        self.summary_dialog: ImportSummaryDialog | None = None

    @property
    def running(self) -> bool:
        return self.current_op is not None

    def choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self._window, "Import reports", "", FILE_FILTER)
        if paths:
            self.import_paths(paths)

    def import_paths(self, paths: Sequence[str | Path]) -> VaultOp | None:
        if not self._session.is_unlocked or self.running or not paths:
            return None
        plan: list[tuple[Path, str | None]] = []
        skipped: list[FileOutcome] = []
        for raw in paths:
            path = Path(raw)
            passphrase = None
            if is_passphrase_bundle(path):
                passphrase = self._ask(path.name, False)
                if passphrase is None:
                    skipped.append(FileOutcome(str(path), error=f"{path}: skipped, no bundle "
                                                                "passphrase was given"))
                    continue
            plan.append((path, passphrase))
        return self._start(plan, ImportSummary(files=skipped))

    # -- running ------------------------------------------------------------------------------
    def _start(self, plan: list[tuple[Path, str | None]], previous: ImportSummary
               ) -> VaultOp | None:
        if not self._session.is_unlocked:
            # The bundle passphrase prompt blocks, and the idle lock can fire inside it: its
            # answer then has no vault to import into (and the locked window shows no summary).
            return None
        if not plan:
            self._finish(previous)
            return None
        op = self._session.run(lambda desk, ctx: _run_import(desk, ctx, plan),
                               parent=self._window, label="Importing…")
        self.current_op = op
        dialog = QProgressDialog("Reading files…", "Cancel", 0, 0, self._window)
        dialog.setObjectName("importProgress")
        dialog.setWindowTitle("Importing reports")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(0)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.canceled.connect(lambda: self._cancel(op, dialog))
        self.progress_dialog = dialog
        dialog.show()

        def progress(done: int, total: int, text: str) -> None:
            dialog.setMaximum(max(total, 1))
            dialog.setValue(min(done, total))
            dialog.setLabelText(f"{text}\n{done:,} of {total:,} reports")
            self.sig_progress.emit(done, total, text)

        def finished() -> None:
            dialog.close()
            dialog.deleteLater()
            if self.current_op is op:  # not replaced by a retry started from _done
                self.progress_dialog = None
                self.current_op = None
            if op.outcome == "skipped":  # cancelled before it started
                self._finish(_merge(previous, ImportSummary(
                    files=[FileOutcome(str(p), cancelled=True) for p, _ in plan])))

        op.progress(progress).success(lambda s: self._done(s, plan, previous))
        op.failure(lambda exc: show_error(self._window, exc, "Import failed"))
        op.finally_(finished, owner=self)
        self.sig_started.emit()
        return op.run_in_background()

    def _cancel(self, op: VaultOp, dialog: QProgressDialog) -> None:
        op.cancel()
        dialog.setLabelText("Cancelling after the current batch…")

    def cancel(self) -> None:
        """Same as the progress dialog's Cancel button."""
        if self.current_op is not None and self.progress_dialog is not None:
            self._cancel(self.current_op, self.progress_dialog)

    def _done(self, summary: ImportSummary, plan: list[tuple[Path, str | None]],
              previous: ImportSummary) -> None:
        self._session.apply_changes(summary.changed)
        summary.changed = []  # applied; do not keep personal summaries around
        merged = _merge(previous, summary)
        retry: list[tuple[Path, str | None]] = []
        if not summary.cancelled:
            for (path, passphrase), outcome in zip(plan, summary.files, strict=False):
                if passphrase is not None and outcome.error:
                    again = self._ask(path.name, True)
                    if again is not None:
                        retry.append((path, again))
                        merged.files.remove(outcome)
        if retry:
            self.current_op = None  # the finishing op lets go; the retry becomes current
            self._start(retry, merged)
        else:
            self._finish(merged)

    def _finish(self, summary: ImportSummary) -> None:
        self.summary_dialog = ImportSummaryDialog(summary, self._window)
        self.summary_dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.summary_dialog.open()
        self.sig_finished.emit(summary)


def _merge(a: ImportSummary, b: ImportSummary) -> ImportSummary:
    return ImportSummary(files=[*a.files, *b.files], changed=[*a.changed, *b.changed])


def _run_import(desk: Desk, ctx: OpContext, plan: list[tuple[Path, str | None]]
                ) -> ImportSummary:
    """Vault thread. One core call per file: each bundle may have its own passphrase, and the
    outcomes stay in plan order (the retry logic pairs them up)."""
    identities = desk.age_identities()
    total = ImportSummary()
    names = {str(path): f"{path.name} ({i} of {len(plan)})" for i, (path, _) in
             enumerate(plan, 1)}

    def progress(path: str, done: int, count: int) -> None:
        ctx.progress(done, count, names.get(path, Path(path).name))

    for path, passphrase in plan:  # one call per file keeps outcomes in plan order
        if ctx.cancelled():
            total.files.append(FileOutcome(str(path), cancelled=True))
            continue
        part = import_files(desk.vault, [path], skip_invalid=True, progress=progress,
                            cancelled=ctx.cancelled, bundle_passphrase=passphrase,
                            identities=identities)
        total = _merge(total, part)
    return total
