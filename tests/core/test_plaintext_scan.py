"""No personal data and no report or session id is ever written in plaintext.

The app imports 2,000 generated reports (plus a few with non-ASCII names and addresses) through
the CLI, with ``--verbose`` logging, and once more in-process with a log file; then every file it
could have written (the vault and its -wal/-shm, TMPDIR, the config, cache and state folders, the
log) is scanned, while the vault is open and after it is closed, for every name, address line,
document number, id number, e-mail, phone, client reference, report id and session id it
imported, as UTF-8 and as UTF-16-LE. There must be no hit.
"""

from __future__ import annotations

import json
import logging
import random
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from identity_desktop import paths
from identity_desktop.demo import generate_reports
from identity_desktop.desk import Desk
from identity_desktop.logs import configure_logging
from identity_desktop.report import REDACTED
from tests.conftest import PASSPHRASE
from tests.core._support import write_reports

# Shorter needles are left out: a given 4-byte string turns up by chance in megabytes of
# ciphertext (p ~ 1e-3 per run); at 5 bytes the odds are ~1e-4 for the whole scan.
MIN_NEEDLE = 5
_ASCII_RUN = re.compile(rb"[\x20-\x7e]{%d,}" % MIN_NEEDLE)
_UTF16_RUN = re.compile(rb"(?:[\x20-\x7e]\x00){%d,}" % MIN_NEEDLE)


def _handmade() -> list[dict[str, Any]]:
    base = next(r for r in generate_reports(5, seed=99) if r.get("document"))
    out = []
    for i, (first, last, line1, number) in enumerate((
            ("Zoë", "Ångström", "12 Rue de l'Église", "ÉX-4471-Ω"),
            ("Łucja", "Żółkiewska", "ul. Świętokrzyska 7", "ПАС-5566-Ж"),
            ("Hélène", "Dûchamps-Ørsted", "Øvre Gate 3", "NØ-99881177"))):
        report = json.loads(json.dumps(base))
        report["id"] = f"vr_NonAsciiPlaintextScan{i:04d}"
        report["verification_session"] = f"vs_NonAsciiPlaintextScan{i:04d}"
        report["document"].update(first_name=first, last_name=last, number=number,
                                  address={"line1": line1, "line2": "Bâtiment C",
                                           "city": "Ørby", "state": None,
                                           "postal_code": "75001", "country": "FR"})
        out.append(report)
    return out


def _personal_values(report: dict[str, Any]) -> Iterator[Any]:
    yield report.get("id")
    yield report.get("verification_session")
    yield report.get("client_reference_id")
    doc = report.get("document") or {}
    yield from (doc.get(k) for k in ("first_name", "last_name", "number"))
    address = doc.get("address") or {}
    yield from (address.get("line1"), address.get("line2"))
    idn = report.get("id_number") or {}
    yield from (idn.get(k) for k in ("first_name", "last_name", "id_number"))
    yield (report.get("email") or {}).get("email")
    yield (report.get("phone") or {}).get("phone")


class Needles:
    """Fast search for thousands of strings: printable runs are pulled out of the bytes with a
    regex (UTF-8 and UTF-16-LE), then looked up by their 5-character windows."""

    def __init__(self, values: Iterable[Any]) -> None:
        wanted = {v for v in values if isinstance(v, str) and v != REDACTED
                  and len(v.encode("utf-8")) >= MIN_NEEDLE}
        self.all = wanted
        self.by_prefix: dict[str, list[str]] = {}
        self.other: list[bytes] = []  # non-ASCII needles: searched directly, in every encoding
        for value in wanted:
            if value.isascii():
                self.by_prefix.setdefault(value[:MIN_NEEDLE], []).append(value)
            else:
                self.other += [value.encode("utf-8"), value.encode("utf-16-le"),
                               json.dumps(value)[1:-1].encode()]

    def find(self, data: bytes) -> set[str]:
        found: set[str] = set()
        texts = [m.group().decode("ascii") for m in _ASCII_RUN.finditer(data)]
        texts += [m.group().decode("utf-16-le") for m in _UTF16_RUN.finditer(data)]
        for text in texts:
            for i in range(len(text) - MIN_NEEDLE + 1):
                for needle in self.by_prefix.get(text[i:i + MIN_NEEDLE], ()):
                    if text.startswith(needle, i):
                        found.add(needle)
        found.update(repr(n) for n in self.other if n in data)
        return found


