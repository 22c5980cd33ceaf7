"""Import files into the vault, batch by batch, with progress and cancel.

- A file that fails as a whole (unreadable, empty, not JSON, not reports) changes nothing.
- By default a file with any invalid record is refused whole, naming the first bad records, so
  that a half-broken export never lands half-imported; ``skip_invalid`` imports the valid records
  and reports the rest as rejected (the window's choice, where the summary lists the reasons).
- Batches are committed one by one; ``progress`` is called after each commit, so whatever was
  reported done survives the app crashing or being killed, and a cancel; once the import
  returns it also survives a power cut (see ``_bulk_settings``). The next batch is encrypted
  while the previous one is written (``vault.batch_writer.BatchWriter``).
- A list object or array read strictly is written while it is still being decoded
  (``_write_file``): its first batches go into one transaction held open until every record
  is known valid, and are rolled back if one is not.
- The cyclic garbage collector is paused for the whole import (see ``gc_pause``): it would
  otherwise walk the millions of live parsed objects again and again.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from identity_desktop.errors import IdentityDeskError
from identity_desktop.gc_pause import gc_paused
from identity_desktop.importing.readers import ElementStream, ParsedFile, Rejected, open_records
from identity_desktop.vault.batch_writer import BatchWriter
from identity_desktop.vault.batches import ImportLedger, UpsertResult, prepare
from identity_desktop.vault.store import Vault

log = logging.getLogger(__name__)

# Reports per transaction. Each commit rewrites every index page its random keys touched, so
# larger batches write less (2,000 -> 10,000 cut the SQLite work of a 100k import by a quarter);
# 10,000 keeps a commit well under a second, so progress and cancel stay responsive.
BATCH_SIZE = 10_000
_IMPORT_CACHE_KIB = -16 * 1024  # negative: KiB, as SQLite's cache_size pragma reads it
# progress(file_name, records_done_in_file, records_in_file)
Progress = Callable[[str, int, int], None]
Cancelled = Callable[[], bool]


@dataclass
class FileOutcome:
    path: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    error: str | None = None  # the file was refused whole
    cancelled: bool = False


@dataclass
class ImportSummary:
    files: list[FileOutcome] = field(default_factory=list)
    changed: list[list[Any]] = field(default_factory=list)  # summaries of added/updated reports

    @property
    def added(self) -> int:
        return sum(f.added for f in self.files)

    @property
    def updated(self) -> int:
        return sum(f.updated for f in self.files)

    @property
    def unchanged(self) -> int:
        return sum(f.unchanged for f in self.files)

    @property
    def rejected(self) -> list[Rejected]:
        return [r for f in self.files for r in f.rejected]

    @property
    def errors(self) -> list[str]:
        return [f.error for f in self.files if f.error]

    @property
    def cancelled(self) -> bool:
        return any(f.cancelled for f in self.files)

    def line(self) -> str:
        return (f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
                f"{len(self.rejected)} rejected")


def _refusal(path: str, rejected: Sequence[Rejected]) -> str:
    first = "; ".join(f"{r.location}: {r.reason}" for r in rejected[:3])
    more = f" (and {len(rejected) - 3} more)" if len(rejected) > 3 else ""
    return (f"{path}: {len(rejected)} invalid record(s), nothing imported from this file: "
            f"{first}{more}")


@contextlib.contextmanager
def _bulk_settings(vault: Vault) -> Iterator[None]:
    """SQLite settings for the length of an import, set back afterwards:

    - a 16 MiB page cache: with the default 2 MiB the random-keyed index pages are evicted and
      read back within every batch, and spilled to the WAL more than once;
    - ``synchronous=NORMAL``: in WAL mode a commit then skips its fsync. A killed process loses
      nothing committed (the WAL is in the OS's hands), so every batch reported done survives
      ``kill -9``; only an OS crash or power cut could take back the last batches, and never
      leaves a damaged vault (the WAL's checksums stop replay at the first torn frame). At the
      end, back to ``FULL`` and a checkpoint, which syncs the WAL and the file: from then on
      the whole import is as durable as any other write.
    """
    conn = vault.conn
    cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    sync = conn.execute("PRAGMA synchronous").fetchone()[0]
    conn.execute(f"PRAGMA cache_size={_IMPORT_CACHE_KIB}")
    conn.execute("PRAGMA synchronous=NORMAL")
    try:
        yield
    finally:
        if not vault.is_locked:
            conn.execute(f"PRAGMA synchronous={int(sync)}")
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            conn.execute(f"PRAGMA cache_size={int(cache)}")
            conn.execute("PRAGMA shrink_memory")


def import_files(
    vault: Vault,
    paths: Sequence[Path | str],
    *,
    skip_invalid: bool = False,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
    bundle_passphrase: str | None = None,
    identities: list[str] | None = None,
    opened: Mapping[str, ParsedFile | ElementStream] | None = None,
) -> ImportSummary:
    """Import ``paths`` in order. ``opened``: files the caller has opened already
    (``readers.read_ahead``), by their path as given; the caller closes them."""
    with gc_paused(), _bulk_settings(vault):
        return _import_files(vault, paths, skip_invalid=skip_invalid, progress=progress,
                             cancelled=cancelled, bundle_passphrase=bundle_passphrase,
                             identities=identities, opened=dict(opened or {}))


def _import_files(
    vault: Vault,
    paths: Sequence[Path | str],
    *,
    skip_invalid: bool,
    progress: Progress | None,
    cancelled: Cancelled | None,
    bundle_passphrase: str | None,
    identities: list[str] | None,
    opened: dict[str, ParsedFile | ElementStream],
) -> ImportSummary:
    summary = ImportSummary()
    ledger = ImportLedger()  # lets a first import skip looking up what is stored
    for number, raw_path in enumerate(paths, 1):
        path = str(raw_path)
        outcome = FileOutcome(path)
        summary.files.append(outcome)
        try:
            parsed = opened.pop(path, None)  # once: a path given twice is read again
            if parsed is None:
                parsed = open_records(Path(path), bundle_passphrase=bundle_passphrase,
                                      identities=identities)
        except IdentityDeskError as exc:
            outcome.error = str(exc)
            log.info("import: file %d of %d refused as a whole", number, len(paths))
            continue
        if skip_invalid:
            # Progress then counts the valid records, known once the whole file is decoded.
            parsed = parsed.parsed()
        # Errors while writing (a damaged vault, a lock) are not the file's: they propagate.
        _write_file(vault, parsed, outcome, summary, ledger, strict=not skip_invalid,
                    progress=progress, cancelled=cancelled)
        _log_outcome(outcome, number, len(paths))
        if outcome.cancelled:
            break
    return summary


def _log_outcome(outcome: FileOutcome, number: int, files: int) -> None:
    # Counts only: file names and record contents may be personal data.
    if outcome.error:
        log.info("import: file %d of %d refused: %d invalid record(s)", number, files,
                 len(outcome.rejected))
        return
    log.info("import: file %d of %d: %d added, %d updated, %d unchanged, %d rejected%s",
             number, files, outcome.added, outcome.updated, outcome.unchanged,
             len(outcome.rejected), " (cancelled)" if outcome.cancelled else "")


def _count(outcome: FileOutcome, summary: ImportSummary, result: UpsertResult) -> None:
    outcome.added += result.added
    outcome.updated += result.updated
    outcome.unchanged += result.unchanged
    summary.changed.extend(result.changed)


def _write_file(vault: Vault, source: ParsedFile | ElementStream, outcome: FileOutcome,
                summary: ImportSummary, ledger: ImportLedger, *, strict: bool,
                progress: Progress | None, cancelled: Cancelled | None) -> None:
    """Write one file's records batch by batch. While batch N is written (on the writer's
    thread, inside SQLite), this thread encrypts batch N + 1; a batch counts, and progress is
    reported, once it is committed.

    A strict import of a list object or array (an :class:`ElementStream`) is written while it
    is still being decoded: until its last record is decoded (and so the file known valid),
    batches are *held*, written in one open transaction that is committed once the file is
    known valid and rolled back if a record is not (the file is then refused whole, nothing
    written) or on a cancel. From then on each batch commits on its own."""
    total = source.total
    done = 0
    held: list[tuple[UpsertResult, int]] = []  # written, not yet committed: (result, records)
    held_open = False  # held batches were submitted and their commit was not
    in_flight: tuple[str, int] | None = None  # ("batch" | "held" | "commit", records)

    def finish(writer: BatchWriter) -> None:
        """Account for the job in flight once it is done: a commit makes its batches count."""
        nonlocal done, in_flight
        result = writer.wait()
        kind, count = in_flight or ("", 0)
        in_flight = None
        now: list[tuple[UpsertResult, int]] = []
        if kind == "commit":
            now, held[:] = held[:], []
        elif kind in ("held", "batch"):
            assert result is not None
            if kind == "held":
                held.append((result, count))
                return
            now = [(result, count)]
        for one, records in now:
            _count(outcome, summary, one)
            done += records
        if now and progress is not None:
            progress(outcome.path, done, total)

    with BatchWriter(vault, ledger) as writer:
        for records, complete in source.batches(BATCH_SIZE):
            if strict and source.rejected:
                continue  # refused whole: decode the rest only to name every bad record
            if cancelled is not None and cancelled():
                outcome.cancelled = True
                break
            if complete and held_open:
                finish(writer)
                writer.submit_commit()
                in_flight, held_open = ("commit", 0), False
            batch = prepare(vault, records)
            finish(writer)
            writer.submit(batch, held=not complete)
            in_flight = ("batch", len(records)) if complete else ("held", len(records))
            held_open = held_open or not complete
        finish(writer)
        writer.rollback()  # held batches left: a refusal or a cancel before the file was valid
    outcome.rejected = source.rejected
    if strict and source.rejected:
        outcome.error = _refusal(outcome.path, source.rejected)
