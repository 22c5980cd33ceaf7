"""The requests the sync engine's workers make, and how each answer is read.

Runs on the engine's worker threads: no vault access here. Each call takes a rate-limiter slot
first, sends with the entry's stored idempotency key, and turns the answer (or the exception)
into an :class:`Outcome` that the owner thread applies as a committed transition:

- 2xx to a redact, or a session whose ``redaction`` is set -> ACCEPTED (REDACTED if done);
  a ``verify`` or ``watch`` look at a session with no redaction -> NO_REDACTION;
- network errors, 409, 5xx -> TRANSIENT, and ``respend`` when Stripe replayed a stored error
  for the key (``Idempotent-Replayed``) or said not to retry it (``Stripe-Should-Retry: false``):
  the key is spent, and the next attempt first looks at the session (``verify``);
- 429 -> THROTTLED; 401/403 -> AUTH (the queue pauses);
- 400/404 -> FAILED with Stripe's message, except a 400 to a redact whose session already has a
  redaction under way (an earlier answer was lost, or someone else asked): ACCEPTED.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_MESSAGE_MAX = 500


class Kind(enum.Enum):
    ACCEPTED = "accepted"  # a redaction is under way at Stripe
    REDACTED = "redacted"  # Stripe finished it
    PROCESSING = "processing"  # poll: not yet
    NO_REDACTION = "no_redaction"  # the session shows no redaction (verify: a new key may be
    # used; watch: the admin has not sent it yet)
    TRANSIENT = "transient"
    THROTTLED = "throttled"
    AUTH = "auth"
    FAILED = "failed"
    NOT_SENT = "not_sent"  # stopped before the request left


@dataclass
class Task:
    session: str
    key: str
    action: str  # "send", "verify", "poll" or "watch" (a look at a handed-off entry's session)
    prior_maybe_sent: bool


@dataclass
class Outcome:
    task: Task
    kind: Kind
    message: str | None = None
    respend: bool = False  # the key is spent (replayed error / should-retry false)


def _header(exc: BaseException, name: str) -> str:
    headers: Any = getattr(exc, "headers", None) or {}
    for key, value in headers.items():
        if str(key).lower() == name.lower():
            return str(value).strip().lower()
    return ""


def _stripe_message(exc: BaseException) -> str:
    msg = getattr(exc, "user_message", None) or str(exc) or type(exc).__name__
    return " ".join(str(msg).split())[:_MESSAGE_MAX]


def _redaction_status(obj: Any) -> str | None:
    """``redaction.status`` of a session (None when no redaction was asked for)."""
    data = obj if isinstance(obj, dict) else obj.to_dict()  # StripeObject is not a Mapping
    redaction = data.get("redaction")
    if not isinstance(redaction, dict):
        return None
    status = redaction.get("status")
    return str(status) if status else "unknown"


class StripeCalls:
    """One request per task, for the worker threads. ``acquire`` waits for a rate-limit slot
    (False: the engine is stopping and the request must not leave)."""

    def __init__(self, client: Any, acquire: Callable[[], bool], *, api_base: str = "",
                 key_source: str | None = None) -> None:
        self.client = client
        self._acquire = acquire
        self.api_base = api_base
        self.key_source = key_source

    def run(self, task: Task) -> Outcome:
        import stripe

        sessions = self.client.v1.identity.verification_sessions
        if not self._acquire():
            return Outcome(task, Kind.NOT_SENT)
        try:
            if task.action == "send":
                obj = sessions.redact(task.session, options={"idempotency_key": task.key})
                return self._from_session(task, obj, poll=False)
            obj = sessions.retrieve(task.session)
            if task.action in ("verify", "watch"):
                status = _redaction_status(obj)
                if status is None:
                    return Outcome(task, Kind.NO_REDACTION)
                return self._from_session(task, obj, poll=False) if task.action == "watch" \
                    else Outcome(task, Kind.ACCEPTED)
            return self._from_session(task, obj, poll=True)
        except stripe.InvalidRequestError as exc:
            if task.action == "send" and exc.http_status == 400 \
                    and not isinstance(exc, stripe.IdempotencyError):
                return self._check_refusal(task, exc)
            return Outcome(task, Kind.FAILED, _stripe_message(exc))
        except stripe.StripeError as exc:
            return self._classify(task, exc)

    def _from_session(self, task: Task, obj: Any, *, poll: bool) -> Outcome:
        status = _redaction_status(obj)
        if status == "redacted":
            return Outcome(task, Kind.REDACTED)
        if poll:
            return Outcome(task, Kind.PROCESSING,
                           None if status else "Stripe shows no redaction for this session yet")
        return Outcome(task, Kind.ACCEPTED)

    def _check_refusal(self, task: Task, exc: BaseException) -> Outcome:
        """A 400 to a redact: fail it, unless the session is already being redacted (by an
        earlier attempt whose answer was lost, or by someone else)."""
        import stripe

        if self._acquire():
            try:
                obj = self.client.v1.identity.verification_sessions.retrieve(task.session)
                if _redaction_status(obj) is not None:
                    return self._from_session(task, obj, poll=False)
            except stripe.StripeError:
                pass  # the refusal itself is the answer to report
        return Outcome(task, Kind.FAILED, _stripe_message(exc))

    def _classify(self, task: Task, exc: BaseException) -> Outcome:
        import stripe

        from identity_desktop.stripe_api.client import describe_error

        what = "polling a redaction" if task.action != "send" else "redacting a session"
        if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
            return Outcome(task, Kind.AUTH, describe_error(
                exc, what="redacting verification sessions", base=self.api_base,
                key_source=self.key_source))
        if isinstance(exc, stripe.RateLimitError):
            return Outcome(task, Kind.THROTTLED, "rate limited by Stripe (HTTP 429)")
        if isinstance(exc, stripe.APIConnectionError):
            return Outcome(task, Kind.TRANSIENT,
                           describe_error(exc, what=what, base=self.api_base))
        status = getattr(exc, "http_status", None)
        if isinstance(exc, stripe.APIError) or (status or 0) >= 500 or status == 409:
            spent = task.action == "send" and (
                _header(exc, "Idempotent-Replayed") == "true"
                or _header(exc, "Stripe-Should-Retry") == "false")
            return Outcome(task, Kind.TRANSIENT,
                           f"Stripe answered HTTP {status or 'error'} while {what}",
                           respend=spent)
        return Outcome(task, Kind.FAILED, _stripe_message(exc))
