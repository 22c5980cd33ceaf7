"""The queue pane with entries handed off to an admin (``identity-desk redact export``), against
the local fake Stripe server: they read "Queued — handed off", cannot be cancelled, "Sync now"
sends none of them (and finishes), and once the admin's request is done a sync shows them
redacted. Without a key they start no sync on reconnect; Reclaim… takes them back after a
confirmation. Nothing sleeps: every wait is a bounded qtbot wait."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from identity_desktop.index import F, RedactionState
from identity_desktop.outbox import store
from identity_desktop.outbox.store import OutboxState
from identity_desktop.outbox.sync import SyncOptions
from identity_desktop.stripe_api.client import build_client
from identity_desktop.ui.extensions.redaction import RedactionFeature, install
from identity_desktop.ui.models.queue_model import QueueColumn
from identity_desktop.ui.network import Reachability
from identity_desktop.ui.sync_controller import SyncStatus
from tests.fake_stripe import FakeStripe
from tests.ui.conftest import STRIPE_KEY as KEY
from tests.ui.conftest import WAIT, connect_to_stripe, gone, on_vault


@pytest.fixture
def feature(unlocked, server: FakeStripe, qtbot) -> RedactionFeature:
    window = unlocked
    connect_to_stripe(window, qtbot, server)
    feature = install(window, use_system_network=False)
    # Looks at a handed-off session are spaced like polls: far apart here, so the second
    # "Sync now" below proves that each run looks once whatever the schedule says.
    feature.controller.options = SyncOptions(poll_interval=60, poll_cap=120,
                                             backoff_base=0.02, backoff_cap=0.2)
    return feature


FAST = SyncOptions(poll_interval=0.02, poll_cap=0.1, backoff_base=0.02, backoff_cap=0.2)


@pytest.fixture
def keyless(unlocked, server: FakeStripe) -> RedactionFeature:
    """A reviewer's window: Stripe is reachable but the vault holds no API key."""
    unlocked.context.api_base = server.base_url
    feature = install(unlocked, use_system_network=False)
    feature.controller.options = FAST
    return feature


def sessions_of_rows(window, rows: range) -> list[str]:
    index = window.session.index
    assert index is not None
    return list(dict.fromkeys(index.summary(p)[F["session"]] for p in rows))


def hand_off(feature: RedactionFeature, qtbot, sessions: list[str],
             own: list[str] | None = None) -> dict[str, str]:
    """Queue ``sessions`` and hand them off (as 'redact export' does), queue ``own`` after
    that (this laptop's to send), and show the queue; returns the handed-off keys."""
    def body(desk) -> dict[str, str]:
        store.queue_sessions(desk.vault, sessions)
        keys = {e.session: e.idempotency_key for e in store.hand_off(desk.vault)}
        store.queue_sessions(desk.vault, own or [])
        return keys

    keys = on_vault(feature.window, qtbot, body)
    assert isinstance(keys, dict) and set(keys) == set(sessions)
    with qtbot.waitSignal(feature.pane.sig_reloaded, timeout=WAIT):
        feature.pane.reload()
    return keys


def answer(box: QMessageBox, text: str) -> None:
    (button,) = [b for b in box.buttons() if b.text().replace("&", "") == text]
    button.click()


def test_handed_off_entries_show_as_such_and_are_not_sent(feature: RedactionFeature, qtbot,
                                                          server: FakeStripe) -> None:
    window, pane, model = feature.window, feature.pane, feature.pane.model
    index = window.session.index
    assert index is not None
    sessions = sessions_of_rows(window, range(3))
    keys = hand_off(feature, qtbot, sessions)

    def state_text(session: str, role=Qt.ItemDataRole.DisplayRole) -> str:
        row = model.row_of(session)
        assert row is not None
        return model.index(row, QueueColumn.STATE).data(role)

    assert {state_text(s) for s in sessions} == {"Queued — handed off"}
    assert "redact reclaim" in state_text(sessions[0], Qt.ItemDataRole.ToolTipRole)
    pane.select_sessions(sessions)
    assert not pane.cancel_button.isEnabled()  # the admin may send them: not ours to cancel

    # "Sync now" looks at the sessions, sends nothing, and finishes (it does not wait on them).
    with qtbot.waitSignal(feature.controller.sig_finished, timeout=WAIT):
        feature.sync_now()
    assert not any(r.method == "POST" for r in server.requests)
    assert not server.redact_effects
    assert {state_text(s) for s in sessions} == {"Queued — handed off"}
    looks = [r.path.rsplit("/", 1)[-1] for r in server.requests
             if r.method == "GET" and r.path.startswith("/v1/identity/verification_sessions/")]
    assert sorted(looks) == sorted(sessions)
    qtbot.waitUntil(lambda: not feature.controller.running, timeout=WAIT)

    # The admin's app sends them (with the exported keys) and Stripe finishes.
    admin = build_client(KEY, server.base_url)
    for s in sessions:
        admin.v1.identity.verification_sessions.redact(s, options={"idempotency_key": keys[s]})
        server.complete_redactions(s)
    with qtbot.waitSignal(feature.controller.sig_finished, timeout=WAIT):
        feature.sync_now()
    qtbot.waitUntil(lambda: model.counts()[OutboxState.REDACTED] == len(sessions), timeout=WAIT)
    assert {state_text(s) for s in sessions} == {"Redacted"}
    assert {server.redact_effects[s] for s in sessions} == {1}
    positions = [p for p in range(len(index)) if index.summary(p)[F["session"]] in sessions]
    assert {index.redaction_state(p) for p in positions} == {RedactionState.REDACTED}


