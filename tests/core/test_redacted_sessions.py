"""A report of an already redacted verification session arrives redacted, even when the vault
has never held it: whether it comes by import (the batched import path) or by fetch, whether the
session is known redacted from the outbox (synced against the local fake Stripe server, or set
through the store) or from another of its reports stored (or arriving) redacted. Nothing of it
is readable anywhere: not in the decrypted vault, not in any file the app wrote."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from identity_desktop.importing import import_files
from identity_desktop.outbox import store
from identity_desktop.outbox.store import OutboxState
from identity_desktop.report import is_redacted, redact_report
from identity_desktop.stripe_api.client import access_for
from identity_desktop.stripe_api.fetch import fetch_reports
from identity_desktop.vault import Vault
from identity_desktop.vault.reports import get_report, load_summaries, upsert_reports
from tests.core._outbox_support import (
    KEY,
    START,
    build_reports,
    make_engine,
    make_vault,
    sessions_of,
)
from tests.core._support import write_reports
from tests.fake_stripe import FakeStripe, make_report


def _strings(obj: Any) -> Iterator[str]:
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)
    elif isinstance(obj, str):
        yield obj


def personal_values(report: dict[str, Any]) -> set[str]:
    """The values redaction removes from ``report`` (names, address, numbers, dates...)."""
    kept = set(_strings(redact_report(report)))
    values = {v for v in _strings(report) if v not in kept and len(v) >= 5}
    assert values  # a report with something to redact
    return values


def assert_nothing_readable(vault: Vault, report: dict[str, Any],
                            files: Callable[[], Iterator[Path]]) -> None:
    stored = get_report(vault, report["id"])
    assert stored is not None and is_redacted(stored)
    needles = personal_values(report)
    decrypted = orjson.dumps(stored) + orjson.dumps(load_summaries(vault))
    assert not {v for v in needles if v.encode() in decrypted}
    for path in files():
        data = path.read_bytes()
        assert not {v for v in needles if v.encode() in data}, path


@pytest.fixture
def reports() -> list[dict[str, Any]]:
    return build_reports(4)


@pytest.fixture
def server(reports: list[dict[str, Any]]) -> Iterator[FakeStripe]:
    with FakeStripe(api_keys={KEY}, reports=reports) as fake:
        yield fake


@pytest.fixture
def vault(vault_path: Path, reports: list[dict[str, Any]]) -> Iterator[Vault]:
    with make_vault(vault_path, reports) as v:
        yield v


def late_report(i: int, session: str) -> dict[str, Any]:
    """A report the vault has never held, of ``session`` (a later attempt in that session)."""
    return make_report(100 + i, created=START + 100 + i, session=session)


def test_a_new_report_of_a_synced_redacted_session_is_stored_redacted(
        vault: Vault, server: FakeStripe, reports: list[dict[str, Any]], inputs_dir: Path,
        all_written_files: Callable[[], Iterator[Path]]) -> None:
    s = sessions_of(reports)
    store.queue_sessions(vault, [s[0], s[1]])
    assert make_engine(vault, server).run(max_time=20).redacted == 2
    store.queue_sessions(vault, [s[2]])  # queued, not redacted: its reports stay as they are

    new = [late_report(0, s[0]), late_report(1, s[1]), late_report(2, s[2]),
           late_report(3, s[3])]
    path = write_reports(inputs_dir / "late.json", new, "list")
    summary = import_files(vault, [path])
    assert summary.added == 4
    for report in new[:2]:
        assert_nothing_readable(vault, report, all_written_files)
    assert [is_redacted(get_report(vault, r["id"]) or {}) for r in new[2:]] == [False, False]

    # Fetching the same reports again, unredacted (the server never redacted them), and a
    # report of a redacted session that only the server has, changes nothing of that.
    fetched_only = late_report(4, s[1])
    with FakeStripe(api_keys={KEY}, reports=[*new, fetched_only]) as other:
        fetch_reports(vault, access_for(KEY, "test", other.base_url))
    for report in [*new[:2], fetched_only]:
        assert_nothing_readable(vault, report, all_written_files)
    assert not is_redacted(get_report(vault, new[3]["id"]) or {})


def test_the_outbox_state_set_through_the_store_is_enough(
        vault: Vault, reports: list[dict[str, Any]],
        all_written_files: Callable[[], Iterator[Path]]) -> None:
    s = sessions_of(reports)
    store.queue_sessions(vault, [s[0], s[1]])
    store.mutate(vault, [(s[0], lambda e: e.evolve(state=OutboxState.REDACTED)),
                         (s[1], lambda e: e.evolve(state=OutboxState.PROCESSING))])
    new = [late_report(0, s[0]), late_report(1, s[1])]
    result = upsert_reports(vault, new)
    assert result.added == 2
    assert_nothing_readable(vault, new[0], all_written_files)
    assert not is_redacted(get_report(vault, new[1]["id"]) or {})  # still processing


def test_a_report_stored_or_arriving_redacted_redacts_its_session(
        vault: Vault, reports: list[dict[str, Any]],
        all_written_files: Callable[[], Iterator[Path]]) -> None:
    """No outbox entry at all: the session is known redacted from a report of it."""
    s = sessions_of(reports)
    upsert_reports(vault, [redact_report(late_report(0, s[0]))])  # Stripe's redacted copy
    later = late_report(1, s[0])
    assert upsert_reports(vault, [later]).added == 1
    assert_nothing_readable(vault, later, all_written_files)
    # In one batch: a redacted copy and an unredacted sibling of the same session.
    sibling = late_report(2, s[1])
    upsert_reports(vault, [sibling, redact_report(late_report(3, s[1]))])
    assert_nothing_readable(vault, sibling, all_written_files)
    # Other sessions are left alone.
    assert not any(is_redacted(get_report(vault, r["id"]) or {}) for r in reports)
