"""Is the Stripe API reachable? Qt's QNetworkInformation as a hint, a cheap probe as the answer.

- The hint (system reachability) is trusted only when it says *disconnected*: then we are
  offline without asking. Any other hint (online, local, site, unknown, or no backend at all)
  leads to a probe: one unauthenticated request to the API base; any HTTP answer (a 401 is the
  usual one) means the server is reachable. No key is sent and no rate-limit budget is used.
- Unknown reachability is not offline: until a probe has answered, the state is UNKNOWN and
  "Sync now" still works.
- "Work offline" (the user's choice) overrides everything and suppresses automatic syncs.
- While not online, the probe is repeated every ``retry_ms`` so a network that comes back
  without a system notification is noticed; ``sig_came_online`` fires when ONLINE follows
  OFFLINE (possibly through UNKNOWN), not when the first probe after start-up succeeds.
- Probes are made only while the monitor is *active* (the window has redactions to send):
  an app with nothing queued never contacts Stripe just to learn that it could.
- Tests drive it with :meth:`set_hint` (``use_system=False``) and a local server as the API.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from enum import StrEnum

from PySide6.QtCore import QObject, QTimer, Signal, Slot

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 5.0  # seconds
RETRY_MS = 30_000


class Reachability(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"
    UNKNOWN = "unknown"


def probe(base: str, timeout: float = PROBE_TIMEOUT) -> bool:
    """True when the server at ``base`` answers HTTP at all (no key sent)."""
    request = urllib.request.Request(base.rstrip("/") + "/v1/", method="GET",
                                     headers={"User-Agent": "identity-desk-probe"})
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True  # 401/404: the server is there
    except (OSError, ValueError):
        return False


class NetworkMonitor(QObject):
    sig_changed = Signal(object)  # Reachability (the effective state)
    sig_came_online = Signal()
    sig_probed = Signal(bool)  # a probe answered: reachable or not
    _sig_probed = Signal(int, bool)  # generation, reachable (from the probe thread)

    def __init__(self, api_base: Callable[[], str], *, use_system: bool = True,
                 retry_ms: int = RETRY_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._api_base = api_base
        self._hint = Reachability.UNKNOWN
        self._probe_ok: bool | None = None
        self._work_offline = False
        self._active = False
        self._state = Reachability.UNKNOWN
        self._was_offline = False
        self._generation = 0
        self._probing = False
        self._sig_probed.connect(self._on_probed)
        self._retry = QTimer(self)
        self._retry.setInterval(retry_ms)
        self._retry.timeout.connect(self.probe_now)
        self.system_backend: str | None = None
        if use_system:
            self._watch_system()

    # -- state ----------------------------------------------------------------------------------
    @property
    def state(self) -> Reachability:
        return self._state

    @property
    def hint(self) -> Reachability:
        return self._hint

    @property
    def work_offline(self) -> bool:
        return self._work_offline

    def set_work_offline(self, offline: bool) -> None:
        self._work_offline = bool(offline)
        self._update()
        if not offline:
            self.probe_now()

    @property
    def active(self) -> bool:
        return self._active

    def set_active(self, active: bool) -> None:
        """Whether there is anything to send (probes and retries happen only then)."""
        if active == self._active:
            return
        self._active = active
        if active:
            self.probe_now()
        else:
            self._retry.stop()

    def set_hint(self, hint: Reachability) -> None:
        """The system's view (from QNetworkInformation, or a test)."""
        self._hint = Reachability(hint)
        if self._hint is Reachability.OFFLINE:
            self._generation += 1  # a probe still running answers for the old network
            self._probe_ok = None
            self._update()
        else:
            self.probe_now()

    # -- probing --------------------------------------------------------------------------------
    def probe_now(self, *, force: bool = False) -> None:
        """Ask the server (in the background) unless offline by choice or by the system's
        word, or inactive (``force``: the user asked for a sync)."""
        if self._work_offline or self._hint is Reachability.OFFLINE or self._probing \
                or not (self._active or force):
            return
        self._probing = True
        generation = self._generation
        base = self._api_base()

        def run() -> None:
            ok = probe(base)
            with contextlib.suppress(RuntimeError):  # the monitor is gone (window closed)
                self._sig_probed.emit(generation, ok)

        threading.Thread(target=run, name="identity-desk-probe", daemon=True).start()

    @Slot(int, bool)
    def _on_probed(self, generation: int, ok: bool) -> None:
        self._probing = False
        if generation != self._generation:
            self.probe_now()  # the network changed meanwhile: ask again
            return
        self._probe_ok = ok
        self._update()
        self.sig_probed.emit(ok)

    def _update(self) -> None:
        if self._work_offline or self._hint is Reachability.OFFLINE or self._probe_ok is False:
            state = Reachability.OFFLINE
        elif self._probe_ok:
            state = Reachability.ONLINE
        else:
            state = Reachability.UNKNOWN
        if state is not Reachability.ONLINE and not self._work_offline and self._active:
            self._retry.start()
        else:
            self._retry.stop()
        previous, self._state = self._state, state
        if state is previous:
            return
        log.info("network: %s", state)
        came_back = state is Reachability.ONLINE and self._was_offline
        if state is not Reachability.UNKNOWN:  # offline -> unknown -> online is a return too
            self._was_offline = state is Reachability.OFFLINE
        self.sig_changed.emit(state)
        if came_back:
            self.sig_came_online.emit()

    # -- the system's hint ------------------------------------------------------------------------
    def _watch_system(self) -> None:
        try:
            from PySide6.QtNetwork import QNetworkInformation
        except ImportError:
            return
        try:
            if not QNetworkInformation.loadDefaultBackend():
                return
            info = QNetworkInformation.instance()
        except Exception:  # no backend on this system: the probe alone decides
            return
        if info is None:
            return
        self.system_backend = info.backendName()
        info.reachabilityChanged.connect(self._on_system)
        self._on_system(info.reachability())

    def _on_system(self, reachability: object) -> None:
        from PySide6.QtNetwork import QNetworkInformation

        r = QNetworkInformation.Reachability
        if reachability == r.Disconnected:
            self.set_hint(Reachability.OFFLINE)
        elif reachability == r.Online:
            self.set_hint(Reachability.ONLINE)
        else:  # Local, Site, Unknown: maybe a proxy or an intranet server; the probe decides
            self.set_hint(Reachability.UNKNOWN)
