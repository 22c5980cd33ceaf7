"""The in-memory list index: every filter and sort against answers computed independently from
the raw reports (``ReportView``), with "today" pinned; free-text narrowing while typing gives
exactly what a fresh query gives; upserts and outbox states keep it in step."""

from __future__ import annotations

import copy
import datetime as dt
import random
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from identity_desktop.demo import generate_reports
from identity_desktop.index import F, RedactionState, ReportFilter, ReportIndex, SortKey
from identity_desktop.report import ExpiryCue, ReportView, expiry_cue, redact_report, summarize
from tests.core._support import NOW

TODAY = dt.datetime.fromtimestamp(NOW, dt.UTC).date()


def _edge_reports() -> list[dict[str, Any]]:
    """Shapes the generator rarely makes: no checks, partial dates, odd names, equal names."""
    base = next(r for r in generate_reports(5, seed=77, now=NOW) if r.get("document"))
    out = []
    for i, change in enumerate((
            {"document": None, "id_number": None, "selfie": None},
            {"document": {**base["document"], "expiration_date": {"day": None, "month": None,
                                                                  "year": TODAY.year}}},
            {"document": {**base["document"], "expiration_date": {"day": None,
                                                                  "month": TODAY.month,
                                                                  "year": TODAY.year}}},
            {"document": {**base["document"], "expiration_date": None, "issued_date": None}},
            {"document": {**base["document"], "first_name": "ÉLODIE", "last_name": "Straße"}},
            {"document": {**base["document"], "first_name": "Ann", "last_name": "Lee"}},
            {"document": {**base["document"], "first_name": "Ann", "last_name": "Lee"}},
            {"livemode": None, "type": None, "verification_session": None},
    )):
        report = copy.deepcopy(base)
        report.update(copy.deepcopy(change))
        if report.get("livemode") is None:
            del report["livemode"]
        report["id"] = f"vr_IndexEdgeCase{i:04d}abcdefgh"
        report["created"] = NOW - 1000 * (i + 1)
        out.append(report)
    return out


@pytest.fixture(scope="module")
def reports() -> list[dict[str, Any]]:
    return list(generate_reports(1500, seed=31, now=NOW)) + _edge_reports()


@pytest.fixture(scope="module")
def views(reports: list[dict[str, Any]]) -> list[ReportView]:
    return [ReportView.from_raw(r) for r in reports]


@pytest.fixture
def index(reports: list[dict[str, Any]]) -> ReportIndex:
    return ReportIndex(summarize(r) for r in reports)


def _ids(index: ReportIndex, positions: np.ndarray) -> list[str]:
    return [index.report_id(p) for p in positions.tolist()]


def _last_day(v: ReportView) -> dt.date | None:
    return v.expiration_date.last_possible_day() if v.expiration_date else None


def _text(query: str) -> Callable[[ReportView], bool]:
    words = query.casefold().split()

    def match(v: ReportView) -> bool:
        fields = [p.casefold() for p in (v.full_name, v.id, v.verification_session or "",
                                         v.client_reference_id or "")]
        return all(any(w in f for f in fields) for w in words)

    return match


def _epoch(day: dt.date, end: bool = False) -> int:
    start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    return int(start.timestamp()) + (86399 if end else 0)


