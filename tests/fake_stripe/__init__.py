"""A local fake of the Stripe Identity API, for the test suite and benchmarks.

A real HTTP server (``http.server.ThreadingHTTPServer`` on 127.0.0.1, daemon threads,
HTTP/1.1 keep-alive) that the real ``stripe`` package talks to through
``StripeClient(..., base_addresses={"api": server.base_url})``.

Endpoints: ``GET /v1/identity/verification_reports`` (list: limit, cursors, created /
type / verification_session / client_reference_id filters), ``GET
/v1/identity/verification_reports/{id}``, ``GET /v1/identity/verification_sessions/{id}``,
``POST /v1/identity/verification_sessions/{id}/redact``.

Typical use::

    with FakeStripe(rate_limit=None, latency=0.0) as server:
        server.add_reports([make_report(i, created=1_700_000_000 + i) for i in range(250)])
        server.inject(FaultKind.DROP_AFTER, method="POST", path="*/redact")
        client = stripe.StripeClient("sk_test_fake", base_addresses={"api": server.base_url},
                                     max_network_retries=0)
        ...
        assert server.redact_effects[session_id] == 1

Redaction: ``redact`` sets ``redaction.status = "processing"``; the first
``redact_after_polls`` GETs of that session still see ``processing``, the next one sees
``redacted`` (and/or it completes ``redact_delay`` seconds after the redact). On completion
every personal field of the session's reports becomes ``"[redacted]"``.

Run standalone: ``python -m tests.fake_stripe --port 0 --reports 1000 --rate-limit 25``.
"""

from __future__ import annotations

from .data import REDACTED, make_report, make_session
from .errors import StripeError, mask_api_key
from .faults import DEFAULT_RANDOM_KINDS, Fault, FaultKind, FaultPlan, FiredFault
from .server import DEFAULT_API_KEYS, FakeStripe, RequestRecord

__all__ = [
    "DEFAULT_API_KEYS",
    "DEFAULT_RANDOM_KINDS",
    "REDACTED",
    "FakeStripe",
    "Fault",
    "FaultKind",
    "FaultPlan",
    "FiredFault",
    "RequestRecord",
    "StripeError",
    "make_report",
    "make_session",
    "mask_api_key",
]
