"""How values are written in the panes (shared by the list, the detail pane and the status bar).

Pure functions, no Qt: times are shown in local time, partial Stripe dates show only what is
known, open-enum values (Stripe adds new ones) are humanised but never dropped.
"""

from __future__ import annotations

import datetime as dt

from identity_desktop.report import ExpiryCue, PartialDate, expiry_cue

SOON_DAYS = 30

_LABELS = {
    "document": "Document",
    "id_number": "ID number",
    "selfie": "Selfie",
    "email": "Email",
    "phone": "Phone",
    "verified": "Verified",
    "unverified": "Unverified",
    "no_checks": "No checks",
    "driving_license": "Driving license",
    "id_card": "ID card",
    "passport": "Passport",
    "none": "None",
    "queued": "Queued",
    "sending": "Sending",
    "processing": "Processing",
    "redacted": "Redacted",
    "failed": "Failed",
}


def label(value: str | None) -> str:
    """``driving_license`` -> ``Driving license``; unknown values are humanised the same way."""
    if not value:
        return ""
    known = _LABELS.get(value)
    if known is not None:
        return known
    text = value.replace("_", " ")
    return text[:1].upper() + text[1:]


def local_time(epoch: int, *, seconds: bool = False) -> str:
    if epoch <= 0:
        return ""
    moment = dt.datetime.fromtimestamp(epoch).astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def local_time_long(epoch: int) -> str:
    if epoch <= 0:
        return ""
    moment = dt.datetime.fromtimestamp(epoch).astimezone()
    offset = moment.strftime("%z")
    return moment.strftime("%Y-%m-%d %H:%M:%S") + f" (UTC{offset[:3]}:{offset[3:]})"


def partial_from_ymd(ymd: int) -> PartialDate | None:
    """The summary's ``YYYYMMDD`` integer (0 for unknown parts) back to a PartialDate."""
    if ymd <= 0:
        return None
    year, month, day = ymd // 10000, ymd // 100 % 100, ymd % 100
    return PartialDate(year or None, month or None, day or None)


def date_text(date: PartialDate | None) -> str:
    return "" if date is None else date.display()


def ymd_text(ymd: int) -> str:
    return date_text(partial_from_ymd(ymd))


def cue_for(expiration: PartialDate | None, today: dt.date) -> ExpiryCue:
    return expiry_cue(expiration, today, soon_days=SOON_DAYS)


def cue_text(cue: ExpiryCue, expiration: PartialDate | None, today: dt.date) -> str:
    """Tooltip / detail wording for an expiry cue."""
    last = None if expiration is None else expiration.last_possible_day()
    if cue is ExpiryCue.EXPIRED and last is not None:
        days = (today - last).days
        return f"Expired {days} day{'s' if days != 1 else ''} ago"
    if cue is ExpiryCue.EXPIRES_SOON and last is not None:
        days = (last - today).days
        if days == 0:
            return "Expires today"
        return f"Expires in {days} day{'s' if days != 1 else ''}"
    if cue is ExpiryCue.VALID:
        return "Valid"
    return ""


def age_text(dob: PartialDate | None, today: dt.date) -> str:
    """``1969-05-08 (57 years)``; with a partial date the age is given as a range or omitted."""
    if dob is None:
        return ""
    text = dob.display()
    if dob.year is None:
        return text
    if dob.month is not None and dob.day is not None:
        try:
            born = dt.date(dob.year, dob.month, dob.day)
        except ValueError:
            return text
        years = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        return f"{text} ({years} years)"
    youngest = today.year - dob.year - 1
    if dob.month is not None and today.month > dob.month:
        youngest += 1
    oldest = today.year - dob.year
    if youngest == oldest:
        return f"{text} ({oldest} years)"
    return f"{text} ({youngest}–{oldest} years)"


def count(n: int) -> str:
    return f"{n:,}"
