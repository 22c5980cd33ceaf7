"""Import from the window: progress, summary with reasons, cancel, drag and drop, bundles."""

from __future__ import annotations

import threading
from pathlib import Path

import orjson
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from identity_desktop.importing import importer
from identity_desktop.ui.operations import VaultOp
from tests.ui.agefile import passphrase_bundle
from tests.ui.conftest import NOW, REPORTS, WAIT, demo_reports, unlock
from tests.ui.dragdrop import drop_files


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> int:
    """Batches of 1,500 so a few thousand reports give several progress steps and a cancel
    point, whatever batch size the importer is tuned to."""
    monkeypatch.setattr(importer, "BATCH_SIZE", 1500)
    return 1500


def _write(path: Path, reports: list) -> Path:
    path.write_bytes(orjson.dumps(reports))
    return path


def test_import_with_progress_and_summary(unlocked, qtbot, inputs_dir: Path):
    window = unlocked
    # Three batches (several progress steps), all newer than the vault's reports: they land
    # at the top of the newest-first list as one inserted run.
    new = demo_reports(4500, seed=11, now=NOW + 3 * 365 * 86400)
    bad = [{"id": "vr_broken", "object": "identity.verification_report"}, "not a report"]
    path = _write(inputs_dir / "batch.json", [*new, *bad])
    seen: list[tuple[int, int]] = []  # (done, total) per committed batch
    window.imports.sig_progress.connect(lambda done, total, _text: seen.append((done, total)))
    inserted: list[int] = []
    window.list_pane.model.rowsInserted.connect(lambda _p, a, b: inserted.append(b - a + 1))
    with qtbot.waitSignal(window.imports.sig_finished, timeout=30_000) as finished:
        window.imports.import_paths([path])
        assert window.imports.progress_dialog is not None
    summary = finished.args[0]
    assert summary.added == 4500 and len(summary.rejected) == 2
    assert len(seen) >= 2 and seen[-1] == (4500, 4500)
    assert window.imports.progress_dialog is None
    dialog = window.imports.summary_dialog
    assert dialog.isVisible()
    assert dialog.count_labels["added"].text() == "4,500"
    assert dialog.count_labels["rejected"].text() == "2"
    reasons = dialog.reasons.toPlainText()
    assert "batch.json" in reasons and "index 4500" in reasons
    assert window.list_pane.model.rowCount() == REPORTS + 4500
    assert sum(inserted) == 4500  # precise inserts, not a reset
    assert "Showing 4,800 of 4,800" in window.status.counts.text()
    dialog.close()
    # Importing the same file again changes nothing.
    with qtbot.waitSignal(window.imports.sig_finished, timeout=30_000) as again:
        window.imports.import_paths([path])
    assert again.args[0].unchanged == 4500 and again.args[0].added == 0


def test_cancel_import_keeps_committed_batches(unlocked, qtbot, inputs_dir: Path,
                                               small_batches: int):
    window = unlocked
    path = _write(inputs_dir / "big.json", demo_reports(6000, seed=12))
    gate = threading.Event()
    # Hold the vault thread so the import is queued behind a known point.
    VaultOp(window.session.runner, lambda _ctx: gate.wait(WAIT / 1000)).run_in_background()
    op = window.imports.import_paths([path])
    assert op is not None
    # Cancel from the worker side right after the first committed batch: deterministic.
    op.sig_progress.connect(lambda *_: op.cancel(), Qt.ConnectionType.DirectConnection)
    with qtbot.waitSignal(window.imports.sig_finished, timeout=30_000) as finished:
        gate.set()
    summary = finished.args[0]
    assert summary.cancelled
    # Stopped after the batch(es) already under way; whatever was committed is kept and shown.
    assert 0 < summary.added < 6000 and summary.added % small_batches == 0
    assert window.list_pane.model.rowCount() == REPORTS + summary.added
    assert window.imports.summary_dialog.windowTitle() == "Import cancelled"


def test_cancel_button_before_the_import_starts(unlocked, qtbot, inputs_dir: Path):
    window = unlocked
    path = _write(inputs_dir / "small.json", demo_reports(50, seed=13))
    gate = threading.Event()
    VaultOp(window.session.runner, lambda _ctx: gate.wait(WAIT / 1000)).run_in_background()
    window.imports.import_paths([path])
    cancel_button = window.imports.progress_dialog.findChild(QPushButton)
    assert cancel_button.text() == "Cancel"
    qtbot.mouseClick(cancel_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(window.imports.sig_finished, timeout=WAIT) as finished:
        gate.set()
    assert finished.args[0].cancelled and finished.args[0].added == 0
    assert window.list_pane.model.rowCount() == REPORTS


def test_drag_and_drop_imports(unlocked, qtbot, inputs_dir: Path):
    window = unlocked
    path = inputs_dir / "dropped.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in demo_reports(30, seed=14)))
    target = window.centralWidget()
    with qtbot.waitSignal(window.imports.sig_finished, timeout=WAIT) as finished:
        drop_files(window, [path])
    assert finished.args[0].added == 30
    assert target is window.centralWidget()


def test_passphrase_bundle_asks_and_retries(window_factory, vault_file, qtbot,
                                            inputs_dir: Path):
    window = window_factory(vault_file)
    unlock(window, qtbot)
    data = b"\n".join(orjson.dumps(r) for r in demo_reports(20, seed=15))
    path = inputs_dir / "batch.age"
    path.write_bytes(passphrase_bundle(data, "bundle secret"))
    asked: list[tuple[str, bool]] = []
    answers = iter(["wrong guess", "bundle secret"])

    def ask(name: str, retry: bool) -> str | None:
        asked.append((name, retry))
        return next(answers)

    window.imports._ask = ask
    with qtbot.waitSignal(window.imports.sig_finished, timeout=WAIT) as finished:
        window.imports.import_paths([path])
    assert asked == [("batch.age", False), ("batch.age", True)]
    summary = finished.args[0]
    assert summary.added == 20 and not summary.errors
