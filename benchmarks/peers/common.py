"""What a plain implementation of "import this file into SQLite" does, made as fair to it as to
us: the file is read and parsed with the same parser (orjson) under the same garbage-collector
pause as ``identity-desk import`` (``--default-gc`` measures without it), each report gets the
same summary columns (``identity_desktop.report.summarize``) and its JSON body, and rows go in
with ``executemany`` in batches of the importer's size, under the importer's pragmas (WAL,
``synchronous=NORMAL`` then ``FULL`` and a checkpoint at the end, a 16 MiB page cache) and a
new vault's page size (16 KiB).

The schema matches the vault's reach: the report id as primary key, the summary columns, the
body, and an index on the verification session (the vault indexes it too). Nothing is
validated and plain ``INSERT`` is used (the vault upserts): both favour the peer.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from identity_desktop.gc_pause import gc_paused
from identity_desktop.report import SUMMARY_FIELDS, summarize

# The importer's batch size and page cache (identity_desktop.importing.importer) and a new
# vault's page size (identity_desktop.vault.store), copied so that a peer does not import the
# vault's modules; the import benchmark checks they still agree.
BATCH_SIZE = 10_000
CACHE_KIB = -16 * 1024
PAGE_SIZE = 16384

COLUMNS = ("id TEXT PRIMARY KEY", "created INTEGER", "type TEXT", "overall_status TEXT",
           "name TEXT", "document_type TEXT", "issuing_country TEXT", "issued INTEGER",
           "expires INTEGER", "session TEXT", "client_reference_id TEXT", "livemode INTEGER",
           "redacted INTEGER", "expires_day INTEGER")
assert len(COLUMNS) == len(SUMMARY_FIELDS)
SCHEMA = (f"CREATE TABLE reports ({', '.join(COLUMNS)}, body BLOB NOT NULL)",
          "CREATE INDEX reports_by_session ON reports(session)")
INSERT = f"INSERT INTO reports VALUES ({', '.join('?' * (len(COLUMNS) + 1))})"


def import_file(connect: Callable[[], Any], path: Path) -> int:
    conn = connect()
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA cache_size={CACHE_KIB}")
    conn.execute("PRAGMA temp_store=MEMORY")
    for statement in SCHEMA:
        conn.execute(statement)
    document = orjson.loads(path.read_bytes())
    reports = document["data"] if isinstance(document, dict) else document
    dumps = orjson.dumps
    for start in range(0, len(reports), BATCH_SIZE):
        rows = [(*summarize(r), dumps(r)) for r in reports[start:start + BATCH_SIZE]]
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(INSERT, rows)
        conn.execute("COMMIT")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    count = int(conn.execute("SELECT count(*) FROM reports").fetchone()[0])
    conn.close()
    return count


@contextlib.contextmanager
def _maybe_paused(pause: bool) -> Iterator[None]:
    if pause:
        with gc_paused():
            yield
    else:
        yield


def main(name: str, connect: Callable[[Path, str | None], Any], argv: list[str] | None,
         *, keyed: bool) -> int:
    p = argparse.ArgumentParser(prog=f"python -m benchmarks.peers.{name}")
    p.add_argument("file", type=Path)
    p.add_argument("--db", type=Path, required=True, help="a path with no file yet")
    if keyed:
        p.add_argument("--key-file", type=Path, required=True)
    p.add_argument("--default-gc", action="store_true",
                   help="leave the garbage collector as the interpreter sets it")
    args = p.parse_args(argv)
    if args.db.exists():
        p.error(f"{args.db} exists")
    key = args.key_file.read_text().strip() if keyed else None
    start = time.perf_counter()
    with _maybe_paused(not args.default_gc):
        count = import_file(lambda: connect(args.db, key), args.file)
    print(json.dumps({"peer": name, "reports": count,
                      "seconds_in_process": round(time.perf_counter() - start, 3)}))
    sys.stdout.flush()
    return 0
