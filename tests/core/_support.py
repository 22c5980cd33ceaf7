"""Helpers shared by the core test modules.

Module-scoped fixtures cannot use the function-scoped ``isolated_home`` fixture, so the helpers
here build their own isolated HOME/XDG/TMPDIR and run the CLI with it, exactly as ``run_cli`` does.

Vaults made with :func:`make_vault` use a cheap Argon2id setting: the strength of the key
derivation is not what those tests check, and the default (~0.3 s) on every CLI call would blow
the suite's time budget. ``test_cli`` and ``test_plaintext_scan`` use vaults made by ``init`` with
the default parameters.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import orjson

from identity_desktop.vault import Vault
from identity_desktop.vault.crypto import KdfParams
from identity_desktop.vault.reports import upsert_reports
from tests.conftest import PASSPHRASE, REPO

NOW = 1_790_000_000  # pinned "now" for generated reports (2026-09-21 UTC)


def fast_kdf() -> KdfParams:
    return KdfParams(salt=os.urandom(16), iterations=1, memory_kib=8 * 1024, lanes=1)


def make_vault(path: Path, reports: Sequence[dict[str, Any]] = (),
               passphrase: str = PASSPHRASE) -> Path:
    """A closed vault at ``path`` (cheap KDF) holding ``reports``."""
    vault = Vault.create(path, passphrase, kdf=fast_kdf())
    try:
        _after_create(vault)
        for start in range(0, len(reports), 2000):
            upsert_reports(vault, reports[start:start + 2000])
    finally:
        vault.lock()
    return path


def _after_create(vault: Vault) -> None:
    """What ``identity-desk init`` adds to a new vault (its age identity, once bundles exist),
    so that later commands find the vault as ``init`` leaves it and need not write to it."""
    try:
        from identity_desktop.bundles import ensure_vault_identity
    except ImportError:
        return
    ensure_vault_identity(vault)


def isolated_env(root: Path) -> dict[str, str]:
    """An environment whose HOME, XDG folders and TMPDIR all live under ``root``."""
    home = root / "home"
    env = {key: value for key, value in os.environ.items()
           if key not in ("IDENTITY_DESK_PASSPHRASE", "IDENTITY_DESK_NEW_PASSPHRASE",
                          "STRIPE_API_KEY", "STRIPE_API_BASE")}
    for sub, var in (("data", "XDG_DATA_HOME"), ("config", "XDG_CONFIG_HOME"),
                     ("cache", "XDG_CACHE_HOME"), ("state", "XDG_STATE_HOME"),
                     ("tmp", "TMPDIR")):
        (home / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(home / sub)
    env["HOME"] = str(home)
    env["PYTHONPATH"] = str(REPO)
    return env


def cli(*args: str, env: dict[str, str], vault: Path | None = None,
        passphrase_file: Path | None = None, input: str = "",
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``identity-desk`` in a child process (stdin is a pipe, never a terminal)."""
    argv = [sys.executable, "-m", "identity_desktop.cli.main", *args]
    if vault is not None:
        argv += ["--vault", str(vault)]
    if passphrase_file is not None:
        argv += ["--passphrase-file", str(passphrase_file)]
    return subprocess.run(argv, capture_output=True, text=True, input=input, env=env,
                          timeout=timeout, cwd=REPO)


def write_passphrase(path: Path, passphrase: str = PASSPHRASE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(passphrase + "\n")
    return path


def write_reports(path: Path, reports: Sequence[dict[str, Any]], fmt: str) -> Path:
    """Write ``reports`` as a Stripe list object, a JSON array, JSON Lines or one object."""
    if fmt == "list":
        data = orjson.dumps({"object": "list", "url": "/v1/identity/verification_reports",
                             "has_more": False, "data": list(reports)})
    elif fmt == "array":
        data = orjson.dumps(list(reports), option=orjson.OPT_INDENT_2)
    elif fmt == "jsonl":
        data = b"".join(orjson.dumps(r) + b"\n" for r in reports)
    elif fmt == "single":
        (report,) = reports
        data = orjson.dumps(report, option=orjson.OPT_INDENT_2)
    else:
        raise ValueError(fmt)
    path.write_bytes(data)
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def vault_files(path: Path) -> set[str]:
    """The names next to the vault (to see that no -wal/-shm or temp file is left behind)."""
    return {p.name for p in path.parent.iterdir()}


def table_rows(path: Path, table: str) -> list[tuple[Any, ...]]:
    """Every row of ``table``, read with plain SQLite (no key needed)."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
    finally:
        conn.close()


def one_error_line(result: subprocess.CompletedProcess[str], status: int = 1) -> str:
    """Assert a clean handled failure (status, no traceback, one stderr line); return it."""
    assert result.returncode == status, (result.returncode, result.stdout[-500:],
                                         result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    if status == 2:  # argparse prints its usage first; the message is the last line
        lines = lines[-1:]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("identity-desk: error: "), lines[0]
    return lines[0]


def ids_of(reports: Iterable[dict[str, Any]]) -> set[str]:
    return {r["id"] for r in reports}


def listed_ids(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 0, result.stderr
    return [orjson.loads(line)["id"] for line in result.stdout.splitlines() if line.strip()]
