"""The redaction outbox store: one encrypted entry per session, keys fixed at queue time,
compare-and-set transitions, cancel/retry rules, list states, the CLI and the offline hand-off
to an admin (age bundle of session ids and idempotency keys)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from identity_desktop.desk import Desk
from identity_desktop.errors import BundleError, IdentityDeskError, UsageError
from identity_desktop.index import RedactionState, ReportFilter
from identity_desktop.outbox import store
from identity_desktop.outbox.handoff import import_requests, parse_requests
from identity_desktop.outbox.store import OutboxState
from identity_desktop.vault import Vault
from identity_desktop.vault.reports import get_report
from tests.conftest import PASSPHRASE
from tests.core._outbox_support import KEY, build_reports, make_engine, make_vault, sessions_of
from tests.core._support import cli, isolated_env, one_error_line, table_rows, write_passphrase
from tests.fake_stripe import FakeStripe, FaultKind


@pytest.fixture
def reports() -> list[dict[str, Any]]:
    return build_reports(6, pairs=2)


@pytest.fixture
def vault(vault_path: Path, reports: list[dict[str, Any]]) -> Iterator[Vault]:
    with make_vault(vault_path, reports) as v:
        yield v


def test_queue_reports_makes_one_entry_per_session_with_a_fixed_key(
        vault: Vault, reports: list[dict[str, Any]]) -> None:
    ids = [r["id"] for r in reports]  # 8 reports, 6 sessions (two sessions have 2 reports)
    first = store.queue_reports(vault, ids)
    assert [e.session for e in first.added] == sessions_of(reports)
    assert not first.existing
    entries = store.list_entries(vault)
    assert [e.state for e in entries] == [OutboxState.QUEUED] * 6
    keys = {e.session: e.idempotency_key for e in entries}
    assert len(set(keys.values())) == 6 and all(k.startswith("idesk-") for k in keys.values())
    assert all(e.attempts == 0 and e.error is None and e.queued_at > 0 for e in entries)

    # Asking again (by report or by session id) is not a second entry and keeps the key.
    again = store.queue_reports(vault, [reports[6]["id"], reports[0]["verification_session"]])
    assert not again.added and [e.session for e in again.existing] == [reports[0][
        "verification_session"]]
    assert {e.session: e.idempotency_key for e in store.list_entries(vault)} == keys
    assert len(table_rows(vault.path, "outbox")) == 6


def test_bad_ids_are_clear_errors_and_queue_nothing(vault: Vault, vault_path: Path) -> None:
    report = get_report(vault, build_reports(1)[0]["id"])
    assert report is not None
    with pytest.raises(IdentityDeskError, match="vr_missing00 is not in the vault"):
        store.queue_reports(vault, [report["id"], "vr_missing00"])
    with pytest.raises(UsageError, match="neither a report id"):
        store.queue_reports(vault, ["hello"])
    # A report that names no session cannot be redacted through the API.
    orphan = {**build_reports(7)[6], "id": "vr_orphan0001", "verification_session": None}
    from identity_desktop.vault.reports import upsert_reports
    upsert_reports(vault, [orphan])
    with pytest.raises(IdentityDeskError, match="vr_orphan0001 names no verification session"):
        store.queue_reports(vault, ["vr_orphan0001"])
    assert store.list_entries(vault) == []


def test_entries_are_encrypted_and_bound_to_their_row(vault: Vault,
                                                      reports: list[dict[str, Any]]) -> None:
    store.queue_reports(vault, [r["id"] for r in reports])
    raw = vault.path.read_bytes()
    for wal in vault.path.parent.glob("*-wal"):
        raw += wal.read_bytes()
    for e in store.list_entries(vault):
        assert e.session.encode() not in raw
        assert e.idempotency_key.encode() not in raw
    # Swapping two entries' ciphertexts is detected, not silently read as the other session.
    (s1, _, b1), (s2, _, b2) = [tuple(r) for r in table_rows(vault.path, "outbox")[:2]]
    with vault.transaction() as conn:
        conn.execute("UPDATE outbox SET entry = ? WHERE seq = ?", (b2, s1))
        conn.execute("UPDATE outbox SET entry = ? WHERE seq = ?", (b1, s2))
    from identity_desktop.errors import VaultTamperedError
    with pytest.raises(VaultTamperedError, match="'outbox' \\(row"):
        store.list_entries(vault)


def test_cancel_only_while_never_sent_and_requeue_keeps_the_key(
        vault: Vault, reports: list[dict[str, Any]]) -> None:
    s = sessions_of(reports)
    store.queue_sessions(vault, s[:3])
    key0 = store.get_entry(vault, s[0]).idempotency_key  # type: ignore[union-attr]
    assert [e.state for e in store.cancel(vault, [s[0]])] == [OutboxState.CANCELLED]
    # The request may have left once an entry is sending: cancelling would be a lie.
    store.mutate(vault, [(s[1], lambda e: e.evolve(state=OutboxState.SENDING, maybe_sent=True))])
    with pytest.raises(IdentityDeskError, match=f"cannot cancel session {s[1]}: it is sending "
                                                "and may already have reached Stripe"):
        store.cancel(vault, [s[2], s[1]])
    assert store.get_entry(vault, s[2]).state is OutboxState.QUEUED  # type: ignore[union-attr]
    with pytest.raises(IdentityDeskError, match="is not in the redaction queue"):
        store.cancel(vault, [s[4]])
    # Queueing a cancelled session again revives the same entry and its unused key.
    again = store.queue_sessions(vault, [s[0]])
    assert [(e.session, e.state, e.idempotency_key) for e in again.added] == [
        (s[0], OutboxState.QUEUED, key0)]
    assert len(store.list_entries(vault)) == 3


def test_retry_uses_a_new_key_and_only_applies_to_failed(vault: Vault,
                                                         reports: list[dict[str, Any]]) -> None:
    s = sessions_of(reports)
    store.queue_sessions(vault, s[:2])
    with pytest.raises(IdentityDeskError, match="it is queued, not failed"):
        store.retry(vault, [s[0]])
    old = store.get_entry(vault, s[0])
    assert old is not None
    store.mutate(vault, [(s[0], lambda e: e.evolve(state=OutboxState.FAILED, maybe_sent=True,
                                                   attempts=2, error="refused"))])
    (retried,) = store.retry(vault, [s[0]])
    assert retried.state is OutboxState.QUEUED and retried.error is None
    assert retried.idempotency_key != old.idempotency_key and retried.key_rotations == 1
    assert retried.attempts == 2  # history is kept
    # An entry Stripe had accepted goes back to polling, never to a second redact.
    store.mutate(vault, [(s[1], lambda e: e.evolve(state=OutboxState.FAILED, accepted=True))])
    (back,) = store.retry(vault, [s[1]])
    assert back.state is OutboxState.PROCESSING


def test_list_states_overlay_and_cancelled_shows_as_none(vault: Vault,
                                                         reports: list[dict[str, Any]]) -> None:
    s = sessions_of(reports)
    store.queue_sessions(vault, s[:3])
    store.cancel(vault, [s[2]])
    store.mutate(vault, [(s[1], lambda e: e.evolve(state=OutboxState.FAILED))])
    assert store.redaction_states(vault) == {s[0]: RedactionState.QUEUED,
                                             s[1]: RedactionState.FAILED}
    desk = Desk(vault)
    queued = desk.index.query(ReportFilter(redaction=frozenset({RedactionState.QUEUED})))
    # Both reports of session 0 show it.
    assert sorted(desk.index.report_id(p) for p in queued.tolist()) == sorted(
        r["id"] for r in reports if r["verification_session"] == s[0])
    none = desk.index.query(ReportFilter(redaction=frozenset({RedactionState.NONE})))
    # Sessions 0 and 1 have two reports each; session 2 (cancelled) shows no redaction.
    assert len(none) == len(reports) - 4


# ---- command line ----------------------------------------------------------------------------

@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    return isolated_env(tmp_path / "cli")


def test_cli_queue_list_cancel_retry(vault: Vault, reports: list[dict[str, Any]],
                                     tmp_path: Path, cli_env: dict[str, str]) -> None:
    path = vault.path
    vault.lock()
    pp = write_passphrase(tmp_path / "pp.txt")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return cli(*args, env=cli_env, vault=path, passphrase_file=pp)

    s = sessions_of(reports)
    result = run("redact", "queue", reports[0]["id"], s[1], reports[6]["id"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"queued {s[0]}", f"queued {s[1]}"]
    result = run("redact", "queue", s[1])
    assert result.stdout.strip() == f"already in the queue: {s[1]} (queued)"

    listed = [orjson.loads(line) for line in run("redact", "list", "--json").stdout.splitlines()]
    assert [e["verification_session"] for e in listed] == s[:2]
    for e in listed:
        assert {"verification_session", "state", "attempts", "error", "queued_at"} <= e.keys()
        assert e["state"] == "queued" and e["attempts"] == 0 and e["error"] is None

    assert run("redact", "cancel", s[0]).stdout.strip() == f"cancelled {s[0]} (cancelled)"
    line = one_error_line(run("redact", "retry", s[1]))
    assert line == f"identity-desk: error: cannot retry session {s[1]}: it is queued, not failed"
    one_error_line(run("redact", "queue", "bogus"), status=2)
    text = run("redact", "list").stdout
    assert f"{s[0]}  cancelled" in text and f"{s[1]}  queued  attempts 0" in text
    reports_listed = run("list", "--json", "--redaction", "queued")
    # Both reports of session 1 show it as queued.
    assert [orjson.loads(x)["verification_session"]
            for x in reports_listed.stdout.splitlines()] == [s[1], s[1]]


# ---- offline hand-off ------------------------------------------------------------------------

def test_handoff_export_import_keeps_keys_and_merges(tmp_path: Path,
                                                     reports: list[dict[str, Any]],
                                                     cli_env: dict[str, str]) -> None:
    from identity_desktop.bundles import public_key

    reviewer = make_vault(tmp_path / "reviewer" / "v.idvault", reports)
    admin = make_vault(tmp_path / "admin" / "v.idvault")
    s = sessions_of(reports)
    store.queue_sessions(reviewer, s[:4])
    store.mutate(reviewer, [(s[2], lambda e: e.evolve(state=OutboxState.PROCESSING)),
                            (s[3], lambda e: e.evolve(state=OutboxState.SENDING))])
    store.queue_sessions(admin, [s[1]])  # the admin already queued one of them
    admin_key1 = store.get_entry(admin, s[1]).idempotency_key  # type: ignore[union-attr]
    reviewer_keys = {e.session: e.idempotency_key for e in store.list_entries(reviewer)}
    recipient = public_key(admin)
    paths = (reviewer.path, admin.path)
    reviewer.lock()
    admin.lock()
    pp = write_passphrase(tmp_path / "pp.txt")
    out = tmp_path / "queue.age"
    result = cli("redact", "export", "--out", str(out), "--recipient", recipient,
                 env=cli_env, vault=paths[0], passphrase_file=pp)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"exported 3 pending redaction request(s) to {out}"
    for sid in s:
        assert sid.encode() not in out.read_bytes()

    result = cli("redact", "import", str(out), env=cli_env, vault=paths[1], passphrase_file=pp)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"queued {s[0]}", f"queued {s[3]}",
                                          f"already in the queue: {s[1]} (queued)"]
    admin = Vault.open(paths[1], PASSPHRASE)
    try:
        got = {e.session: e.idempotency_key for e in store.list_entries(admin)}
        assert got == {s[0]: reviewer_keys[s[0]], s[3]: reviewer_keys[s[3]], s[1]: admin_key1}
        # Importing again adds nothing; a reports bundle is refused clearly.
        with pytest.raises(BundleError, match="line 1 is not a redaction request"):
            parse_requests(orjson.dumps(reports[0]) + b"\n", "x.age")
        from identity_desktop.bundles import vault_identity
        again = import_requests(admin, out, identities=[vault_identity(admin)])
        assert not again.added and len(again.existing) == 3
    finally:
        admin.lock()
    # The reviewer's own vault cannot open a bundle made for the admin.
    result = cli("redact", "import", str(out), env=cli_env, vault=paths[0], passphrase_file=pp)
    assert "identity-desk: error:" in one_error_line(result)


def test_handoff_after_a_lost_response_redacts_once(tmp_path: Path,
                                                   reports: list[dict[str, Any]]) -> None:
    """The reviewer's app sent a redact whose answer was lost, then handed the queue to the
    admin: the admin's send carries the same key, so Stripe replays instead of acting again."""
    from identity_desktop.bundles import public_key, vault_identity
    from identity_desktop.outbox.handoff import export_pending

    s = sessions_of(reports)[:2]
    reviewer = make_vault(tmp_path / "r.idvault", reports)
    admin = make_vault(tmp_path / "a.idvault")
    with FakeStripe(api_keys={KEY}) as server:
        server.add_reports(reports)
        store.queue_sessions(reviewer, s)
        server.inject(FaultKind.DROP_AFTER, method="POST", path="*/redact", times=10)
        engine = make_engine(reviewer, server)
        engine.run(once=True)
        assert {e.state for e in store.list_entries(reviewer)} == {OutboxState.SENDING}
        assert all(server.redact_effects[x] == 1 for x in s)
        server.faults.clear()
        out = tmp_path / "q.age"
        assert export_pending(reviewer, out, [public_key(admin)]) == 2
        import_requests(admin, out, identities=[vault_identity(admin)])
        stats = make_engine(admin, server).run(max_time=20)
        assert stats.redacted == 2
        assert {e.state for e in store.list_entries(admin)} == {OutboxState.REDACTED}
        assert all(server.redact_effects[x] == 1 for x in s)
    reviewer.lock()
    admin.lock()
