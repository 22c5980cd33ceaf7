"""What every command needs: where the vault is, its passphrase, the Stripe key and server.

The passphrase comes from ``--passphrase-file``, else ``IDENTITY_DESK_PASSPHRASE``, else a prompt
on the terminal; never from the command line, where other users could read it.
"""

from __future__ import annotations

import argparse
import getpass
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from identity_desktop.desk import Desk
from identity_desktop.errors import IdentityDeskError, UsageError
from identity_desktop.paths import default_vault_path
from identity_desktop.vault.store import Vault

PASSPHRASE_ENV = "IDENTITY_DESK_PASSPHRASE"
NEW_PASSPHRASE_ENV = "IDENTITY_DESK_NEW_PASSPHRASE"


def read_secret_file(path: str, what: str) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise IdentityDeskError(f"cannot read the {what} file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise IdentityDeskError(f"the {what} file {path} is not UTF-8 text") from None
    secret = text.rstrip("\r\n")
    if not secret:
        raise IdentityDeskError(f"the {what} file {path} is empty")
    return secret


def prompt_secret(prompt: str, *, confirm: bool = False) -> str:
    if not sys.stdin.isatty():
        raise IdentityDeskError(
            f"no passphrase given: use --passphrase-file or set {PASSPHRASE_ENV}")
    try:
        first = getpass.getpass(prompt)
        if confirm and getpass.getpass("Repeat it: ") != first:
            raise IdentityDeskError("the two passphrases differ")
    except (EOFError, KeyboardInterrupt):
        raise IdentityDeskError("no passphrase given") from None
    return first


class CliContext:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args

    @property
    def vault_path(self) -> Path:
        path = getattr(self.args, "vault", None)
        return Path(path).expanduser() if path else default_vault_path()

    def _vault_secret(self, option: str, what: str, env_name: str, prompt: str, *,
                      confirm: bool) -> str:
        """The file named by ``option``, else the environment variable, else a prompt."""
        file = getattr(self.args, option, None)
        if file:
            return read_secret_file(file, what)
        env = os.environ.get(env_name)
        if env:
            return env
        return prompt_secret(prompt, confirm=confirm)

    def passphrase(self, *, confirm: bool = False) -> str:
        return self._vault_secret("passphrase_file", "passphrase", PASSPHRASE_ENV,
                                  "Vault passphrase: ", confirm=confirm)

    def new_passphrase(self) -> str:
        return self._vault_secret("new_passphrase_file", "new passphrase", NEW_PASSPHRASE_ENV,
                                  "New vault passphrase: ", confirm=True)

    def bundle_passphrase(self) -> str | None:
        file = getattr(self.args, "bundle_passphrase_file", None)
        if file:
            return read_secret_file(file, "bundle passphrase")
        # Importing a passphrase-encrypted bundle at a terminal asks for its passphrase.
        files = getattr(self.args, "files", None) or ()
        if files and sys.stdin.isatty():
            from identity_desktop.bundles import path_needs_passphrase

            if any(path_needs_passphrase(f) for f in files):
                return prompt_secret("Bundle passphrase: ")
        return None

    def open_desk(self, *, build_index: bool = True) -> Desk:
        return Desk.open(self.vault_path, self.passphrase(), build_index=build_index)

    @contextmanager
    def desk(self, *, build_index: bool = True) -> Iterator[Desk]:
        """The unlocked desk for the body of a ``with``, locked again however the body ends
        (``build_index=False``: its list index is built only if the body reads it)."""
        desk = self.open_desk(build_index=build_index)
        try:
            yield desk
        finally:
            desk.lock()

    def open_vault(self) -> Vault:
        """The vault alone, without the report index (a ``with`` block locks it at its end)."""
        return Vault.open(self.vault_path, self.passphrase())

    @property
    def api_base(self) -> str | None:
        return getattr(self.args, "api_base", None) or os.environ.get("STRIPE_API_BASE") or None


def add_group(sub: argparse._SubParsersAction, common: argparse.ArgumentParser, name: str, *,
              help: str, description: str | None = None) -> argparse._SubParsersAction:
    """Add a command that takes an action (``key show``, ``config set-api-key``...); return
    the subparsers to add its actions to (each with ``parents=[common]``, like every command)."""
    group = sub.add_parser(name, parents=[common], help=help, description=description)
    return group.add_subparsers(dest=f"{name}_command", metavar="ACTION", required=True)


def parse_day(text: str, option: str) -> tuple[int, int, int]:
    import datetime as dt

    try:
        d = dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} wants a date as YYYY-MM-DD, not {text!r}") from None
    return d.year, d.month, d.day


@contextmanager
def stop_on_interrupt(what: str) -> Iterator[Callable[[], bool]]:
    """Yield a ``cancelled()`` callable. The first Ctrl-C asks the work to stop at its next safe
    point (``what`` says which, e.g. "after the current page"); a second one interrupts at once.
    Outside the main thread signals cannot be caught, so Ctrl-C keeps its usual meaning."""
    requested = False
    previous = signal.getsignal(signal.SIGINT)

    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        nonlocal requested
        if requested:
            raise KeyboardInterrupt
        requested = True
        print(f"\nstopping {what} (Ctrl-C again to stop now)", file=sys.stderr, flush=True)

    try:
        signal.signal(signal.SIGINT, on_interrupt)
    except ValueError:
        yield lambda: False
        return
    try:
        yield lambda: requested
    finally:
        signal.signal(signal.SIGINT, previous)
