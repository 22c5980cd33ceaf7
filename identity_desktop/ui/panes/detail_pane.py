"""The detail pane: everything about the current report, rendered from a frozen ReportView.

Loading: one ``get_report`` per selection, on the vault thread (not synchronously here). It is
a single small row and takes about a millisecond, but the SQLite connection has one owner and
reading it from the GUI thread could interleave with an import's open transaction. While the
vault thread is busy (a long import) the pane says "Loading…" until its turn comes. Moving
quickly through the list cancels the superseded loads, so only the last selection is decrypted.

Widgets only ever read the typed :class:`ReportView` (and the redaction state from the index);
the raw JSON is shown read-only, with a find bar. Copy buttons go through the sensitive
clipboard (cleared after 30 s).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import orjson
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from identity_desktop.desk import Desk
from identity_desktop.index import RedactionState
from identity_desktop.report import CHECK_NAMES, ExpiryCue, ReportView
from identity_desktop.ui import format as fmt
from identity_desktop.ui.clipboard import SensitiveClipboard
from identity_desktop.ui.operations import OpContext, VaultOp
from identity_desktop.ui.panes.json_view import JsonView
from identity_desktop.ui.resources import icon
from identity_desktop.ui.session import Session, VaultChanges

_PLACEHOLDER, _CONTENT = range(2)


class _Field:
    """One label/value row of a section, with an optional copy button."""

    def __init__(self, grid: QGridLayout, row: int, title: str, *, copy: bool,
                 on_copy: Callable[[str, str], None]) -> None:
        parent = grid.parentWidget()
        self.title = QLabel(title, parent)
        self.title.setObjectName("fieldTitle")
        self.value = QLabel("", parent)
        self.value.setObjectName("fieldValue")
        self.value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.value.setWordWrap(True)
        # Long ids must not widen the pane: they are clipped (full text in the tooltip, and
        # the copy button copies all of it).
        self.value.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.value.setMinimumWidth(40)
        grid.addWidget(self.title, row, 0, Qt.AlignmentFlag.AlignVCenter)
        grid.addWidget(self.value, row, 1, Qt.AlignmentFlag.AlignVCenter)
        self.button: QToolButton | None = None
        self._raw = ""
        if copy:
            self.button = QToolButton(parent)
            self.button.setIcon(icon("copy"))
            self.button.setAutoRaise(True)
            self.button.setIconSize(QSize(14, 14))
            self.button.setToolTip(f"Copy {title.lower()} (cleared from the clipboard in 30 s)")
            self.button.clicked.connect(lambda: on_copy(title, self._raw))
            grid.addWidget(self.button, row, 2, Qt.AlignmentFlag.AlignVCenter)

    def set(self, text: str | None, *, copy_text: str | None = None, tooltip: str = "",
            style: str = "") -> None:
        self._raw = copy_text if copy_text is not None else (text or "")
        self.value.setText(text or "—")
        self.value.setProperty("empty", not text)
        self.value.setProperty("cue", style)
        self.value.setToolTip(tooltip or (text if text and len(text) > 24 else ""))
        self.value.style().unpolish(self.value)
        self.value.style().polish(self.value)
        if self.button is not None:
            self.button.setVisible(bool(self._raw))


class _Section(QGroupBox):
    def __init__(self, title: str, parent: QWidget) -> None:
        super().__init__(title, parent)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(8, 4, 2, 4)
        self.grid.setColumnStretch(1, 1)
        self.grid.setHorizontalSpacing(8)
        self.grid.setVerticalSpacing(4)


class DetailPane(QWidget):
    sig_shown = Signal()  # a report was rendered (tests and --screenshot wait for it)
    sig_message = Signal(str)  # short status-bar notes ("Copied …")

    def __init__(self, session: Session, clipboard: SensitiveClipboard, *,
                 today: Callable[[], dt.date] = dt.date.today,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("detailPane")
        self._session = session
        self._clipboard = clipboard
        self._today = today
        self._position: int | None = None
        self._op: VaultOp | None = None
        self.view: ReportView | None = None
        self._fields: dict[str, _Field] = {}
        self._build()
        session.sig_changed.connect(self._on_changed)
        session.sig_locked.connect(self.clear)

    # -- layout -------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.stack = QStackedWidget(self)
        layout.addWidget(self.stack)
        self.placeholder = QLabel("No report selected", self.stack)
        self.placeholder.setObjectName("placeholder")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack.addWidget(self.placeholder)

        content = QWidget(self.stack)
        self.stack.addWidget(content)
        column = QVBoxLayout(content)
        column.setContentsMargins(0, 0, 0, 0)
        self.title = QLabel("", content)
        self.title.setObjectName("detailTitle")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.subtitle = QLabel("", content)
        self.subtitle.setObjectName("detailSubtitle")
        self.subtitle.setWordWrap(True)
        self.subtitle.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        badges = QHBoxLayout()
        badges.setSpacing(6)
        self.status_badge = QLabel("", content)
        self.mode_badge = QLabel("", content)
        self.redaction_badge = QLabel("", content)
        self.expiry_badge = QLabel("", content)
        for badge in (self.status_badge, self.mode_badge, self.expiry_badge,
                      self.redaction_badge):
            badge.setObjectName("badge")
            badges.addWidget(badge)
        badges.addStretch(1)
        self.title.setWordWrap(True)
        title_row = QHBoxLayout()
        title_row.addWidget(self.title, 1)
        self._header_row = title_row  # extensions add actions for the current report here
        column.addLayout(title_row)
        column.addWidget(self.subtitle)
        column.addLayout(badges)

        self.tabs = QTabWidget(content)
        column.addWidget(self.tabs, 1)
        overview = QScrollArea(self.tabs)
        overview.setWidgetResizable(True)
        overview.setFrameShape(QFrame.Shape.NoFrame)
        overview.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget(overview)
        overview.setWidget(body)
        sections = QVBoxLayout(body)
        sections.setContentsMargins(0, 6, 2, 6)
        sections.setSpacing(10)
        self.tabs.addTab(overview, "Overview")
        self.json = JsonView(self.tabs)
        self.tabs.addTab(self.json, "Raw JSON")

        checks = _Section("Checks", body)
        self._check_rows: dict[str, tuple[QLabel, QLabel, QLabel]] = {}
        for row, name in enumerate(CHECK_NAMES):
            title = QLabel(fmt.label(name), checks)
            title.setObjectName("fieldTitle")
            status = QLabel("", checks)
            status.setObjectName("checkStatus")
            reason = QLabel("", checks)
            reason.setWordWrap(True)
            reason.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            reason.setObjectName("fieldValue")
            reason.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            checks.grid.addWidget(title, row, 0, Qt.AlignmentFlag.AlignTop)
            checks.grid.addWidget(status, row, 1,
                                  Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
            checks.grid.addWidget(reason, row, 2, Qt.AlignmentFlag.AlignTop)
            self._check_rows[name] = (title, status, reason)
        checks.grid.setColumnStretch(1, 0)
        checks.grid.setColumnStretch(2, 1)
        sections.addWidget(checks)

        for section_title, rows in (
            ("Person", (("name", "Name", True), ("dob", "Date of birth", True),
                        ("sex", "Sex", False), ("address", "Address", True),
                        ("id_number", "ID number", True), ("email", "Email", True),
                        ("phone", "Phone", True))),
            ("Document", (("document_type", "Type", False), ("document_number", "Number", True),
                          ("issuing_country", "Country", False),
                          ("issued", "Issued", False), ("expires", "Expires", False),
                          ("files", "Files", True))),
            ("Report", (("report_id", "Report id", True), ("type", "Type", False),
                        ("created", "Created", False), ("session", "Session", True),
                        ("client_reference_id", "Client ref.", True),
                        ("flow", "Flow", True), ("livemode", "Mode", False),
                        ("redaction", "Redaction", False))),
        ):
            section = _Section(section_title, body)
            for row, (key, label, copy) in enumerate(rows):
                self._fields[key] = _Field(section.grid, row, label, copy=copy,
                                           on_copy=self._copy)
            sections.addWidget(section)
        sections.addStretch(1)

    # -- public ---------------------------------------------------------------------------------
    @property
    def position(self) -> int | None:
        return self._position

    def is_empty(self) -> bool:
        return self.view is None and self.stack.currentIndex() == _PLACEHOLDER

    def field_text(self, key: str) -> str:
        """The text shown for a field (tests)."""
        return self._fields[key].value.text()

    def show_position(self, position: int | None) -> None:
        """Follow the list's current report (None: nothing selected)."""
        if self._op is not None:
            self._op.cancel()
            self._op = None
        self._position = position
        desk_index = self._session.index
        if position is None or desk_index is None:
            self._show_placeholder("No report selected")
            return
        report_id = desk_index.report_id(position)
        if self.view is None:
            self._show_placeholder("Loading…")
        op = self._session.run(lambda desk, ctx: _load(desk, ctx, report_id), parent=self,
                               label="Loading report…")
        op.success(lambda result: self._loaded(op, result))
        self._op = op.run_in_background()

    def add_header_widget(self, widget: QWidget) -> None:
        """Extension point: a widget (e.g. a button for an action on the current report) at
        the right of the report's name; shown only while a report is displayed."""
        self._header_row.addWidget(widget, 0, Qt.AlignmentFlag.AlignTop)

    def focus_details(self) -> None:
        self.tabs.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def clear(self) -> None:
        """Forget the report (lock, or nothing selected); every value is blanked."""
        if self._op is not None:
            self._op.cancel()
            self._op = None
        self._position = None
        self._show_placeholder("No report selected")

    # -- rendering --------------------------------------------------------------------------------
    def _show_placeholder(self, text: str) -> None:
        self.view = None
        self.placeholder.setText(text)
        self.stack.setCurrentIndex(_PLACEHOLDER)
        for f in self._fields.values():
            f.set(None)
        for _title, status, reason in self._check_rows.values():
            status.setText("")
            reason.setText("")
        for label in (self.title, self.subtitle, self.status_badge, self.mode_badge,
                      self.redaction_badge, self.expiry_badge):
            label.setText("")
        self.json.clear()

    def _loaded(self, op: VaultOp, result: tuple[ReportView, str] | None) -> None:
        if op is not self._op:  # superseded by a later selection
            return
        self._op = None
        if result is None:
            self._show_placeholder("This report is not in the vault")
            return
        view, raw_json = result
        self.view = view
        self._render(view, raw_json)
        self.stack.setCurrentIndex(_CONTENT)
        self.sig_shown.emit()

    def _render(self, v: ReportView, raw_json: str) -> None:
        today = self._today()
        index = self._session.index
        state = (index.redaction_state(self._position) if index is not None
                 and self._position is not None else RedactionState.NONE)
        self.title.setText(v.full_name or "(no name)")
        self.subtitle.setText(f"{v.id}  ·  {fmt.label(v.type) or 'Report'}  ·  "
                              f"{fmt.local_time(v.created)}")
        _badge(self.status_badge, fmt.label(v.overall_status),
               "good" if v.overall_status == "verified" else "bad")
        _badge(self.mode_badge, "LIVE" if v.livemode else "TEST",
               "neutral" if v.livemode else "test")
        _badge(self.redaction_badge, f"Redaction: {fmt.label(state.value)}",
               "neutral" if state is RedactionState.NONE else "warn")
        cue = fmt.cue_for(v.expiration_date, today)
        cue_words = fmt.cue_text(cue, v.expiration_date, today)
        if cue in (ExpiryCue.EXPIRED, ExpiryCue.EXPIRES_SOON):
            _badge(self.expiry_badge, cue_words,
                   "bad" if cue is ExpiryCue.EXPIRED else "warn")
        else:
            _badge(self.expiry_badge, "", "")

        for name, (_title, status, reason) in self._check_rows.items():
            check = v.check(name)
            if check is None:  # every check is listed; absent ones say so
                _badge(status, "Not requested", "absent")
                reason.setText("")
                continue
            _badge(status, fmt.label(check.status) or "Unknown",
                   "good" if check.status == "verified" else "bad")
            # The code may wrap after its underscores (a zero-width space; display only).
            code = (check.error_code or "").replace("_", "_\u200b")
            reason.setText(f"{check.error_reason or ''}\n{code}".strip())
            reason.setToolTip(check.error_code or "")

        f = self._fields
        f["name"].set(v.full_name)
        f["dob"].set(fmt.age_text(v.date_of_birth, today),
                     copy_text=fmt.date_text(v.date_of_birth))
        f["sex"].set(fmt.label(v.sex))
        f["address"].set(v.address.one_line() if v.address else None)
        id_number = v.id_number
        if id_number and v.id_number_type:
            f["id_number"].set(f"{id_number}  ({v.id_number_type})", copy_text=id_number)
        else:
            f["id_number"].set(id_number)
        f["email"].set(v.email)
        f["phone"].set(v.phone)
        f["document_type"].set(fmt.label(v.document_type))
        f["document_number"].set(v.document_number)
        f["issuing_country"].set(v.issuing_country)
        f["issued"].set(fmt.date_text(v.issued_date))
        expires = fmt.date_text(v.expiration_date)
        style = {ExpiryCue.EXPIRED: "expired", ExpiryCue.EXPIRES_SOON: "soon"}.get(cue, "")
        f["expires"].set(f"{expires}  —  {cue_words}" if expires and cue_words else expires,
                         copy_text=expires, tooltip=cue_words, style=style)
        f["files"].set("\n".join(v.files))
        f["report_id"].set(v.id)
        f["type"].set(fmt.label(v.type))
        f["created"].set(fmt.local_time_long(v.created))
        f["session"].set(v.verification_session)
        f["client_reference_id"].set(v.client_reference_id)
        f["flow"].set(v.verification_flow)
        f["livemode"].set("Live" if v.livemode else "Test", tooltip="" if v.livemode
                          else "Test mode: livemode is false")
        f["redaction"].set(fmt.label(state.value) + (" (redacted locally)" if v.redacted
                                                     and state is not RedactionState.REDACTED
                                                     else ""))
        self.json.set_text(raw_json)

    def _copy(self, title: str, text: str) -> None:
        if text:
            self._clipboard.copy(text)
            seconds = self._clipboard.timeout_ms // 1000
            self.sig_message.emit(f"Copied {title.lower()}; the clipboard is cleared in "
                                  f"{seconds} s")

    # -- session -----------------------------------------------------------------------------------
    def _on_changed(self, changes: VaultChanges) -> None:
        if self._position is not None and self._position in changes.changed:
            self.show_position(self._position)


def _badge(label: QLabel, text: str, kind: str) -> None:
    label.setText(text)
    label.setVisible(bool(text))
    label.setProperty("kind", kind)
    label.style().unpolish(label)
    label.style().polish(label)


def _load(desk: Desk, ctx: OpContext, report_id: str) -> tuple[ReportView, str] | None:
    """Vault thread: decrypt one report and derive everything the pane shows."""
    if ctx.cancelled():
        return None
    raw: dict[str, Any] | None = desk.report(report_id)
    if raw is None:
        return None
    try:
        view = ReportView.from_raw(raw)
    except ValueError:
        return None
    return view, orjson.dumps(raw, option=orjson.OPT_INDENT_2).decode("utf-8")
