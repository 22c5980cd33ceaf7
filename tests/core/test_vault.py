"""The vault as a library: creation, permissions, locking, passphrase change, versions, secrets,
and the frozen v1 file that every release must still open."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import stat
from pathlib import Path
from typing import Any

import orjson
import pytest

from identity_desktop import paths
from identity_desktop.demo import generate_reports
from identity_desktop.desk import Desk
from identity_desktop.errors import (
    UnsupportedVaultVersionError,
    VaultError,
    VaultExistsError,
    VaultLockedError,
    VaultNotFoundError,
    WrongPassphraseError,
)
from identity_desktop.report import is_redacted, redact_report, summarize
from identity_desktop.vault import FormatVersion, Vault
from identity_desktop.vault.crypto import (
    KdfParams,
    derive_passphrase_keys,
    unwrap_key,
    wrap_key,
)
from identity_desktop.vault.reports import (
    get_report,
    iter_reports,
    load_summaries,
    redact_session_locally,
    report_count,
    upsert_reports,
)
from tests.conftest import PASSPHRASE
from tests.core._support import NOW, digest, fast_kdf, make_vault

DATA = Path(__file__).resolve().parent.parent / "data"
FROZEN_PASSPHRASE = "identity desk frozen v1"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def reports() -> list[dict[str, Any]]:
    return list(generate_reports(25, seed=13, now=NOW))


def test_create_refuses_to_overwrite(tmp_path: Path) -> None:
    path = make_vault(tmp_path / "vault.idvault")
    before = digest(path)
    with pytest.raises(VaultExistsError, match="refusing to overwrite"):
        Vault.create(path, "another passphrase", kdf=fast_kdf())
    assert digest(path) == before
    with Vault.open(path, PASSPHRASE):  # still the same vault, same passphrase
        pass

    other = tmp_path / "notes.txt"
    other.write_text("not a vault, but someone's file\n")
    with pytest.raises(VaultExistsError):
        Vault.create(other, PASSPHRASE, kdf=fast_kdf())
    assert other.read_text() == "not a vault, but someone's file\n"

    with pytest.raises(VaultError, match="must not be empty"):
        Vault.create(tmp_path / "new.idvault", "", kdf=fast_kdf())
    assert not (tmp_path / "new.idvault").exists()


def test_file_and_folder_modes(tmp_path: Path, reports: list[dict[str, Any]]) -> None:
    old = os.umask(0o022)  # a permissive umask: the vault must be private all the same
    try:
        path = tmp_path / "new" / "folder" / "vault.idvault"
        vault = Vault.create(path, PASSPHRASE, kdf=fast_kdf())
        try:
            upsert_reports(vault, reports)
            assert _mode(path.parent) == 0o700
            for suffix in ("", "-wal", "-shm"):
                assert _mode(Path(str(path) + suffix)) == 0o600, suffix
        finally:
            vault.lock()
        assert _mode(path) == 0o600
    finally:
        os.umask(old)


def test_default_location_comes_from_platformdirs(isolated_home: Path) -> None:
    expected = Path(os.environ["XDG_DATA_HOME"]) / "identity-desk" / "vault.idvault"
    assert paths.default_vault_path() == expected
    assert str(expected).startswith(str(isolated_home))


def test_open_missing_vault(tmp_path: Path) -> None:
    with pytest.raises(VaultNotFoundError, match="no vault at"):
        Vault.open(tmp_path / "nothing.idvault", PASSPHRASE)
    assert not (tmp_path / "nothing.idvault").exists()


def test_lock_drops_the_keys(tmp_path: Path, reports: list[dict[str, Any]]) -> None:
    path = make_vault(tmp_path / "vault.idvault", reports)
    vault = Vault.open(path, PASSPHRASE)
    vault.set_json("setting", {"a": 1})
    vault.lock()
    assert vault.is_locked
    for operation in (lambda: vault.cipher, lambda: vault.conn,
                      lambda: vault.get_secret("setting"), lambda: vault.set_json("x", 1),
                      lambda: load_summaries(vault), lambda: get_report(vault, reports[0]["id"]),
                      lambda: upsert_reports(vault, reports[:1]), lambda: report_count(vault),
                      lambda: list(iter_reports(vault)), vault.integrity_check,
                      lambda: vault.transaction().__enter__()):
        with pytest.raises(VaultLockedError):
            operation()
    vault.lock()  # twice is fine
    assert not Path(str(path) + "-wal").exists()  # closed: SQLite removed its log

    desk = Desk.open(path, PASSPHRASE)
    assert len(desk.index) == len(reports)
    desk.lock()
    assert len(desk.index) == 0
    with pytest.raises(VaultLockedError):
        desk.report(reports[0]["id"])


def test_change_passphrase_keeps_everything(tmp_path: Path,
                                            reports: list[dict[str, Any]]) -> None:
    path = make_vault(tmp_path / "vault.idvault", reports)
    with Vault.open(path, PASSPHRASE) as vault:
        vault.set_secret("api", b"rk_test_kept")
        bodies = list(iter_reports(vault))
        with pytest.raises(WrongPassphraseError):
            vault.change_passphrase("not it", "new one")
        with pytest.raises(VaultError, match="must not be empty"):
            vault.change_passphrase(PASSPHRASE, "")
        vault.change_passphrase(PASSPHRASE, "a new passphrase")
        assert list(iter_reports(vault)) == bodies  # the open vault keeps working
    with pytest.raises(WrongPassphraseError):
        Vault.open(path, PASSPHRASE)
    with Vault.open(path, "a new passphrase") as vault:
        assert list(iter_reports(vault)) == bodies
        assert vault.get_secret("api") == b"rk_test_kept"


def test_secrets_and_settings(tmp_path: Path) -> None:
    path = make_vault(tmp_path / "vault.idvault")
    with Vault.open(path, PASSPHRASE) as vault:
        assert vault.get_secret("missing") is None and vault.get_json("missing", 7) == 7
        vault.set_secret("key", b"\x00\xffbytes")
        vault.set_json("settings", {"columns": [1, 2], "name": "Zoë"})
        vault.set_json("settings", {"columns": [3]})  # replaced, not duplicated
    with Vault.open(path, PASSPHRASE) as vault:
        assert vault.get_secret("key") == b"\x00\xffbytes"
        assert vault.get_json("settings") == {"columns": [3]}
        vault.set_secret("key", None)
        assert vault.get_secret("key") is None


def test_upsert_is_idempotent_and_redaction_sticks(tmp_path: Path,
                                                   reports: list[dict[str, Any]]) -> None:
    path = make_vault(tmp_path / "vault.idvault")
    with Vault.open(path, PASSPHRASE) as vault:
        first = upsert_reports(vault, reports)
        assert (first.added, first.updated, first.unchanged) == (len(reports), 0, 0)
        again = upsert_reports(vault, reports)
        assert (again.added, again.updated, again.unchanged, again.changed) == (
            0, 0, len(reports), [])
        target = next(r for r in reports if r.get("document") and not is_redacted(r))
        redact_session_locally(vault, target["verification_session"])
        assert is_redacted(get_report(vault, target["id"]) or {})
        # A later import of the unredacted copy does not bring the personal data back.
        upsert_reports(vault, [target])
        assert get_report(vault, target["id"]) == redact_report(target)
        assert load_summaries(vault)[reports.index(target)] == summarize(redact_report(target))


def test_newer_format_version_is_refused_clearly(tmp_path: Path) -> None:
    """A vault written by a later release (the next format version): rewrapped as that release
    would, so only the version tells it apart."""
    path = make_vault(tmp_path / "vault.idvault")
    conn = sqlite3.connect(path)
    meta = {n: bytes(v) for n, v in conn.execute("SELECT name, value FROM meta")}
    old_ad = b"\x00".join(meta[n] for n in ("magic", "format_version", "vault_id", "kdf"))
    keys = derive_passphrase_keys(PASSPHRASE, KdfParams.from_dict(json.loads(meta["kdf"])))
    data_key = unwrap_key(keys.kek, meta["wrapped_key"], old_ad)
    newer = int(FormatVersion.current()) + 1
    meta["format_version"] = str(newer).encode()
    new_ad = b"\x00".join(meta[n] for n in ("magic", "format_version", "vault_id", "kdf"))
    meta["wrapped_key"] = wrap_key(keys.kek, data_key, new_ad)
    h = hashlib.sha256()
    for n in ("magic", "format_version", "vault_id", "kdf", "verifier", "wrapped_key"):
        h.update(len(meta[n]).to_bytes(4, "big") + meta[n])
    meta["header_checksum"] = h.digest()
    conn.executemany("UPDATE meta SET value = ? WHERE name = ?",
                     [(v, n) for n, v in meta.items()])
    conn.commit()
    conn.close()
    before = digest(path)
    with pytest.raises(UnsupportedVaultVersionError, match=rf"format version {newer}.*newer"):
        Vault.open(path, PASSPHRASE)
    assert digest(path) == before
    assert not Path(str(path) + "-wal").exists()


def test_frozen_v1_vault_opens(tmp_path: Path) -> None:
    path = tmp_path / "vault-v1.idvault"
    shutil.copy(DATA / "vault-v1.idvault", path)  # never open the committed file itself
    expected = [orjson.loads(line) for line in
                (DATA / "vault-v1.reports.jsonl").read_bytes().splitlines()]
    assert len(expected) == 20
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT value FROM meta WHERE name = 'format_version'").fetchone()[0] \
        == b"1"
    conn.close()

    desk = Desk.open(path, FROZEN_PASSPHRASE)
    try:
        vault = desk.vault
        assert [desk.index.report_id(p) for p in range(len(desk.index))] == [
            r["id"] for r in expected]
        assert list(iter_reports(vault)) == expected
        assert load_summaries(vault) == [summarize(r) for r in expected]
        assert sum(1 for r in expected if is_redacted(r)) == 1
        assert vault.get_json("frozen-fixture") == {"format": 1, "reports": 20}
        assert vault.integrity_check() == "ok"
    finally:
        desk.lock()
    conn = sqlite3.connect(path)  # migrated (if this release is newer) to the current version
    assert conn.execute("SELECT value FROM meta WHERE name = 'format_version'").fetchone()[0] \
        == str(int(FormatVersion.current())).encode()
    conn.close()
    # ...and the migrated file opens again: the data key was rewrapped for the new header.
    vault = Vault.open(path, FROZEN_PASSPHRASE)
    try:
        assert list(iter_reports(vault)) == expected
        assert vault.integrity_check() == "ok"
    finally:
        vault.lock()
    with pytest.raises(WrongPassphraseError):
        Vault.open(path, PASSPHRASE)


def test_a_vault_open_elsewhere_still_opens(tmp_path: Path,
                                            reports: list[dict[str, Any]]) -> None:
    """The window holds the vault open with writes still in the log; the CLI opens it too."""
    path = make_vault(tmp_path / "vault.idvault")
    first = Vault.open(path, PASSPHRASE)
    try:
        upsert_reports(first, reports)
        assert os.path.getsize(str(path) + "-wal") > 32  # not yet copied into the file
        with Vault.open(path, PASSPHRASE) as second:
            assert report_count(second) == len(reports)
            assert list(iter_reports(second)) == reports
    finally:
        first.lock()
