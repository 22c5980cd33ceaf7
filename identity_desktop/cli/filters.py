"""The FILTERS options shared by ``list`` and ``export``, mapped onto the core's ReportFilter."""

from __future__ import annotations

import argparse
import datetime as dt

from identity_desktop.cli.context import parse_day
from identity_desktop.errors import UsageError
from identity_desktop.report_filter import RedactionState, ReportFilter


def _values(items: list[str] | None) -> frozenset[str]:
    return frozenset(v.strip() for item in items or () for v in item.split(",") if v.strip())


def add_filter_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("filters (combinable; repeat or comma-separate to allow several)")
    g.add_argument("--status", action="append", metavar="S",
                   help="overall status: verified, unverified, no_checks")
    g.add_argument("--type", action="append", metavar="T", help="document, id_number, ...")
    g.add_argument("--document-type", action="append", metavar="T",
                   help="driving_license, id_card, passport, ...")
    g.add_argument("--country", action="append", metavar="CC", help="issuing country (ISO code)")
    g.add_argument("--created-from", metavar="YYYY-MM-DD", help="created on or after (UTC)")
    g.add_argument("--created-to", metavar="YYYY-MM-DD", help="created on or before (UTC)")
    g.add_argument("--expires-before", metavar="YYYY-MM-DD", help="document expires before")
    g.add_argument("--expires-after", metavar="YYYY-MM-DD", help="document expires after")
    g.add_argument("--expired", action="store_true", help="document already expired")
    g.add_argument("--expires-within", type=int, metavar="DAYS",
                   help="document expires within DAYS days (not yet expired)")
    g.add_argument("--redaction", action="append", metavar="STATE",
                   help="none, queued, sending, processing, redacted, failed")
    g.add_argument("--mode", choices=("live", "test"), help="live or test-mode reports only")
    g.add_argument("--text", metavar="Q", help="words in the name, ids or client reference id")


def _epoch(text: str | None, option: str, *, end_of_day: bool) -> int | None:
    if not text:
        return None
    day = dt.datetime(*parse_day(text, option), tzinfo=dt.UTC)
    if end_of_day:
        day += dt.timedelta(days=1, seconds=-1)
    return int(day.timestamp())


def _date(text: str | None, option: str) -> dt.date | None:
    return dt.date(*parse_day(text, option)) if text else None


def filter_from_args(args: argparse.Namespace) -> ReportFilter:
    try:
        redaction = frozenset(RedactionState(v) for v in _values(args.redaction))
    except ValueError:
        raise UsageError("--redaction wants one of: "
                         + ", ".join(s.value for s in RedactionState)) from None
    return ReportFilter(
        text=args.text or "",
        statuses=_values(args.status),
        types=_values(args.type),
        document_types=_values(args.document_type),
        countries=frozenset(v.upper() for v in _values(args.country)),
        created_from=_epoch(args.created_from, "--created-from", end_of_day=False),
        created_to=_epoch(args.created_to, "--created-to", end_of_day=True),
        expired=bool(args.expired),
        expires_within_days=args.expires_within,
        expires_before=_date(args.expires_before, "--expires-before"),
        expires_after=_date(args.expires_after, "--expires-after"),
        redaction=redaction,
        livemode=None if args.mode is None else args.mode == "live",
    )
