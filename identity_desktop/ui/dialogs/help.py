"""Help > Keyboard shortcuts and Help > About."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from identity_desktop import APP_NAME, __version__

SHORTCUTS = (
    ("Ctrl+O", "Import reports (or drop files on the window)"), ("Ctrl+L", "Lock the vault"),
    ("Ctrl+F", "Search and filters"), ("Ctrl+2", "Focus the report list"),
    ("Ctrl+3", "Focus the details"), ("J  /  Alt+Down", "Next report"),
    ("K  /  Alt+Up", "Previous report"), ("Enter", "Open the current report's details"),
    ("Esc (in search)", "Clear the search"), ("Ctrl+Q", "Quit"),
)


def show_shortcuts(parent: QWidget) -> None:
    rows = "".join(f"<tr><td><b>{keys}</b>&nbsp;&nbsp;</td><td>{what}</td></tr>"
                   for keys, what in SHORTCUTS)
    QMessageBox.information(parent, "Keyboard shortcuts", f"<table>{rows}</table>")


def show_about(parent: QWidget) -> None:
    QMessageBox.about(parent, f"About {APP_NAME}",
                      f"<b>{APP_NAME}</b> {__version__}<br>Review Stripe Identity verification "
                      "reports offline, in an encrypted vault, and queue their redaction.")
