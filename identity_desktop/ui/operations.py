"""Background operations on the vault's owner thread (Anki's ``CollectionOp`` pattern).

    VaultOp(runner, body, parent=widget, label="Importing…")
        .success(on_result).failure(on_error).progress(on_progress).finally_(on_done)
        .run_in_background()

Rules this module guarantees:

- **One owner.** The vault's SQLite connection is only ever used on the :class:`VaultRunner`
  thread (a ``QThread`` running one worker ``QObject``). The vault is created or opened *there*
  and every later call (import, get_report, lock) is a submitted body run there, one at a time,
  in submission order. Order is what makes ``lock`` safe: it runs after whatever was queued.
- **Bodies never touch widgets.** A body gets an :class:`OpContext` with
  ``progress(done, total, text)`` and ``cancelled()``, and returns a plain value.
- **Results come back as signals.** Result, error and progress cross to the GUI thread as queued
  signals of the ``VaultOp`` (which lives on the GUI thread); callbacks run there. If the op's
  ``parent`` widget has been destroyed meanwhile, or a ``valid_while`` guard says the result is
  stale (the vault was locked since), the callbacks are dropped.
- **Errors never leak personal data.** An :class:`IdentityDeskError` message is written for the
  user and shown as it is; any other exception is shown as a generic message and logged by type
  name only (its text or traceback may hold report values).
- **Cancel** sets a flag the body polls; an op cancelled before it started is skipped (only its
  ``finally_`` callbacks run).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import QMessageBox, QWidget

from identity_desktop.errors import IdentityDeskError

log = logging.getLogger(__name__)

GENERIC_ERROR = ("Something went wrong. Nothing in the vault was lost. The details are not shown "
                 "because they may contain personal data.")
_PROGRESS_INTERVAL = 0.05  # seconds between progress signals; the last one is always sent


def user_message(exc: BaseException) -> str:
    """What the user may read about ``exc``: our own messages as they are, nothing else."""
    if isinstance(exc, IdentityDeskError):
        return str(exc)
    return GENERIC_ERROR


def show_error(parent: QWidget | None, exc: BaseException, title: str = "Identity Desk") -> None:
    """A window-modal, non-blocking message box (``open()``, not ``exec()``)."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, user_message(exc),
                      QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("errorBox")
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()


class OpContext:
    """What a body may use: report progress, ask whether it was cancelled. Thread-safe."""

    def __init__(self, op: VaultOp) -> None:
        self._op = op
        self._last = 0.0

    def progress(self, done: int, total: int, text: str = "") -> None:
        now = time.monotonic()
        if done < total and now - self._last < _PROGRESS_INTERVAL:
            return  # a 100k-row import would otherwise flood the GUI's event queue
        self._last = now
        self._op.sig_progress.emit(int(done), int(total), text)

    def cancelled(self) -> bool:
        return self._op.is_cancelled


Body = Callable[[OpContext], Any]


