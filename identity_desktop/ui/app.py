"""``identity-desktop``: the window's entry point.

    identity-desktop [--vault PATH] [--passphrase-file FILE] [--api-base URL]
    identity-desktop --demo [--demo-count N] [--screenshot FILE]

The passphrase comes from ``--passphrase-file``, else ``IDENTITY_DESK_PASSPHRASE``, else the
unlock dialog; a given passphrase unlocks at once (for scripts). ``--demo`` opens a throwaway
vault in a private temporary folder, filled with generated reports (no real person) through
the normal upsert path, and deletes it on exit. ``--screenshot FILE`` renders the window to a
PNG once the list and the detail pane are populated, then exits 0 (exit 1 if that never
happens); it uses throwaway window settings so the user's layout is neither used nor changed.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from identity_desktop import APP_NAME, __version__
from identity_desktop.errors import IdentityDeskError
from identity_desktop.logs import configure_logging
from identity_desktop.paths import default_vault_path, log_dir, private_umask

PROG = "identity-desktop"
PASSPHRASE_ENV = "IDENTITY_DESK_PASSPHRASE"
DEMO_PASSPHRASE = "identity-desk demo vault"  # throwaway vault of generated data only
DEMO_SEED = 7
SCREENSHOT_TIMEOUT_MS = 120_000
log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Review Stripe Identity verification "
                                "reports offline, in an encrypted vault.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("--vault", metavar="PATH", help="the vault file (default: user data folder)")
    p.add_argument("--passphrase-file", metavar="FILE",
                   help=f"read the vault passphrase from FILE (else ${PASSPHRASE_ENV}, else "
                        "the unlock dialog)")
    p.add_argument("--api-base", metavar="URL", help="Stripe API server (else $STRIPE_API_BASE)")
    p.add_argument("--demo", action="store_true",
                   help="open a throwaway vault of generated reports (no real person)")
    p.add_argument("--demo-count", type=int, default=5000, metavar="N",
                   help="reports in the demo vault (default 5000)")
    p.add_argument("--screenshot", metavar="FILE",
                   help="save a PNG of the window once loaded, then exit")
    p.add_argument("--verbose", "-v", action="store_true", help="log to standard error too")
    return p


def _passphrase(args: argparse.Namespace) -> str | None:
    if args.passphrase_file:
        from identity_desktop.cli.context import read_secret_file

        return read_secret_file(args.passphrase_file, "passphrase")
    return os.environ.get(PASSPHRASE_ENV) or None


def main(argv: Sequence[str] | None = None) -> int:
    private_umask()
    args = build_parser().parse_args(argv)
    configure_logging(verbose=args.verbose, log_file=log_dir() / "identity-desktop.log")
    if args.demo_count < 0:
        print(f"{PROG}: error: --demo-count must be 0 or more", file=sys.stderr)
        return 2
    try:
        passphrase = None if args.demo else _passphrase(args)
    except IdentityDeskError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    if args.screenshot and not args.demo and passphrase is None:
        print(f"{PROG}: error: --screenshot needs --demo or a passphrase (--passphrase-file or "
              f"${PASSPHRASE_ENV})", file=sys.stderr)
        return 2
    temp_dirs: list[Path] = []
    try:
        return _run(args, passphrase, temp_dirs)
    finally:
        for folder in temp_dirs:
            shutil.rmtree(folder, ignore_errors=True)


def _run(args: argparse.Namespace, passphrase: str | None, temp_dirs: list[Path]) -> int:
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from identity_desktop.ui.context import UiContext
    from identity_desktop.ui.main_window import MainWindow
    from identity_desktop.ui.resources import app_icon, stylesheet
    from identity_desktop.ui.settings import UiSettings

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else PROG])
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setOrganizationName("identity-desk")
    app.setDesktopFileName("io.identitydesk.IdentityDesk")
    app.setWindowIcon(app_icon())
    app.setStyle("Fusion")  # one look everywhere (and offscreen), tuned by style.qss
    app.setStyleSheet(stylesheet())

    if args.demo:
        work = Path(tempfile.mkdtemp(prefix="identity-desk-demo-"))  # 0700
        temp_dirs.append(work)
        vault_path = work / "demo.idvault"
    else:
        vault_path = Path(args.vault).expanduser() if args.vault else default_vault_path()
    if args.screenshot and not args.demo and not vault_path.is_file():
        print(f"{PROG}: error: no vault at {vault_path}", file=sys.stderr)
        return 1
    settings = None
    if args.screenshot:
        scratch = Path(tempfile.mkdtemp(prefix="identity-desk-shot-"))
        temp_dirs.append(scratch)
        settings = UiSettings(QSettings(str(scratch / "settings.ini"),
                                        QSettings.Format.IniFormat))
    context = UiContext.create(app, vault_path, settings=settings,
                               api_base=args.api_base or os.environ.get("STRIPE_API_BASE"))
    window = MainWindow(context)
    app.aboutToQuit.connect(context.shutdown)
    exit_code = [0]
    if args.screenshot:
        from identity_desktop.ui.main_window import DEFAULT_SIZE

        window.resize(DEFAULT_SIZE)  # the same picture on any (or no) screen
        _arm_screenshot(app, window, Path(args.screenshot), exit_code, QTimer)
    window.show()

    if args.demo:
        window.set_locked_message(f"Preparing a demo vault with {args.demo_count:,} generated "
                                  "reports…")
        op = context.session.open_with(
            lambda ctx: _demo_desk(vault_path, args.demo_count, ctx), parent=window,
            label="Preparing demo…")
        op.failure(lambda exc: _fatal(app, exit_code, exc), owner=window)
    else:
        dialog = window.request_unlock(
            prefill=passphrase if context.session.vault_exists else None)
        if args.screenshot:  # scripted: a refused passphrase ends the run instead of waiting
            dialog.sig_failed.connect(
                lambda text: _fatal(app, exit_code, IdentityDeskError(text.rstrip("."))))
    app.exec()
    return exit_code[0]


def _demo_desk(path: Path, count: int, ctx):
    from identity_desktop.demo import generate_reports
    from identity_desktop.desk import Desk
    from identity_desktop.vault.reports import upsert_reports
    from identity_desktop.vault.store import Vault

    vault = Vault.create(path, DEMO_PASSPHRASE)
    try:
        batch: list[dict] = []
        done = 0
        for report in generate_reports(count, seed=DEMO_SEED):
            batch.append(report)
            if len(batch) == 2000:
                upsert_reports(vault, batch)
                done += len(batch)
                batch = []
                ctx.progress(done, count, "Generating demo reports")
        if batch:
            upsert_reports(vault, batch)
        return Desk(vault)
    except BaseException:
        vault.lock()
        raise


def _fatal(app, exit_code: list[int], exc: BaseException) -> None:
    from identity_desktop.ui.operations import user_message

    print(f"{PROG}: error: {user_message(exc)}", file=sys.stderr)
    exit_code[0] = 1
    app.quit()


def _arm_screenshot(app, window, path: Path, exit_code: list[int], timer_cls) -> None:
    """Grab the window once the vault is open and the detail pane shows the first report."""
    session = window.session
    taken = [False]

    def shoot() -> None:
        if taken[0]:
            return
        taken[0] = True
        window.repaint()
        app.processEvents()
        if not window.grab().save(str(path), "PNG"):
            print(f"{PROG}: error: cannot write the screenshot to {path}", file=sys.stderr)
            exit_code[0] = 1
        window.close()
        app.quit()

    def unlocked() -> None:
        if window.list_pane.model.rowCount() == 0:
            timer_cls.singleShot(300, shoot)  # an empty vault: nothing will be shown

    def give_up() -> None:
        print(f"{PROG}: error: the window did not finish loading; no screenshot taken",
              file=sys.stderr)
        exit_code[0] = 1
        window.close()
        app.quit()

    session.sig_unlocked.connect(unlocked)
    window.detail_pane.sig_shown.connect(lambda: timer_cls.singleShot(300, shoot))
    timer_cls.singleShot(SCREENSHOT_TIMEOUT_MS, give_up)


if __name__ == "__main__":
    sys.exit(main())
