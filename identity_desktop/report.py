"""Typed, read-only views of Stripe Identity verification reports.

The raw report dict, exactly as Stripe returned it, stays the source of truth (unknown fields
included); everything here is *derived* from it and never mutates it. Parsing is tolerant because
Stripe adds enum values and fields over time and redaction replaces values with ``"[redacted]"``:
an odd optional field becomes ``None`` instead of making a whole report unreadable. Only the few
fields the vault keys and sorts on are required (see :func:`validate_report`).

Stripe's report has no overall status, so :attr:`ReportView.overall_status` is derived here:
``"verified"`` when every check present (non-null) is verified, ``"unverified"`` when any present
check has another status (``"unverified"``, a missing status or a value Stripe adds later), and
``"no_checks"`` when the report carries no check object at all.

This module is Qt-free and is imported by the CLI, the vault and the UI alike.
"""

from __future__ import annotations

import calendar
import copy
import datetime
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

if TYPE_CHECKING:  # a body may be a span of the importer's input (msgspec.Raw)
    import msgspec

REDACTED = "[redacted]"
CHECK_NAMES = ("document", "id_number", "selfie", "email", "phone")
REPORT_OBJECT = "identity.verification_report"

# Personal string fields per check, replaced by REDACTED on redaction (Stripe does the same).
_PERSONAL_STRINGS: dict[str, tuple[str, ...]] = {
    "document": ("first_name", "last_name", "number", "sex", "unparsed_place_of_birth",
                 "unparsed_sex"),
    "id_number": ("first_name", "last_name", "id_number"),
    "email": ("email",),
    "phone": ("phone",),
}
_DOB_CHECKS = ("document", "id_number")
_SAFE_OBJECT_NAME = re.compile(r"[a-z][a-z0-9_.]{0,63}")


def _str(value: object) -> str | None:
    """A string field, or None when it is null or of the wrong type."""
    return value if isinstance(value, str) else None


def _date_parts(obj: object) -> tuple[int | None, int | None, int | None] | None:
    """(year, month, day) of a Stripe date object, or None when nothing usable is there."""
    if not isinstance(obj, dict):
        return None
    # Exact class checks: bool is an int subclass but never a date part; "[redacted]" is
    # dropped. Straight-line code: this runs twice per imported report.
    year, month, day = obj.get("year"), obj.get("month"), obj.get("day")
    if not (year.__class__ is int and 1 <= year <= 9999):  # type: ignore[operator]
        year = None
    if not (month.__class__ is int and 1 <= month <= 12):  # type: ignore[operator]
        month = None
    if not (day.__class__ is int and 1 <= day <= 31):  # type: ignore[operator]
        day = None
    if year is None and month is None and day is None:
        return None
    return year, month, day


_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _last_day(year: int | None, month: int | None, day: int | None) -> datetime.date | None:
    """Latest calendar day a partial date can mean (a document is valid through its expiry)."""
    if year is None:
        return None
    if month is None:
        month = 12
    end = 29 if month == 2 and calendar.isleap(year) else _MONTH_DAYS[month]
    return datetime.date(year, month, end if day is None or day > end else day)


@dataclass(frozen=True, slots=True)
class PartialDate:
    """A Stripe ``{day, month, year}`` date in which any part may be missing."""

    year: int | None
    month: int | None
    day: int | None

    @classmethod
    def from_raw(cls, obj: object) -> PartialDate | None:
        """None for null, a non-object or a date whose parts are all missing or redacted."""
        parts = _date_parts(obj)
        return None if parts is None else cls(*parts)

    def display(self) -> str:
        """ISO-like text showing only what is known: ``2025-12``, ``2025``, ``????-12-01``."""
        parts = [self.year, self.month, self.day]
        while parts and parts[-1] is None:  # trailing unknowns are omitted, inner ones are ??
            parts.pop()
        return "-".join(("????" if i == 0 else "??") if p is None else
                        (f"{p:04d}" if i == 0 else f"{p:02d}") for i, p in enumerate(parts))

    def as_date(self) -> datetime.date | None:
        """A real date only when all parts are present and form a valid calendar day."""
        if self.year is None or self.month is None or self.day is None:
            return None
        try:
            return datetime.date(self.year, self.month, self.day)
        except ValueError:
            return None

    def sort_key(self) -> int:
        """YYYYMMDD with 0 for missing parts, so partial dates sort before full ones that year."""
        return (self.year or 0) * 10000 + (self.month or 0) * 100 + (self.day or 0)

    def last_possible_day(self) -> datetime.date | None:
        """For expiry: ``2025-12`` is valid through Dec 31 2025, ``2025`` too; None: no year."""
        return _last_day(self.year, self.month, self.day)


