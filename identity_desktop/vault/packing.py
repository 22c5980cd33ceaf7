"""A batch's rows packed for SQLite: one ``INSERT ... SELECT`` per table per few megabytes.

Each chunk holds every row's fields end to end in one buffer (for ``reports``: look-up, digest,
session look-up when there is one, sealed summary; for ``bodies``: look-up, sealed body) and a
second, fixed-width buffer of where each row's fields start and how long they are (ten decimal
digits a number: SQLite reads them with ``substr`` and ``CAST``, no JSON parsing per row). The
statement then runs inside SQLite, which releases the GIL (see ``vault.batches``).

The importer's records are encrypted straight into their place in the chunk
(``RecordCipher.seal_into``): no ciphertext is copied between encrypting and inserting.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from identity_desktop.vault.crypto import NONCE_SIZE, TAG_SIZE

LOOKUP = 16  # bytes in a keyed look-up hash and in a content digest
PACK_LIMIT = 32 * 1024 * 1024  # bytes per statement, far below SQLite's 1e9 limit
_DIGITS = 10
_REPORT_ENTRY = 3 * _DIGITS  # offset, session look-up length (0 or 16), sealed summary length
_BODY_ENTRY = 2 * _DIGITS  # offset, sealed body length


def sealed_size(plaintext_size: int) -> int:
    return NONCE_SIZE + plaintext_size + TAG_SIZE


def _field(entry: int, k: int) -> str:
    """SQL for number ``k`` of row ``i.n``'s entry in ``?2`` (1-based substr)."""
    return f"CAST(substr(?2, i.n * {entry} + {k * _DIGITS + 1}, {_DIGITS}) AS INTEGER)"


# ?1 the rows, ?2 their offsets, ?3 how many rows. The recursive CTE counts the rows 0..n-1.
_ROWS = "WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i WHERE n + 1 < ?3) "
REPORTS_SQL = (
    _ROWS + "INSERT INTO reports(lookup, session_lookup, digest, summary) "
    "SELECT substr(?1, o, 16), CASE WHEN s THEN substr(?1, o + 32, 16) END, "
    "substr(?1, o + 16, 16), substr(?1, o + 32 + s, m) FROM ("
    f"SELECT i.n AS k, {_field(_REPORT_ENTRY, 0)} AS o, {_field(_REPORT_ENTRY, 1)} AS s, "
    f"{_field(_REPORT_ENTRY, 2)} AS m FROM i) WHERE true "
    "ON CONFLICT(lookup) DO UPDATE SET session_lookup = excluded.session_lookup, "
    "digest = excluded.digest, summary = excluded.summary")
# A body's row number is its report's: found through the look-up hash just written.
BODIES_SQL = (
    _ROWS + "INSERT INTO bodies(seq, body) "
    "SELECT r.seq, substr(?1, o + 16, m) FROM ("
    f"SELECT i.n AS k, {_field(_BODY_ENTRY, 0)} AS o, {_field(_BODY_ENTRY, 1)} AS m FROM i) "
    "JOIN reports r ON r.lookup = substr(?1, o, 16) WHERE true "
    "ON CONFLICT(seq) DO UPDATE SET body = excluded.body")


# A batch of reports none of which is stored yet (see ``batches._settle``) takes these instead:
# plain INSERTs (a conflict would be a bug: it raises rather than updates) with row numbers
# given, ?4 the first, so that each body goes in under its report's number without looking it
# up through the look-up index (a sixth of a first import's SQLite work).
NEW_REPORTS_SQL = (
    _ROWS + "INSERT INTO reports(seq, lookup, session_lookup, digest, summary) "
    "SELECT ?4 + k, substr(?1, o, 16), CASE WHEN s THEN substr(?1, o + 32, 16) END, "
    "substr(?1, o + 16, 16), substr(?1, o + 32 + s, m) FROM ("
    f"SELECT i.n AS k, {_field(_REPORT_ENTRY, 0)} AS o, {_field(_REPORT_ENTRY, 1)} AS s, "
    f"{_field(_REPORT_ENTRY, 2)} AS m FROM i)")
