"""Redaction in the window, against the local fake Stripe server (real HTTP, real vault, Qt
offscreen): the confirmation before queueing, the queue pane following each state to
``redacted``, retry and cancel, automatic sync when the (test-controlled) network comes back,
and the pause on a refused key. Nothing sleeps: every wait is a bounded qtbot wait."""

from __future__ import annotations

from collections import defaultdict

import pytest
from PySide6.QtCore import QItemSelectionModel
from PySide6.QtWidgets import QMessageBox

from identity_desktop.index import F, RedactionState, ReportIndex
from identity_desktop.outbox.store import OutboxEntry, OutboxState
from identity_desktop.outbox.sync import SyncOptions
from identity_desktop.report import REDACTED
from identity_desktop.ui.extensions.redaction import RedactionFeature, install
from identity_desktop.ui.models.queue_model import QueueColumn, QueueModel, StateRole
from identity_desktop.ui.network import Reachability
from identity_desktop.ui.sync_controller import SyncStatus
from tests.fake_stripe import FakeStripe
from tests.ui.conftest import STRIPE_KEY as KEY
from tests.ui.conftest import WAIT, connect_to_stripe


@pytest.fixture
def feature(unlocked, server: FakeStripe, qtbot) -> RedactionFeature:
    window = unlocked
    connect_to_stripe(window, qtbot, server)
    feature = install(window, use_system_network=False)
    # Nothing queued yet: no probe was made, and unknown reachability is not offline.
    assert feature.monitor.state is Reachability.UNKNOWN and not feature.monitor.active
    assert feature.sync_action.isEnabled() and not server.requests
    feature.controller.options = SyncOptions(poll_interval=0.02, poll_cap=0.1,
                                             backoff_base=0.02, backoff_cap=0.2)
    qtbot.waitUntil(lambda: feature.pane.model.rowCount() == 0, timeout=WAIT)
    return feature


def select_rows(window, rows: list[int]) -> list[int]:
    """Select list rows; returns their index positions."""
    view = window.list_pane.view
    selection = view.selectionModel()
    selection.clearSelection()
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    for row in rows:
        selection.select(window.list_pane.model.index(row, 0), flags)
    return window.list_pane.selected_positions()


def answer(box: QMessageBox, text: str) -> None:
    (button,) = [b for b in box.buttons() if b.text().replace("&", "") == text]
    button.click()


def queue_rows(feature: RedactionFeature, qtbot, rows: list[int]) -> list[str]:
    positions = select_rows(feature.window, rows)
    index = index_of(feature)
    sessions = list(dict.fromkeys(index.summary(p)[F["session"]] for p in positions))
    box = feature.request_for_selection()
    assert box is not None
    before = feature.pane.model.rowCount()
    answer(box, "Request redaction")
    qtbot.waitUntil(lambda: feature.pane.model.rowCount() == before + len(sessions),
                    timeout=WAIT)
    return sessions


def index_of(feature: RedactionFeature) -> ReportIndex:
    index = feature.session.index
    assert index is not None
    return index


def states(model: QueueModel) -> dict[str, str]:
    return {model.entry(r).session: model.entry(r).state for r in range(model.rowCount())}


def test_request_redaction_confirms_then_queues_one_entry_per_session(
        feature: RedactionFeature, qtbot, server: FakeStripe, qtmodeltester) -> None:
    window, index = feature.window, index_of(feature)
    assert not feature.request_action.isEnabled() or window.list_pane.selected_positions()
    positions = select_rows(window, [0, 1, 2])
    assert feature.request_action.isEnabled()
    sessions = list(dict.fromkeys(index.summary(p)[F["session"]] for p in positions))

    box = feature.request_for_selection()
    assert box is not None and box.isVisible()
    count = len(sessions)
    assert box.text() == f"Request redaction of {count} verification sessions?"
    assert "irreversible" in box.informativeText()
    assert "3 selected reports" in box.informativeText()
    answer(box, "Cancel")  # the default and the escape button: nothing is queued
    qtbot.waitUntil(lambda: not box.isVisible(), timeout=WAIT)
    assert feature.pane.model.rowCount() == 0

    queued = queue_rows(feature, qtbot, [0, 1, 2])
    assert queued == sessions
    assert set(states(feature.pane.model).values()) == {OutboxState.QUEUED}
    assert {index.redaction_state(p) for p in positions} == {RedactionState.QUEUED}
    assert feature.status_label.text().startswith(f"Redactions: {count} queued")
    qtmodeltester.check(feature.pane.model)

    # Asking again for the same reports makes no second entry (and no dialog).
    select_rows(window, [0, 1, 2])
    assert feature.request_for_selection() is None
    assert feature.pane.model.rowCount() == count

    # The detail pane's button queues the report on show.
    window.list_pane.select_row(5)
    qtbot.waitUntil(lambda: window.detail_pane.position is not None
                    and window.detail_pane.position not in positions, timeout=WAIT)
    button = feature.detail_button
    assert button is not None and button.isVisible() and feature.detail_action.isEnabled()
    button.click()
    box = feature.confirm_box
    assert box is not None and box.text() == "Request redaction of 1 verification session?"
    answer(box, "Request redaction")
    qtbot.waitUntil(lambda: feature.pane.model.rowCount() == count + 1, timeout=WAIT)
    assert sum(server.redact_effects.values()) == 0  # queueing sends nothing


