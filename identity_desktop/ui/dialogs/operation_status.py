"""The bottom of a dialog that runs something: a progress bar with a line under it while it
runs, then a summary or an error line.

Shared by the export and fetch dialogs. Everything starts hidden; a part shows while it has
something to say, and the whole widget hides while no part shows, so an idle dialog keeps no
empty gap in its layout. The error label keeps the object name ``errorLabel`` (the stylesheet
colours it); the others are named after the dialog (``exportProgress``, ``fetchSummary``...).
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QProgressBar, QVBoxLayout, QWidget


class OperationStatus(QWidget):
    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"{name}Status")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.progress_bar = QProgressBar(self)
        self.progress_label = QLabel("", self)
        self.progress_label.setObjectName(f"{name}Progress")
        self.summary_label = QLabel("", self)
        self.summary_label.setObjectName(f"{name}Summary")
        self.summary_label.setWordWrap(True)
        self.error_label = QLabel("", self)
        self.error_label.setObjectName("errorLabel")
        self.error_label.setWordWrap(True)
        for widget in (self.progress_bar, self.progress_label, self.summary_label,
                       self.error_label):
            widget.setVisible(False)
            layout.addWidget(widget)
        self._fit()

    # ---- progress -----------------------------------------------------------------------
    def show_progress(self, done: int, total: int, text: str) -> None:
        """Show the bar at ``done`` of ``total`` (``total`` 0: a busy bar, the count is
        unknown) and ``text`` under it."""
        if total > 0:
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(min(done, total))
        else:
            self.progress_bar.setRange(0, 0)
        self.progress_label.setText(text)
        self.progress_bar.setVisible(True)
        self.progress_label.setVisible(True)
        self._fit()

    def progress_text(self) -> str:
        return self.progress_label.text()

    def set_progress_text(self, text: str) -> None:
        """Change the line under the bar only ("Cancelling…")."""
        self.progress_label.setText(text)

    def hide_progress(self) -> None:
        self.progress_label.setText("")
        self.progress_bar.setVisible(False)
        self.progress_label.setVisible(False)
        self._fit()

    # ---- outcome ------------------------------------------------------------------------
    def show_summary(self, text: str) -> None:
        """Rich text; an empty text hides the summary."""
        self.summary_label.setText(text)
        self.summary_label.setVisible(bool(text))
        self._fit()

    def show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(True)
        self._fit()

    def reset(self) -> None:
        """Forget the last outcome (summary and error), before a new run."""
        self.error_label.setVisible(False)
        self.show_summary("")

    def _fit(self) -> None:
        parts = (self.progress_bar, self.progress_label, self.summary_label, self.error_label)
        self.setVisible(any(not w.isHidden() for w in parts))
