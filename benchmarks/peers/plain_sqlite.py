"""Peer: the same import into a plaintext SQLite table (the standard library's ``sqlite3``)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from benchmarks.peers.common import PAGE_SIZE, main


def connect(db: Path, _key: str | None) -> sqlite3.Connection:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute(f"PRAGMA page_size={PAGE_SIZE}")
    return conn


if __name__ == "__main__":
    raise SystemExit(main("plain_sqlite", connect, None, keyed=False))