class ExpiryCue(enum.Enum):
    NONE = "none"
    VALID = "valid"
    EXPIRES_SOON = "expires_soon"
    EXPIRED = "expired"


def expiry_cue(expiration: PartialDate | None, today: datetime.date,
               soon_days: int = 30) -> ExpiryCue:
    """Cue for a document expiry; a document is still valid on its (last possible) expiry day."""
    last = None if expiration is None else expiration.last_possible_day()
    if last is None:
        return ExpiryCue.NONE
    if last < today:
        return ExpiryCue.EXPIRED
    if (last - today).days <= soon_days:
        return ExpiryCue.EXPIRES_SOON
    return ExpiryCue.VALID


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check of a report; status and error code are open enums, kept as Stripe sent them."""

    name: str
    status: str | None
    error_code: str | None
    error_reason: str | None

    @classmethod
    def from_raw(cls, name: str, obj: Mapping[str, Any]) -> CheckResult:
        error = obj.get("error")
        if not isinstance(error, dict):
            error = {}
        return cls(name, _str(obj.get("status")), _str(error.get("code")),
                   _str(error.get("reason")))


@dataclass(frozen=True, slots=True)
class Address:
    """Address as printed on the document (``zip`` is accepted for ``postal_code``)."""

    line1: str | None
    line2: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    country: str | None

    @classmethod
    def from_raw(cls, obj: object) -> Address | None:
        if not isinstance(obj, dict):
            return None
        postal = _str(obj.get("postal_code"))
        if postal is None:
            postal = _str(obj.get("zip"))
        address = cls(_str(obj.get("line1")), _str(obj.get("line2")), _str(obj.get("city")),
                      _str(obj.get("state")), postal, _str(obj.get("country")))
        return None if address == _EMPTY_ADDRESS else address

    def one_line(self) -> str:
        """``line1, line2, city, state postal_code, country`` without empty parts."""
        region = " ".join(p for p in (self.state, self.postal_code) if p)
        parts = (self.line1, self.line2, self.city, region, self.country)
        return ", ".join(p for p in parts if p)


_EMPTY_ADDRESS = Address(None, None, None, None, None, None)


def _overall_status(raw: Mapping[str, Any]) -> str:
    seen = False
    for name in CHECK_NAMES:
        check = raw.get(name)
        if isinstance(check, dict):
            if check.get("status") != "verified":
                return "unverified"
            seen = True
    return "verified" if seen else "no_checks"


def _name_source(doc: dict | None, idn: dict | None) -> dict | None:
    """Names come from the document when it has any, else from the ID number check."""
    if doc is not None and (_str(doc.get("first_name")) or _str(doc.get("last_name"))):
        return doc
    return idn


def _join_name(first: str | None, last: str | None) -> str:
    if first and last:
        return REDACTED if first == REDACTED and last == REDACTED else f"{first} {last}"
    return first or last or ""


@dataclass(frozen=True, slots=True)
class ReportView:
    """Everything the panes show about one report, derived from the raw JSON."""

    id: str
    created: int
    type: str | None
    livemode: bool
    verification_session: str | None
    client_reference_id: str | None
    verification_flow: str | None
    overall_status: str
    checks: tuple[CheckResult, ...]
    first_name: str | None
    last_name: str | None
    date_of_birth: PartialDate | None
    address: Address | None
    document_type: str | None
    document_number: str | None
    issuing_country: str | None
    issued_date: PartialDate | None
    expiration_date: PartialDate | None
    files: tuple[str, ...]
    id_number_type: str | None
    id_number: str | None
    email: str | None
    phone: str | None
    sex: str | None
    selfie_file: str | None
    selfie_document_file: str | None
    redacted: bool

    @property
    def full_name(self) -> str:
        """"First Last"; just ``[redacted]`` when both names were redacted; "" when unknown."""
        return _join_name(self.first_name, self.last_name)

    def check(self, name: str) -> CheckResult | None:
        for result in self.checks:
            if result.name == name:
                return result
        return None

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any]) -> ReportView:
        """Derive the view; raises ValueError (value-free reason) if the report is invalid.

        A missing ``livemode`` counts as live so that possibly real data is never labelled test.
        """
        reason = validate_report(raw)
        if reason is not None:
            raise ValueError(reason)
        doc, idn, selfie, email, phone = (
            c if isinstance(c := raw.get(n), dict) else None for n in CHECK_NAMES)
        d: dict = doc or {}
        i: dict = idn or {}
        names = _name_source(doc, idn) or {}
        dob = PartialDate.from_raw(d.get("dob")) or PartialDate.from_raw(i.get("dob"))
        files = d.get("files")
        return cls(
            id=raw["id"],
            created=raw["created"],
            type=_str(raw.get("type")),
            livemode=raw.get("livemode") is not False,
            verification_session=_str(raw.get("verification_session")),
            client_reference_id=_str(raw.get("client_reference_id")),
            verification_flow=_str(raw.get("verification_flow")),
            overall_status=_overall_status(raw),
            checks=tuple(CheckResult.from_raw(name, c)
                         for name, c in zip(CHECK_NAMES, (doc, idn, selfie, email, phone),
                                            strict=True) if c is not None),
            first_name=_str(names.get("first_name")),
            last_name=_str(names.get("last_name")),
            date_of_birth=dob,
            address=Address.from_raw(d.get("address")),
            document_type=_str(d.get("type")),
            document_number=_str(d.get("number")),
            issuing_country=_str(d.get("issuing_country")),
            issued_date=PartialDate.from_raw(d.get("issued_date")),
            expiration_date=PartialDate.from_raw(d.get("expiration_date")),
            files=tuple(f for f in files if isinstance(f, str)) if isinstance(files, list) else (),
            id_number_type=_str(i.get("id_number_type")),
            id_number=_str(i.get("id_number")),
            email=_str((email or {}).get("email")),
            phone=_str((phone or {}).get("phone")),
            sex=_str(d.get("sex")),
            selfie_file=_str((selfie or {}).get("selfie")),
            selfie_document_file=_str((selfie or {}).get("document")),
            redacted=is_redacted(raw),
        )


def validate_report(obj: object) -> str | None:
    """None when ``obj`` is usable as a report, else one short reason naming the field.

    Reasons never include a field's value: values may be personal data and reasons reach logs
    and dialogs. Only what the vault keys, sorts and filters on is checked; other odd optional
    shapes are tolerated by :meth:`ReportView.from_raw`.
    """
    if not isinstance(obj, Mapping):
        return "not a JSON object"
    report_id = obj.get("id")
    if not isinstance(report_id, str) or not report_id:
        return "missing 'id'"
    if not report_id.startswith("vr_"):
        return "'id' is not a verification report id"
    if "object" in obj and obj["object"] != REPORT_OBJECT:
        name = obj["object"]
        if isinstance(name, str) and _SAFE_OBJECT_NAME.fullmatch(name):
            return f"'object' is '{name}', not '{REPORT_OBJECT}'"
        return f"'object' is not '{REPORT_OBJECT}'"
    if obj.get("created").__class__ is not int:
        return "'created' must be an integer timestamp"
    if "livemode" in obj and not isinstance(obj["livemode"], bool):
        return "'livemode' must be true or false"
    for name in CHECK_NAMES:
        value = obj.get(name)
        if value is not None and not isinstance(value, dict):
            return f"'{name}' must be an object or null"
    session = obj.get("verification_session")
    if session is not None and not isinstance(session, str):
        return "'verification_session' must be a string or null"
    return None


def _redact_value(value: Any) -> Any:
    return value if value is None else REDACTED


def redact_report(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy with personal fields replaced, as Stripe does after redaction.

    Strings become ``"[redacted]"``; integer date-of-birth parts become None (an int field cannot
    hold the placeholder). Kept: file ids, ``client_reference_id`` (Stripe does not treat it as
    personal), document type, issuing country, issued/expiration dates, id_number_type and every
    unknown field. Idempotent.
    """
    out: dict[str, Any] = copy.deepcopy(dict(raw))
    for name, fields in _PERSONAL_STRINGS.items():
        check = out.get(name)
        if not isinstance(check, dict):
            continue
        for field in fields:
            if field in check:
                check[field] = _redact_value(check[field])
        if name in _DOB_CHECKS and "dob" in check:
            dob = check["dob"]
            if isinstance(dob, dict):
                check["dob"] = {key: None for key in dob}
            else:
                check["dob"] = _redact_value(dob)
        if name == "document" and "address" in check:
            address = check["address"]
            if isinstance(address, dict):
                check["address"] = {key: _redact_value(v) for key, v in address.items()}
            else:
                check["address"] = _redact_value(address)
    return out


