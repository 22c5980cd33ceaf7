"""Synthetic Stripe Identity verification reports for demos, tests and benchmarks.

No real person is involved: names, places and streets come from made-up lists, e-mail addresses
use ``example.com`` and phone numbers the fictional 555-01xx range. The shapes follow Stripe's
``identity.verification_report`` (see ``/work/shared/reference``) with realistic variety: report
types, failing checks with real error codes, null checks, partial dates and documents that are
expired or about to expire relative to ``now``.

Generation has to be fast (100,000 reports in well under 2 s, for import benchmarks), so random
choices are drawn from precomputed tables and ids are built from pre-made random chunks plus
permuted counter digits (which also guarantees that ids never collide).
"""

from __future__ import annotations

import datetime
import random
import string
import time
from collections.abc import Iterator
from pathlib import Path

import orjson

from identity_desktop.errors import UsageError
from identity_desktop.report import redact_report

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_PAIRS = [a + b for a in _BASE62 for b in _BASE62]  # 3844 two-char suffix digits
_TWO_YEARS = 2 * 365 * 86400

GIVEN_NAMES = ("Alvaro", "Brenna", "Corvin", "Dalia", "Elsabet", "Fenwick", "Galen", "Hesper",
               "Ilvy", "Jorund", "Kestra", "Lisander", "Maelis", "Norrin", "Oriel", "Pelle",
               "Quenby", "Rosamel", "Sorrel", "Tamsin", "Ulric", "Vesna", "Wrenna", "Yestin",
               "Zinnia", "Ambrel", "Caspian", "Evander", "Isolde", "Thessaly")
SURNAMES = ("Quillfeather", "Marrowind", "Thistlecombe", "Ashgrove", "Brightwater", "Cobblestone",
            "Dunmere", "Elderbrook", "Fallowmere", "Glimmerdale", "Hollowell", "Ironwhistle",
            "Juniperfield", "Kettlewick", "Larkspurrow", "Mossbury", "Nettlefold", "Oakenshaw",
            "Pebbleton", "Quarrington", "Rushwick", "Silverhollow", "Tumblewood", "Umberlane",
            "Vantrelle", "Willowmere", "Yarrowby", "Zephyrine")
CITIES = ("Examplefield", "Sampleton", "Testhaven", "Mockford", "Placeholder Falls",
          "Fictionville", "Demoburg", "Imaginary Bay", "Lorem Harbor", "Ipsum Heights")
STREETS = ("Example Street", "Sample Road", "Placeholder Lane", "Demo Avenue", "Fiction Way",
           "Test Court")
COUNTRIES = ("US", "GB", "CA", "DE", "FR", "ES", "IT", "NL", "IE", "AU", "NZ", "SG", "BR", "JP",
             "MX")
DOCUMENT_TYPES = ("driving_license", "driving_license", "id_card", "id_card", "passport")
SEXES = (("female", "F"), ("male", "M"), ("unknown", "X"))
ID_NUMBER_TYPES = (("us_ssn", 4), ("br_cpf", 11), ("sg_nric", 9))

ERRORS = {
    "document": (
        ("document_expired", "The document is expired."),
        ("document_unverified_other", "The document could not be verified."),
        ("document_type_not_supported", "The provided document type is not supported."),
    ),
    "selfie": (
        ("selfie_face_mismatch", "The captured face image did not match the document's face."),
        ("selfie_document_missing_photo",
         "The provided identity document did not contain a picture of a face."),
        ("selfie_manipulated", "The captured face image was manipulated."),
        ("selfie_unverified_other", "The selfie could not be verified."),
    ),
    "id_number": (
        ("id_number_mismatch",
         "The information provided could not be matched against global databases."),
        ("id_number_insufficient_document_data",
         "The document did not contain enough data to match the ID number."),
        ("id_number_unverified_other", "The ID number could not be verified."),
    ),
    "email": (
        ("email_unverified_other", "The email address could not be verified."),
        ("email_verification_declined", "The user declined to verify the email address."),
    ),
    "phone": (
        ("phone_unverified_other", "The phone number could not be verified."),
        ("phone_verification_declined", "The user declined to verify the phone number."),
    ),
}


def _date(ymd: tuple[int, int, int], partial: int) -> dict:
    """A Stripe date object; ``partial`` (0..99) < 6 drops the day and < 2 the month too, as
    happens when a document does not print them."""
    if partial >= 6:
        return {"day": ymd[2], "month": ymd[1], "year": ymd[0]}
    if partial >= 2:
        return {"day": None, "month": ymd[1], "year": ymd[0]}
    return {"day": None, "month": None, "year": ymd[0]}


