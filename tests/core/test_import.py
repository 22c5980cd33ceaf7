"""Importing real files in every accepted format through the CLI, re-import idempotence, every
``list`` filter and ``show``.

One vault is shared by the module: 2,000 generated reports (plus a few handmade ones with unknown
fields and non-ASCII text) split over a Stripe list object, a JSON array, JSON Lines and a
single-report file, imported with one ``identity-desk import`` call. Expected ids are computed
here from the raw reports with ``ReportView``, never from the app's index.
"""

from __future__ import annotations

import copy
import datetime as dt
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import pytest

from identity_desktop.demo import generate_reports
from identity_desktop.report import ExpiryCue, ReportView, expiry_cue
from tests.core._support import (
    cli,
    digest,
    isolated_env,
    listed_ids,
    make_vault,
    table_rows,
    write_passphrase,
    write_reports,
)

COUNT = 2000


def _handmade(base: dict[str, Any]) -> list[dict[str, Any]]:
    """Reports with fields the app does not know (they must survive untouched) and non-ASCII."""
    a = copy.deepcopy(base)
    a["id"] = "vr_HandmadeUnknownFields0001"
    a["verification_session"] = "vs_HandmadeUnknownFields0001"
    a["future_field"] = {"nested": [1, 2.5, None, True, "ü"], "empty": {}}
    a["another_new_thing"] = "kept as is"
    if isinstance(a.get("document"), dict):
        a["document"]["new_document_field"] = [{"x": 1}]
    b = copy.deepcopy(base)
    b["id"] = "vr_HandmadeNonAsciiNames0002"
    b["verification_session"] = "vs_HandmadeNonAsciiNames0002"
    b["document"] = {**(base.get("document") or {}), "first_name": "Zoë", "last_name": "Ångström",
                     "address": {"line1": "12 Rue de l'Église", "line2": None, "city": "Ørby",
                                 "state": None, "postal_code": "75001", "country": "FR"},
                     "number": "ÉX-4471-Ω", "type": "id_card", "issuing_country": "FR"}
    return [a, b]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("formats")
    env = isolated_env(root)
    generated = list(generate_reports(COUNT - 2, seed=7))
    reports = generated + _handmade(next(r for r in generated if r.get("document")))
    inputs = root / "inputs"
    inputs.mkdir()
    files = [
        write_reports(inputs / "list-object.json", reports[:900], "list"),
        write_reports(inputs / "array.json", reports[900:1500], "array"),
        write_reports(inputs / "lines.jsonl", reports[1500:COUNT - 1], "jsonl"),
        write_reports(inputs / "single.json", reports[COUNT - 1:], "single"),
    ]
    vault = make_vault(root / "vault" / "vault.idvault")
    passphrase = write_passphrase(root / "passphrase.txt")
    first = cli("import", *map(str, files), env=env, vault=vault, passphrase_file=passphrase)
    return {"env": env, "vault": vault, "passphrase": passphrase, "reports": reports,
            "files": files, "first": first}


@pytest.fixture(scope="module")
def run(world: dict[str, Any]) -> Callable[..., subprocess.CompletedProcess[str]]:
    def call(*args: str) -> subprocess.CompletedProcess[str]:
        return cli(*args, env=world["env"], vault=world["vault"],
                   passphrase_file=world["passphrase"])

    return call


@pytest.fixture(scope="module")
def views(world: dict[str, Any]) -> list[ReportView]:
    return [ReportView.from_raw(r) for r in world["reports"]]


def test_import_all_formats(world: dict[str, Any]) -> None:
    result = world["first"]
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{COUNT} added, 0 updated, 0 unchanged, 0 rejected"
    for path, total in zip(world["files"], (900, 600, COUNT - 1500 - 1, 1), strict=True):
        # Progress after each committed batch names the file and its record count.
        assert f"imported {total}/{total} from {path}" in result.stderr
    assert "Traceback" not in result.stderr


def test_reimport_changes_nothing(world: dict[str, Any], run: Callable[..., Any]) -> None:
    before = {t: table_rows(world["vault"], t) for t in ("reports", "bodies")}
    file_before = digest(world["vault"])
    result = run("import", *map(str, world["files"]))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"0 added, 0 updated, {COUNT} unchanged, 0 rejected"
    # Not one ciphertext was rewritten (a rewrite would carry a fresh nonce).
    assert {t: table_rows(world["vault"], t) for t in ("reports", "bodies")} == before
    assert digest(world["vault"]) == file_before


def test_list_json_returns_every_report(run: Callable[..., Any],
                                        views: list[ReportView]) -> None:
    result = run("list", "--json")
    records = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == COUNT
    by_id = {v.id: v for v in views}
    assert set(by_id) == {r["id"] for r in records}
    created = [r["created"] for r in records]
    assert created == sorted(created, reverse=True)  # newest first
    for rec in records:
        view = by_id[rec["id"]]
        assert rec["created"] == view.created
        assert rec["type"] == view.type
        assert rec["status"] == view.overall_status
        assert rec["verification_session"] == view.verification_session
        assert rec["redaction"] == ("redacted" if view.redacted else "none")
        assert rec["livemode"] is view.livemode


def _today() -> dt.date:
    return dt.date.today()  # the CLI filters against the local "today", as a user expects


def _day(epoch: int) -> dt.date:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).date()


def _last_day(v: ReportView) -> dt.date | None:
    return v.expiration_date.last_possible_day() if v.expiration_date else None


def _haystack(v: ReportView) -> list[str]:
    return [p.casefold() for p in (v.full_name, v.id, v.verification_session or "",
                                   v.client_reference_id or "")]


def _text(query: str) -> Callable[[ReportView], bool]:
    words = query.casefold().split()
    return lambda v: all(any(w in field for field in _haystack(v)) for w in words)