def _cases(views: list[ReportView]) -> list[tuple[ReportFilter, Callable[[ReportView], bool]]]:
    created = sorted(v.created for v in views)
    lo, hi = created[len(created) // 5], created[4 * len(created) // 5]
    pivot = TODAY + dt.timedelta(days=400)
    day = TODAY - dt.timedelta(days=200)
    return [
        (ReportFilter(), lambda v: True),
        (ReportFilter(statuses=frozenset({"verified"})), lambda v: v.overall_status == "verified"),
        (ReportFilter(statuses=frozenset({"no_checks"})),
         lambda v: v.overall_status == "no_checks"),
        (ReportFilter(types=frozenset({"id_number", "verification_flow"})),
         lambda v: v.type in ("id_number", "verification_flow")),
        (ReportFilter(document_types=frozenset({"passport"})),
         lambda v: v.document_type == "passport"),
        (ReportFilter(countries=frozenset({"DE", "JP"})),
         lambda v: v.issuing_country in ("DE", "JP")),
        (ReportFilter(created_from=lo), lambda v: v.created >= lo),
        (ReportFilter(created_to=hi), lambda v: v.created <= hi),
        (ReportFilter(created_from=_epoch(day), created_to=_epoch(day, end=True)),
         lambda v: dt.datetime.fromtimestamp(v.created, dt.UTC).date() == day),
        (ReportFilter(expired=True, today=TODAY),
         lambda v: expiry_cue(v.expiration_date, TODAY) is ExpiryCue.EXPIRED),
        (ReportFilter(expires_within_days=30, today=TODAY),
         lambda v: expiry_cue(v.expiration_date, TODAY, 30) is ExpiryCue.EXPIRES_SOON),
        (ReportFilter(expires_within_days=0, today=TODAY), lambda v: _last_day(v) == TODAY),
        (ReportFilter(expires_before=pivot),
         lambda v: (d := _last_day(v)) is not None and d < pivot),
        (ReportFilter(expires_after=pivot),
         lambda v: (d := _last_day(v)) is not None and d > pivot),
        (ReportFilter(livemode=True), lambda v: v.livemode),
        (ReportFilter(livemode=False), lambda v: not v.livemode),
        (ReportFilter(redaction=frozenset({RedactionState.REDACTED})), lambda v: v.redacted),
        (ReportFilter(text="straße"), _text("straße")),
        (ReportFilter(text="  ann   LEE "), _text("ann lee")),
        (ReportFilter(text="vs_"), lambda v: bool(v.verification_session)),
        (ReportFilter(text="cust_"), lambda v: bool(v.client_reference_id)),
        (ReportFilter(text="silverhollow", statuses=frozenset({"unverified"}), livemode=False),
         lambda v: _text("silverhollow")(v) and v.overall_status == "unverified"
         and not v.livemode),
        (ReportFilter(text="zzzz-nothing"), lambda v: False),
    ]


def test_every_filter_matches_the_raw_reports(index: ReportIndex,
                                              views: list[ReportView]) -> None:
    for flt, predicate in _cases(views):
        expected = {v.id for v in views if predicate(v)}
        got = _ids(index, index.query(flt))
        assert len(got) == len(set(got)) == index.count(flt), flt
        assert set(got) == expected, flt
        if flt != ReportFilter(text="zzzz-nothing"):
            assert expected, flt  # every case has something to find


def _sort_key(sort: SortKey) -> Callable[[ReportView], Any]:
    return {
        SortKey.CREATED: lambda v: v.created,
        SortKey.ID: lambda v: v.id.casefold(),
        SortKey.TYPE: lambda v: v.type or "",
        SortKey.STATUS: lambda v: v.overall_status,
        SortKey.NAME: lambda v: v.full_name.casefold(),
        SortKey.DOCUMENT_TYPE: lambda v: v.document_type or "",
        SortKey.COUNTRY: lambda v: v.issuing_country or "",
        SortKey.ISSUED: lambda v: v.issued_date.sort_key() if v.issued_date else 0,
        SortKey.EXPIRES: lambda v: v.expiration_date.sort_key() if v.expiration_date else 0,
        SortKey.SESSION: lambda v: (v.verification_session or "").casefold(),
        SortKey.REDACTION: lambda v: list(RedactionState).index(
            RedactionState.REDACTED if v.redacted else RedactionState.NONE),
    }[sort]


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("sort", list(SortKey))
def test_sort_orders_and_breaks_ties_newest_first(sort: SortKey, descending: bool,
                                                  index: ReportIndex,
                                                  views: list[ReportView]) -> None:
    assert len({v.created for v in views}) == len(views)  # so the expected order is unique
    newest_first = sorted(views, key=lambda v: -v.created)
    expected = [v.id for v in sorted(newest_first, key=_sort_key(sort), reverse=descending)]
    assert _ids(index, index.query(ReportFilter(), sort, descending)) == expected
    # Filtering keeps the sort order.
    flt = ReportFilter(livemode=False)
    assert _ids(index, index.query(flt, sort, descending)) == [
        i for i in expected if not views[index.position_of(i)].livemode]


def test_text_narrowing_while_typing_equals_a_fresh_query(reports: list[dict[str, Any]],
                                                          views: list[ReportView]) -> None:
    summaries = [summarize(r) for r in reports]
    live = ReportIndex(summaries)
    rng = random.Random(5)
    alphabet = "aeiklnorst_ 0ÉßvV"
    query = ""
    statuses: frozenset[str] = frozenset()
    for step in range(400):
        roll = rng.random()
        if roll < 0.55:
            query += rng.choice(alphabet)
        elif roll < 0.75:
            query = query[:-1]
        elif roll < 0.8:
            query = ""
        elif roll < 0.9:
            query = rng.choice(["kestra", "vr_", "cust", views[rng.randrange(len(views))].id[:8],
                                "ann lee", "ann l"])
        else:
            statuses = frozenset() if statuses else frozenset({"verified"})
        flt = ReportFilter(text=query, statuses=statuses)
        got = live.query(flt).tolist()
        expected = [i for i, v in enumerate(views) if _text(query)(v)
                    and (not statuses or v.overall_status in statuses)]
        assert sorted(got) == expected, (step, query, statuses)
        if step % 40 == 0:  # and the same as an index that never saw the earlier queries
            assert got == ReportIndex(summaries).query(flt).tolist(), (step, query)


def test_upsert_adds_at_the_end_and_keeps_positions(reports: list[dict[str, Any]],
                                                    index: ReportIndex) -> None:
    n = len(index)
    before = index.query(ReportFilter(text="qqzzyzx")).tolist()  # kept by the text cache
    assert before == []
    changed = copy.deepcopy(reports[10])
    changed["document"] = {**(changed.get("document") or {}), "first_name": "Qqzzyzxw",
                           "last_name": "Quux", "type": "passport", "issuing_country": "NZ"}
    new = copy.deepcopy(reports[20])
    new["id"] = "vr_IndexUpsertNewReport00001"
    new["created"] = NOW + 10
    added, changed_pos = index.upsert([summarize(changed), summarize(new)])
    assert added == [n] and changed_pos == [10] and len(index) == n + 1
    assert index.position_of(changed["id"]) == 10 and index.report_id(n) == new["id"]
    assert index.query(ReportFilter(text="qqzzyzxw")).tolist() == [10]  # the cache was dropped
    assert index.query(ReportFilter()).tolist()[0] == n  # newest first
    assert list(index.summary(10)) == summarize(changed)
    assert index.upsert([]) == ([], [])


def test_outbox_states_overlay_the_list(reports: list[dict[str, Any]],
                                        index: ReportIndex) -> None:
    with_session = [i for i, r in enumerate(reports) if r.get("verification_session")]
    a, b = reports[with_session[0]], reports[with_session[1]]
    redacted_local = redact_report(reports[with_session[2]])
    index.upsert([summarize(redacted_local)])
    sessions = {a["verification_session"]: RedactionState.QUEUED,
                b["verification_session"]: RedactionState.FAILED,
                redacted_local["verification_session"]: RedactionState.PROCESSING}
    changed = index.set_session_states(sessions)
    same_session = {i for i, r in enumerate(reports)
                    if r.get("verification_session") in (a["verification_session"],
                                                         b["verification_session"])}
    assert set(changed) == same_session  # the locally redacted row stays "redacted"
    assert index.redaction_state(with_session[0]) is RedactionState.QUEUED
    assert index.redaction_state(with_session[1]) is RedactionState.FAILED
    assert index.redaction_state(with_session[2]) is RedactionState.REDACTED
    queued = index.query(ReportFilter(redaction=frozenset({RedactionState.QUEUED})))
    assert {reports[p]["verification_session"] for p in queued.tolist()} == {
        a["verification_session"]}
    order = index.query(ReportFilter(), SortKey.REDACTION, True).tolist()
    assert index.redaction_state(order[0]) is RedactionState.FAILED
    assert set(index.set_session_states({})) == same_session  # back to "none"


def test_values_and_lookups(index: ReportIndex, views: list[ReportView]) -> None:
    assert index.values("issuing_country") == sorted(
        {v.issuing_country for v in views if v.issuing_country})
    assert index.values("type") == sorted({v.type for v in views if v.type})
    for pos in (0, 7, len(views) - 1):
        assert index.report_id(pos) == views[pos].id
        assert index.position_of(views[pos].id) == pos
        assert index.summary(pos)[F["name"]] == views[pos].full_name
    assert index.position_of("vr_unknown") is None


def test_an_empty_index_answers_every_query() -> None:
    index = ReportIndex()
    for sort in SortKey:
        assert index.query(ReportFilter(text="a", expired=True), sort).tolist() == []
    assert index.count(ReportFilter()) == 0 and len(index) == 0
