"""The unlocked workspace: the vault plus its in-memory list index, kept in step.

Both the CLI and the window drive the core through a ``Desk``; every mutation returns what
changed so that callers (panes, the CLI) decide what to refresh.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from identity_desktop.importing.importer import Cancelled, ImportSummary, Progress, import_files
from identity_desktop.importing.readers import ElementStream, ParsedFile
from identity_desktop.report_filter import RedactionState
from identity_desktop.vault.reports import get_report, iter_summaries
from identity_desktop.vault.store import Vault

if TYPE_CHECKING:  # numpy loads with the index, when one is built (the CLI import builds none)
    from identity_desktop.index import ReportIndex


def session_states(vault: Vault) -> dict[str, RedactionState]:
    """The outbox's state per verification session (empty until the outbox module is present)."""
    try:
        from identity_desktop.outbox.store import redaction_states
    except ImportError:
        return {}
    return redaction_states(vault)


class Desk:
    """``build_index=False`` leaves the list index until something reads :attr:`index` (the
    CLI's import never does: building it would decrypt every summary of a large vault first,
    and fold every imported one in afterwards, for nothing)."""

    def __init__(self, vault: Vault, *, build_index: bool = True) -> None:
        self.vault = vault
        self._index: ReportIndex | None = None
        if build_index:
            self._build_index()

    def _build_index(self) -> ReportIndex:
        from identity_desktop.index import ReportIndex

        # A locked desk's index is empty (the summaries are out of reach, and must be).
        self._index = ReportIndex() if self.vault.is_locked else \
            ReportIndex(iter_summaries(self.vault))
        if not self.vault.is_locked:
            self.refresh_redaction_states()
        return self._index

    @property
    def index(self) -> ReportIndex:
        return self._index if self._index is not None else self._build_index()

    @classmethod
    def open(cls, path: Path, passphrase: str, *, build_index: bool = True) -> Desk:
        vault = Vault.open(path, passphrase)
        try:
            return cls(vault, build_index=build_index)
        except BaseException:
            # A damaged record found while building the index: do not leave the keys in
            # memory and the file open behind the error.
            vault.lock()
            raise

    @classmethod
    def create(cls, path: Path, passphrase: str) -> Desk:
        vault = Vault.create(path, passphrase)
        try:
            from identity_desktop.bundles import ensure_vault_identity
        except ImportError:
            pass
        else:
            ensure_vault_identity(vault)  # a new vault comes with its age identity
        return cls(vault)

    def refresh_redaction_states(self) -> list[int]:
        if self._index is None:
            return []  # read with everything else when the index is built
        return self._index.set_session_states(session_states(self.vault))

    def apply_changes(self, summaries: Sequence[Sequence[Any]]) -> tuple[list[int], list[int]]:
        """Bring the index up to date after the vault changed; returns (added, changed) rows."""
        if self._index is None:
            return [], []  # built from the vault, changes included, when first read
        return self._index.upsert(summaries)

    def import_files(self, paths: Sequence[Path | str], *, skip_invalid: bool = False,
                     progress: Progress | None = None, cancelled: Cancelled | None = None,
                     bundle_passphrase: str | None = None,
                     opened: Mapping[str, ParsedFile | ElementStream] | None = None
                     ) -> ImportSummary:
        summary = import_files(self.vault, paths, skip_invalid=skip_invalid, progress=progress,
                               cancelled=cancelled, bundle_passphrase=bundle_passphrase,
                               identities=self.age_identities(), opened=opened)
        self.apply_changes(summary.changed)
        return summary

    def age_identities(self) -> list[str]:
        """The vault's own age identity, for opening bundles made for this reviewer."""
        try:
            from identity_desktop.bundles import vault_identity
        except ImportError:
            return []
        return [vault_identity(self.vault)]

    def report(self, report_id: str) -> dict[str, Any] | None:
        return get_report(self.vault, report_id)

    def lock(self) -> None:
        self.vault.lock()
        self._index = None  # read again: empty (see _build_index)
