"""Fetch verification reports from Stripe into the vault: page by page, incremental, resumable.

How Stripe lists: newest first (``created`` descending, ties in a fixed order); ``limit`` <= 100;
``starting_after=<id>`` continues strictly after that report in list order. Reports created
while we page appear at the *head* of the list, so walking backwards with cursors neither skips
nor repeats anything that existed when the first page was read.

State, in the vault's encrypted secrets (``fetch_state``), per *scope*: a keyed hash of the API
server, the key and the filters (test and live data, or two accounts, never share state).

- ``last_complete``: a created high-water mark. Some run of this scope reached the end of the
  list (``has_more`` false) and had seen the newest report it listed, created at this second.
- ``run``: the run in progress, if any: its list parameters (the created window fixed when it
  started), ``cursor`` (id and created of the last report of the last committed page),
  ``newest`` (largest created the run has seen) and ``pages``.

A fetch:

1. If the scope has a run in progress (cancelled, crashed, killed), continue it with the *stored*
   parameters plus ``starting_after=cursor``: pages already committed are not asked for again.
2. Then (or else) start a fresh run. Without an explicit created filter and with a high-water
   mark, it asks only for ``created[gte] = last_complete - OVERLAP``; an explicit created filter
   means "this window, all of it" (a way to refresh old reports).
3. Each page: its reports are upserted (one transaction), then the cursor is saved (a second
   one). A crash between the two leaves the cursor one page behind: that page is listed again
   and comes out "unchanged" (upsert is idempotent). A cut connection loses at most the page in
   flight.
4. ``has_more`` false: ``last_complete = max(last_complete, run.newest)`` and the run is cleared.

Why ``last_complete - OVERLAP`` misses nothing: a completed run listed every report of its
window that existed when its first page was read, and ``newest`` is the created of the newest
one. A report that run could not see was created later, so its created is ``>= newest`` up to
clock skew, or it sorted ahead of the first page with an *equal* created. ``gte`` includes equal
timestamps, and the overlap (5 minutes) also covers skew and Stripe's short delay before a new
report shows up in lists. The reports in the overlap are listed again and counted "unchanged".

Pages are requested one at a time (``starting_after`` followed by hand) rather than through
``auto_paging_iter``: each page must be committed, and its cursor saved, before the next request
leaves, and the cursor must be known to resume. Each request goes through
``StripeClient.raw_request`` on the list path (see ``_request``), which returns the JSON as sent.

If the cursor's report is gone (Stripe answers 400 for ``starting_after``), the run continues
without a cursor and with ``created[lte] = cursor.created``: everything newer than the cursor
is committed; equal timestamps are listed again, harmlessly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson

from identity_desktop.errors import StripeAccessError
from identity_desktop.report import validate_report
from identity_desktop.stripe_api.client import StripeAccess
from identity_desktop.stripe_api.retry import (
    Retrier,
    RetriesExhausted,
    RetryCancelled,
    RetryPolicy,
    Sleeper,
)
from identity_desktop.vault.reports import UpsertResult, upsert_reports
from identity_desktop.vault.store import Vault

__all__ = ["OVERLAP", "PAGE_SIZE", "FetchFilters", "FetchSummary", "Fetcher", "fetch_reports"]

log = logging.getLogger(__name__)

STATE_SECRET = "fetch_state"
STATE_VERSION = 1
OVERLAP = 300  # seconds listed again by an incremental fetch (ties, clock skew, list lag)
PAGE_SIZE = 100
WHAT = "listing verification reports"
LIST_URL = "/v1/identity/verification_reports"
# Stripe leaves a report's sensitive fields out of responses unless they are expanded; a
# reviewer working offline needs them (dates of birth, expiry, document numbers), so every page
# asks for them. They are still encrypted before they touch the disk.
SENSITIVE_EXPANDS = (
    "data.document.dob", "data.document.expiration_date", "data.document.number",
    "data.id_number.dob", "data.id_number.id_number",
)

T = TypeVar("T")
Progress = Callable[["FetchSummary"], None]
Cancelled = Callable[[], bool]
# vault_call(fn): run fn(vault) where the vault lives (its owner thread) and return the result.
VaultCall = Callable[[Callable[[Vault], Any]], Any]


@dataclass(frozen=True)
class FetchFilters:
    """Stripe's list filters for verification reports (epoch seconds for ``created``)."""

    created_gt: int | None = None
    created_gte: int | None = None
    created_lt: int | None = None
    created_lte: int | None = None
    type: str | None = None
    verification_session: str | None = None
    client_reference_id: str | None = None

    def created(self) -> dict[str, int]:
        bounds = {"gt": self.created_gt, "gte": self.created_gte,
                  "lt": self.created_lt, "lte": self.created_lte}
        return {op: value for op, value in bounds.items() if value is not None}

    def params(self) -> dict[str, Any]:
        """The list parameters, named as Stripe names them."""
        out: dict[str, Any] = {}
        if self.created():
            out["created"] = self.created()
        for name in ("type", "verification_session", "client_reference_id"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

    def canonical(self) -> str:
        return orjson.dumps(self.params(), option=orjson.OPT_SORT_KEYS).decode()


@dataclass
class FetchSummary:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0  # records that are not usable reports (counted, not stored)
    pages: int = 0
    requests: int = 0  # HTTP requests sent, retries included
    retries: int = 0
    resumed: bool = False  # an interrupted run was continued
    incremental: bool = False  # the fresh run asked only for what is new
    complete: bool = False
    cancelled: bool = False
    note: str = ""  # what is happening now ("rate limited: waiting 1.2 s"), for progress
    changed: list[list[Any]] = field(default_factory=list, repr=False)  # index summaries

    @property
    def fetched(self) -> int:
        return self.added + self.updated + self.unchanged

    def line(self) -> str:
        return (f"fetched {self.fetched} reports in {self.pages} pages: {self.added} added, "
                f"{self.updated} updated, {self.unchanged} unchanged")


def _scope(vault: Vault, access: StripeAccess, filters: FetchFilters) -> str:
    material = "\x00".join((access.base, access.mode, access.key, filters.canonical()))
    return vault.cipher.lookup(b"fetch-scope", material).hex()


def _load_state(vault: Vault) -> dict[str, Any]:
    state = vault.get_json(STATE_SECRET)
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
        return {"version": STATE_VERSION, "scopes": {}}
    state.setdefault("scopes", {})
    return state


class _CursorGone(Exception):
    """Stripe no longer knows the report a resume cursor names."""


class Fetcher:
    """One fetch, split by thread: requests run on the calling thread, everything that touches
    the vault runs through ``vault_call(fn)``, which must run ``fn(vault)`` wherever the vault
    lives and return its result (the window passes its vault-thread runner; the CLI calls
    directly). Calls are strictly sequential: a page is committed before the next request."""

    def __init__(self, access: StripeAccess, filters: FetchFilters | None = None, *,
                 progress: Progress | None = None, cancelled: Cancelled | None = None,
                 page_size: int = PAGE_SIZE, policy: RetryPolicy | None = None,
                 sleeper: Sleeper | None = None) -> None:
        if not 1 <= page_size <= 100:
            raise ValueError("page_size must be within 1..100")
        self.access = access
        self.filters = filters or FetchFilters()
        self.progress = progress
        self.cancelled = cancelled
        self.page_size = page_size
        self.retrier = Retrier(policy, sleeper=sleeper, cancelled=cancelled,
                               on_wait=self.on_wait)
        self.summary = FetchSummary()
        self.state: dict[str, Any] = {}
        self.scope: dict[str, Any] = {}
        self._vault_call: VaultCall = _unset_vault_call

    # ---- vault side (each runs inside vault_call) ---------------------------------------------
    def _load(self, vault: Vault) -> None:
        self.state = _load_state(vault)
        key = _scope(vault, self.access, self.filters)
        self.scope = self.state["scopes"].setdefault(key, {})

    def _save(self, vault: Vault) -> None:
        vault.set_json(STATE_SECRET, self.state)

    def save(self) -> None:
        self._vault_call(self._save)

    def fresh_run(self) -> dict[str, Any]:
        params = self.filters.params()
        mark = self.scope.get("last_complete")
        if "created" not in params and isinstance(mark, int):
            params["created"] = {"gte": max(0, mark - OVERLAP)}
            self.summary.incremental = True
        params["limit"] = self.page_size
        return {"params": params, "cursor": None, "newest": None, "pages": 0}

    def run(self, vault_call: VaultCall) -> FetchSummary:
        self._vault_call = vault_call
        vault_call(self._load)
        pending = self.scope.get("run")
        if pending is not None:  # interrupted earlier: finish it first, from its cursor
            self.summary.resumed = True
            if not self.walk(pending):
                return self.summary
        run = self.fresh_run()
        self.scope["run"] = run
        if self.walk(run):
            self.summary.complete = True
        return self.summary

    def _request(self, params: dict[str, Any]) -> dict[str, Any]:
        # ``raw_request`` is StripeClient's public call for a path: same auth, encoding and
        # typed errors as ``v1.identity.verification_reports.list``, but it hands back the
        # body exactly as sent (unknown fields and nesting untouched) without building
        # StripeObjects we would throw away: ~6x less CPU per 100-report page.
        response = self.access.client.raw_request("get", LIST_URL, **params,
                                                  expand=list(SENSITIVE_EXPANDS))
        body = orjson.loads(response.body)
        if (not isinstance(body, dict) or not isinstance(body.get("data"), list)
                or not isinstance(body.get("has_more"), bool)):
            raise StripeAccessError(f"Stripe's answer to {WHAT} is not a list object")
        return body

    def request(self, params: dict[str, Any]) -> dict[str, Any] | None:
        """One page, retried per the policy; None when cancelled while waiting."""
        import stripe

        before = self.retrier.attempts
        try:
            return self.retrier.call(lambda: self._request(params))
        except RetryCancelled:
            return None
        except stripe.InvalidRequestError as exc:
            if "starting_after" in params and exc.param == "starting_after":
                raise _CursorGone from None
            raise self.access.describe(exc, WHAT) from None
        except RetriesExhausted as exc:
            message = self.access.describe(exc.last, WHAT)
            raise StripeAccessError(
                f"{message}; gave up after {exc.attempts} attempts (pages fetched so far are "
                "kept: run the fetch again to resume)") from None
        except stripe.StripeError as exc:
            raise self.access.describe(exc, WHAT) from None
        finally:
            self.summary.requests += self.retrier.attempts - before
            self.summary.retries = sum(self.retrier.retries.values())
            self.summary.note = ""

    def walk(self, run: dict[str, Any]) -> bool:
        """Page through ``run`` to its end (True) or until cancelled (False)."""
        while True:
            if self.cancelled is not None and self.cancelled():
                self.summary.cancelled = True
                return False
            params = dict(run["params"])
            cursor = run.get("cursor")
            if cursor is not None:
                params["starting_after"] = cursor["id"]
            try:
                body = self.request(params)
            except _CursorGone:
                assert cursor is not None  # only raised for a request that had a cursor
                self.restart_before(run, cursor)
                continue
            if body is None:
                self.summary.cancelled = True
                return False
            self.commit(run, body)
            if not body["has_more"]:
                self.finish(run)
                return True

    def restart_before(self, run: dict[str, Any], cursor: dict[str, Any]) -> None:
        log.info("fetch: the resume cursor is no longer listed; continuing by created time")
        created = dict(run["params"].get("created") or {})
        created["lte"] = min(created.get("lte", cursor["created"]), cursor["created"])
        run["params"] = {**run["params"], "created": created}
        run["cursor"] = None
        self.save()

    def commit(self, run: dict[str, Any], body: dict[str, Any]) -> None:
        data: list[Any] = body["data"]
        if not data:
            if body["has_more"]:
                raise StripeAccessError(f"Stripe's answer to {WHAT} is an empty page that "
                                        "says more follow")
            return
        last = data[-1]
        if not (isinstance(last, dict) and isinstance(last.get("id"), str)
                and isinstance(last.get("created"), int)):
            raise StripeAccessError(f"Stripe's answer to {WHAT} ends with a record that has "
                                    "no usable 'id' and 'created'")
        if run["cursor"] is not None and run["cursor"]["id"] == last["id"]:
            raise StripeAccessError(f"Stripe's answer to {WHAT} repeats the previous page")
        good = [r for r in data if validate_report(r) is None]
        self.summary.rejected += len(data) - len(good)
        newest = max((r["created"] for r in good), default=None)
        if newest is not None and (run["newest"] is None or newest > run["newest"]):
            run["newest"] = newest
        run["cursor"] = {"id": last["id"], "created": last["created"]}
        run["pages"] += 1

        def store(vault: Vault) -> UpsertResult:
            result = upsert_reports(vault, good)
            self._save(vault)  # after the reports: a crash in between re-lists this page
            return result

        result = self._vault_call(store)
        s = self.summary
        s.added += result.added
        s.updated += result.updated
        s.unchanged += result.unchanged
        s.changed.extend(result.changed)
        s.pages += 1
        log.debug("fetch: page committed (%d records)", len(data))
        if self.progress is not None:
            self.progress(s)

    def finish(self, run: dict[str, Any]) -> None:
        mark = self.scope.get("last_complete")
        if run["newest"] is not None and (not isinstance(mark, int) or run["newest"] > mark):
            self.scope["last_complete"] = run["newest"]
        self.scope["run"] = None
        self.save()

    def on_wait(self, kind: str, seconds: float, attempt: int) -> None:
        label = {"rate_limit": "rate limited", "network": "connection failed",
                 "conflict": "Stripe busy (409)", "server": "Stripe error (5xx)"}.get(kind, kind)
        self.summary.note = f"{label}: retrying in {seconds:.1f} s"
        log.info("fetch: %s, retry %d in %.1f s", kind, attempt, seconds)
        if self.progress is not None:
            self.progress(self.summary)


def _unset_vault_call(fn: Callable[[Vault], T]) -> T:
    raise RuntimeError("Fetcher.run() was not called")


def fetch_reports(vault: Vault, access: StripeAccess, filters: FetchFilters | None = None, *,
                  progress: Progress | None = None, cancelled: Cancelled | None = None,
                  page_size: int = PAGE_SIZE, policy: RetryPolicy | None = None,
                  sleeper: Sleeper | None = None) -> FetchSummary:
    """List the reports matching ``filters`` into ``vault`` (see the module docstring), all on
    the calling thread.

    ``progress(summary)`` is called after each committed page and before each retry wait;
    ``cancelled()`` is polled between pages and during waits. A cancelled fetch returns its
    summary with ``cancelled`` set; the next fetch of the same filters resumes it. Raises
    :class:`StripeAccessError` (one clear line) when Stripe refuses or keeps failing.
    """
    fetcher = Fetcher(access, filters, progress=progress, cancelled=cancelled,
                      page_size=page_size, policy=policy, sleeper=sleeper)
    return fetcher.run(lambda fn: fn(vault))
