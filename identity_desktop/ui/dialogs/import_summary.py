"""After an import: what was added, updated, unchanged and rejected, with every reason.

Reasons come from the core's readers and name files, record positions and fields, never
values, so they are safe to show (and to copy into a support request).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from identity_desktop.importing import ImportSummary
from identity_desktop.ui import format as fmt
from identity_desktop.ui.resources import icon


def problems(summary: ImportSummary) -> list[str]:
    """One line per refused file and per rejected record."""
    lines = [f"File refused: {error}" for error in summary.errors]
    lines += [str(rejected) for rejected in summary.rejected]
    return lines


class ImportSummaryDialog(QDialog):
    def __init__(self, summary: ImportSummary, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("importSummary")
        self.summary = summary
        self.setWindowTitle("Import finished" if not summary.cancelled else "Import cancelled")
        self.setWindowIcon(icon("import"))
        layout = QVBoxLayout(self)
        headline = QLabel(self)
        headline.setObjectName("dialogIntro")
        files = len(summary.files)
        if summary.cancelled:
            headline.setText("<b>Import cancelled.</b> Batches committed before cancelling "
                             "are kept.")
        else:
            headline.setText(f"<b>Imported {files} file{'s' if files != 1 else ''}.</b>")
        layout.addWidget(headline)

        grid = QGridLayout()
        self.count_labels: dict[str, QLabel] = {}
        for row, (key, text, value) in enumerate((
                ("added", "Added", summary.added), ("updated", "Updated", summary.updated),
                ("unchanged", "Unchanged", summary.unchanged),
                ("rejected", "Rejected", len(summary.rejected) + len(summary.errors)))):
            name = QLabel(text, self)
            number = QLabel(fmt.count(value), self)
            number.setObjectName(f"count_{key}")
            number.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            grid.addWidget(name, row, 0)
            grid.addWidget(number, row, 1)
            self.count_labels[key] = number
        grid.setColumnStretch(2, 1)
        layout.addLayout(grid)

        lines = problems(summary)
        self.reasons = QPlainTextEdit(self)
        self.reasons.setObjectName("rejectReasons")
        self.reasons.setReadOnly(True)
        self.reasons.setPlainText("\n".join(lines))
        self.reasons.setVisible(bool(lines))
        if lines:
            layout.addWidget(QLabel("Rejected records and refused files:", self))
        layout.addWidget(self.reasons, 1)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)
        self.resize(560, 380 if lines else 200)
