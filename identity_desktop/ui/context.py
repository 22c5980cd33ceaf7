"""What a window needs, built once and passed in (no global singletons reached from panes).

Tests build a ``UiContext`` with a temporary settings file, short idle and clipboard timeouts
and a pinned "today"; the app builds it from the command line (:mod:`identity_desktop.ui.app`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtWidgets import QApplication

from identity_desktop.ui.clipboard import CLEAR_AFTER_MS, SensitiveClipboard
from identity_desktop.ui.idle import IdleWatcher
from identity_desktop.ui.operations import VaultRunner
from identity_desktop.ui.session import Session
from identity_desktop.ui.settings import UiSettings


@dataclass
class UiContext:
    app: QApplication
    session: Session
    settings: UiSettings
    clipboard: SensitiveClipboard
    idle: IdleWatcher
    today: Callable[[], dt.date] = field(default=dt.date.today)
    api_base: str | None = None  # --api-base / STRIPE_API_BASE, for the fetch and sync features

    @property
    def runner(self) -> VaultRunner:
        return self.session.runner

    @classmethod
    def create(cls, app: QApplication, vault_path: Path, *, settings: UiSettings | None = None,
               idle_ms: int | None = None, clipboard_ms: int = CLEAR_AFTER_MS,
               today: Callable[[], dt.date] = dt.date.today,
               api_base: str | None = None) -> UiContext:
        settings = settings or UiSettings()
        runner = VaultRunner()
        session = Session(runner, vault_path)
        clipboard = SensitiveClipboard(app.clipboard(), clipboard_ms)
        idle = IdleWatcher(app, settings.idle_minutes * 60_000 if idle_ms is None else idle_ms)
        return cls(app, session, settings, clipboard, idle, today, api_base)

    def shutdown(self) -> None:
        """Clear our clipboard value, stop the idle watch, lock and stop the vault thread."""
        self.clipboard.clear_now()
        self.idle.stop()
        self.session.shutdown()
