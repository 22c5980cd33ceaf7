"""The filter pane: every filter of :class:`ReportFilter`, combinable, with a live count.

Text is debounced (150 ms) so that typing a name runs one query per pause, not per key; every
other control applies at once. The pane only *describes* the filter (``sig_filter_changed``);
the list pane runs it and reports back the counts (``set_counts``), wired by the main window.

Locking clears the search text (it may be a person's name) and the value lists read from the
vault; the other choices (statuses, expiry, ticked countries...) are not personal and stay, so
unlocking brings back the same view minus the text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from PySide6.QtCore import QDate, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from identity_desktop.index import RedactionState, ReportFilter
from identity_desktop.ui import format as fmt
from identity_desktop.ui.resources import icon
from identity_desktop.ui.session import Session

TEXT_DEBOUNCE_MS = 150
_EXPIRY_ANY, _EXPIRY_EXPIRED, _EXPIRY_WITHIN = range(3)
_MODE_ANY, _MODE_LIVE, _MODE_TEST = range(3)


class ChoiceList(QListWidget):
    """A compact list of checkable values; nothing ticked means "any"."""

    sig_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setUniformItemSizes(True)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self._ticked: set[str] = set()
        self._updating = False
        self.itemChanged.connect(self._on_item_changed)

    def set_values(self, values: list[str]) -> None:
        """Replace the choices, keeping what was ticked (even values absent for now)."""
        self._updating = True
        self.clear()
        for value in values:
            item = QListWidgetItem(fmt.label(value) if not value.isupper() else value, self)
            item.setData(Qt.ItemDataRole.UserRole, value)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if value in self._ticked
                               else Qt.CheckState.Unchecked)
        rows = max(1, min(len(values), 6))
        row_height = self.sizeHintForRow(0) if values else self.fontMetrics().height() + 4
        self.setFixedHeight(rows * row_height + 2 * self.frameWidth() + 2)
        self._updating = False

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        if self._updating:
            return
        value = item.data(Qt.ItemDataRole.UserRole)
        if item.checkState() == Qt.CheckState.Checked:
            self._ticked.add(value)
        else:
            self._ticked.discard(value)
        self.sig_changed.emit()

    def set_ticked(self, values: set[str]) -> None:
        self._ticked = set(values)
        self.set_values([self.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.count())])
        self.sig_changed.emit()

    def ticked(self) -> frozenset[str]:
        return frozenset(self._ticked)


def _date_edit(parent: QWidget) -> QDateEdit:
    edit = QDateEdit(QDate.currentDate(), parent)
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd")
    edit.setEnabled(False)
    return edit


class _OptionalDate(QWidget):
    """A checkbox that enables a date edit: unchecked means "no bound"."""

    sig_changed = Signal()

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.check = QCheckBox(text, self)
        self.edit = _date_edit(self)
        layout.addWidget(self.check)
        layout.addWidget(self.edit, 1)
        self.check.toggled.connect(self.edit.setEnabled)
        self.check.toggled.connect(self.sig_changed)
        self.edit.dateChanged.connect(self._on_date)

    def _on_date(self, _day: QDate) -> None:
        if self.check.isChecked():
            self.sig_changed.emit()

    def value(self) -> dt.date | None:
        return self.edit.date().toPython() if self.check.isChecked() else None  # type: ignore[return-value]

    def set_value(self, day: dt.date | None) -> None:
        if day is not None:
            self.edit.setDate(QDate(day.year, day.month, day.day))
        self.check.setChecked(day is not None)


class FilterPane(QWidget):
    sig_filter_changed = Signal(object)  # ReportFilter

    def __init__(self, session: Session, *, today: Callable[[], dt.date] = dt.date.today,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("filterPane")
        self._session = session
        self._today = today  # the same "today" as the list's expiry cues
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(TEXT_DEBOUNCE_MS)
        self._debounce.timeout.connect(self._emit)
        self._suspended = False
        self._build()
        session.sig_unlocked.connect(self._on_unlocked)
        session.sig_changed.connect(lambda _changes: self._refresh_choices())
        session.sig_locked.connect(self._on_locked)

    # -- layout -------------------------------------------------------------------------------
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 4, 0, 0)
        outer.setSpacing(6)
        title = QLabel("Filters", self)
        title.setObjectName("paneTitle")
        outer.addWidget(title)

        self.search = QLineEdit(self)
        self.search.setObjectName("searchField")
        self.search.setPlaceholderText("Name, report, session or client reference id")
        self.search.setClearButtonEnabled(True)
        self.search.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.search.setToolTip("Free text; every word must match (Ctrl+F)")
        self.search.textChanged.connect(lambda _t: self._debounce.start())
        self.search.returnPressed.connect(self.flush)
        outer.addWidget(self.search)

        self.count_label = QLabel("", self)
        self.count_label.setObjectName("countLabel")
        outer.addWidget(self.count_label)

        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget(scroll)
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 4, 0)
        layout.setSpacing(8)

        self.statuses = ChoiceList(body)
        self.types = ChoiceList(body)
        self.document_types = ChoiceList(body)
        self.countries = ChoiceList(body)
        for title_text, widget in (("Status", self.statuses), ("Report type", self.types),
                                   ("Document type", self.document_types),
                                   ("Issuing country", self.countries)):
            layout.addWidget(self._group(title_text, widget))
            widget.sig_changed.connect(self._emit)

        created = QGroupBox("Created", body)
        form = QVBoxLayout(created)
        form.setContentsMargins(6, 4, 6, 4)
        self.created_from = _OptionalDate("From", created)
        self.created_to = _OptionalDate("To", created)
        form.addWidget(self.created_from)
        form.addWidget(self.created_to)
        layout.addWidget(created)

        expiry = QGroupBox("Document expiration", body)
        eform = QFormLayout(expiry)
        eform.setContentsMargins(6, 4, 6, 4)
        eform.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.expiry = QComboBox(expiry)
        self.expiry.addItems(["Any", "Expired", "Expires within…"])
        self.expiry.setMinimumContentsLength(8)
        self.expiry_days = QSpinBox(expiry)
        self.expiry_days.setRange(1, 3650)
        self.expiry_days.setValue(fmt.SOON_DAYS)
        self.expiry_days.setSuffix(" days")
        self.expiry_days.setEnabled(False)
        eform.addRow(self.expiry)
        eform.addRow("Within:", self.expiry_days)
        self.expires_before = _OptionalDate("Before", expiry)
        self.expires_after = _OptionalDate("After", expiry)
        eform.addRow(self.expires_before)
        eform.addRow(self.expires_after)
        layout.addWidget(expiry)

        self.redaction = ChoiceList(body)
        self.redaction.set_values([state.value for state in RedactionState])
        self.redaction.sig_changed.connect(self._emit)
        layout.addWidget(self._group("Redaction", self.redaction))

        mode_box = QGroupBox("Mode", body)
        mode_layout = QVBoxLayout(mode_box)
        mode_layout.setContentsMargins(6, 4, 6, 4)
        self.mode = QComboBox(mode_box)
        self.mode.addItems(["Live and test", "Live only", "Test only"])
        mode_layout.addWidget(self.mode)
        layout.addWidget(mode_box)

        self.reset_button = QPushButton("Clear filters", body)
        self.reset_button.clicked.connect(self.reset)
        layout.addWidget(self.reset_button)
        layout.addStretch(1)

        for optional in (self.created_from, self.created_to, self.expires_before,
                         self.expires_after):
            optional.sig_changed.connect(self._emit)
        self.expiry.currentIndexChanged.connect(self._on_expiry_mode)
        self.expiry_days.valueChanged.connect(self._emit)
        self.mode.currentIndexChanged.connect(self._emit)
        # Never narrower than the controls: the scroll area only scrolls vertically.
        self.setMinimumWidth(body.minimumSizeHint().width()
                             + scroll.verticalScrollBar().sizeHint().width() + 8)

    @staticmethod
    def _group(title: str, widget: QWidget) -> QGroupBox:
        box = QGroupBox(title, widget.parentWidget())
        layout = QVBoxLayout(box)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(widget)
        return box

    def _on_expiry_mode(self, mode: int) -> None:
        self.expiry_days.setEnabled(mode == _EXPIRY_WITHIN)
        self._emit()

    # -- the filter ----------------------------------------------------------------------------
    def current_filter(self) -> ReportFilter:
        mode = self.expiry.currentIndex()
        created_from = self.created_from.value()
        created_to = self.created_to.value()
        livemode = {_MODE_LIVE: True, _MODE_TEST: False}.get(self.mode.currentIndex())
        return ReportFilter(
            text=self.search.text(),
            statuses=self.statuses.ticked(),
            types=self.types.ticked(),
            document_types=self.document_types.ticked(),
            countries=self.countries.ticked(),
            created_from=_local_epoch(created_from) if created_from else None,
            # "To" is inclusive: up to the last second of that local day.
            created_to=(_local_epoch(created_to + dt.timedelta(days=1)) - 1
                        if created_to else None),
            expired=mode == _EXPIRY_EXPIRED,
            expires_within_days=self.expiry_days.value() if mode == _EXPIRY_WITHIN else None,
            expires_before=self.expires_before.value(),
            expires_after=self.expires_after.value(),
            redaction=frozenset(RedactionState(v) for v in self.redaction.ticked()),
            livemode=livemode,
            today=self._today(),
        )

    def _emit(self) -> None:
        self._debounce.stop()
        if not self._suspended:
            self.sig_filter_changed.emit(self.current_filter())

    def flush(self) -> None:
        """Apply the text now (Enter in the search box)."""
        self._emit()

    def reset(self) -> None:
        self._suspended = True
        try:
            self.search.clear()
            for choice in (self.statuses, self.types, self.document_types, self.countries,
                           self.redaction):
                choice.set_ticked(set())
            for optional in (self.created_from, self.created_to, self.expires_before,
                             self.expires_after):
                optional.set_value(None)
            self.expiry.setCurrentIndex(_EXPIRY_ANY)
            self.mode.setCurrentIndex(_MODE_ANY)
        finally:
            self._suspended = False
        self._emit()

    def set_counts(self, visible: int, total: int) -> None:
        if not self._session.is_unlocked:
            self.count_label.setText("")
        elif visible == total:
            self.count_label.setText(f"{fmt.count(total)} reports")
        else:
            self.count_label.setText(f"{fmt.count(visible)} of {fmt.count(total)} reports")

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape and self.search.hasFocus() and self.search.text():
            self.search.clear()
            self._emit()
            return
        super().keyPressEvent(event)

    # -- session -------------------------------------------------------------------------------
    def _refresh_choices(self) -> None:
        index = self._session.index
        if index is None:
            return
        self._suspended = True
        try:
            self.statuses.set_values(index.values("overall_status"))
            self.types.set_values(index.values("type"))
            self.document_types.set_values(index.values("document_type"))
            self.countries.set_values(index.values("issuing_country"))
        finally:
            self._suspended = False

    def _on_unlocked(self) -> None:
        self._refresh_choices()

    def _on_locked(self) -> None:
        self.search.clear()  # may hold a person's name
        self._debounce.stop()
        self._suspended = True
        try:
            for choice in (self.statuses, self.types, self.document_types, self.countries):
                choice.set_values([])
        finally:
            self._suspended = False
        self.count_label.setText("")


def _local_epoch(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day).astimezone().timestamp())
