"""Check a built app folder for test data and secrets; build.sh runs it after every build.

    build/venv/bin/python packaging/audit_dist.py [dist/identity-desktop]

It looks at every file of the folder and at every Python module frozen into the executable
(PyInstaller's PYZ archive, read with PyInstaller's own reader: that is why it runs in the build
venv). Findings, one line each on stdout, exit status 1:

- a test or benchmark file or module (``tests/``, ``benchmarks/``, the fake Stripe server);
- a vault (``*.idvault``), a private key file (``*.key``, or a ``.pem``/``.crt`` holding a
  ``PRIVATE KEY`` block; public CA bundles such as certifi's and stripe's are expected);
- a key-shaped secret anywhere, text or binary: a Stripe secret/restricted key
  (``sk_live_``/``sk_test_``/``rk_live_``/``rk_test_`` followed by a key body) or an age
  identity (``AGE-SECRET-KEY-1`` followed by its bech32 body). The bare prefixes are expected:
  the app's own code and the stripe package check and mask keys by them, so only a prefix
  followed by enough key characters to be a usable key counts.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

# Stripe key bodies are 24+ alphanumerics (99 for newer ones); a mask like sk_test_…abcd is not.
STRIPE_KEY = re.compile(rb"\b[sr]k_(?:live|test)_[0-9A-Za-z]{16,}")
AGE_IDENTITY = re.compile(rb"AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{50,}")
PRIVATE_KEY = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----")
TEST_PATH = re.compile(r"(^|/)(tests|benchmarks|fake_stripe)(/|$)")
TEST_MODULE = re.compile(r"^(tests|benchmarks)(\.|$)|(^|\.)fake_stripe(\.|$)")


def _content_findings(label: str, data: bytes) -> Iterator[str]:
    if STRIPE_KEY.search(data):
        yield f"{label}: contains a Stripe secret key"
    if AGE_IDENTITY.search(data):
        yield f"{label}: contains an age secret identity"


def audit_files(folder: Path) -> Iterator[str]:
    for path in sorted(folder.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        rel = path.relative_to(folder).as_posix()
        if TEST_PATH.search(rel):
            yield f"{rel}: test or benchmark file"
        if path.suffix in (".idvault", ".key"):
            yield f"{rel}: vault or key file"
        data = path.read_bytes()
        if path.suffix in (".pem", ".crt") and PRIVATE_KEY.search(data):
            yield f"{rel}: holds a private key"
        yield from _content_findings(rel, data)


def frozen_modules(executable: Path) -> Iterator[tuple[str, bytes]]:
    """(name, marshalled code) of each module in the executable's PYZ archive; raw=True gives
    the decompressed bytes without unmarshalling, and string constants are plain in them."""
    from PyInstaller.archive.readers import CArchiveReader

    package = CArchiveReader(str(executable))
    for name, entry in package.toc.items():
        if entry[-1] != "z":  # PKG_ITEM_PYZ
            continue
        pyz = package.open_embedded_archive(name)
        for module in pyz.toc:
            yield module, pyz.extract(module, raw=True) or b""


def audit_modules(executable: Path) -> Iterator[str]:
    for name, code in frozen_modules(executable):
        if TEST_MODULE.search(name):
            yield f"module {name}: test or benchmark code"
        yield from _content_findings(f"module {name}", code)


def main(argv: list[str]) -> int:
    folder = Path(argv[0] if argv else "dist/identity-desktop")
    executable = folder / ("identity-desktop.exe" if sys.platform == "win32" else
                           "identity-desktop")
    if not executable.is_file():
        print(f"audit: {executable}: no such file (build first)")
        return 1
    findings = [*audit_files(folder), *audit_modules(executable)]
    for line in findings:
        print(f"audit: {line}")
    files = sum(1 for p in folder.rglob("*") if p.is_file())
    modules = sum(1 for _ in frozen_modules(executable))
    print(f"audit: {files} files, {modules} frozen modules, "
          f"{len(findings)} finding(s)", file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
