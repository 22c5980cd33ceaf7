"""Writing a bundle: report objects out as JSON Lines inside an age file.

Guarantees:
- The plaintext never touches the disk: reports are serialised on demand into pyrage's stream
  encryption (``encrypt_io``), 64 KiB at a time, for recipients. pyrage has no streaming API for
  passphrases, so a passphrase bundle's plaintext is assembled in memory, never in a file.
- The output appears whole or not at all: the ciphertext goes to a temporary file (0600) in the
  destination folder, is fsynced and then renamed over the destination; on any failure or
  cancel the temporary file is removed and an existing destination is left as it was.
- ``progress(done, total)`` is called as reports are written (``total`` is None when the
  caller's iterable has no length); ``cancelled()`` is polled between reports. Neither is
  called from another thread.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
from collections.abc import Callable, Iterable, Iterator, Sized
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import orjson
import pyrage
from pyrage import passphrase as age_passphrase

from identity_desktop.bundles.errors import ExportCancelledError
from identity_desktop.bundles.keys import parse_recipients
from identity_desktop.errors import BundleError
from identity_desktop.report_filter import ReportFilter

if TYPE_CHECKING:  # the desk imports this package lazily; keep the import one-way at runtime
    from identity_desktop.desk import Desk

ExportProgress = Callable[[int, int | None], None]
Cancelled = Callable[[], bool]
PROGRESS_EVERY = 100  # reports between progress calls


class _Interrupted(Exception):
    """Raised inside pyrage's read callback to stop it; the real cause is kept aside."""


class _JsonLinesReader(io.RawIOBase):
    """A readable stream producing one JSON line per report, pulled by the encryptor."""

    def __init__(self, reports: Iterable[dict[str, Any]], total: int | None,
                 progress: ExportProgress | None, cancelled: Cancelled | None) -> None:
        super().__init__()
        self._reports: Iterator[dict[str, Any]] = iter(reports)
        self._total = total
        self._progress = progress
        self._cancelled = cancelled
        self._buffer = bytearray()
        self._done = False
        self._reported = -1
        self.count = 0
        self.error: BaseException | None = None  # what stopped the stream, re-raised later

    def readable(self) -> bool:
        return True

    def _fill(self, wanted: int) -> None:
        while len(self._buffer) < wanted and not self._done:
            if self._cancelled is not None and self._cancelled():
                raise ExportCancelledError("export cancelled; nothing was written")
            report = next(self._reports, None)
            if report is None:
                self._done = True
                break
            self._buffer += orjson.dumps(report, option=orjson.OPT_APPEND_NEWLINE)
            self.count += 1
            if self._progress is not None and self.count % PROGRESS_EVERY == 0:
                self._reported = self.count
                self._progress(self.count, self._total)

    def read(self, size: int | None = -1) -> bytes:
        try:
            self._fill(size if size is not None and size >= 0 else 1 << 62)
        except BaseException as exc:  # kept, and re-raised once pyrage returns
            self.error = exc
            raise _Interrupted from None
        n = len(self._buffer) if size is None or size < 0 else min(size, len(self._buffer))
        chunk = bytes(self._buffer[:n])
        del self._buffer[:n]
        return chunk

    def readinto(self, b: Any) -> int:
        chunk = self.read(len(b))
        b[:len(chunk)] = chunk
        return len(chunk)

    def prime(self) -> bool:
        """Serialise the first report now (outside pyrage, so errors surface as themselves);
        False when there is none."""
        self._fill(1)
        return bool(self._buffer)

    def finish(self) -> None:
        if self.error is not None:
            raise self.error
        if self._progress is not None and self._reported != self.count:
            self._reported = self.count
            self._progress(self.count, self._total)


def _check_destination(out: Path) -> None:
    if out.is_dir():
        raise BundleError(f"cannot write {out}: it is a folder")
    if not out.parent.is_dir():
        raise BundleError(f"cannot write {out}: the folder {out.parent} does not exist")


