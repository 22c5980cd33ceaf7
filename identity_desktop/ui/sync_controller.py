"""The window's sync engine: the core :class:`SyncEngine` driven from the GUI thread.

Threads: the engine's HTTP calls run on its own daemon workers. Everything that touches the
vault (building the engine, which reads the key; every ``pump``, which commits transitions and
redacts local copies) is a short ``session.run`` op on the vault's owner thread; ``pump`` never
blocks there (timeout 0). A worker that finishes a request wakes the controller (queued signal),
which starts the next pump; a timer covers retries and polls that fall due later. Results come
back to the GUI thread, where the redacted summaries and the outbox's states are folded into the
index (``session.apply_changes`` / ``apply_redaction_states``) and the queue pane is told.

Stopping (lock, offline, window closed) abandons the engine without touching the vault: entries
caught mid-request stay ``sending`` and are resent with their key next time.

A queue whose only active entries are handed off to an admin (``identity-desk redact export``)
has nothing to send from here; without a key it cannot even be looked at, so a run ends at
once with a note saying so, not with a "no key" failure that would pause the queue.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from identity_desktop.desk import Desk
from identity_desktop.errors import IdentityDeskError, StripeAccessError
from identity_desktop.index import RedactionState
from identity_desktop.outbox import store
from identity_desktop.outbox.pacing import RateLimiter
from identity_desktop.outbox.store import OutboxEntry
from identity_desktop.outbox.sync import SyncEngine, SyncEvent, SyncOptions, SyncStats
from identity_desktop.ui.operations import OpContext, user_message
from identity_desktop.ui.session import Session

log = logging.getLogger(__name__)

MAX_IDLE_MS = 30_000  # re-check at least this often while entries wait (polls, backoff)


@dataclass
class PumpResult:
    entries: list[OutboxEntry] = field(default_factory=list)  # changed since the last pump
    summaries: list[list[Any]] = field(default_factory=list)  # reports redacted locally
    states: dict[str, RedactionState] | None = None  # full overlay, when something moved
    active: int = 0
    in_flight: int = 0
    next_due: float | None = None
    paused: str | None = None
    stats: SyncStats | None = None


@dataclass
class SyncStatus:
    running: bool
    message: str = ""
    paused: bool = False
    stats: SyncStats | None = None


class SyncController(QObject):
    sig_status = Signal(object)  # SyncStatus
    sig_entries = Signal(object)  # list[OutboxEntry] whose state changed
    sig_finished = Signal(object)  # SyncStatus, when a run ends (done, paused, stopped, error)
    _sig_wake = Signal()  # from an engine worker: an outcome is waiting

    def __init__(self, session: Session, *, api_base: Callable[[], str | None],
                 options: SyncOptions | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self._api_base = api_base
        self.options = options or SyncOptions()
        self._engine: SyncEngine | None = None
        self._starting = False
        self._pumping = False
        self._again = False
        self._reload = False
        self._run_id = 0
        self._events: list[SyncEvent] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._pump)
        self._sig_wake.connect(self._on_wake)
        session.sig_locked.connect(lambda: self.stop("the vault was locked"))
        self.last_status = SyncStatus(False)

    # -- control (GUI thread) --------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._starting or self._engine is not None

    def start(self) -> bool:
        """Start a run unless one is going or the vault is locked; False if not started."""
        if self.running or not self._session.is_unlocked:
            return False
        self._run_id += 1
        run_id = self._run_id
        self._starting = True
        self._events = []
        events = self._events
        api_base, options = self._api_base(), self.options
        wake = self._wake

        def build(desk: Desk, _ctx: OpContext) -> SyncEngine | str:
            active = store.list_entries(desk.vault, store.ACTIVE_STATES)
            if not active:
                return "Nothing to sync"
            if all(e.awaits_admin for e in active) and not _has_key(desk):
                return (f"Nothing to send: {len(active)} request(s) are handed off to an "
                        "admin (with a Stripe API key, a sync here would follow them)")
            from identity_desktop.stripe_api.client import connect

            access = connect(desk.vault, api_base)  # reads the key: vault thread
            engine = SyncEngine(desk.vault, access.client, RateLimiter.for_key(access.key),
                                options=options, api_base=access.base,
                                key_source=access.key_source, on_event=events.append)
            engine.on_outcome = wake
            engine.reload()
            return engine

        op = self._session.run(build, label="Starting sync…")
        op.success(lambda engine: self._started(run_id, engine), owner=self)
        op.failure(lambda exc: self._failed(run_id, exc), owner=self)
        op.finally_(lambda: self._build_done(run_id), owner=self)
        op.run_in_background()
        self._status(SyncStatus(True, "Starting sync…"))
        return True

    def _build_done(self, run_id: int) -> None:
        if run_id == self._run_id:  # dropped by a lock: neither success nor failure ran
            self._starting = False

    def stop(self, reason: str = "stopped") -> None:
        """Abandon the run now (no vault access); safe to call when not running."""
        engine, self._engine = self._engine, None
        was_running = engine is not None or self._starting
        self._run_id += 1
        self._starting = False
        self._timer.stop()
        if engine is not None:
            engine.on_outcome = None
            engine.abandon()
        if was_running:
            self._finish(SyncStatus(False, f"Sync stopped: {reason}", stats=(
                engine.stats if engine is not None else None)))

    def reload(self) -> None:
        """The queue changed (queued, cancelled, retried): the running engine re-reads it."""
        if self._engine is not None:
            self._reload = True
            self._schedule(0)

    # -- the run ----------------------------------------------------------------------------------
    def _started(self, run_id: int, engine: SyncEngine | str) -> None:
        """``engine`` is a note instead when there is nothing to run."""
        if run_id != self._run_id:  # stopped (or locked) while it was starting
            if isinstance(engine, SyncEngine):
                engine.abandon()
            return
        self._starting = False
        if isinstance(engine, str):
            self._finish(SyncStatus(False, engine))
            return
        self._engine = engine
        self._status(SyncStatus(True, "Syncing…"))
        self._schedule(0)

    def _failed(self, run_id: int, exc: BaseException) -> None:
        if run_id != self._run_id:
            return
        self._starting = False
        engine, self._engine = self._engine, None
        if engine is not None:
            engine.abandon()
        message = user_message(exc)
        log.info("sync failed: %s", type(exc).__name__)
        self._finish(SyncStatus(False, f"Sync failed: {message}",
                                paused=isinstance(exc, IdentityDeskError)))

    def _wake(self) -> None:  # engine worker thread
        with contextlib.suppress(RuntimeError):  # the controller is gone (window closed)
            self._sig_wake.emit()

    @Slot()
    def _on_wake(self) -> None:
        if self._engine is not None:
            self._schedule(0)

    def _schedule(self, ms: int) -> None:
        if self._pumping:
            self._again = True
            return
        if not self._timer.isActive() or self._timer.remainingTime() > ms:
            self._timer.start(max(0, ms))

    def _pump(self) -> None:
        engine = self._engine
        if engine is None or self._pumping or not self._session.is_unlocked:
            return
        self._pumping = True
        self._again = False
        run_id, events = self._run_id, self._events
        reload, self._reload = self._reload, False

        def body(desk: Desk, _ctx: OpContext) -> PumpResult:
            if desk.vault is not engine.vault or engine.closed:
                return PumpResult(active=-1)
            if reload:
                engine.reload()
            engine.pump(0.0)
            taken = events[:]
            del events[:len(taken)]
            result = PumpResult(
                entries=[e for ev in taken for e in ev.entries],
                summaries=[s for ev in taken for s in ev.changed_summaries],
                active=len(engine.active()), in_flight=engine.in_flight,
                next_due=engine.next_due(), paused=engine.paused, stats=engine.stats)
            if result.entries or reload:
                result.states = store.redaction_states(desk.vault)
            return result

        op = self._session.run(body, label="Syncing redactions…")
        op.success(lambda result: self._pumped(run_id, result), owner=self)
        op.failure(lambda exc: self._failed(run_id, exc), owner=self)
        op.finally_(self._pump_done, owner=self)
        op.run_in_background()

    def _pump_done(self) -> None:
        self._pumping = False
        if self._again and self._engine is not None:
            self._schedule(0)

    def _pumped(self, run_id: int, r: PumpResult) -> None:
        if run_id != self._run_id or r.active < 0:
            return
        if r.summaries:
            self._session.apply_changes(r.summaries)
        if r.states is not None:
            self._session.apply_redaction_states(r.states)
        if r.entries:
            self.sig_entries.emit(r.entries)
        engine = self._engine
        if r.paused is not None and r.in_flight == 0:  # the answers in flight are applied
            self._engine = None
            if engine is not None:
                engine.abandon()
            self._finish(SyncStatus(False, r.paused, paused=True, stats=r.stats))
            return
        if r.active == 0 and r.in_flight == 0:
            self._engine = None
            if engine is not None:
                engine.abandon()
            self._finish(SyncStatus(False, "Sync finished", stats=r.stats))
            return
        if r.in_flight:
            delay = 1000  # a worker wakes us sooner; this only guards a lost wake-up
        elif r.next_due is None:
            delay = MAX_IDLE_MS
        else:
            delay = int(max(0.0, r.next_due - time.time()) * 1000) + 10
        self._status(SyncStatus(True, _progress_text(r), stats=r.stats))
        self._schedule(min(delay, MAX_IDLE_MS))

    def _status(self, status: SyncStatus) -> None:
        self.last_status = status
        self.sig_status.emit(status)

    def _finish(self, status: SyncStatus) -> None:
        self._status(status)
        self.sig_finished.emit(status)


def _has_key(desk: Desk) -> bool:
    """Vault thread: is there a key to sync with (``STRIPE_API_KEY`` or the vault's)?"""
    from identity_desktop.stripe_api.client import resolve_key

    try:
        resolve_key(desk.vault)
    except StripeAccessError:
        return False
    return True


def _progress_text(r: PumpResult) -> str:
    if r.in_flight:
        return f"Syncing: {r.active} pending, {r.in_flight} in flight"
    if r.next_due is not None:
        wait = max(0, int(r.next_due - time.time()))
        return f"Syncing: {r.active} pending, next check in {wait} s"
    return f"Syncing: {r.active} pending"

