"""A strict import of a list object or array is written while it is still being decoded
(``importer._write_file``): batches are held in one open transaction until the whole file is
known valid. These tests shrink the batch size and the helper-process threshold so that a small
file goes through every stage: held batches, the helper's half, the commit, then batches that
commit one by one.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest

from identity_desktop.demo import generate_reports
from identity_desktop.importing import importer, readers
from identity_desktop.vault.reports import load_summaries, report_count, upsert_reports
from identity_desktop.vault.store import Vault
from tests.conftest import PASSPHRASE
from tests.core._support import table_rows

REPORTS = list(generate_reports(90, seed=21, now=1_790_000_000))


@pytest.fixture(autouse=True)
def small_stages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "BATCH_SIZE", 7)
    monkeypatch.setattr(readers, "PARALLEL_MIN_RECORDS", 10)


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    """A vault that already holds reports (the first 20), which a refused file must not touch."""
    v = Vault.create(tmp_path / "v.idvault", PASSPHRASE)
    upsert_reports(v, REPORTS[:20])
    yield v
    v.lock()


def _file(inputs_dir: Path, reports: list[Any], name: str = "batch.json") -> Path:
    path = inputs_dir / name
    path.write_bytes(orjson.dumps({"object": "list", "data": reports}))
    return path


def test_a_valid_file_lands_whole_in_order_with_progress_after_commits(
        vault: Vault, inputs_dir: Path) -> None:
    calls: list[tuple[int, int]] = []
    changed = copy.deepcopy(REPORTS[5])
    changed["type"] = "id_number"
    reports = [*REPORTS[:5], changed, *REPORTS[6:]]  # 19 stored already, 1 changed, 70 new
    summary = importer.import_files(vault, [_file(inputs_dir, reports)],
                                    progress=lambda _p, done, total: calls.append((done, total)))
    assert (summary.added, summary.updated, summary.unchanged) == (70, 1, 19)
    assert not summary.errors and not summary.rejected
    assert len(summary.changed) == 71
    assert report_count(vault) == 90
    assert [s[0] for s in load_summaries(vault)] == [r["id"] for r in REPORTS]  # file order
    # Held batches report nothing until their commit, then everything at once; afterwards one
    # call per committed batch. Every call counts records that are committed.
    dones = [done for done, _ in calls]
    assert dones == sorted(dones) and dones[-1] == 90 and {t for _, t in calls} == {90}
    assert dones[0] >= 14  # at least the two held batches of the first half


@pytest.mark.parametrize("bad_at", [2, 20, 89], ids=["first batch", "local part", "helper's part"])
def test_one_bad_record_anywhere_leaves_the_vault_as_it_was(vault: Vault, inputs_dir: Path,
                                                             bad_at: int) -> None:
    reports: list[Any] = copy.deepcopy(REPORTS)
    reports[bad_at]["created"] = "yesterday"
    before = {t: table_rows(vault.path, t) for t in ("reports", "bodies", "outbox")}
    summary = importer.import_files(vault, [_file(inputs_dir, reports)])
    assert summary.added == summary.updated == summary.unchanged == 0
    assert summary.errors == [
        f"{inputs_dir / 'batch.json'}: 1 invalid record(s), nothing imported from this file: "
        f"index {bad_at}: 'created' must be an integer timestamp"]
    assert [r.location for r in summary.rejected] == [f"index {bad_at}"]
    assert {t: table_rows(vault.path, t) for t in ("reports", "bodies", "outbox")} == before
    assert vault.integrity_check() == "ok"


def test_a_cancel_before_the_file_is_known_valid_leaves_nothing(vault: Vault,
                                                                inputs_dir: Path) -> None:
    asked = 0

    def cancelled() -> bool:
        nonlocal asked
        asked += 1
        return asked > 3  # after three batches were written, all held

    summary = importer.import_files(vault, [_file(inputs_dir, REPORTS)], cancelled=cancelled)
    assert summary.cancelled and summary.added == 0
    assert report_count(vault) == 20
    upsert_reports(vault, REPORTS[20:21])  # the vault is not left inside a transaction
    assert report_count(vault) == 21


def test_a_cancel_after_the_commit_keeps_what_was_reported(vault: Vault,
                                                           inputs_dir: Path) -> None:
    reported: list[int] = []
    summary = importer.import_files(
        vault, [_file(inputs_dir, REPORTS)],
        progress=lambda _p, done, _t: reported.append(done),
        cancelled=lambda: bool(reported))  # stop at the first chance after the first commit
    assert summary.cancelled
    assert reported and report_count(vault) == max(20, reported[-1])
    assert summary.added + summary.unchanged == reported[-1]


def test_an_error_while_writing_is_not_blamed_on_the_file(vault: Vault, inputs_dir: Path) -> None:
    """A failure of the vault itself mid-import (here: it reports being locked) propagates as
    it is, instead of reading as "the file was refused", and leaves no transaction open."""
    from identity_desktop.errors import VaultLockedError

    asked = 0

    def cancelled() -> bool:
        nonlocal asked
        asked += 1
        if asked == 3:
            raise VaultLockedError("the vault is locked")
        return False

    with pytest.raises(VaultLockedError):
        importer.import_files(vault, [_file(inputs_dir, REPORTS)], cancelled=cancelled)
    assert report_count(vault) == 20  # the held batches were rolled back
    upsert_reports(vault, REPORTS[20:21])
    assert report_count(vault) == 21
