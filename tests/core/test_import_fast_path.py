"""The importer's fast path (msgspec: element spans, typed heads, the element's bytes as the body)
must accept, refuse and store exactly what the plain path (orjson: whole dicts) does.

The plain path is the reference: ``readers._from_document(orjson.loads(data))``. Every case is
read both ways and must give the same records (bodies as parsed JSON, summaries) and the same
rejections (locations and reasons).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from identity_desktop.demo import generate_reports
from identity_desktop.importing import readers
from identity_desktop.importing.records import compact
from identity_desktop.report import HEAD_FIELDS, summarize, validate_report
from identity_desktop.vault.reports import get_report
from identity_desktop.vault.store import Vault
from tests.conftest import PASSPHRASE

REPORTS = list(generate_reports(60, seed=11, now=1_790_000_000))


def _odd_reports() -> list[Any]:
    """Valid and invalid records that stress the head decoding: every rule of validate_report,
    checks of every shape, absent versus null keys, odd types, non-ASCII text."""
    base = REPORTS[0]
    out: list[Any] = []

    def variant(**changes: Any) -> None:
        report = copy.deepcopy(base)
        for key, value in changes.items():
            if value is KeyError:
                report.pop(key, None)
            else:
                report[key] = value
        out.append(report)

    variant(object=KeyError)
    variant(object=None)
    variant(object="identity.verification_session")
    variant(object="Not A Safe Name!")
    variant(livemode=KeyError)
    variant(livemode=None)
    variant(livemode="yes")
    variant(created=True)
    variant(created=1.5)
    variant(created=KeyError)
    variant(id="")
    variant(id="vs_123")
    variant(id=42)
    variant(id=KeyError)
    variant(verification_session=None)
    variant(verification_session=7)
    variant(verification_session=KeyError)
    variant(type=None, client_reference_id=3)
    for name in ("document", "id_number", "selfie", "email", "phone"):
        variant(**{name: "a string"})
        variant(**{name: []})
        variant(**{name: None})
        variant(**{name: KeyError})
    variant(document={"first_name": "Zoë", "last_name": "Łukasiewicz-Ōno", "status": "verified",
                      "dob": {"day": 1, "month": 2, "year": 1990}})
    variant(document={"first_name": "[redacted]", "last_name": "[redacted]",
                      "dob": {"day": None, "month": None, "year": None}})
    variant(unknown_field={"nested": [1, 2.5, "x", None, True]}, another="\u00e9\u4e2d")
    out += [17, "text", None, [1, 2], {}]
    return out


def _both_ways(data: bytes, name: str = "f.json") -> tuple[readers.ParsedFile, Any]:
    fast = readers.parse_bytes(data, name)
    plain = readers._from_document(orjson.loads(data), name)
    return fast, plain


def _same(fast: readers.ParsedFile, plain: readers.ParsedFile) -> None:
    assert [orjson.loads(bytes(r.body)) for r in fast.records] == \
        [orjson.loads(bytes(r.body)) for r in plain.records]
    assert [r.summary for r in fast.records] == [r.summary for r in plain.records]
    assert fast.rejected == plain.rejected


def test_head_fields_are_all_that_validation_and_summaries_read() -> None:
    for report in [*REPORTS, *_odd_reports()]:
        if not isinstance(report, dict):
            continue
        head = {key: report[key] for key in HEAD_FIELDS if key in report}
        assert validate_report(head) == validate_report(report)
        if validate_report(report) is None:
            assert summarize(head) == summarize(report)


@pytest.fixture(params=["one process", "with the helper process"])
def helper_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every fast-path case runs twice: decoded here, and with the last part decoded by the
    helper process (``importing.helper``; normally only from 20,000 records on)."""
    if request.param == "with the helper process":
        monkeypatch.setattr(readers, "PARALLEL_MIN_RECORDS", 2)
    return str(request.param)


@pytest.mark.parametrize("layout", ["compact", "python-default", "indented", "crlf"])
@pytest.mark.parametrize("shape", ["list-object", "array"])
def test_fast_path_matches_the_plain_path(layout: str, shape: str, helper_mode: str) -> None:
    records = [*REPORTS[:5], *_odd_reports(), *REPORTS[5:10]]
    document: Any = records if shape == "array" else {
        "object": "list", "url": "/v1/identity/verification_reports", "has_more": False,
        "data": records}
    if layout == "compact":
        data = orjson.dumps(document)
    elif layout == "python-default":
        data = json.dumps(document).encode()  # ", " and ": " separators, \\u escapes
    else:
        data = json.dumps(document, indent=2, ensure_ascii=False).encode()
        if layout == "crlf":
            data = data.replace(b"\n", b"\r\n")
    fast, plain = _both_ways(data)
    assert len(fast.records) > 10 and len(fast.rejected) > 20  # the cases really are mixed
    _same(fast, plain)
    for record in fast.records:  # stored compact, whatever the file's layout
        body = bytes(record.body)
        assert b"\n" not in body and b'": ' not in body and compact(body) == body


