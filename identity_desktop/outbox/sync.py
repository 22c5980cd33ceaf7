"""The sync engine: sends the outbox's queued redactions to Stripe and follows them to the end.

Threads: the vault belongs to one *owner* thread (the CLI's main thread, the window's vault
worker). The owner calls :meth:`SyncEngine.pump` (or :meth:`SyncEngine.run`, which loops on it);
HTTP calls run in a small thread pool and hand their outcomes back through a queue that the
owner drains. So every vault write happens on the owner, and the owner commits each transition
before the step that depends on it (``sending`` before the request is handed to a worker,
``processing`` before the first poll, the local redaction before ``redacted``).

Exactly once: see :mod:`identity_desktop.outbox.store`. In short, a request is always sent with
the entry's stored idempotency key, so retries after lost responses, crashes (an entry found in
``sending`` is simply sent again) and transient errors are replayed by Stripe. When Stripe
replays a stored *error* for the key (``Idempotent-Replayed``) or says not to retry it
(``Stripe-Should-Retry: false``), the key is spent: the engine first retrieves the session and,
only if no redaction is under way there, commits a new key and sends again.

Outcomes: 2xx -> ``processing`` (then polled until ``redaction.status == "redacted"``); network
errors, 409 and 5xx -> retried with full-jitter exponential backoff (time stored in the entry);
429 -> the shared :class:`RateLimiter` slows down; 401/403 -> the whole queue pauses with a clear
message; 400/404 -> ``failed`` with Stripe's message (a 400 is first checked against the session,
in case a redaction is already under way there). Qt-free: the window wraps it in a worker.

Handed-off entries (``redact export``: an admin's app sends them) are never sent from here while
they are ``queued`` or ``sending``; they are *watched* instead: a GET of the session (no effect at
Stripe), spaced like polls, that moves the entry to ``processing`` once the admin's request is
accepted, or redacts the local copies and ends it ``redacted`` once it is done. Each run (each
engine) looks at every one of them once, due or not, and does not wait for them after that:
:meth:`SyncEngine.active` leaves them out once looked at.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from identity_desktop.outbox.calls import Kind, Outcome, StripeCalls, Task
from identity_desktop.outbox.pacing import RateLimiter
from identity_desktop.outbox.store import (
    ACTIVE_STATES,
    PENDING_STATES,
    OutboxEntry,
    OutboxState,
    counts,
    get_entry,
    list_entries,
    mutate,
)
from identity_desktop.outbox.transitions import after_outcome, mark_sending
from identity_desktop.vault.reports import redact_session_locally
from identity_desktop.vault.store import Vault

log = logging.getLogger(__name__)

@dataclass
class SyncOptions:
    workers: int | None = None  # default: enough to keep the rate limiter busy
    backoff_base: float = 1.0  # seconds; first retry waits up to this, doubling per attempt
    backoff_cap: float = 300.0
    poll_interval: float = 2.0  # first status check this long after Stripe accepted
    poll_cap: float = 900.0  # polls back off (doubling, jittered) up to this
    throttle_pause: float = 0.25  # everyone waits this long after a 429
    reload_interval: float = 10.0  # re-read the queue (entries queued by other processes)


@dataclass
class SyncStats:
    requests: int = 0  # redact requests started
    accepted: int = 0
    redacted: int = 0
    failed: int = 0
    retries: int = 0  # transient failures
    throttled: int = 0
    polls: int = 0
    paused: str | None = None
    counts: dict[OutboxState, int] = field(default_factory=dict)


@dataclass
class SyncEvent:
    """Told to ``on_event`` on the owner thread after each committed batch."""

    entries: list[OutboxEntry]  # entries whose stored state changed
    changed_summaries: list[list[Any]]  # reports redacted locally (for Desk.apply_changes)
    paused: str | None = None


class SyncEngine:
    def __init__(self, vault: Vault, client: Any, limiter: RateLimiter, *,
                 options: SyncOptions | None = None, api_base: str = "",
                 key_source: str | None = None, rng: random.Random | None = None,
                 on_event: Callable[[SyncEvent], None] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.vault = vault
        self.client = client
        self.limiter = limiter
        self.options = options or SyncOptions()
        self.api_base = api_base
        self.key_source = key_source
        self.rng = rng or random.Random()
        self.on_event = on_event
        self.clock = clock
        self.stats = SyncStats()
        self.paused: str | None = None
        workers = self.options.workers or max(4, min(32, round(limiter.ceiling * 0.35)))
        self.max_in_flight = workers
        # Daemon threads, not a ThreadPoolExecutor: an exiting app must not wait for a request
        # stuck on a dead network (its entry stays "sending" and is resent with its key).
        self._tasks: queue.SimpleQueue[Task | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._outcomes: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
        self.on_outcome: Callable[[], None] | None = None  # told (on a worker) when one arrives
        self._stop = threading.Event()
        self.calls = StripeCalls(client, lambda: self.limiter.acquire(self._stop),
                                 api_base=api_base, key_source=key_source)
        self._entries: dict[str, OutboxEntry] = {}
        self._in_flight: dict[str, Task] = {}
        self._loaded_at = float("-inf")
        self._look_now: set[str] = set()  # handed-off entries to look at once, schedule or not
        self._closed = False

    # ---- owner-thread API --------------------------------------------------------------
    def reload(self) -> None:
        """Re-read the queue from the vault (after the user queued, cancelled or retried). The
        first read also marks every handed-off entry for one look, due or not: each run (a
        "Sync now", a ``sync``) checks on them once, and does not wait for them after that."""
        first = self._loaded_at == float("-inf")
        self._entries = {e.session: e for e in list_entries(self.vault)
                         if e.state in ACTIVE_STATES}
        self._loaded_at = time.monotonic()
        if first:
            self._look_now = {s for s, e in self._entries.items() if e.awaits_admin}

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def active(self) -> list[OutboxEntry]:
        """The entries this run works on, in queue order: not those awaiting an admin, once
        this run has looked at them."""
        return [e for e in self._all() if not e.awaits_admin or e.session in self._look_now]

    def _all(self) -> list[OutboxEntry]:
        return sorted(self._entries.values(), key=lambda e: e.seq)

    @staticmethod
    def _looked_at(e: OutboxEntry) -> bool:
        """Polled or watched (a GET), never sent."""
        return e.state is OutboxState.PROCESSING or e.awaits_admin

    def pump(self, timeout: float = 0.5, *, sends: bool = True, polls: bool = True,
             only: set[str] | None = None) -> None:
        """Apply finished outcomes, start what is due, then wait up to ``timeout`` for more
        outcomes (less when something falls due sooner)."""
        self._apply_available(block=0.0)
        if only is None and time.monotonic() - self._loaded_at > self.options.reload_interval:
            self.reload()
        if self.paused is None and not self._stop.is_set():
            self._dispatch(sends=sends, polls=polls, only=only)
        wait = timeout
        if len(self._in_flight) < self.max_in_flight:  # else only an outcome frees a slot
            next_due = self.next_due(sends=sends, polls=polls, only=only)
            if next_due is not None:
                wait = min(wait, max(0.0, next_due - self.clock()))
        if wait > 0:
            self._apply_available(block=wait)

    def next_due(self, *, sends: bool = True, polls: bool = True,
                 only: set[str] | None = None) -> float | None:
        """When the earliest idle entry falls due (None: nothing to start, only outcomes to
        wait for)."""
        if self.paused is not None or self._stop.is_set():
            return None
        look = self._look_now
        times = [0.0 if only is not None or s in look else e.next_attempt_at
                 for s, e in self._entries.items()
                 if s not in self._in_flight and (only is None or s in only)
                 and (polls if self._looked_at(e) else sends)]
        return min(times) if times else None

    def run(self, *, once: bool = False, max_time: float | None = None,
            cancelled: Callable[[], bool] | None = None) -> SyncStats:
        """Loop until the queue is empty, paused, cancelled, or (``once``) after one pass:
        every due entry sent at most once, then every processing entry polled once. Without
        ``once``, stop when nothing falls due within ``max_time`` seconds from the start."""
        start = self.clock()
        deadline = None if max_time is None else start + max_time
        self.reload()
        if once:
            self._run_once(cancelled)
        else:
            while self.active() or self._in_flight:
                if (cancelled and cancelled()) or self.paused is not None:
                    break
                due = self.next_due()
                if not self._in_flight and deadline is not None and \
                        (due is None or due > deadline):
                    break
                self.pump(0.5)
        self.finish()
        return self.stats

    def _run_once(self, cancelled: Callable[[], bool] | None) -> None:
        now = self.clock()
        sends = {s for s, e in self._entries.items()
                 if e.state in PENDING_STATES and not e.handed_off and e.next_attempt_at <= now}
        self._drive(sends, cancelled, polls=False)
        # One status look for every entry Stripe has accepted (or an admin has), due or not.
        polls = {s for s, e in self._entries.items() if self._looked_at(e)}
        self._drive(polls, cancelled, sends=False)

    def _drive(self, todo: set[str], cancelled: Callable[[], bool] | None, *,
               sends: bool = True, polls: bool = True) -> None:
        """Start each of ``todo`` once (``_dispatch`` removes what it starts), schedule or
        not, and wait for them."""
        while (todo or self._in_flight) and self.paused is None:
            if cancelled and cancelled():
                break
            before = len(todo)
            self.pump(0.2, sends=sends, polls=polls, only=todo)
            todo &= set(self._entries)
            if len(todo) == before and todo and not self._in_flight:
                break  # what is left cannot start (changed elsewhere): leave it for later

    def finish(self, timeout: float = 10.0) -> None:
        """Stop starting work, let in-flight requests end (bounded) and apply their outcomes.
        Anything not applied stays ``sending`` and is resent with the same key next time."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        while self._in_flight and time.monotonic() < deadline:
            self._apply_available(block=min(0.2, max(0.0, deadline - time.monotonic())))
        self.abandon()
        self.stats.paused = self.paused
        self.stats.counts = self.counts()

    def abandon(self) -> None:
        """Stop at once, from any thread, without touching the vault (the vault was locked or
        the app is closing). Outcomes still in flight are dropped: their entries stay as
        committed (``sending``) and are resent with the same key by the next run."""
        self._stop.set()
        if not self._closed:
            self._closed = True
            for _ in self._threads:
                self._tasks.put(None)

    @property
    def closed(self) -> bool:
        return self._closed

    def counts(self) -> dict[OutboxState, int]:
        return counts(list_entries(self.vault))

    # ---- dispatch (owner) ----------------------------------------------------------------
    def _dispatch(self, *, sends: bool, polls: bool, only: set[str] | None) -> None:
        free = self.max_in_flight - len(self._in_flight)
        if free <= 0:
            return
        now = self.clock()
        if only is None:
            due = [e for e in self._all() if e.session not in self._in_flight
                   and (e.next_attempt_at <= now or e.session in self._look_now)]
        else:  # an explicit pass (sync --once): each of these once, whatever its schedule
            due = [e for e in self._all() if e.session in only
                   and e.session not in self._in_flight]
        send_due = [e for e in due if sends and e.state in PENDING_STATES and not e.handed_off]
        poll_due = [e for e in due if polls and self._looked_at(e)]
        picked = (send_due + poll_due)[:free]  # sends first: they are what the user waits on
        if not picked:
            return
        marks: list[tuple[str, Callable[[OutboxEntry], OutboxEntry | None]]] = []
        tasks: list[Task] = []
        for e in picked:
            if self._looked_at(e):
                action = "poll" if e.state is OutboxState.PROCESSING else "watch"
                tasks.append(Task(e.session, e.idempotency_key, action, e.maybe_sent))
                continue
            action = "verify" if e.verify_first else "send"
            tasks.append(Task(e.session, e.idempotency_key, action, e.maybe_sent))
            marks.append((e.session, mark_sending(e.idempotency_key, action, now)))
        written = {e.session: e for e in mutate(self.vault, marks)}  # committed first
        self._remember(written.values())
        for task in tasks:
            if task.action in ("send", "verify") and task.session not in written:
                # Changed meanwhile (cancelled or handed off elsewhere): skip it, and re-read
                # it now so that it is not picked again and again until the next reload.
                fresh = get_entry(self.vault, task.session)
                if fresh is None:
                    self._entries.pop(task.session, None)
                else:
                    self._remember([fresh])
                continue
            if only is not None:
                only.discard(task.session)
            self._look_now.discard(task.session)
            self._in_flight[task.session] = task
            self._submit(task)
        if written:
            self._emit(list(written.values()), [])

    # ---- workers (no vault access here) --------------------------------------------------
    def _submit(self, task: Task) -> None:
        if len(self._threads) < self.max_in_flight:
            thread = threading.Thread(target=self._worker, name="identity-sync", daemon=True)
            self._threads.append(thread)
            thread.start()
        self._tasks.put(task)

    def _worker(self) -> None:
        while (task := self._tasks.get()) is not None:
            self._work(task)

    def _work(self, task: Task) -> None:
        try:
            outcome = self.calls.run(task)
        except BaseException as exc:  # never lose the outcome: the owner waits for it
            outcome = Outcome(task, Kind.TRANSIENT, f"unexpected {type(exc).__name__}")
        if outcome.kind in (Kind.ACCEPTED, Kind.REDACTED, Kind.PROCESSING,
                            Kind.NO_REDACTION):
            self.limiter.success()
        self._outcomes.put(outcome)
        wake = self.on_outcome
        if wake is not None:
            wake()

    # ---- applying outcomes (owner) -------------------------------------------------------
    def _apply_available(self, block: float) -> None:
        batch: list[Outcome] = []
        try:
            batch.append(self._outcomes.get(timeout=block) if block > 0
                         else self._outcomes.get_nowait())
            while True:
                batch.append(self._outcomes.get_nowait())
        except queue.Empty:
            pass
        if batch:
            self._apply(batch)

    def _apply(self, batch: Sequence[Outcome]) -> None:
        now = self.clock()
        changes: list[tuple[str, Callable[[OutboxEntry], OutboxEntry | None]]] = []
        finished: list[Outcome] = []
        for out in batch:
            self._in_flight.pop(out.task.session, None)
            if out.task.action == "send" and out.kind is not Kind.NOT_SENT:
                self.stats.requests += 1
            if out.kind is Kind.REDACTED:
                finished.append(out)
                continue
            changes.append((out.task.session, self._transition(out, now)))
        written = mutate(self.vault, changes)
        summaries: list[list[Any]] = []
        if finished:
            for out in finished:  # local copies first (committed), then the state
                summaries.extend(redact_session_locally(self.vault, out.task.session).changed)
            written += mutate(self.vault, [(o.task.session, self._transition(o, now))
                                           for o in finished])
        self._remember(written)
        if written or summaries:
            self._emit(written, summaries)

    def _transition(self, out: Outcome, now: float
                    ) -> Callable[[OutboxEntry], OutboxEntry | None]:
        """Count the outcome, act on its side effects (pause, throttle), and return the change
        to commit."""
        task, kind, stats, opts = out.task, out.kind, self.stats, self.options
        if kind is Kind.AUTH and self.paused is None:
            self.paused = f"{out.message}; the redaction queue is paused"
            log.info("sync paused: %s", out.message)
        elif kind is Kind.THROTTLED:
            stats.throttled += 1
            self.limiter.throttle(opts.throttle_pause)
        elif kind is Kind.TRANSIENT:
            stats.retries += 1
        elif kind is Kind.ACCEPTED and task.action in ("send", "verify"):
            stats.accepted += 1
        elif kind is Kind.REDACTED:
            stats.redacted += 1
        elif kind is Kind.FAILED:
            stats.failed += 1
        if task.action == "poll" and kind in (Kind.PROCESSING, Kind.REDACTED):
            stats.polls += 1

        return after_outcome(out, now, opts, self.rng)

    def _remember(self, entries: Any) -> None:
        for e in entries:
            if e.state in ACTIVE_STATES:
                self._entries[e.session] = e
            else:
                self._entries.pop(e.session, None)

    def _emit(self, entries: list[OutboxEntry], summaries: list[list[Any]]) -> None:
        if self.on_event is not None:
            self.on_event(SyncEvent(entries, summaries, self.paused))


def engine_for_vault(vault: Vault, *, api_base: str | None = None,
                     options: SyncOptions | None = None, rate: float | None = None,
                     on_event: Callable[[SyncEvent], None] | None = None) -> SyncEngine:
    """An engine with the vault's (or ``STRIPE_API_KEY``'s) key, paced for the key's mode
    (``rate`` overrides: requests per second)."""
    from identity_desktop.stripe_api.client import connect

    access = connect(vault, api_base)
    limiter = RateLimiter(rate) if rate else RateLimiter.for_key(access.key)
    return SyncEngine(vault, access.client, limiter, options=options, api_base=access.base,
                      key_source=access.key_source, on_event=on_event)


__all__ = ["Kind", "Outcome", "SyncEngine", "SyncEvent", "SyncOptions", "SyncStats",
           "engine_for_vault"]