def _dob_redacted(dob: object) -> bool:
    return dob == REDACTED or (isinstance(dob, dict) and REDACTED in dob.values())


def is_redacted(raw: Mapping[str, Any]) -> bool:
    """True when any personal field holds Stripe's ``"[redacted]"`` placeholder.

    Runs for every report on import, hence straight-line code and C-level ``in`` scans.
    """
    doc = raw.get("document")
    if isinstance(doc, dict):
        if REDACTED in map(doc.get, _PERSONAL_STRINGS["document"]):
            return True
        address = doc.get("address")
        if isinstance(address, dict) and REDACTED in address.values():
            return True
        if _dob_redacted(doc.get("dob")):
            return True
    idn = raw.get("id_number")
    if isinstance(idn, dict) and (REDACTED in map(idn.get, _PERSONAL_STRINGS["id_number"])
                                  or _dob_redacted(idn.get("dob"))):
        return True
    for name in ("email", "phone"):
        check = raw.get(name)
        if isinstance(check, dict) and check.get(name) == REDACTED:
            return True
    return False


def search_text(view: ReportView) -> str:
    """Lower-cased haystack for free-text search: names and ids only, never numbers or dates."""
    parts = (view.full_name, view.id, view.verification_session, view.client_reference_id)
    return "\x1f".join(p for p in parts if p).lower()


