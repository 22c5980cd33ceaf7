"""Handing the redaction queue off to an admin, against the local fake Stripe server: exported
entries are marked handed off (inside the encrypted entry), the reviewer's sync never sends
them (it only looks at their sessions, and redacts the local copies once the admin's request is
done), ``redact list`` shows them, ``redact reclaim`` takes one back (sent once, with the key it
was exported with), and the admin's app sends each exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from identity_desktop.bundles import public_key, vault_identity
from identity_desktop.errors import BundleError, IdentityDeskError
from identity_desktop.outbox import store
from identity_desktop.outbox.handoff import export_pending, import_requests
from identity_desktop.outbox.store import OutboxEntry, OutboxState
from identity_desktop.report import is_redacted
from identity_desktop.stripe_api.client import API_KEY_SECRET
from identity_desktop.vault import Vault
from identity_desktop.vault.reports import reports_for_session
from tests.conftest import PASSPHRASE
from tests.core._outbox_support import KEY, build_reports, make_engine, make_vault, sessions_of
from tests.core._support import cli, isolated_env, one_error_line, write_passphrase
from tests.fake_stripe import FakeStripe


@pytest.fixture
def reports() -> list[dict[str, Any]]:
    return build_reports(6, pairs=2)  # sessions 0 and 1 have two reports each


@pytest.fixture
def server(reports: list[dict[str, Any]]) -> Iterator[FakeStripe]:
    with FakeStripe(api_keys={KEY}, reports=reports) as fake:
        yield fake


@pytest.fixture
def vaults(tmp_path: Path, reports: list[dict[str, Any]]) -> Iterator[tuple[Vault, Vault]]:
    reviewer = make_vault(tmp_path / "reviewer" / "v.idvault", reports)
    admin = make_vault(tmp_path / "admin" / "v.idvault")
    try:
        yield reviewer, admin
    finally:
        reviewer.lock()
        admin.lock()


def posts(server: FakeStripe) -> list[tuple[str, str | None]]:
    """(session, idempotency key) of every redact request the server received."""
    return [(r.path.split("/")[-2], r.idempotency_key) for r in server.requests
            if r.method == "POST"]


def test_handed_off_entries_are_never_sent_here_and_the_admin_sends_each_once(
        vaults: tuple[Vault, Vault], server: FakeStripe, reports: list[dict[str, Any]],
        tmp_path: Path) -> None:
    reviewer, admin = vaults
    s = sessions_of(reports)[:3]
    store.queue_sessions(reviewer, s)
    keys = {e.session: e.idempotency_key for e in store.list_entries(reviewer)}
    out = tmp_path / "queue.age"
    assert export_pending(reviewer, out, [public_key(admin)]) == 3
    entries = store.list_entries(reviewer)
    assert [(e.state, e.handed_off, e.idempotency_key) for e in entries] == [
        (OutboxState.QUEUED, True, keys[x]) for x in s]
    # The mark lives inside the encrypted entry, like the rest of it.
    raw = b"".join(p.read_bytes() for p in reviewer.path.parent.glob("v.idvault*"))
    assert b"handed_off" not in raw and b"queued" not in raw

    # The reviewer's sync, one pass or a full run, sends nothing: it only looks at the sessions.
    stats = make_engine(reviewer, server).run(once=True)
    assert stats.requests == 0 and not server.redact_effects and not posts(server)
    assert sum(r.method == "GET" for r in server.requests) == 3
    assert make_engine(reviewer, server).run(max_time=5).requests == 0
    assert not server.redact_effects
    assert {(e.state, e.handed_off) for e in store.list_entries(reviewer)} == {
        (OutboxState.QUEUED, True)}
    # A second export leaves them out, and says how to take one back.
    with pytest.raises(BundleError, match="3 already handed off; 'identity-desk redact "
                                          "reclaim SESSION' takes one back"):
        export_pending(reviewer, tmp_path / "again.age", [public_key(admin)])

    # The admin's app sends each exactly once, with the reviewer's keys.
    import_requests(admin, out, identities=[vault_identity(admin)])
    assert make_engine(admin, server).run(max_time=20).redacted == 3
    assert {x: server.redact_effects[x] for x in s} == dict.fromkeys(s, 1)
    assert sorted(posts(server)) == sorted((x, keys[x]) for x in s)

    # The reviewer's next sync learns that they are done and redacts its own copies.
    sent = len(posts(server))
    stats = make_engine(reviewer, server).run(max_time=20)
    assert stats.requests == 0 and stats.redacted == 3 and len(posts(server)) == sent
    assert {(e.state, e.handed_off) for e in store.list_entries(reviewer)} == {
        (OutboxState.REDACTED, True)}
    local = [r for x in s for r in reports_for_session(reviewer, x)]
    assert len(local) == 5 and all(is_redacted(r) for r in local)
    assert {x: server.redact_effects[x] for x in s} == dict.fromkeys(s, 1)


def test_reclaim_then_sync_sends_once_with_the_exported_key(
        vaults: tuple[Vault, Vault], server: FakeStripe, reports: list[dict[str, Any]],
        tmp_path: Path) -> None:
    reviewer, admin = vaults
    s = sessions_of(reports)
    store.queue_sessions(reviewer, s[:2])
    export_pending(reviewer, tmp_path / "q.age", [public_key(admin)])
    exported_key = store.get_entry(reviewer, s[0]).idempotency_key  # type: ignore[union-attr]
    (back,) = store.reclaim(reviewer, [s[0]])
    assert back.state is OutboxState.QUEUED and not back.handed_off
    assert back.idempotency_key == exported_key

    with pytest.raises(IdentityDeskError, match=f"cannot take back session {s[0]}: it was "
                                                "not handed off"):
        store.reclaim(reviewer, [s[1], s[0]])  # all or nothing: s[1] stays handed off
    assert store.get_entry(reviewer, s[1]).handed_off  # type: ignore[union-attr]
    with pytest.raises(IdentityDeskError, match="is not in the redaction queue"):
        store.reclaim(reviewer, [s[4]])
    # Cancelling a handed-off entry would be a lie: the admin may send it.
    with pytest.raises(IdentityDeskError, match=f"cannot cancel session {s[1]}: it is queued "
                                                "and handed off to an admin"):
        store.cancel(reviewer, [s[1]])

    stats = make_engine(reviewer, server).run(max_time=20)
    assert stats.requests == 1 and stats.redacted == 1
    assert posts(server) == [(s[0], exported_key)]
    assert dict(server.redact_effects) == {s[0]: 1}
    assert store.get_entry(reviewer, s[1]).awaits_admin  # type: ignore[union-attr]
    with pytest.raises(IdentityDeskError, match=f"cannot take back session {s[0]}: it was not"):
        store.reclaim(reviewer, [s[0]])


def test_an_engine_loaded_before_the_export_does_not_send(
        vaults: tuple[Vault, Vault], server: FakeStripe, reports: list[dict[str, Any]]) -> None:
    """The window's engine read the queue, then ``redact export`` ran in another process: the
    mark is re-checked in the transaction that would commit ``sending``."""
    reviewer, _admin = vaults
    s = sessions_of(reports)[:2]
    store.queue_sessions(reviewer, s)
    engine = make_engine(reviewer, server)
    engine.reload()
    assert len(store.hand_off(reviewer)) == 2
    for _ in range(20):  # bounded: the looks finish in a few pumps
        engine.pump(0.05)
        if not engine.in_flight and all(e.polls for e in store.list_entries(reviewer)):
            break
    engine.finish()
    assert not posts(server) and not server.redact_effects and engine.active() == []
    assert all(e.awaits_admin and e.polls == 1 for e in store.list_entries(reviewer))


def test_an_export_that_cannot_be_written_hands_nothing_off(
        vaults: tuple[Vault, Vault], reports: list[dict[str, Any]], tmp_path: Path) -> None:
    reviewer, admin = vaults
    store.queue_sessions(reviewer, sessions_of(reports)[:2])
    with pytest.raises(BundleError):
        export_pending(reviewer, tmp_path / "q.age", ["age1notakey"])
    assert not any(e.handed_off for e in store.list_entries(reviewer))
    assert not (tmp_path / "q.age").exists()
    assert export_pending(reviewer, tmp_path / "q.age", [public_key(admin)]) == 2


def test_entries_stored_before_the_flag_read_as_not_handed_off() -> None:
    old = {"session": "vs_old0001", "state": "sending", "idempotency_key": "idesk-k",
           "queued_at": 1.0, "updated_at": 2.0, "maybe_sent": True}
    entry = OutboxEntry.from_json(orjson.dumps(old))
    assert not entry.handed_off and not entry.awaits_admin
    assert entry.public()["handed_off"] is False and entry.public()["handed_off_at"] is None


def test_cli_export_list_sync_reclaim(vaults: tuple[Vault, Vault], server: FakeStripe,
                                      reports: list[dict[str, Any]], tmp_path: Path) -> None:
    reviewer, admin = vaults
    s = sessions_of(reports)[:2]
    store.queue_sessions(reviewer, s)
    recipient, path = public_key(admin), reviewer.path
    reviewer.lock()
    env, pp = isolated_env(tmp_path / "cli"), write_passphrase(tmp_path / "pp.txt")

    def run(*args: str) -> Any:
        result = cli(*args, "--api-base", server.base_url, env=env, vault=path,
                     passphrase_file=pp)
        return result

    out = tmp_path / "q.age"
    result = run("redact", "export", "--out", str(out), "--recipient", recipient)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"exported 2 pending redaction request(s) to {out}"
    assert "handed off" in result.stderr and "redact reclaim" in result.stderr

    listed = [orjson.loads(x) for x in run("redact", "list", "--json").stdout.splitlines()]
    assert [(e["verification_session"], e["state"], e["handed_off"]) for e in listed] == [
        (x, "queued", True) for x in s]
    assert all(e["handed_off_at"].endswith("Z") for e in listed)
    assert f"{s[0]}  queued (handed off)  attempts 0" in run("redact", "list").stdout

    result = run("sync", "--once")
    assert result.returncode == 0, result.stderr
    assert "0 waiting to send, 2 handed off to an admin" in result.stdout
    assert not posts(server) and not server.redact_effects

    result = run("redact", "reclaim", s[0])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"took back {s[0]} (queued)"
    assert one_error_line(run("redact", "reclaim", s[0])) == (
        f"identity-desk: error: cannot take back session {s[0]}: it was not handed off")
    result = run("sync", "--once")
    assert result.returncode == 0, result.stderr
    assert dict(server.redact_effects) == {s[0]: 1}
    assert "redact reclaim" in run("redact", "reclaim", "--help").stdout

    # Without a key, a queue that waits only on the admin is nothing to do, not an error.
    vault = Vault.open(path, PASSPHRASE)
    try:
        store.mutate(vault, [(s[0], lambda e: e.evolve(state=OutboxState.REDACTED))])
        vault.set_secret(API_KEY_SECRET, None)
    finally:
        vault.lock()
    result = run("sync")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("nothing to send: 1 request(s) are handed off")
