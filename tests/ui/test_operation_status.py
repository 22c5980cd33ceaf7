"""The progress / summary / error block shared by the export and fetch dialogs: each part shows
only while it has something to say, and an idle block takes no room in its dialog."""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget

from identity_desktop.ui.dialogs.operation_status import OperationStatus


def test_parts_show_only_while_they_have_something_to_say(qtbot) -> None:
    host = QWidget()
    qtbot.addWidget(host)
    status = OperationStatus("export", host)
    QVBoxLayout(host).addWidget(status)
    host.show()
    assert status.isHidden()  # idle: no empty gap in the dialog
    assert status.progress_label.objectName() == "exportProgress"
    assert status.summary_label.objectName() == "exportSummary"
    assert status.error_label.objectName() == "errorLabel"  # the stylesheet colours it

    status.show_progress(3, 10, "Encrypted 3 of 10 reports…")
    assert status.isVisible() and status.progress_bar.isVisible()
    bar = status.progress_bar
    assert (bar.minimum(), bar.maximum(), bar.value()) == (0, 10, 3)
    assert status.progress_text() == "Encrypted 3 of 10 reports…"
    status.show_progress(12, 10, "")
    assert bar.value() == 10  # never past the end
    status.show_progress(0, 0, "Connecting…")
    assert (bar.minimum(), bar.maximum()) == (0, 0)  # busy: the total is unknown
    status.set_progress_text("Cancelling…")
    assert status.progress_label.text() == "Cancelling…" and bar.isVisible()

    status.hide_progress()
    assert status.isHidden() and status.progress_text() == ""
    status.show_summary("<b>Done.</b>")
    assert status.summary_label.isVisible() and not status.error_label.isVisible()
    status.show_error("Export failed: the disk is full.")
    assert status.error_label.isVisible() and status.summary_label.isVisible()
    status.show_summary("")
    assert not status.summary_label.isVisible() and status.error_label.isVisible()

    status.show_summary("<b>Done.</b>")
    status.reset()
    assert status.isHidden()
    assert status.summary_label.text() == "" and status.error_label.isHidden()
