"""A Stripe fetch for the window: network on its own thread, vault work on the vault's thread.

- The requests (and their back-off waits) run on a daemon Python thread, one per fetch: never
  on the GUI thread, never on the vault thread.
- Every vault step of :class:`~identity_desktop.stripe_api.fetch.Fetcher` (read the key and the
  fetch state, commit a page with its cursor) becomes a ``session.run`` op on the vault's owner
  thread. Ops are GUI-thread objects, so the network thread asks the GUI thread to start each
  one (a queued signal) and then waits for the op's body to have run. Steps stay strictly
  sequential: a page is committed before the next request leaves.
- After each committed page the op's success callback (GUI thread) folds the page's summaries
  into the index with ``session.apply_changes``: the list grows while the fetch runs, even if
  the dialog was closed.
- Cancel (``cancel()``) stops after the page in flight; committed pages stay and the next fetch
  of the same filters resumes. Locking the vault cancels its ops: the fetch stops the same way.
- Results cross to the GUI thread as queued signals. Errors are ``IdentityDeskError``s with
  messages safe to show; anything else is shown generically by the receiver.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from identity_desktop.desk import Desk
from identity_desktop.errors import IdentityDeskError, VaultLockedError
from identity_desktop.stripe_api.client import access_for, resolve_key
from identity_desktop.stripe_api.fetch import Fetcher, FetchFilters, FetchSummary
from identity_desktop.stripe_api.retry import RetryPolicy, Sleeper
from identity_desktop.ui.operations import OpContext
from identity_desktop.ui.session import Session
from identity_desktop.vault.reports import UpsertResult
from identity_desktop.vault.store import Vault

log = logging.getLogger(__name__)

_POLL = 0.05  # seconds between checks while waiting for a vault step


class _VaultStopped(Exception):
    """The vault was locked (or the app is closing) while the fetch waited for it."""


class _Step:
    """One vault step handed from the network thread to the GUI thread and back."""

    def __init__(self, fn: Callable[[Vault], Any]) -> None:
        self.fn = fn
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None
        self.op: Any = None  # the VaultOp, once the GUI thread made it


class FetchWorker(QObject):
    """Build on the GUI thread, connect the signals, then :meth:`start` (once)."""

    sig_progress = Signal(object)  # FetchSummary (a snapshot: counts, pages, note)
    sig_finished = Signal(object)  # FetchSummary (also when cancelled or stopped by a lock)
    sig_failed = Signal(object)  # BaseException
    _sig_step = Signal(object)  # _Step, network thread -> GUI thread

    def __init__(self, session: Session, filters: FetchFilters, *, api_base: str | None = None,
                 policy: RetryPolicy | None = None, sleeper: Sleeper | None = None) -> None:
        super().__init__()  # no parent: the network thread may outlive a closed dialog
        self._session = session
        self._filters = filters
        self._api_base = api_base
        self._policy = policy
        self._sleeper = sleeper
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self.summary: FetchSummary | None = None
        self.mode: str | None = None  # "test" / "live", once the key was read
        self._sig_step.connect(self._start_step)

    # ---- GUI thread ---------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("a FetchWorker runs once")
        self._thread = threading.Thread(target=self._run, name="identity-desk-fetch",
                                        daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def join(self, timeout: float) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    @Slot(object)
    def _start_step(self, step: _Step) -> None:
        def body(desk: Desk, _ctx: OpContext) -> Any:
            try:
                step.value = step.fn(desk.vault)
                return step.value
            except BaseException as exc:
                step.error = exc
                raise
            finally:
                step.done.set()

        try:
            op = self._session.run(body, label="Saving fetched reports…")
        except Exception as exc:  # locked already, or the vault thread has stopped
            step.error = exc
            step.done.set()
            return
        op.success(self._applied).failure(lambda _exc: None)  # errors travel with the step
        step.op = op
        try:
            op.run_in_background()
        except RuntimeError as exc:
            step.error = exc
            step.done.set()

    def _applied(self, value: Any) -> None:
        if isinstance(value, UpsertResult) and value.changed:
            self._session.apply_changes(value.changed)

    # ---- network thread -------------------------------------------------------------------------
    def _vault_call(self, fn: Callable[[Vault], Any]) -> Any:
        step = _Step(fn)
        self._sig_step.emit(step)
        while not step.done.wait(_POLL):
            op = step.op
            if op is not None and op.is_cancelled:  # session.lock() or shutdown cancelled it
                raise _VaultStopped
        if isinstance(step.error, VaultLockedError):
            raise _VaultStopped
        if step.error is not None:
            raise step.error
        return step.value

    def _emit(self, signal: Any, value: object) -> None:
        try:
            signal.emit(value)
        except RuntimeError:  # the receiver side is gone (app closing): nothing to tell
            log.debug("fetch: result dropped, the window is gone")

    def _run(self) -> None:
        fetcher: Fetcher | None = None
        try:
            key, source = self._vault_call(resolve_key)
            access = access_for(key, source, self._api_base)
            self.mode = access.mode
            fetcher = Fetcher(access, self._filters, progress=self._progress,
                              cancelled=self._cancel.is_set, policy=self._policy,
                              sleeper=self._sleeper)
            self.summary = fetcher.run(self._vault_call)
        except _VaultStopped:
            self.summary = fetcher.summary if fetcher is not None else FetchSummary()
            self.summary.cancelled = True
        except BaseException as exc:
            log.info("fetch failed: %s", type(exc).__name__)
            self._emit(self.sig_failed, exc if isinstance(exc, IdentityDeskError)
                       else exc.with_traceback(None))
            return
        self._emit(self.sig_finished, self.summary)

    def _progress(self, summary: FetchSummary) -> None:
        snapshot = FetchSummary(added=summary.added, updated=summary.updated,
                                unchanged=summary.unchanged, pages=summary.pages,
                                requests=summary.requests, retries=summary.retries,
                                resumed=summary.resumed, note=summary.note)
        self._emit(self.sig_progress, snapshot)
