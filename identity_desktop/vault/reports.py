"""Reports in the vault: idempotent upsert, bulk summary load, lazy body decryption, local
redaction.

Rules kept here, whoever calls (import, fetch, sync):
- Upsert is keyed by the report id (through its keyed hash); the same content twice is
  "unchanged" and writes nothing.
- A report redacted in the vault stays redacted: an incoming unredacted copy is redacted before
  it is stored, so personal data never comes back. The same holds for a report new to the
  vault whose verification session is already redacted (its outbox entry says so, or another
  of its reports is stored redacted).

The upsert itself lives in :mod:`identity_desktop.vault.batches` (re-exported here), which also
lets an import overlap writing one batch with preparing the next.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from identity_desktop.gc_pause import gc_paused
from identity_desktop.report import redact_report
from identity_desktop.vault.batches import UpsertResult, load_body, upsert_reports
from identity_desktop.vault.crypto import InvalidTag
from identity_desktop.vault.store import Vault

__all__ = [
    "UpsertResult",
    "get_report",
    "iter_reports",
    "iter_summaries",
    "load_summaries",
    "redact_session_locally",
    "report_count",
    "reports_for_session",
    "upsert_reports",
]


def iter_summaries(vault: Vault) -> Iterator[list[Any]]:
    """Decrypt every summary, in storage order, one at a time: the hot path of unlocking, and
    the list index consumes it a chunk at a time so that the summaries never all exist at
    once (they are twice the size of the index's columns)."""
    decrypt = vault.cipher.decrypt
    loads = orjson.loads
    n = 0
    with gc_paused():  # 100k new lists would set off full collections again and again
        try:
            for lookup, blob in vault.conn.execute(
                    "SELECT lookup, summary FROM reports ORDER BY seq"):
                summary = loads(decrypt(blob, b"S" + lookup))
                n += 1
                yield summary
        except InvalidTag:
            # Name the failing row in a clear message (the rows before it decrypted fine).
            for lookup, blob in vault.conn.execute(
                    "SELECT lookup, summary FROM reports ORDER BY seq LIMIT 1 OFFSET ?", (n,)):
                vault.decrypt("reports", blob, b"S" + lookup, f" (row {n + 1})")
            raise


def load_summaries(vault: Vault) -> list[list[Any]]:
    """Every summary, decrypted, in storage order."""
    return list(iter_summaries(vault))


def iter_reports(vault: Vault, report_ids: Iterable[str] | None = None
                 ) -> Iterator[dict[str, Any]]:
    """Yield raw reports (all, in storage order, or the given ids that exist)."""
    conn = vault.conn
    if report_ids is None:
        for lookup, blob in conn.execute(
                "SELECT r.lookup, b.body FROM reports r JOIN bodies b USING(seq) "
                "ORDER BY r.seq"):
            yield load_body(vault.decrypt("bodies", blob, b"B" + lookup))
        return
    for report_id in report_ids:
        report = get_report(vault, report_id)
        if report is not None:
            yield report


def get_report(vault: Vault, report_id: str) -> dict[str, Any] | None:
    lookup = vault.cipher.lookup(b"report", report_id)
    row = vault.conn.execute("SELECT b.body FROM reports r JOIN bodies b USING(seq) "
                             "WHERE r.lookup = ?", (lookup,)).fetchone()
    if row is None:
        return None
    return load_body(vault.decrypt("bodies", row[0], b"B" + lookup))


def report_count(vault: Vault) -> int:
    return int(vault.conn.execute("SELECT count(*) FROM reports").fetchone()[0])


def reports_for_session(vault: Vault, session_id: str) -> list[dict[str, Any]]:
    lookup = vault.cipher.lookup(b"session", session_id)
    return [load_body(vault.decrypt("bodies", body, b"B" + report_lookup))
            for report_lookup, body in vault.conn.execute(
                "SELECT r.lookup, b.body FROM reports r JOIN bodies b USING(seq) "
                "WHERE r.session_lookup = ? ORDER BY r.seq", (lookup,)).fetchall()]


def redact_session_locally(vault: Vault, session_id: str) -> UpsertResult:
    """Replace the personal fields of every report of ``session_id`` with ``[redacted]``."""
    redacted = [redact_report(r) for r in reports_for_session(vault, session_id)]
    return upsert_reports(vault, redacted) if redacted else UpsertResult()
