"""Server-side state: reports, sessions, redaction progress, idempotency, rate limiting.

All mutation happens under ``Store.lock``. Endpoints return the serialized JSON body
(built under the lock); the ``get_*`` helpers return deep copies, never live objects.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from . import errors
from .data import make_session, redact_report, redact_session, strip_unexpanded
from .params import Params

__all__ = ["REDACTABLE_STATUSES", "IdempotencyStore", "SavedResponse", "Store", "TokenBucket"]

REDACTABLE_STATUSES = ("requires_input", "verified")
SESSION_STATUSES = ("requires_input", "processing", "verified", "canceled")
LIST_URL = "/v1/identity/verification_reports"
_LIST_PARAMS = frozenset({"limit", "starting_after", "ending_before", "created", "type",
                          "verification_session", "client_reference_id", "expand"})
_RANGE_OPS: dict[str, Callable[[int, int], bool]] = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


def _clone(obj: Any) -> Any:
    """Deep copy of a JSON-shaped value (much faster than copy.deepcopy)."""
    return orjson.loads(orjson.dumps(obj))


def _check_params(params: Params, allowed: Iterable[str]) -> None:
    allowed = set(allowed)
    for name in params:
        if name not in allowed:
            raise errors.unknown_parameter(name)


def _as_int(name: str, value: Any) -> int:
    if not isinstance(value, str):
        raise errors.invalid_param(name, f"Invalid integer: {value!r}", "parameter_invalid_integer")
    try:
        return int(value)
    except ValueError:
        raise errors.invalid_param(
            name, f"Invalid integer: {value}", "parameter_invalid_integer"
        ) from None


def _as_str(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise errors.invalid_param(name, f"Invalid string: {value!r}", "parameter_invalid_string")
    return value


def _expand_set(params: Params) -> set[str]:
    expand = params.get("expand", [])
    if isinstance(expand, str):
        expand = [expand]
    if not isinstance(expand, list) or not all(isinstance(e, str) for e in expand):
        raise errors.invalid_param("expand", "Invalid array", "parameter_invalid_array")
    return set(expand)


def _only_expand(params: Params) -> set[str]:
    """The ``expand`` set of an endpoint that takes no other parameter."""
    _check_params(params, {"expand"})
    return _expand_set(params)


def _existing(objects: dict[str, dict[str, Any]], kind: str, object_id: str) -> dict[str, Any]:
    """``objects[object_id]``, or Stripe's 404 for it."""
    found = objects.get(object_id)
    if found is None:
        raise errors.no_such(kind, object_id)
    return found


def _created_filter(value: Any) -> Callable[[int], bool]:
    if isinstance(value, str):
        exact = _as_int("created", value)
        return lambda created: created == exact
    if not isinstance(value, dict):
        raise errors.invalid_param("created", "Invalid created: expected an integer or a hash.")
    bounds: list[tuple[Callable[[int, int], bool], int]] = []
    for op, raw in value.items():
        if op not in _RANGE_OPS:
            raise errors.unknown_parameter(f"created[{op}]")
        bounds.append((_RANGE_OPS[op], _as_int(f"created[{op}]", raw)))
    return lambda created: all(cmp(created, bound) for cmp, bound in bounds)


def _field_equals(name: str, wanted: str) -> Callable[[dict[str, Any]], bool]:
    return lambda report: report.get(name) == wanted


@dataclass
class _Redaction:
    started: float
    polls: int = 0


