"""Measure 4, memory: peak resident memory of the app with an N-report vault unlocked and its
list shown, against the size of the plaintext JSON the reports came from. Goal: under 2.5x
that size at 100k.

The figure that counts is the window's: ``identity-desktop --vault V --passphrase-file P``
offscreen, through ``benchmarks.gui_probe --until listed`` (peak RSS when the list first shows
rows). For reference, the same unlock without any window (``benchmarks.unlock``'s child: Qt
table model only, or nothing of Qt when PySide6 is missing) is reported as "core".
"""

from __future__ import annotations

import sys
from typing import Any

from benchmarks.common import Workspace, load_average, median, mib, run_child

GOAL_RATIO = 2.5


def run(ws: Workspace, count: int, runs: int = 3, *, log: Any = print) -> dict[str, Any]:
    vault = ws.vault(count)
    json_bytes = ws.data_file(count).stat().st_size
    window: list[float] = []
    core: list[float] = []
    window_error = None
    for n in range(1, runs + 1):
        child = run_child([sys.executable, "-m", "benchmarks.gui_probe", "--until", "listed",
                           "--", "--vault", str(vault), "--passphrase-file",
                           str(ws.passphrase_file)], env=ws.env(), timeout=300)
        try:
            result = child.json_line()
        except RuntimeError as exc:
            window_error = str(exc)
            result = {}
        if result.get("state") == "listed":
            window.append(float(result["peak_rss_mib"]))
        else:
            window_error = window_error or f"window probe ended in state {result.get('state')}"
        child = run_child([sys.executable, "-m", "benchmarks.unlock", "--child", str(vault),
                           str(ws.passphrase_file)], env=ws.env(), timeout=300).check()
        core.append(float(child.json_line()["peak_rss_mib"]))
        log(f"  memory run {n}/{runs}: window {window[-1] if window else 'n/a'} MiB, "
            f"core {core[-1]} MiB (JSON {mib(json_bytes)} MiB)")
    json_mib = json_bytes / 2**20
    figure = median(window) if window else median(core)
    out: dict[str, Any] = {
        "name": "memory",
        "reports": count,
        "json_mib": round(json_mib, 1),
        "window_peak_rss_mib": round(median(window), 1) if window else None,
        "core_peak_rss_mib": round(median(core), 1),
        "measured": "window" if window else "core (no window available)",
        "peak_rss_mib": round(figure, 1),
        "ratio": round(figure / json_mib, 3),
        "goal_ratio": GOAL_RATIO,
        "load_average": load_average(),
    }
    if window_error and not window:
        out["window_error"] = window_error
    out["ok"] = out["ratio"] < GOAL_RATIO
    return out