# Every top-level key that validate_report() and summarize() read. An importer may hand them a
# dict of just these keys (decoded without the rest of the report) and must get the same
# answers: tests/core/test_report.py checks it. Add a key here when either function reads one.
HEAD_FIELDS = ("id", "object", "created", "livemode", "type", "verification_session",
               "client_reference_id", *CHECK_NAMES)

SUMMARY_FIELDS = ("id", "created", "type", "overall_status", "name", "document_type",
                  "issuing_country", "issued", "expires", "session", "client_reference_id",
                  "livemode", "redacted", "expires_day")


def summarize(raw: Mapping[str, Any]) -> list:
    """The list-index row for a report, in :data:`SUMMARY_FIELDS` order.

    Computed for every report on import (100,000 at a time), so it walks the dicts directly
    instead of building a :class:`ReportView`; tests check that both agree.
    """
    get = raw.get
    doc = get("document")
    if not isinstance(doc, dict):
        doc = None
    idn = get("id_number")
    names = _name_source(doc, idn if isinstance(idn, dict) else None)
    name = _join_name(_str(names.get("first_name")), _str(names.get("last_name"))) if names else ""
    issued = expires = expires_day = 0
    document_type = issuing_country = ""
    if doc is not None:
        document_type = _str(doc.get("type")) or ""
        issuing_country = _str(doc.get("issuing_country")) or ""
        parts = _date_parts(doc.get("issued_date"))
        if parts is not None:
            issued = (parts[0] or 0) * 10000 + (parts[1] or 0) * 100 + (parts[2] or 0)
        parts = _date_parts(doc.get("expiration_date"))
        if parts is not None:
            year, month, day = parts
            expires = (year or 0) * 10000 + (month or 0) * 100 + (day or 0)
            if year is not None:
                expires_day = _last_day(year, month, day).toordinal()  # type: ignore[union-attr]
    created = get("created")
    return [get("id"), created if created.__class__ is int else 0, _str(get("type")) or "",
            _overall_status(raw), name, document_type, issuing_country, issued, expires,
            _str(get("verification_session")) or "", _str(get("client_reference_id")) or "",
            get("livemode") is not False, is_redacted(raw), expires_day]


class ReportRecord(NamedTuple):
    """A report as the vault takes it: its JSON (stored as the body, byte for byte) and its
    summary (:func:`summarize` of that JSON). The importer makes these without building the
    report's dict (``importing.records``); everyone else with :meth:`of`."""

    body: bytes | msgspec.Raw
    summary: list[Any]

    @classmethod
    def of(cls, report: Mapping[str, Any]) -> ReportRecord:
        return cls(orjson.dumps(report), summarize(report))