def test_queue_pane_follows_each_state_to_redacted(feature: RedactionFeature, qtbot,
                                                    server: FakeStripe) -> None:
    window, model = feature.window, feature.pane.model
    sessions = queue_rows(feature, qtbot, [0, 1, 2, 3])
    seen: dict[str, list[str]] = defaultdict(list)

    def record(*_args: object) -> None:
        for row in range(model.rowCount()):
            entry: OutboxEntry = model.entry(row)
            if not seen[entry.session] or seen[entry.session][-1] != entry.state:
                seen[entry.session].append(str(entry.state))
            assert model.index(row, QueueColumn.STATE).data(StateRole) == entry.state

    record()
    model.dataChanged.connect(record)
    feature.sync_action.trigger()
    qtbot.waitUntil(lambda: model.counts()[OutboxState.REDACTED] == len(sessions),
                    timeout=WAIT)
    assert {tuple(v) for v in seen.values()} == {("queued", "sending", "processing",
                                                   "redacted")}
    assert {server.redact_effects[s] for s in sessions} == {1}
    assert feature.status_label.text().startswith(f"Redactions: {len(sessions)} redacted")
    # The list shows them redacted and the detail pane shows the redacted copy.
    index = index_of(feature)
    positions = [p for p in range(len(index)) if index.summary(p)[F["session"]] in sessions]
    assert {index.redaction_state(p) for p in positions} == {RedactionState.REDACTED}
    window.list_pane.select_position(positions[0])
    qtbot.waitUntil(lambda: window.detail_pane.view is not None
                    and window.detail_pane.position == positions[0], timeout=WAIT)
    assert window.detail_pane.field_text("name") == REDACTED
    qtbot.waitUntil(lambda: not feature.controller.running, timeout=WAIT)


def test_retry_a_failed_entry_and_cancel_a_queued_one(feature: RedactionFeature, qtbot,
                                                      server: FakeStripe) -> None:
    pane, model = feature.pane, feature.pane.model
    sessions = queue_rows(feature, qtbot, [0, 1])
    server.set_session_status(sessions[0], "processing")  # Stripe refuses to redact it now
    with qtbot.waitSignal(feature.controller.sig_finished, timeout=WAIT):
        feature.sync_now()
    assert states(model) == {sessions[0]: OutboxState.FAILED,
                             sessions[1]: OutboxState.REDACTED}
    row = model.row_of(sessions[0])
    assert row is not None
    error = model.index(row, QueueColumn.ERROR).data()
    assert error.startswith("This VerificationSession has status `processing` and cannot be "
                            "redacted.")
    assert feature.status_label.text().startswith("Redactions: 1 redacted, 1 failed")

    pane.select_sessions([sessions[0]])
    assert pane.retry_button.isEnabled() and not pane.cancel_button.isEnabled()
    server.set_session_status(sessions[0], "verified")
    pane.retry_button.click()
    qtbot.waitUntil(lambda: states(model)[sessions[0]] == OutboxState.QUEUED, timeout=WAIT)
    with qtbot.waitSignal(feature.controller.sig_finished, timeout=WAIT):
        feature.sync_now()
    assert states(model)[sessions[0]] == OutboxState.REDACTED
    assert server.redact_effects[sessions[0]] == 1

    (third,) = queue_rows(feature, qtbot, [2])
    pane.select_sessions([third])
    assert pane.cancel_button.isEnabled() and not pane.retry_button.isEnabled()
    pane.cancel_button.click()
    qtbot.waitUntil(lambda: states(model)[third] == OutboxState.CANCELLED, timeout=WAIT)
    index = index_of(feature)
    pos = next(p for p in range(len(index)) if index.summary(p)[F["session"]] == third)
    assert index.redaction_state(pos) is RedactionState.NONE
    assert server.redact_effects[third] == 0


