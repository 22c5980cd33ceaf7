"""How each step of the sync engine changes an outbox entry.

Every function here returns a compare-and-set change for :func:`identity_desktop.outbox.store.
mutate`: it receives the entry as stored *now* (inside the transaction) and returns its new value,
or None when the entry moved on meanwhile (cancelled, retried, handed off, reclaimed, or changed
by another process), so no step overwrites a newer decision. No vault, network or Qt here; the
engine (:mod:`identity_desktop.outbox.sync`) counts outcomes and commits these.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from identity_desktop.outbox.calls import Kind, Outcome
from identity_desktop.outbox.pacing import backoff
from identity_desktop.outbox.store import (
    PENDING_STATES,
    Mutation,
    OutboxEntry,
    OutboxState,
    new_idempotency_key,
)

if TYPE_CHECKING:
    from identity_desktop.outbox.sync import SyncOptions


def mark_sending(key: str, action: str, now: float) -> Mutation:
    """``sending``, committed before a redact (or the look that precedes one) leaves."""
    def fn(e: OutboxEntry) -> OutboxEntry | None:
        if e.state not in PENDING_STATES or e.idempotency_key != key or e.handed_off:
            return None  # moved on, or handed off to an admin: never sent from here
        extra = 1 if action == "send" else 0
        return e.evolve(state=OutboxState.SENDING, maybe_sent=True, updated_at=now,
                        attempts=e.attempts + extra)
    return fn


def _poll_delay(e: OutboxEntry, opts: SyncOptions, rng: random.Random) -> float:
    delay = min(opts.poll_cap, opts.poll_interval * 2.0 ** min(e.polls + 1, 20))
    return rng.uniform(delay / 2, delay)


def after_outcome(out: Outcome, now: float, opts: SyncOptions, rng: random.Random
                  ) -> Mutation:
    """The change an outcome makes to its entry."""
    task, kind = out.task, out.kind
    if task.action == "watch":
        return _watched(out, now, opts, rng)
    expect = OutboxState.PROCESSING if task.action == "poll" else OutboxState.SENDING

    def fn(e: OutboxEntry) -> OutboxEntry | None:
        if e.state is not expect or e.idempotency_key != task.key:
            return None  # the entry moved on (user action, other process): leave it
        base = {"updated_at": now}
        if kind is Kind.REDACTED:
            return e.evolve(**base, state=OutboxState.REDACTED, accepted=True, error=None,
                            next_attempt_at=0.0)
        if kind is Kind.ACCEPTED:
            return e.evolve(**base, state=OutboxState.PROCESSING, accepted=True,
                            verify_first=False, error=None, polls=0,
                            next_attempt_at=now + opts.poll_interval)
        if kind is Kind.PROCESSING:
            return e.evolve(**base, polls=e.polls + 1, error=out.message,
                            next_attempt_at=now + _poll_delay(e, opts, rng))
        if kind is Kind.NO_REDACTION:  # the old key is spent without effect
            return e.evolve(**base, idempotency_key=new_idempotency_key(),
                            key_rotations=e.key_rotations + 1, verify_first=False,
                            next_attempt_at=0.0)
        if kind is Kind.FAILED:
            return e.evolve(**base, state=OutboxState.FAILED, error=out.message,
                            next_attempt_at=0.0)
        if kind is Kind.TRANSIENT:
            n = e.polls + 1 if task.action == "poll" else e.attempts
            delay = backoff(max(n, 1), base=opts.backoff_base, cap=opts.backoff_cap, rng=rng)
            return e.evolve(**base, error=out.message, next_attempt_at=now + delay,
                            verify_first=e.verify_first or out.respend)
        # Refused before acting (429, 401/403) or never sent: nothing happened at Stripe.
        message = out.message if kind is not Kind.NOT_SENT else e.error
        if task.action == "poll":
            return e.evolve(**base, error=message, next_attempt_at=0.0)
        state = OutboxState.SENDING if task.prior_maybe_sent else OutboxState.QUEUED
        return e.evolve(**base, state=state, maybe_sent=task.prior_maybe_sent,
                        error=message, next_attempt_at=0.0)
    return fn


def _watched(out: Outcome, now: float, opts: SyncOptions, rng: random.Random) -> Mutation:
    """A look at a handed-off entry's session: follow the admin's request, never send. The
    entry keeps its flag (the admin sent it) through ``processing`` and ``redacted``."""
    kind = out.kind

    def fn(e: OutboxEntry) -> OutboxEntry | None:
        if not e.awaits_admin or e.idempotency_key != out.task.key:
            return None  # reclaimed (or moved on) meanwhile
        if kind is Kind.REDACTED:
            return e.evolve(updated_at=now, state=OutboxState.REDACTED, accepted=True,
                            error=None, next_attempt_at=0.0)
        if kind is Kind.ACCEPTED:
            return e.evolve(updated_at=now, state=OutboxState.PROCESSING, accepted=True,
                            error=None, polls=0, next_attempt_at=now + opts.poll_interval)
        if kind is Kind.NOT_SENT:
            return None
        # The admin has not sent it yet, or the look failed: look again later, spaced out
        # (never at once: a 404 must not turn into a loop of GETs).
        return e.evolve(polls=e.polls + 1, error=out.message,
                        next_attempt_at=now + _poll_delay(e, opts, rng))
    return fn
