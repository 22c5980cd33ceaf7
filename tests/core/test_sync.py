"""The sync engine against the local fake Stripe server (real HTTP, the real ``stripe`` client,
a real vault): every queued session ends redacted with exactly one effect on the server, under
500s (stored and replayed, or retryable), lost responses, dropped connections, 409s, 429s and a
server rate limit; refusals end ``failed`` with Stripe's message; auth errors pause the queue;
local copies are redacted and stay redacted on re-import and re-fetch."""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from identity_desktop.desk import Desk
from identity_desktop.index import RedactionState
from identity_desktop.outbox import store
from identity_desktop.outbox.pacing import RateLimiter, backoff, server_rate_for_key
from identity_desktop.outbox.store import OutboxState
from identity_desktop.outbox.sync import SyncEvent, SyncOptions
from identity_desktop.report import REDACTED
from identity_desktop.stripe_api.client import build_client
from identity_desktop.vault import Vault
from identity_desktop.vault.reports import get_report, reports_for_session
from tests.conftest import PASSPHRASE
from tests.core._outbox_support import (
    KEY,
    NO_REDACT_KEY,
    build_reports,
    make_engine,
    make_vault,
    sessions_of,
)
from tests.core._support import one_error_line, write_reports
from tests.fake_stripe import FakeStripe, FaultKind

REDACT = "*/redact"
SESSION_GET = "/v1/identity/verification_sessions/*"


@pytest.fixture
def server() -> Iterator[FakeStripe]:
    with FakeStripe(api_keys={KEY}, no_redact_keys={NO_REDACT_KEY}) as fake:
        yield fake


@pytest.fixture
def reports() -> list[dict[str, Any]]:
    return build_reports(24, pairs=4)


@pytest.fixture
def vault(vault_path: Path, reports: list[dict[str, Any]], server: FakeStripe
          ) -> Iterator[Vault]:
    server.add_reports(reports)
    with make_vault(vault_path, reports) as v:
        yield v


def redact_keys(server: FakeStripe) -> dict[str, set[str]]:
    """Session -> the idempotency keys its redact requests carried."""
    keys: dict[str, set[str]] = defaultdict(set)
    for r in server.requests:
        if r.method == "POST" and r.path.endswith("/redact"):
            keys[r.path.split("/")[-2]].add(r.idempotency_key or "")
    return keys


def assert_redacted_once(vault: Vault, server: FakeStripe, sessions: list[str]) -> None:
    entries = {e.session: e for e in store.list_entries(vault)}
    assert {s: entries[s].state for s in sessions} == dict.fromkeys(sessions,
                                                                    OutboxState.REDACTED)
    assert {s: server.redact_effects[s] for s in sessions} == dict.fromkeys(sessions, 1)
    keys = redact_keys(server)
    for s in sessions:
        # One key per entry, reused for every attempt; a new one only after a proven no-op.
        assert len(keys[s]) == 1 + entries[s].key_rotations
        assert entries[s].idempotency_key in keys[s]
        for report in reports_for_session(vault, s):
            assert report["document"]["first_name"] == REDACTED


