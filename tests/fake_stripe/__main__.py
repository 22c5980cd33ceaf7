"""``python -m tests.fake_stripe``: serve a populated fake until interrupted.

Prints ``http://127.0.0.1:PORT`` on the first line of stdout (then flushes), so a parent
process can read it, e.g. for benchmarks that must not share the client's interpreter.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from types import FrameType

from .data import make_report
from .faults import FaultKind
from .server import FakeStripe


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.fake_stripe", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--reports", type=int, default=0, help="number of generated reports")
    p.add_argument("--start", type=int, default=1_700_000_000, help="created of report 0")
    p.add_argument("--step", type=int, default=60, help="seconds between reports' created")
    p.add_argument("--rate-limit", type=float, default=None, help="requests/s (25 test, 100 live)")
    p.add_argument("--burst", type=int, default=None)
    p.add_argument("--latency", type=float, default=0.0, help="seconds added to each request")
    p.add_argument("--redact-after-polls", type=int, default=1)
    p.add_argument("--fault-probability", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fault-kinds", default="", help="comma-separated FaultKind values")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    reports = [make_report(i, created=args.start + i * args.step) for i in range(args.reports)]
    server = FakeStripe(
        host=args.host,
        port=args.port,
        rate_limit=args.rate_limit,
        burst=args.burst,
        latency=args.latency,
        redact_after_polls=args.redact_after_polls,
        reports=reports,
    )
    if args.fault_probability > 0:
        kinds = [FaultKind(k) for k in args.fault_kinds.split(",") if k]
        if kinds:
            server.faults.set_random(args.fault_probability, seed=args.seed, kinds=kinds)
        else:
            server.faults.set_random(args.fault_probability, seed=args.seed)
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    with server:
        print(server.base_url, flush=True)
        while not stop.wait(0.5):
            pass
        started = time.monotonic()
    elapsed = time.monotonic() - started
    print(f"served {len(server.requests)} requests; stopped in {elapsed:.2f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
