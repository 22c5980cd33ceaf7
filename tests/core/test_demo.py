"""Tests for the synthetic report generator: determinism, validity, variety and file formats."""

from __future__ import annotations

import datetime
import re
from collections import Counter
from pathlib import Path

import orjson
import pytest

from identity_desktop.demo import GIVEN_NAMES, SURNAMES, generate_reports, write_demo_file
from identity_desktop.errors import UsageError
from identity_desktop.report import (
    SUMMARY_FIELDS,
    ExpiryCue,
    ReportView,
    expiry_cue,
    summarize,
    validate_report,
)

NOW = 1_760_000_000
TODAY = datetime.datetime.fromtimestamp(NOW, datetime.UTC).date()
ID = re.compile(r"(vr|vs|file)_[0-9A-Za-z]{24}")


@pytest.fixture(scope="module")
def reports() -> list[dict]:
    return list(generate_reports(3000, seed=11, now=NOW))


def test_deterministic_and_counted() -> None:
    a = list(generate_reports(500, seed=1, now=NOW))
    assert a == list(generate_reports(500, seed=1, now=NOW))
    assert a != list(generate_reports(500, seed=2, now=NOW))
    assert len(a) == 500 and list(generate_reports(0, now=NOW)) == []


def test_every_report_is_valid_and_unique(reports: list[dict]) -> None:
    assert len({r["id"] for r in reports}) == len(reports)
    files = [f for r in reports for f in ReportView.from_raw(r).files]
    assert len(set(files)) == len(files)
    for r in reports:
        assert validate_report(r) is None
        assert ID.fullmatch(r["id"]) and ID.fullmatch(r["verification_session"])
        assert all(ID.fullmatch(f) for f in (r.get("document") or {}).get("files", []))
        assert r["created"] <= NOW


def test_created_descends_over_two_years(reports: list[dict]) -> None:
    created = [r["created"] for r in reports]
    assert created == sorted(created, reverse=True)
    assert NOW - created[-1] > 700 * 86400 and NOW - created[-1] <= 731 * 86400


def test_variety(reports: list[dict]) -> None:
    n = len(reports)
    views = [ReportView.from_raw(r) for r in reports]
    types = Counter(v.type for v in views)
    assert 0.65 < types["document"] / n < 0.8
    assert 0.15 < types["id_number"] / n < 0.25
    assert types["verification_flow"] > 0
    assert all(r["verification_flow"].startswith("vf_") for r in reports
               if r["type"] == "verification_flow")
    assert 0.7 < sum(v.overall_status == "verified" for v in views) / n < 0.8
    assert 0.2 < sum(v.livemode for v in views) / n < 0.4
    codes = Counter(c.error_code for v in views for c in v.checks if c.error_code)
    for code in ("document_expired", "document_unverified_other", "selfie_face_mismatch",
                 "id_number_mismatch"):
        assert codes[code] > 0, code
    assert all(c.error_reason for v in views for c in v.checks if c.error_code)
    assert any(r.get("selfie", 0) is None for r in reports)  # explicit null checks
    assert any(v.check("selfie") for v in views) and any(v.check("email") for v in views)
    assert any(v.check("phone") for v in views)
    dates = [v.expiration_date for v in views if v.expiration_date]
    assert any(d.day is None and d.month is not None for d in dates)
    assert any(d.month is None for d in dates)
    cues = Counter(expiry_cue(d, TODAY) for d in dates)
    assert cues[ExpiryCue.EXPIRED] and cues[ExpiryCue.EXPIRES_SOON] and cues[ExpiryCue.VALID]
    assert len({v.issuing_country for v in views if v.issuing_country}) >= 12
    sessions = Counter(r["verification_session"] for r in reports)
    assert any(count == 2 for count in sessions.values())
    assert any(v.client_reference_id for v in views) and not all(v.client_reference_id
                                                                 for v in views)
    assert any(v.date_of_birth and not v.check("document") for v in views)  # dob on id_number
    assert any(v.redacted for v in views) and not all(v.redacted for v in views)


def test_names_and_addresses_are_fictional(reports: list[dict]) -> None:
    for v in map(ReportView.from_raw, reports[:500]):
        if v.first_name and not v.redacted:
            assert v.first_name in GIVEN_NAMES and v.last_name in SURNAMES
        if v.email and not v.redacted:
            assert v.email.endswith("@example.com")
        if v.phone and not v.redacted:
            assert v.phone[5:10] == "55501"


@pytest.mark.parametrize(("name", "fmt"), [("a.json", None), ("a.jsonl", None),
                                           ("a.txt", "array"), ("b.json", "jsonl")])
def test_files_round_trip(tmp_path: Path, name: str, fmt: str | None) -> None:
    path = tmp_path / name
    count = 2345  # more than one write batch
    assert write_demo_file(path, count, seed=4, fmt=fmt, now=NOW) == count
    data = path.read_bytes()
    kind = fmt or ("list" if name.endswith(".json") else "jsonl")
    if kind == "jsonl":
        items = [orjson.loads(line) for line in data.splitlines()]
        assert data.endswith(b"\n")
    else:
        loaded = orjson.loads(data)
        if kind == "list":
            assert loaded["object"] == "list" and loaded["has_more"] is False
            assert loaded["url"] == "/v1/identity/verification_reports"
            items = loaded["data"]
        else:
            items = loaded
    assert len(items) == count
    assert items == list(generate_reports(count, seed=4, now=NOW))
    assert all(validate_report(r) is None for r in items)


def test_empty_files_are_valid(tmp_path: Path) -> None:
    assert write_demo_file(tmp_path / "e.json", 0) == 0
    assert orjson.loads((tmp_path / "e.json").read_bytes())["data"] == []
    assert write_demo_file(tmp_path / "e.txt", 0, fmt="array") == 0
    assert orjson.loads((tmp_path / "e.txt").read_bytes()) == []


def test_unknown_format_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        write_demo_file(tmp_path / "x.csv", 1)
    with pytest.raises(UsageError):
        write_demo_file(tmp_path / "x.json", 1, fmt="xml")


def test_summaries_cover_generated_reports(reports: list[dict]) -> None:
    rows = [summarize(r) for r in reports]
    days = [row[SUMMARY_FIELDS.index("expires_day")] for row in rows]
    assert any(d and d < TODAY.toordinal() for d in days)
