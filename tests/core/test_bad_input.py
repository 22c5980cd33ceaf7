"""Bad input files: every one is refused with one clear line naming the file (and the record, by
index or line, where one is at fault), exit status 1, no traceback, and the vault unchanged.
``--skip-invalid`` imports the valid records and lists the rejected ones with file and line."""

from __future__ import annotations

import copy
import json
import random
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import pytest

from identity_desktop.demo import generate_reports
from identity_desktop.vault import Vault
from identity_desktop.vault.reports import load_summaries
from tests.conftest import PASSPHRASE
from tests.core._support import (
    NOW,
    CliSetup,
    copy_vault,
    digest,
    make_vault,
    one_error_line,
    write_reports,
)

EXISTING = 40


@pytest.fixture(scope="module")
def good() -> list[dict[str, Any]]:
    return list(generate_reports(EXISTING + 12, seed=3, now=NOW))


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, good: list[dict[str, Any]]) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("bad-input")
    vault = make_vault(root / "template.idvault", good[:EXISTING])
    with Vault.open(vault, PASSPHRASE) as v:
        summaries = load_summaries(v)
    return {"cli": CliSetup.under(root), "template": vault, "summaries": summaries}


@pytest.fixture
def vault(base: dict[str, Any], tmp_path: Path) -> Path:
    """A fresh copy of the 40-report vault."""
    return copy_vault(base["template"], tmp_path / "vault" / "vault.idvault")


@pytest.fixture
def importer(base: dict[str, Any], vault: Path
             ) -> Callable[..., subprocess.CompletedProcess[str]]:
    return base["cli"].runner(vault, "import")


def _assert_unchanged(vault: Path, base: dict[str, Any], before: str) -> None:
    assert digest(vault) == before
    with Vault.open(vault, PASSPHRASE) as v:
        assert load_summaries(v) == base["summaries"]  # same count, same summaries


