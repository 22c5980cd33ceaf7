"""Peer: the same import into a SQLCipher database (``sqlcipher3-binary``, else ``sqlcipher3``
or ``pysqlcipher3``), keyed with ``PRAGMA key`` and SQLCipher's default settings (AES-256 pages
with an HMAC, PBKDF2 key derivation) but the vault's page size."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from benchmarks.peers.common import PAGE_SIZE, main

DRIVERS = ("sqlcipher3", "pysqlcipher3.dbapi2")


def driver() -> Any:
    """The first SQLCipher driver that imports, else None."""
    for name in DRIVERS:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


def connect(db: Path, key: str | None) -> Any:
    module = driver()
    if module is None:
        raise SystemExit("no SQLCipher driver: pip install sqlcipher3-binary")
    conn = module.connect(str(db), isolation_level=None)
    escaped = (key or "").replace("'", "''")
    conn.execute(f"PRAGMA key = '{escaped}'")  # must come first; SQLCipher has no bound form
    conn.execute(f"PRAGMA cipher_page_size = {PAGE_SIZE}")  # SQLCipher's name for page_size
    return conn


if __name__ == "__main__":
    raise SystemExit(main("sqlcipher", connect, None, keyed=True))
