"""``key show`` and ``export``: the vault's age public key, and encrypted bundles of reports.

Importing a bundle goes through ``import`` like any other file (see ``report_commands``).
"""

from __future__ import annotations

import argparse
import sys

from identity_desktop.bundles import export_reports, public_key
from identity_desktop.cli.context import CliContext, add_group
from identity_desktop.cli.filters import add_filter_options, filter_from_args
from identity_desktop.errors import UsageError
from identity_desktop.report_filter import ReportFilter


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    ksub = add_group(sub, common, "key", help="the vault's age key for bundles")
    k = ksub.add_parser("show", parents=[common],
                        help="print the vault's age public key (age1...), for an admin to "
                             "encrypt bundles to")
    k.set_defaults(handler=cmd_key_show)

    p = sub.add_parser(
        "export", parents=[common], help="write reports to an encrypted age bundle",
        description="Write the matching reports (JSON Lines of the raw report objects) to an "
                    "age file, encrypted to the given public keys or with a passphrase. It can "
                    "be opened by 'identity-desk import' or by the age tool.")
    p.add_argument("--out", required=True, metavar="FILE.age",
                   help="the bundle to write (replaced atomically if it exists)")
    p.add_argument("--recipient", "-r", action="append", metavar="AGE_PUBKEY",
                   help="an age public key (age1...) to encrypt to; repeat for several "
                        "(e.g. an organisation's recovery key)")
    p.add_argument("--bundle-passphrase-file", metavar="FILE",
                   help="encrypt with the passphrase in FILE instead of public keys")
    p.add_argument("--id", action="append", dest="ids", metavar="REPORT_ID",
                   help="export this report (repeatable); combined with FILTERS, a report "
                        "must match both")
    p.add_argument("--armor", "-a", action="store_true",
                   help="write the ASCII-armored form (for e-mail or copy and paste)")
    add_filter_options(p)
    p.set_defaults(handler=cmd_export)


def cmd_key_show(args: argparse.Namespace) -> int:
    with CliContext(args).desk() as desk:
        key = public_key(desk.vault)
    print(key)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    ctx = CliContext(args)
    if bool(args.recipient) == bool(args.bundle_passphrase_file):
        raise UsageError("export wants either --recipient AGE_PUBKEY (repeatable) or "
                         "--bundle-passphrase-file FILE, not both and not neither")
    flt = filter_from_args(args)
    bundle_passphrase = ctx.bundle_passphrase()
    interactive = sys.stderr.isatty()

    def progress(done: int, total: int | None) -> None:
        if interactive:
            print(f"exporting {done}/{total}", end="\r" if done != total else "\n",
                  file=sys.stderr, flush=True)

    with ctx.desk() as desk:
        count = export_reports(
            desk, args.out, report_ids=args.ids,
            flt=None if args.ids and flt == ReportFilter() else flt,
            recipients=args.recipient, passphrase=bundle_passphrase, progress=progress,
            armored=args.armor)
    print(f"exported {count} reports to {args.out}")
    return 0
