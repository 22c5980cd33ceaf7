"""Emitting signals must not eat references to True (PySide6 6.12 emit() bug, worked around
in identity_desktop.ui.qtcompat)."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal

import identity_desktop.ui  # noqa: F401 - installs the workaround


class _Emitter(QObject):
    sig = Signal(int)


def test_many_emits_keep_the_refcount_of_true(qapp):
    emitter = _Emitter()
    received: list[int] = []
    emitter.sig.connect(received.append)
    before = sys.getrefcount(True)
    for i in range(2000):  # more than True's whole refcount: would abort without the fix
        emitter.sig.emit(i)
    assert len(received) == 2000
    assert abs(sys.getrefcount(True) - before) < 50
