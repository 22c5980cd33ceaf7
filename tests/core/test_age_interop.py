"""Interop with the real ``age`` tool (Debian package ``age``): files it makes import, files we
make it opens, to public keys and with passphrases.

``age`` reads passphrases only from a terminal (/dev/tty), so those cases run it on a
pseudo-terminal (``pty.fork``) and answer its prompts; every wait is bounded.
"""

from __future__ import annotations

import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from identity_desktop.bundles import vault_identity
from identity_desktop.demo import generate_reports
from identity_desktop.vault import Vault
from identity_desktop.vault.reports import load_summaries
from tests.conftest import PASSPHRASE, REPO
from tests.core._support import NOW, digest, make_vault, one_error_line

AGE = shutil.which("age")
AGE_KEYGEN = shutil.which("age-keygen")
pytestmark = pytest.mark.skipif(
    AGE is None or AGE_KEYGEN is None,
    reason="the age tool is not installed (Debian/Ubuntu: apt-get install age); CI installs it")

COUNT = 25
BUNDLE_PASSPHRASE = "a long bundle passphrase for the field"


@pytest.fixture(scope="module")
def reports() -> list[dict[str, Any]]:
    return list(generate_reports(COUNT, seed=21, now=NOW))


@pytest.fixture
def vault(vault_path: Path) -> Path:
    return make_vault(vault_path)


@pytest.fixture
def vault_keys(vault: Path, inputs_dir: Path) -> tuple[str, Path]:
    """The vault's public key and its identity in an age key file (kept with the inputs: it
    is the test's own copy of a secret, not something the app wrote)."""
    with Vault.open(vault, PASSPHRASE) as v:
        secret = vault_identity(v)
    key_file = inputs_dir / "vault-key.txt"
    key_file.write_text(secret + "\n")
    public = subprocess.run([AGE_KEYGEN, "-y", str(key_file)], capture_output=True, text=True,
                            timeout=30, check=True).stdout.strip()
    return public, key_file


@pytest.fixture
def plain_batch(inputs_dir: Path, reports: list[dict[str, Any]]) -> Path:
    path = inputs_dir / "batch.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in reports))
    return path


def _age(*args: str) -> subprocess.CompletedProcess[bytes]:
    assert AGE is not None
    return subprocess.run([AGE, *args], capture_output=True, timeout=60)


def _stored(vault: Path) -> set[str]:
    with Vault.open(vault, PASSPHRASE) as v:
        return {s[0] for s in load_summaries(v)}


def _jsonl(data: bytes) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in data.splitlines() if line.strip()]


