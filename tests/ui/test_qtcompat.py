"""Many Qt calls must not bring None/True to zero references (PySide6 6.12 on CPython 3.11
drops them; identity_desktop.ui.qtcompat keeps the process alive)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO

_SCRIPT = """
import os
os.environ["QT_QPA_PLATFORM"] = "offscreen"
import identity_desktop.ui
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication([])
class Emitter(QObject):
    sig = Signal(int)
emitter, label = Emitter(), QLabel()
emitter.sig.connect(lambda _n: None)
for i in range(30_000):  # several times the usual reference count of None and True
    label.setText("x")
    emitter.sig.emit(i)
print("alive")
"""


def test_a_long_session_of_qt_calls_does_not_abort():
    # In a child process: without the fix CPython aborts ("none_dealloc"), which would take
    # the whole test run down with it.
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True,
                            timeout=120, cwd=REPO, env=env)
    assert result.returncode == 0, result.stderr[-1000:]
    assert result.stdout.strip() == "alive"
