"""Measure 1, import: a Stripe list file of N synthetic reports into a new vault, the whole
``identity-desk import`` process (start, unlock with Argon2id, read, validate, encrypt, write,
exit), against two peers in fresh processes on the same file: plain SQLite and SQLCipher (see
``benchmarks.peers.common`` for what they do and why it is fair).

Runs alternate (ours, plain, SQLCipher, ours, ...) so that whatever else the machine does falls
on all of them alike; figures are medians. The vault is created beforehand with
``identity-desk init`` (not timed); the peers create their database inside the timed process.
Goal: at least as fast as plain SQLite and 1.5x faster than SQLCipher.
"""

from __future__ import annotations

import sys
from typing import Any

from benchmarks.common import Child, Workspace, load_average, median, run_child
from benchmarks.peers.sqlcipher import driver

OURS = "identity-desk"
PLAIN = "plain SQLite"
CIPHER = "SQLCipher"


def _ours(ws: Workspace, path: Any, count: int) -> Child:
    vault = ws.fresh_path("import-bench.idvault")
    ws.cli("init", vault=vault).check()
    child = ws.cli("import", str(path), vault=vault).check()
    if f"{count} added" not in child.stdout:
        raise RuntimeError(f"identity-desk import did not add {count} reports: {child.stdout}")
    return child


def _peer(ws: Workspace, module: str, path: Any, count: int, *, default_gc: bool) -> Child:
    db = ws.fresh_path(f"peer-{module}.db")
    args = [sys.executable, "-m", f"benchmarks.peers.{module}", str(path), "--db", str(db)]
    if module == "sqlcipher":
        args += ["--key-file", str(ws.passphrase_file)]
    if default_gc:
        args.append("--default-gc")
    child = run_child(args, env=ws.env()).check()
    if child.json_line()["reports"] != count:
        raise RuntimeError(f"{module} stored {child.json_line()['reports']} of {count}")
    return child


def _check_peer_settings() -> None:
    from benchmarks.peers import common
    from identity_desktop.importing import importer
    from identity_desktop.vault import store

    if (common.BATCH_SIZE, common.CACHE_KIB, common.PAGE_SIZE) != (
            importer.BATCH_SIZE, importer._IMPORT_CACHE_KIB, store.NEW_PAGE_SIZE):
        raise RuntimeError("benchmarks/peers/common.py no longer matches the importer's batch "
                           "size and page cache or the vault's page size: update it")


def run(ws: Workspace, count: int, runs: int = 3, *, default_gc_peers: bool = True,
        log: Any = print) -> dict[str, Any]:
    _check_peer_settings()
    path = ws.data_file(count)
    contenders: list[tuple[str, Any]] = [
        (OURS, lambda: _ours(ws, path, count)),
        (PLAIN, lambda: _peer(ws, "plain_sqlite", path, count, default_gc=False)),
    ]
    cipher_ok = driver() is not None
    if cipher_ok:
        contenders.append((CIPHER, lambda: _peer(ws, "sqlcipher", path, count,
                                                 default_gc=False)))
    if default_gc_peers:
        contenders.append((f"{PLAIN} (default GC)",
                           lambda: _peer(ws, "plain_sqlite", path, count, default_gc=True)))
        if cipher_ok:
            contenders.append((f"{CIPHER} (default GC)",
                               lambda: _peer(ws, "sqlcipher", path, count, default_gc=True)))
    samples: dict[str, list[Child]] = {name: [] for name, _ in contenders}
    load_before = load_average()
    for round_no in range(1, runs + 1):
        for name, fn in contenders:
            child = fn()
            samples[name].append(child)
            log(f"  import round {round_no}/{runs}: {name}: {child.wall:.2f} s wall, "
                f"{child.cpu:.2f} s CPU, {child.maxrss_mib:.0f} MiB peak")
    figures = {name: _summary(children) for name, children in samples.items()}
    ours = figures[OURS]["wall_median"]
    plain = figures[PLAIN]["wall_median"]
    out: dict[str, Any] = {
        "name": "import",
        "reports": count,
        "file_bytes": path.stat().st_size,
        "runs": runs,
        "contenders": figures,
        "sqlcipher_available": cipher_ok,
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "vs_plain": round(plain / ours, 3),  # > 1: ours is faster
        "goal_vs_plain": 1.0,
    }
    if cipher_ok:
        out["vs_sqlcipher"] = round(figures[CIPHER]["wall_median"] / ours, 3)
        out["goal_vs_sqlcipher"] = 1.5
    out["ok"] = out["vs_plain"] >= 1.0 and cipher_ok and out["vs_sqlcipher"] >= 1.5
    return out


def _summary(children: list[Child]) -> dict[str, Any]:
    return {
        "wall_median": round(median([c.wall for c in children]), 3),
        "cpu_median": round(median([c.cpu for c in children]), 3),
        "peak_rss_mib_median": round(median([c.maxrss_mib for c in children]), 1),
        "wall": [round(c.wall, 3) for c in children],
        "cpu": [round(c.cpu, 3) for c in children],
    }
