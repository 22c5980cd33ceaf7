"""Reading exported report batches (JSON, JSON Lines, age bundles) into the vault.

The names below load on first use (PEP 562): the import helper process
(``python -m identity_desktop.importing.helper``) must start without the vault and its crypto.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from identity_desktop.importing.importer import ImportSummary, import_files
    from identity_desktop.importing.readers import Rejected, read_records

__all__ = ["ImportSummary", "Rejected", "import_files", "read_records"]
_HOMES = {"ImportSummary": "importer", "import_files": "importer", "Rejected": "readers",
          "read_records": "readers"}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
