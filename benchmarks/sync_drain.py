"""Benchmark: drain 1,000 queued redactions against a rate-limited local Stripe server.

The fake server (``tests.fake_stripe``) enforces ``rate_limit`` requests/s (token bucket) and
adds ``latency`` seconds to every request; the sync engine runs as the CLI runs it (owner thread
plus workers, a test-mode key, so paced at its default fraction of 25 requests/s).

Reported: ``drain_seconds`` (queue start to every session accepted by Stripe, i.e. every redact
request answered), ``floor_seconds`` (``sessions / rate_limit``: no client can drain faster),
``fraction_of_floor_rate`` (floor / drain; goal >= 0.90), and ``complete_seconds`` (until every
session is polled to ``redacted`` and redacted locally; one poll each here). Correctness is
checked on the way: exactly one redact effect per session, nothing left behind.

Run alone: ``python -m benchmarks.sync_drain [--sessions N] [--rate-limit R] [--latency S]``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from identity_desktop.outbox.pacing import DEFAULT_FRACTION, RateLimiter
from identity_desktop.outbox.store import OutboxState, list_entries, queue_sessions
from identity_desktop.outbox.sync import SyncEngine, SyncOptions
from identity_desktop.stripe_api.client import build_client
from identity_desktop.vault.crypto import KdfParams
from identity_desktop.vault.reports import upsert_reports
from identity_desktop.vault.store import Vault
from tests.fake_stripe import FakeStripe, FaultKind, make_report

KEY = "sk_test_51BenchSyncDrainKey4Hq8Zm2"
_PENDING = (OutboxState.QUEUED, OutboxState.SENDING)


def run(sessions: int = 1000, rate_limit: float = 25, latency: float = 0.02, *,
        faults: float = 0.0, seed: int = 1) -> dict[str, Any]:
    """Drain ``sessions`` queued redactions; ``faults`` is the probability of a transient
    fault (500 replayed or retryable, lost response, 409, 429) per request."""
    reports = [make_report(i, created=1_700_000_000 + i) for i in range(sessions)]
    session_ids = [r["verification_session"] for r in reports]
    with tempfile.TemporaryDirectory(prefix="idesk-bench-") as tmp, \
            FakeStripe(api_keys={KEY}, rate_limit=rate_limit, latency=latency,
                       redact_after_polls=0) as server:
        server.add_reports(reports)
        if faults:
            server.faults.set_random(faults, seed=seed, kinds=[
                FaultKind.SERVER_ERROR, FaultKind.SERVER_ERROR_RETRY, FaultKind.DROP_AFTER,
                FaultKind.LOCK_TIMEOUT, FaultKind.RATE_LIMIT])
        kdf = KdfParams(salt=os.urandom(16), iterations=1, memory_kib=8 * 1024, lanes=1)
        vault = Vault.create(Path(tmp) / "bench.idvault", "benchmark", kdf=kdf)
        try:
            upsert_reports(vault, reports)
            queue_sessions(vault, session_ids)
            # The limiter the app would use for this server's limit (25/s = a test key's).
            limiter = RateLimiter(rate_limit * DEFAULT_FRACTION)
            engine = SyncEngine(vault, build_client(KEY, server.base_url), limiter,
                                options=SyncOptions(poll_interval=0.5, poll_cap=2.0,
                                                    backoff_base=0.2, backoff_cap=2.0))
            start = time.perf_counter()
            drained = None
            engine.reload()
            deadline = start + max(120.0, 6 * sessions / rate_limit)
            while (engine.active() or engine.in_flight) and time.perf_counter() < deadline:
                engine.pump(0.5)
                if drained is None and not any(e.state in _PENDING for e in engine.active()):
                    drained = time.perf_counter() - start
            complete = time.perf_counter() - start
            engine.finish()
            entries = list_entries(vault)
        finally:
            vault.lock()
        effects = server.redact_effects
        states = {str(s): sum(1 for e in entries if e.state is s) for s in OutboxState}
        exactly_once = all(effects[s] == 1 for s in session_ids)
    floor = sessions / rate_limit
    drain = drained if drained is not None else float("nan")
    return {
        "name": "sync_drain",
        "sessions": sessions,
        "rate_limit": rate_limit,
        "latency": latency,
        "faults": faults,
        "drain_seconds": round(drain, 3),
        "floor_seconds": round(floor, 3),
        "fraction_of_floor_rate": round(floor / drain, 4) if drained else 0.0,
        "goal_fraction": 0.90,
        "complete_seconds": round(complete, 3),
        "redact_requests": engine.stats.requests,
        "polls": engine.stats.polls,
        "throttled_429": engine.stats.throttled,
        "retries": engine.stats.retries,
        "states": states,
        "exactly_once": exactly_once,
        # The rate goal is for a clean run; under faults the goal is nothing lost or doubled.
        "ok": bool(drained) and exactly_once and states["redacted"] == sessions
        and (faults > 0 or floor / drain >= 0.90),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sync_drain")
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--rate-limit", type=float, default=25)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--faults", type=float, default=0.0)
    args = parser.parse_args(argv)
    result = run(args.sessions, args.rate_limit, args.latency, faults=args.faults)
    print(json.dumps(result, indent=2))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
