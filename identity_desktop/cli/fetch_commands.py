"""``fetch`` and ``config set-api-key | show | clear-api-key``.

The key is read from standard input (a hidden prompt on a terminal), checked, and stored
encrypted in the vault; it is never echoed: the CLI shows its mode and a mask at most.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from identity_desktop.cli.context import CliContext, add_group, stop_on_interrupt
from identity_desktop.errors import IdentityDeskError, UsageError
from identity_desktop.stripe_api.client import (
    API_KEY_ENV,
    api_host,
    clear_stored_key,
    connect,
    key_status,
    resolve_api_base,
    store_key,
    validate_key,
)
from identity_desktop.stripe_api.fetch import FetchFilters, FetchSummary, fetch_reports


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("fetch", parents=[common],
                       help="fetch verification reports from Stripe into the vault",
                       description="List verification reports from Stripe into the vault, page "
                                   "by page. A repeated fetch asks only for what is new; an "
                                   "interrupted one resumes where it stopped.")
    for op, words in (("gte", "at or after"), ("gt", "after"), ("lte", "at or before"),
                      ("lt", "before")):
        p.add_argument(f"--created-{op}", type=_epoch, metavar="EPOCH",
                       help=f"only reports created {words} EPOCH (Unix seconds)")
    p.add_argument("--type", metavar="T", help="report type: document or id_number")
    p.add_argument("--session", metavar="VS", help="only reports of this verification session")
    p.add_argument("--client-reference-id", metavar="X",
                   help="only reports with this client reference id")
    p.set_defaults(handler=cmd_fetch)

    csub = add_group(sub, common, "config", help="the Stripe API key")
    c = csub.add_parser("set-api-key", parents=[common],
                        help="store a Stripe secret or restricted key (read from standard "
                             "input) encrypted in the vault")
    c.set_defaults(handler=cmd_set_api_key)
    c = csub.add_parser("show", parents=[common],
                        help="the key's mode (test/live) and a masked form, never the key")
    c.set_defaults(handler=cmd_show_config)
    c = csub.add_parser("clear-api-key", parents=[common], help="remove the key from the vault")
    c.set_defaults(handler=cmd_clear_api_key)


def _epoch(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"wants Unix seconds (an integer), not {text!r}") from None
    if not 0 <= value < 1 << 40:
        raise argparse.ArgumentTypeError(f"{value} is not a plausible Unix time")
    return value


def filters_from_args(args: argparse.Namespace) -> FetchFilters:
    session = args.session
    if session is not None and not session.startswith("vs_"):
        raise UsageError("--session wants a verification session id (vs_...)")
    for name in ("type", "session", "client_reference_id"):
        value = getattr(args, name)
        if value is not None and not value.strip():
            raise UsageError(f"--{name.replace('_', '-')} must not be empty")
    return FetchFilters(created_gt=args.created_gt, created_gte=args.created_gte,
                        created_lt=args.created_lt, created_lte=args.created_lte,
                        type=args.type, verification_session=session,
                        client_reference_id=args.client_reference_id)


def cmd_fetch(args: argparse.Namespace) -> int:
    ctx = CliContext(args)
    filters = filters_from_args(args)
    base = resolve_api_base(ctx.api_base)
    interactive = sys.stderr.isatty()
    with ctx.open_vault() as vault:
        access = connect(vault, base)
        if interactive:  # scripts get only the summary line (and errors) on their streams
            print(f"fetching from {api_host(base)} with a {access.mode}-mode key "
                  f"(from {access.key_source})", file=sys.stderr, flush=True)

        def progress(summary: FetchSummary) -> None:
            if interactive:
                note = f" - {summary.note}" if summary.note else ""
                print(f"\r\x1b[K{summary.fetched} reports, {summary.pages} pages{note}",
                      end="", file=sys.stderr, flush=True)

        with stop_on_interrupt("after the current page") as cancelled:
            try:
                summary = fetch_reports(vault, access, filters, progress=progress,
                                        cancelled=cancelled)
            finally:
                if interactive:
                    print("\r\x1b[K", end="", file=sys.stderr, flush=True)
    if summary.resumed:
        print("resumed an interrupted fetch", file=sys.stderr)
    if summary.rejected:
        print(f"identity-desk: warning: {summary.rejected} records were not usable reports "
              "and were skipped", file=sys.stderr)
    print(summary.line(), flush=True)
    if summary.cancelled:
        print("fetch cancelled: run it again to resume where it stopped", file=sys.stderr)
        return 130
    return 0


def _read_key_text() -> str:
    if sys.stdin.isatty():
        try:
            return getpass.getpass("Stripe API key (input hidden): ")
        except (EOFError, KeyboardInterrupt):
            raise IdentityDeskError("no API key given") from None
    text = sys.stdin.read(4096)
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > 1:
        raise IdentityDeskError("standard input holds more than one line; give only the key")
    return lines[0] if lines else ""


def cmd_set_api_key(args: argparse.Namespace) -> int:
    ctx = CliContext(args)
    text = _read_key_text()  # before the passphrase prompt: both may come from a terminal
    key = validate_key(text, where="the key on standard input")
    with ctx.open_vault() as vault:
        mode = store_key(vault, key)
    print(f"stored a {mode}-mode key", file=sys.stderr)
    return 0


def cmd_show_config(args: argparse.Namespace) -> int:
    with CliContext(args).open_vault() as vault:
        status = key_status(vault)  # modes and masks only: the key never reaches this code
    if status["vault_mode"] is None:
        print("no key in the vault")
    else:
        print(f"{status['vault_mode']}-mode key {status['vault_mask']} (in the vault)")
    if status["env_problem"]:
        print(f"{API_KEY_ENV} is set but unusable: {status['env_problem']}")
    elif status["env_mode"]:
        print(f"{API_KEY_ENV} overrides it: {status['env_mode']}-mode key {status['env_mask']}")
    return 0


def cmd_clear_api_key(args: argparse.Namespace) -> int:
    with CliContext(args).open_vault() as vault:
        clear_stored_key(vault)
    print("removed the API key from the vault", file=sys.stderr)
    return 0
