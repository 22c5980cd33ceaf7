"""The core never imports Qt: only ``identity_desktop/ui/`` may import PySide6.

Two checks: a static one (every ``import``, ``from ... import``, ``__import__`` and
``importlib.import_module`` naming PySide6 or shiboken6 in the AST of every core module) and a
dynamic one (after importing every core module and running ``identity-desk list`` in a fresh
interpreter, PySide6 is not in ``sys.modules``).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import REPO
from tests.core._support import make_vault, write_passphrase

PACKAGE = REPO / "identity_desktop"
UI = PACKAGE / "ui"
FORBIDDEN = ("PySide6", "shiboken6")


def _forbidden(name: str) -> bool:
    return any(name == root or name.startswith(root + ".") for root in FORBIDDEN)


def qt_imports(source: str, filename: str = "<source>") -> Iterator[tuple[int, str]]:
    """(line, module) for every way ``source`` imports a Qt binding."""
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _forbidden(alias.name):
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.module and node.level == 0 and _forbidden(node.module):
                yield node.lineno, node.module
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if name in ("import_module", "__import__", "find_spec") and isinstance(
                    first, ast.Constant) and isinstance(first.value, str) and _forbidden(
                    first.value):
                yield node.lineno, first.value


def core_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if UI not in p.parents)


def test_the_scanner_sees_every_kind_of_import() -> None:
    source = "\n".join([
        "import PySide6",
        "import os, PySide6.QtCore as qc",
        "from PySide6.QtWidgets import QWidget",
        "from PySide6 import QtGui",
        "import importlib",
        "importlib.import_module('PySide6.QtNetwork')",
        "mod = __import__('shiboken6')",
        "from importlib import import_module; import_module('PySide6')",
        "import PySide6x  # another package",
        "from . import PySide6  # a local module of that name",
        "x = 'PySide6 is only mentioned'",
    ])
    assert [line for line, _ in qt_imports(source)] == [1, 2, 3, 4, 6, 7, 8]


def test_no_core_module_imports_pyside6() -> None:
    modules = core_modules()
    assert len(modules) > 15 and PACKAGE / "cli" / "main.py" in modules
    offenders = [f"{path.relative_to(REPO)}:{line}: {name}"
                 for path in modules
                 for line, name in qt_imports(path.read_text(encoding="utf-8"), str(path))]
    assert offenders == []


_PROBE = """
import importlib, sys
import identity_desktop.cli.main as cli_main

vault, passphrase, *names = sys.argv[1:]
for name in names:
    importlib.import_module(name)
status = cli_main.main(["list", "--vault", vault, "--passphrase-file", passphrase])
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6"))
print(status, loaded)
"""


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_running_the_cli_never_loads_pyside6(tmp_path: Path) -> None:
    # Module names come from the files: pkgutil.walk_packages would import ui/ to walk it.
    names = [_module_name(p) for p in core_modules() if p.name != "__main__.py"]
    vault = make_vault(tmp_path / "vault.idvault")
    passphrase = write_passphrase(tmp_path / "passphrase.txt")
    result = subprocess.run([sys.executable, "-c", _PROBE, str(vault), str(passphrase), *names],
                            capture_output=True, text=True, timeout=120, cwd=REPO)
    assert result.returncode == 0, result.stderr
    status, loaded = result.stdout.split(" ", 1)
    assert status == "0", result.stderr
    assert loaded.strip() == "[]"
