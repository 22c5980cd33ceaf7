"""Survive PySide6 6.12.0's reference-count bug on CPython < 3.12.

PySide6 6.12.0 returns the ``None``, ``True`` and ``False`` singletons to Python without taking
a reference: every call of a void Qt method (``setText``, ``show``, ``processEvents``...) drops
one reference to ``None``, and every ``Signal.emit()`` one to ``True``. On CPython 3.12+ these
singletons are immortal and nothing happens; on 3.11 (our runtime) their counts fall by
thousands a minute in a busy window until CPython aborts with "Fatal Python error:
none_dealloc" (or ``bool_dealloc``). PySide6 6.11.2 does not have the bug.

:func:`install` measures whether the running PySide6 drops references and, only then, makes the
three singletons effectively immortal the way CPython 3.12 does: it raises their reference
counts by 2**40, far beyond anything a session can lose. They are never freed by a healthy
interpreter anyway, so nothing else changes. It runs when :mod:`identity_desktop.ui` is first
imported, before any window exists, so every module, extension and test is covered.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal

_HEADROOM = 1 << 40
_installed = False


class _Probe(QObject):
    sig = Signal()


def _lost_references() -> dict[str, int]:
    """How many references a few void calls and emits take from each singleton."""
    probe = _Probe()
    before = {"None": sys.getrefcount(None), "True": sys.getrefcount(True)}
    for _ in range(16):
        probe.blockSignals(False)  # a void-like setter: returns the previous state (a bool)
        probe.setObjectName("probe")  # void
        probe.sig.emit()
    return {"None": before["None"] - sys.getrefcount(None),
            "True": before["True"] - sys.getrefcount(True)}


def drops_references() -> bool:
    lost = _lost_references()
    return lost["None"] >= 16 or lost["True"] >= 16


def _raise_refcount(obj: object, amount: int) -> None:
    # CPython (non-debug): ob_refcnt is the first Py_ssize_t of every object.
    field = ctypes.c_ssize_t.from_address(id(obj))
    field.value += amount


def install() -> bool:
    """Apply the mitigation if this PySide6 needs it; returns whether it is active."""
    global _installed
    if _installed:
        return True
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False  # immortal singletons (or not CPython): nothing to protect
    if not drops_references():
        return False
    for singleton in (None, True, False):
        _raise_refcount(singleton, _HEADROOM)
    _installed = True
    return True
