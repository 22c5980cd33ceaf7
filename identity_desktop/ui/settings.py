"""Window preferences kept in QSettings: layout and the idle timeout, nothing else.

QSettings is a plaintext file, so it may hold ONLY non-personal preferences: window geometry
and state, splitter sizes, table header state (column widths, order, sort column) and the idle
lock timeout. Never filter text, report or session ids, vault contents or anything typed by the
user. Every key is listed here so that rule is reviewable in one place.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings

from identity_desktop import APP_NAME

DEFAULT_IDLE_MINUTES = 10
_KEYS = ("window/geometry", "window/state", "window/splitter", "list/header",
         "lock/idle_minutes")


class UiSettings:
    def __init__(self, settings: QSettings | None = None) -> None:
        # Tests pass a QSettings on a temporary file; the app uses the platform's default.
        self._s = settings if settings is not None else QSettings("identity-desk", APP_NAME)

    def _bytes(self, key: str) -> QByteArray | None:
        value = self._s.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def _set(self, key: str, value: object) -> None:
        assert key in _KEYS, f"{key} is not an allowed (non-personal) settings key"
        self._s.setValue(key, value)

    # -- layout -----------------------------------------------------------------------------
    def state(self, name: str) -> QByteArray | None:
        """``name``: one of geometry, state, splitter, header."""
        return self._bytes(self._key(name))

    def set_state(self, name: str, value: QByteArray) -> None:
        self._set(self._key(name), value)

    @staticmethod
    def _key(name: str) -> str:
        return "list/header" if name == "header" else f"window/{name}"

    # -- lock -------------------------------------------------------------------------------
    @property
    def idle_minutes(self) -> int:
        """Lock after this many minutes without input; 0 means never."""
        try:
            value = int(str(self._s.value("lock/idle_minutes", DEFAULT_IDLE_MINUTES)))
        except (TypeError, ValueError):
            return DEFAULT_IDLE_MINUTES
        return max(0, min(value, 24 * 60))

    @idle_minutes.setter
    def idle_minutes(self, minutes: int) -> None:
        self._set("lock/idle_minutes", max(0, min(int(minutes), 24 * 60)))

    def sync(self) -> None:
        self._s.sync()