def _bad_files(inputs: Path, good: list[dict[str, Any]]) -> list[tuple[Path, list[str]]]:
    """(file, words its error line must contain) for every kind of bad input."""
    new = copy.deepcopy(good[EXISTING:])
    cases: list[tuple[Path, list[str]]] = []

    def add(name: str, data: bytes, *words: str) -> None:
        path = inputs / name
        path.write_bytes(data)
        cases.append((path, [str(path), *words]))

    whole = orjson.dumps({"object": "list", "data": new})
    add("truncated.json", whole[: len(whole) * 2 // 3], "truncated", "line 1, column")
    pretty = json.dumps(new, indent=2).encode()
    add("truncated-pretty.json", pretty[: len(pretty) // 2], "truncated", "line ")
    lines = b"".join(orjson.dumps(r) + b"\n" for r in new)
    add("truncated-last-line.jsonl", lines[:-40], f"line {len(new)}", "not valid JSON")

    wrong = copy.deepcopy(new)
    wrong[3]["created"] = "2026-01-02T03:04:05Z"
    add("created-string.json", orjson.dumps(wrong), "index 3", "'created'")
    wrong = copy.deepcopy(new)
    wrong[5]["document"] = [wrong[5].get("document")]
    add("checks-list.json", orjson.dumps({"object": "list", "data": wrong}), "index 5",
        "'document' must be an object")
    wrong = copy.deepcopy(new)
    wrong[2]["livemode"] = "yes"
    wrong[7]["verification_session"] = 12345
    add("wrong-types.jsonl", b"\n".join(orjson.dumps(r) for r in wrong), "line 3",
        "'livemode'", "line 8", "'verification_session'")
    wrong = copy.deepcopy(new)
    del wrong[4]["id"]
    add("missing-id.jsonl", b"\n".join(orjson.dumps(r) for r in wrong), "line 5",
        "missing 'id'")
    wrong = copy.deepcopy(new)
    del wrong[0]["id"]
    add("missing-id-single.json", orjson.dumps(wrong[0]), "missing 'id'")

    add("customer.json", orjson.dumps({"id": "cus_Nf0rT3stOnly", "object": "customer",
                                       "email": "someone@example.com", "name": "Kestra Ashgrove"}),
        "'customer' object")
    charges = [{"id": f"ch_TestCharge{i:04d}", "object": "charge", "amount": 500 + i,
                "created": NOW - i} for i in range(3)]
    add("charges.json", orjson.dumps({"object": "list", "data": charges}), "index 0",
        "3 invalid record(s)")
    add("charges-array.json", orjson.dumps(charges), "index 0", "not a verification report")
    add("number.json", b"42\n", "not a Stripe list object")

    add("empty.json", b"", "empty")
    add("blank.jsonl", b" \n\n", "empty")
    add("random.bin", random.Random(5).randbytes(4096), "binary")
    add("random-no-nul.json", bytes(b for b in random.Random(6).randbytes(4096) if b),
        "not valid JSON")
    add("image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + bytes(64),
        "binary")
    add("image-named.json", b"\x89PNG\r\n\x1a\n", "not valid JSON")

    huge = copy.deepcopy(new[1])
    huge["padding"] = "x" * (8 * 1024 * 1024 + 10)
    add("huge-line.jsonl", b"\n".join([orjson.dumps(new[0]), orjson.dumps(huge),
                                       orjson.dumps(new[2])]), "line 2", "longer than 8 MiB")
    return cases


def test_bad_files_are_refused_and_change_nothing(
        tmp_path: Path, base: dict[str, Any], good: list[dict[str, Any]],
        vault: Path, importer: Callable[..., Any]) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    before = digest(vault)
    cases = _bad_files(inputs, good)
    with ThreadPoolExecutor(max_workers=2) as pool:  # none of them may write: run two at once
        results = list(pool.map(lambda case: importer(str(case[0])), cases))
    for (path, words), result in zip(cases, results, strict=True):
        line = one_error_line(result)
        for word in words:
            assert word in line, (path.name, word, line)
        assert result.stdout.strip().startswith("0 added, 0 updated, 0 unchanged"), path.name
    _assert_unchanged(vault, base, before)


def test_a_bad_record_refuses_its_whole_file_by_default(
        tmp_path: Path, base: dict[str, Any], good: list[dict[str, Any]],
        vault: Path, importer: Callable[..., Any]) -> None:
    reports = copy.deepcopy(good[EXISTING:])
    reports[-1]["created"] = None
    path = write_reports(tmp_path / "mostly-good.json", reports, "array")
    result = importer(str(path))
    line = one_error_line(result)
    assert f"{path}: 1 invalid record(s), nothing imported from this file" in line
    assert f"index {len(reports) - 1}: 'created'" in line
    _assert_unchanged(vault, base, digest(vault))


def test_skip_invalid_imports_the_valid_and_lists_the_rejected(
        tmp_path: Path, good: list[dict[str, Any]], vault: Path,
        importer: Callable[..., Any]) -> None:
    reports = copy.deepcopy(good[EXISTING:])
    lines = [orjson.dumps(r) for r in reports]
    lines[2] = b'{"id": "vr_broken", "created": '  # truncated line
    lines[6] = orjson.dumps({**reports[6], "created": "yesterday"})
    lines[9] = b"[1, 2, 3]"
    jsonl = tmp_path / "mixed.jsonl"
    jsonl.write_bytes(b"\n".join(lines) + b"\n")
    array = write_reports(tmp_path / "mixed.json",
                          [reports[0], {"id": "vr_noCreated"}, reports[1]], "array")
    result = importer("--skip-invalid", str(jsonl), str(array))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    valid = len(reports) - 3  # reports[0] and [1] appear in both files
    assert result.stdout.strip() == f"{valid} added, 0 updated, 2 unchanged, 4 rejected"
    rejected = [ln for ln in result.stderr.splitlines() if ln.startswith("rejected: ")]
    assert rejected == [
        f"rejected: {jsonl}: line 3: not valid JSON (the file ends too early (truncated?) at "
        "line 1, column 32)",
        f"rejected: {jsonl}: line 7: 'created' must be an integer timestamp",
        f"rejected: {jsonl}: line 10: not a JSON object",
        f"rejected: {array}: index 1: 'created' must be an integer timestamp",
    ]
    with Vault.open(vault, PASSPHRASE) as v:
        ids = {s[0] for s in load_summaries(v)}
    expected = {r["id"] for i, r in enumerate(reports) if i not in (2, 6, 9)}
    assert expected <= ids and len(ids) == EXISTING + len(expected)


def test_one_bad_file_does_not_stop_the_good_ones(
        tmp_path: Path, good: list[dict[str, Any]], importer: Callable[..., Any]) -> None:
    ok = write_reports(tmp_path / "ok.jsonl", good[EXISTING:], "jsonl")
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    result = importer(str(empty), str(ok))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"identity-desk: error: {empty}: the file is empty" in result.stderr.splitlines()
    assert result.stdout.strip() == f"{len(good) - EXISTING} added, 0 updated, 0 unchanged, " \
                                    "0 rejected"


def test_missing_and_folder_inputs(tmp_path: Path, importer: Callable[..., Any]) -> None:
    result = importer(str(tmp_path / "nope.json"))
    assert f"{tmp_path / 'nope.json'}: no such file" in one_error_line(result)
    result = importer(str(tmp_path))
    assert f"{tmp_path}: is a folder" in one_error_line(result)