def test_sync_redacts_each_session_once_and_the_local_copies(
        vault: Vault, server: FakeStripe, reports: list[dict[str, Any]]) -> None:
    sessions = sessions_of(reports)
    store.queue_reports(vault, [r["id"] for r in reports])
    desk = Desk(vault)
    events: list[SyncEvent] = []
    engine = make_engine(vault, server, on_event=events.append)
    stats = engine.run(max_time=30)
    assert (stats.requests, stats.accepted, stats.redacted, stats.failed) == (24, 24, 24, 0)
    assert_redacted_once(vault, server, sessions)
    assert all(len(keys) == 1 for keys in redact_keys(server).values())
    # The events carry the locally redacted summaries: the window's index follows them.
    summaries = [s for ev in events for s in ev.changed_summaries]
    assert len(summaries) == len(reports)
    desk.apply_changes(summaries)
    desk.refresh_redaction_states()
    assert {desk.index.redaction_state(p) for p in range(len(reports))} == {
        RedactionState.REDACTED}
    # Every transition was reported in order: queued -> sending -> processing -> redacted.
    seen: dict[str, list[str]] = defaultdict(list)
    for ev in events:
        for e in ev.entries:
            if not seen[e.session] or seen[e.session][-1] != e.state:
                seen[e.session].append(str(e.state))
    assert {tuple(v) for v in seen.values()} == {("sending", "processing", "redacted")}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_faults_never_redact_twice_nor_lose_a_session(
        vault: Vault, server: FakeStripe, reports: list[dict[str, Any]], seed: int) -> None:
    sessions = sessions_of(reports)
    server.set_rate_limit(60, burst=4)
    for kind, times in ((FaultKind.SERVER_ERROR, 4), (FaultKind.DROP_AFTER, 4),
                        (FaultKind.SERVER_ERROR_RETRY, 2), (FaultKind.DROP_BEFORE, 2),
                        (FaultKind.LOCK_TIMEOUT, 2), (FaultKind.RATE_LIMIT, 3)):
        server.inject(kind, method="POST", path=REDACT, times=times)
    server.inject(FaultKind.DROP_AFTER, method="GET", path=SESSION_GET, times=2)
    server.inject(FaultKind.SERVER_ERROR, method="GET", path=SESSION_GET, times=2)
    # Then random faults of every kind (stored 500s included) on a fifth of the requests.
    server.faults.set_random(0.2, seed=seed, kinds=[*FaultKind.__members__.values()][:6])
    store.queue_sessions(vault, sessions)
    engine = make_engine(vault, server, rate=120, rng=random.Random(seed))
    stats = engine.run(max_time=60)
    assert stats.failed == 0 and stats.paused is None
    assert stats.retries > 0 and stats.throttled > 0
    assert_redacted_once(vault, server, sessions)


def test_a_replayed_500_spends_the_key_then_one_new_key_redacts(
        vault: Vault, server: FakeStripe, reports: list[dict[str, Any]]) -> None:
    s = sessions_of(reports)[0]
    # Stripe stores a 500 for the key and replays it: the key can never succeed.
    server.inject(FaultKind.SERVER_ERROR, method="POST", path=f"*/{s}/redact")
    store.queue_sessions(vault, [s])
    old_key = store.get_entry(vault, s).idempotency_key  # type: ignore[union-attr]
    make_engine(vault, server).run(max_time=20)
    entry = store.get_entry(vault, s)
    assert entry is not None and entry.state is OutboxState.REDACTED
    assert entry.key_rotations == 1 and entry.idempotency_key != old_key
    posts = [r.idempotency_key for r in server.requests_to("POST", f"/v1/identity/"
                                                           f"verification_sessions/{s}/redact")]
    # 500, its replay, then the new key, with a look at the session before the new key.
    assert posts == [old_key, old_key, entry.idempotency_key]
    assert server.redact_effects[s] == 1


def test_lost_response_and_crash_while_sending_resend_the_same_key(
        vault: Vault, server: FakeStripe, reports: list[dict[str, Any]]) -> None:
    s = sessions_of(reports)[:3]
    store.queue_sessions(vault, s)
    # As if a run had committed "sending", sent the request (Stripe acted) and died.
    entry = store.get_entry(vault, s[0])
    assert entry is not None
    store.mutate(vault, [(s[0], lambda e: e.evolve(state=OutboxState.SENDING, maybe_sent=True,
                                                   attempts=1))])
    client = build_client(KEY, server.base_url)
    client.v1.identity.verification_sessions.redact(
        s[0], options={"idempotency_key": entry.idempotency_key})
    server.inject(FaultKind.DROP_AFTER, method="POST", path=f"*/{s[1]}/redact", times=3)
    make_engine(vault, server).run(max_time=20)
    assert_redacted_once(vault, server, s)
    assert {k: len(v) for k, v in redact_keys(server).items()} == dict.fromkeys(s, 1)
    assert store.get_entry(vault, s[1]).attempts == 4  # type: ignore[union-attr]