def _pick(views: list[ReportView], attr: str, n: int = 2) -> list[str]:
    values = sorted({getattr(v, attr) for v in views if getattr(v, attr)})
    return values[:n]


def _filter_cases(views: list[ReportView]) -> list[tuple[list[str], Callable[[ReportView], bool]]]:
    created = sorted(v.created for v in views)
    lo, hi = _day(created[len(created) // 4]), _day(created[3 * len(created) // 4])
    expiries = sorted(d for v in views if (d := _last_day(v)) is not None)
    ex_lo, ex_hi = expiries[len(expiries) // 3], expiries[2 * len(expiries) // 3]
    today = _today()
    countries = _pick(views, "issuing_country")
    doc_types = _pick(views, "document_type")
    some = views[17]
    name_word = some.last_name or "Quillfeather"
    return [
        (["--status", "unverified,no_checks"],
         lambda v: v.overall_status in ("unverified", "no_checks")),
        (["--type", "document", "--type", "verification_flow"],
         lambda v: v.type in ("document", "verification_flow")),
        (["--document-type", doc_types[0]], lambda v: v.document_type == doc_types[0]),
        (["--country", ",".join(c.lower() for c in countries)],
         lambda v: v.issuing_country in countries),
        (["--created-from", lo.isoformat(), "--created-to", hi.isoformat()],
         lambda v: lo <= _day(v.created) <= hi),
        (["--expires-before", ex_lo.isoformat()],
         lambda v: (d := _last_day(v)) is not None and d < ex_lo),
        (["--expires-after", ex_hi.isoformat()],
         lambda v: (d := _last_day(v)) is not None and d > ex_hi),
        (["--expired"], lambda v: expiry_cue(v.expiration_date, today) is ExpiryCue.EXPIRED),
        (["--expires-within", "30"],
         lambda v: expiry_cue(v.expiration_date, today, 30) is ExpiryCue.EXPIRES_SOON),
        (["--redaction", "redacted"], lambda v: v.redacted),
        (["--mode", "live"], lambda v: v.livemode),
        (["--text", name_word.upper()], _text(name_word)),
        (["--text", f"{some.first_name or ''} {some.id[3:9]}"],
         _text(f"{some.first_name or ''} {some.id[3:9]}")),
        (["--text", "ångström"], _text("ångström")),
        (["--status", "unverified", "--mode", "live", "--country", countries[0]],
         lambda v: v.overall_status == "unverified" and v.livemode
         and v.issuing_country == countries[0]),
    ]


def test_every_filter_returns_exactly_the_right_ids(run: Callable[..., Any],
                                                     views: list[ReportView]) -> None:
    cases = _filter_cases(views)
    with ThreadPoolExecutor(max_workers=2) as pool:  # independent read-only CLI calls
        results = list(pool.map(lambda case: run("list", "--json", *case[0]), cases))
    for (args, predicate), result in zip(cases, results, strict=True):
        expected = {v.id for v in views if predicate(v)}
        assert 0 < len(expected) < COUNT, (args, len(expected))  # every case discriminates
        got = listed_ids(result)
        assert len(got) == len(set(got)), args
        assert set(got) == expected, (args, len(got), len(expected))


def test_show_json_round_trips_the_raw_report(world: dict[str, Any],
                                              run: Callable[..., Any]) -> None:
    for raw in (world["reports"][-2], world["reports"][-1], world["reports"][0]):
        result = run("show", raw["id"], "--json")
        assert result.returncode == 0, result.stderr
        shown = orjson.loads(result.stdout)
        assert shown == raw
        # Exactly: key order and unknown fields included.
        assert orjson.dumps(shown) == orjson.dumps(raw)


def test_show_text(world: dict[str, Any], run: Callable[..., Any]) -> None:
    raw = world["reports"][-1]
    view = ReportView.from_raw(raw)
    result = run("show", raw["id"])
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert f"Report            {view.id}" in text
    assert "Zoë Ångström" in text
    assert "12 Rue de l'Église" in text
    assert "ÉX-4471-Ω" in text
    assert f"Session           {view.verification_session}" in text
    assert f"Overall status    {view.overall_status}" in text
    for check in view.checks:
        assert check.name in text


def test_show_unknown_id_is_a_clear_error(run: Callable[..., Any]) -> None:
    result = run("show", "vr_DoesNotExist0000000000000")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "no report vr_DoesNotExist0000000000000 in the vault" in result.stderr


def test_reimport_of_a_changed_report_updates_it(tmp_path: Path, world: dict[str, Any],
                                                 run: Callable[..., Any]) -> None:
    # Runs last in the module on purpose: it changes one report of the shared vault.
    changed = copy.deepcopy(world["reports"][5])
    changed["client_reference_id"] = "cust_updated_in_test"
    path = write_reports(tmp_path / "one.json", [changed], "single")
    result = run("import", str(path))
    assert result.stdout.strip() == "0 added, 1 updated, 0 unchanged, 0 rejected"
    assert orjson.loads(run("show", changed["id"], "--json").stdout) == changed


def test_a_utf8_byte_order_mark_is_accepted(inputs_dir: Path) -> None:
    from identity_desktop.demo import generate_reports
    from identity_desktop.importing.readers import read_records

    reports = list(generate_reports(3, seed=5, now=1_790_000_000))
    for name, body in (("bom.json", orjson.dumps(reports)),
                       ("bom.jsonl", b"\n".join(orjson.dumps(r) for r in reports))):
        path = inputs_dir / name
        path.write_bytes(b"\xef\xbb\xbf" + body)
        parsed = read_records(path)
        assert [orjson.loads(bytes(r.body)) for r in parsed.records] == reports
        assert not parsed.rejected
