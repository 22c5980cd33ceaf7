"""Shared fixtures: every test runs with its own HOME, XDG folders and TMPDIR, so that a test can
scan *everything the app wrote* for plaintext, and nothing leaks into the developer's folders."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

PASSPHRASE = "correct horse battery staple"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    for sub in ("data", "config", "cache", "state", "tmp"):
        (home / sub).mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.setenv("TMPDIR", str(home / "tmp"))
    monkeypatch.delenv("IDENTITY_DESK_PASSPHRASE", raising=False)
    monkeypatch.delenv("IDENTITY_DESK_NEW_PASSPHRASE", raising=False)
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    monkeypatch.delenv("STRIPE_API_BASE", raising=False)
    return home


@pytest.fixture
def passphrase_file(tmp_path: Path) -> Path:
    path = tmp_path / "passphrase.txt"
    path.write_text(PASSPHRASE + "\n")
    return path


@pytest.fixture
def vault_path(tmp_path: Path) -> Path:
    return tmp_path / "work" / "vault.idvault"


RunCli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run_cli(vault_path: Path, passphrase_file: Path) -> RunCli:
    """Run ``identity-desk`` in a child process, as a user would, with the test's vault and
    passphrase unless the call gives its own."""

    def run(*args: str, vault: Path | None = vault_path, passphrase: Path | None = passphrase_file,
            input: str | None = None, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return cli(*args, env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
                   vault=vault, passphrase_file=passphrase, input=input, timeout=timeout)

    return run


def cli(*args: str, env: dict[str, str], vault: Path | None = None,
        passphrase_file: Path | None = None, input: str | None = "",
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``identity-desk`` in a child process with exactly ``env`` (stdin is a pipe, never a
    terminal, unless ``input`` is None: then it is the test run's own)."""
    argv = [sys.executable, "-m", "identity_desktop.cli.main", *args]
    if vault is not None:
        argv += ["--vault", str(vault)]
    if passphrase_file is not None:
        argv += ["--passphrase-file", str(passphrase_file)]
    return subprocess.run(argv, capture_output=True, text=True, input=input, env=env,
                          timeout=timeout, cwd=REPO)


@pytest.fixture
def inputs_dir(tmp_path: Path) -> Path:
    """Where a test puts the plaintext files it feeds the app (left out of plaintext scans)."""
    path = tmp_path / "inputs"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def all_written_files(isolated_home: Path, tmp_path: Path) -> Callable[[], Iterator[Path]]:
    """Every file the app may have written: the vault folder, HOME, XDG dirs and TMPDIR; that is
    everything under the test's tmp_path except ``inputs/`` and the passphrase file."""

    def walk() -> Iterator[Path]:
        inputs = tmp_path / "inputs"
        for path in tmp_path.rglob("*"):
            if path.is_file() and inputs not in path.parents and path.name != "passphrase.txt":
                yield path

    return walk