def run_on_terminal(argv: list[str], answers: list[tuple[bytes, bytes]], *,
                    env: dict[str, str] | None = None, timeout: float = 90) -> tuple[int, bytes]:
    """Run ``argv`` with a pseudo-terminal as its controlling terminal; whenever the next
    expected prompt appears in its output, type the answer. Returns (exit status, output)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: become the program at once
        try:
            if env is not None:
                os.execvpe(argv[0], argv, env)
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    output = b""
    seen = 0
    pending = list(answers)
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                raise AssertionError(f"{argv[0]} did not finish in {timeout} s: {output!r}")
            ready, _, _ = select.select([fd], [], [], min(left, 1.0))
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
            while pending and pending[0][0] in output[seen:]:
                prompt, answer = pending.pop(0)
                seen = output.index(prompt, seen) + len(prompt)
                os.write(fd, answer + b"\n")
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert not pending, f"{argv[0]} never asked {pending[0][0]!r}: {output!r}"
    return os.waitstatus_to_exitcode(status), output


# ---- public keys ------------------------------------------------------------------------------


def test_a_file_age_encrypted_to_our_key_imports(run_cli: Any, vault: Path, tmp_path: Path,
                                                 vault_keys: tuple[str, Path],
                                                 plain_batch: Path,
                                                 reports: list[dict[str, Any]]) -> None:
    public, _ = vault_keys
    binary, armored = tmp_path / "from-admin.age", tmp_path / "from-admin-armored.age"
    assert _age("-r", public, "-o", str(binary), str(plain_batch)).returncode == 0
    assert _age("-a", "-r", public, "-o", str(armored), str(plain_batch)).returncode == 0
    done = run_cli("import", str(binary))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{COUNT} added, 0 updated")
    assert _stored(vault) == {r["id"] for r in reports}
    done = run_cli("import", str(armored))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"0 added, 0 updated, {COUNT} unchanged")


def test_our_export_opens_with_age_for_every_recipient(
        run_cli: Any, vault: Path, tmp_path: Path, inputs_dir: Path,
        vault_keys: tuple[str, Path], plain_batch: Path,
        reports: list[dict[str, Any]]) -> None:
    assert run_cli("import", str(plain_batch)).returncode == 0
    public, key_file = vault_keys
    recovery_file = inputs_dir / "recovery-key.txt"
    assert AGE_KEYGEN is not None
    subprocess.run([AGE_KEYGEN, "-o", str(recovery_file)], capture_output=True, timeout=30,
                   check=True)
    recovery = subprocess.run([AGE_KEYGEN, "-y", str(recovery_file)], capture_output=True,
                              text=True, timeout=30, check=True).stdout.strip()
    out = tmp_path / "batch.age"
    done = run_cli("export", "--out", str(out), "--recipient", public, "--recipient", recovery)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"exported {COUNT} reports to {out}\n"
    by_id = {r["id"]: r for r in reports}
    for identity in (key_file, recovery_file):
        opened = _age("-d", "-i", str(identity), str(out))
        assert opened.returncode == 0, opened.stderr
        inside = _jsonl(opened.stdout)
        assert len(inside) == COUNT and all(r == by_id[r["id"]] for r in inside)

    armored = tmp_path / "batch-armored.age"
    assert run_cli("export", "--out", str(armored), "-a", "-r", public).returncode == 0
    opened = _age("-d", "-i", str(key_file), str(armored))
    assert opened.returncode == 0, opened.stderr
    assert len(_jsonl(opened.stdout)) == COUNT


def test_age_files_for_another_key_or_cut_short_are_refused(
        run_cli: Any, vault: Path, tmp_path: Path, inputs_dir: Path,
        vault_keys: tuple[str, Path], plain_batch: Path) -> None:
    public, _ = vault_keys
    assert AGE_KEYGEN is not None
    stranger = subprocess.run([AGE_KEYGEN], capture_output=True, text=True, timeout=30,
                              check=True).stdout
    stranger_public = next(line.split(": ", 1)[1] for line in stranger.splitlines()
                           if line.startswith("# public key: "))
    other = tmp_path / "for-someone-else.age"
    assert _age("-r", stranger_public, "-o", str(other), str(plain_batch)).returncode == 0
    ours = tmp_path / "ours.age"
    assert _age("-r", public, "-o", str(ours), str(plain_batch)).returncode == 0
    cut = tmp_path / "cut.age"
    cut.write_bytes(ours.read_bytes()[:-50])
    before = digest(vault)
    line = one_error_line(run_cli("import", str(other)))
    assert line.endswith(f"{other}: this bundle is not addressed to this vault's key "
                         "(wrong identity)")
    line = one_error_line(run_cli("import", str(cut)))
    assert line.endswith(f"{cut}: the bundle is truncated")
    assert digest(vault) == before


# ---- passphrases (age asks on a terminal) -----------------------------------------------------


def test_age_passphrase_file_imports(run_cli: Any, vault: Path, tmp_path: Path,
                                     inputs_dir: Path, plain_batch: Path,
                                     reports: list[dict[str, Any]]) -> None:
    assert AGE is not None
    bundle = tmp_path / "by-passphrase.age"
    status, output = run_on_terminal(
        [AGE, "-p", "-o", str(bundle), str(plain_batch)],
        [(b"Enter passphrase", BUNDLE_PASSPHRASE.encode()),
         (b"Confirm passphrase", BUNDLE_PASSPHRASE.encode())])
    assert status == 0, output
    assert b"-> scrypt " in bundle.read_bytes()[:100]
    secret_file = inputs_dir / "bundle-passphrase.txt"
    secret_file.write_text(BUNDLE_PASSPHRASE + "\n")
    line = one_error_line(run_cli("import", str(bundle)))  # a script without the option
    assert line.endswith("the bundle is passphrase-encrypted: give --bundle-passphrase-file")
    done = run_cli("import", str(bundle), "--bundle-passphrase-file", str(secret_file))
    assert done.returncode == 0, done.stderr
    assert _stored(vault) == {r["id"] for r in reports}


def test_our_passphrase_export_opens_with_age_and_import_prompts_for_it(
        run_cli: Any, vault: Path, tmp_path: Path, inputs_dir: Path, plain_batch: Path,
        passphrase_file: Path, reports: list[dict[str, Any]]) -> None:
    assert AGE is not None
    assert run_cli("import", str(plain_batch)).returncode == 0
    secret_file = inputs_dir / "bundle-passphrase.txt"
    secret_file.write_text(BUNDLE_PASSPHRASE + "\n")
    out = tmp_path / "for-the-field.age"
    done = run_cli("export", "--out", str(out), "--bundle-passphrase-file", str(secret_file))
    assert done.returncode == 0, done.stderr
    opened = inputs_dir / "opened.jsonl"  # age's plaintext output is the test's own file
    status, output = run_on_terminal([AGE, "-d", "-o", str(opened), str(out)],
                                     [(b"Enter passphrase", BUNDLE_PASSPHRASE.encode())])
    assert status == 0, output
    by_id = {r["id"]: r for r in reports}
    inside = _jsonl(opened.read_bytes())
    assert len(inside) == COUNT and all(r == by_id[r["id"]] for r in inside)

    # A person importing it at a terminal is asked for the bundle's passphrase.
    fresh = make_vault(tmp_path / "reviewer" / "vault.idvault")
    argv = [sys.executable, "-m", "identity_desktop.cli.main", "import", str(out),
            "--vault", str(fresh), "--passphrase-file", str(passphrase_file)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    status, output = run_on_terminal(argv, [(b"Bundle passphrase: ",
                                             BUNDLE_PASSPHRASE.encode())], env=env)
    assert status == 0, output
    assert f"{COUNT} added".encode() in output
    assert _stored(fresh) == {r["id"] for r in reports}
