"""The in-memory list index: every report's summary held as columns, filtered and sorted in the
core so that the table model only maps row numbers to positions.

Why columns: a filter change at 100,000 reports has a budget of 20 ms. Categorical fields are
small integer codes compared with numpy; dates are integers; free text is one lower-cased
haystack string per row, searched only among rows that pass the other filters, and narrowed from
the previous result while the user keeps typing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any

import numpy as np

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


_REDACTION_CODES = {state: code for code, state in enumerate(RedactionState)}
_REDACTION_BY_CODE = list(RedactionState)


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


_CATEGORICAL = ("type", "overall_status", "document_type", "issuing_country")
_CATEGORICAL_SORT = {SortKey.TYPE: "type", SortKey.STATUS: "overall_status",
                     SortKey.DOCUMENT_TYPE: "document_type", SortKey.COUNTRY: "issuing_country"}
_TEXT_SORT = {SortKey.ID: "id", SortKey.NAME: "name", SortKey.SESSION: "session"}


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


def _haystack(s: Sequence[Any]) -> str:
    return "\x1f".join((s[F["name"]], s[F["id"]], s[F["session"]],
                        s[F["client_reference_id"]])).casefold()


class ReportIndex:
    """Summaries of every report, as columns. Positions are stable until :meth:`upsert` adds
    rows at the end; a changed report keeps its position."""

    def __init__(self, summaries: Iterable[Sequence[Any]] = ()) -> None:
        self._rows: list[Sequence[Any]] = list(summaries)
        self._pos: dict[str, int] = {s[F["id"]]: i for i, s in enumerate(self._rows)}
        self._session_state: dict[str, RedactionState] = {}
        self._rebuild()

    # -- building --------------------------------------------------------------------------
    def _rebuild(self) -> None:
        rows = self._rows
        n = len(rows)
        self._created = np.fromiter((s[F["created"]] for s in rows), np.int64, n)
        self._issued = np.fromiter((s[F["issued"]] for s in rows), np.int32, n)
        self._expires = np.fromiter((s[F["expires"]] for s in rows), np.int32, n)
        self._expires_day = np.fromiter((s[F["expires_day"]] for s in rows), np.int32, n)
        self._livemode = np.fromiter((bool(s[F["livemode"]]) for s in rows), np.bool_, n)
        self._local_redacted = np.fromiter((bool(s[F["redacted"]]) for s in rows), np.bool_, n)
        self._codes: dict[str, np.ndarray] = {}
        self._categories: dict[str, list[str]] = {}
        for name in _CATEGORICAL:
            col = F[name]
            lookup: dict[str, int] = {}
            codes = np.fromiter((lookup.setdefault(s[col] or "", len(lookup)) for s in rows),
                                np.int32, n)
            self._codes[name] = codes
            self._categories[name] = list(lookup)
        self._hay = [_haystack(s) for s in rows]
        self._orders: dict[tuple[SortKey, bool], np.ndarray] = {}
        self._last_text: tuple[str, np.ndarray] | None = None
        self._recompute_redaction()

    def _recompute_redaction(self) -> None:
        codes = np.where(self._local_redacted, _REDACTION_CODES[RedactionState.REDACTED],
                         _REDACTION_CODES[RedactionState.NONE]).astype(np.int8)
        if self._session_state:
            session_col = F["session"]
            for i, s in enumerate(self._rows):
                state = self._session_state.get(s[session_col])
                if state is not None and not self._local_redacted[i]:
                    codes[i] = _REDACTION_CODES[state]
        self._redaction = codes
        self._orders.pop((SortKey.REDACTION, False), None)
        self._orders.pop((SortKey.REDACTION, True), None)

    def upsert(self, summaries: Iterable[Sequence[Any]]) -> tuple[list[int], list[int]]:
        """Apply added or changed summaries; returns (new positions, changed positions)."""
        added: list[int] = []
        changed: list[int] = []
        for s in summaries:
            pos = self._pos.get(s[F["id"]])
            if pos is None:
                self._pos[s[F["id"]]] = len(self._rows)
                added.append(len(self._rows))
                self._rows.append(s)
            else:
                self._rows[pos] = s
                changed.append(pos)
        if added or changed:
            self._rebuild()
        return added, changed

    def set_session_states(self, states: Mapping[str, RedactionState]) -> list[int]:
        """Overlay the outbox's states (session id -> state); returns positions that changed."""
        before = self._redaction.copy()
        self._session_state = dict(states)
        self._recompute_redaction()
        return np.flatnonzero(before != self._redaction).tolist()

    # -- reading ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._rows)

    def summary(self, pos: int) -> Sequence[Any]:
        return self._rows[pos]

    def report_id(self, pos: int) -> str:
        return str(self._rows[pos][F["id"]])

    def position_of(self, report_id: str) -> int | None:
        return self._pos.get(report_id)

    def redaction_state(self, pos: int) -> RedactionState:
        return _REDACTION_BY_CODE[int(self._redaction[pos])]

    def values(self, name: str) -> list[str]:
        """Distinct non-empty values of a categorical field, sorted (for filter choices)."""
        return sorted(v for v in self._categories[name] if v)

    # -- querying --------------------------------------------------------------------------
    def query(self, flt: ReportFilter, sort: SortKey = SortKey.CREATED,
              descending: bool = True) -> np.ndarray:
        """Positions of the matching reports, in display order."""
        mask = self._mask(flt)
        order = self.order(sort, descending)
        return order[mask[order]]

    def count(self, flt: ReportFilter) -> int:
        return int(self._mask(flt).sum())

    def order(self, sort: SortKey, descending: bool) -> np.ndarray:
        key = (sort, descending)
        cached = self._orders.get(key)
        if cached is None:
            ranks = self._sort_ranks(sort)
            # Stable, and ties broken by creation time (newest first) for a calm list.
            tiebreak = -self._created
            cached = np.lexsort((tiebreak, -ranks if descending else ranks)).astype(np.int32)
            self._orders[key] = cached
        return cached

    def _sort_ranks(self, sort: SortKey) -> np.ndarray:
        if sort is SortKey.CREATED:
            return self._created
        if sort is SortKey.ISSUED:
            return self._issued.astype(np.int64)
        if sort is SortKey.EXPIRES:
            return self._expires.astype(np.int64)
        if sort is SortKey.REDACTION:
            return self._redaction.astype(np.int64)
        name = _CATEGORICAL_SORT.get(sort)
        if name is not None:
            cats = self._categories[name]
            rank_of_code = np.argsort(np.argsort(np.array(cats, dtype=object), kind="stable"))
            return rank_of_code[self._codes[name]].astype(np.int64)
        col = F[_TEXT_SORT[sort]]
        keys = [str(s[col]).casefold() for s in self._rows]
        # Equal keys share a rank (two reports of one person, one session), so that ties fall
        # to the creation-time tiebreak like every other column.
        rank_of = {key: rank for rank, key in enumerate(sorted(set(keys)))}
        return np.fromiter((rank_of[k] for k in keys), np.int64, len(keys))

    def _mask(self, flt: ReportFilter) -> np.ndarray:
        n = len(self._rows)
        mask = np.ones(n, np.bool_)
        for name, wanted in (("overall_status", flt.statuses), ("type", flt.types),
                             ("document_type", flt.document_types),
                             ("issuing_country", flt.countries)):
            if wanted:
                cats = self._categories[name]
                codes = [i for i, v in enumerate(cats) if v in wanted]
                mask &= np.isin(self._codes[name], codes)
        if flt.created_from is not None:
            mask &= self._created >= flt.created_from
        if flt.created_to is not None:
            mask &= self._created <= flt.created_to
        today = (flt.today or dt.date.today()).toordinal()
        known = self._expires_day > 0
        if flt.expired:
            mask &= known & (self._expires_day < today)
        if flt.expires_within_days is not None:
            mask &= known & (self._expires_day >= today) & (
                self._expires_day <= today + flt.expires_within_days)
        if flt.expires_before is not None:
            mask &= known & (self._expires_day < flt.expires_before.toordinal())
        if flt.expires_after is not None:
            mask &= known & (self._expires_day > flt.expires_after.toordinal())
        if flt.redaction:
            mask &= np.isin(self._redaction, [_REDACTION_CODES[s] for s in flt.redaction])
        if flt.livemode is not None:
            mask &= self._livemode == flt.livemode
        words = flt.words()
        if words:
            mask = self._text_mask(" ".join(words), words, mask)
        return mask

    def _text_mask(self, query: str, words: list[str], mask: np.ndarray) -> np.ndarray:
        """Rows whose haystack holds every word. While the user types, the new query extends
        the previous one, so only the previous hits need searching."""
        candidates = np.flatnonzero(mask)
        last = self._last_text
        if last is not None and query.startswith(last[0]) and " " not in query[len(last[0]):]:
            candidates = np.intersect1d(candidates, last[1], assume_unique=True)
        hay = self._hay
        hits = candidates.tolist()
        for word in words:
            hits = [i for i in hits if word in hay[i]]
        all_hits = np.fromiter(hits, np.int64, len(hits))
        if mask.all() or last is None or not query.startswith(last[0]):
            # Remember only unfiltered-or-narrowing results so the cache stays a superset.
            self._last_text = (query, all_hits) if mask.all() else None
        out = np.zeros(len(mask), np.bool_)
        out[all_hits] = True
        return out
