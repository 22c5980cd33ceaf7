"""A batch's rows packed for SQLite: one ``INSERT ... SELECT`` per table per few megabytes.

Each chunk holds every row's fields end to end in one buffer (for ``reports``: look-up, digest,
session look-up when there is one, sealed summary; for ``bodies``: look-up, sealed body) and a
second, fixed-width buffer of where each row's fields start and how long they are (ten decimal
digits a number: SQLite reads them with ``substr`` and ``CAST``, no JSON parsing per row). The
statement then runs inside SQLite, which releases the GIL (see ``vault.batches``).

The importer's records are encrypted straight into their place in the chunk
(``AESGCM.encrypt_into``): no ciphertext is copied between encrypting and inserting.
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


# seal(nonce, plaintext, associated data, out): the ciphertext and tag, written into ``out``
# (``AESGCM.encrypt_into``, called straight from the packing loop).
Seal = Callable[[bytes, "bytes | memoryview", bytes, memoryview], object]


@dataclass(frozen=True)
class Sealing:
    """One sealed field of every item (a summary, a body): its nonce, what ``seal`` encrypts
    after it, the associated data's prefix (the look-up follows it) and the sealed size."""

    nonces: Sequence[bytes]
    plaintexts: Sequence[bytes | memoryview]
    ad_prefix: bytes
    sizes: Sequence[int]


def pack(items: Sequence[int], lookups: Sequence[bytes], digests: Sequence[bytes],
         sessions: Sequence[bytes | None], summaries: Sealing, bodies: Sealing, seal: Seal,
         sealed: tuple[list[bytes | memoryview], list[bytes | memoryview]]) -> list[Packed]:
    """Pack ``items`` (indices into the parallel sequences) into chunks, sealing each item's
    summary and body straight into its place; ``sealed`` gets each item's sealed summary and
    body (views of the chunk) at the item's index."""
    out: list[Packed] = []
    start = 0
    while start < len(items):
        end, report_bytes, body_bytes = start, 0, 0
        while end < len(items) and max(report_bytes, body_bytes) < PACK_LIMIT:
            i = items[end]
            report_bytes += 2 * LOOKUP + (LOOKUP if sessions[i] else 0) + summaries.sizes[i]
            body_bytes += LOOKUP + bodies.sizes[i]
            end += 1
        out.append(_chunk(items[start:end], report_bytes, body_bytes, lookups, digests,
                          sessions, summaries, bodies, seal, sealed))
        start = end
    return out


def _chunk(items: Sequence[int], report_bytes: int, body_bytes: int,
           lookups: Sequence[bytes], digests: Sequence[bytes], sessions: Sequence[bytes | None],
           summaries: Sealing, bodies: Sealing, seal: Seal,
           sealed: tuple[list[bytes | memoryview], list[bytes | memoryview]]) -> Packed:
    # The import's hot loop (once per report): one slice assignment per row for the fields
    # before the ciphertext, no call but ``seal``'s.
    reports, body_buffer = bytearray(report_bytes), bytearray(body_bytes)
    rows, body_rows = memoryview(reports), memoryview(body_buffer)
    offsets: list[bytes] = []
    body_offsets: list[bytes] = []
    s_nonces, s_plain, s_ad, s_sizes = (summaries.nonces, summaries.plaintexts,
                                        summaries.ad_prefix, summaries.sizes)
    b_nonces, b_plain, b_ad, b_sizes = (bodies.nonces, bodies.plaintexts, bodies.ad_prefix,
                                        bodies.sizes)
    sealed_summaries, sealed_bodies = sealed
    pos = body_pos = 0
    for i in items:
        lookup, session, size, body_size = lookups[i], sessions[i], s_sizes[i], b_sizes[i]
        nonce = s_nonces[i]
        head = lookup + digests[i] + session + nonce if session else lookup + digests[i] + nonce
        at = pos + len(head)  # where the ciphertext starts, after the nonce
        rows[pos:at] = head
        end = at - NONCE_SIZE + size
        seal(nonce, s_plain[i], s_ad + lookup, rows[at:end])
        sealed_summaries[i] = rows[at - NONCE_SIZE:end]
        offsets.append(b"%010d%010d%010d" % (pos + 1, LOOKUP if session else 0, size))
        nonce = b_nonces[i]
        at = body_pos + LOOKUP + NONCE_SIZE
        body_rows[body_pos:at] = lookup + nonce
        body_end = body_pos + LOOKUP + body_size
        seal(nonce, b_plain[i], b_ad + lookup, body_rows[at:body_end])
        sealed_bodies[i] = body_rows[at - NONCE_SIZE:body_end]
        body_offsets.append(b"%010d%010d" % (body_pos + 1, body_size))
        pos, body_pos = end, body_end
    return Packed(reports, b"".join(offsets), body_buffer, b"".join(body_offsets), len(items))


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