def test_jsonl_fast_path_matches_the_plain_path() -> None:
    records = [*REPORTS[:5], *_odd_reports()]
    lines = [json.dumps(r).encode() if i % 2 else orjson.dumps(r) for i, r in enumerate(records)]
    lines.insert(3, b"{not json")
    lines.insert(5, b'{"id": "vr_1", "created": 1, "x": "\xff"}')  # not UTF-8
    data = b"\n".join(lines) + b"\n"
    fast = readers.parse_bytes(data, "f.jsonl", jsonl=True)
    plain = readers.ParsedFile([], [])
    for number, line in enumerate(data.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            readers._check(orjson.loads(line), f"line {number}", "f.jsonl", plain)
        except orjson.JSONDecodeError as exc:
            plain.rejected.append(readers.Rejected(
                "f.jsonl", f"line {number}", f"not valid JSON ({readers._json_error(exc, line)})"))
    _same(fast, plain)
    assert {r.location for r in fast.rejected} >= {"line 4", "line 6"}


def test_files_the_fast_path_leaves_get_the_plain_paths_message(inputs_dir: Path) -> None:
    good = orjson.dumps({"object": "list", "data": REPORTS[:3]})
    cases = {
        "not-utf8.json": good[:-40] + b"\xff\xfe" + good[-40:],
        "truncated.json": good[:-10],
        "trailing-comma.json": good[:-2] + b",]}",
        "data-not-array.json": b'{"object": "list", "data": {"a": 1}}',
        "session-object.json": b'{"object": "identity.verification_session", "id": "vs_1"}',
    }
    for name, data in cases.items():
        with pytest.raises(Exception) as fast_error:
            readers.parse_bytes(data, name)
        try:
            readers._from_document(orjson.loads(data), name)
        except orjson.JSONDecodeError as exc:
            expected = f"{name}: not valid JSON ({readers._json_error(exc, data)})"
        except Exception as exc:  # the plain path's own refusal
            expected = str(exc)
        else:
            pytest.fail(f"{name} should be refused")
        assert str(fast_error.value) == expected


def test_a_number_orjson_cannot_read_in_an_unused_field_is_stored_and_shown(
        tmp_path: Path, inputs_dir: Path) -> None:
    """msgspec skips fields the app does not read, so it accepts 1e400 there (orjson refuses);
    the stored body must still be readable."""
    report = copy.deepcopy(REPORTS[0])
    data = orjson.dumps([report]).replace(b'"livemode":', b'"huge":1e400,"livemode":', 1)
    path = inputs_dir / "huge.json"
    path.write_bytes(data)
    vault = Vault.create(tmp_path / "v.idvault", PASSPHRASE)
    from identity_desktop.importing import import_files

    summary = import_files(vault, [path])
    assert summary.added == 1 and not summary.errors
    stored = get_report(vault, report["id"])
    assert stored is not None and stored["id"] == report["id"]
    assert stored["huge"] == float("inf")
    vault.lock()


def test_a_desk_without_its_index_builds_it_from_the_vault_when_read(tmp_path: Path,
                                                                      inputs_dir: Path) -> None:
    """The CLI's import opens the vault without the list index (``build_index=False``); the
    index, when something reads it, still holds everything, the import included."""
    from identity_desktop.desk import Desk

    path = tmp_path / "v.idvault"
    Desk.create(path, PASSPHRASE).lock()
    file = inputs_dir / "reports.json"
    file.write_bytes(orjson.dumps(REPORTS))
    desk = Desk.open(path, PASSPHRASE, build_index=False)
    assert desk.import_files([file]).added == len(REPORTS)
    assert desk._index is None  # nothing was built for the import
    assert sorted(desk.index.report_id(i) for i in range(len(desk.index))) == \
        sorted(r["id"] for r in REPORTS)
    desk.lock()
    assert len(desk.index) == 0


def test_a_failing_helper_changes_nothing_but_the_speed(monkeypatch: pytest.MonkeyPatch,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    """A helper that cannot start, dies, hangs or answers nonsense: the importer decodes its
    part itself, with the same result, and says so in the log without a value."""
    import sys

    from identity_desktop.importing import helper

    records = [*REPORTS[:20], *_odd_reports()]
    data = orjson.dumps(records)
    expected = readers._from_document(orjson.loads(data), "f.json")
    monkeypatch.setattr(readers, "PARALLEL_MIN_RECORDS", 2)
    monkeypatch.setattr(helper, "_TIMEOUT", 1.0)
    for command in ([sys.executable, "-c", "import sys; sys.stdin.buffer.read(); sys.exit(3)"],
                    [sys.executable, "-c", "import time; time.sleep(60)"],  # stuck: killed
                    [sys.executable, "-c", "import sys; sys.stdin.buffer.read(); "
                                           "sys.stdout.buffer.write(b'not an answer')"],
                    [sys.executable, "-c", "import sys; sys.stdin.buffer.read(); "  # [1, 2]
                                           "sys.stdout.buffer.write(bytes([0x92, 1, 2]))"],
                    ["/nonexistent/identity-desk-helper"]):
        monkeypatch.setattr(helper, "helper_command", lambda c=command: c)
        caplog.clear()
        with caplog.at_level("WARNING", logger="identity_desktop.importing.helper"):
            _same(readers.parse_bytes(data, "f.json"), expected)
        assert "decoding in this process" in caplog.text
        for value in ("vr_", "Zo\u00eb", "Łukasiewicz"):
            assert value not in caplog.text
