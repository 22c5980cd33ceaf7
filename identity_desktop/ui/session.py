"""The window's handle on the vault: holds the unlocked :class:`Desk` and broadcasts what changed.

Panes never call each other; they receive this object and react to its signals:

- ``sig_unlocked``: a desk is open; read ``session.index`` and show it.
- ``sig_changed(VaultChanges)``: reports were added or changed (positions in the index); each
  pane decides what to refresh (the list inserts rows, the detail pane reloads its report...).
- ``sig_locked``: drop everything read from the vault (models, detail, search text).

Threading: vault work goes through :meth:`run` onto the vault's owner thread
(:mod:`identity_desktop.ui.operations`). The :class:`ReportIndex` is read by the table model on
the GUI thread, so it is mutated only here, on the GUI thread, from the summaries an op returns
(:meth:`apply_changes`). The one exception is the index a ``Desk`` builds while it opens: that
happens on the vault thread *before* the desk is handed over, when nothing else can see it.

Every op started through :meth:`run` is guarded by a lock generation: a result that arrives
after the vault was locked (or re-opened) is dropped instead of landing in the new view.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from identity_desktop.desk import Desk, session_states
from identity_desktop.errors import VaultLockedError
from identity_desktop.index import RedactionState, ReportIndex
from identity_desktop.ui.operations import OpContext, VaultOp, VaultRunner


@dataclass(frozen=True)
class VaultChanges:
    """What one mutation changed, as index positions; broadcast once via ``sig_changed``."""

    added: tuple[int, ...] = ()
    changed: tuple[int, ...] = ()
    redaction_only: bool = False  # only redaction states moved (no summary changed)

    @property
    def empty(self) -> bool:
        return not self.added and not self.changed


DeskBody = Callable[[Desk, OpContext], Any]


class Session(QObject):
    sig_unlocked = Signal()
    sig_locked = Signal()
    sig_changed = Signal(object)  # VaultChanges

    def __init__(self, runner: VaultRunner, vault_path: Path,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.vault_path = Path(vault_path)
        self._desk: Desk | None = None
        self._generation = 0

    # -- state ----------------------------------------------------------------------------------
    @property
    def desk(self) -> Desk | None:
        return self._desk

    @property
    def index(self) -> ReportIndex | None:
        return None if self._desk is None else self._desk.index

    @property
    def is_unlocked(self) -> bool:
        return self._desk is not None

    @property
    def vault_exists(self) -> bool:
        return self.vault_path.is_file() and self.vault_path.stat().st_size > 0

    # -- opening --------------------------------------------------------------------------------
    def unlock(self, passphrase: str, *, create: bool = False,
               parent: QWidget | None = None) -> VaultOp:
        """Open (or create) the vault on the vault thread; on success ``sig_unlocked`` fires.
        Returns the started op so the caller can attach its own success/failure handlers."""
        path = self.vault_path

        def body(_ctx: OpContext) -> Desk:
            return Desk.create(path, passphrase) if create else Desk.open(path, passphrase)

        return self.open_with(body, parent=parent, label="Creating vault…" if create
                              else "Unlocking…")

    def open_with(self, factory: Callable[[OpContext], Desk], *, parent: QWidget | None = None,
                  label: str = "Unlocking…") -> VaultOp:
        """Adopt the desk that ``factory`` builds on the vault thread (the demo vault uses it).
        Callbacks attached by the caller run after ``sig_unlocked``."""
        op = VaultOp(self.runner, factory, parent=parent, label=label)
        op.success(self._adopt, owner=self)  # adopt even if the dialog is gone: never leak a desk
        return op.run_in_background()

    def _adopt(self, desk: Desk) -> None:
        if self._desk is not None:  # two unlocks raced: keep the first, close the second
            VaultOp(self.runner, lambda _ctx: desk.lock(), label="lock").run_in_background()
            return
        self._generation += 1
        self._desk = desk
        self.sig_unlocked.emit()

    # -- locking --------------------------------------------------------------------------------
    def lock(self) -> None:
        """Clear the panes now, then close the vault on its thread after anything queued.

        Locking drops the decrypted index and the keys (``Vault.lock`` forgets the cipher and
        closes the connection). Python cannot wipe freed memory; dropping every reference is the
        most it can do, and the panes drop theirs on ``sig_locked``."""
        desk, self._desk = self._desk, None
        if desk is None:
            return
        self._generation += 1
        self.runner.cancel_all()
        self.sig_locked.emit()
        VaultOp(self.runner, lambda _ctx: desk.lock(), label="Locking…").run_in_background()

    def shutdown(self) -> None:
        """Lock (waiting for the vault thread) and stop the thread; call once, at exit."""
        desk, self._desk = self._desk, None
        if desk is not None:
            self._generation += 1
            self.sig_locked.emit()
        self.runner.shutdown(desk.lock if desk is not None else None)

    # -- work -------------------------------------------------------------------------------------
    def run(self, body: DeskBody, *, parent: QWidget | None = None, label: str = "") -> VaultOp:
        """An op (not yet started) whose body gets the desk; dropped if the vault is locked
        before its result arrives."""
        desk = self._desk
        if desk is None:
            raise VaultLockedError("the vault is locked")
        generation = self._generation
        op = VaultOp(self.runner, lambda ctx: body(desk, ctx), parent=parent, label=label)
        return op.valid_while(lambda: self._generation == generation)

    def apply_changes(self, summaries: Sequence[Sequence[Any]]) -> VaultChanges:
        """GUI thread: fold summaries returned by an op into the index and broadcast once."""
        if self._desk is None or not summaries:
            return VaultChanges()
        added, changed = self._desk.apply_changes(summaries)
        changes = VaultChanges(tuple(added), tuple(changed))
        if not changes.empty:
            self.sig_changed.emit(changes)
        return changes

    def apply_redaction_states(self, states: Mapping[str, RedactionState]) -> VaultChanges:
        """GUI thread: overlay the outbox's per-session states (from an op) and broadcast."""
        if self._desk is None:
            return VaultChanges()
        positions = self._desk.index.set_session_states(states)
        changes = VaultChanges(changed=tuple(positions), redaction_only=True)
        if not changes.empty:
            self.sig_changed.emit(changes)
        return changes

    def refresh_redaction_states(self, parent: QWidget | None = None) -> VaultOp:
        """Re-read the outbox's states on the vault thread, then apply them here."""
        op = self.run(lambda desk, _ctx: session_states(desk.vault), parent=parent,
                      label="Refreshing redaction states…")
        return op.success(self.apply_redaction_states).run_in_background()

    def report_ids(self, positions: Iterable[int]) -> list[str]:
        """Report ids at these index positions (for actions on the current selection)."""
        index = self.index
        return [] if index is None else [index.report_id(int(p)) for p in positions]
