"""Packaging: the desktop integration files, and the self-contained build.

The fast tests check the .desktop file, the AppStream metainfo and the icons agree with each
other and with ``identity_desktop.APP_ID`` (and pass the freedesktop validators when installed).

The slow test runs ``packaging/build.sh`` (minutes: a virtualenv, PyInstaller) and then drives
the built ``dist/identity-desktop/identity-desktop`` as a user would, outside the repo and any
virtualenv: ``--version``, a demo-vault screenshot offscreen, an install and uninstall with
``packaging/install.sh``, and an audit that the folder holds no test data and no secrets. It
runs in CI (``CI=true``) or with ``IDENTITY_DESK_BUILD_TEST=1``.
"""

from __future__ import annotations

import ast
import configparser
import os
import re
import shutil
import struct
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import orjson
import pytest

from identity_desktop import APP_ID

REPO = Path(__file__).resolve().parent.parent
PACKAGING = REPO / "packaging"
ICONS = REPO / "resources" / "icons"
DESKTOP_FILE = PACKAGING / f"{APP_ID}.desktop"
METAINFO = PACKAGING / f"{APP_ID}.metainfo.xml"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
DIST = REPO / "dist" / "identity-desktop"
APP = DIST / "identity-desktop"
BUILD_TIMEOUT = 900  # seconds; a cold build (venv + downloads) takes 2-3 minutes on 2 cores


def _project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


# --- desktop integration (fast) ---------------------------------------------------------------

def test_desktop_entry_launches_the_gui_script_with_the_app_icon() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # keys are case-sensitive
    entry.read(DESKTOP_FILE, encoding="utf-8")
    section = entry["Desktop Entry"]
    assert section["Type"] == "Application"
    assert section["Exec"].split()[0] in _project()["gui-scripts"]  # identity-desktop
    assert section["Icon"] == APP_ID
    assert section["Terminal"] == "false"


def test_metainfo_names_the_app_id_its_desktop_entry_and_this_version() -> None:
    root = ET.parse(METAINFO).getroot()
    assert root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable") == DESKTOP_FILE.name
    assert root.findtext("provides/binary") in _project()["gui-scripts"]
    releases = [r.get("version") for r in root.iterfind("releases/release")]
    assert _project()["version"] in releases


