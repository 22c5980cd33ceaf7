"""``identity-desktop --demo --screenshot FILE`` in a child process: a populated window PNG,
and the throwaway demo vault is gone afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QImage

from tests.conftest import REPO


def test_demo_screenshot(tmp_path: Path, isolated_home: Path):
    out = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "identity_desktop.ui.app", "--demo", "--demo-count", "400",
         "--screenshot", str(out)],
        capture_output=True, text=True, env=env, timeout=120, cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    image = QImage(str(out))
    assert not image.isNull()
    assert image.width() >= 1200 and image.height() >= 750
    # Populated, not a blank or locked page: many distinct colours across the list area.
    colours = {image.pixel(x, y) for x in range(300, image.width() - 450, 7)
               for y in range(80, image.height() - 40, 7)}
    assert len(colours) > 40
    leftovers = [p for p in Path(os.environ["TMPDIR"]).iterdir()
                 if p.name.startswith("identity-desk-")]
    assert leftovers == []  # the demo vault and scratch settings were deleted


def test_bad_options_exit_cleanly(tmp_path: Path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "identity_desktop.ui.app", "--passphrase-file",
         str(tmp_path / "missing.txt")], capture_output=True, text=True, env=env, timeout=60,
        cwd=REPO)
    assert result.returncode == 1
    assert result.stderr.startswith("identity-desktop: error: cannot read the passphrase file")
    assert "Traceback" not in result.stderr


def test_screenshot_of_a_vault_with_right_and_wrong_passphrase(tmp_path: Path, vault_file: Path,
                                                               passphrase_file: Path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    out = tmp_path / "vault.png"
    base = [sys.executable, "-m", "identity_desktop.ui.app", "--vault", str(vault_file),
            "--screenshot", str(out)]
    ok = subprocess.run([*base, "--passphrase-file", str(passphrase_file)], capture_output=True,
                        text=True, env=env, timeout=120, cwd=REPO)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert QImage(str(out)).width() >= 1200
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not it\n")
    out.unlink()
    bad = subprocess.run([*base, "--passphrase-file", str(wrong)], capture_output=True,
                         text=True, env=env, timeout=120, cwd=REPO)
    assert bad.returncode == 1 and "Wrong passphrase" in bad.stderr
    assert not out.exists()