class Store:
    """Reports (kept sorted by ``(created, id)``) and sessions, guarded by one lock."""

    def __init__(
        self,
        *,
        redact_after_polls: int | None = 1,
        redact_delay: float | None = None,
        sensitive_requires_expand: bool = False,
    ) -> None:
        if redact_after_polls is None and redact_delay is None:
            raise ValueError("set redact_after_polls and/or redact_delay")
        self.lock = threading.RLock()
        self.redact_after_polls = redact_after_polls
        self.redact_delay = redact_delay
        self.sensitive_requires_expand = sensitive_requires_expand
        self.reports: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.redact_effects: Counter[str] = Counter()
        self._asc: list[tuple[int, str]] = []  # (created, id) ascending; lists read it backwards
        self._by_session: dict[str, list[str]] = {}
        self._pending: dict[str, _Redaction] = {}

    # ---- data set-up -------------------------------------------------------------------
    def add_reports(self, reports: Iterable[dict[str, Any]]) -> None:
        with self.lock:
            for src in reports:
                report = _clone(src)
                rid = report["id"]
                old = self.reports.get(rid)
                if old is not None:
                    self._asc.remove((old["created"], rid))
                    sid_old = old.get("verification_session")
                    if sid_old:
                        self._by_session[sid_old].remove(rid)
                self.reports[rid] = report
                self._asc.append((report["created"], rid))
                sid = report.get("verification_session")
                if sid:
                    self._by_session.setdefault(sid, []).append(rid)
                    known = self.sessions.get(sid)
                    if known is None:
                        self.sessions[sid] = make_session(
                            sid,
                            created=report["created"],
                            type=report.get("type", "document"),
                            livemode=report.get("livemode", False),
                            client_reference_id=report.get("client_reference_id"),
                            report=report,
                        )
                    elif (known.get("redaction") or {}).get("status") == "redacted":
                        redact_report(report)
            self._asc.sort()

    def add_session(
        self, session_id: str, status: str = "verified", **fields: Any
    ) -> dict[str, Any]:
        with self.lock:
            rids = self._by_session.get(session_id, [])
            latest = max((self.reports[r] for r in rids), key=lambda r: r["created"], default=None)
            session = make_session(session_id, status=status, report=latest, **fields)
            self.sessions[session_id] = session
            return _clone(session)

    def set_session_status(self, session_id: str, status: str) -> None:
        with self.lock:
            self.sessions[session_id]["status"] = status

    def get_report(self, report_id: str) -> dict[str, Any]:
        with self.lock:
            self._tick()
            return _clone(self.reports[report_id])

    def get_session(self, session_id: str) -> dict[str, Any]:
        with self.lock:
            self._tick()
            return _clone(self.sessions[session_id])

    # ---- redaction progress ------------------------------------------------------------
    def _complete(self, session_id: str) -> None:
        self._pending.pop(session_id, None)
        redact_session(self.sessions[session_id])
        for rid in self._by_session.get(session_id, []):
            redact_report(self.reports[rid])

    def _tick(self, polled: str | None = None) -> None:
        """Advance pending redactions: ``polled`` is a session that was just GET."""
        now = time.monotonic()
        for sid, progress in list(self._pending.items()):
            if sid == polled:
                progress.polls += 1
            polls, delay = self.redact_after_polls, self.redact_delay
            by_polls = polls is not None and progress.polls > polls
            by_time = delay is not None and now - progress.started >= delay
            if by_polls or by_time:
                self._complete(sid)

    def complete_redactions(self, session_id: str | None = None) -> list[str]:
        """Finish pending redactions now (all, or one session); returns the sessions done."""
        with self.lock:
            done = [session_id] if session_id is not None else list(self._pending)
            done = [sid for sid in done if sid in self._pending]
            for sid in done:
                self._complete(sid)
            return done

    # ---- endpoints (return the JSON body, serialized under the lock) ---------------------
    def list_reports(self, params: Params) -> bytes:
        _check_params(params, _LIST_PARAMS)
        limit = _as_int("limit", params.get("limit", "10"))
        if limit < 1:
            raise errors.invalid_param("limit", "This value must be greater than or equal to 1.",
                                       "parameter_invalid_integer")
        if limit > 100:
            raise errors.invalid_param("limit", "This value must be less than or equal to 100.",
                                       "parameter_invalid_integer")
        after = params.get("starting_after")
        before = params.get("ending_before")
        if after is not None and before is not None:
            raise errors.invalid_param(
                "ending_before",
                "You may only specify one of these parameters: ending_before, starting_after.",
            )
        checks: list[Callable[[dict[str, Any]], bool]] = []
        if "created" in params:
            created_ok = _created_filter(params["created"])
            checks.append(lambda r: created_ok(r["created"]))
        for name in ("type", "verification_session", "client_reference_id"):
            if name in params:
                wanted = _as_str(name, params[name])
                checks.append(_field_equals(name, wanted))
        expand = _expand_set(params)

        with self.lock:
            self._tick()
            if after is not None or before is not None:
                cursor_name = "starting_after" if after is not None else "ending_before"
                cursor_id = _as_str(cursor_name, after if after is not None else before)
                cursor = self.reports.get(cursor_id)
                if cursor is None:
                    raise errors.no_such(
                        "verification_report", cursor_id, status=400, param=cursor_name
                    )
                key = (cursor["created"], cursor_id)
            else:
                key = (0, "")
            if before is not None:  # the `limit` items just newer than the cursor
                scan = range(bisect.bisect_right(self._asc, key), len(self._asc))
            else:
                hi = bisect.bisect_left(self._asc, key) if after is not None else len(self._asc)
                scan = range(hi - 1, -1, -1)
            found: list[dict[str, Any]] = []
            for i in scan:
                report = self.reports[self._asc[i][1]]
                if all(check(report) for check in checks):
                    found.append(report)
                    if len(found) > limit:
                        break
            has_more = len(found) > limit
            page = found[:limit]
            if before is not None:  # found oldest first; a list is newest first
                page.reverse()
            data = [self._report_out(r, expand, "data.") for r in page]
            listing = {"object": "list", "url": LIST_URL, "has_more": has_more, "data": data}
            return orjson.dumps(listing)

    def _report_out(self, report: dict[str, Any], expand: set[str], prefix: str) -> dict[str, Any]:
        """The report as returned; a copy only when fields must be hidden (callers serialize
        under the lock, so the live object can be handed out otherwise)."""
        if not self.sensitive_requires_expand:
            return report
        out: dict[str, Any] = _clone(report)
        strip_unexpanded(out, expand, prefix)
        return out

    def retrieve_report(self, report_id: str, params: Params) -> bytes:
        expand = _only_expand(params)
        with self.lock:
            self._tick()
            report = _existing(self.reports, "verification_report", report_id)
            return orjson.dumps(self._report_out(report, expand, ""))

    def _session_out(self, session: dict[str, Any], expand: set[str]) -> dict[str, Any]:
        out = dict(session)  # shallow: only top-level fields are replaced, then serialized
        if self.sensitive_requires_expand and "verified_outputs" not in expand:
            out["verified_outputs"] = None
        last = out.get("last_verification_report")
        if "last_verification_report" in expand and last in self.reports:
            prefix = "last_verification_report."
            nested = {e.removeprefix(prefix) for e in expand if e.startswith(prefix)}
            out["last_verification_report"] = self._report_out(self.reports[last], nested, "")
        return out

    def retrieve_session(self, session_id: str, params: Params) -> bytes:
        expand = _only_expand(params)
        with self.lock:
            session = _existing(self.sessions, "verification_session", session_id)
            self._tick(polled=session_id)  # may complete its redaction (in place)
            return orjson.dumps(self._session_out(session, expand))

    def redact(self, session_id: str, params: Params) -> bytes:
        expand = _only_expand(params)
        with self.lock:
            self._tick()
            session = _existing(self.sessions, "verification_session", session_id)
            status = session["status"]
            if status not in REDACTABLE_STATUSES:
                raise errors.StripeError(
                    400,
                    "invalid_request_error",
                    f"This VerificationSession has status `{status}` and cannot be redacted. "
                    "Only VerificationSessions with status `requires_input` or `verified` can "
                    "be redacted.",
                )
            if status == "requires_input":
                session["status"] = "canceled"
            if session.get("redaction") is None:
                session["redaction"] = {"status": "processing"}
                self._pending[session_id] = _Redaction(started=time.monotonic())
            self.redact_effects[session_id] += 1
            return orjson.dumps(self._session_out(session, expand))


