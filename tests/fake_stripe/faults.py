"""Fault injection: a thread-safe plan of faults matched by HTTP method and path pattern.

Planned faults are consumed in the order they were added, by the first requests that match
them (``times`` requests each). A seeded random mode can add faults with a probability, for
soak tests; planned faults take precedence over random ones.
"""

from __future__ import annotations

import enum
import fnmatch
import random
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple

__all__ = ["DEFAULT_RANDOM_KINDS", "Fault", "FaultKind", "FaultPlan", "FiredFault"]


class FaultKind(enum.StrEnum):
    SERVER_ERROR = "server_error"
    """500 ``api_error``. Stored for idempotent replay (Stripe replays even a 500)."""
    SERVER_ERROR_RETRY = "server_error_retry"
    """500 ``api_error`` with ``Stripe-Should-Retry: true``; not stored, a retry can succeed."""
    LOCK_TIMEOUT = "lock_timeout"
    """409 ``lock_timeout`` (stripe-python retries 409s when retries are enabled)."""
    RATE_LIMIT = "rate_limit"
    """429 ``rate_limit``, as if the limiter had refused the request."""
    DROP_BEFORE = "drop_before"
    """Close the connection without a response and without acting."""
    DROP_AFTER = "drop_after"
    """Act (and store the idempotent result), then close without a response: a lost reply."""
    DELAY = "delay"
    """Sleep ``Fault.delay`` seconds, then handle the request normally (client timeouts)."""


DEFAULT_RANDOM_KINDS: tuple[FaultKind, ...] = (
    FaultKind.SERVER_ERROR_RETRY,
    FaultKind.LOCK_TIMEOUT,
    FaultKind.RATE_LIMIT,
    FaultKind.DROP_BEFORE,
    FaultKind.DROP_AFTER,
)


@dataclass
class Fault:
    """One planned fault. ``method`` and ``path`` may be ``"*"``; ``path`` is an fnmatch
    glob (``*`` also crosses ``/``) or a compiled regex matched with ``fullmatch``."""

    kind: FaultKind
    method: str = "*"
    path: str | re.Pattern[str] = "*"
    times: int = 1
    should_retry: bool | None = None
    """Adds ``Stripe-Should-Retry: true|false`` to the faulted response when set."""
    store: bool | None = None
    """Save an error response for idempotent replay; ``None`` = the kind's default."""
    delay: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        if self.method != "*" and self.method.upper() != method.upper():
            return False
        if isinstance(self.path, re.Pattern):
            return self.path.fullmatch(path) is not None
        return self.path == "*" or fnmatch.fnmatchcase(path, self.path)


class FiredFault(NamedTuple):
    kind: FaultKind
    method: str
    path: str


@dataclass
class _RandomMode:
    probability: float
    rng: random.Random
    kinds: tuple[FaultKind, ...]
    template: Fault


class FaultPlan:
    """Thread-safe fault queue. Use through ``FakeStripe.faults`` / ``FakeStripe.inject``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._planned: list[Fault] = []
        self._random: _RandomMode | None = None
        self.fired: list[FiredFault] = []

    def add(
        self,
        kind: FaultKind | str,
        *,
        method: str = "*",
        path: str | re.Pattern[str] = "*",
        times: int = 1,
        should_retry: bool | None = None,
        store: bool | None = None,
        delay: float = 0.0,
    ) -> Fault:
        if times < 1:
            raise ValueError("times must be >= 1")
        fault = Fault(FaultKind(kind), method, path, times, should_retry, store, delay)
        with self._lock:
            self._planned.append(fault)
        return fault

    def set_random(
        self,
        probability: float,
        *,
        seed: int,
        kinds: Sequence[FaultKind | str] = DEFAULT_RANDOM_KINDS,
        method: str = "*",
        path: str | re.Pattern[str] = "*",
        delay: float = 0.0,
    ) -> None:
        """Fault each matching request with ``probability``, kind drawn from ``kinds``.

        Deterministic for a given seed and request order (one RNG, drawn under a lock)."""
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be within [0, 1]")
        if not kinds:
            raise ValueError("kinds must not be empty")
        template = Fault(FaultKind.SERVER_ERROR, method, path, 1, None, None, delay)
        mode = _RandomMode(
            probability, random.Random(seed), tuple(FaultKind(k) for k in kinds), template
        )
        with self._lock:
            self._random = mode

    def clear_random(self) -> None:
        with self._lock:
            self._random = None

    def clear(self) -> None:
        """Drop planned faults and the random mode (``fired`` is kept)."""
        with self._lock:
            self._planned.clear()
            self._random = None

    def pending(self) -> list[Fault]:
        with self._lock:
            return [replace(f) for f in self._planned]

    def take(self, method: str, path: str) -> Fault | None:
        """Consume and return the fault for this request, if any."""
        with self._lock:
            for index, fault in enumerate(self._planned):
                if fault.matches(method, path):
                    fault.times -= 1
                    if fault.times <= 0:
                        del self._planned[index]
                    self.fired.append(FiredFault(fault.kind, method, path))
                    return replace(fault, times=1)
            mode = self._random
            if mode is None or not mode.template.matches(method, path):
                return None
            if mode.rng.random() >= mode.probability:
                return None
            kind = mode.rng.choice(mode.kinds)
            self.fired.append(FiredFault(kind, method, path))
            return replace(mode.template, kind=kind)
