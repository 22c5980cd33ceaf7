"""Writing reports to the vault in batches: the idempotent upsert behind ``upsert_reports``, and
a writer that overlaps one batch's SQLite work with the next batch's encryption (imports).

Rules (whoever calls: import, fetch, sync, local redaction):
- Upsert is keyed by the report id (through its keyed hash); the same content twice is
  "unchanged" and writes nothing. The same report twice in one batch: the later copy wins.
- A report redacted in the vault stays redacted: an incoming unredacted copy is redacted before
  it is stored, so personal data never comes back.
- So does a redacted *session*: an incoming unredacted report (one the vault has never held, or
  a new copy of one it holds) is redacted before it is stored when its verification session is
  already redacted, that is when the outbox entry of the session is ``redacted``, or another
  report of the session is stored (or arrives in the same batch) redacted. Found by the one
  statement that reads the batch's stored rows (over keyed hashes), decrypting only the rows
  that match: none in the common import of new sessions.
- A batch is one transaction, and what is already stored is read inside that transaction.

Why two steps: :func:`prepare` does the Python work (hash, encrypt, pack) as if every report
were new and touches no database; :func:`write` then, inside a transaction,
reads which of the batch's reports are already stored, settles those few, and inserts everything
with one ``INSERT ... SELECT`` per table over a packed blob. That statement runs entirely inside
SQLite, which releases the GIL while it works, so ``batch_writer.BatchWriter`` can run it on a
helper thread while the importing thread prepares the next batch: on two cores the B-tree and
WAL work no longer adds to the import time. (``executemany`` would hand the GIL back and forth
for every row and crawl while the other thread computes.)
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
import orjson

from identity_desktop.report import SUMMARY_FIELDS, ReportRecord, redact_report, summarize
from identity_desktop.vault.crypto import NONCE_SIZE
from identity_desktop.vault.packing import (
    LOOKUP,
    Packed,
    Sealing,
    insert,
    insert_new,
    pack,
    sealed_size,
)
from identity_desktop.vault.store import Vault

_ID_COL = SUMMARY_FIELDS.index("id")
_SESSION_COL = SUMMARY_FIELDS.index("session")
_REDACTED_COL = SUMMARY_FIELDS.index("redacted")


@dataclass
class UpsertResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    changed: list[list[Any]] = field(default_factory=list)  # summaries of added/updated rows

    def merge(self, other: UpsertResult) -> None:
        self.added += other.added
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.changed.extend(other.changed)


def load_body(body: bytes) -> dict[str, Any]:
    """A stored body back as a dict. Bodies are what the importer's parser (msgspec) accepted,
    which is a little more than orjson reads: msgspec skips the fields the app does not use
    without converting their numbers, so a number beyond a double's range (``1e400``) there is
    stored as sent. The standard library reads those (as ``inf``), hence the second chance."""
    try:
        report: dict[str, Any] = orjson.loads(body)
    except orjson.JSONDecodeError:
        report = json.loads(body)
    return report


@dataclass
class Prepared:
    """One batch, every report computed as if it were new (parallel lists, one item each)."""

    bodies: list[bytes | msgspec.Raw]
    lookups: list[bytes]
    sessions: list[bytes | None]
    digests: list[bytes]
    summaries: list[list[Any]]
    # Slices of the packed chunks (or new bytes once an item is redone by _recompute).
    sealed_summaries: list[bytes | memoryview]
    sealed_bodies: list[bytes | memoryview]
    packed: list[Packed] = field(default_factory=list)  # every item, ready to insert
    # Sessions of the batch's unredacted reports, for the stored-state query; and those of
    # them that also arrive redacted here (their unredacted reports are redacted too).
    ask_sessions: list[bytes] = field(default_factory=list)
    redacted_here: frozenset[bytes] = frozenset()


def prepare(vault: Vault, records: Sequence[ReportRecord]) -> Prepared:
    """Hash and encrypt ``records`` (already validated). Pure CPU work: no database access, so
    it may run while a ``BatchWriter`` writes the previous batch."""
    cipher = vault.cipher
    bodies = [record.body for record in records]
    summaries = [record.summary for record in records]
    sessions: list[str] = [summary[_SESSION_COL] for summary in summaries]  # "" when none
    session_lookups = iter(cipher.lookups(b"session", [s for s in sessions if s]))
    out = Prepared(bodies, cipher.lookups(b"report", [s[_ID_COL] for s in summaries]),
                   [next(session_lookups) if s else None for s in sessions],
                   cipher.digests(bodies), summaries, [], [])
    summary_plain = list(map(orjson.dumps, summaries))
    # Sealed straight into the packed rows, here on the preparing thread, so that the writer's
    # thread holds the GIL as little as possible: the common case (all new, no duplicates)
    # then writes these as they are. Nonces are drawn from the OS once per batch (one call per
    # record was a tenth of an import, and each call also hands the GIL to the writer).
    count = len(out.bodies)
    nonces = os.urandom(2 * NONCE_SIZE * count)
    out.sealed_summaries = [b""] * count
    out.sealed_bodies = [b""] * count
    out.packed = pack(
        range(count), out.lookups, out.digests, out.sessions,
        Sealing([nonces[k:k + NONCE_SIZE] for k in range(0, count * NONCE_SIZE, NONCE_SIZE)],
                summary_plain, b"S", [sealed_size(len(plain)) for plain in summary_plain]),
        Sealing([nonces[k:k + NONCE_SIZE] for k in range(count * NONCE_SIZE, len(nonces),
                                                         NONCE_SIZE)],
                bodies, b"B", [sealed_size(len(body)) for body in bodies]),
        cipher.sealer(), (out.sealed_summaries, out.sealed_bodies))
    _ask_sessions(out)
    return out


def _copy_sealed(_nonce: bytes, sealed_rest: bytes | memoryview, _ad: bytes,
                 out: memoryview) -> None:
    out[:] = sealed_rest


def _repack(p: Prepared, items: Sequence[int]) -> list[Packed]:
    """Some of a prepared batch's items, packed again from their ciphertexts (each "sealed"
    again by copying: its nonce, then the rest as it is)."""
    def sealing(sealed: list[bytes | memoryview], ad_prefix: bytes) -> Sealing:
        return Sealing([bytes(s[:NONCE_SIZE]) for s in sealed], [s[NONCE_SIZE:] for s in sealed],
                       ad_prefix, [len(s) for s in sealed])

    return pack(items, p.lookups, p.digests, p.sessions, sealing(p.sealed_summaries, b"S"),
                sealing(p.sealed_bodies, b"B"), _copy_sealed,
                ([b""] * len(p.lookups), [b""] * len(p.lookups)))


def _ask_sessions(p: Prepared) -> None:
    """Which sessions the writer must look up (see :func:`_redacted_sessions`), computed here on
    the preparing thread."""
    redacted = _REDACTED_COL
    here = {s for s, summary in zip(p.sessions, p.summaries, strict=True)
            if s is not None and summary[redacted]}
    ask = {s for s, summary in zip(p.sessions, p.summaries, strict=True)
           if s is not None and not summary[redacted]}
    p.redacted_here = frozenset(here & ask)
    p.ask_sessions = list(ask - here)


def _recompute(vault: Vault, p: Prepared, i: int, report: dict[str, Any]) -> None:
    """Redo item ``i`` of a prepared batch for a different report (its redacted copy)."""
    cipher = vault.cipher
    lookup = p.lookups[i]
    body = orjson.dumps(report)
    p.bodies[i] = body
    p.digests[i] = cipher.digest(body)
    p.summaries[i] = summarize(report)
    p.sealed_summaries[i] = cipher.encrypt(orjson.dumps(p.summaries[i]), b"S" + lookup)
    p.sealed_bodies[i] = cipher.encrypt(body, b"B" + lookup)


# One statement reads what a batch depends on (the writer thread gets the GIL back after each
# statement, which costs up to a switch interval while the importing thread computes):
#   0, lookup, digest, sealed summary -- the batch's reports already stored;
#   1, lookup, session, sealed summary -- other stored reports of the batch's sessions;
#   2, seq, session, sealed entry -- the outbox entries of the batch's sessions.
_STORED_SQL = (
    "WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i WHERE n + 1 < ?2), "
    "j(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM j WHERE n + 1 < ?4), "
    f"b(k) AS (SELECT substr(?1, n * {LOOKUP} + 1, {LOOKUP}) FROM i), "
    f"s(k) AS (SELECT substr(?3, n * {LOOKUP} + 1, {LOOKUP}) FROM j) "
    "SELECT 0, r.lookup, r.digest, r.summary FROM b JOIN reports r ON r.lookup = b.k "
    "UNION ALL SELECT 1, r.lookup, r.session_lookup, r.summary FROM s "
    "JOIN reports r ON r.session_lookup = s.k WHERE r.lookup NOT IN b "
    "UNION ALL SELECT 2, o.seq, o.lookup, o.entry FROM s JOIN outbox o ON o.lookup = s.k")

_Row = tuple[int, Any, bytes, bytes]


class ImportLedger:
    """What one import has written, while that alone is what the vault holds: from a vault
    with no report and no outbox entry when the import's first batch is written, as long as no
    other connection writes to it (``PRAGMA data_version`` tells, read inside each batch's
    transaction, when the write lock is held). A batch then finds stored only what the
    ledger lists, so one whose reports and sessions are none of those skips the stored-state
    query (a fifth of a first import's SQLite work). The ledger may list more than is stored
    (batches rolled back): that only costs a query."""

    def __init__(self) -> None:
        self._version: int | None = None  # data_version at the first batch
        self._valid: bool | None = None  # None: no batch yet
        self._lookups: set[bytes] = set()
        self._sessions: set[bytes] = set()

    def nothing_stored(self, conn: sqlite3.Connection, p: Prepared) -> bool:
        """Whether none of ``p``'s reports, nor any report or outbox entry of the sessions it
        asks about, is stored. Inside ``p``'s transaction."""
        if self._valid is False:
            return False
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        if self._valid is None:
            self._version = version
            self._valid = bool(conn.execute(
                "SELECT NOT EXISTS (SELECT 1 FROM reports) "
                "AND NOT EXISTS (SELECT 1 FROM outbox)").fetchone()[0])
        elif version != self._version:  # another connection wrote: no longer known
            self._valid = False
        return bool(self._valid) and self._lookups.isdisjoint(p.lookups) \
            and self._sessions.isdisjoint(p.ask_sessions)

    def add(self, p: Prepared) -> None:
        """``p`` was written (its transaction may still roll back)."""
        if self._valid:
            self._lookups.update(p.lookups)
            self._sessions.update(s for s in p.sessions if s is not None)


def _stored(vault: Vault, p: Prepared) -> tuple[dict[bytes, tuple[bytes, bytes]], list[_Row]]:
    """lookup -> (digest, sealed summary) for the batch's reports already in the vault, and the
    rows about its sessions (kinds 1 and 2 above). One statement over packed blobs: it runs
    inside SQLite, with the GIL released."""
    if not p.lookups:
        return {}, []
    rows = vault.conn.execute(_STORED_SQL, (b"".join(p.lookups), len(p.lookups),
                                            b"".join(p.ask_sessions), len(p.ask_sessions))
                              ).fetchall()
    stored = {lookup: (digest, summary) for kind, lookup, digest, summary in rows if kind == 0}
    return stored, [row for row in rows if row[0] != 0] if len(stored) < len(rows) else []


def _stored_redacted(vault: Vault, lookup: bytes, sealed_summary: bytes) -> bool:
    return bool(orjson.loads(vault.decrypt("reports", sealed_summary,
                                           b"S" + lookup))[_REDACTED_COL])


def _redacted_sessions(vault: Vault, p: Prepared, old_redacted: set[bytes],
                       rows: list[_Row]) -> set[bytes]:
    """The sessions (keyed hashes) of this batch's unredacted reports that are redacted already
    (see the module docstring): some report of theirs arrives (``p.redacted_here``) or is stored
    (``old_redacted``: the batch's own; ``rows`` of kind 1: the others) redacted, or their outbox
    entry (``rows`` of kind 2) is ``redacted``. Nothing to decrypt in the common case."""
    found = set(p.redacted_here)
    if old_redacted:
        found.update(s for s, lookup in zip(p.sessions, p.lookups, strict=True)
                     if s is not None and lookup in old_redacted)
    entries: list[tuple[int, bytes, bytes]] = []
    for kind, key, session, blob in rows:
        if session in found:
            continue
        if kind == 2:
            entries.append((key, session, blob))
        elif _stored_redacted(vault, key, blob):
            found.add(session)
    if entries:
        # Imported lazily: the outbox package imports this one (through vault.reports).
        from identity_desktop.outbox.store import redacted_entries

        found |= redacted_entries(vault, [e for e in entries if e[1] not in found])
    return found


def _settle(vault: Vault, p: Prepared, ledger: ImportLedger | None
            ) -> tuple[list[int] | None, UpsertResult]:
    """Which items to write (indices into ``p``, in row order; None: all of them, as packed,
    none of them stored yet) and the counts, given what is already stored."""
    if ledger is not None and ledger.nothing_stored(vault.conn, p):
        stored: dict[bytes, tuple[bytes, bytes]] = {}
        session_rows: list[_Row] = []
    else:
        stored, session_rows = _stored(vault, p)
    old_redacted = {lookup for lookup, (_digest, sealed) in stored.items()
                    if _stored_redacted(vault, lookup, sealed)}
    sessions = _redacted_sessions(vault, p, old_redacted, session_rows) \
        if old_redacted or session_rows or p.redacted_here else set()
    result = UpsertResult()
    if not stored and not sessions and len(set(p.lookups)) == len(p.lookups):
        result.added = len(p.lookups)
        result.changed = list(p.summaries)
        return None, result
    keep: list[int] = []
    seen: dict[bytes, int] = {}
    for i, lookup in enumerate(p.lookups):
        old = stored.get(lookup) if stored else None
        if not p.summaries[i][_REDACTED_COL] and (
                lookup in old_redacted or p.sessions[i] in sessions):
            _recompute(vault, p, i, redact_report(load_body(bytes(p.bodies[i]))))
        if old is not None and old[0] == p.digests[i]:
            result.unchanged += 1
            continue
        slot = seen.get(lookup)
        if slot is not None:  # the same report twice in one batch: the later copy wins
            keep[slot] = i
            result.changed[slot] = p.summaries[i]
            continue
        seen[lookup] = len(keep)
        keep.append(i)
        result.changed.append(p.summaries[i])
        if old is None:
            result.added += 1
        else:
            result.updated += 1
    return keep, result


def write(vault: Vault, p: Prepared, *, in_open_transaction: bool = False,
          ledger: ImportLedger | None = None) -> UpsertResult:
    """Store a prepared batch in one transaction (or in the caller's, already open); returns
    what changed. An import passes its ``ledger`` for every batch it writes."""
    if not in_open_transaction:
        with vault.transaction():
            return write(vault, p, in_open_transaction=True, ledger=ledger)
    keep, result = _settle(vault, p, ledger)
    if keep is None:
        insert_new(vault.conn, p.packed)
    elif keep:
        insert(vault.conn, _repack(p, keep))
    if ledger is not None:
        ledger.add(p)
    return result


def upsert_reports(vault: Vault, reports: Sequence[Mapping[str, Any]]) -> UpsertResult:
    """Store ``reports`` (already validated) in one transaction."""
    return write(vault, prepare(vault, [ReportRecord.of(report) for report in reports]))
