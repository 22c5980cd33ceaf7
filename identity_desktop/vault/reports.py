"""Reports in the vault: idempotent upsert, bulk summary load, lazy body decryption, local
redaction.

Rules kept here, whoever calls (import, fetch, sync):
- Upsert is keyed by the report id (through its keyed hash); the same content twice is
  "unchanged" and writes nothing.
- A report redacted in the vault stays redacted: an incoming unredacted copy is redacted before
  it is stored, so personal data never comes back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from identity_desktop.report import SUMMARY_FIELDS, is_redacted, redact_report, summarize
from identity_desktop.vault.store import Vault

_REDACTED_COL = SUMMARY_FIELDS.index("redacted")
_SQL_CHUNK = 500  # stays under SQLite's host-parameter limit on every build


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


def _existing(vault: Vault, lookups: Sequence[bytes]) -> dict[bytes, tuple[bytes, bytes]]:
    found: dict[bytes, tuple[bytes, bytes]] = {}
    conn = vault.conn
    for start in range(0, len(lookups), _SQL_CHUNK):
        chunk = lookups[start:start + _SQL_CHUNK]
        marks = ",".join("?" * len(chunk))
        for lookup, digest, summary in conn.execute(
                f"SELECT lookup, digest, summary FROM reports WHERE lookup IN ({marks})", chunk):
            found[lookup] = (digest, summary)
    return found


def upsert_reports(vault: Vault, reports: Sequence[dict[str, Any]]) -> UpsertResult:
    """Store ``reports`` (already validated) in one transaction."""
    cipher = vault.cipher
    lookup_of = cipher.lookup
    lookups = [lookup_of(b"report", r["id"]) for r in reports]
    existing = _existing(vault, lookups)
    result = UpsertResult()
    report_rows: list[tuple[bytes, bytes | None, bytes, bytes]] = []
    body_rows: list[tuple[bytes, bytes]] = []
    seen: dict[bytes, int] = {}
    for lookup, report in zip(lookups, reports, strict=True):
        old = existing.get(lookup)
        if old is not None:
            old_summary = orjson.loads(vault.decrypt("reports", old[1], b"S" + lookup))
            if old_summary[_REDACTED_COL] and not is_redacted(report):
                report = redact_report(report)
        body = orjson.dumps(report)
        digest = cipher.digest(body)
        if old is not None and old[0] == digest:
            result.unchanged += 1
            continue
        summary = summarize(report)
        session = report.get("verification_session")
        row = (lookup, lookup_of(b"session", session) if isinstance(session, str) else None,
               digest, cipher.encrypt(orjson.dumps(summary), b"S" + lookup))
        if lookup in seen:  # the same report twice in one batch: the later copy wins
            report_rows[seen[lookup]] = row
            body_rows[seen[lookup]] = (lookup, cipher.encrypt(body, b"B" + lookup))
            result.changed[seen[lookup]] = summary
            continue
        seen[lookup] = len(report_rows)
        report_rows.append(row)
        body_rows.append((lookup, cipher.encrypt(body, b"B" + lookup)))
        result.changed.append(summary)
        if old is None:
            result.added += 1
        else:
            result.updated += 1
    if report_rows:
        with vault.transaction() as conn:
            conn.executemany(
                "INSERT INTO reports(lookup, session_lookup, digest, summary) VALUES (?,?,?,?) "
                "ON CONFLICT(lookup) DO UPDATE SET session_lookup = excluded.session_lookup, "
                "digest = excluded.digest, summary = excluded.summary", report_rows)
            conn.executemany(
                "INSERT INTO bodies(lookup, body) VALUES (?, ?) "
                "ON CONFLICT(lookup) DO UPDATE SET body = excluded.body", body_rows)
    return result


def load_summaries(vault: Vault) -> list[list[Any]]:
    """Decrypt every summary, in storage order. The hot path of unlocking."""
    decrypt = vault.cipher.decrypt
    loads = orjson.loads
    out: list[list[Any]] = []
    append = out.append
    try:
        for lookup, blob in vault.conn.execute("SELECT lookup, summary FROM reports ORDER BY seq"):
            append(loads(decrypt(blob, b"S" + lookup)))
    except Exception:
        # Re-run slowly only to name the failing row in a clear message.
        for n, (lookup, blob) in enumerate(
                vault.conn.execute("SELECT lookup, summary FROM reports ORDER BY seq"), 1):
            vault.decrypt("reports", blob, b"S" + lookup, f" (row {n})")
        raise
    return out


def iter_reports(vault: Vault, report_ids: Iterable[str] | None = None
                 ) -> Iterator[dict[str, Any]]:
    """Yield raw reports (all, in storage order, or the given ids that exist)."""
    conn = vault.conn
    if report_ids is None:
        for lookup, blob in conn.execute(
                "SELECT b.lookup, b.body FROM reports r JOIN bodies b USING(lookup) "
                "ORDER BY r.seq"):
            yield orjson.loads(vault.decrypt("bodies", blob, b"B" + lookup))
        return
    for report_id in report_ids:
        report = get_report(vault, report_id)
        if report is not None:
            yield report


def get_report(vault: Vault, report_id: str) -> dict[str, Any] | None:
    lookup = vault.cipher.lookup(b"report", report_id)
    row = vault.conn.execute("SELECT body FROM bodies WHERE lookup = ?", (lookup,)).fetchone()
    if row is None:
        return None
    report: dict[str, Any] = orjson.loads(vault.decrypt("bodies", row[0], b"B" + lookup))
    return report


def report_count(vault: Vault) -> int:
    return int(vault.conn.execute("SELECT count(*) FROM reports").fetchone()[0])


def reports_for_session(vault: Vault, session_id: str) -> list[dict[str, Any]]:
    lookup = vault.cipher.lookup(b"session", session_id)
    out = []
    for (report_lookup,) in vault.conn.execute(
            "SELECT lookup FROM reports WHERE session_lookup = ?", (lookup,)).fetchall():
        row = vault.conn.execute("SELECT body FROM bodies WHERE lookup = ?",
                                 (report_lookup,)).fetchone()
        if row is not None:
            out.append(orjson.loads(vault.decrypt("bodies", row[0], b"B" + report_lookup)))
    return out


def redact_session_locally(vault: Vault, session_id: str) -> UpsertResult:
    """Replace the personal fields of every report of ``session_id`` with ``[redacted]``."""
    redacted = [redact_report(r) for r in reports_for_session(vault, session_id)]
    return upsert_reports(vault, redacted) if redacted else UpsertResult()
