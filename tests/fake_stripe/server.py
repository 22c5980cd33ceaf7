"""The HTTP layer: a ThreadingHTTPServer speaking Stripe's wire protocol on 127.0.0.1.

Request pipeline (each step may answer and stop):
latency -> log -> auth (401) -> rate limit (429) -> fault plan -> route (404) ->
permission (403) -> idempotency (replay / 400 mismatch / 409 in use) -> endpoint ->
save idempotent result -> reply (or drop the connection, for a DROP_AFTER fault).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

import orjson

from . import errors
from .errors import StripeError
from .faults import Fault, FaultKind, FaultPlan
from .params import Params, parse_params
from .state import IdempotencyStore, SavedResponse, Store, TokenBucket

__all__ = ["DEFAULT_API_KEYS", "FakeStripe", "RequestRecord"]

log = logging.getLogger("tests.fake_stripe")

DEFAULT_API_KEYS: frozenset[str] = frozenset({"sk_test_fake", "rk_test_fake"})
DEFAULT_STRIPE_VERSION = "2026-07-29.dahlia"
REDACT_PERMISSION = "rak_identity_verification_session_write"

_Endpoint = Callable[[str, Params], bytes]
_ID = r"([^/]+)"


class RequestRecord(NamedTuple):
    """One received request, as the server parsed it (values are the raw strings)."""

    method: str
    path: str
    params: Params
    idempotency_key: str | None


class _Reply(NamedTuple):
    status: int
    body: bytes
    headers: dict[str, str]


class _Drop(Exception):
    """Close the connection without writing a response."""


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], fake: FakeStripe) -> None:
        self.fake = fake
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("fake stripe: connection error from %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like api.stripe.com
    server_version = "FakeStripe/1.0"
    sys_version = ""
    timeout = 30.0  # idle keep-alive connections are closed after this
    wbufsize = 1 << 16  # buffered: headers and body leave in one send (flushed per request)
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        # Without this, a small reply split over two segments waits ~40 ms for a delayed ACK.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.fake._register(self)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._unregister(self)

    def _dispatch(self) -> None:
        self.server.fake._handle(self)

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("fake stripe: " + format, *args)


class FakeStripe:
    """A local Stripe Identity API for tests and benchmarks. See the package docstring."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_keys: Iterable[str] = DEFAULT_API_KEYS,
        no_redact_keys: Iterable[str] = (),
        rate_limit: float | None = None,
        burst: int | None = None,
        latency: float = 0.0,
        redact_after_polls: int | None = 1,
        redact_delay: float | None = None,
        sensitive_requires_expand: bool = False,
        reports: Iterable[dict[str, Any]] = (),
    ) -> None:
        self.host = host
        self._port = port
        self.no_redact_keys: set[str] = set(no_redact_keys)
        self.api_keys: set[str] = set(api_keys) | self.no_redact_keys
        self.latency = latency
        self.store = Store(
            redact_after_polls=redact_after_polls,
            redact_delay=redact_delay,
            sensitive_requires_expand=sensitive_requires_expand,
        )
        self.faults = FaultPlan()
        self.idempotency = IdempotencyStore()
        self.requests: list[RequestRecord] = []
        self._bucket: TokenBucket | None = None
        self.set_rate_limit(rate_limit, burst)
        self._log_lock = threading.Lock()
        self._conn_lock = threading.Lock()
        self._conns: dict[int, tuple[socket.socket, threading.Thread]] = {}
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._routes: list[tuple[str, re.Pattern[str], _Endpoint, bool]] = [
            ("GET", re.compile(r"/v1/identity/verification_reports"),
             lambda _id, p: self.store.list_reports(p), False),
            ("GET", re.compile(rf"/v1/identity/verification_reports/{_ID}"),
             self.store.retrieve_report, False),
            ("GET", re.compile(rf"/v1/identity/verification_sessions/{_ID}"),
             self.store.retrieve_session, False),
            ("POST", re.compile(rf"/v1/identity/verification_sessions/{_ID}/redact"),
             self.store.redact, True),
        ]
        if reports:
            self.add_reports(reports)

    # ---- lifecycle -----------------------------------------------------------------------
    def start(self) -> FakeStripe:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _HTTPServer((self.host, self._port), self)
        self._port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-stripe-serve-{self._port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, cut open keep-alive connections and join every server thread."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        with self._conn_lock:
            self._stopping.set()
            conns = list(self._conns.values())
        httpd.shutdown()
        httpd.server_close()
        for sock, _ in conns:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for t in [thread, *(t for _, t in conns)]:
            if t is not None and t is not threading.current_thread():
                t.join(max(0.0, deadline - time.monotonic()))
        self._httpd = self._thread = None

    def __enter__(self) -> FakeStripe:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("FakeStripe is not running; use start() or `with`")
        return f"http://{self.host}:{self._port}"

    def _register(self, handler: _Handler) -> None:
        with self._conn_lock:
            self._conns[id(handler)] = (handler.connection, threading.current_thread())
            threading.current_thread().name = f"fake-stripe-conn-{self._port}"
            if self._stopping.is_set():
                with contextlib.suppress(OSError):
                    handler.connection.shutdown(socket.SHUT_RDWR)

    def _unregister(self, handler: _Handler) -> None:
        with self._conn_lock:
            self._conns.pop(id(handler), None)

    # ---- configuration and data ------------------------------------------------------------
    def set_rate_limit(self, rate: float | None, burst: int | None = None) -> None:
        """Requests/second (None = unlimited); ``burst`` defaults to max(1, rate/5)."""
        self.rate_limit = rate
        self._bucket = (
            None if rate is None else TokenBucket(rate, burst or max(1, round(rate / 5)))
        )

    @property
    def redact_effects(self) -> Counter[str]:
        """Session id -> redact calls that took effect (replays excluded)."""
        return self.store.redact_effects

    def add_reports(self, reports: Iterable[dict[str, Any]]) -> None:
        """Add (or replace) reports; creates a `verified` session for unknown sessions."""
        self.store.add_reports(reports)

    def add_session(
        self, session_id: str, status: str = "verified", **fields: Any
    ) -> dict[str, Any]:
        return self.store.add_session(session_id, status, **fields)

    def set_session_status(self, session_id: str, status: str) -> None:
        self.store.set_session_status(session_id, status)

    def get_report(self, report_id: str) -> dict[str, Any]:
        return self.store.get_report(report_id)

    def get_session(self, session_id: str) -> dict[str, Any]:
        return self.store.get_session(session_id)

    def complete_redactions(self, session_id: str | None = None) -> list[str]:
        return self.store.complete_redactions(session_id)

    def inject(self, kind: FaultKind | str, **options: Any) -> Fault:
        """Plan a fault: ``inject("drop_after", method="POST", path="*/redact", times=1)``.
        Options are those of ``FaultPlan.add``."""
        return self.faults.add(kind, **options)

    def requests_to(self, method: str, path: str) -> list[RequestRecord]:
        with self._log_lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    # ---- request handling ----------------------------------------------------------------
    def _handle(self, h: _Handler) -> None:
        request_id = "req_" + secrets.token_urlsafe(10).replace("-", "a").replace("_", "b")[:14]
        split = urlsplit(h.path)
        method, path = h.command, split.path
        length = int(h.headers.get("Content-Length") or 0)
        raw_body = h.rfile.read(length).decode("utf-8", "replace") if length > 0 else ""
        idem_key = h.headers.get("Idempotency-Key") if method == "POST" else None
        headers = {
            "Request-Id": request_id,
            "Stripe-Version": h.headers.get("Stripe-Version") or DEFAULT_STRIPE_VERSION,
        }
        if idem_key:
            headers["Idempotency-Key"] = idem_key
        drop_after, delay = False, 0.0
        try:
            if self.latency > 0 and self._stopping.wait(self.latency):
                raise _Drop
            try:
                params = parse_params(split.query)
                if raw_body:
                    params.update(parse_params(raw_body))
                params_error: StripeError | None = None
            except StripeError as exc:
                params, params_error = {}, exc
            with self._log_lock:
                self.requests.append(RequestRecord(method, path, params, idem_key))
            api_key = self._authenticate(h.headers.get("Authorization"))
            if self._bucket is not None and not self._bucket.try_acquire():
                raise errors.rate_limited()
            fault = self.faults.take(method, path)
            if fault is not None:
                self._apply_fault(fault, method, path, idem_key, params, headers)
                drop_after = fault.kind is FaultKind.DROP_AFTER
                delay = fault.delay if fault.kind is FaultKind.DELAY else 0.0
            if params_error is not None:
                raise params_error
            reply = self._route(method, path, params, api_key, idem_key, headers, delay)
        except StripeError as exc:
            reply = self._error_reply(exc, headers, h.headers.get("Authorization") or "")
        except _Drop:
            drop_after, reply = True, None
        except Exception:  # a bug in the fake: answer like Stripe would, keep the trace
            log.exception("fake stripe: unhandled error for %s %s", method, path)
            reply = self._error_reply(errors.api_error(), headers, "")
        if drop_after or reply is None:
            h.close_connection = True  # the socket is closed with no response written
            return
        h.send_response(reply.status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(reply.body)

    def _authenticate(self, authorization: str | None) -> str:
        if not authorization:
            raise errors.missing_api_key()
        scheme, _, key = authorization.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise errors.missing_api_key()
        if key not in self.api_keys:
            raise errors.invalid_api_key(key)
        return key

    def _apply_fault(
        self,
        fault: Fault,
        method: str,
        path: str,
        idem_key: str | None,
        params: Params,
        headers: dict[str, str],
    ) -> None:
        """Raise the faulted response or ``_Drop``; DROP_AFTER and DELAY act later."""
        if fault.kind is FaultKind.DROP_BEFORE:
            raise _Drop
        if fault.kind in (FaultKind.DROP_AFTER, FaultKind.DELAY):
            return
        exc = {
            FaultKind.SERVER_ERROR: lambda: errors.api_error(store=True),
            FaultKind.SERVER_ERROR_RETRY: lambda: errors.api_error(store=False),
            FaultKind.LOCK_TIMEOUT: errors.lock_timeout,
            FaultKind.RATE_LIMIT: errors.rate_limited,
        }[fault.kind]()
        if fault.kind is FaultKind.SERVER_ERROR_RETRY and fault.should_retry is None:
            exc.headers["Stripe-Should-Retry"] = "true"
        elif fault.should_retry is not None:
            exc.headers["Stripe-Should-Retry"] = "true" if fault.should_retry else "false"
        if fault.store is not None:
            exc.store = fault.store
        if exc.store and idem_key:
            reply = self._error_reply(exc, headers, "")
            fp = self._fingerprint(method, path, params)
            saved = SavedResponse(fp, reply.status, reply.body, exc.headers, headers["Request-Id"])
            self.idempotency.save_if_absent(idem_key, saved)
        raise exc

    @staticmethod
    def _fingerprint(method: str, path: str, params: Params) -> tuple[str, str, str]:
        return (method, path, orjson.dumps(params, option=orjson.OPT_SORT_KEYS).decode())

    def _route(
        self,
        method: str,
        path: str,
        params: Params,
        api_key: str,
        idem_key: str | None,
        headers: dict[str, str],
        delay: float = 0.0,
    ) -> _Reply:
        """Find the endpoint and run it; ``delay`` (a DELAY fault) is slept just before the
        endpoint runs, after an idempotency key has been reserved."""
        for route_method, pattern, endpoint, is_redact in self._routes:
            match = pattern.fullmatch(path)
            if match is None or route_method != method:
                continue
            object_id = unquote(match.group(1)) if match.groups() else ""
            if is_redact and api_key in self.no_redact_keys:
                raise errors.permission_denied(api_key, REDACT_PERMISSION)
            run = functools.partial(self._run, endpoint, object_id, params, delay)
            if method != "POST" or not idem_key:
                return _Reply(200, run(), headers)
            return self._idempotent(idem_key, method, path, params, headers, run)
        raise errors.unrecognized_url(method, path)

    def _run(self, endpoint: _Endpoint, object_id: str, params: Params, delay: float) -> bytes:
        if delay > 0 and self._stopping.wait(delay):
            raise _Drop
        return endpoint(object_id, params)

    def _idempotent(
        self,
        key: str,
        method: str,
        path: str,
        params: Params,
        headers: dict[str, str],
        run: Callable[[], bytes],
    ) -> _Reply:
        if len(key) > 255:
            raise StripeError(400, "invalid_request_error",
                              "Idempotency-Key values can be at most 255 characters long.",
                              store=False)
        fingerprint = self._fingerprint(method, path, params)
        state = self.idempotency.begin(key, fingerprint)
        if isinstance(state, SavedResponse):
            replay = {**headers, **state.headers, "Idempotent-Replayed": "true",
                      "Original-Request": state.request_id}
            return _Reply(state.status, state.body, replay)
        if state == "mismatch":
            raise errors.idempotency_mismatch(key)
        if state == "in_use":
            raise errors.idempotency_in_use(key)
        saved: SavedResponse | None = None
        try:
            body = run()
            saved = SavedResponse(fingerprint, 200, body, {}, headers["Request-Id"])
            return _Reply(200, body, headers)
        except StripeError as exc:
            if exc.store:
                reply = self._error_reply(exc, headers, "")
                saved = SavedResponse(fingerprint, reply.status, reply.body, dict(exc.headers),
                                      headers["Request-Id"])
            raise
        finally:
            self.idempotency.finish(key, saved)

    @staticmethod
    def _error_reply(exc: StripeError, headers: dict[str, str], authorization: str) -> _Reply:
        livemode = "_live_" in authorization
        body = orjson.dumps(exc.body(headers["Request-Id"], livemode))
        return _Reply(exc.status, body, {**headers, **exc.headers})
