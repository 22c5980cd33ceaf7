"""Work around a reference-count bug in PySide6's ``SignalInstance.emit``.

PySide6 6.12.0 returns ``True`` from ``emit()`` without taking a reference to it, so every
``.emit()`` made from Python drops one reference to the ``True`` singleton; after a few hundred
emits CPython aborts with "Fatal Python error: bool_dealloc". (Seen with CPython 3.11, where
``True`` is not immortal.) :func:`install` measures whether the running PySide6 has the bug and,
only if it does, wraps ``emit`` so the missing reference is added back. On a fixed PySide6 it
changes nothing. It is installed when :mod:`identity_desktop.ui` is first imported, so every
window module, extension and test gets it.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, SignalInstance

_installed = False


class _Probe(QObject):
    sig = Signal()


def emit_drops_a_reference() -> bool:
    """True when ``emit()`` returns a bool without owning a reference to it."""
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(8):
        probe.sig.emit()
    lost = before - sys.getrefcount(True)
    for _ in range(max(0, lost)):  # repair what the probe itself took
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(True))
    return lost >= 8


def install() -> bool:
    """Patch ``SignalInstance.emit`` if needed; returns whether a patch is active."""
    global _installed
    if _installed:
        return True
    if not emit_drops_a_reference():
        return False
    original: Callable[..., Any] = SignalInstance.emit
    incref = ctypes.pythonapi.Py_IncRef
    incref.argtypes = [ctypes.py_object]
    incref.restype = None

    def emit(self: SignalInstance, *args: Any) -> Any:
        result = original(self, *args)
        if result is True or result is False:
            incref(result)  # the reference PySide6 forgot to give us
        return result

    emit.__doc__ = original.__doc__
    SignalInstance.emit = emit  # type: ignore[method-assign]
    _installed = True
    return True
