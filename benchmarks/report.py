"""The results as a Markdown table (printed, and written by ``--markdown``)."""

from __future__ import annotations

from typing import Any

from benchmarks.import_speed import CIPHER, OURS, PLAIN


def _yes(ok: Any) -> str:
    return "**yes**" if ok else "**no**"


def _import_rows(m: dict[str, Any]) -> list[str]:
    c = m["contenders"]
    ours = c[OURS]
    mb = m["file_bytes"] / 1e6
    lines = [f"| Import {m['reports']:,} reports ({mb:.0f} MB list file), whole process, "
             f"median of {m['runs']} alternated runs | {ours['wall_median']:.2f} s "
             f"({ours['cpu_median']:.2f} s CPU); plain SQLite {c[PLAIN]['wall_median']:.2f} s"
             + (f"; SQLCipher {c[CIPHER]['wall_median']:.2f} s" if CIPHER in c else "")
             + f" = **{m['vs_plain']:.2f}x** plain"
             + (f", **{m['vs_sqlcipher']:.2f}x** SQLCipher" if "vs_sqlcipher" in m else
                ", SQLCipher not installable")
             + " | >= 1.0x plain, >= 1.5x SQLCipher | " + _yes(m["ok"]) + " |"]
    return lines


def _peer_table(m: dict[str, Any]) -> list[str]:
    rows = ["", "Import contenders (same file, same run, alternated; wall and CPU in seconds):",
            "", "| Contender | Wall median | CPU median | Peak RSS | Wall per run |",
            "|---|---|---|---|---|"]
    for name, f in m["contenders"].items():
        rows.append(f"| {name} | {f['wall_median']:.2f} | {f['cpu_median']:.2f} | "
                    f"{f['peak_rss_mib_median']:.0f} MiB | "
                    + ", ".join(f"{w:.2f}" for w in f["wall"]) + " |")
    return rows


def markdown(results: dict[str, Any]) -> str:
    mach = results["machine"]
    out = [f"Machine: {mach['cores']} cores (`nproc`), {mach.get('cpu_model', '?')}, "
           f"{mach.get('memory_gib', '?')} GiB; Python {mach['python']}, SQLite "
           f"{mach['sqlite']}; {mach['date']}; code at `{mach.get('git', '?')}`. Load "
           f"average at start {results.get('load_average_start')}, at end "
           f"{results.get('load_average_end')} (other work on the machine inflates wall "
           "times).", "",
           "| Measure | Result | Goal | Met |", "|---|---|---|---|"]
    m = results["measures"]
    if "import" in m:
        out += _import_rows(m["import"])
    if "unlock" in m:
        u = m["unlock"]
        ph = u["phases_median"]
        out.append(f"| Unlock a {u['reports']:,}-report vault to the first page "
                   f"(Argon2id included), median of {u['runs']} | **{u['total_median']:.2f} s** "
                   f"(open {ph['open']:.2f}, summaries + index {ph['load_index']:.2f}, "
                   f"first page {ph['first_page']:.3f}; worst {u['total_max']:.2f}) | "
                   f"< {u['goal_seconds']} s | {_yes(u['ok'])} |")
    if "filter" in m:
        for size, f in m["filter"]["sizes"].items():
            core = f["core"]
            text = (f"core p50 {core['p50_ms']:.1f} ms, **p95 {core['p95_ms']:.1f} ms**")
            if "pane" in f:
                pane = f["pane"]
                text += (f"; list model p50 {pane['p50_ms']:.1f} ms, **p95 "
                         f"{pane['p95_ms']:.1f} ms**")
            text += f" ({core['changes']} changes; index build {f['build_s']:.2f} s)"
            out.append(f"| Filter or search change at {int(size):,} reports | {text} | "
                       f"p95 < {f['goal_p95_ms']:.0f} ms | {_yes(f['ok'])} |")
    if "memory" in m:
        mem = m["memory"]
        out.append(f"| Peak RSS, {mem['reports']:,}-report vault unlocked and listed "
                   f"({mem['measured']}) | **{mem['peak_rss_mib']:.0f} MiB = "
                   f"{mem['ratio']:.2f}x** the JSON ({mem['json_mib']:.0f} MiB); without a "
                   f"window {mem['core_peak_rss_mib']:.0f} MiB | < {mem['goal_ratio']}x | "
                   f"{_yes(mem['ok'])} |")
    if "sync" in m:
        s = m["sync"]
        if s.get("available"):
            out.append(f"| Sync drain: {s['sessions']:,} queued sessions, fake server at "
                       f"{s['rate_limit']:g} req/s and {s['latency'] * 1000:.0f} ms | "
                       f"{s['drain_seconds']:.1f} s (floor {s['floor_seconds']:.1f} s) = "
                       f"**{s['fraction_of_floor_rate'] * 100:.1f}%** of the floor rate; "
                       f"exactly once: {s.get('exactly_once')} | >= 90% | {_yes(s['ok'])} |")
        else:
            out.append(f"| Sync drain | {s.get('reason', 'not available yet')} | >= 90% | - |")
    if "gui" in m:
        g = m["gui"]
        if g.get("available"):
            out.append(f"| GUI cold start: process start to main window shown (offscreen), "
                       f"median of {g['runs']} | **{g['shown_median']:.2f} s**; to "
                       f"{g['listed_reports']:,} reports listed (unlocked at once) "
                       f"{g['listed_median']:.2f} s | < {g['goal_seconds']} s | "
                       f"{_yes(g['ok'])} |")
        else:
            out.append(f"| GUI cold start | not available: {g.get('reason')} | < 1.5 s | - |")
    if "import" in m:
        out += _peer_table(m["import"])
    out += ["", f"Total benchmark time {results.get('seconds', 0):.0f} s."]
    return "\n".join(out)
