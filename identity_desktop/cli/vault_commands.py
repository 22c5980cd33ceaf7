"""``init`` and ``passwd``: creating a vault and changing its passphrase."""

from __future__ import annotations

import argparse
import sys

from identity_desktop.cli.context import CliContext
from identity_desktop.vault.store import Vault


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("init", parents=[common], help="create a vault (refuses to overwrite)")
    p.set_defaults(handler=cmd_init)

    p = sub.add_parser("passwd", parents=[common], help="change the vault passphrase")
    p.add_argument("--new-passphrase-file", metavar="FILE",
                   help="read the new passphrase from FILE (else "
                        "$IDENTITY_DESK_NEW_PASSPHRASE, else a prompt)")
    p.set_defaults(handler=cmd_passwd)


def cmd_init(args: argparse.Namespace) -> int:
    ctx = CliContext(args)
    path = ctx.vault_path
    with Vault.create(path, ctx.passphrase(confirm=True)) as vault:
        _after_create(vault)
    print(f"created a vault at {path}", file=sys.stderr)
    return 0


def _after_create(vault: Vault) -> None:
    """Give a new vault what later features need (its age identity for bundles)."""
    try:
        from identity_desktop.bundles import ensure_vault_identity
    except ImportError:
        return
    ensure_vault_identity(vault)


def cmd_passwd(args: argparse.Namespace) -> int:
    ctx = CliContext(args)
    old = ctx.passphrase()
    with Vault.open(ctx.vault_path, old) as vault:
        vault.change_passphrase(old, ctx.new_passphrase())
    print("passphrase changed", file=sys.stderr)
    return 0
