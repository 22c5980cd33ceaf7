"""Writing prepared batches on a helper thread while the caller prepares the next one.

SQLite releases the GIL while a statement runs (see ``vault.batches``), so on two cores the
B-tree and WAL work of batch N overlaps the hashing and encryption of batch N + 1.

Batches may also be *held*: written inside one transaction that stays open across them, until
:meth:`BatchWriter.submit_commit` commits them all (on the helper thread too: a commit may run a
checkpoint). The importer holds the first batches of a file whose later records are still being
decoded, so that writing starts at once and a bad record found later still leaves nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from identity_desktop.vault.batches import ImportLedger, Prepared, UpsertResult, write
from identity_desktop.vault.store import Vault


class BatchWriter:
    """One job at a time on a helper thread. The caller's thread must not touch the vault
    between a ``submit`` and :meth:`wait`: the helper is the only user of the connection then.

    ``with BatchWriter(vault) as w: ... w.submit(p) ... result = w.wait()``; leaving the block
    waits for the job in flight (its transaction commits or rolls back, never half-done) and
    rolls back held batches not committed.
    """

    def __init__(self, vault: Vault, ledger: ImportLedger | None = None) -> None:
        self._vault = vault
        self._ledger = ledger  # the import's, shared by its files' writers
        self._thread: threading.Thread | None = None
        self._result: UpsertResult | None = None
        self._error: BaseException | None = None
        self.holding = False  # a held transaction is open (read it only between jobs)

    def submit(self, p: Prepared, *, held: bool = False) -> None:
        """Write ``p`` in its own transaction, or (``held``) in the held one, begun if need be."""
        self._start(self._write, p, held)

    def submit_commit(self) -> None:
        """Commit the held batches."""
        self._start(self._commit)

    def _write(self, p: Prepared, held: bool) -> UpsertResult:
        if held and not self.holding:
            self._vault.conn.execute("BEGIN IMMEDIATE")
            self.holding = True
        return write(self._vault, p, in_open_transaction=held, ledger=self._ledger)

    def _commit(self) -> None:
        if self.holding:
            self._vault.conn.execute("COMMIT")
            self.holding = False

    def _start(self, job: Callable[..., Any], *args: Any) -> None:
        if self._thread is not None:
            raise RuntimeError("wait() for the job in flight before submitting another")
        self._result, self._error = None, None
        self._thread = threading.Thread(target=self._run, args=(job, *args),
                                        name="vault-batch-writer", daemon=True)
        self._thread.start()

    def _run(self, job: Callable[..., Any], *args: Any) -> None:
        try:
            self._result = job(*args)
        except BaseException as exc:  # handed to the caller's thread by wait()
            self._error = exc

    @property
    def busy(self) -> bool:
        return self._thread is not None

    def wait(self) -> UpsertResult | None:
        """The finished job's result (a batch's; None for a commit or when nothing was in
        flight); re-raises its error in the caller's thread."""
        thread, self._thread = self._thread, None
        if thread is None:
            return None
        thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return self._result

    def rollback(self) -> None:
        """Drop the held batches (after the job in flight, whose error is not raised here)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
        self._error = None
        if self.holding and not self._vault.is_locked:
            self._vault.conn.execute("ROLLBACK")
        self.holding = False

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.rollback()
