"""Measure 3, filter: how long a filter or search change takes, p50 / p95 over a fixed mix of
changes (text typed letter by letter, pasted names and ids, status, expiry, combinations), at N
and at 1,000,000 reports. Goal: p95 under 20 ms at 100k, under 200 ms at 1M.

The changes go through the code path of the filter pane: a ``ReportFilter`` built the way
``FilterPane.current_filter`` builds it (frozensets, ``today``), handed to
``ReportIndex.query`` with the list's default sort (the "core" figure) and, at the smaller
size, to ``ReportTableModel.set_filter`` with a table view attached, offscreen, events
processed (the "pane" figure: what the list does after the pane's debounce fires).

Each size runs in its own child process. Summaries come from ``summarize`` over generated
reports (no vault needed: the index is what filters). The index build and the first query (it
sorts once, as unlocking does) are reported apart; the percentiles are over the changes only.

Run alone: ``python -m benchmarks.filters --child N [--model] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

from benchmarks.common import NOW, SEED, Workspace, load_average, median, percentile, run_child

GOALS_MS = {100_000: 20.0, 1_000_000: 200.0}


def goal_ms(count: int) -> float:
    """The goal for ``count`` reports: the 100k goal up to 100k, the 1M one above."""
    return GOALS_MS[100_000] if count <= 100_000 else GOALS_MS[1_000_000]


def run(ws: Workspace, count: int, *, model: bool, repeat: int, log: Any = print
        ) -> dict[str, Any]:
    args = [sys.executable, "-m", "benchmarks.filters", "--child", str(count),
            "--repeat", str(repeat)] + (["--model"] if model else [])
    child = run_child(args, env=ws.env(), timeout=1800).check()
    result = child.json_line()
    result.update(name="filter", load_average=load_average(), goal_p95_ms=goal_ms(count))
    result["ok"] = result["core"]["p95_ms"] < goal_ms(count) and (
        "pane" not in result or result["pane"]["p95_ms"] < goal_ms(count))
    log(f"  filter at {count:,}: build {result['build_s']:.2f} s, core p50 "
        f"{result['core']['p50_ms']:.1f} ms p95 {result['core']['p95_ms']:.1f} ms"
        + (f", pane p50 {result['pane']['p50_ms']:.1f} ms p95 {result['pane']['p95_ms']:.1f} ms"
           if "pane" in result else ""))
    return result


# -- the mix ------------------------------------------------------------------------------------
def query_mix(sample_ids: list[str], sample_sessions: list[str], today: dt.date
              ) -> list[tuple[str, dict[str, Any]]]:
    """(kind, ReportFilter keyword arguments) in the order a reviewer might change them.

    Typing is one change per letter (the worst case: the pane debounces, so real typing
    makes fewer). Names come from the generator's made-up lists.
    """
    def typed(word: str, **rest: Any) -> list[tuple[str, dict[str, Any]]]:
        return [("text", {"text": word[:n], **rest}) for n in range(1, len(word) + 1)]

    within = {"expires_within_days": 30}
    mix: list[tuple[str, dict[str, Any]]] = [
        *typed("tamsin"),
        ("text", {"text": "tamsin ashgrove"}),  # pasted full name
        ("text", {"text": ""}),
        ("text", {"text": "marrowind"}),
        ("text", {"text": sample_ids[0][:10].lower()}),  # an id prefix
        ("text", {"text": sample_ids[1]}),  # a whole report id
        ("text", {"text": sample_sessions[0]}),  # a whole session id
        ("text", {"text": "nosuchname"}),
        ("text", {"text": ""}),
        ("status", {"statuses": frozenset({"verified"})}),
        ("status", {"statuses": frozenset({"unverified"})}),
        ("status", {"statuses": frozenset({"unverified", "no_checks"})}),
        ("status", {}),
        ("expiry", {"expired": True}),
        ("expiry", within),
        ("expiry", {"expires_before": today + dt.timedelta(days=365)}),
        ("expiry", {"expires_after": today + dt.timedelta(days=3 * 365)}),
        ("expiry", {}),
        ("combined", {"statuses": frozenset({"unverified"}), "countries": frozenset({"US"})}),
        ("combined", {"statuses": frozenset({"verified"}), "types": frozenset({"document"}),
                      "expired": True}),
        *[("combined", kw) for _, kw in typed("ash", statuses=frozenset({"verified"}))],
        ("combined", {"text": "elsabet", "countries": frozenset({"GB", "DE"}), **within}),
        ("combined", {"document_types": frozenset({"passport"}),
                      "created_from": NOW - 90 * 86400, "text": "vr_"}),
        ("combined", {"livemode": False, "text": "kestra"}),
        ("redaction", {"redaction": frozenset({"redacted"})}),
        ("reset", {}),
    ]
    return mix


def _stats(samples: list[tuple[str, float]]) -> dict[str, Any]:
    ms = [s * 1000 for _, s in samples]
    out: dict[str, Any] = {"changes": len(ms), "p50_ms": round(percentile(ms, 50), 2),
                           "p95_ms": round(percentile(ms, 95), 2), "max_ms": round(max(ms), 2)}
    kinds: dict[str, list[float]] = {}
    for kind, s in samples:
        kinds.setdefault(kind, []).append(s * 1000)
    out["by_kind"] = {k: {"p50_ms": round(percentile(v, 50), 2),
                          "p95_ms": round(percentile(v, 95), 2), "n": len(v)}
                      for k, v in kinds.items()}
    return out


def _timed(mix: list[tuple[str, Any]], apply: Callable[[Any], Any], repeat: int
           ) -> list[tuple[str, float]]:
    samples = []
    for _ in range(repeat):
        for kind, flt in mix:
            start = time.perf_counter()
            apply(flt)
            samples.append((kind, time.perf_counter() - start))
    return samples


def child_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.filters")
    p.add_argument("--child", type=int, required=True, metavar="N")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--model", action="store_true", help="also drive ReportTableModel")
    args = p.parse_args(argv)

    from identity_desktop.demo import generate_reports
    from identity_desktop.index import RedactionState, ReportFilter, ReportIndex
    from identity_desktop.report import summarize

    count = args.child
    start = time.perf_counter()
    gc.disable()  # generating is not what is measured; the app's own settings apply below
    summaries = [summarize(r) for r in generate_reports(count, seed=SEED, now=NOW)]
    gc.enable()
    generate_s = time.perf_counter() - start
    start = time.perf_counter()
    index = ReportIndex(summaries)
    build_s = time.perf_counter() - start
    del summaries
    today = dt.datetime.fromtimestamp(NOW, dt.UTC).date()
    ids = [index.report_id(p) for p in (count // 3, count // 2)]
    sessions = [index.summary(count // 5)[9] or "vs_none"]
    mix = [(kind, ReportFilter(**{**kw, "redaction": frozenset(
        RedactionState(v) for v in kw.get("redaction", ()))}, today=today))
        for kind, kw in query_mix(ids, sessions, today)]
    start = time.perf_counter()
    index.query(ReportFilter(today=today))  # what unlocking does: sorts once
    first_s = time.perf_counter() - start

    result: dict[str, Any] = {"reports": count, "generate_s": round(generate_s, 2),
                              "build_s": round(build_s, 3), "first_query_s": round(first_s, 3),
                              "repeat": args.repeat}
    result["core"] = _stats(_timed(mix, index.query, args.repeat))
    if args.model:
        try:
            from PySide6.QtWidgets import QApplication, QTableView

            from identity_desktop.ui.models.report_table_model import ReportTableModel
        except ImportError as exc:
            result["pane_unavailable"] = str(exc)
        else:
            try:  # the list pane's own view (uniform rows, hidden vertical header)
                from identity_desktop.ui.panes.list_pane import ReportTable as View
            except ImportError:
                View = QTableView
            app = QApplication.instance() or QApplication([sys.argv[0]])
            model = ReportTableModel(today=lambda: today)
            view = View()
            view.setModel(model)
            view.resize(1200, 800)
            view.show()
            model.set_index(index)
            app.processEvents()
            result["pane"] = _stats(_timed(mix, model.set_filter, args.repeat))
            result["pane_path"] = f"ReportTableModel.set_filter, {View.__name__} attached"

            def and_repaint(flt: Any) -> None:
                model.set_filter(flt)
                app.processEvents()  # the view's relayout and repaint, software-rendered

            result["pane_with_repaint"] = _stats(_timed(mix, and_repaint, args.repeat))
            view.close()
    result["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result))
    sys.stdout.flush()
    return 0


def summarize_runs(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Combine sizes for the table."""
    return {"sizes": {str(r["reports"]): r for r in results},
            "ok": all(r["ok"] for r in results),
            "median_build_s": median([r["build_s"] for r in results])}


if __name__ == "__main__":
    raise SystemExit(child_main(sys.argv[1:]))
