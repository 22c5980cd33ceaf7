"""The fetch and API-key dialogs, driving the real stripe client against the local fake server
(real HTTP, real vault, Qt offscreen). Nothing sleeps: every wait is a bounded qtbot wait."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from identity_desktop.stripe_api.fetch import SENSITIVE_EXPANDS, FetchSummary
from identity_desktop.ui.dialogs.fetch_dialog import FetchDialog
from identity_desktop.ui.extensions.fetch import install
from tests.fake_stripe import FakeStripe, FaultKind, make_report
from tests.ui.conftest import REPORTS, WAIT, gone

KEY = "rk_test_51DialogTestsKeyWw2Ee4Rr6Tt"
LIST = "/v1/identity/verification_reports"
START = 1_780_000_000


@pytest.fixture
def server() -> Iterator[FakeStripe]:
    with FakeStripe(api_keys={KEY}) as fake:
        fake.add_reports([make_report(i, created=START + i * 60) for i in range(250)])
        yield fake


@pytest.fixture
def window(unlocked, server: FakeStripe):
    unlocked.context.api_base = server.base_url
    install(unlocked)
    return unlocked


def store_key_through_settings(window, qtbot) -> None:
    dialog = window.fetch_feature.open_settings()
    qtbot.waitUntil(lambda: "holds no Stripe API key" in dialog.status_label.text(),
                    timeout=WAIT)
    dialog.key_edit.setText("pk_test_notasecretkey")
    assert "publishable" in dialog.hint_label.text() and not dialog.save_button.isEnabled()
    dialog.key_edit.setText(KEY)
    assert dialog.hint_label.text() == "A test-mode key." and dialog.save_button.isEnabled()
    with qtbot.waitSignal(dialog.sig_changed, timeout=WAIT):
        dialog.save()
    assert dialog.key_edit.text() == ""  # the key does not stay in the widget
    assert "test-mode" in dialog.status_label.text() and KEY not in dialog.status_label.text()
    assert "rk_test_…" + KEY[-4:] in dialog.status_label.text()
    dialog.close()


def run_fetch(dialog: FetchDialog, qtbot) -> FetchSummary:
    with qtbot.waitSignal(dialog.sig_finished, timeout=WAIT) as blocker:
        dialog.start()
    summary = blocker.args[0]
    assert isinstance(summary, FetchSummary)
    return summary


def test_fetch_through_the_window_fills_the_list(
        window, server: FakeStripe, qtbot,
        all_written_files: Callable[[], Iterator[Path]]) -> None:
    store_key_through_settings(window, qtbot)
    dialog = window.fetch_feature.open_fetch()
    qtbot.waitUntil(lambda: dialog.has_key, timeout=WAIT)
    assert "test-mode" in dialog.key_label.text()
    summary = run_fetch(dialog, qtbot)
    assert summary.complete and summary.added == 250 and summary.pages == 3
    assert dialog.status.summary_label.text().startswith(
        "<b>Done.</b> Fetched 250 reports in 3 pages")
    assert dialog.close_button.isVisible() and not dialog.cancel_button.isVisible()
    qtbot.waitUntil(lambda: window.list_pane.model.rowCount() == REPORTS + 250, timeout=WAIT)

    again = run_fetch(dialog, qtbot)  # only what is new: one incremental page
    assert again.incremental and again.added == 0 and again.pages == 1

    ids = [r["id"] for r in server.store.reports.values()]
    needles = [KEY.encode()] + [i.encode() for i in ids]
    for path in all_written_files():
        data = path.read_bytes()
        assert not any(n in data for n in needles), path.name


def test_filters_reach_stripe_and_faults_are_retried(window, server: FakeStripe, qtbot,
                                                     monkeypatch) -> None:
    monkeypatch.setenv("STRIPE_API_KEY", KEY)
    waits: list[float] = []
    dialog = FetchDialog(window.session, api_base=server.base_url, parent=window,
                         sleeper=waits.append)
    dialog.open()
    qtbot.waitUntil(lambda: dialog.has_key, timeout=WAIT)
    assert dialog.key_label.text().startswith("Using STRIPE_API_KEY")
    dialog.created_from.check.setChecked(True)
    dialog.created_from.edit.setDateTime(dialog.created_from.edit.dateTime()
                                         .fromSecsSinceEpoch(START + 100 * 60))
    dialog.type_combo.setCurrentIndex(1)  # document
    dialog.client_ref_edit.setText("user_00101")
    for kind in (FaultKind.SERVER_ERROR_RETRY, FaultKind.RATE_LIMIT, FaultKind.DROP_BEFORE):
        server.inject(kind, method="GET", path=LIST)
    summary = run_fetch(dialog, qtbot)
    assert summary.complete and summary.added == 1 and summary.retries == 3
    params = dict(server.requests[-1].params)
    assert sorted(params.pop("expand")) == sorted(SENSITIVE_EXPANDS)
    assert params == {"limit": "100", "created": {"gte": str(START + 100 * 60)},
                      "type": "document", "client_reference_id": "user_00101"}
    assert len(waits) >= 3

    dialog.session_edit.setText("not-a-session")
    dialog.start()
    assert "session id" in dialog.status.error_label.text() and not dialog.running


def on_first_progress(dialog: FetchDialog, action: Callable[[], None]) -> list[str]:
    """Start a fetch and run ``action`` when the first page is in (labels seen are returned)."""
    seen: list[str] = []

    def first(_summary: FetchSummary) -> None:
        if not seen:
            seen.append(dialog.status.progress_label.text())
            action()

    dialog.start()
    assert dialog.worker is not None
    dialog.worker.sig_progress.connect(first)
    return seen


def test_cancel_then_resume(window, server: FakeStripe, qtbot, monkeypatch) -> None:
    monkeypatch.setenv("STRIPE_API_KEY", KEY)
    server.add_reports([make_report(i, created=START + i * 60) for i in range(250, 1000)])
    server.latency = 0.1  # ten pages: a cancel lands long before the end
    dialog = FetchDialog(window.session, api_base=server.base_url, parent=window)
    dialog.open()
    qtbot.waitUntil(lambda: dialog.has_key, timeout=WAIT)
    running: list[bool] = []

    def cancel() -> None:
        running.append(dialog.cancel_button.isVisible() and not dialog.filters_box.isEnabled())
        dialog.cancel()

    with qtbot.waitSignal(dialog.sig_finished, timeout=WAIT) as blocker:
        seen = on_first_progress(dialog, cancel)
    assert seen == ["Fetched 100 reports (1 pages)"] and running == [True]
    cut = blocker.args[0]
    assert cut.cancelled and 1 <= cut.pages < 10
    assert "Fetch stopped." in dialog.status.summary_label.text()
    server.latency = 0.0
    before = len(server.requests)
    rest = run_fetch(dialog, qtbot)
    assert rest.resumed and rest.complete and cut.added + rest.added == 1000
    assert "starting_after" in server.requests[before].params
    qtbot.waitUntil(lambda: window.list_pane.model.rowCount() == REPORTS + 1000, timeout=WAIT)


def test_bad_key_is_shown_clearly(window, server: FakeStripe, qtbot, monkeypatch) -> None:
    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_NotTheKeyAtAll77")
    dialog = FetchDialog(window.session, api_base=server.base_url, parent=window)
    dialog.open()
    qtbot.waitUntil(lambda: dialog.has_key, timeout=WAIT)
    with qtbot.waitSignal(dialog.sig_finished, timeout=WAIT):
        dialog.start()
    error = dialog.status.error_label
    assert error.isVisible() and error.objectName() == "errorLabel"
    assert error.text().startswith("Stripe rejected the API key (authentication failed)")
    assert "NotTheKey" not in error.text()


def test_locking_stops_a_running_fetch(window, server: FakeStripe, qtbot, monkeypatch) -> None:
    monkeypatch.setenv("STRIPE_API_KEY", KEY)
    server.add_reports([make_report(i, created=START + i * 60) for i in range(250, 1000)])
    server.latency = 0.1
    dialog = window.fetch_feature.open_fetch()
    qtbot.waitUntil(lambda: dialog.has_key, timeout=WAIT)
    on_first_progress(dialog, window.session.lock)
    worker = dialog.worker
    qtbot.waitUntil(lambda: gone(dialog), timeout=WAIT)
    qtbot.waitUntil(lambda: not worker.running, timeout=WAIT)
    assert worker.summary is not None and worker.summary.cancelled
    assert 1 <= worker.summary.pages < 10
    assert not window.list_pane.model.rowCount()
