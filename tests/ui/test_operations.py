"""The background-operation helper: one owner thread, ordered, errors without personal data,
callbacks of destroyed widgets dropped."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtWidgets import QMessageBox, QWidget

from identity_desktop.errors import VaultTamperedError
from identity_desktop.ui.operations import GENERIC_ERROR, VaultOp, VaultRunner, user_message

WAIT = 5000


@pytest.fixture
def runner(qapp):
    r = VaultRunner()
    yield r
    r.shutdown()


def test_bodies_run_in_order_on_one_thread(runner, qtbot):
    threads: list[int] = []
    results: list[int] = []
    ops = [VaultOp(runner, lambda _ctx, i=i: threads.append(threading.get_ident()) or i)
           .success(results.append) for i in range(5)]
    for op in ops:
        op.run_in_background()
    with qtbot.waitSignal(ops[-1].sig_finished, timeout=WAIT):
        pass
    assert results == [0, 1, 2, 3, 4]
    assert len(set(threads)) == 1 and threads[0] != threading.get_ident()
    assert not runner.busy


def test_progress_and_cancel(runner, qtbot):
    seen: list[tuple[int, int, str]] = []

    def body(ctx):
        for i in range(1, 4):
            ctx.progress(i, 3, "step")
        while not ctx.cancelled():
            threading.Event().wait(0.01)
        return "stopped"

    op = VaultOp(runner, body).progress(lambda d, t, s: seen.append((d, t, s)))
    done: list[str] = []
    op.success(done.append).run_in_background()
    qtbot.waitUntil(lambda: (3, 3, "step") in seen, timeout=WAIT)
    with qtbot.waitSignal(op.sig_finished, timeout=WAIT):
        op.cancel()
    assert done == ["stopped"]


def test_errors_are_shown_without_personal_data(runner, qtbot):
    assert user_message(VaultTamperedError("the vault at X is damaged")) == \
        "the vault at X is damaged"
    assert user_message(ValueError("Jane Doe 1985-01-01")) == GENERIC_ERROR
    parent = QWidget()
    qtbot.addWidget(parent)
    op = VaultOp(runner, lambda _ctx: 1 / 0, parent=parent).run_in_background()
    with qtbot.waitSignal(op.sig_finished, timeout=WAIT):
        pass
    boxes = parent.findChildren(QMessageBox)
    assert len(boxes) == 1 and boxes[0].text() == GENERIC_ERROR
    boxes[0].close()


def test_callbacks_of_a_destroyed_widget_are_dropped(runner, qtbot):
    gate = threading.Event()
    widget = QWidget()
    called: list[object] = []
    op = VaultOp(runner, lambda _ctx: gate.wait(5) and "late", parent=widget)
    op.success(called.append).finally_(lambda: called.append("finally")).run_in_background()
    widget.deleteLater()
    qtbot.waitUntil(lambda: not __import__("shiboken6").isValid(widget), timeout=WAIT)
    with qtbot.waitSignal(op.sig_finished, timeout=WAIT):
        gate.set()
    assert called == []


def test_cancelled_before_start_is_skipped(runner, qtbot):
    gate = threading.Event()
    VaultOp(runner, lambda _ctx: gate.wait(5)).run_in_background()
    ran: list[int] = []
    op = VaultOp(runner, lambda _ctx: ran.append(1)).run_in_background()
    op.cancel()
    with qtbot.waitSignal(op.sig_finished, timeout=WAIT):
        gate.set()
    assert ran == [] and op.outcome == "skipped"
