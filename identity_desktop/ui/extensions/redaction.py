"""Redaction in the window: "Request redaction…" (list selection, list context menu, detail
pane), the queue dock, "Sync now", "Work offline", online detection with automatic sync when
the network comes back, and queue counts in the status bar.

Queueing always goes through a confirmation that says how many verification sessions it
covers and that redaction is irreversible. Nothing is sent at that moment: the queue is sent
by a sync (automatic on reconnect unless working offline, or "Sync now").

Entries handed off to an admin (``identity-desk redact export``) are not this laptop's to
send: on their own they neither make the app probe for the network nor start a sync on
reconnect (a reviewer without a key would only get a "no key" note for them). "Sync now"
still looks at them when there is a key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QMessageBox, QToolButton

from identity_desktop.desk import Desk
from identity_desktop.index import F, RedactionState
from identity_desktop.outbox import store
from identity_desktop.outbox.store import OutboxState
from identity_desktop.ui.dialogs.confirm import ask_to_confirm
from identity_desktop.ui.network import NetworkMonitor, Reachability
from identity_desktop.ui.operations import OpContext
from identity_desktop.ui.panes.queue_pane import QueuePane, QueueSnapshot, snapshot
from identity_desktop.ui.resources import icon
from identity_desktop.ui.sync_controller import SyncController, SyncStatus

if TYPE_CHECKING:
    from identity_desktop.ui.main_window import MainWindow

# States whose session is already in hand: asking again would not make a second entry.
_IN_QUEUE = {RedactionState.QUEUED, RedactionState.SENDING, RedactionState.PROCESSING,
             RedactionState.REDACTED, RedactionState.FAILED}
USE_SYSTEM_NETWORK = True  # tests turn the system hint off and drive NetworkMonitor.set_hint


class RedactionFeature(QObject):
    def __init__(self, window: MainWindow, *, use_system_network: bool = USE_SYSTEM_NETWORK
                 ) -> None:
        super().__init__(window)
        from identity_desktop.stripe_api.client import resolve_api_base

        self.window = window
        self.session = window.session
        self.monitor = NetworkMonitor(lambda: resolve_api_base(window.context.api_base),
                                      use_system=use_system_network, parent=self)
        self.controller = SyncController(self.session, api_base=lambda: window.context.api_base,
                                         parent=self)
        self.confirm_box: QMessageBox | None = None
        self.detail_button: QToolButton | None = None
        self._manual = False
        self._build_actions()
        self.pane = QueuePane(self.session, self.controller, self.sync_action)
        self.status_label = QLabel("", window.status)
        self.status_label.setObjectName("statusQueue")
        self.status_label.setToolTip("The redaction queue (and whether Stripe is reachable)")
        window.status.addPermanentWidget(self.status_label)
        self._wire()

    # -- building -------------------------------------------------------------------------------
    def _build_actions(self) -> None:
        w = self.window
        self.request_action = QAction(icon("redact"), "Request &redaction…", w)
        self.request_action.setShortcut(QKeySequence("Ctrl+Shift+R"))
        self.request_action.setToolTip("Queue the verification sessions of the selected "
                                       "reports for redaction at Stripe (Ctrl+Shift+R)")
        self.request_action.triggered.connect(lambda _c=False: self.request_for_selection())
        self.detail_action = QAction(icon("redact"), "Request redaction…", w)
        self.detail_action.setToolTip("Queue this report's verification session for redaction")
        self.detail_action.triggered.connect(lambda _c=False: self.request_for_current())
        self.sync_action = QAction(icon("sync"), "&Sync now", w)
        self.sync_action.setShortcut(QKeySequence("F5"))
        self.sync_action.setToolTip("Send the redaction queue to Stripe now (F5)")
        self.sync_action.triggered.connect(lambda _c=False: self.sync_now())
        self.offline_action = QAction("Work &offline", w)
        self.offline_action.setCheckable(True)
        self.offline_action.setToolTip("Do not contact Stripe; queue redactions for later")
        self.offline_action.toggled.connect(self.set_work_offline)

    def _wire(self) -> None:
        w, s = self.window, self.session
        s.sig_unlocked.connect(self._update_actions)
        s.sig_locked.connect(self._on_locked)
        s.sig_changed.connect(lambda _changes: self._update_actions())
        w.list_pane.sig_selection_changed.connect(lambda _p: self._update_actions())
        w.list_pane.sig_current_changed.connect(lambda _p: self._update_actions())
        self.pane.model.sig_counts.connect(self._on_counts)
        self.pane.sig_message.connect(w.status.show_note)
        self.monitor.sig_changed.connect(self._on_network)
        self.monitor.sig_came_online.connect(self._auto_sync)
        self.controller.sig_status.connect(lambda _s: self._update_status())
        self.controller.sig_finished.connect(self._sync_finished)
        self._update_actions()
        self._update_status()

    # -- requesting -------------------------------------------------------------------------------
    def request_for_selection(self) -> QMessageBox | None:
        return self.request_positions(self.window.list_pane.selected_positions())

    def request_for_current(self) -> QMessageBox | None:
        pos = self.window.detail_pane.position
        return None if pos is None else self.request_positions([pos])

    def request_positions(self, positions: list[int]) -> QMessageBox | None:
        """Ask for confirmation, then queue the sessions of these reports (index positions)."""
        index = self.session.index
        if index is None or not positions:
            return None
        new: dict[str, None] = {}
        without, already = 0, set()
        for pos in positions:
            session = index.summary(pos)[F["session"]]
            if not session:
                without += 1
            elif index.redaction_state(pos) in _IN_QUEUE:
                already.add(session)
            else:
                new[session] = None
        notes = []
        if already:
            notes.append(f"{len(already)} session(s) already in the queue or redacted")
        if without:
            notes.append(f"{without} report(s) without a verification session")
        if not new:
            self.window.status.show_note("Nothing to queue: " + "; ".join(notes), 8000)
            return None
        count = len(new)
        reports = len(positions) - without
        sessions = list(new)
        box = ask_to_confirm(
            self.window, session=self.session, title="Request redaction",
            object_name="confirmRedactionBox",
            text=f"Request redaction of {count} verification session"
                 f"{'' if count == 1 else 's'}?",
            details=f"This covers {reports} selected report{'' if reports == 1 else 's'}"
            + (f" ({'; '.join(notes)})" if notes else "") + ".\n\n"
            "Redaction is irreversible: once sent, Stripe permanently replaces the personal "
            "data of each session and of all its reports with \u201c[redacted]\u201d, and so "
            "will this vault. The request is sent at the next sync; until then it can be "
            "cancelled in the redaction queue.",
            confirm="Request redaction", role=QMessageBox.ButtonRole.DestructiveRole,
            on_confirm=lambda: self._queue(sessions))
        self.confirm_box = box
        return box

    def _queue(self, sessions: list[str]) -> None:
        def body(desk: Desk, _ctx: OpContext) -> tuple[list[str], QueueSnapshot]:
            result = store.queue_sessions(desk.vault, sessions)
            return [e.session for e in result.added], snapshot(desk)

        op = self.session.run(body, parent=self.window, label="Queueing redactions…")
        op.success(self._queued).run_in_background()

    def _queued(self, result: tuple[list[str], QueueSnapshot]) -> None:
        added, snap = result
        self.pane.show_snapshot(snap)
        self.controller.reload()
        self.pane.select_sessions(added)
        self.window.status.show_note(
            f"Queued {len(added)} session(s) for redaction; they are sent at the next sync",
            8000)

    # -- syncing ---------------------------------------------------------------------------------
    def sync_now(self) -> bool:
        """Start a sync (or, if one runs, make it look at the queue now)."""
        if self.monitor.work_offline or not self.session.is_unlocked:
            return False
        if self.controller.running:
            self.controller.reload()
            return True
        self.monitor.probe_now(force=True)
        self._manual = self.controller.start()
        return self._manual

    def _auto_sync(self) -> None:
        if not self.monitor.work_offline and self.session.is_unlocked \
                and not self.controller.running and self._has_work():
            self._manual = False
            self.controller.start()

    def set_work_offline(self, offline: bool) -> None:
        if self.offline_action.isChecked() != offline:
            self.offline_action.setChecked(offline)  # re-enters through toggled
            return
        self.monitor.set_work_offline(offline)
        if offline:
            self.controller.stop("working offline")
        self._update_actions()

    def _on_network(self, state: Reachability) -> None:
        if state is Reachability.OFFLINE and self.controller.running:
            self.controller.stop("Stripe is not reachable")
        self._update_status()

    def _sync_finished(self, status: SyncStatus) -> None:
        self.window.status.show_note(status.message, 8000)
        if status.paused and self._manual:  # an automatic sync only leaves a note
            box = QMessageBox(QMessageBox.Icon.Warning, "Redaction queue paused",
                              status.message, parent=self.window)
            box.setObjectName("syncPausedBox")
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()
        self.pane.reload()

    # -- state -----------------------------------------------------------------------------------
    def _has_work(self) -> bool:
        """Something for a sync from here: a request to send, or one Stripe is processing
        (entries awaiting an admin's app do not count)."""
        return any(e.state in store.ACTIVE_STATES and not e.awaits_admin
                   for e in self.pane.model.entries())

    def _on_counts(self, _counts: dict[OutboxState, int]) -> None:
        self.monitor.set_active(self._has_work())
        self._update_status()

    def _on_locked(self) -> None:
        self.confirm_box = None  # ask_to_confirm closes it: its answer would have no vault
        self._update_actions()

    def _update_actions(self) -> None:
        unlocked = self.session.is_unlocked
        w = self.window
        self.request_action.setEnabled(unlocked and bool(w.list_pane.selected_positions()))
        self.detail_action.setEnabled(unlocked and w.detail_pane.position is not None)
        self.sync_action.setEnabled(unlocked and not self.monitor.work_offline)

    def _update_status(self) -> None:
        if not self.session.is_unlocked:
            self.status_label.setText("")
            return
        c = self.pane.model.counts()
        parts = [f"{c[s]} {label}" for s, label in (
            (OutboxState.QUEUED, "queued"), (OutboxState.SENDING, "sending"),
            (OutboxState.PROCESSING, "processing"), (OutboxState.REDACTED, "redacted"),
            (OutboxState.FAILED, "failed")) if c[s]]
        network = {Reachability.ONLINE: "online", Reachability.OFFLINE: "offline",
                   Reachability.UNKNOWN: "connection unknown"}[self.monitor.state]
        if self.monitor.work_offline:
            network = "working offline"
        queue = "Redactions: " + (", ".join(parts) if parts else "none queued")
        self.status_label.setText(f"{queue}  ·  {network}")
        self.pane.set_network_text(f"Stripe: {network}")


def _install_detail_button(window: MainWindow, action: QAction) -> QToolButton:
    button = QToolButton(window.detail_pane)
    button.setObjectName("requestRedactionButton")
    button.setDefaultAction(action)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    window.detail_pane.add_header_widget(button)
    return button


def install(window: MainWindow, *, use_system_network: bool = USE_SYSTEM_NETWORK
            ) -> RedactionFeature:
    from identity_desktop.ui.main_window import Menu

    feature = RedactionFeature(window, use_system_network=use_system_network)
    window.redaction_feature = feature  # type: ignore[attr-defined]
    window.add_action(feature.request_action, menu=Menu.TOOLS, toolbar=True)
    window.add_action(feature.sync_action, menu=Menu.TOOLS, toolbar=True)
    window.add_action(feature.offline_action, menu=Menu.TOOLS, requires_unlock=False)
    view = window.list_pane.view
    view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
    view.addAction(feature.request_action)
    feature.detail_button = _install_detail_button(window, feature.detail_action)
    window.add_dock(feature.pane, "Redaction queue", object_name="redactionQueueDock",
                    area=Qt.DockWidgetArea.BottomDockWidgetArea, shortcut="Ctrl+4")
    feature._update_actions()  # add_action enables by lock state; selection matters too
    return feature