class VaultOp(QObject):
    """One unit of vault work; build it, attach callbacks, then :meth:`run_in_background`."""

    sig_progress = Signal(object, object, str)  # done, total, text (object: counts may be > 2**31)
    sig_finished = Signal()  # after every callback ran (or was dropped); for tests and chaining
    _sig_outcome = Signal(str, object)  # "ok" | "error" | "skipped", value

    def __init__(self, runner: VaultRunner, body: Body, *, parent: QWidget | None = None,
                 label: str = "") -> None:
        super().__init__()  # no Qt parent: the op must outlive a destroyed widget safely
        self._runner = runner
        self._body = body
        self._parent = parent
        self.label = label
        self._cancel = threading.Event()
        self._on_success: list[tuple[Callable[[Any], object], QObject | None]] = []
        self._on_failure: list[tuple[Callable[[BaseException], object], QObject | None]] = []
        self._on_finally: list[tuple[Callable[[], object], QObject | None]] = []
        self._on_progress: list[tuple[Callable[[int, int, str], object], QObject | None]] = []
        self._guards: list[Callable[[], bool]] = []
        self.outcome: str | None = None
        # Bound methods of this GUI-thread object: Qt queues these calls to the GUI thread.
        self._sig_outcome.connect(self._deliver)
        self.sig_progress.connect(self._relay_progress)

    # -- building ----------------------------------------------------------------------------
    # Each callback belongs to an ``owner`` widget (default: the op's parent) and is dropped if
    # that widget was destroyed before the result arrived.
    def success(self, fn: Callable[[Any], object], *, owner: QObject | None = None) -> VaultOp:
        self._on_success.append((fn, owner or self._parent))
        return self

    def failure(self, fn: Callable[[BaseException], object], *,
                owner: QObject | None = None) -> VaultOp:
        """Replaces the default error box for this op."""
        self._on_failure.append((fn, owner or self._parent))
        return self

    def progress(self, fn: Callable[[int, int, str], object], *,
                 owner: QObject | None = None) -> VaultOp:
        self._on_progress.append((fn, owner or self._parent))
        return self

    def finally_(self, fn: Callable[[], object], *, owner: QObject | None = None) -> VaultOp:
        self._on_finally.append((fn, owner or self._parent))
        return self

    def valid_while(self, guard: Callable[[], bool]) -> VaultOp:
        """Drop success/failure callbacks if ``guard()`` is false when the result arrives."""
        self._guards.append(guard)
        return self

    def run_in_background(self) -> VaultOp:
        self._runner.submit(self)
        return self

    # -- control -----------------------------------------------------------------------------
    def cancel(self) -> None:
        self._cancel.set()

    @property
    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    # -- worker side ---------------------------------------------------------------------------
    def _execute(self) -> None:
        """Runs on the vault thread."""
        if self._cancel.is_set():
            self._sig_outcome.emit("skipped", None)
            return
        try:
            result = self._body(OpContext(self))
        except BaseException as exc:
            # Type name only: the message or traceback may hold report values.
            level = logging.INFO if isinstance(exc, IdentityDeskError) else logging.WARNING
            log.log(level, "operation %r failed: %s", self.label or "vault", type(exc).__name__)
            self._sig_outcome.emit("error", exc.with_traceback(None))
            return
        self._sig_outcome.emit("ok", result)

    # -- GUI side ------------------------------------------------------------------------------
    @staticmethod
    def _alive(owner: QObject | None) -> bool:
        return owner is None or shiboken6.isValid(owner)

    def _relay_progress(self, done: int, total: int, text: str) -> None:
        if self.outcome is None and all(g() for g in self._guards):
            for fn, owner in self._on_progress:
                if self._alive(owner):
                    fn(done, total, text)

    def _deliver(self, outcome: str, value: object) -> None:
        self.outcome = outcome
        self._runner._finished(self)
        try:
            fresh = all(guard() for guard in self._guards)
            if outcome == "ok" and fresh:
                for fn, owner in self._on_success:
                    if self._alive(owner):
                        fn(value)
            elif outcome == "error" and fresh:
                assert isinstance(value, BaseException)
                if self._on_failure:
                    for on_failure, owner in self._on_failure:
                        if self._alive(owner):
                            on_failure(value)
                elif self._alive(self._parent):
                    show_error(self._parent, value)  # type: ignore[arg-type]
            for done, owner in self._on_finally:
                if self._alive(owner):
                    done()
        finally:
            self.sig_finished.emit()


class _Worker(QObject):
    """Lives on the vault thread; runs submitted ops one by one."""

    sig_run = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.sig_run.connect(self._run)

    @Slot(object)
    def _run(self, op: VaultOp) -> None:
        op._execute()


class VaultRunner(QObject):
    """The vault's owner thread. Create one per window session; call :meth:`shutdown` once."""

    sig_busy = Signal(bool)  # True while any op is queued or running

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("identity-desk-vault")
        self._worker = _Worker()
        self._worker.moveToThread(self._thread)
        self._live: set[VaultOp] = set()  # keeps ops alive until their outcome is delivered
        self._thread.start()

    def submit(self, op: VaultOp) -> None:
        if not self._thread.isRunning():
            raise RuntimeError("the vault thread has been shut down")
        was_idle = not self._live
        self._live.add(op)
        if was_idle:
            self.sig_busy.emit(True)
        self._worker.sig_run.emit(op)  # queued: the worker lives on the vault thread

    def run(self, body: Body, *, parent: QWidget | None = None, label: str = "") -> VaultOp:
        """Shorthand for ``VaultOp(self, body, ...)`` (not yet started)."""
        return VaultOp(self, body, parent=parent, label=label)

    def _finished(self, op: VaultOp) -> None:
        self._live.discard(op)
        if not self._live:
            self.sig_busy.emit(False)

    @property
    def busy(self) -> bool:
        return bool(self._live)

    def cancel_all(self) -> None:
        for op in list(self._live):
            op.cancel()

    def call_blocking(self, fn: Callable[[], Any], timeout: float = 30.0) -> bool:
        """Run ``fn`` on the vault thread and wait for it (shutdown only: it blocks the GUI).
        Returns False if it did not finish in time."""
        if not self._thread.isRunning():
            return False
        done = threading.Event()

        def body(_ctx: OpContext) -> None:
            try:
                fn()
            finally:
                done.set()

        self.submit(VaultOp(self, body, label="shutdown"))
        return done.wait(timeout)

    def shutdown(self, fn: Callable[[], Any] | None = None, timeout: float = 30.0) -> None:
        """Cancel everything, run ``fn`` (e.g. lock the vault) on the thread, stop the thread."""
        if not self._thread.isRunning():
            return
        self.cancel_all()
        self.call_blocking(fn or (lambda: None), timeout)
        self._thread.quit()
        self._thread.wait(int(timeout * 1000))