def test_refusals_fail_with_stripes_message_and_others_go_on(
        vault: Vault, server: FakeStripe, reports: list[dict[str, Any]]) -> None:
    s = sessions_of(reports)[:5]
    server.set_session_status(s[0], "processing")
    server.set_session_status(s[1], "canceled")
    unknown = "vs_1FakeNoSuchSession0001"
    # Someone else redacted s[2] from the dashboard: our 400 is not a failure, it is done.
    build_client(KEY, server.base_url).v1.identity.verification_sessions.redact(s[2])
    server.set_session_status(s[2], "canceled")
    store.queue_sessions(vault, [*s, unknown])
    stats = make_engine(vault, server).run(max_time=20)
    entries = {e.session: e for e in store.list_entries(vault)}
    assert entries[s[0]].state is OutboxState.FAILED
    assert entries[s[0]].error == (
        "This VerificationSession has status `processing` and cannot be redacted. Only "
        "VerificationSessions with status `requires_input` or `verified` can be redacted.")
    assert entries[s[1]].state is OutboxState.FAILED and "`canceled`" in str(entries[s[1]].error)
    assert entries[unknown].state is OutboxState.FAILED
    assert entries[unknown].error == f"No such verification_session: '{unknown}'"
    assert [entries[x].state for x in s[2:]] == [OutboxState.REDACTED] * 3
    assert stats.failed == 3
    assert server.redact_effects[s[0]] == server.redact_effects[s[1]] == 0
    assert server.redact_effects[s[2]] == 1  # the dashboard's, not ours
    # A failed entry can be retried (with a new key) once the session is redactable.
    server.set_session_status(s[0], "verified")
    store.retry(vault, [s[0]])
    make_engine(vault, server).run(max_time=20)
    assert store.get_entry(vault, s[0]).state is OutboxState.REDACTED  # type: ignore[union-attr]
    assert server.redact_effects[s[0]] == 1


@pytest.mark.parametrize(("key", "words"), [
    ("sk_test_51WrongKeyForOutbox9Aa", "Stripe rejected the API key (authentication failed)"),
    (NO_REDACT_KEY, "the API key lacks permission for redacting verification sessions"),
])
def test_auth_errors_pause_the_whole_queue(vault: Vault, server: FakeStripe,
                                           reports: list[dict[str, Any]], key: str,
                                           words: str) -> None:
    s = sessions_of(reports)[:6]
    store.queue_sessions(vault, s)
    engine = make_engine(vault, server, key=key, workers=2)
    stats = engine.run(max_time=20)
    assert stats.paused is not None and stats.paused.startswith(words)
    assert stats.paused.endswith("the redaction queue is paused")
    # Nothing reached Stripe's redaction, nothing more was tried after the pause, and the
    # entries are back to queued: still cancellable.
    assert sum(server.redact_effects.values()) == 0
    assert len(server.requests_to("POST", f"/v1/identity/verification_sessions/{s[5]}/"
                                          "redact")) == 0
    entries = store.list_entries(vault)
    assert {e.state for e in entries} == {OutboxState.QUEUED}
    assert all(e.cancellable for e in entries)


def test_transient_backoff_is_stored_and_respected(
        vault: Vault, server: FakeStripe, reports: list[dict[str, Any]]) -> None:
    s = sessions_of(reports)[0]
    store.queue_sessions(vault, [s])
    server.inject(FaultKind.LOCK_TIMEOUT, method="POST", path=REDACT)
    slow = SyncOptions(backoff_base=600, backoff_cap=600, poll_interval=0.01)
    make_engine(vault, server, options=slow, rng=random.Random(5)).run(once=True)
    entry = store.get_entry(vault, s)
    assert entry is not None and entry.state is OutboxState.SENDING and entry.attempts == 1
    assert entry.error == "Stripe answered HTTP 409 while redacting a session"
    assert entry.next_attempt_at > time.time() + 1
    # A new run does not send it before its time...
    make_engine(vault, server, options=slow).run(max_time=1)
    assert store.get_entry(vault, s).attempts == 1  # type: ignore[union-attr]
    # ...and sends it (same key) once that time has come.
    shift = entry.next_attempt_at + 1 - time.time()
    make_engine(vault, server, clock=lambda: time.time() + shift, options=slow).run(once=True)
    entry2 = store.get_entry(vault, s)
    assert entry2 is not None and entry2.state is OutboxState.PROCESSING
    assert redact_keys(server)[s] == {entry.idempotency_key}


def test_cancelled_meanwhile_is_not_sent(vault: Vault, server: FakeStripe,
                                         reports: list[dict[str, Any]]) -> None:
    s = sessions_of(reports)[:2]
    store.queue_sessions(vault, s)
    engine = make_engine(vault, server)
    engine.reload()
    store.cancel(vault, [s[0]])  # e.g. from the window, after the engine read the queue
    while engine.active() and engine.stats.redacted < 1:
        engine.pump(0.2)
    engine.finish()
    assert server.redact_effects[s[0]] == 0
    assert store.get_entry(vault, s[0]).state is OutboxState.CANCELLED  # type: ignore[union-attr]


