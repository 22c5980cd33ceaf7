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
from operator import itemgetter
from typing import Any

import numpy as np

from identity_desktop.report import SUMMARY_FIELDS
from identity_desktop.report_filter import F, RedactionState, ReportFilter, SortKey

__all__ = ["F", "RedactionState", "ReportFilter", "ReportIndex", "SortKey"]

_REDACTION_CODES = {state: code for code, state in enumerate(RedactionState)}
_REDACTION_BY_CODE = list(RedactionState)


_CATEGORICAL = ("type", "overall_status", "document_type", "issuing_country")
_CATEGORICAL_SORT = {SortKey.TYPE: "type", SortKey.STATUS: "overall_status",
                     SortKey.DOCUMENT_TYPE: "document_type", SortKey.COUNTRY: "issuing_country"}
_TEXT_SORT = {SortKey.ID: "id", SortKey.NAME: "name", SortKey.SESSION: "session"}


def _haystack(s: Sequence[Any]) -> bytes:
    """What free text is searched in: names and ids, case-folded, UTF-8. Words never hold
    whitespace, so no match can span two fields (the separator is whitespace to ``split``); a
    match in UTF-8 bytes is a match in text, since UTF-8 never aligns mid-character."""
    return "\x1f".join((s[F["name"]], s[F["id"]], s[F["session"]],
                        s[F["client_reference_id"]])).casefold().encode("utf-8")


_SEP = "\x1e"  # between rows in _haystacks; whitespace to split(), so never in a query word


def _haystacks(rows: Sequence[Sequence[Any]]) -> list[bytes]:
    """``_haystack`` for many rows: case-folded and encoded in one go (a third of the cost),
    unless a field holds the row separator itself."""
    name, rid, session, ref = F["name"], F["id"], F["session"], F["client_reference_id"]
    joined = _SEP.join("\x1f".join((s[name], s[rid], s[session], s[ref])) for s in rows)
    parts = joined.casefold().encode("utf-8").split(_SEP.encode())
    return parts if len(parts) == len(rows) else [_haystack(s) for s in rows]


# How every summary field is held: text as Python lists (shown, sorted, looked up), numbers as
# numpy columns, categories as small integer codes into a list of their values.
_TEXT = ("id", "name", "session", "client_reference_id")
_INTS = {"created": np.int64, "issued": np.int32, "expires": np.int32, "expires_day": np.int32}
_BOOLS = ("livemode", "redacted")
assert {*_TEXT, *_INTS, *_BOOLS, *_CATEGORICAL} == set(SUMMARY_FIELDS)
_CHUNK = 8192  # summaries turned into columns at a time: the rows themselves are not kept
_HAY_WIDTH = 256  # bytes; a longer haystack (rare) is searched apart, not widening every row

# numpy >= 2 has a vectorised substring search; numpy 1.26's np.char.find is the slow fallback.
_find = np.strings.find if hasattr(np, "strings") else np.char.find


