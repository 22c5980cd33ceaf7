"""Reading exported report batches (JSON, JSON Lines, age bundles) into the vault."""

from __future__ import annotations

from identity_desktop.importing.importer import ImportSummary, import_files
from identity_desktop.importing.readers import Rejected, read_records

__all__ = ["ImportSummary", "Rejected", "import_files", "read_records"]
