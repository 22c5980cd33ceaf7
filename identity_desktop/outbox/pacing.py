"""Pacing for the sync engine: a shared rate limiter and per-entry exponential backoff.

Stripe allows 100 requests/s in live mode and 25 in test mode, across the whole account. The
limiter spaces request starts at a fixed fraction of that (92 % by default: close enough to use
the budget, with room for clock jitter and other clients of the account); a 429 cuts the rate by
a fifth (once per ``cooldown``: the requests already in flight answer 429 too, and they are
one signal, not several) and holds everyone back briefly; successes win the rate back
(additive increase, multiplicative decrease), never above the ceiling nor below a quarter of it.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

LIVE_RATE = 100.0
TEST_RATE = 25.0
DEFAULT_FRACTION = 0.92


def server_rate_for_key(key: str) -> float:
    """Stripe's documented limit for the key's mode (unknown keys: the stricter test limit)."""
    return LIVE_RATE if key.startswith(("sk_live_", "rk_live_")) else TEST_RATE


class RateLimiter:
    """Thread-safe pacing of request starts (a virtual-clock scheduler: each caller reserves
    the next free slot, then sleeps until it; ``burst`` slots may be taken back to back after an
    idle spell)."""

    def __init__(self, rate: float, *, burst: int = 2, min_rate: float | None = None,
                 cooldown: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be > 0")
        self.ceiling = rate
        self.min_rate = min(rate / 4 if min_rate is None else min_rate, rate)
        self.cooldown = cooldown
        self._cut_at = float("-inf")
        self._rate = rate
        self._burst = max(1, burst)
        self._clock = clock
        self._next = float("-inf")  # starts with `burst` slots banked
        self._lock = threading.Lock()
        self.throttled = 0  # 429s seen

    @classmethod
    def for_key(cls, key: str, fraction: float = DEFAULT_FRACTION) -> RateLimiter:
        return cls(server_rate_for_key(key) * fraction)

    @property
    def rate(self) -> float:
        return self._rate

    def reserve(self) -> float:
        """Reserve the next slot; returns how long to wait before using it."""
        with self._lock:
            now = self._clock()
            interval = 1.0 / self._rate
            slot = max(self._next, now - (self._burst - 1) * interval)
            self._next = slot + interval
            return max(0.0, slot - now)

    def acquire(self, stop: threading.Event | None = None) -> bool:
        """Wait for a slot; False when ``stop`` was set meanwhile (the slot is then wasted)."""
        wait = self.reserve()
        if wait <= 0:
            return not (stop is not None and stop.is_set())
        if stop is None:
            time.sleep(wait)
            return True
        return not stop.wait(wait)

    def throttle(self, pause: float = 0.25) -> None:
        """The server said 429: slow down, and hold every caller back for ``pause`` seconds."""
        with self._lock:
            self.throttled += 1
            now = self._clock()
            if now - self._cut_at >= self.cooldown:
                self._cut_at = now
                self._rate = max(self.min_rate, self._rate * 0.8)
            self._next = max(self._next, now + pause)

    def success(self) -> None:
        if self._rate < self.ceiling:
            with self._lock:
                self._rate = min(self.ceiling, self._rate + self.ceiling * 0.01)


def backoff(attempt: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**(attempt-1))]."""
    ceiling = min(cap, base * (2.0 ** max(0, min(attempt - 1, 30))))
    return (rng or random).uniform(0.0, ceiling)
