"""``import``, ``list``, ``show`` and ``demo-data``."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from identity_desktop.cli.context import CliContext
from identity_desktop.cli.filters import add_filter_options, filter_from_args
from identity_desktop.demo import write_demo_file
from identity_desktop.desk import Desk
from identity_desktop.errors import IdentityDeskError
from identity_desktop.importing.readers import ElementStream, ParsedFile, read_ahead
from identity_desktop.report import ReportView
from identity_desktop.report_filter import F

if TYPE_CHECKING:  # numpy loads only for the commands that read the list index
    from identity_desktop.index import ReportIndex


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("import", parents=[common],
                       help="import .json (list object or array), .jsonl or .age files")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--skip-invalid", action="store_true",
                   help="import the valid records of a file that has invalid ones "
                        "(default: refuse such a file whole)")
    p.add_argument("--bundle-passphrase-file", metavar="FILE",
                   help="passphrase of passphrase-encrypted .age bundles")
    p.set_defaults(handler=cmd_import)

    p = sub.add_parser("list", parents=[common], help="one line (or JSON object) per report")
    add_filter_options(p)
    p.add_argument("--json", action="store_true", help="JSON Lines output")
    p.set_defaults(handler=cmd_list)

    p = sub.add_parser("show", parents=[common], help="the whole report")
    p.add_argument("report_id", metavar="REPORT_ID")
    p.add_argument("--json", action="store_true", help="the raw report JSON")
    p.set_defaults(handler=cmd_show)

    p = sub.add_parser("demo-data", parents=[common],
                       help="write synthetic reports (no real person) to a file")
    p.add_argument("--count", type=int, required=True, metavar="N")
    p.add_argument("--out", required=True, metavar="FILE", help=".json (list object) or .jsonl")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=cmd_demo_data)


def cmd_import(args: argparse.Namespace) -> int:
    ctx = CliContext(args)
    bundle_passphrase = ctx.bundle_passphrase()
    interactive = sys.stderr.isatty()

    def progress(path: str, done: int, total: int) -> None:
        # Printed after each committed batch: what is reported here survives a crash.
        end = "\r" if interactive and done < total else "\n"
        print(f"imported {done}/{total} from {path}", end=end, file=sys.stderr, flush=True)

    with _desk_reading_ahead(ctx, args.files[0]) as (desk, first):
        summary = desk.import_files(args.files, skip_invalid=args.skip_invalid,
                                    progress=progress, bundle_passphrase=bundle_passphrase,
                                    opened={args.files[0]: first} if first else None)
    for rejected in summary.rejected if args.skip_invalid else ():
        print(f"rejected: {rejected}", file=sys.stderr)
    for error in summary.errors:
        print(f"identity-desk: error: {error}", file=sys.stderr)
    print(summary.line())
    return 1 if summary.errors else 0


@contextmanager
def _desk_reading_ahead(ctx: CliContext, path: str
                        ) -> Iterator[tuple[Desk, ParsedFile | ElementStream | None]]:
    """``ctx.desk()``, and the first file opened meanwhile on another thread (read, split, its
    helper process started): Argon2id runs without the GIL, so the two overlap instead of
    adding up. Its helper is stopped however the block ends (a wrong passphrase: before it is
    used). No list index: an import never reads it, and building it would decrypt every
    summary."""
    pool = ThreadPoolExecutor(1, thread_name_prefix="import-read-ahead")
    ahead = pool.submit(read_ahead, path)
    pool.shutdown(wait=False)  # the thread ends with its one job
    try:
        with ctx.desk(build_index=False) as desk:
            yield desk, ahead.result()
    finally:
        first = ahead.result()
        if isinstance(first, ElementStream):
            first.close()


def _created_text(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch).astimezone().strftime("%Y-%m-%d %H:%M")


def _partial(sort_key: int) -> str:
    if not sort_key:
        return ""
    y, m, d = sort_key // 10000, sort_key // 100 % 100, sort_key % 100
    return "-".join(p for p in (f"{y:04d}" if y else "????", f"{m:02d}" if m else "",
                                f"{d:02d}" if d and m else "") if p)


def list_record(index: ReportIndex, pos: int) -> dict[str, Any]:
    s = index.summary(pos)
    return {
        "id": s[F["id"]], "created": s[F["created"]], "type": s[F["type"]] or None,
        "status": s[F["overall_status"]], "verification_session": s[F["session"]] or None,
        "redaction": index.redaction_state(pos).value, "name": s[F["name"]] or None,
        "document_type": s[F["document_type"]] or None,
        "issuing_country": s[F["issuing_country"]] or None,
        "issued": _partial(s[F["issued"]]) or None, "expires": _partial(s[F["expires"]]) or None,
        "client_reference_id": s[F["client_reference_id"]] or None,
        "livemode": bool(s[F["livemode"]]),
    }


def cmd_list(args: argparse.Namespace) -> int:
    flt = filter_from_args(args)
    with CliContext(args).desk() as desk:
        positions = desk.index.query(flt)
        out = sys.stdout
        for pos in positions.tolist():
            rec = list_record(desk.index, pos)
            if args.json:
                out.write(orjson.dumps(rec).decode() + "\n")
            else:
                out.write("  ".join((
                    rec["id"], _created_text(rec["created"]), rec["type"] or "-",
                    rec["status"], rec["name"] or "-", rec["document_type"] or "-",
                    rec["issuing_country"] or "-", f"expires {rec['expires'] or '-'}",
                    rec["verification_session"] or "-", rec["redaction"],
                    "" if rec["livemode"] else "(test)")).rstrip() + "\n")
    if not args.json:
        print(f"{len(positions)} report(s)", file=sys.stderr)
    return 0


def render_report(view: ReportView) -> str:
    lines = [
        f"Report            {view.id}" + ("" if view.livemode else "   (test mode)"),
        f"Created           {_created_text(view.created)}",
        f"Type              {view.type or '-'}",
        f"Overall status    {view.overall_status}",
        f"Session           {view.verification_session or '-'}",
        f"Client reference  {view.client_reference_id or '-'}",
        f"Name              {view.full_name or '-'}",
        f"Date of birth     {view.date_of_birth.display() if view.date_of_birth else '-'}",
        f"Address           {view.address.one_line() if view.address else '-'}",
        f"Document          {view.document_type or '-'} {view.document_number or ''}".rstrip(),
        f"Issuing country   {view.issuing_country or '-'}",
        f"Issued            {view.issued_date.display() if view.issued_date else '-'}",
        f"Expires           {view.expiration_date.display() if view.expiration_date else '-'}",
        f"Redacted          {'yes' if view.redacted else 'no'}",
        "Checks:",
    ]
    for check in view.checks:
        error = f"  {check.error_code}: {check.error_reason}" if check.error_code else ""
        lines.append(f"  {check.name:<10} {check.status or '-'}{error}")
    if view.files:
        lines.append("Files:            " + ", ".join(view.files))
    return "\n".join(lines)


def cmd_show(args: argparse.Namespace) -> int:
    with CliContext(args).desk() as desk:
        report = desk.report(args.report_id)
    if report is None:
        raise IdentityDeskError(f"no report {args.report_id} in the vault")
    if args.json:
        sys.stdout.write(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print(render_report(ReportView.from_raw(report)))
    return 0


def cmd_demo_data(args: argparse.Namespace) -> int:
    if args.count < 0:
        raise IdentityDeskError("--count must be 0 or more")
    out = Path(args.out)
    try:
        n = write_demo_file(out, args.count, seed=args.seed)
    except OSError as exc:
        raise IdentityDeskError(f"cannot write {out}: {exc.strerror}") from None
    print(f"wrote {n} synthetic reports to {out}", file=sys.stderr)
    return 0
