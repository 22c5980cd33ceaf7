"""The vault's on-disk format: version numbers, schema and numbered migrations.

Every release that changes the file adds a ``FormatVersion`` member and a migration from the
previous one; ``tests/data/`` keeps a frozen vault from each released version to prove upgrades.

Nothing identifying is stored in plaintext. Look-up columns hold keyed BLAKE2b hashes of ids;
``summary``, ``body``, ``entry`` and ``value`` hold AES-256-GCM ciphertexts bound to their row.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from enum import IntEnum


class FormatVersion(IntEnum):
    V1 = 1  # first release
    V2 = 2  # bodies keyed by their report's row number instead of its look-up hash

    @classmethod
    def current(cls) -> FormatVersion:
        return max(cls)


SCHEMA = """
CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
-- The encrypted list index: one small summary per report, read in bulk at unlock.
CREATE TABLE reports (
    seq            INTEGER PRIMARY KEY,
    lookup         BLOB NOT NULL UNIQUE,   -- keyed hash of the report id
    session_lookup BLOB,                   -- keyed hash of the verification session id
    digest         BLOB NOT NULL,          -- keyed digest of the body, for "unchanged"
    summary        BLOB NOT NULL           -- AEAD(summary list), AD = 'S' + lookup
);
CREATE INDEX reports_by_session ON reports(session_lookup);
-- The raw report JSON, decrypted lazily for the detail pane, kept apart from the summaries so
-- that unlocking scans only the small rows. Keyed by its report's row number: a new body is
-- appended to the table, with no index of random keys to update (V2, see MIGRATIONS).
CREATE TABLE bodies (
    seq  INTEGER PRIMARY KEY,              -- reports.seq of its report
    body BLOB NOT NULL                     -- AEAD(report JSON), AD = 'B' + reports.lookup
);
-- The redaction outbox: one entry per verification session.
CREATE TABLE outbox (
    seq    INTEGER PRIMARY KEY,
    lookup BLOB NOT NULL UNIQUE,           -- keyed hash of the session id
    entry  BLOB NOT NULL                   -- AEAD(entry JSON), AD = 'O' + lookup
);
-- Encrypted settings and secrets (API key, age identity, fetch progress...).
CREATE TABLE secrets (
    lookup BLOB PRIMARY KEY,               -- keyed hash of the setting's name
    value  BLOB NOT NULL                   -- AEAD(value), AD = 'K' + lookup
);
"""

Migration = Callable[[sqlite3.Connection], None]


def _bodies_by_row_number(conn: sqlite3.Connection) -> None:
    """V1 -> V2: V1 keyed bodies by the report's look-up hash, so every imported report added a
    random key to a second index (a third of an import's SQLite work). The ciphertexts move
    as they are: their associated data is the report's look-up hash, unchanged."""
    conn.execute("CREATE TABLE bodies_v2 (seq INTEGER PRIMARY KEY, body BLOB NOT NULL)")
    conn.execute("INSERT INTO bodies_v2(seq, body) "
                 "SELECT r.seq, b.body FROM reports r JOIN bodies b USING(lookup)")
    conn.execute("DROP TABLE bodies")
    conn.execute("ALTER TABLE bodies_v2 RENAME TO bodies")


# MIGRATIONS[v] upgrades a vault from version v to v + 1, inside one transaction.
MIGRATIONS: dict[FormatVersion, Migration] = {FormatVersion.V1: _bodies_by_row_number}


def create_schema(conn: sqlite3.Connection) -> None:
    """The current version's schema."""
    # Statement by statement: executescript() would commit the caller's open transaction.
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
