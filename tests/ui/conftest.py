"""Fixtures for the window tests: Qt offscreen, a small real vault, a window per test.

The template vault (300 generated reports, real encryption) is built once per session with a
cheap Argon2id setting and copied for each test, so a test pays for one quick unlock, not for a
vault build. "Today" is pinned so expiry cues are stable.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any QApplication exists

import pytest
import shiboken6
from PySide6.QtCore import QSettings

from identity_desktop.demo import generate_reports
from identity_desktop.vault.crypto import KdfParams
from identity_desktop.vault.reports import upsert_reports
from identity_desktop.vault.store import Vault
from tests.conftest import PASSPHRASE
from tests.fake_stripe import FakeStripe

NOW = 1_790_000_000  # 2026-09-21, fixed so generated data and cues never drift
TODAY = dt.datetime.fromtimestamp(NOW, dt.UTC).date()
REPORTS = 300
WAIT = 10_000  # ms: generous bound for every wait; nothing sleeps


def cheap_kdf() -> KdfParams:
    return KdfParams(salt=os.urandom(16), iterations=1, memory_kib=8 * 1024, lanes=1)


def demo_reports(count: int = REPORTS, seed: int = 3, now: int = NOW) -> list[dict]:
    return list(generate_reports(count, seed=seed, now=now))


@pytest.fixture(scope="session")
def template_vault(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "vault.idvault"
    vault = Vault.create(path, PASSPHRASE, kdf=cheap_kdf())
    upsert_reports(vault, demo_reports())
    vault.lock()
    return path


@pytest.fixture
def vault_file(template_vault: Path, vault_path: Path) -> Path:
    vault_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template_vault, vault_path)
    return vault_path


def make_context(qapp, vault: Path, tmp_path: Path, *, idle_ms: int = 0,
                 clipboard_ms: int = 30_000):
    from identity_desktop.ui.context import UiContext
    from identity_desktop.ui.settings import UiSettings

    settings = UiSettings(QSettings(str(tmp_path / "ui-settings.ini"),
                                    QSettings.Format.IniFormat))
    return UiContext.create(qapp, vault, settings=settings, idle_ms=idle_ms,
                            clipboard_ms=clipboard_ms, today=lambda: TODAY)


@pytest.fixture
def window_factory(qapp, qtbot, tmp_path: Path) -> Iterator:
    """``window_factory(vault, **context_options)`` -> a shown MainWindow, closed afterwards
    (which locks the vault and stops its thread)."""
    from identity_desktop.ui.main_window import MainWindow

    made = []

    def make(vault: Path, **options):
        context = make_context(qapp, vault, tmp_path, **options)
        window = MainWindow(context, load_extensions=False)
        made.append(window)
        window.show()
        return window

    yield make
    for window in made:
        window.close()
        window.context.shutdown()
        window.deleteLater()
    qapp.processEvents()


def gone(widget) -> bool:
    """Closed (and maybe deleted: dialogs delete themselves on close)."""
    return not shiboken6.isValid(widget) or not widget.isVisible()


def unlock(window, qtbot, passphrase: str = PASSPHRASE):
    """Unlock through the dialog and wait until the detail pane shows the first report."""
    dialog = window.request_unlock()
    dialog.passphrase.setText(passphrase)
    with qtbot.waitSignal(window.detail_pane.sig_shown, timeout=WAIT):
        dialog.submit()
    return dialog


@pytest.fixture
def unlocked(window_factory, vault_file: Path, qtbot):
    window = window_factory(vault_file)
    unlock(window, qtbot)
    return window


def on_vault(window, qtbot, fn: Callable[[Any], Any]) -> Any:
    """Run ``fn(desk)`` on the vault thread (where the vault lives) and return its result."""
    box: list[Any] = []
    op = window.session.run(lambda desk, _ctx: fn(desk), label="test")
    op.success(box.append)
    with qtbot.waitSignal(op.sig_finished, timeout=WAIT):
        op.run_in_background()
    assert box, "the op failed"
    return box[0]


STRIPE_KEY = "rk_test_51UiTestsKeyHd7Rq3Zx8Mn4"


@pytest.fixture
def server() -> Iterator[FakeStripe]:
    """A fake Stripe holding the same reports (and sessions) as the window's vault."""
    with FakeStripe(api_keys={STRIPE_KEY}) as fake:
        fake.add_reports(demo_reports())
        yield fake


def connect_to_stripe(window, qtbot, server: FakeStripe) -> None:
    """Point the window at ``server`` and store the API key in its vault."""
    from identity_desktop.stripe_api.client import store_key

    window.context.api_base = server.base_url
    on_vault(window, qtbot, lambda desk: store_key(desk.vault, STRIPE_KEY))
