"""Helpers shared by the core test modules.

Module-scoped fixtures cannot use the function-scoped ``isolated_home`` fixture, so the helpers
here build their own isolated HOME/XDG/TMPDIR and run the CLI with it, exactly as ``run_cli`` does.

Vaults made with :func:`make_vault` use a cheap Argon2id setting: the strength of the key
derivation is not what those tests check, and the default (~0.3 s) on every CLI call would blow
the suite's time budget. ``test_cli`` and ``test_plaintext_scan`` use vaults made by ``init`` with
the default parameters.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from identity_desktop.vault import Vault
from identity_desktop.vault.crypto import KdfParams
from identity_desktop.vault.reports import upsert_reports
from tests.conftest import PASSPHRASE, REPO, cli

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


def write_passphrase(path: Path, passphrase: str = PASSPHRASE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(passphrase + "\n")
    return path


@dataclass(frozen=True)
class CliSetup:
    """What a module-scoped fixture keeps to run the CLI: an isolated environment and a
    passphrase file, both under its own root."""

    env: dict[str, str]
    passphrase: Path

    @classmethod
    def under(cls, root: Path) -> CliSetup:
        return cls(isolated_env(root), write_passphrase(root / "passphrase.txt"))

    def runner(self, vault: Path, *first: str) -> Callable[..., subprocess.CompletedProcess[str]]:
        """:func:`cli` on ``vault`` with this environment and passphrase; its arguments
        follow ``first``."""
        return functools.partial(cli, *first, env=self.env, vault=vault,
                                 passphrase_file=self.passphrase)


def copy_vault(template: Path, dest: Path) -> Path:
    """A copy of the vault file ``template`` at ``dest``, in a private folder."""
    dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    shutil.copy(template, dest)
    return dest


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


def sensitive_values(reports: Iterable[dict[str, Any]], keys: Collection[str]) -> set[str]:
    """Every string of five characters or more held under one of ``keys``, at any depth (a
    list's items count as held under the list's key): what a plaintext scan looks for."""
    out: set[str] = set()

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and len(value) >= 5 and key in keys:
            out.add(value)

    for report in reports:
        walk(report)
    return out


def assert_no_plaintext(files: Iterable[Path], needles: Collection[bytes]) -> None:
    for path in files:
        data = path.read_bytes()
        leaked = [n for n in needles if n in data]
        assert not leaked, f"{path.name} holds plaintext, e.g. {leaked[:1]}"


def ids_of(reports: Iterable[dict[str, Any]]) -> set[str]:
    return {r["id"] for r in reports}


def listed_ids(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 0, result.stderr
    return [orjson.loads(line)["id"] for line in result.stdout.splitlines() if line.strip()]