def _scan(files: Iterable[Path], needles: Needles) -> dict[str, set[str]]:
    hits = {}
    for path in files:
        found = needles.find(path.read_bytes())
        if found:
            hits[str(path)] = set(sorted(found)[:5])
    return hits


@pytest.fixture
def log_file() -> Iterator[Path]:
    path = paths.log_dir() / "identity-desk.log"
    configure_logging(log_file=path)
    yield path
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_identity_desk", False):
            root.removeHandler(handler)
            handler.close()
    configure_logging()


def test_no_plaintext_anywhere(run_cli: Callable[..., Any], inputs_dir: Path, vault_path: Path,
                               all_written_files: Callable[[], Iterator[Path]],
                               log_file: Path) -> None:
    reports = _handmade() + list(generate_reports(2000, seed=21))
    needles = Needles(v for r in reports for v in _personal_values(r))
    assert len(needles.all) > 5000 and needles.other
    first = write_reports(inputs_dir / "batch.json", reports[:1200], "list")
    second = write_reports(inputs_dir / "batch.jsonl", reports[1200:1900], "jsonl")
    third = write_reports(inputs_dir / "late.json", reports[1800:], "array")

    outputs = []
    for args in (["init"], ["import", str(first), str(second), "--verbose"],
                 ["list", "--json", "--verbose", "--text", "a"],
                 ["show", reports[2]["id"], "--verbose"]):
        result = run_cli(*args)
        assert result.returncode == 0, (args, result.stderr)
        outputs.append(result)
    # Logs on standard error exist, and carry no data either.
    assert "import: file 1 of 2: 1200 added" in outputs[1].stderr
    for result in outputs:
        assert not needles.find(result.stderr.encode()), result.stderr[-2000:]
    # The asked-for output does show the data: proof that the needles would be found.
    shown = needles.find(outputs[3].stdout.encode())
    assert reports[2]["id"] in shown and repr("Hélène".encode()) in shown

    desk = Desk.open(vault_path, PASSPHRASE)
    try:
        summary = desk.import_files([third])
        assert summary.added == len(reports) - 1900 and summary.unchanged == 100
        wal = Path(str(vault_path) + "-wal")
        assert wal.exists() and wal.stat().st_size > 0
        written = list(all_written_files())
        assert wal in written and vault_path in written
        assert _scan(written, needles) == {}  # while open: vault, -wal, -shm
    finally:
        desk.lock()

    written = list(all_written_files())
    assert log_file in written and "import: file 1 of 1" in log_file.read_text()
    assert vault_path in written
    assert _scan(written, needles) == {}


def test_the_scanner_finds_planted_values() -> None:
    """The scan above proves something only if it would see a leak: plant some and look."""
    noise = random.Random(1).randbytes(200_000)
    needles = Needles(["Kestra", "vr_PlantedReportId000000001", "123456789", "Ångström",
                       "Ilvy", None, REDACTED])
    assert "Ilvy" not in needles.all and REDACTED not in needles.all  # too short / placeholder
    assert needles.find(noise) == set()
    planted = (noise[:5000] + "Kestra".encode("utf-16-le") + noise[5000:9000]
               + b"vr_PlantedReportId000000001" + noise[9000:] + b"x123456789x")
    assert needles.find(planted) == {"Kestra", "vr_PlantedReportId000000001", "123456789"}
    for encoded in ("Ångström".encode(), "Ångström".encode("utf-16-le"), b"\\u00c5ngstr\\u00f6m"):
        assert needles.find(noise[:100] + encoded + noise[100:]) == {repr(encoded)}
