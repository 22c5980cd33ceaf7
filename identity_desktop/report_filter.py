"""What a list query is made of: the summary's field positions, the redaction states the list
shows, the sort keys and the filter. No numpy here: the CLI commands and core modules that only
build or pass a filter import this without loading the index (``identity_desktop.index``,
which re-exports every name).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

from identity_desktop.report import SUMMARY_FIELDS

F = {name: i for i, name in enumerate(SUMMARY_FIELDS)}


class RedactionState(StrEnum):
    """What the list shows: the local copy's state overlaid with the outbox entry's state."""

    NONE = "none"
    QUEUED = "queued"
    SENDING = "sending"
    PROCESSING = "processing"
    REDACTED = "redacted"
    FAILED = "failed"


class SortKey(IntEnum):
    CREATED = 0
    ID = 1
    TYPE = 2
    STATUS = 3
    NAME = 4
    DOCUMENT_TYPE = 5
    COUNTRY = 6
    ISSUED = 7
    EXPIRES = 8
    SESSION = 9
    REDACTION = 10


@dataclass(frozen=True)
class ReportFilter:
    """Every filter the filter pane and the CLI offer; empty sets and None mean "any"."""

    text: str = ""
    statuses: frozenset[str] = frozenset()
    types: frozenset[str] = frozenset()
    document_types: frozenset[str] = frozenset()
    countries: frozenset[str] = frozenset()
    created_from: int | None = None  # epoch seconds, inclusive
    created_to: int | None = None  # epoch seconds, inclusive
    expired: bool = False
    expires_within_days: int | None = None  # not yet expired, expires within N days
    expires_before: dt.date | None = None  # expiration strictly before this day
    expires_after: dt.date | None = None  # expiration strictly after this day
    redaction: frozenset[RedactionState] = frozenset()
    livemode: bool | None = None
    today: dt.date | None = field(default=None, compare=False)  # tests pin "today"

    def words(self) -> list[str]:
        return self.text.casefold().split()
