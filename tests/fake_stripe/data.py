"""Fictional VerificationReport / VerificationSession objects and redaction.

Shapes follow ``identity.verification_report`` / ``identity.verification_session`` in
/work/shared/reference/stripe-identity-openapi-subset.json: checks absent from a report are
omitted (as in Stripe's example), addresses use ``postal_code``, date parts may be null.
Every name, address, number, e-mail and phone number here is invented.
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

__all__ = [
    "REDACTED",
    "SENSITIVE_EXPANDABLE",
    "make_report",
    "make_session",
    "redact_report",
    "redact_session",
    "strip_unexpanded",
]

REDACTED = "[redacted]"

_FIRST = ("Avery", "Briony", "Caspian", "Delphine", "Emrys", "Fenna", "Galen", "Hollis",
          "Isolde", "Jory", "Kestrel", "Lysander", "Marisol", "Nico", "Orla", "Perrin")
_LAST = ("Quillfeather", "Ravensmoor", "Thistlewood", "Underbough", "Vantwhistle",
         "Wrenfield", "Yarrowby", "Zephyrine", "Ashcombe", "Brackenridge", "Cinderholt",
         "Dunmarrow", "Elderglen")
_STREETS = ("Lantern Row", "Gull Lane", "Copperkettle Way", "Mossgate Rd", "Tinker Ct")
_CITIES = (("Port Vellin", "CA"), ("Harrowgate", "NY"), ("Millbrook Falls", "TX"),
           ("Saltmarsh", "WA"), ("Ambervale", "IL"))
_DOC_TYPES = ("driving_license", "passport", "id_card")

# Fields Stripe returns only when expanded (FakeStripe(sensitive_requires_expand=True)).
SENSITIVE_EXPANDABLE: dict[str, tuple[str, ...]] = {
    "document": ("dob", "expiration_date", "number"),
    "id_number": ("dob", "id_number"),
}


def _token(prefix: str, *seed: object, length: int = 16) -> str:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    n = int.from_bytes(hashlib.sha256(repr(seed).encode()).digest()[:16], "big")
    chars = []
    for _ in range(length):
        n, r = divmod(n, len(alphabet))
        chars.append(alphabet[r])
    return f"{prefix}_1Fake{''.join(chars)}"


def _date(day: int | None, month: int | None, year: int | None) -> dict[str, int | None]:
    return {"day": day, "month": month, "year": year}


def make_report(
    i: int,
    *,
    created: int,
    session: str | None = None,
    type: str = "document",
    livemode: bool = False,
) -> dict[str, Any]:
    """A deterministic, realistic ``identity.verification_report`` for index ``i``.

    ``session`` defaults to a session id derived from ``i`` (one session per report).
    ``type="document"``: a document check, plus an id_number check every 3rd report and a
    selfie check every 4th; every 7th document is unverified (expired). ``type="id_number"``:
    an id_number check only. Some reports carry email/phone checks; every 11th has an
    incomplete date of birth (null day), as Stripe allows.
    """
    first = _FIRST[i % len(_FIRST)]
    last = _LAST[(i * 7) % len(_LAST)]
    dob = _date(None if i % 11 == 0 else 1 + i % 28, 1 + (i * 5) % 12, 1950 + (i * 3) % 55)
    report: dict[str, Any] = {
        "id": _token("vr", "report", i, created, livemode),
        "object": "identity.verification_report",
        "client_reference_id": None if i % 5 == 0 else f"user_{i:05d}",
        "created": created,
        "livemode": livemode,
        "options": {},
        "type": type,
        "verification_session": session or _token("vs", "session", i, livemode),
    }
    with_id_number = type == "id_number" or i % 3 == 0
    if type != "id_number":
        street = f"{10 + i % 890} {_STREETS[i % len(_STREETS)]}"
        city, state = _CITIES[i % len(_CITIES)]
        unverified = i % 7 == 6
        expires = (2023 if unverified else 2031) + i % 3
        report["options"]["document"] = (
            {"require_id_number": True, "require_matching_selfie": i % 4 == 0}
            if with_id_number or i % 4 == 0
            else {}
        )
        report["document"] = {
            "status": "unverified" if unverified else "verified",
            "error": (
                {"code": "document_expired", "reason": "The document is expired."}
                if unverified
                else None
            ),
            "first_name": first,
            "last_name": last,
            "dob": dob,
            "address": {
                "line1": street,
                "line2": None if i % 2 else f"Apt {1 + i % 40}",
                "city": city,
                "state": state,
                "postal_code": f"{90000 + (i * 37) % 9999:05d}",
                "country": "US",
            },
            "type": _DOC_TYPES[i % len(_DOC_TYPES)],
            "number": f"F{(i * 7919) % 10**8:08d}",
            "files": [_token("file", "front", i), _token("file", "back", i)],
            "issued_date": _date(1 + i % 28, 1 + i % 12, 2018 + i % 5),
            "expiration_date": _date(1 + i % 28, 1 + i % 12, expires),
            "issuing_country": "US",
        }
    if with_id_number:
        report["options"]["id_number"] = {}
        report["id_number"] = {
            "status": "verified",
            "error": None,
            "first_name": first,
            "last_name": last,
            "dob": dict(dob),
            "id_number": f"000{i % 100:02d}{i % 10000:04d}",  # 000-prefixed SSNs are never issued
            "id_number_type": "us_ssn",
        }
    if type != "id_number" and i % 4 == 0:
        report["selfie"] = {
            "status": "verified",
            "error": None,
            "document": report["document"]["files"][0],
            "selfie": _token("file", "selfie", i),
        }
    if i % 5 == 2:
        report["email"] = {"status": "verified", "error": None,
                           "email": f"{first.lower()}.{last.lower()}@example.com"}
    if i % 5 == 3:
        report["phone"] = {"status": "verified", "error": None,
                           "phone": f"+1202555{100 + i % 100:04d}"}  # 555-01xx: fictional
    return report


def _verified_outputs(report: dict[str, Any]) -> dict[str, Any]:
    doc = report.get("document") or {}
    idn = report.get("id_number") or {}
    return {
        "first_name": doc.get("first_name") or idn.get("first_name"),
        "last_name": doc.get("last_name") or idn.get("last_name"),
        "dob": copy.deepcopy(doc.get("dob") or idn.get("dob")),
        "address": copy.deepcopy(doc.get("address")),
        "id_number": idn.get("id_number"),
        "id_number_type": idn.get("id_number_type"),
        "email": (report.get("email") or {}).get("email"),
        "phone": (report.get("phone") or {}).get("phone"),
        "sex": None,
        "unparsed_place_of_birth": None,
        "unparsed_sex": None,
    }


def make_session(
    session_id: str,
    *,
    status: str = "verified",
    created: int = 1_700_000_000,
    type: str = "document",
    livemode: bool = False,
    client_reference_id: str | None = None,
    report: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """An ``identity.verification_session``; ``report`` (if given) fills
    ``last_verification_report`` and, for verified sessions, ``verified_outputs``.
    Extra keyword ``fields`` override any top-level field."""
    session: dict[str, Any] = {
        "id": session_id,
        "object": "identity.verification_session",
        "client_reference_id": client_reference_id,
        "client_secret": None,
        "created": created,
        "last_error": (
            {"code": "document_unverified_other", "reason": "The document could not be read."}
            if status == "requires_input"
            else None
        ),
        "last_verification_report": report["id"] if report else None,
        "livemode": livemode,
        "metadata": {},
        "options": {"document": {}} if type == "document" else {"id_number": {}},
        "provided_details": None,
        "redaction": None,
        "related_customer": None,
        "status": status,
        "type": type,
        "url": None,
        "verified_outputs": _verified_outputs(report) if report and status == "verified" else None,
    }
    session.update(fields)
    return session


def _redact_date(date: Any) -> Any:
    if isinstance(date, dict):
        return {k: REDACTED for k in date}
    return date


def _redact_fields(obj: dict[str, Any] | None, names: tuple[str, ...]) -> None:
    if not obj:
        return
    for name in names:
        value = obj.get(name)
        if name == "dob":
            obj[name] = _redact_date(value)
        elif name == "address" and isinstance(value, dict):
            obj[name] = {k: REDACTED for k in value}
        elif value is not None:
            obj[name] = REDACTED


_PERSONAL = ("first_name", "last_name", "dob", "address", "number", "id_number", "email",
             "phone", "sex", "unparsed_place_of_birth", "unparsed_sex")


def redact_report(report: dict[str, Any]) -> None:
    """In place: every personal field of every check becomes ``"[redacted]"``."""
    for check in ("document", "id_number", "email", "phone"):
        _redact_fields(report.get(check), _PERSONAL)


def redact_session(session: dict[str, Any]) -> None:
    """In place: verified outputs and metadata erased, redaction marked complete."""
    _redact_fields(session.get("verified_outputs"), _PERSONAL)
    session["metadata"] = {}
    provided = session.get("provided_details")
    if isinstance(provided, dict):
        session["provided_details"] = {k: REDACTED for k in provided}
    session["redaction"] = {"status": "redacted"}


def strip_unexpanded(report: dict[str, Any], expand: set[str], prefix: str = "") -> None:
    """In place: null the sensitive fields that were not requested with ``expand``."""
    for check, names in SENSITIVE_EXPANDABLE.items():
        block = report.get(check)
        if isinstance(block, dict):
            for name in names:
                if f"{prefix}{check}.{name}" not in expand:
                    block[name] = None
