"""``python -m benchmarks [--reports N] [--json FILE] [--markdown FILE] [--only A,B]``

Runs every measure (import, unlock, filter, memory, sync, gui), prints a table and writes the
figures as JSON (default ``benchmarks/results.json``). Run it from the repository root on an
otherwise idle machine; the load average before and after each measure is recorded because
other work on the machine skews every figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import filters, gui_start, import_speed, memory, unlock
from benchmarks.common import (
    REPO,
    Workspace,
    compile_bytecode,
    load_average,
    machine,
    run_child,
)
from benchmarks.report import markdown

MEASURES = ("import", "unlock", "filter", "memory", "sync", "gui")


def _sync(ws: Workspace, log: Any) -> dict[str, Any]:
    if not (REPO / "benchmarks" / "sync_drain.py").exists():
        return {"name": "sync_drain", "available": False, "reason": "not available yet",
                "ok": False}
    child = run_child([sys.executable, "-m", "benchmarks.sync_drain", "--sessions", "1000",
                       "--rate-limit", "25", "--latency", "0.02"], env=ws.env(), timeout=900)
    try:
        result: dict[str, Any] = json.loads(child.stdout)
    except ValueError:
        return {"name": "sync_drain", "available": False, "ok": False,
                "reason": f"exit {child.returncode}: {child.stderr.strip()[-600:]}"}
    result["available"] = True
    result["load_average"] = load_average()
    log(f"  sync drain: {result.get('drain_seconds')} s for {result.get('sessions')} sessions "
        f"(floor {result.get('floor_seconds')} s): {result.get('fraction_of_floor_rate')} of "
        f"the floor rate")
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[1])
    p.add_argument("--reports", type=int, default=100_000, metavar="N",
                   help="reports for import, unlock, memory, GUI and the first filter size")
    p.add_argument("--large", type=int, default=1_000_000, metavar="N",
                   help="reports for the second filter size (0: skip)")
    p.add_argument("--runs", type=int, default=3, help="alternated import rounds")
    p.add_argument("--only", default=",".join(MEASURES),
                   help=f"comma-separated subset of {','.join(MEASURES)}")
    p.add_argument("--json", type=Path, default=REPO / "benchmarks" / "results.json",
                   metavar="FILE")
    p.add_argument("--markdown", type=Path, metavar="FILE",
                   help="also write the table as Markdown (e.g. benchmarks/RESULTS.md)")
    p.add_argument("--keep", type=Path, metavar="DIR",
                   help="work in DIR and keep it (data files, vaults) instead of a temp folder")
    p.add_argument("--no-default-gc-peers", action="store_true",
                   help="skip the supplementary peer runs with the interpreter's default GC")
    args = p.parse_args(argv)
    only = [m.strip() for m in args.only.split(",") if m.strip()]
    unknown = sorted(set(only) - set(MEASURES))
    if unknown:
        p.error(f"unknown measure(s): {', '.join(unknown)}")

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    log("compiling bytecode (what an install does; see common.compile_bytecode)")
    results: dict[str, Any] = {"machine": machine(), "bytecode": compile_bytecode(),
                               "load_average_start": load_average(), "measures": {}}
    started = time.perf_counter()
    with Workspace.create(args.keep) as ws:
        log(f"workspace {ws.root}; generating {args.reports:,} synthetic reports")
        ws.data_file(args.reports)
        out = results["measures"]
        if "import" in only:
            log("import")
            out["import"] = import_speed.run(ws, args.reports, args.runs,
                                             default_gc_peers=not args.no_default_gc_peers,
                                             log=log)
        if "unlock" in only:
            log("unlock")
            out["unlock"] = unlock.run(ws, args.reports, log=log)
        if "memory" in only:
            log("memory")
            out["memory"] = memory.run(ws, args.reports, log=log)
        if "gui" in only:
            log("gui cold start")
            out["gui"] = gui_start.run(ws, args.reports, log=log)
        if "filter" in only:
            log("filter")
            sizes = [args.reports] + ([args.large] if args.large else [])
            out["filter"] = filters.summarize_runs(
                [filters.run(ws, n, model=(n == args.reports), repeat=5 if n <= 100_000 else 3,
                             log=log) for n in sizes])
        if "sync" in only:
            log("sync drain")
            out["sync"] = _sync(ws, log)
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["load_average_end"] = load_average()
    table = markdown(results)
    print(table)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    log(f"wrote {args.json}")
    if args.markdown:
        args.markdown.write_text(table + "\n")
        log(f"wrote {args.markdown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
