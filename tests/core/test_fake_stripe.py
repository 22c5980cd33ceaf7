"""Tests of the fake Stripe server itself, driven by the real ``stripe`` package (16.x).

Nothing here mocks or patches ``stripe``: every call goes through ``StripeClient`` and its
default HTTP client (requests) over real sockets to 127.0.0.1.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import stripe

from tests.fake_stripe import REDACTED, FakeStripe, FaultKind, make_report

REDACT_PATH = "/v1/identity/verification_sessions/*/redact"
LIST_PATH = "/v1/identity/verification_reports"
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def server() -> Iterator[FakeStripe]:
    with FakeStripe() as fake:
        yield fake


def make_client(
    server: FakeStripe, key: str = "sk_test_fake", retries: int = 0, **kwargs: Any
) -> stripe.StripeClient:
    return stripe.StripeClient(
        key, base_addresses={"api": server.base_url}, max_network_retries=retries, **kwargs
    )


def newest_first(reports: list[dict[str, Any]]) -> list[str]:
    return [r["id"] for r in sorted(reports, key=lambda r: (r["created"], r["id"]), reverse=True)]


def fake_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("fake-stripe")]


# ---- listing ---------------------------------------------------------------------------------


def test_auto_paging_250_reports_all_once_in_order(server: FakeStripe) -> None:
    # Three reports per second, so ties on `created` are broken by id (descending).
    reports = [make_report(i, created=1_700_000_000 + i // 3) for i in range(250)]
    server.add_reports(reports)
    client = make_client(server)

    page = client.v1.identity.verification_reports.list({"limit": 100, "created": {"gte": 1}})
    ids = [r.id for r in page.auto_paging_iter()]

    assert ids == newest_first(reports)
    list_calls = server.requests_to("GET", LIST_PATH)
    assert len(list_calls) == 3  # 100 + 100 + 50, the last with has_more false
    assert [c.params.get("starting_after") for c in list_calls] == [None, ids[99], ids[199]]
    assert all(c.params["limit"] == "100" and c.params["created"] == {"gte": "1"}
               for c in list_calls)


def test_ending_before_pages_backwards(server: FakeStripe) -> None:
    reports = [make_report(i, created=1_700_000_000 + i) for i in range(30)]
    server.add_reports(reports)
    ids = newest_first(reports)
    client = make_client(server)

    page = client.v1.identity.verification_reports.list({"limit": 5, "ending_before": ids[20]})
    assert [r.id for r in page.data] == ids[15:20]
    assert page.has_more is True
    # stripe-python walks an ending_before list towards newer items, each page reversed.
    assert [r.id for r in page.auto_paging_iter()] == list(reversed(ids[:20]))


def test_filters_reach_server_as_stripe_params_and_filter(server: FakeStripe) -> None:
    a = make_report(1, created=100, session="vs_A")
    b = make_report(2, created=200, session="vs_B", type="id_number")
    c = make_report(3, created=300, session="vs_A")
    a["client_reference_id"], b["client_reference_id"], c["client_reference_id"] = "u1", "u2", "u1"
    server.add_reports([a, b, c])
    client = make_client(server)
    reports = client.v1.identity.verification_reports

    cases: list[tuple[Any, dict[str, Any], list[str]]] = [
        ({"created": 200}, {"created": "200"}, [b["id"]]),
        ({"created": {"gt": 100}}, {"created": {"gt": "100"}}, [c["id"], b["id"]]),
        ({"created": {"gte": 200, "lt": 300}}, {"created": {"gte": "200", "lt": "300"}}, [b["id"]]),
        ({"created": {"lte": 200}}, {"created": {"lte": "200"}}, [b["id"], a["id"]]),
        ({"type": "id_number"}, {"type": "id_number"}, [b["id"]]),
        ({"verification_session": "vs_A"}, {"verification_session": "vs_A"}, [c["id"], a["id"]]),
        ({"client_reference_id": "u2"}, {"client_reference_id": "u2"}, [b["id"]]),
        ({"type": "document", "client_reference_id": "u1", "created": {"lt": 300}},
         {"type": "document", "client_reference_id": "u1", "created": {"lt": "300"}}, [a["id"]]),
    ]
    for params, on_the_wire, expected in cases:
        got = [r.id for r in reports.list({"limit": 10, **params}).auto_paging_iter()]
        assert got == expected, params
        assert server.requests[-1].params == {"limit": "10", **on_the_wire}


def test_list_validation_errors(server: FakeStripe) -> None:
    server.add_reports([make_report(0, created=1)])
    reports = make_client(server).v1.identity.verification_reports
    for limit in (0, 101):
        with pytest.raises(stripe.InvalidRequestError) as info:
            reports.list({"limit": limit})
        assert info.value.http_status == 400
        assert info.value.param == "limit"
    with pytest.raises(stripe.InvalidRequestError) as info:
        reports.list({"starting_after": "vr_unknown"})
    assert info.value.http_status == 400
    assert info.value.code == "resource_missing"
    assert info.value.param == "starting_after"
    with pytest.raises(stripe.InvalidRequestError) as info:
        reports.list(cast(Any, {"bogus": "1"}))
    assert info.value.code == "parameter_unknown"
    assert len(reports.list().data) == 1  # default limit works


# ---- auth and errors -------------------------------------------------------------------------


def test_bad_key_is_401_with_masked_key(server: FakeStripe) -> None:
    client = make_client(server, key="sk_test_notARealKey9876")
    with pytest.raises(stripe.AuthenticationError) as info:
        client.v1.identity.verification_reports.list()
    err = info.value
    assert err.http_status == 401
    assert err.request_id and err.request_id.startswith("req_")
    body = err.json_body["error"]  # type: ignore[index]
    assert body["type"] == "invalid_request_error"
    assert body["message"] == "Invalid API Key provided: sk_test_***********9876"
    assert "notARealKey" not in str(err)


def test_missing_objects_are_404(server: FakeStripe) -> None:
    client = make_client(server)
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.identity.verification_reports.retrieve("vr_missing")
    assert (info.value.http_status, info.value.code) == (404, "resource_missing")
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.identity.verification_sessions.retrieve("vs_missing")
    assert info.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.identity.verification_sessions.redact("vs_missing")
    assert info.value.http_status == 404
    assert server.redact_effects == {}


def test_restricted_key_without_redact_permission_gets_403() -> None:
    with FakeStripe(no_redact_keys={"rk_test_readonly"}) as server:
        server.add_session("vs_1")
        client = make_client(server, key="rk_test_readonly")
        assert client.v1.identity.verification_sessions.retrieve("vs_1").status == "verified"
        with pytest.raises(stripe.PermissionError) as info:
            client.v1.identity.verification_sessions.redact("vs_1")
        assert info.value.http_status == 403
        assert server.redact_effects == {}


# ---- redaction and idempotency ---------------------------------------------------------------


def test_redact_idempotent_replay_has_one_effect(server: FakeStripe) -> None:
    server.add_session("vs_1")
    sessions = make_client(server).v1.identity.verification_sessions

    first = sessions.redact("vs_1", options={"idempotency_key": "k1"})
    second = sessions.redact("vs_1", options={"idempotency_key": "k1"})

    assert first.redaction is not None and first.redaction.status == "processing"
    assert first.last_response is not None and second.last_response is not None
    assert "idempotent-replayed" not in first.last_response.headers
    assert second.last_response.headers["idempotent-replayed"] == "true"
    assert second.last_response.idempotency_key == "k1"
    assert second.to_dict() == first.to_dict()
    assert server.redact_effects == {"vs_1": 1}

    server.add_session("vs_2")
    with pytest.raises(stripe.IdempotencyError):  # same key, other request
        sessions.redact("vs_2", options={"idempotency_key": "k1"})
    assert server.redact_effects == {"vs_1": 1}


def test_lost_response_then_retry_with_same_key_has_one_effect(server: FakeStripe) -> None:
    server.add_session("vs_1", status="requires_input")
    sessions = make_client(server).v1.identity.verification_sessions
    server.inject(FaultKind.DROP_AFTER, method="POST", path=REDACT_PATH)

    with pytest.raises(stripe.APIConnectionError):
        sessions.redact("vs_1", options={"idempotency_key": "lost-1"})
    assert server.redact_effects == {"vs_1": 1}  # it happened; only the reply was lost
    assert server.get_session("vs_1")["status"] == "canceled"

    retried = sessions.redact("vs_1", options={"idempotency_key": "lost-1"})
    assert retried.status == "canceled"
    assert retried.last_response is not None
    assert retried.last_response.headers["idempotent-replayed"] == "true"
    assert server.redact_effects == {"vs_1": 1}

    # A fresh key is a new request, which Stripe refuses for a now-canceled session.
    with pytest.raises(stripe.InvalidRequestError, match="canceled"):
        sessions.redact("vs_1", options={"idempotency_key": "lost-2"})
    assert server.redact_effects == {"vs_1": 1}


def test_drop_before_acting_has_no_effect(server: FakeStripe) -> None:
    server.add_session("vs_1")
    sessions = make_client(server).v1.identity.verification_sessions
    server.inject(FaultKind.DROP_BEFORE, method="POST", path=REDACT_PATH)
    with pytest.raises(stripe.APIConnectionError):
        sessions.redact("vs_1", options={"idempotency_key": "d1"})
    assert server.redact_effects == {}
    sessions.redact("vs_1", options={"idempotency_key": "d1"})
    assert server.redact_effects == {"vs_1": 1}


def test_stripe_retries_reuse_its_idempotency_key(server: FakeStripe) -> None:
    server.add_session("vs_1")
    sessions = make_client(server, retries=2).v1.identity.verification_sessions
    server.inject(FaultKind.DROP_AFTER, method="POST", path=REDACT_PATH)
    server.inject(FaultKind.SERVER_ERROR_RETRY, method="POST", path=REDACT_PATH)

    result = sessions.redact("vs_1")  # no key given: stripe-python generates one

    assert result.redaction is not None and result.redaction.status == "processing"
    calls = server.requests_to("POST", "/v1/identity/verification_sessions/vs_1/redact")
    assert len(calls) == 3
    assert calls[0].idempotency_key and len({c.idempotency_key for c in calls}) == 1
    assert server.redact_effects == {"vs_1": 1}


def test_error_faults_map_to_stripe_exceptions(server: FakeStripe) -> None:
    server.add_session("vs_1")
    sessions = make_client(server).v1.identity.verification_sessions

    server.inject(FaultKind.SERVER_ERROR, method="POST", path=REDACT_PATH)
    with pytest.raises(stripe.APIError) as info:
        sessions.redact("vs_1", options={"idempotency_key": "e1"})
    assert info.value.http_status == 500
    # Stripe replays even a 500 for the same key: the retry gets the same error, no effect.
    with pytest.raises(stripe.APIError) as info:
        sessions.redact("vs_1", options={"idempotency_key": "e1"})
    assert info.value.headers is not None
    assert info.value.headers["idempotent-replayed"] == "true"
    assert server.redact_effects == {}

    server.inject(FaultKind.LOCK_TIMEOUT, method="GET")
    with pytest.raises(stripe.APIError) as info:
        sessions.retrieve("vs_1")
    assert info.value.http_status == 409
    assert info.value.code is None  # stripe-python only sets .code on 400/402/404 errors
    assert info.value.error is not None and info.value.error.code == "lock_timeout"

    server.inject(FaultKind.RATE_LIMIT, method="*", path="/v1/identity/*", times=2)
    for _ in range(2):
        with pytest.raises(stripe.RateLimitError):
            sessions.retrieve("vs_1")
    assert sessions.retrieve("vs_1").id == "vs_1"
    assert server.faults.pending() == []


def test_concurrent_use_of_one_key_is_a_conflict(server: FakeStripe) -> None:
    server.add_session("vs_1")
    sessions = make_client(server).v1.identity.verification_sessions
    server.inject(FaultKind.DELAY, method="POST", path=REDACT_PATH, delay=0.4)
    outcome: list[object] = []
    worker = threading.Thread(
        target=lambda: outcome.append(sessions.redact("vs_1", options={"idempotency_key": "c1"}))
    )
    worker.start()
    deadline = time.monotonic() + 2
    while not server.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)  # let the first request reserve the key
    with pytest.raises(stripe.APIError) as info:
        sessions.redact("vs_1", options={"idempotency_key": "c1"})
    worker.join(5)
    assert info.value.http_status == 409
    assert info.value.json_body["error"]["type"] == "idempotency_error"  # type: ignore[index]
    assert len(outcome) == 1
    assert server.redact_effects == {"vs_1": 1}


def test_redaction_completes_after_polling(server: FakeStripe) -> None:
    session = "vs_to_redact"
    mine = [make_report(i, created=1_700_000_000 + i, session=session) for i in range(3)]
    other = make_report(9, created=1_700_000_100, session="vs_other")
    server.add_reports([*mine, other])
    client = make_client(server)

    redacted = client.v1.identity.verification_sessions.redact(session)
    assert redacted.status == "verified"
    assert redacted.redaction is not None and redacted.redaction.status == "processing"

    statuses = []
    for _ in range(10):  # bounded poll
        polled = client.v1.identity.verification_sessions.retrieve(session)
        assert polled.redaction is not None
        statuses.append(polled.redaction.status)
        if polled.redaction.status == "redacted":
            break
    assert statuses == ["processing", "redacted"]  # default: one poll sees processing

    for report in client.v1.identity.verification_reports.list(
        {"verification_session": session}
    ).auto_paging_iter():
        doc = report.document
        assert doc is not None
        assert doc.first_name == doc.last_name == doc.number == REDACTED
        assert doc.dob is not None and doc.dob.year == REDACTED
        assert doc.address is not None and doc.address.line1 == REDACTED
        if "id_number" in report.to_dict():
            assert report.id_number is not None and report.id_number.id_number == REDACTED
    untouched = client.v1.identity.verification_reports.retrieve(other["id"])
    assert untouched.document is not None
    assert untouched.document.first_name == other["document"]["first_name"]


def test_redaction_by_delay_and_status_rules() -> None:
    with FakeStripe(redact_after_polls=None, redact_delay=0.2) as server:
        server.add_reports([make_report(4, created=10, session="vs_1")])
        server.add_session("vs_busy", status="processing")
        sessions = make_client(server).v1.identity.verification_sessions
        with pytest.raises(stripe.InvalidRequestError, match="processing") as info:
            sessions.redact("vs_busy")
        assert info.value.http_status == 400

        server.set_session_status("vs_1", "processing")
        with pytest.raises(stripe.InvalidRequestError, match="processing"):
            sessions.redact("vs_1")
        server.set_session_status("vs_1", "verified")
        sessions.redact("vs_1")
        deadline = time.monotonic() + 3
        status = None
        while time.monotonic() < deadline:
            redaction = sessions.retrieve("vs_1").redaction
            status = redaction.status if redaction else None
            if status == "redacted":
                break
            time.sleep(0.05)
        assert status == "redacted"
        assert server.get_report(make_report(4, created=10, session="vs_1")["id"])[
            "document"]["first_name"] == REDACTED


def test_sensitive_fields_need_expand_when_enabled() -> None:
    with FakeStripe(sensitive_requires_expand=True) as server:
        report = make_report(3, created=5)  # document + id_number checks
        server.add_reports([report])
        reports = make_client(server).v1.identity.verification_reports
        plain = reports.list().data[0]
        assert plain.document is not None and plain.document.dob is None
        assert plain.document.first_name == report["document"]["first_name"]
        expanded = reports.list({"expand": ["data.document.dob", "data.id_number.id_number"]})
        got = expanded.data[0].to_dict()
        assert got["document"]["dob"] == report["document"]["dob"]
        assert got["id_number"]["id_number"] == report["id_number"]["id_number"]
        assert server.requests[-1].params["expand"] == [
            "data.document.dob", "data.id_number.id_number"
        ]
        one = reports.retrieve(report["id"], {"expand": ["document.number"]})
        assert one.document is not None and one.document.number == report["document"]["number"]


# ---- rate limit, latency, random faults ------------------------------------------------------


def test_rate_limit_returns_429() -> None:
    with FakeStripe(rate_limit=2.0, burst=2) as server:
        server.add_session("vs_1")
        sessions = make_client(server).v1.identity.verification_sessions
        errors: list[stripe.RateLimitError] = []
        for _ in range(6):
            try:
                sessions.retrieve("vs_1")
            except stripe.RateLimitError as err:
                errors.append(err)
        assert len(errors) >= 3
        assert errors[0].http_status == 429
        assert errors[0].json_body["error"]["code"] == "rate_limit"  # type: ignore[index]
        time.sleep(0.6)  # the bucket refills
        assert sessions.retrieve("vs_1").id == "vs_1"


def test_latency_is_applied() -> None:
    with FakeStripe(latency=0.05) as server:
        server.add_session("vs_1")
        sessions = make_client(server).v1.identity.verification_sessions
        started = time.monotonic()
        for _ in range(3):
            sessions.retrieve("vs_1")
        assert time.monotonic() - started >= 0.15


def test_random_faults_are_reproducible_with_a_seed() -> None:
    def run(seed: int) -> list[str]:
        with FakeStripe() as server:
            server.add_session("vs_1")
            server.faults.set_random(0.4, seed=seed)
            sessions = make_client(server).v1.identity.verification_sessions
            outcomes = []
            for _ in range(30):
                try:
                    sessions.retrieve("vs_1")
                    outcomes.append("ok")
                except stripe.StripeError as err:
                    outcomes.append(type(err).__name__)
            assert len(server.faults.fired) == sum(o != "ok" for o in outcomes)
            return outcomes

    first = run(7)
    assert first == run(7)
    assert "ok" in first and len(set(first)) >= 3


# ---- lifecycle -------------------------------------------------------------------------------


def test_shutdown_is_clean_with_open_and_stalled_connections() -> None:
    with FakeStripe() as server:
        server.add_session("vs_1")
        client = make_client(server)
        client.v1.identity.verification_sessions.retrieve("vs_1")  # leaves a keep-alive socket
        server.inject(FaultKind.DELAY, method="GET", delay=30.0)
        stalled: list[BaseException] = []

        def call() -> None:
            try:
                make_client(server).v1.identity.verification_sessions.retrieve("vs_1")
            except stripe.APIConnectionError as err:
                stalled.append(err)

        worker = threading.Thread(target=call)
        worker.start()
        time.sleep(0.2)
        started = time.monotonic()
    assert time.monotonic() - started < 2.0
    worker.join(5)
    assert not worker.is_alive() and len(stalled) == 1
    assert fake_threads() == []


def test_module_runs_as_a_standalone_server() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_stripe", "--port", "0", "--reports", "12",
         "--latency", "0.001"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        client = stripe.StripeClient(
            "sk_test_fake", base_addresses={"api": base_url}, max_network_retries=0
        )
        page = client.v1.identity.verification_reports.list({"limit": 5})
        assert len(list(page.auto_paging_iter())) == 12
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode == 0