@contextlib.contextmanager
def _atomic_file(out: Path) -> Iterator[IO[bytes]]:
    """A new 0600 file beside ``out`` that replaces it only if the block completes."""
    temp = out.parent / f".{out.name}.{secrets.token_hex(6)}.part"
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise BundleError(f"cannot write in {out.parent}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, out)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(out.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def export_bundle(reports: Iterable[dict[str, Any]], out: Path | str, *,
                  recipients: list[str] | None = None, passphrase: str | None = None,
                  progress: ExportProgress | None = None, cancelled: Cancelled | None = None,
                  total: int | None = None, armored: bool = False) -> int:
    """Encrypt ``reports`` as JSON Lines to ``recipients`` (age public keys) or with
    ``passphrase`` (exactly one of the two) into ``out``; returns the number of reports.

    Raises ``BundleError`` for bad recipients, an empty export or an unwritable destination,
    ``ExportCancelledError`` when ``cancelled()`` turned true; in every failure the destination
    is untouched."""
    out = Path(out)
    if bool(recipients) == (passphrase is not None):
        raise BundleError("give either recipients (age public keys) or a bundle passphrase")
    if passphrase is not None and not passphrase:
        raise BundleError("the bundle passphrase must not be empty")
    parsed = parse_recipients(recipients) if recipients else []
    _check_destination(out)
    if total is None and isinstance(reports, Sized):
        total = len(reports)
    reader = _JsonLinesReader(reports, total, progress, cancelled)
    # Refuse an empty export before any file exists: an empty bundle is refused on import too.
    if not reader.prime():
        raise BundleError("nothing to export: no report was selected")
    try:
        with _atomic_file(out) as file:
            if parsed:
                pyrage.encrypt_io(reader, file, parsed, armored)
            else:
                assert passphrase is not None
                plaintext = reader.read()  # pyrage has no streaming passphrase API
                file.write(age_passphrase.encrypt(plaintext, passphrase, armored))
                del plaintext
            reader.finish()
    except (pyrage.EncryptError, _Interrupted) as exc:
        reader.finish()  # the cause raised in our reader (cancel, vault error...) wins
        raise BundleError(f"cannot write {out}: encryption failed ({exc})") from None
    except OSError as exc:
        raise BundleError(f"cannot write {out}: {exc.strerror}") from None
    return reader.count


def _vault_files(vault_path: Path) -> set[Path]:
    base = vault_path.resolve()
    return {base, *(Path(f"{base}{suffix}") for suffix in ("-wal", "-shm", "-journal"))}


def export_reports(desk: Desk, out: Path | str, *, report_ids: Iterable[str] | None = None,
                   flt: ReportFilter | None = None, recipients: list[str] | None = None,
                   passphrase: str | None = None, progress: ExportProgress | None = None,
                   cancelled: Cancelled | None = None, armored: bool = False) -> int:
    """Export a selection (``report_ids``, in that order) and/or the reports matching ``flt``
    (in list order, newest first) from an open desk; with neither, every report."""
    out = Path(out)
    if out.resolve() in _vault_files(desk.vault.path):
        raise BundleError(f"refusing to write a bundle over the vault itself ({out})")
    index = desk.index
    if report_ids is not None:
        ids = list(dict.fromkeys(report_ids))
        missing = [i for i in ids if index.position_of(i) is None]
        if missing:
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise BundleError(f"no report {missing[0]} in the vault{more}")
        if flt is not None:
            matching = set(index.query(flt).tolist())
            ids = [i for i in ids if index.position_of(i) in matching]
    else:
        ids = [index.report_id(pos) for pos in index.query(flt or ReportFilter()).tolist()]

    def reports() -> Iterator[dict[str, Any]]:
        for report_id in ids:
            report = desk.report(report_id)
            if report is None:  # the index and the vault disagree: never export a hole
                raise BundleError(f"report {report_id} vanished from the vault during export")
            yield report

    return export_bundle(reports(), out, recipients=recipients, passphrase=passphrase,
                         progress=progress, cancelled=cancelled, total=len(ids),
                         armored=armored)
