"""Parse an exported batch into validated report objects, naming the file and record of every
problem.

Accepted shapes: a Stripe list object (``{"object": "list", "data": [...]}``), a JSON array, a
single report object, JSON Lines, and any of these inside an age bundle. Messages name positions
and fields, never values (values may be personal data).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec
import orjson

from identity_desktop.errors import IdentityDeskError, ImportFileError
from identity_desktop.importing.helper import Helper, Outcome, decode_all
from identity_desktop.importing.records import compact, decode, decode_object, split_elements
from identity_desktop.report import ReportRecord

MAX_RECORD_BYTES = 8 * 1024 * 1024  # no single report comes near this; a longer line is garbage
_JSONL_SUFFIXES = {".jsonl", ".ndjson"}
_UTF8_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Rejected:
    source: str  # file name
    location: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.location}: {self.reason}"


@dataclass
class ParsedFile:
    records: list[ReportRecord]  # the valid ones, in file order
    rejected: list[Rejected]

    @property
    def total(self) -> int:
        """Records an import of this file writes."""
        return len(self.records)

    def batches(self, size: int) -> Iterator[tuple[list[ReportRecord], bool]]:
        """As :meth:`ElementStream.batches`: everything is decoded already."""
        for start in range(0, len(self.records), size):
            yield self.records[start:start + size], True

    def parsed(self) -> ParsedFile:
        return self


def read_records(path: Path, *, bundle_passphrase: str | None = None,
                 identities: list[str] | None = None) -> ParsedFile:
    """Read and validate every record of ``path``. Raises ``ImportFileError`` when the file fails
    as a whole (unreadable, empty, not JSON, not reports); bad records are returned as rejected."""
    return open_records(path, bundle_passphrase=bundle_passphrase, identities=identities).parsed()


def open_records(path: Path, *, bundle_passphrase: str | None = None,
                 identities: list[str] | None = None) -> ParsedFile | ElementStream:
    """``read_records``, except that a list object or array comes back as an
    :class:`ElementStream`, decoded batch by batch as the caller asks (the importer writes the
    first batches while the rest is still being decoded)."""
    path = Path(path)
    name = str(path)
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise ImportFileError(f"{name}: is a folder, not a file") from None
    except FileNotFoundError:
        raise ImportFileError(f"{name}: no such file") from None
    except OSError as exc:
        raise ImportFileError(f"{name}: cannot be read ({exc.strerror})") from None
    suffix = path.suffix.lower()
    if suffix == ".age" or data.startswith(b"age-encryption.org/") or data.startswith(
            b"-----BEGIN AGE ENCRYPTED FILE-----"):
        from identity_desktop.bundles import decrypt_bundle  # late: keeps pyrage off the hot path

        data = decrypt_bundle(data, name=name, identities=identities or [],
                              passphrase=bundle_passphrase)
        suffix = ""
    return open_bytes(data, name, jsonl=suffix in _JSONL_SUFFIXES)


def read_ahead(path: Path | str) -> ParsedFile | ElementStream | None:
    """``open_records`` of a file before the vault is unlocked, its helper process started,
    so that reading overlaps the key derivation (the CLI's import: Argon2id runs without the
    GIL). None for a bundle (opening one needs the vault's identity) and for a file that
    cannot be read: the import then opens it as usual, and says what is wrong with it. The
    caller ``close()``s a stream once it is imported or will not be."""
    path = Path(path)
    if path.suffix.lower() == ".age":
        return None
    try:
        source = open_records(path)  # no identity: a bundle in disguise is refused here
    except IdentityDeskError:
        return None
    if isinstance(source, ElementStream):
        source.start()
    return source


def parse_bytes(data: bytes, name: str, *, jsonl: bool = False) -> ParsedFile:
    return open_bytes(data, name, jsonl=jsonl).parsed()


def open_bytes(data: bytes, name: str, *, jsonl: bool = False) -> ParsedFile | ElementStream:
    # Windows editors write a UTF-8 byte-order mark; it is not part of the JSON.
    data = data.removeprefix(b"\xef\xbb\xbf")
    if not data.strip():
        raise ImportFileError(f"{name}: the file is empty")
    if b"\x00" in data[:65536]:
        raise ImportFileError(f"{name}: not a text file (it holds binary data), so not JSON")
    if jsonl:
        return _parse_jsonl(data, name)
    if _is_utf8(data):
        try:
            elements = split_elements(compact(data))
        except msgspec.DecodeError:
            elements = None  # not JSON: the plain path below says where
        if elements is not None:
            return ElementStream(elements, name)
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if _looks_like_jsonl(data):
            return _parse_jsonl(data, name)
        raise ImportFileError(f"{name}: not valid JSON ({_json_error(exc, data)})") from None
    return _from_document(document, name)


def _looks_like_jsonl(data: bytes) -> bool:
    first_line, _, rest = data.lstrip().partition(b"\n")
    if not rest.strip() or not first_line.strip().startswith(b"{"):
        return False
    try:
        return isinstance(orjson.loads(first_line), dict)
    except orjson.JSONDecodeError:
        return False


def _json_error(exc: orjson.JSONDecodeError, data: bytes) -> str:
    """orjson's message minus any quoted input: the position is enough and values may be
    personal data."""
    pos = getattr(exc, "pos", None)
    if isinstance(pos, int) and pos >= 0:
        line = data.count(b"\n", 0, pos) + 1
        column = pos - (data.rfind(b"\n", 0, pos) + 1) + 1
        where = f"line {line}, column {column}"
    else:
        where = "position unknown"
    reason = str(exc).split(":", 1)[0]
    if pos is not None and isinstance(pos, int) and pos >= len(data.rstrip()) - 1:
        reason = "the file ends too early (truncated?)"
    elif "utf-8" in str(exc).lower() or "unicode" in str(exc).lower():
        reason = "not UTF-8 text"
    return f"{reason} at {where}"


def _is_utf8(data: bytes) -> bool:
    """The fast path skips the fields it does not need without checking their text, so the
    whole input is checked first (ASCII at memory speed; else in 1 MiB steps)."""
    if data.isascii():
        return True
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for start in range(0, len(data), _UTF8_CHUNK):
            decoder.decode(data[start:start + _UTF8_CHUNK])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _check(obj: object, location: str, name: str, out: ParsedFile) -> None:
    record, reason = decode_object(obj)
    if record is not None:
        out.records.append(record)
    else:
        out.rejected.append(Rejected(name, location, reason or "invalid"))


# From this many records on, a helper process decodes the last part (see ``helper``): below
# it, starting a process (~0.1 s) costs more than it saves.
PARALLEL_MIN_RECORDS = 20_000
# The helper's share of the records. The importing thread also hashes and encrypts every batch
# while the writer stores them, so it decodes the smaller part.
HELPER_SHARE = 0.6  # 0.5 and 0.67 were slower on 2 cores (100k: ~2.85 s and ~3.1 s vs ~2.7 s)


class ElementStream:
    """The fast path: a list object's or array's elements, still JSON text, decoded a batch at
    a time by :meth:`batches`. From ``PARALLEL_MIN_RECORDS`` on, a helper process decodes the
    last part meanwhile. :attr:`rejected` is complete once the last batch is out."""

    def __init__(self, elements: list[msgspec.Raw], name: str) -> None:
        self.elements, self.name = elements, name
        self.rejected: list[Rejected] = []
        self._split: int | None = None  # where the helper's part begins, once started
        self._helper: Helper | None = None

    @property
    def total(self) -> int:
        return len(self.elements)

    def start(self) -> None:
        """Hand the last part to a helper process now, if the file is large enough (the first
        batch does it otherwise): a caller can have it decode while it unlocks the vault."""
        if self._split is not None:
            return
        total = len(self.elements)
        self._split = int(total * (1 - HELPER_SHARE)) if total >= PARALLEL_MIN_RECORDS else total
        if self._split < total:
            self._helper = Helper(self.elements[self._split:])

    def close(self) -> None:
        """Stop the helper if it still runs (a stream that will not be read after all;
        nothing to do once it was)."""
        if self._helper is not None:
            self._helper.stop()

    def batches(self, size: int) -> Iterator[tuple[list[ReportRecord], bool]]:
        """(the valid records of the next ``size`` elements, whether every element of the file
        has now been decoded: from then on :attr:`rejected` is final)."""
        self.start()
        elements, total, helper = self.elements, len(self.elements), self._helper
        split = total if self._split is None else self._split
        for start in range(0, split, size):
            end = min(start + size, split)
            records = self._collect(start, elements[start:end], decode_all(elements[start:end]))
            yield records, end == total
        if helper is None:
            return
        outcomes = helper.outcomes(total - split)
        if outcomes is None:
            outcomes = decode_all(elements[split:])
        # Every rejection is collected before the first of these batches is handed out: the
        # caller takes "complete" to mean that :attr:`rejected` is final.
        rest = [self._collect(start, elements[start:start + size],
                              outcomes[start - split:start - split + size])
                for start in range(split, total, size)]
        for records in rest:
            yield records, True

    def parsed(self) -> ParsedFile:
        """Every element decoded."""
        records = [record for batch, _ in self.batches(len(self.elements)) for record in batch]
        return ParsedFile(records, self.rejected)

    def _collect(self, first: int, raws: list[msgspec.Raw], outcomes: list[Outcome]
                 ) -> list[ReportRecord]:
        records: list[ReportRecord] = []
        for index, (raw, (summary, reason, body)) in enumerate(zip(raws, outcomes, strict=True),
                                                               first):
            if summary is not None:
                records.append(ReportRecord(raw if body is None else body, summary))
            elif reason is not None:
                self.rejected.append(Rejected(self.name, f"index {index}", reason))
            else:  # not JSON orjson reads: say where, as the plain path would
                try:
                    orjson.loads(bytes(raw))
                    reason = "not valid JSON"
                except orjson.JSONDecodeError as exc:
                    reason = f"not valid JSON ({_json_error(exc, bytes(raw))})"
                self.rejected.append(Rejected(self.name, f"index {index}", reason))
        return records


def _from_document(document: object, name: str) -> ParsedFile:
    out = ParsedFile([], [])
    if isinstance(document, list):
        items: list[object] = document
    elif isinstance(document, dict) and document.get("object") == "list":
        data = document.get("data")
        if not isinstance(data, list):
            raise ImportFileError(f"{name}: a list object whose 'data' is not an array")
        items = data
    elif isinstance(document, dict) and ("id" in document or "object" in document):
        kind = document.get("object")
        if kind not in (None, "identity.verification_report"):
            raise ImportFileError(
                f"{name}: holds a '{str(kind)[:60]}' object, not verification reports")
        _check(document, "the file's object", name, out)
        return out
    else:
        raise ImportFileError(
            f"{name}: not a Stripe list object, a JSON array or a verification report")
    for index, item in enumerate(items):
        _check(item, f"index {index}", name, out)
    return out


def _parse_jsonl(data: bytes, name: str) -> ParsedFile:
    out = ParsedFile([], [])
    for number, line in enumerate(data.split(b"\n"), 1):
        if not line.strip():
            continue
        location = f"line {number}"
        if len(line) > MAX_RECORD_BYTES:
            out.rejected.append(Rejected(name, location,
                                         f"longer than {MAX_RECORD_BYTES // 2**20} MiB"))
            continue
        try:
            if not _is_utf8(line):
                raise msgspec.DecodeError  # orjson names it below
            record, reason = decode(compact(line))
        except (msgspec.DecodeError, orjson.JSONDecodeError):
            try:
                record, reason = decode_object(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                out.rejected.append(Rejected(name, location,
                                             f"not valid JSON ({_json_error(exc, line)})"))
                continue
        if record is not None:
            out.records.append(record)
        else:
            out.rejected.append(Rejected(name, location, reason or "invalid"))
    if not out.records and out.rejected and len(out.rejected) == _nonblank_lines(data):
        first = out.rejected[0]
        raise ImportFileError(f"{name}: no line holds a verification report "
                              f"({first.location}: {first.reason})")
    return out


def _nonblank_lines(data: bytes) -> int:
    return sum(1 for line in data.split(b"\n") if line.strip())
