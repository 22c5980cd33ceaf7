"""Tests for the report model: parsing, validation, redaction, expiry cues and summaries."""

from __future__ import annotations

import copy
import datetime

import orjson
import pytest

from identity_desktop.demo import generate_reports
from identity_desktop.report import (
    CHECK_NAMES,
    REDACTED,
    SUMMARY_FIELDS,
    Address,
    ExpiryCue,
    PartialDate,
    ReportView,
    expiry_cue,
    is_redacted,
    redact_report,
    search_text,
    summarize,
    validate_report,
)

# The example from stripe-identity-reports-api.txt, verbatim.
EXAMPLE = orjson.loads(b"""{ "id": "vr_1MwBlH2eZvKYlo2C91hOpFMf", "object":
"identity.verification_report", "created": 1681337011, "livemode": false, "options": {
"document": {} }, "type": "document", "verification_session": "vs_NhaxYCqOE27AqaUTxbIZOnHw",
"document": { "status": "verified", "error": null, "first_name": "Jenny", "last_name": "Rosen",
"address": { "line1": "1234 Main St.", "city": "San Francisco", "state": "CA", "zip": "94111",
"country": "US" }, "type": "driving_license", "files": [ "file_NhaxRCXT8Iuu8apSuci00UC4",
"file_NhaxDeWKGAOTc8Uec7UY9Ljj" ], "expiration_date": { "month": 12, "day": 1, "year": 2025 },
"issued_date": { "month": 12, "day": 1, "year": 2020 }, "issuing_country": "US" }}""")

NOW = 1_760_000_000


def make(**changes: object) -> dict:
    report = copy.deepcopy(EXAMPLE)
    report.update(changes)
    return report


def test_reference_example_parses() -> None:
    before = copy.deepcopy(EXAMPLE)
    view = ReportView.from_raw(EXAMPLE)
    assert before == EXAMPLE  # the raw dict is never mutated
    assert (view.id, view.created, view.type, view.livemode) == (
        "vr_1MwBlH2eZvKYlo2C91hOpFMf", 1681337011, "document", False)
    assert view.verification_session == "vs_NhaxYCqOE27AqaUTxbIZOnHw"
    assert view.client_reference_id is None and view.verification_flow is None
    assert view.overall_status == "verified"
    assert [c.name for c in view.checks] == ["document"]
    assert view.check("document").status == "verified"
    assert view.check("document").error_code is None
    assert view.check("selfie") is None
    assert view.full_name == "Jenny Rosen"
    assert view.address == Address("1234 Main St.", None, "San Francisco", "CA", "94111", "US")
    assert view.address.one_line() == "1234 Main St., San Francisco, CA 94111, US"
    assert (view.document_type, view.issuing_country) == ("driving_license", "US")
    assert view.issued_date == PartialDate(2020, 12, 1)
    assert view.expiration_date.display() == "2025-12-01"
    assert view.files == ("file_NhaxRCXT8Iuu8apSuci00UC4", "file_NhaxDeWKGAOTc8Uec7UY9Ljj")
    assert view.date_of_birth is None and view.document_number is None and view.sex is None
    assert view.redacted is False and not is_redacted(EXAMPLE)
    assert search_text(view) == (
        "jenny rosen\x1fvr_1mwblh2ezvkylo2c91hopfmf\x1fvs_nhaxycqoe27aqautxbizonhw")


def test_null_and_missing_checks() -> None:
    view = ReportView.from_raw(make(document=None, selfie=None, email=None))
    assert view.checks == () and view.overall_status == "no_checks"
    assert view.full_name == "" and view.files == () and view.address is None
    raw = make(selfie={"status": "unverified", "selfie": "file_s", "document": "file_d",
                       "error": {"code": "selfie_face_mismatch", "reason": "No match."}})
    view = ReportView.from_raw(raw)
    assert [c.name for c in view.checks] == ["document", "selfie"]
    assert view.overall_status == "unverified"
    assert view.check("selfie").error_code == "selfie_face_mismatch"
    assert view.check("selfie").error_reason == "No match."
    assert (view.selfie_file, view.selfie_document_file) == ("file_s", "file_d")