@dataclass
class SavedResponse:
    fingerprint: tuple[str, str, str]
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    request_id: str = ""


class IdempotencyStore:
    """First response per Idempotency-Key, plus the keys whose request is still running."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._saved: dict[str, SavedResponse] = {}
        self._running: set[str] = set()

    def begin(self, key: str, fingerprint: tuple[str, str, str]) -> SavedResponse | str:
        """``SavedResponse`` to replay, or ``"mismatch"``, ``"in_use"`` or ``"new"``
        (``"new"`` reserves the key until ``finish``/``abort``)."""
        with self._lock:
            saved = self._saved.get(key)
            if saved is not None:
                return saved if saved.fingerprint == fingerprint else "mismatch"
            if key in self._running:
                return "in_use"
            self._running.add(key)
            return "new"

    def finish(self, key: str, response: SavedResponse | None) -> None:
        with self._lock:
            self._running.discard(key)
            if response is not None:
                self._saved.setdefault(key, response)

    def save_if_absent(self, key: str, response: SavedResponse) -> None:
        with self._lock:
            if key not in self._running:
                self._saved.setdefault(key, response)

    def clear(self) -> None:
        with self._lock:
            self._saved.clear()


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` stored; starts full."""

    def __init__(self, rate: float, burst: int) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def try_acquire(self) -> bool:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False