@pytest.mark.parametrize(("tool", "args", "path"), [
    ("desktop-file-validate", [], DESKTOP_FILE),
    ("appstreamcli", ["validate", "--no-net"], METAINFO),
])
def test_desktop_files_pass_the_freedesktop_validators(tool: str, args: list[str],
                                                       path: Path) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} not installed (Debian: desktop-file-utils / appstream)")
    result = subprocess.run([tool, *args, str(path)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_app_icon_is_rendered_at_every_theme_size() -> None:
    assert (ICONS / f"{APP_ID}.svg").is_file()
    for size in ICON_SIZES:
        png = ICONS / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        assert _png_size(png) == (size, size)


def test_window_icon_is_the_app_icon() -> None:
    # One picture: the window loads the same app-id icon files the desktop integration installs.
    assert not (ICONS / "app.svg").exists()
    source = (REPO / "identity_desktop" / "ui" / "resources.py").read_text(encoding="utf-8")
    assert 'f"icons/{APP_ID}.svg"' in source and "hicolor/*/apps/{APP_ID}.png" in source


def test_window_imports_no_qt_module_the_build_leaves_out() -> None:
    spec = ast.parse((PACKAGING / "identity-desktop.spec").read_text(encoding="utf-8"))
    unused = next(ast.literal_eval(node.value) for node in spec.body
                  if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") ==
                  "UNUSED_QT")
    used = set()
    for path in (REPO / "identity_desktop" / "ui").rglob("*.py"):
        used |= set(re.findall(r"PySide6\.(Qt\w+)", path.read_text(encoding="utf-8")))
    assert used, "no PySide6 import found under identity_desktop/ui/"
    assert not used & set(unused), f"imported but left out of the build: {used & set(unused)}"


# --- the built app (slow) ---------------------------------------------------------------------

build_enabled = pytest.mark.skipif(
    os.environ.get("IDENTITY_DESK_BUILD_TEST") != "1" and os.environ.get("CI") != "true",
    reason="builds the app (minutes): set IDENTITY_DESK_BUILD_TEST=1 (CI runs it)")


def _user_env(home: Path) -> dict[str, str]:
    """A bare environment, as a desktop launcher would give: no virtualenv, no PYTHONPATH."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
            "XDG_STATE_HOME": str(home / "state"), "XDG_DATA_HOME": str(home / "data"),
            "XDG_CONFIG_HOME": str(home / "config"), "XDG_CACHE_HOME": str(home / "cache"),
            "TMPDIR": str(home / "tmp"), "QT_QPA_PLATFORM": "offscreen"}


@pytest.fixture(scope="module")
def built_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("build-home")  # pip's cache stays out of the real HOME
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / "cache"),
           "PYTHON": sys.executable}
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    result = subprocess.run(["bash", str(PACKAGING / "build.sh")], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    assert result.returncode == 0, f"build failed:\n{result.stdout}\n{result.stderr[-6000:]}"
    print(result.stderr.strip().splitlines()[-1])  # "built ... in Ns; ... is NM"
    assert os.access(APP, os.X_OK)
    return APP


@pytest.fixture
def user_home(tmp_path: Path) -> Path:
    home = tmp_path / "user"
    for sub in ("state", "data", "config", "cache", "tmp"):
        (home / sub).mkdir(parents=True)
    return home


@pytest.mark.slow
@build_enabled
def test_built_app_prints_the_package_version(built_app: Path, user_home: Path) -> None:
    result = subprocess.run([str(built_app), "--version"], cwd=user_home, capture_output=True,
                            text=True, env=_user_env(user_home), timeout=60)
    assert result.returncode == 0, result.stderr
    version = _project()["version"]
    assert result.stdout.split() == ["identity-desktop", version]
    # ... and the frozen package metadata says the same (importlib.metadata reads it).
    metadata = list(DIST.glob("_internal/identity_desktop-*.dist-info/METADATA"))
    assert len(metadata) == 1
    assert f"\nVersion: {version}\n" in metadata[0].read_text(encoding="utf-8")


@pytest.mark.slow
@build_enabled
def test_built_app_shows_the_demo_window_offscreen(built_app: Path, user_home: Path) -> None:
    shot = user_home / "window.png"
    result = subprocess.run([str(built_app), "--demo", "--demo-count", "500", "--screenshot",
                             str(shot)], cwd=user_home, capture_output=True, text=True,
                            env=_user_env(user_home), timeout=300)
    assert result.returncode == 0, result.stderr
    width, height = _png_size(shot)
    assert width >= 1200 and height >= 750
    # The demo vault lived in a private temp folder and is gone with the window.
    assert not list((user_home / "tmp").glob("identity-desk-*"))


@pytest.mark.slow
@build_enabled
def test_built_app_runs_the_import_helper(built_app: Path, user_home: Path) -> None:
    """Large imports start the executable again as their helper process; the frozen one must
    answer as ``python -m identity_desktop.importing.helper`` does."""
    from identity_desktop.demo import generate_reports
    from identity_desktop.importing.helper import decode_all, read_answer
    from identity_desktop.importing.records import split_elements

    payload = orjson.dumps(list(generate_reports(50, seed=3, now=1_790_000_000)))
    result = subprocess.run([str(built_app), "--import-helper"], input=payload,
                            cwd=user_home, capture_output=True, env=_user_env(user_home),
                            timeout=120)
    assert result.returncode == 0 and result.stderr == b""
    elements = split_elements(payload)
    assert elements is not None
    assert read_answer(result.stdout) == [list(o) for o in decode_all(elements)]


@pytest.mark.slow
@build_enabled
def test_built_app_has_no_test_data_or_secrets(built_app: Path) -> None:
    # Independent of the build's own audit: a plain walk of the folder ...
    for path in DIST.rglob("*"):
        rel = path.relative_to(DIST).as_posix()
        assert "tests/" not in rel and "fake_stripe" not in rel, rel
        assert path.suffix not in (".idvault", ".key"), rel
    # ... and packaging/audit_dist.py, which also reads the frozen modules and scans every file
    # for key-shaped secrets (bare "sk_test_" prefixes are fine: the app checks keys by them).
    audit = subprocess.run([str(REPO / "build" / "venv" / "bin" / "python"),
                            str(PACKAGING / "audit_dist.py"), str(DIST)],
                           capture_output=True, text=True, timeout=300)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "0 finding(s)" in audit.stderr


@pytest.mark.slow
@build_enabled
def test_install_and_uninstall(built_app: Path, user_home: Path) -> None:
    prefix = user_home / "prefix"
    env = {**_user_env(user_home), "PREFIX": str(prefix)}
    script = str(PACKAGING / "install.sh")
    done = subprocess.run(["bash", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    launcher = prefix / "bin" / "identity-desktop"
    version = subprocess.run([str(launcher), "--version"], capture_output=True, text=True,
                             env=_user_env(user_home), timeout=60)
    assert version.stdout.split() == ["identity-desktop", _project()["version"]]
    desktop = prefix / "share" / "applications" / DESKTOP_FILE.name
    assert f"Exec={prefix}/opt/identity-desktop/identity-desktop" in desktop.read_text()
    assert (prefix / "share" / "metainfo" / METAINFO.name).is_file()
    for size in ICON_SIZES:
        assert (prefix / "share/icons/hicolor" / f"{size}x{size}/apps/{APP_ID}.png").is_file()

    gone = subprocess.run(["bash", script, "--uninstall"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert gone.returncode == 0, gone.stderr
    assert not launcher.exists() and not launcher.is_symlink()
    assert not (prefix / "opt" / "identity-desktop").exists()
    assert not desktop.exists()
    assert not list(prefix.rglob(f"{APP_ID}*"))