def test_checks_follow_check_names_order() -> None:
    raw = {"id": "vr_x", "created": 1, "phone": {"status": "verified", "phone": "+15555550100"},
           "email": {"status": "verified", "email": "a@example.com"},
           "id_number": {"status": "verified"}}
    view = ReportView.from_raw(raw)
    assert [c.name for c in view.checks] == ["id_number", "email", "phone"]
    assert view.overall_status == "verified" and view.livemode is True  # missing => live
    assert (view.email, view.phone) == ("a@example.com", "+15555550100")


def test_partial_dates() -> None:
    assert PartialDate.from_raw({"year": 2025, "month": None, "day": None}).display() == "2025"
    assert PartialDate.from_raw({"year": 2025, "month": 12}).display() == "2025-12"
    assert PartialDate.from_raw({"year": None, "month": 12, "day": 1}).display() == "????-12-01"
    assert PartialDate(2025, None, 1).display() == "2025-??-01"
    for empty in (None, "2025-01-01", 5, [], {}, {"year": None}, {"year": REDACTED},
                  {"year": True, "month": 13, "day": 0}):
        assert PartialDate.from_raw(empty) is None
    assert PartialDate(2025, 12, None).as_date() is None
    assert PartialDate(2025, 2, 30).as_date() is None
    assert PartialDate(2024, 2, 29).as_date() == datetime.date(2024, 2, 29)
    assert PartialDate(2025, 12, None).sort_key() == 20251200
    assert PartialDate(None, 12, 1).sort_key() == 1201
    assert PartialDate(2024, 2, None).last_possible_day() == datetime.date(2024, 2, 29)
    assert PartialDate(2025, None, None).last_possible_day() == datetime.date(2025, 12, 31)
    assert PartialDate(2025, 2, 31).last_possible_day() == datetime.date(2025, 2, 28)
    assert PartialDate(None, 5, 5).last_possible_day() is None


def test_dob_from_id_number_when_document_has_none() -> None:
    raw = make(id_number={"status": "verified", "first_name": "Ida", "last_name": "Num",
                          "dob": {"day": None, "month": 3, "year": 1990},
                          "id_number": "1234", "id_number_type": "us_ssn"})
    view = ReportView.from_raw(raw)
    assert view.date_of_birth == PartialDate(1990, 3, None)
    assert view.full_name == "Jenny Rosen"  # names come from the document first
    assert (view.id_number_type, view.id_number) == ("us_ssn", "1234")
    raw["document"]["dob"] = {"day": 2, "month": 1, "year": 1980}
    assert ReportView.from_raw(raw).date_of_birth == PartialDate(1980, 1, 2)
    raw["document"]["first_name"] = raw["document"]["last_name"] = None
    assert ReportView.from_raw(raw).full_name == "Ida Num"


def test_unknown_enum_values_pass_through() -> None:
    raw = make(type="face_scan")
    raw["document"].update(status="needs_review", type="residence_permit", sex="nonbinary")
    raw["document"]["error"] = {"code": "document_brand_new_code", "reason": "New."}
    view = ReportView.from_raw(raw)
    assert view.type == "face_scan" and view.document_type == "residence_permit"
    assert view.check("document").status == "needs_review"
    assert view.check("document").error_code == "document_brand_new_code"
    assert view.overall_status == "unverified" and view.sex == "nonbinary"


def test_stripe_redacted_report() -> None:
    raw = make()
    raw["document"].update(first_name=REDACTED, last_name=REDACTED, number=REDACTED,
                           dob={"day": REDACTED, "month": REDACTED, "year": REDACTED})
    raw["document"]["address"] = dict.fromkeys(raw["document"]["address"], REDACTED)
    view = ReportView.from_raw(raw)
    assert view.redacted and is_redacted(raw)
    assert view.first_name == REDACTED and view.full_name == REDACTED
    assert view.date_of_birth is None and view.address.line1 == REDACTED
    assert summarize(raw)[SUMMARY_FIELDS.index("redacted")] is True


