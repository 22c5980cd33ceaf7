"""Run the real window (``identity_desktop.ui.app.main``) and report when it reaches a state,
without changing the app: ``python -m benchmarks.gui_probe --until shown|listed -- ARGS...``.

The probe makes the ``QApplication`` first (the app reuses an existing one) and watches it with
an event filter:

- ``shown``: the main window's first paint event, i.e. the window is on screen (offscreen
  platform: rendered);
- ``listed``: the list shows rows (after an unlock given by ``--passphrase-file``).

It then prints one JSON line (``time.monotonic()`` at that moment, which the parent compares
with its own clock at spawn, plus this process's current and peak RSS) and leaves at once with
``os._exit`` so that tear-down is not counted. Nothing else is imported before the app's own
modules, so the cold start measured is the app's.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time

TIMEOUT_MS = 120_000
POLL_MS = 10


def _rss_mib() -> float:
    try:
        with open("/proc/self/statm") as f:
            return round(int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)
    except OSError:
        return float("nan")


def _report(state: str) -> None:
    print(json.dumps({"state": state, "monotonic": time.monotonic(), "rss_mib": _rss_mib(),
                      "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                            / 1024, 1)}), flush=True)
    os._exit(0)


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] != "--until" or argv[1] not in ("shown", "listed"):
        print("usage: python -m benchmarks.gui_probe --until shown|listed -- APP_ARGS...",
              file=sys.stderr)
        return 2
    until = argv[1]
    app_args = argv[3:] if argv[2:3] == ["--"] else argv[2:]

    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication, QMainWindow

    app = QApplication([sys.argv[0]])

    def main_window() -> QMainWindow | None:
        for widget in app.topLevelWidgets():
            if isinstance(widget, QMainWindow) and widget.isVisible():
                return widget
        return None

    class Watcher(QObject):
        def eventFilter(self, obj: QObject, event: QEvent) -> bool:
            if until == "shown" and event.type() == QEvent.Type.Paint \
                    and isinstance(obj, QMainWindow):
                _report("shown")
            return False

    watcher = Watcher()
    app.installEventFilter(watcher)

    def poll() -> None:
        window = main_window()
        model = getattr(getattr(window, "list_pane", None), "model", None)
        if model is not None and model.rowCount() > 0:
            _report("listed")

    if until == "listed":
        timer = QTimer()
        timer.timeout.connect(poll)
        timer.start(POLL_MS)
    QTimer.singleShot(TIMEOUT_MS, lambda: (print(json.dumps({"state": "timeout"}), flush=True),
                                           os._exit(3)))

    from identity_desktop.ui.app import main as app_main

    code = app_main(app_args)
    print(json.dumps({"state": "exited", "code": code}), flush=True)
    return 4


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