def test_cli_sync_once_then_sync_and_redacted_stays_redacted(
        tmp_path: Path, server: FakeStripe, reports: list[dict[str, Any]],
        vault: Vault, run_cli: Any, inputs_dir: Path) -> None:
    ids = [r["id"] for r in reports[:6]]
    sessions = sessions_of(reports[:6])
    vault.lock()
    assert run_cli("redact", "queue", *ids).returncode == 0
    fast = ("--api-base", server.base_url, "--poll-interval", "0.01", "--retry-base", "0.01")
    result = run_cli("sync", "--once", *fast)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ("sync: 6 redact request(s), 0 redacted now; queue: 0 "
                                     "waiting to send, 6 processing at Stripe, 0 redacted, "
                                     "0 failed")
    assert "run 'identity-desk sync' again later" in result.stderr
    result = run_cli("sync", *fast)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("0 processing at Stripe, 6 redacted, 0 failed")
    assert all(server.redact_effects[s] == 1 for s in sessions)
    listed = [orjson.loads(x) for x in run_cli("list", "--json").stdout.splitlines()]
    assert {r["redaction"] for r in listed if r["verification_session"] in sessions} == {
        "redacted"}
    assert {r["name"] for r in listed if r["verification_session"] in sessions} == {REDACTED}

    # Re-importing the original, unredacted copies does not bring the data back...
    original = write_reports(inputs_dir / "again.json", reports, "list")
    assert run_cli("import", str(original)).returncode == 0
    # ...nor does fetching them from a server that still has them unredacted.
    with FakeStripe(api_keys={KEY}, reports=reports) as other:
        result = run_cli("fetch", "--api-base", other.base_url)
        assert result.returncode == 0, result.stderr
    shown = orjson.loads(run_cli("show", ids[0], "--json").stdout)
    assert shown["document"]["first_name"] == shown["document"]["last_name"] == REDACTED
    reopened = Vault.open(vault.path, PASSPHRASE)
    try:
        for rid in ids:
            report = get_report(reopened, rid)
            assert report is not None and report["document"]["first_name"] == REDACTED
    finally:
        reopened.lock()
    # The queue is done: a new sync has nothing to do.
    assert run_cli("sync", *fast).stdout.startswith("nothing to sync")


def test_cli_sync_auth_failure_is_one_line(server: FakeStripe, vault: Vault,
                                           reports: list[dict[str, Any]], run_cli: Any) -> None:
    store.queue_sessions(vault, sessions_of(reports)[:2])
    vault.lock()
    result = run_cli("sync", "--api-base", server.base_url,
                     env={"STRIPE_API_KEY": "rk_test_51NotKnownToTheServer7"})
    line = one_error_line(result)
    assert line.startswith("identity-desk: error: Stripe rejected the API key (authentication "
                           "failed)")
    assert "STRIPE_API_KEY" in line and line.endswith("; the redaction queue is paused")


# ---- pacing ----------------------------------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_spaces_starts_and_slows_on_429() -> None:
    clock = Clock()
    limiter = RateLimiter(20, burst=2, clock=clock)
    waits = [limiter.reserve() for _ in range(6)]
    assert waits == pytest.approx([0.0, 0.0, 0.05, 0.10, 0.15, 0.20])  # burst, then 1/20 s
    clock.now += 10  # idle: at most `burst` slots are banked
    assert [limiter.reserve() for _ in range(3)] == pytest.approx([0.0, 0.0, 0.05])
    limiter.throttle(pause=1.0)
    limiter.throttle(pause=1.0)  # the other requests in flight: the same signal, one cut
    assert limiter.rate == pytest.approx(16)
    assert limiter.reserve() >= 1.0  # everyone holds back after a 429
    for _ in range(100):
        limiter.success()
    assert limiter.rate == 20  # won back, never above the ceiling
    assert server_rate_for_key("rk_live_x") == 100 and server_rate_for_key(KEY) == 25
    assert RateLimiter.for_key(KEY).rate == pytest.approx(23)


def test_backoff_is_exponential_with_full_jitter() -> None:
    rng = random.Random(3)
    for attempt, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0), (8, 100.0), (60, 100.0)):
        draws = [backoff(attempt, base=1.0, cap=100.0, rng=rng) for _ in range(200)]
        assert min(draws) >= 0 and max(draws) <= ceiling
        assert max(draws) > ceiling * 0.8  # the whole range is used

