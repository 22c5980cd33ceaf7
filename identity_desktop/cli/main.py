"""``identity-desk``: the headless command line over the same core as the window.

Exit status: 0 on success, 1 on a handled error (one clear line on standard error, no
traceback), 2 on bad usage. Global options are accepted before or after the command.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

from identity_desktop.errors import IdentityDeskError, UsageError
from identity_desktop.logs import configure_logging
from identity_desktop.paths import private_umask

PROG = "identity-desk"
Handler = Callable[..., int | None]


class _VersionAction(argparse.Action):
    """argparse's ``version`` action, with the version read only when asked for (see
    ``identity_desktop.__getattr__``)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="show the program's version number and exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        import identity_desktop

        print(f"{parser.prog} {identity_desktop.__version__}")
        parser.exit()


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group("global options")
    group.add_argument("--vault", metavar="PATH", default=default,
                       help="the vault file (default: the user data folder)")
    group.add_argument("--passphrase-file", metavar="FILE", default=default,
                       help="read the vault passphrase from FILE (else $IDENTITY_DESK_PASSPHRASE, "
                            "else a prompt)")
    group.add_argument("--api-base", metavar="URL", default=default,
                       help="Stripe API server (else $STRIPE_API_BASE; for tests)")
    group.add_argument("--verbose", "-v", action="store_true",
                       default=argparse.SUPPRESS if suppress else False,
                       help="log progress details to standard error (never personal data)")


def _command_modules() -> list[ModuleType]:
    from identity_desktop.cli import report_commands, vault_commands

    modules: list[ModuleType] = [vault_commands, report_commands]
    # Commands that arrive with later features register themselves the same way.
    for name in ("bundle_commands", "fetch_commands", "redact_commands"):
        try:
            modules.append(__import__(f"identity_desktop.cli.{name}", fromlist=["register"]))
        except ModuleNotFoundError as exc:
            if exc.name != f"identity_desktop.cli.{name}":
                raise
    return modules


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Review Stripe Identity verification reports offline, in an "
                               "encrypted vault, and queue their redaction.")
    parser.add_argument("--version", action=_VersionAction)
    _global_options(parser, suppress=False)
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, suppress=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _command_modules():
        module.register(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    private_umask()
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(verbose=bool(getattr(args, "verbose", False)))
    handler: Handler = args.handler
    try:
        return int(handler(args) or 0)
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except IdentityDeskError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the last line of defence: never a traceback with data in it
        if os.environ.get("IDENTITY_DESK_DEBUG") == "1":  # developers only, by explicit opt-in
            raise
        logging.getLogger("identity_desktop").error("unexpected error: %s", type(exc).__name__)
        print(f"{PROG}: error: unexpected {type(exc).__name__}; nothing was lost "
              "(details withheld because they may hold personal data)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
