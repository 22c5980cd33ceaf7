"""The encrypted local vault (see :mod:`identity_desktop.vault.store` for its guarantees)."""

from __future__ import annotations

from identity_desktop.vault.format import FormatVersion
from identity_desktop.vault.store import Vault

__all__ = ["FormatVersion", "Vault"]
