"""A first import into an empty vault does not look up, batch by batch, which of its reports and
sessions are stored (``vault.batches.ImportLedger``): what it wrote itself is all there is.
These tests check that it still finds everything the look-up would have found: a report met
again in a later batch, a session redacted in an earlier batch, and whatever another connection
writes to the vault meanwhile. Small batches and a low helper threshold send a small file
through every stage of the import (held batches, the helper's part, batches committed one by
one).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from identity_desktop.demo import generate_reports
from identity_desktop.importing import importer, readers
from identity_desktop.outbox import store
from identity_desktop.outbox.store import OutboxState
from identity_desktop.report import is_redacted, redact_report
from identity_desktop.vault import batches
from identity_desktop.vault.reports import get_report, load_summaries, report_count
from identity_desktop.vault.store import Vault
from tests.conftest import PASSPHRASE
from tests.core._support import write_reports

NOW = 1_790_000_000


def _session(i: int) -> str:
    return f"vs_ledgertest{i:012d}"


def _reports() -> list[dict[str, Any]]:
    """60 reports, none redacted, each of its own session: each test makes the overlaps it
    needs."""
    out = [r for r in generate_reports(80, seed=33, now=NOW) if not is_redacted(r)][:60]
    for i, report in enumerate(out):
        report["verification_session"] = _session(100 + i)
    return out


REPORTS = _reports()


def _batch_ends(total: int) -> list[int]:
    """Where the import's batches of a ``total``-record file end (``readers.ElementStream``):
    its own part, then the helper's, each cut into batches."""
    split, size = int(total * (1 - readers.HELPER_SHARE)), importer.BATCH_SIZE
    return [min(start + size, split) for start in range(0, split, size)] + [
        min(start + size, total) for start in range(split, total, size)]
# A part of the query without parameters (the trace callback sees them filled in).
STORED_QUERY = "SELECT 0, r.lookup, r.digest, r.summary FROM b JOIN reports"
assert STORED_QUERY in batches._STORED_SQL


@pytest.fixture(autouse=True)
def small_stages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "BATCH_SIZE", 7)
    monkeypatch.setattr(readers, "PARALLEL_MIN_RECORDS", 10)


@pytest.fixture
def vault(tmp_path: Path) -> Iterator[Vault]:
    with Vault.create(tmp_path / "v.idvault", PASSPHRASE) as v:
        yield v


@pytest.fixture
def stored_queries(vault: Vault) -> Iterator[list[str]]:
    """Every stored-state query the vault's connection runs (on any thread)."""
    seen: list[str] = []
    vault.conn.set_trace_callback(lambda sql: seen.append(sql) if STORED_QUERY in sql else None)
    yield seen
    vault.conn.set_trace_callback(None)


def test_a_first_import_skips_the_look_up_and_a_second_one_does_not(
        vault: Vault, inputs_dir: Path, stored_queries: list[str]) -> None:
    sessions = {r["verification_session"] for r in REPORTS}
    assert len(sessions) == len(REPORTS) and None not in sessions
    path = write_reports(inputs_dir / "first.json", REPORTS, "list")
    summary = importer.import_files(vault, [path])
    assert (summary.added, summary.updated, summary.unchanged) == (60, 0, 0)
    assert stored_queries == []
    assert [s[0] for s in load_summaries(vault)] == [r["id"] for r in REPORTS]
    for report in (REPORTS[0], REPORTS[30], REPORTS[59]):
        assert get_report(vault, report["id"]) == report
    # The vault now holds reports: the next import looks up every batch.
    summary = importer.import_files(vault, [path])
    assert (summary.added, summary.updated, summary.unchanged) == (0, 0, 60)
    assert len(stored_queries) == len(_batch_ends(60))


@pytest.mark.parametrize("second_at", [9, 50], ids=["local part", "helper's part"])
@pytest.mark.parametrize("session", [True, False], ids=["with its session", "of no session"])
def test_a_report_met_again_in_a_later_batch_is_an_update(
        vault: Vault, inputs_dir: Path, stored_queries: list[str], second_at: int,
        session: bool) -> None:
    reports = copy.deepcopy(REPORTS)
    if not session:  # then only the report itself tells that the batch must look it up
        reports[1]["verification_session"] = None
    changed = copy.deepcopy(reports[1])
    changed["client_reference_id"] = "cust_changed_in_a_later_batch"
    reports = [*reports[:second_at], changed, *reports[second_at:]]
    summary = importer.import_files(vault, [write_reports(inputs_dir / "twice.json", reports,
                                                         "list")])
    assert not summary.errors
    assert (summary.added, summary.updated, summary.unchanged) == (60, 1, 0)
    assert report_count(vault) == 60
    assert get_report(vault, REPORTS[1]["id"]) == changed  # the later copy wins
    assert len(stored_queries) == 1  # that batch, and only that one, was looked up


@pytest.mark.parametrize("later_at", [12, 55], ids=["local part", "helper's part"])
def test_a_session_redacted_in_an_earlier_batch_redacts_its_later_reports(
        vault: Vault, inputs_dir: Path, later_at: int) -> None:
    reports = copy.deepcopy(REPORTS)
    for i in (2, later_at):
        reports[i]["verification_session"] = _session(1)
    reports[2] = redact_report(reports[2])  # Stripe's redacted copy of the session's report
    summary = importer.import_files(vault, [write_reports(inputs_dir / "s.json", reports,
                                                         "list")])
    assert summary.added == 60 and not summary.errors
    stored = get_report(vault, reports[later_at]["id"])
    assert stored is not None and is_redacted(stored)
    assert stored == redact_report(reports[later_at])
    # Its other reports are left alone.
    assert not is_redacted(get_report(vault, reports[later_at - 1]["id"]) or {})


def test_a_session_redacted_by_another_connection_meanwhile_is_seen(
        vault: Vault, inputs_dir: Path, stored_queries: list[str]) -> None:
    """The reviewer's window (another connection) records a session as redacted while the
    command line imports: the import's later batches must not trust what it wrote alone."""
    reports = copy.deepcopy(REPORTS)
    reports[58]["verification_session"] = _session(2)
    path = write_reports(inputs_dir / "meanwhile.json", reports, "list")
    other_done: list[int] = []

    def progress(_path: str, done: int, _total: int) -> None:
        if other_done or done >= 56:
            return
        with Vault.open(vault.path, PASSPHRASE) as other:
            store.queue_sessions(other, [_session(2)])
            store.mutate(other, [(_session(2), lambda e: e.evolve(state=OutboxState.REDACTED))])
        other_done.append(done)

    summary = importer.import_files(vault, [path], progress=progress)
    assert other_done, "the other connection never wrote during the import"
    assert summary.added == 60 and not summary.errors
    stored = get_report(vault, reports[58]["id"])
    assert stored is not None and is_redacted(stored)
    assert not is_redacted(get_report(vault, reports[57]["id"]) or {})
    # Every batch after the other connection's write was looked up.
    batches_after = [end for end in _batch_ends(60) if end > other_done[0]]
    assert len(stored_queries) == len(batches_after) > 0
