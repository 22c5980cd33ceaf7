"""The bundle dialogs (public key, export) and importing a passphrase bundle through the window:
real vault, real pyrage, Qt offscreen. Nothing sleeps: every wait is a bounded qtbot wait."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import orjson
import pytest
from pyrage import x25519
from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt
from PySide6.QtGui import QFontInfo, QGuiApplication
from PySide6.QtWidgets import QInputDialog, QLineEdit

from identity_desktop import bundles
from identity_desktop.ui.dialogs.export_dialog import ExportDialog, ExportResult
from identity_desktop.ui.extensions.bundles import install
from identity_desktop.ui.operations import VaultOp
from tests.ui.agefile import passphrase_bundle
from tests.ui.conftest import REPORTS, WAIT, demo_reports, on_vault, unlock
from tests.ui.dragdrop import drop_files


@pytest.fixture
def window(unlocked):
    install(unlocked)
    return unlocked


def decrypt_ids(path: Path, *, identities: list[str] | None = None,
                passphrase: str | None = None) -> list[str]:
    plain = bundles.decrypt_bundle(path.read_bytes(), name=path.name,
                                   identities=identities or [], passphrase=passphrase)
    return [orjson.loads(line)["id"] for line in plain.splitlines() if line.strip()]


def run_export(dialog: ExportDialog, qtbot) -> ExportResult:
    with qtbot.waitSignal(dialog.sig_finished, timeout=WAIT) as finished:
        assert dialog.start() is not None
        assert dialog.running and dialog.cancel_button.isVisible()
    return finished.args[0]


def folder_is_empty_but(folder: Path, *keep: Path) -> bool:
    """No stray files (a leftover ``.part`` would mean the atomic write leaked)."""
    return sorted(folder.iterdir()) == sorted(keep)


def test_menus_and_toolbar(window):
    from identity_desktop.ui.main_window import Menu

    def texts(actions) -> list[str]:
        return [a.text().replace("&", "") for a in actions]

    assert "Export bundle…" in texts(window.menu(Menu.FILE).actions())
    assert "Export bundle…" in texts(window.toolbar.actions())
    assert "My public key…" in texts(window.menu(Menu.TOOLS).actions())
    window.session.lock()
    export = next(a for a in window.toolbar.actions() if "Export" in a.text())
    assert not export.isEnabled()  # nothing to export while locked


def test_public_key_dialog_shows_the_vaults_key(window, qtbot, run_cli):
    dialog = window.bundles_feature.open_public_key()
    with qtbot.waitSignal(dialog.sig_loaded, timeout=WAIT) as loaded:
        pass
    key = loaded.args[0]
    assert key.startswith("age1") and dialog.key_edit.text() == key
    assert dialog.key_edit.isReadOnly() and QFontInfo(dialog.key_edit.font()).fixedPitch()
    assert dialog.command_edit.text() == f"age -r {key} -o batch.age batch.jsonl"
    assert on_vault(window, qtbot, lambda desk: bundles.public_key(desk.vault)) == key
    dialog.copy()
    assert QGuiApplication.clipboard().text() == key and dialog.copy_button.text() == "Copied"
    dialog.close()
    shown = run_cli("key", "show")  # the same vault, read by another process
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == key


def test_export_current_filter_decrypts_to_the_filtered_ids(window, qtbot, tmp_path: Path):
    window.filter_pane.types.set_ticked({"document"})
    window.filter_pane.flush()
    model = window.list_pane.model
    expected = window.session.report_ids(model.positions().tolist())
    assert 0 < len(expected) < REPORTS
    recovery = x25519.Identity.generate()  # an organisation's recovery key
    own = on_vault(window, qtbot, lambda desk: desk.age_identities()[0])
    own_public = bundles.public_key_of(own)

    dialog = window.bundles_feature.open_export()
    assert dialog.filter_radio.isChecked()  # one selected row is only the current report
    assert dialog.filter_radio.text() == (f"Reports matching the current filter "
                                          f"({len(expected):,} of {REPORTS:,})")
    assert dialog.selection_radio.text() == "Selected reports (1)"
    dialog.recipients_edit.setPlainText(f"# reviewer\n{own_public}\n\n{recovery.to_public()}\n")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    dialog.set_output(out_dir / "batch")  # the default suffix is added
    assert dialog.out_edit.text().endswith("batch.age")
    progress: list[tuple[int, int]] = []
    dialog.status.progress_bar.valueChanged.connect(lambda v: progress.append((v, len(expected))))
    result = run_export(dialog, qtbot)
    assert result.ok and result.count == len(expected)
    assert result.path == out_dir / "batch.age" and progress[-1][0] == len(expected)
    summary = dialog.status.summary_label.text()
    assert "Exported" in summary and "2 recipients" in summary
    assert not dialog.running and dialog.close_button.isVisible()
    assert folder_is_empty_but(out_dir, result.path)
    assert result.path.stat().st_mode & 0o077 == 0
    assert decrypt_ids(result.path, identities=[own]) == expected  # in list order
    assert decrypt_ids(result.path, identities=[str(recovery)]) == expected


def test_export_selection_with_a_passphrase(window, qtbot, tmp_path: Path):
    lp = window.list_pane
    model = lp.model
    selection = QItemSelection(model.index(3, 0), model.index(7, model.columnCount() - 1))
    lp.view.selectionModel().select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect
                                    | QItemSelectionModel.SelectionFlag.Rows)
    expected = lp.selected_report_ids()
    assert len(expected) == 5

    dialog = window.bundles_feature.open_export()
    assert dialog.selection_radio.isChecked() and dialog.selection_radio.text() == \
        "Selected reports (5)"
    assert dialog.filter_radio.text() == f"All reports ({REPORTS:,})"
    dialog.passphrase_radio.setChecked(True)
    assert not dialog.recipients_edit.isEnabled() and dialog.passphrase_edit.isEnabled()
    dialog.passphrase_edit.setText("a bundle secret")
    dialog.confirm_edit.setText("a bundle secrte")
    dialog.set_output(tmp_path / "selected.age")
    assert dialog.start() is None
    assert "differ" in dialog.status.error_label.text() and dialog.status.error_label.isVisible()
    dialog.confirm_edit.setText("a bundle secret")
    result = run_export(dialog, qtbot)
    assert result.ok and result.count == 5
    assert "a passphrase" in dialog.status.summary_label.text()
    assert dialog.passphrase_edit.text() == "" and dialog.confirm_edit.text() == ""
    assert bundles.path_needs_passphrase(result.path)
    assert decrypt_ids(result.path, passphrase="a bundle secret") == expected


def test_bad_recipient_line_is_named_and_nothing_is_written(window, qtbot, tmp_path: Path):
    good = str(x25519.Identity.generate().to_public())
    secret = str(x25519.Identity.generate())
    out = tmp_path / "never.age"
    before = sorted(tmp_path.iterdir())
    dialog = window.bundles_feature.open_export()
    dialog.set_output(out)
    dialog.recipients_edit.setPlainText(f"{good}\n\nage1notakey\n")
    error = dialog.status.error_label
    assert dialog.start() is None and not dialog.running
    assert error.isVisible()
    assert error.text().startswith("Line 3 is not an age public key")
    assert "age1notakey" in error.text()
    assert dialog.recipients_edit.textCursor().selectedText() == "age1notakey"
    dialog.recipients_edit.setPlainText(f"{good}\n{secret}")
    assert dialog.start() is None
    assert error.text().startswith("Line 2 is a secret key")
    assert secret not in error.text()
    dialog.recipients_edit.setPlainText("  \n# only a comment\n")
    assert dialog.start() is None and "at least one recipient" in error.text()
    assert sorted(tmp_path.iterdir()) == before  # no bundle, no temporary file


def test_cancel_export_writes_nothing(window, qtbot, tmp_path: Path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    dialog = window.bundles_feature.open_export()
    dialog.recipients_edit.setPlainText(str(x25519.Identity.generate().to_public()))
    dialog.set_output(out_dir / "all.age")
    gate = threading.Event()
    # Hold the vault thread so the export is queued behind a known point.
    VaultOp(window.session.runner, lambda _ctx: gate.wait(WAIT / 1000)).run_in_background()
    op = dialog.start()
    assert op is not None
    # Cancel from the vault thread at the first progress report (after 100 of 300 reports).
    op.sig_progress.connect(lambda *_: op.cancel(), Qt.ConnectionType.DirectConnection)
    with qtbot.waitSignal(dialog.sig_finished, timeout=WAIT) as finished:
        gate.set()
    result = finished.args[0]
    assert result.cancelled and result.count == 0
    assert "cancelled" in dialog.status.summary_label.text() and not dialog.running
    assert folder_is_empty_but(out_dir)


def test_locking_closes_the_export_dialog_and_its_file_chooser(window, qtbot):
    dialog = window.bundles_feature.open_export()
    dialog.choose_output()
    chooser = dialog.file_dialog
    assert chooser is not None and chooser.isVisible()
    window.lock_action.trigger()
    assert not dialog.isVisible() and not chooser.isVisible()
    assert dialog.out_edit.text() == ""  # closing the chooser chose nothing
    assert dialog.start() is None  # and an export cannot start without a vault


@pytest.fixture
def bundle(inputs_dir: Path) -> Path:
    data = b"\n".join(orjson.dumps(r) for r in demo_reports(20, seed=21))
    path = inputs_dir / "batch.age"
    path.write_bytes(passphrase_bundle(data, "bundle secret"))  # cheap scrypt, same format
    return path


def fake_prompt(monkeypatch, answers: list[str | None]) -> list[tuple[str, Any]]:
    """Answer QInputDialog.getText (Qt, not the code under test) from ``answers``."""
    asked: list[tuple[str, Any]] = []
    replies = iter(answers)

    def get_text(_parent, _title, label, echo=QLineEdit.EchoMode.Normal, *_a, **_k):
        asked.append((label, echo))
        reply = next(replies)
        return ("", False) if reply is None else (reply, True)

    monkeypatch.setattr(QInputDialog, "getText", staticmethod(get_text))
    return asked


def test_dropped_passphrase_bundle_asks_and_imports(window, qtbot, bundle: Path, monkeypatch):
    asked = fake_prompt(monkeypatch, ["wrong guess", "bundle secret"])
    with qtbot.waitSignal(window.imports.sig_finished, timeout=WAIT) as finished:
        drop_files(window, [bundle])
    assert [echo for _label, echo in asked] == [QLineEdit.EchoMode.Password] * 2
    assert "batch.age is protected by a passphrase" in asked[0][0]
    assert "did not open batch.age" in asked[1][0]
    summary = finished.args[0]
    assert summary.added == 20 and not summary.errors
    assert window.list_pane.model.rowCount() == REPORTS + 20


def test_wrong_bundle_passphrase_is_reported(window, qtbot, bundle: Path, monkeypatch):
    fake_prompt(monkeypatch, ["wrong guess", None])  # then the user gives up
    with qtbot.waitSignal(window.imports.sig_finished, timeout=WAIT) as finished:
        window.imports.import_paths([bundle])
    summary = finished.args[0]
    assert summary.added == 0 and len(summary.errors) == 1
    assert "batch.age" in summary.errors[0] and "passphrase" in summary.errors[0]
    shown = window.imports.summary_dialog.reasons.toPlainText()
    assert summary.errors[0] in shown
    assert window.list_pane.model.rowCount() == REPORTS


@pytest.mark.parametrize("locked_at", [0, 1], ids=["first-ask", "retry-ask"])
def test_locking_while_a_bundle_passphrase_is_asked_imports_nothing(
        window, qtbot, bundle: Path, monkeypatch, locked_at: int):
    """The prompt is a blocking dialog: the idle lock can fire while it is up. The answer then
    has no vault to import into (and must not raise in the drop or the op's callback)."""
    asked: list[str] = []

    def get_text(_parent, _title, label, *_a, **_k):
        asked.append(label)
        if len(asked) - 1 == locked_at:
            window.session.lock()  # as the idle timer does inside the prompt's event loop
            return "bundle secret", True
        return "wrong guess", True

    monkeypatch.setattr(QInputDialog, "getText", staticmethod(get_text))
    finished: list[object] = []
    window.imports.sig_finished.connect(finished.append)
    drop_files(window, [bundle])
    qtbot.waitUntil(lambda: len(asked) == locked_at + 1 and not window.imports.running,
                    timeout=WAIT)
    assert finished == [] and not window.session.is_unlocked
    unlock(window, qtbot)
    assert window.list_pane.model.rowCount() == REPORTS  # nothing was imported