def test_auto_sync_starts_when_the_network_comes_back(feature: RedactionFeature, qtbot,
                                                      server: FakeStripe) -> None:
    monitor, model = feature.monitor, feature.pane.model
    with qtbot.waitSignal(monitor.sig_changed, timeout=WAIT):
        monitor.set_hint(Reachability.OFFLINE)
    assert monitor.state is Reachability.OFFLINE
    assert feature.status_label.text().endswith("offline")
    sessions = queue_rows(feature, qtbot, [0, 1, 2])
    assert not feature.controller.running

    # Working offline: the network coming back starts nothing.
    feature.offline_action.setChecked(True)
    assert not feature.sync_action.isEnabled()
    monitor.set_hint(Reachability.ONLINE)
    qtbot.wait(50)
    assert not feature.controller.running and monitor.state is Reachability.OFFLINE
    with qtbot.waitSignal(feature.controller.sig_finished, timeout=WAIT):
        feature.offline_action.setChecked(False)  # back online by choice: that syncs too
    assert set(states(model).values()) == {OutboxState.REDACTED}

    # The network drops for real (the server is gone), then comes back.
    more = queue_rows(feature, qtbot, [3, 4])
    monitor.set_hint(Reachability.OFFLINE)
    server.stop()
    with qtbot.waitSignal(monitor.sig_probed, timeout=WAIT) as probed:
        monitor.set_hint(Reachability.ONLINE)  # the system says online, the probe says no
    assert probed.args == [False] and monitor.state is Reachability.OFFLINE
    assert not feature.controller.running
    server.start()  # same port
    with qtbot.waitSignal(feature.controller.sig_finished, timeout=WAIT) as blocker:
        monitor.set_hint(Reachability.ONLINE)
    status: SyncStatus = blocker.args[0]
    assert status.message == "Sync finished" and monitor.state is Reachability.ONLINE
    assert all(states(model)[s] == OutboxState.REDACTED for s in sessions + more)
    assert {server.redact_effects[s] for s in sessions + more} == {1}


def test_a_refused_key_pauses_the_queue_with_a_message(feature: RedactionFeature, qtbot,
                                                       server: FakeStripe) -> None:
    server.api_keys.discard(KEY)
    sessions = queue_rows(feature, qtbot, [0, 1])
    with qtbot.waitSignal(feature.controller.sig_finished, timeout=WAIT) as blocker:
        feature.sync_now()
    status: SyncStatus = blocker.args[0]
    assert status.paused and "rejected the API key" in status.message
    qtbot.waitUntil(lambda: feature.window.findChild(QMessageBox, "syncPausedBox")
                    is not None, timeout=WAIT)
    assert set(states(feature.pane.model).values()) == {OutboxState.QUEUED}
    assert sum(server.redact_effects[s] for s in sessions) == 0


def test_locking_mid_sync_loses_nothing(feature: RedactionFeature, qtbot, server: FakeStripe,
                                        unlocked) -> None:
    from tests.ui.conftest import unlock

    server.latency = 0.05
    sessions = queue_rows(feature, qtbot, list(range(8)))
    feature.sync_now()
    qtbot.waitUntil(lambda: sum(server.redact_effects.values()) >= 1, timeout=WAIT)
    feature.session.lock()
    assert not feature.controller.running and feature.pane.model.rowCount() == 0
    unlock(unlocked, qtbot)
    qtbot.waitUntil(lambda: feature.pane.model.rowCount() == len(sessions), timeout=WAIT)
    with qtbot.waitSignal(feature.controller.sig_finished, timeout=WAIT * 2):
        feature.sync_now()
    assert set(states(feature.pane.model).values()) == {OutboxState.REDACTED}
    assert {server.redact_effects[s] for s in sessions} == {1}


def test_locking_closes_an_open_redaction_confirmation(feature: RedactionFeature, qtbot,
                                                       server: FakeStripe) -> None:
    from tests.ui.conftest import gone, unlock

    window, model = feature.window, feature.pane.model
    select_rows(window, [0, 1])
    box = feature.request_for_selection()
    assert box is not None and box.isVisible()
    (confirm,) = [b for b in box.buttons() if b.text().replace("&", "") == "Request redaction"]
    window.lock_action.trigger()  # Ctrl+L; the idle lock goes through the same session.lock
    assert not box.isVisible() and feature.confirm_box is None  # closed with the vault
    confirm.click()  # a click that still reaches the closing box has no vault to act on
    qtbot.waitUntil(lambda: gone(box), timeout=WAIT)
    assert window.findChild(QMessageBox, "errorBox") is None

    with qtbot.waitSignal(feature.pane.sig_reloaded, timeout=WAIT):
        unlock(window, qtbot)
    assert model.rowCount() == 0  # nothing was queued
    assert sum(server.redact_effects.values()) == 0
