"""From one record's JSON text to what the vault stores, without building the whole report.

An import stores each report's JSON as its body and needs only a handful of its fields (the
validated head, see ``report.HEAD_FIELDS``) for the summary. So instead of parsing a 100,000
report file into ~600 MB of dicts (and serialising each one back for the body), msgspec:

- splits a list object or array into each element's bytes (``msgspec.Raw``, no objects made);
- decodes each element into a typed head (``_Head``) that skips every other field in C;
- the element's bytes, compacted, are the body as they are.

Validation and the summary are the very functions the rest of the app uses
(``validate_report``, ``summarize``), run on the head: they read nothing else.

Whatever the fast path does not recognise falls back to the plain path (orjson, whole objects),
which names every problem exactly as before: a file that is not a list or array, one that is
not UTF-8 or not valid JSON, an element that is not an object or whose check is not an object.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, TypedDict

import msgspec
import orjson

from identity_desktop.report import HEAD_FIELDS, ReportRecord, summarize, validate_report


class _Head(TypedDict, total=False):
    """The fields of ``HEAD_FIELDS``, decoded into a dict that holds just the keys the record
    has (validation tells a missing ``object`` or ``livemode`` from a null one). A check that
    is not an object or null fails decoding and takes the plain path, which names it."""

    id: Any
    object: Any
    created: Any
    livemode: Any
    type: Any
    verification_session: Any
    client_reference_id: Any
    document: dict[str, Any] | None
    id_number: dict[str, Any] | None
    selfie: dict[str, Any] | None
    email: dict[str, Any] | None
    phone: dict[str, Any] | None


assert tuple(_Head.__annotations__) == HEAD_FIELDS, "report.HEAD_FIELDS and _Head must agree"


class _ListObject(msgspec.Struct):
    object: Any = msgspec.UNSET
    data: list[msgspec.Raw] | None = None


_decode_head = msgspec.json.Decoder(_Head).decode
_decode_list_object = msgspec.json.Decoder(_ListObject).decode
_decode_array = msgspec.json.Decoder(list[msgspec.Raw]).decode
# Whitespace between tokens: line breaks and tabs anywhere (one memchr each: milliseconds for
# 100 MB), or the spaces of Python's default separators near the start (a multi-byte search of
# a whole file takes ~0.1 s). Either may also sit inside a string, which only costs a needless
# reformat; a file spaced only further on keeps its spaces, which only costs bytes. The body is
# stored compact, as the app's own JSON is.
_LAYOUT_ANYWHERE = (b"\n", b"\r", b"\t")
_LAYOUT_AT_START = (b'": ', b'", "', b", \"")
_START = 1 << 20


class Decoded(NamedTuple):
    record: ReportRecord | None
    reason: str | None  # why the record is rejected (no value in it), when record is None


def compact(data: bytes) -> bytes:
    """``data`` without whitespace between tokens (strings and numbers kept byte for byte).
    Raises ``msgspec.DecodeError`` when it is not JSON."""
    head = data[:_START]
    if any(mark in data for mark in _LAYOUT_ANYWHERE) or any(
            mark in head for mark in _LAYOUT_AT_START):
        return msgspec.json.format(data, indent=-1)
    return data


def split_elements(data: bytes) -> list[msgspec.Raw] | None:
    """Each element's bytes of a compact, UTF-8 Stripe list object or JSON array; None when
    ``data`` is anything else (the plain path then reads or refuses it)."""
    try:
        if data[:1] == b"[":
            return _decode_array(data)
        if data[:1] == b"{":
            envelope = _decode_list_object(data)
            if envelope.object == "list" and envelope.data is not None:
                return envelope.data
    except (msgspec.DecodeError, msgspec.ValidationError):
        pass
    return None


def decode(raw: bytes | msgspec.Raw, plain: Callable[[bytes], Any] = orjson.loads) -> Decoded:
    """One record: its stored form, or why it is rejected. ``raw`` is compact UTF-8 JSON."""
    try:
        head = _decode_head(raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return decode_object(plain(bytes(raw)))  # plain() raises on JSON it cannot read
    reason = validate_report(head)
    if reason is not None:
        return Decoded(None, reason)
    return Decoded(ReportRecord(raw, summarize(head)), None)


def decode_object(obj: object) -> Decoded:
    """The plain path: a record already parsed into Python objects."""
    reason = validate_report(obj)
    if reason is not None:
        return Decoded(None, reason)
    return Decoded(ReportRecord.of(obj), None)  # type: ignore[arg-type]