def test_wrong_typed_optional_fields_become_none() -> None:
    raw = make(type=7, client_reference_id=["x"], verification_flow={}, options="odd")
    raw["document"].update(first_name=3, last_name=None, address="somewhere", files="file_x",
                           expiration_date="2025-12-01", issued_date={"year": "2020"},
                           error="bad", status=None, issuing_country=1, type=["passport"])
    raw["email"] = {"status": "verified", "email": 42, "error": []}
    view = ReportView.from_raw(raw)
    assert view.type is None and view.client_reference_id is None
    assert view.verification_flow is None and view.full_name == ""
    assert view.address is None and view.files == () and view.issuing_country is None
    assert view.expiration_date is None and view.issued_date is None
    assert view.check("document").status is None and view.check("document").error_code is None
    assert view.email is None and view.document_type is None
    assert view.overall_status == "unverified"
    row = summarize(raw)
    assert row[SUMMARY_FIELDS.index("type")] == "" and row[SUMMARY_FIELDS.index("name")] == ""


SECRET = "Sécrèt Pérson 19 Private Road"


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        (SECRET, "not a JSON object"),
        ([SECRET], "not a JSON object"),
        ({"created": 1}, "missing 'id'"),
        ({"id": "", "created": 1}, "missing 'id'"),
        ({"id": 5, "created": 1}, "missing 'id'"),
        ({"id": SECRET, "created": 1}, "'id' is not a verification report id"),
        ({"id": "vr_1", "object": "customer", "created": 1},
         "'object' is 'customer', not 'identity.verification_report'"),
        ({"id": "vr_1", "object": SECRET, "created": 1},
         "'object' is not 'identity.verification_report'"),
        ({"id": "vr_1"}, "'created' must be an integer timestamp"),
        ({"id": "vr_1", "created": True}, "'created' must be an integer timestamp"),
        ({"id": "vr_1", "created": "1681337011"}, "'created' must be an integer timestamp"),
        ({"id": "vr_1", "created": 1.5}, "'created' must be an integer timestamp"),
        ({"id": "vr_1", "created": 1, "livemode": SECRET}, "'livemode' must be true or false"),
        ({"id": "vr_1", "created": 1, "document": SECRET}, "'document' must be an object or null"),
        ({"id": "vr_1", "created": 1, "phone": [SECRET]}, "'phone' must be an object or null"),
        ({"id": "vr_1", "created": 1, "verification_session": {"x": SECRET}},
         "'verification_session' must be a string or null"),
    ],
)
def test_validate_report_reasons(obj: object, reason: str) -> None:
    got = validate_report(obj)
    assert got == reason
    assert SECRET not in got and "Sécrèt" not in got
    with pytest.raises(ValueError, match="^" + got.replace("(", r"\(") + "$"):
        ReportView.from_raw(obj)  # type: ignore[arg-type]


def test_validate_accepts_good_and_minimal_reports() -> None:
    assert validate_report(EXAMPLE) is None
    assert validate_report({"id": "vr_1", "created": 0}) is None
    for report in generate_reports(200, seed=5, now=NOW):
        assert validate_report(report) is None


