"""Our retry policy around stripe calls (the client itself is built with no retries).

Rules:
- Retried: network failures that stripe marks retryable (connect errors, timeouts, dropped
  connections), 409 (lock timeouts), 5xx, and 429. A ``Stripe-Should-Retry`` header wins over
  the status: ``false`` stops at once, ``true`` retries whatever the status.
- Not retried: 400, 401, 403, 404, idempotency errors, TLS failures. They raise at once.
- Waits are exponential with full jitter: ``uniform(0, min(max_delay, base * 2**(n-1)))``;
  a ``Retry-After`` header (seconds), when present, is a floor.
- A 429 also slows the whole client down: the :class:`Pacer` spaces requests further apart
  after each 429 (doubling, capped) and relaxes slowly after successes, so a rate-limited
  fetch settles under the server's limit instead of failing. 429s get more attempts than
  other failures for the same reason.
- Bounded: at most ``max_attempts`` (``rate_limit_attempts`` for 429s) tries per call and
  ``max_wait`` seconds of back-off per call; then :class:`RetriesExhausted` carries the last
  error. Waits end early when ``cancelled()`` turns true (:class:`RetryCancelled`).

The sleeper, clock and random source are injectable so tests run real HTTP against the fake
server without real waiting.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["Pacer", "Retrier", "RetriesExhausted", "RetryCancelled", "RetryPolicy", "classify"]

T = TypeVar("T")
Sleeper = Callable[[float], None]
# on_wait(kind, seconds, attempt): told before each back-off, for progress lines.
OnWait = Callable[[str, float, int], None]


class RetriesExhausted(Exception):
    """A transient failure outlasted the policy; ``last`` is the final stripe error."""

    def __init__(self, last: BaseException, kind: str, attempts: int) -> None:
        super().__init__(f"{kind} after {attempts} attempts")
        self.last = last
        self.kind = kind
        self.attempts = attempts


class RetryCancelled(Exception):
    """``cancelled()`` turned true while waiting to retry."""


def _header(exc: BaseException, name: str) -> str | None:
    headers: Any = getattr(exc, "headers", None) or {}
    try:
        for key, value in headers.items():
            if str(key).lower() == name:
                return str(value).strip()
    except AttributeError:
        return None
    return None


def classify(exc: BaseException) -> str | None:
    """The retryable kind of ``exc`` ("rate_limit", "network", "conflict", "server"), or
    None when it must not be retried."""
    import stripe

    if not isinstance(exc, stripe.StripeError):
        return None
    advice = (_header(exc, "stripe-should-retry") or "").lower()
    if advice == "false":
        return None
    if isinstance(exc, stripe.RateLimitError):
        return "rate_limit"
    if isinstance(exc, stripe.APIConnectionError):
        return "network" if exc.should_retry else None
    status = exc.http_status or 0
    if status == 409:
        return "conflict"
    if status >= 500 or advice == "true":
        return "server"
    return None


def retry_after(exc: BaseException) -> float | None:
    value = _header(exc, "retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date: rare for APIs, ignored rather than parsed
    return seconds if seconds >= 0 else None


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    rate_limit_attempts: int = 30
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_wait: float = 600.0

    def backoff(self, retry: int, rng: random.Random) -> float:
        """Full-jitter exponential wait before retry number ``retry`` (1-based)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** min(retry - 1, 30)))
        return rng.uniform(0.0, ceiling)


class Pacer:
    """Minimum spacing between requests: multiplicative increase on 429, slow decay."""

    def __init__(self, *, first: float = 0.05, ceiling: float = 2.0, decay: float = 0.9,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 0.0
        self.first = first
        self.ceiling = ceiling
        self.decay = decay
        self._clock = clock
        self._last: float | None = None

    def slow_down(self) -> None:
        self.interval = min(self.ceiling, max(self.first, self.interval * 2))

    def succeeded(self) -> None:
        self.interval *= self.decay
        if self.interval < self.first / 4:
            self.interval = 0.0

    def due_in(self) -> float:
        if self._last is None or self.interval <= 0:
            return 0.0
        return max(0.0, self._last + self.interval - self._clock())

    def sent(self) -> None:
        self._last = self._clock()


def _cancellable_sleep(cancelled: Callable[[], bool] | None) -> Sleeper:
    def sleep(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or (cancelled is not None and cancelled()):
                return
            time.sleep(min(left, 0.1))

    return sleep


class Retrier:
    """Runs calls under a :class:`RetryPolicy`, sharing one :class:`Pacer` between them."""

    def __init__(self, policy: RetryPolicy | None = None, *, sleeper: Sleeper | None = None,
                 cancelled: Callable[[], bool] | None = None, on_wait: OnWait | None = None,
                 rng: random.Random | None = None, pacer: Pacer | None = None) -> None:
        self.policy = policy or RetryPolicy()
        self.cancelled = cancelled
        self.sleep = sleeper if sleeper is not None else _cancellable_sleep(cancelled)
        self.on_wait = on_wait
        self.rng = rng or random.Random()
        self.pacer = pacer or Pacer()
        self.attempts = 0  # requests sent, retries included
        self.retries: Counter[str] = Counter()  # kind -> retries made

    def _check_cancel(self) -> None:
        if self.cancelled is not None and self.cancelled():
            raise RetryCancelled

    def call(self, fn: Callable[[], T]) -> T:
        tries: Counter[str] = Counter()
        waited = 0.0
        while True:
            pause = self.pacer.due_in()
            if pause > 0:
                self.sleep(pause)
                self._check_cancel()
            self.pacer.sent()
            self.attempts += 1
            try:
                result = fn()
            except Exception as exc:
                kind = classify(exc)
                if kind is None:
                    raise
                tries[kind] += 1
                limit = (self.policy.rate_limit_attempts if kind == "rate_limit"
                         else self.policy.max_attempts)
                total = sum(tries.values())
                if tries[kind] >= limit or waited >= self.policy.max_wait:
                    raise RetriesExhausted(exc, kind, total) from exc
                delay = self.policy.backoff(tries[kind], self.rng)
                if kind == "rate_limit":
                    self.pacer.slow_down()
                    delay = max(delay, self.pacer.interval)
                floor = retry_after(exc)
                if floor is not None:
                    delay = max(delay, min(floor, self.policy.max_delay))
                delay = min(delay, max(0.0, self.policy.max_wait - waited))
                self.retries[kind] += 1
                if self.on_wait is not None:
                    self.on_wait(kind, delay, total)
                self._check_cancel()
                self.sleep(delay)
                waited += delay
                self._check_cancel()
                continue
            self.pacer.succeeded()
            return result
