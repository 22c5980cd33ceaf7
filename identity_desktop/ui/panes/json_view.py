"""Read-only raw JSON with a find bar (Enter: next match, Shift+Enter: previous).

Every match is highlighted; the count is shown. The text is the report exactly as stored, so a
reviewer can check any field the typed view does not show (Stripe adds fields over time).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFontDatabase, QKeyEvent, QTextCursor, QTextDocument
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from identity_desktop.ui.resources import icon

MAX_HIGHLIGHTS = 2000
_MATCH = QColor("#fde68a")


class _FindField(QLineEdit):
    def __init__(self, view: JsonView) -> None:
        super().__init__(view)
        self._view = view

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            backward = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            self._view.find_next(backward=backward)
            return
        super().keyPressEvent(event)


class JsonView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        bar = QHBoxLayout()
        self.find_field = _FindField(self)
        self.find_field.setObjectName("jsonFind")
        self.find_field.setPlaceholderText("Find in JSON")
        self.find_field.setClearButtonEnabled(True)
        self.find_field.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.find_field.textChanged.connect(self._on_query)
        previous = QToolButton(self)
        previous.setText("▲")
        previous.setToolTip("Previous match (Shift+Enter)")
        previous.clicked.connect(lambda: self.find_next(backward=True))
        following = QToolButton(self)
        following.setText("▼")
        following.setToolTip("Next match (Enter)")
        following.clicked.connect(lambda: self.find_next())
        self.matches = QLabel("", self)
        self.matches.setObjectName("matchCount")
        bar.addWidget(self.find_field, 1)
        bar.addWidget(previous)
        bar.addWidget(following)
        bar.addWidget(self.matches)
        layout.addLayout(bar)
        self.text = QPlainTextEdit(self)
        self.text.setObjectName("rawJson")
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                          | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        layout.addWidget(self.text, 1)

    def set_text(self, text: str) -> None:
        self.text.setPlainText(text)
        self._on_query(self.find_field.text())

    def clear(self) -> None:
        self.text.clear()
        self.find_field.clear()
        self.matches.setText("")

    def _on_query(self, query: str) -> None:
        selections: list[QTextEdit.ExtraSelection] = []
        if query:
            document = self.text.document()
            cursor = QTextCursor(document)
            while len(selections) < MAX_HIGHLIGHTS:
                cursor = document.find(query, cursor)
                if cursor.isNull():
                    break
                selection = QTextEdit.ExtraSelection()
                selection.cursor = cursor  # type: ignore[attr-defined]
                selection.format.setBackground(_MATCH)  # type: ignore[attr-defined]
                selections.append(selection)
            self.matches.setText(f"{len(selections)} match{'es' if len(selections) != 1 else ''}"
                                 if selections else "Not found")
        else:
            self.matches.setText("")
        self.text.setExtraSelections(selections)
        if selections:
            self.text.setTextCursor(QTextCursor(self.text.document()))
            self.find_next()

    def find_next(self, *, backward: bool = False) -> bool:
        """Select the next (or previous) match, wrapping around; False when there is none."""
        query = self.find_field.text()
        if not query:
            return False
        flags = QTextDocument.FindFlag.FindBackward if backward else QTextDocument.FindFlag(0)
        if self.text.find(query, flags):
            return True
        cursor = self.text.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End if backward
                            else QTextCursor.MoveOperation.Start)
        self.text.setTextCursor(cursor)
        return self.text.find(query, flags)