class ReportIndex:
    """Summaries of every report, as columns. Positions are stable until :meth:`upsert` adds
    rows at the end; a changed report keeps its position.

    Why columns and not the summary lists: at 100,000 reports the lists (and their own copies
    of every category string and number) took 68 MB, twice what the columns take; the
    summaries are consumed a chunk at a time, so they never all exist at once either.
    :meth:`summary` rebuilds one on demand (the list model caches what it shows). Reports
    added by :meth:`upsert` become columns when the index is next read, so a command-line
    import that never lists does not pay for it.
    """

    def __init__(self, summaries: Iterable[Sequence[Any]] = ()) -> None:
        self._n = 0
        self._text: dict[str, list[str]] = {name: [] for name in _TEXT}
        self._ints = {name: np.empty(0, dtype) for name, dtype in _INTS.items()}
        self._bools = {name: np.empty(0, np.bool_) for name in _BOOLS}
        self._codes = {name: np.empty(0, np.int32) for name in _CATEGORICAL}
        self._categories: dict[str, list[str]] = {name: [] for name in _CATEGORICAL}
        self._code_of: dict[str, dict[str, int]] = {name: {} for name in _CATEGORICAL}
        self._hay = np.empty(0, "S1")
        self._long_hay: dict[int, bytes] = {}
        self._pos: dict[str, int] = {}
        self._pending: list[Sequence[Any]] = []
        self._session_state: dict[str, RedactionState] = {}
        self._extend(summaries)
        self._changed()

    # -- building --------------------------------------------------------------------------
    def _extend(self, summaries: Iterable[Sequence[Any]]) -> None:
        """Turn ``summaries`` (already in ``_pos``) into columns at the end, a chunk at a time;
        every numpy column is concatenated once."""
        parts: dict[str, list[np.ndarray]] = {name: [self._column(name)] for name in
                                              (*_INTS, *_BOOLS, *_CATEGORICAL, "hay")}
        chunk: list[Sequence[Any]] = []
        for s in summaries:
            chunk.append(s)
            if len(chunk) == _CHUNK:
                self._convert(chunk, parts)
                chunk = []
        self._convert(chunk, parts)
        for name in _INTS:
            self._ints[name] = np.concatenate(parts[name])
        for name in _BOOLS:
            self._bools[name] = np.concatenate(parts[name])
        for name in _CATEGORICAL:
            self._codes[name] = np.concatenate(parts[name])
        self._hay = np.concatenate(parts["hay"])

    def _column(self, name: str) -> np.ndarray:
        if name == "hay":
            return self._hay
        for columns in (self._ints, self._bools, self._codes):
            if name in columns:
                return columns[name]
        raise KeyError(name)

    def _convert(self, rows: list[Sequence[Any]], parts: dict[str, list[np.ndarray]]) -> None:
        if not rows:
            return
        n = len(rows)
        ids = list(map(itemgetter(F["id"]), rows))
        self._pos.update(zip(ids, range(self._n, self._n + n), strict=True))
        for name, column in self._text.items():
            column.extend(ids if name == "id" else map(itemgetter(F[name]), rows))
        for name, dtype in _INTS.items():
            parts[name].append(np.fromiter(map(itemgetter(F[name]), rows), dtype, n))
        for name in _BOOLS:
            parts[name].append(np.fromiter(map(bool, map(itemgetter(F[name]), rows)),
                                           np.bool_, n))
        for name in _CATEGORICAL:
            code_of = self._code_of[name]
            values = [v or "" for v in map(itemgetter(F[name]), rows)]
            for value in dict.fromkeys(values):
                if value not in code_of:
                    code_of[value] = len(self._categories[name])
                    self._categories[name].append(value)
            parts[name].append(np.fromiter(map(code_of.__getitem__, values), np.int32, n))
        hay = _haystacks(rows)
        for i, h in enumerate(hay):
            if len(h) > _HAY_WIDTH:
                self._long_hay[self._n + i] = h
                hay[i] = b""
        parts["hay"].append(np.array(hay, dtype=np.bytes_))
        self._n += n

    def _set_row(self, pos: int, s: Sequence[Any]) -> None:
        for name, column in self._text.items():
            column[pos] = s[F[name]]
        for name in _INTS:
            self._ints[name][pos] = s[F[name]]
        for name in _BOOLS:
            self._bools[name][pos] = bool(s[F[name]])
        for name in _CATEGORICAL:
            value = s[F[name]] or ""
            code_of = self._code_of[name]
            if value not in code_of:
                code_of[value] = len(self._categories[name])
                self._categories[name].append(value)
            self._codes[name][pos] = code_of[value]
        hay = _haystack(s)
        self._long_hay.pop(pos, None)
        if len(hay) > _HAY_WIDTH:
            self._long_hay[pos] = hay
            hay = b""
        if len(hay) > self._hay.dtype.itemsize:
            self._hay = self._hay.astype(f"S{len(hay)}")
        self._hay[pos] = hay

    def _ready(self) -> None:
        """Columns for the reports added since the last read."""
        if self._pending:
            pending, self._pending = self._pending, []
            self._extend(pending)
            self._changed()

    def _changed(self) -> None:
        self._created = self._ints["created"]
        self._issued = self._ints["issued"]
        self._expires = self._ints["expires"]
        self._expires_day = self._ints["expires_day"]
        self._livemode = self._bools["livemode"]
        self._local_redacted = self._bools["redacted"]
        self._orders: dict[tuple[SortKey, bool], np.ndarray] = {}
        self._last_text: tuple[str, np.ndarray] | None = None
        self._recompute_redaction()

    def _recompute_redaction(self) -> None:
        codes = np.where(self._local_redacted, _REDACTION_CODES[RedactionState.REDACTED],
                         _REDACTION_CODES[RedactionState.NONE]).astype(np.int8)
        if self._session_state:
            for i, session in enumerate(self._text["session"]):
                state = self._session_state.get(session)
                if state is not None and not self._local_redacted[i]:
                    codes[i] = _REDACTION_CODES[state]
        self._redaction = codes
        self._orders.pop((SortKey.REDACTION, False), None)
        self._orders.pop((SortKey.REDACTION, True), None)

    def upsert(self, summaries: Iterable[Sequence[Any]]) -> tuple[list[int], list[int]]:
        """Apply added or changed summaries; returns (new positions, changed positions)."""
        added: list[int] = []
        changed: list[int] = []
        id_col = F["id"]
        for s in summaries:
            pos = self._pos.get(s[id_col])
            if pos is None:
                pos = self._pos[s[id_col]] = self._n + len(self._pending)
                added.append(pos)
                self._pending.append(s)
            else:
                if pos >= self._n:
                    self._pending[pos - self._n] = s
                else:
                    self._set_row(pos, s)
                changed.append(pos)
        if changed and not self._pending:
            self._changed()
        return added, changed

    def set_session_states(self, states: Mapping[str, RedactionState]) -> list[int]:
        """Overlay the outbox's states (session id -> state); returns positions that changed."""
        self._ready()
        before = self._redaction.copy()
        self._session_state = dict(states)
        self._recompute_redaction()
        return np.flatnonzero(before != self._redaction).tolist()

    # -- reading ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._n + len(self._pending)

    def summary(self, pos: int) -> Sequence[Any]:
        """The report's summary, in ``SUMMARY_FIELDS`` order (rebuilt from the columns)."""
        self._ready()
        if not -self._n <= pos < self._n:
            raise IndexError(f"position {pos} out of range")
        out: list[Any] = [None] * len(SUMMARY_FIELDS)
        for name, column in self._text.items():
            out[F[name]] = column[pos]
        for name, array in self._ints.items():
            out[F[name]] = int(array[pos])
        for name, array in self._bools.items():
            out[F[name]] = bool(array[pos])
        for name, codes in self._codes.items():
            out[F[name]] = self._categories[name][codes[pos]]
        return out

    def report_id(self, pos: int) -> str:
        self._ready()
        return str(self._text["id"][pos])

    def position_of(self, report_id: str) -> int | None:
        return self._pos.get(report_id)

    def redaction_state(self, pos: int) -> RedactionState:
        self._ready()
        return _REDACTION_BY_CODE[int(self._redaction[pos])]

    def values(self, name: str) -> list[str]:
        """Distinct non-empty values of a categorical field, sorted (for filter choices)."""
        self._ready()
        used = np.bincount(self._codes[name], minlength=len(self._categories[name])) > 0
        return sorted(v for v, u in zip(self._categories[name], used, strict=True) if v and u)

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
        self._ready()
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
        keys = [str(v).casefold() for v in self._text[_TEXT_SORT[sort]]]
        # Equal keys share a rank (two reports of one person, one session), so that ties fall
        # to the creation-time tiebreak like every other column.
        rank_of = {key: rank for rank, key in enumerate(sorted(set(keys)))}
        return np.fromiter((rank_of[k] for k in keys), np.int64, len(keys))

    def _mask(self, flt: ReportFilter) -> np.ndarray:
        self._ready()
        n = self._n
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
        candidates = mask
        last = self._last_text
        if last is not None and query.startswith(last[0]) and " " not in query[len(last[0]):]:
            candidates = mask & last[1]
        hits = candidates
        for word in words:
            hits = self._search(word.encode("utf-8"), hits)
        if mask.all() or last is None or not query.startswith(last[0]):
            # Remember only unfiltered-or-narrowing results so the cache stays a superset.
            self._last_text = (query, hits) if mask.all() else None
        return hits

    def _search(self, word: bytes, within: np.ndarray) -> np.ndarray:
        """The rows of ``within`` (a mask) whose haystack contains ``word``: one vectorised
        substring search over the fixed-width haystack column (3x the speed of a Python loop
        at 1M rows), over just the candidates when they are few."""
        rows = np.flatnonzero(within)
        found = np.zeros(len(within), np.bool_)
        if len(rows) > len(within) // 4:
            found = (_find(self._hay, word) >= 0) & within
        elif len(rows):
            found[rows[_find(self._hay[rows], word) >= 0]] = True
        for pos, hay in self._long_hay.items():
            if within[pos]:
                found[pos] = word in hay
        return found
