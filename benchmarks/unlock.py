"""Measure 2, unlock: open an N-report vault and have the first page of the list ready,
Argon2id key derivation included. Goal: under 1.5 s at 100k.

Each run is a fresh process (nothing cached from an earlier unlock). The modules are imported
before the clock starts: the app is already running when its user types the passphrase. Then
``Vault.open`` (Argon2id, header checks), ``Desk(vault)`` (decrypt every summary, build the
columnar index), and the first page: the window's table model (``ReportTableModel``, offscreen
Qt) is given the index and asked for every cell of the first 50 rows, exactly what the list
view asks for when it paints. Without PySide6, the CLI's list records stand in.

Run alone (one child): ``python -m benchmarks.unlock --child VAULT PASSPHRASE_FILE``.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import Workspace, load_average, median, percentile, run_child

PAGE = 50
GOAL_SECONDS = 1.5


def run(ws: Workspace, count: int, runs: int = 5, *, log: Any = print) -> dict[str, Any]:
    vault = ws.vault(count)
    samples = []
    for n in range(1, runs + 1):
        child = run_child([sys.executable, "-m", "benchmarks.unlock", "--child", str(vault),
                           str(ws.passphrase_file)], env=ws.env(), timeout=300).check()
        result = child.json_line()
        samples.append(result)
        log(f"  unlock run {n}/{runs}: {result['total']:.3f} s (open {result['open']:.3f}, "
            f"summaries+index {result['load_index']:.3f}, first page {result['first_page']:.3f})")
    totals = [s["total"] for s in samples]
    out = {
        "name": "unlock",
        "reports": count,
        "runs": runs,
        "page_source": samples[0]["page_source"],
        "total_median": round(median(totals), 3),
        "total_max": round(max(totals), 3),
        "total_p95": round(percentile(totals, 95), 3),
        "phases_median": {k: round(median([s[k] for s in samples]), 3)
                          for k in ("open", "load_index", "first_page")},
        "samples": samples,
        "goal_seconds": GOAL_SECONDS,
        "load_average": load_average(),
    }
    out["ok"] = out["total_median"] < GOAL_SECONDS
    return out


def open_and_first_page(vault_path: Path, passphrase: str) -> tuple[dict[str, Any], Any]:
    """The timed path; returns (timings, what keeps the vault alive)."""
    from identity_desktop.desk import Desk
    from identity_desktop.vault.store import Vault

    try:
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QApplication

        from identity_desktop.ui.models.report_table_model import ReportTableModel
    except ImportError:
        app = model_cls = None
    else:
        app = QApplication.instance() or QApplication([sys.argv[0]])
        model_cls = ReportTableModel
    from identity_desktop.cli.report_commands import list_record
    from identity_desktop.index import ReportFilter

    t0 = time.perf_counter()
    vault = Vault.open(vault_path, passphrase)
    t1 = time.perf_counter()
    desk = Desk(vault)
    t2 = time.perf_counter()
    if model_cls is not None:
        model = model_cls()
        model.set_index(desk.index)
        cells = [model.data(model.index(row, col), Qt.ItemDataRole.DisplayRole)
                 for row in range(min(PAGE, model.rowCount()))
                 for col in range(model.columnCount())]
        keep: Any = (app, desk, model, cells)
        source = "ReportTableModel"
    else:
        positions = desk.index.query(ReportFilter())[:PAGE]
        keep = (desk, [list_record(desk.index, int(p)) for p in positions])
        source = "cli list records"
    t3 = time.perf_counter()
    timings = {"open": t1 - t0, "load_index": t2 - t1, "first_page": t3 - t2,
               "total": t3 - t0, "reports": len(desk.index), "page_source": source}
    return timings, keep


def child_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.unlock")
    p.add_argument("--child", nargs=2, metavar=("VAULT", "PASSPHRASE_FILE"), required=True)
    args = p.parse_args(argv)
    vault, passfile = args.child
    passphrase = Path(passfile).read_text().strip()
    timings, keep = open_and_first_page(Path(vault), passphrase)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    timings["peak_rss_mib"] = round(usage.ru_maxrss / 1024, 1)
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v
                      for k, v in timings.items()}))
    sys.stdout.flush()
    del keep
    return 0


if __name__ == "__main__":
    raise SystemExit(child_main(sys.argv[1:]))