def _people(rng: random.Random, today: int, size: int) -> list[tuple]:
    """Precomputed fictional people (first, last, country, address, sex, unparsed sex, place of
    birth, dob); reports copy the nested dicts so no two reports share a mutable object."""
    people = []
    for _ in range(size):
        country = rng.choice(COUNTRIES)
        dob = datetime.date.fromordinal(today - 6600 - rng.randrange(21000))
        address = {
            "city": rng.choice(CITIES),
            "country": country,
            "line1": f"{rng.randrange(1, 400)} {rng.choice(STREETS)}",
            "line2": None if rng.random() < 0.8 else f"Apt {rng.randrange(1, 60)}",
            "postal_code": f"{rng.randrange(100000):05d}",
            "state": None,
        }
        sex, unparsed = rng.choice(SEXES)
        people.append((rng.choice(GIVEN_NAMES), rng.choice(SURNAMES), country, address, sex,
                       unparsed, rng.choice(CITIES),
                       _date((dob.year, dob.month, dob.day), rng.randrange(100))))
    return people


def generate_reports(count: int, *, seed: int = 0, now: int | None = None) -> Iterator[dict]:
    """Yield ``count`` synthetic reports, newest first; deterministic for (seed, now).

    ``now`` defaults to the current time, which moves ``created`` and expiry dates: pass it
    explicitly for reproducible output. Mix: ~70% document reports (60% of them with a selfie),
    ~20% id_number, ~5% document + id_number, ~5% verification_flow (document, id_number and
    sometimes email/phone); ~25% have one failing check; ~1% of sessions arrive redacted (every
    report of such a session, as Stripe redacts whole sessions).
    """
    rng = random.Random(seed)
    rand = rng.random
    bits = rng.getrandbits
    now = int(time.time()) if now is None else now
    today = datetime.datetime.fromtimestamp(now, datetime.UTC).date().toordinal()
    chunks = ["".join(rng.choices(_BASE62, k=6)) for _ in range(4096)]
    chunks8 = ["".join(rng.choices(_BASE62, k=8)) for _ in range(4096)]
    low = rng.sample(_PAIRS, len(_PAIRS))
    high = rng.sample(_PAIRS, len(_PAIRS))
    people = _people(rng, today, 4096)
    base = today - 5000  # covers issue dates ten years before the oldest expiry used
    ymd = [(d.year, d.month, d.day) for d in map(datetime.date.fromordinal,
                                                  range(base, today + 3700))]
    step = _TWO_YEARS / max(count, 1)

    def token(n: int) -> str:
        """24 base62 chars; the permuted pairs make ids distinct for n < 3844**2 (14.7 M)."""
        r = bits(36)
        return (chunks8[r & 4095] + low[n % 3844] + chunks[r >> 12 & 4095] + high[n // 3844 % 3844]
                + chunks[r >> 24])

    session = ""
    sessions = files = 0
    for i in range(count):
        r = bits(64)
        rid = token(i)
        first, last, country, address, sex, unparsed_sex, birthplace, dob = people[
            (r >> 36) & 4095]
        created = now - int((i + rand()) * step)
        created_day = today - (now - created) // 86400
        new_session = i == 0 or (r >> 48) & 127 >= 6
        if new_session:  # ~5% of reports share the previous one's session
            session = "vs_" + token(sessions)
            sessions += 1
        kind = (r >> 55) % 100  # 0..99 drives the report type
        roll = rand()
        report: dict = {
            "id": "vr_" + rid,
            "object": "identity.verification_report",
            "client_reference_id": "cust_" + rid[4:18] if roll < 0.4 else None,
            "created": created,
            "livemode": 0.4 <= roll < 0.7,
            "options": {},
            "type": "document",
            "verification_session": session,
        }
        present = []
        if 70 <= kind < 90:
            report["type"] = "id_number"
            report["options"] = {"id_number": {}}
        else:
            present.append("document")
            r = bits(64)
            doc_type = DOCUMENT_TYPES[r % 5]
            validity = 3652 if r & 8 else 1826
            pick = (r >> 4) % 100
            if pick < 3:  # expires within 30 days of now
                expires = today + (r >> 11) % 31
            elif pick < 6:  # valid when the report was created, expired since
                expires = created_day + (r >> 11) % max(1, today - created_day)
            else:  # valid when the report was created
                expires = created_day + 30 + (r >> 11) % (validity - 60)
            nfiles = 1 if doc_type == "passport" else 2
            names = [token(files)] if nfiles == 1 else [token(files), token(files + 1)]
            files += nfiles
            report["document"] = {
                "address": None if doc_type == "passport" else dict(address),
                "dob": dict(dob),
                "error": None,
                "expiration_date": _date(ymd[expires - base], (r >> 24) % 100),
                "files": ["file_" + n for n in names],
                "first_name": first,
                "issued_date": _date(ymd[expires - validity - base], (r >> 32) % 100),
                "issuing_country": country,
                "last_name": last,
                "number": str(100000000 + (r >> 40) % 900000000),
                "sex": sex,
                "status": "verified",
                "type": doc_type,
                "unparsed_place_of_birth": birthplace,
                "unparsed_sex": unparsed_sex,
            }
            selfie = (r >> 60) < 10  # 10/16
            report["options"] = {"document": {"require_id_number": kind >= 90,
                                              "require_matching_selfie": selfie}}
            if selfie:
                present.append("selfie")
                report["selfie"] = {
                    "document": "file_" + names[0],
                    "error": None,
                    "selfie": "file_" + token(files),
                    "status": "verified",
                }
                files += 1
            if kind >= 95:
                report["type"] = "verification_flow"
                report["verification_flow"] = "vf_" + chunks[bits(12)] + chunks[bits(12)]
                if rand() < 0.5:
                    present.append("email")
                if rand() < 0.5:
                    present.append("phone")
        if kind >= 70:  # id_number type, or a document report that also required an ID number
            present.append("id_number")
            id_type, digits = ID_NUMBER_TYPES[i % 3]
            report["id_number"] = {
                "dob": None if kind >= 90 else dict(dob),
                "error": None,
                "first_name": first,
                "id_number": str(bits(40)).zfill(digits)[-digits:],
                "id_number_type": id_type,
                "last_name": last,
                "status": "verified",
            }
        if "email" in present:
            report["email"] = {"email": f"{first}.{last}{bits(10)}@example.com".lower(),
                               "error": None, "status": "verified"}
        if "phone" in present:
            report["phone"] = {"phone": f"+1{200 + bits(9) % 700}55501{bits(7) % 100:02d}",
                               "error": None, "status": "verified"}
        roll = rand()
        if roll < 0.25:  # one failing check, with a real Stripe error code
            failed = present[bits(8) % len(present)]
            code, reason = ERRORS[failed][bits(8) % len(ERRORS[failed])]
            check = report[failed]
            check["status"] = "unverified"
            check["error"] = {"code": code, "reason": reason}
            if failed == "document":
                if code == "document_expired":
                    expired = created_day - 1 - bits(9) - base
                    check["expiration_date"] = _date(ymd[expired], 50)
                    check["issued_date"] = _date(ymd[expired - 3652], 50)
                elif roll < 0.1:
                    for field in ("first_name", "last_name", "number", "dob", "address"):
                        check[field] = None
        if roll >= 0.5:  # Stripe may send checks that were not performed as explicit nulls
            for name in ("document", "id_number", "selfie", "email", "phone"):
                if name not in report:
                    report[name] = None
        if new_session:  # Stripe redacts a whole session: its other reports come redacted too
            session_redacted = roll > 0.99
        if session_redacted:
            report = redact_report(report)
        yield report


_FORMATS = {".json": "list", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def write_demo_file(path: Path, count: int, *, seed: int = 0, fmt: str | None = None,
                    now: int | None = None) -> int:
    """Write ``count`` demo reports to ``path``; returns ``count``.

    ``fmt`` is ``"list"`` (a Stripe list object, the default for ``.json``), ``"jsonl"`` (JSON
    Lines, the default for ``.jsonl``/``.ndjson``) or ``"array"`` (a bare JSON array). Every
    format is streamed in chunks so memory stays flat for large counts.
    """
    path = Path(path)
    if fmt is None:
        fmt = _FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise UsageError(f"{path.name}: cannot tell the format, use .json or .jsonl")
    if fmt not in ("list", "jsonl", "array"):
        raise UsageError(f"unknown demo format {fmt!r}: use list, jsonl or array")
    sep = b"\n" if fmt == "jsonl" else b","
    dumps = orjson.dumps
    with open(path, "wb") as out:
        if fmt == "list":
            out.write(b'{"object":"list","url":"/v1/identity/verification_reports",'
                      b'"has_more":false,"data":[')
        elif fmt == "array":
            out.write(b"[")
        batch: list[bytes] = []
        first = True
        for report in generate_reports(count, seed=seed, now=now):
            batch.append(dumps(report))
            if len(batch) >= 1000:
                out.write((b"" if first else sep) + sep.join(batch))
                first = False
                batch.clear()
        if batch:
            out.write((b"" if first else sep) + sep.join(batch))
        if fmt == "jsonl":
            out.write(b"\n" if count else b"")
        else:
            out.write(b"]}" if fmt == "list" else b"]")
    return count
