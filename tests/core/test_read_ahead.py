"""``identity-desk import`` opens its first file while the vault unlocks (``readers.read_ahead``
on another thread, the file's helper process started at once): the file is read once, a
passphrase that fails stops the helper, and a file the read-ahead cannot open is opened by the
import as usual, which names what is wrong with it. In-process runs of the CLI, so that the
helper processes can be watched."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import psutil
import pytest

from identity_desktop.cli.main import main
from identity_desktop.demo import generate_reports
from identity_desktop.importing import helper, readers
from identity_desktop.importing.helper import Helper
from identity_desktop.vault.reports import load_summaries
from identity_desktop.vault.store import Vault
from tests.conftest import PASSPHRASE
from tests.core._support import write_reports

REPORTS = list(generate_reports(40, seed=8, now=1_790_000_000))


@pytest.fixture
def helpers(monkeypatch: pytest.MonkeyPatch) -> list[Helper]:
    """Every helper process an import starts (from 10 records on, instead of 20,000)."""
    started: list[Helper] = []

    class Watched(Helper):
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            started.append(self)

    monkeypatch.setattr(readers, "PARALLEL_MIN_RECORDS", 10)
    monkeypatch.setattr(readers, "Helper", Watched)
    return started


@pytest.fixture
def opens(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every file ``open_records`` reads."""
    seen: list[Path] = []
    real = readers.open_records

    def watched(path: Path, **kwargs: Any) -> Any:
        seen.append(Path(path))
        return real(path, **kwargs)

    monkeypatch.setattr(readers, "open_records", watched)
    from identity_desktop.importing import importer

    monkeypatch.setattr(importer, "open_records", watched)
    return seen


@pytest.fixture
def setup(tmp_path: Path, inputs_dir: Path) -> dict[str, Path]:
    vault = tmp_path / "v.idvault"
    Vault.create(vault, PASSPHRASE).lock()
    right, wrong = tmp_path / "pass.txt", tmp_path / "wrong.txt"
    right.write_text(PASSPHRASE + "\n")
    wrong.write_text("not the passphrase\n")
    first = write_reports(inputs_dir / "first.json", REPORTS[:30], "list")
    second = write_reports(inputs_dir / "second.jsonl", REPORTS[30:], "jsonl")
    return {"vault": vault, "right": right, "wrong": wrong, "first": first, "second": second}


def _import(setup: dict[str, Path], passphrase: str, *files: Path) -> int:
    return main(["--vault", str(setup["vault"]), "--passphrase-file", str(setup[passphrase]),
                 "import", *map(str, files)])


def test_the_first_file_is_read_once_with_its_helper_started_ahead(
        setup: dict[str, Path], helpers: list[Helper], opens: list[Path],
        capsys: pytest.CaptureFixture[str]) -> None:
    assert _import(setup, "right", setup["first"], setup["second"]) == 0
    assert "40 added" in capsys.readouterr().out
    assert opens == [setup["first"], setup["second"]]  # each file read once
    assert len(helpers) == 1  # the first file's, started by the read-ahead and used
    with Vault.open(setup["vault"], PASSPHRASE) as vault:
        assert [s[0] for s in load_summaries(vault)] == [r["id"] for r in REPORTS]


def test_a_wrong_passphrase_stops_the_helper_started_ahead(
        setup: dict[str, Path], helpers: list[Helper], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # A helper that would never answer: only being stopped ends it.
    monkeypatch.setattr(helper, "helper_command", lambda: [
        sys.executable, "-c", "import sys, time; sys.stdin.buffer.read(); time.sleep(120)"])
    assert _import(setup, "wrong", setup["first"]) == 1
    err = capsys.readouterr().err
    assert "wrong passphrase" in err and err.count("\n") == 1
    assert len(helpers) == 1
    assert [p for p in psutil.Process().children(recursive=True) if p.is_running()
            and p.status() != psutil.STATUS_ZOMBIE] == []


def test_a_file_the_read_ahead_cannot_open_is_refused_by_the_import(
        setup: dict[str, Path], inputs_dir: Path, helpers: list[Helper],
        capsys: pytest.CaptureFixture[str]) -> None:
    broken = inputs_dir / "broken.json"
    broken.write_bytes(b'{"object": "list", "data": [')
    assert _import(setup, "right", broken, setup["second"]) == 1
    captured = capsys.readouterr()
    assert f"{broken}: not valid JSON" in captured.err
    assert "10 added" in captured.out  # the next file is imported all the same
    assert helpers == []