NEW_BODIES_SQL = (
    _ROWS + "INSERT INTO bodies(seq, body) SELECT ?4 + k, substr(?1, o + 16, m) FROM ("
    f"SELECT i.n AS k, {_field(_BODY_ENTRY, 0)} AS o, {_field(_BODY_ENTRY, 1)} AS m FROM i)")
_NEXT_SEQ_SQL = ("SELECT max(coalesce((SELECT max(seq) FROM reports), 0), "
                 "coalesce((SELECT max(seq) FROM bodies), 0)) + 1")


@dataclass
class Packed:
    reports: bytearray
    report_offsets: bytes
    bodies: bytearray
    body_offsets: bytes
    count: int


# fill(item, sealed summary slot, sealed body slot): writes both ciphertexts into their slots.
Fill = Callable[[int, memoryview, memoryview], None]


def pack(items: Sequence[int], lookups: Sequence[bytes], digests: Sequence[bytes],
         sessions: Sequence[bytes | None], summary_sizes: Sequence[int],
         body_sizes: Sequence[int], fill: Fill) -> list[Packed]:
    """Pack ``items`` (indices into the parallel sequences; sizes are of the *sealed* summary
    and body) into chunks, calling ``fill`` once per item to write its ciphertexts."""
    out: list[Packed] = []
    start = 0
    while start < len(items):
        end, report_bytes, body_bytes = start, 0, 0
        while end < len(items) and max(report_bytes, body_bytes) < PACK_LIMIT:
            i = items[end]
            report_bytes += 2 * LOOKUP + (LOOKUP if sessions[i] else 0) + summary_sizes[i]
            body_bytes += LOOKUP + body_sizes[i]
            end += 1
        out.append(_chunk(items[start:end], report_bytes, body_bytes, lookups, digests,
                          sessions, summary_sizes, body_sizes, fill))
        start = end
    return out


def _chunk(items: Sequence[int], report_bytes: int, body_bytes: int,
           lookups: Sequence[bytes], digests: Sequence[bytes], sessions: Sequence[bytes | None],
           summary_sizes: Sequence[int], body_sizes: Sequence[int], fill: Fill) -> Packed:
    reports, bodies = bytearray(report_bytes), bytearray(body_bytes)
    rows, body_rows = memoryview(reports), memoryview(bodies)
    offsets: list[bytes] = []
    body_offsets: list[bytes] = []
    pos = body_pos = 0
    for i in items:
        lookup, session, size, body_size = lookups[i], sessions[i], summary_sizes[i], body_sizes[i]
        rows[pos:pos + LOOKUP] = lookup
        rows[pos + LOOKUP:pos + 2 * LOOKUP] = digests[i]
        at = pos + 2 * LOOKUP
        if session:
            rows[at:at + LOOKUP] = session
            at += LOOKUP
        offsets.append(b"%010d%010d%010d" % (pos + 1, LOOKUP if session else 0, size))
        body_rows[body_pos:body_pos + LOOKUP] = lookup
        body_offsets.append(b"%010d%010d" % (body_pos + 1, body_size))
        fill(i, rows[at:at + size], body_rows[body_pos + LOOKUP:body_pos + LOOKUP + body_size])
        pos = at + size
        body_pos += LOOKUP + body_size
    return Packed(reports, b"".join(offsets), bodies, b"".join(body_offsets), len(items))


def insert(conn: sqlite3.Connection, packed: Sequence[Packed]) -> None:
    """Upsert the packed rows (a stored report keeps its row number)."""
    for chunk in packed:
        conn.execute(REPORTS_SQL, (chunk.reports, chunk.report_offsets, chunk.count))
        conn.execute(BODIES_SQL, (chunk.bodies, chunk.body_offsets, chunk.count))


def insert_new(conn: sqlite3.Connection, packed: Sequence[Packed]) -> None:
    """Insert packed rows of reports known not to be stored, under the next row numbers."""
    seq = int(conn.execute(_NEXT_SEQ_SQL).fetchone()[0])
    for chunk in packed:
        conn.execute(NEW_REPORTS_SQL, (chunk.reports, chunk.report_offsets, chunk.count, seq))
        conn.execute(NEW_BODIES_SQL, (chunk.bodies, chunk.body_offsets, chunk.count, seq))
        seq += chunk.count