def test_handed_off_entries_without_a_key_start_no_sync_on_reconnect(
        keyless: RedactionFeature, qtbot, server: FakeStripe) -> None:
    feature, window = keyless, keyless.window
    monitor, pane, notes = feature.monitor, feature.pane, []
    feature.controller.sig_finished.connect(lambda status: notes.append(status.message))
    handed = sessions_of_rows(window, range(3))
    hand_off(feature, qtbot, handed)
    assert pane.model.counts()[OutboxState.QUEUED] == len(handed)
    assert not monitor.active  # nothing for this laptop to send: no probing for it

    # Offline, then back: the return is noticed (a forced probe), and nothing starts.
    monitor.set_hint(Reachability.OFFLINE)
    with qtbot.waitSignal(monitor.sig_came_online, timeout=WAIT):
        monitor.set_hint(Reachability.ONLINE)
        monitor.probe_now(force=True)
    assert not feature.controller.running and notes == []
    assert "key" not in window.status.currentMessage()

    # "Sync now" says why there is nothing to do, without a "no key" alarm.
    with qtbot.waitSignal(feature.controller.sig_finished, timeout=WAIT) as blocker:
        assert feature.sync_now()
    status: SyncStatus = blocker.args[0]
    assert not status.paused and "no Stripe API key" not in status.message
    assert status.message.startswith(f"Nothing to send: {len(handed)} request(s) are handed "
                                     "off")
    assert window.findChild(QMessageBox, "syncPausedBox") is None
    assert not any(r.method == "POST" for r in server.requests)

    # An entry this laptop must send still syncs on reconnect, and still says there is no key.
    (own,) = sessions_of_rows(window, range(10, 11))
    on_vault(window, qtbot, lambda desk: store.queue_sessions(desk.vault, [own]))
    monitor.set_hint(Reachability.OFFLINE)
    with qtbot.waitSignal(pane.sig_reloaded, timeout=WAIT):
        pane.reload()
    assert monitor.active
    with qtbot.waitSignal(feature.controller.sig_finished, timeout=WAIT) as blocker:
        monitor.set_hint(Reachability.ONLINE)
    status = blocker.args[0]
    assert "no Stripe API key" in status.message
    assert "no Stripe API key" in window.status.currentMessage()
    assert not server.redact_effects


def test_reclaim_takes_back_handed_off_entries_after_a_confirmation(
        feature: RedactionFeature, qtbot, server: FakeStripe) -> None:
    window, pane, model = feature.window, feature.pane, feature.pane.model
    handed = sessions_of_rows(window, range(3))
    (own,) = sessions_of_rows(window, range(10, 11))
    keys = hand_off(feature, qtbot, handed, own=[own])
    assert not pane.reclaim_button.isEnabled()  # nothing selected
    pane.select_sessions([own])
    assert not pane.reclaim_button.isEnabled() and pane.reclaim_selected() is None

    # Two of the three handed-off entries (and the laptop's own one) are selected.
    taken = handed[:2]
    pane.select_sessions([*taken, own])
    assert pane.reclaim_button.isEnabled()
    pane.reclaim_button.click()
    box = pane.reclaim_box
    assert box is not None and box.isVisible()
    assert box.text() == "Take back 2 redaction requests handed off to another machine?"
    info = box.informativeText()
    assert "this laptop sends them itself" in info
    assert "Only do this if the other machine did not send them" in info
    assert box.defaultButton() is box.escapeButton()  # Cancel: reclaiming is deliberate
    answer(box, "Cancel")
    qtbot.waitUntil(lambda: not box.isVisible(), timeout=WAIT)
    assert all(model.entry(model.row_of(s)).handed_off for s in handed)

    pane.select_sessions([*taken, own])
    box = pane.reclaim_selected()
    assert box is not None
    with qtbot.waitSignal(pane.sig_reloaded, timeout=WAIT), \
            qtbot.waitSignal(pane.sig_message, timeout=WAIT) as note:
        answer(box, "Reclaim")
    assert note.args == ["Took back 2 redaction request(s): this laptop sends them at the "
                         "next sync"]
    for s in taken:
        row = model.row_of(s)
        assert row is not None
        assert model.index(row, QueueColumn.STATE).data() == "Queued"
        assert model.entry(row).idempotency_key == keys[s]  # the key it was exported with
    row = model.row_of(handed[2])
    assert row is not None
    assert model.index(row, QueueColumn.STATE).data() == "Queued — handed off"
    pane.select_sessions(taken)
    assert pane.cancel_button.isEnabled() and not pane.reclaim_button.isEnabled()
    assert not any(r.method == "POST" for r in server.requests)  # nothing sent by itself

    # The next sync sends the reclaimed two (with their keys) and the own one, not the third.
    feature.controller.options = FAST
    with qtbot.waitSignal(feature.controller.sig_finished, timeout=WAIT):
        feature.sync_now()
    posts = {r.path.split("/")[-2]: r.idempotency_key for r in server.requests
             if r.method == "POST"}
    assert set(posts) == {*taken, own}
    assert all(posts[s] == keys[s] for s in taken)
    assert {server.redact_effects[s] for s in (*taken, own)} == {1}
    assert server.redact_effects[handed[2]] == 0
    row = model.row_of(handed[2])
    assert row is not None and model.entry(row).awaits_admin


def test_locking_closes_an_open_reclaim_confirmation(keyless: RedactionFeature, qtbot) -> None:
    window, pane = keyless.window, keyless.pane
    handed = sessions_of_rows(window, range(2))
    hand_off(keyless, qtbot, handed)
    pane.select_sessions(handed)
    box = pane.reclaim_selected()
    assert box is not None and box.text().startswith("Take back 2 redaction requests")
    window.session.lock()
    qtbot.waitUntil(lambda: gone(box), timeout=WAIT)
    assert pane.reclaim_box is None and not pane.reclaim_button.isEnabled()