def _strings(obj: object) -> list[str]:
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in _strings(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return []


PERSONAL = {"document": ("first_name", "last_name", "number", "unparsed_place_of_birth"),
            "id_number": ("first_name", "last_name", "id_number"), "email": ("email",),
            "phone": ("phone",)}


def test_redact_report_removes_every_personal_value() -> None:
    reports = [make(client_reference_id="cust_keep", unknown_top={"keep": 1})]
    reports += list(generate_reports(300, seed=9, now=NOW))
    for raw in reports:
        before = copy.deepcopy(raw)
        personal = set()
        for name, fields in PERSONAL.items():
            check = raw.get(name) or {}
            personal.update(check.get(f) for f in fields if isinstance(check.get(f), str))
            address = dict(check.get("address") or {}) if name == "document" else {}
            address.pop("country", None)  # also the issuing country, which is kept
            personal.update(_strings(address))
        personal.discard(REDACTED)
        redacted = redact_report(raw)
        assert raw == before
        text = orjson.dumps(redacted).decode()
        leaves = set(_strings(redacted))
        assert not personal & leaves
        assert not [p for p in personal if len(p) >= 6 and p in text]
        for name in ("document", "id_number"):
            dob = (redacted.get(name) or {}).get("dob")
            assert dob is None or all(v is None for v in dob.values())
        assert redact_report(redacted) == redacted  # idempotent
        assert redacted["id"] == raw["id"]
        assert redacted.get("client_reference_id") == raw.get("client_reference_id")
        assert ReportView.from_raw(redacted).files == ReportView.from_raw(raw).files
        if personal:
            assert is_redacted(redacted) and ReportView.from_raw(redacted).redacted
    assert redact_report(reports[0])["unknown_top"] == {"keep": 1}


def test_expiry_cue() -> None:
    today = datetime.date(2025, 11, 15)
    assert expiry_cue(None, today) is ExpiryCue.NONE
    assert expiry_cue(PartialDate(None, 12, 1), today) is ExpiryCue.NONE
    assert expiry_cue(PartialDate(2025, 11, 14), today) is ExpiryCue.EXPIRED
    assert expiry_cue(PartialDate(2025, 11, 15), today) is ExpiryCue.EXPIRES_SOON
    assert expiry_cue(PartialDate(2025, 12, 15), today) is ExpiryCue.EXPIRES_SOON
    assert expiry_cue(PartialDate(2025, 12, 16), today) is ExpiryCue.VALID
    assert expiry_cue(PartialDate(2025, 12, 16), today, soon_days=60) is ExpiryCue.EXPIRES_SOON
    assert expiry_cue(PartialDate(2025, 10, None), today) is ExpiryCue.EXPIRED
    assert expiry_cue(PartialDate(2025, 11, None), today) is ExpiryCue.EXPIRES_SOON
    assert expiry_cue(PartialDate(2025, None, None), today) is ExpiryCue.VALID  # to Dec 31
    assert expiry_cue(PartialDate(2024, None, None), today) is ExpiryCue.EXPIRED


def _expected_row(view: ReportView) -> list:
    last = view.expiration_date.last_possible_day() if view.expiration_date else None
    return [view.id, view.created, view.type or "", view.overall_status, view.full_name,
            view.document_type or "", view.issuing_country or "",
            view.issued_date.sort_key() if view.issued_date else 0,
            view.expiration_date.sort_key() if view.expiration_date else 0,
            view.verification_session or "", view.client_reference_id or "", view.livemode,
            view.redacted, last.toordinal() if last else 0]


ODD = [
    EXAMPLE,
    {"id": "vr_min", "created": 5},
    make(document=None, id_number={"status": "verified", "first_name": "Only"}),
    make(document={"status": "verified", "expiration_date": {"year": 2030}, "issued_date": {}}),
    make(document={"status": "verified", "expiration_date": {"month": 4, "day": 3}}),
    make(document={"status": "verified", "first_name": "", "last_name": "Solo"}),
    make(livemode=True, client_reference_id="cust_1", type=None, verification_session=None),
]


def test_summarize_agrees_with_view() -> None:
    reports = [*ODD, *generate_reports(2000, seed=3, now=NOW)]
    for raw in reports:
        row = summarize(raw)
        assert len(row) == len(SUMMARY_FIELDS)
        assert row == _expected_row(ReportView.from_raw(raw)), raw["id"]
        assert orjson.loads(orjson.dumps(row)) == row


def test_check_names_constant() -> None:
    assert CHECK_NAMES == ("document", "id_number", "selfie", "email", "phone")
