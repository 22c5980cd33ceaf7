"""Tampering and damage, in the spirit of KeePassXC's TestHmacBlockStream: flip bytes, swap
records, truncate and overwrite the file, and expect a clear error every time.

Which error for which damage (a product decision, so it is written down here):

- A stored record (report summary, report body, outbox entry, secret) with a flipped byte, or
  holding another row's ciphertext: ``VaultTamperedError`` naming its table. Every record is
  AES-256-GCM bound to its table letter and row lookup.
- Key material in ``meta`` (wrapped key, verifier, KDF parameters, vault id, format version, the
  header checksum itself) with a flipped byte: ``VaultTamperedError`` ("key material was
  altered"), found by the header checksum before any key is derived.
- The same edits *plus* a recomputed header checksum (a deliberate forgery; the checksum has no
  key): a forged wrapped key, vault id or format version still fails the wrapped key's AEAD:
  ``VaultTamperedError``. A forged verifier or KDF salt makes every passphrase derive a key that
  does not match, which no one can tell from a wrong passphrase: ``WrongPassphraseError`` is the
  right answer there. Out-of-range KDF parameters are refused before deriving anything:
  ``VaultTamperedError``.
- A truncated file, an overwritten SQLite header or a zeroed page: ``VaultTamperedError``.

Every failed open leaves the file byte for byte as it was, with no -wal/-shm left behind, and
the CLI says so in one line with exit status 1.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from identity_desktop.bundles.keys import SECRET_NAME as AGE_IDENTITY
from identity_desktop.demo import generate_reports
from identity_desktop.desk import Desk
from identity_desktop.errors import VaultTamperedError, WrongPassphraseError
from identity_desktop.outbox.store import list_entries, queue_sessions
from identity_desktop.vault import Vault
from identity_desktop.vault.reports import get_report, load_summaries
from tests.conftest import PASSPHRASE
from tests.core._support import (
    NOW,
    CliSetup,
    cli,
    copy_vault,
    digest,
    isolated_env,
    make_vault,
    one_error_line,
    vault_files,
    write_passphrase,
    write_reports,
)

HEADER_FIELDS = ("magic", "format_version", "vault_id", "kdf", "verifier", "wrapped_key")
SECRET = "tamper-test"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("tamper")
    reports = list(generate_reports(30, seed=9, now=NOW))
    path = make_vault(root / "template.idvault", reports)
    with Vault.open(path, PASSPHRASE) as vault:
        vault.set_secret(SECRET, b"a secret that must stay intact")
        queue_sessions(vault, [reports[4]["verification_session"]])
        lookups = {
            "report": [vault.cipher.lookup(b"report", r["id"]) for r in reports],
            "secret": vault.cipher.lookup(b"secret", SECRET),
        }
    return {"path": path, "reports": reports, "lookups": lookups, "cli": CliSetup.under(root)}


@pytest.fixture
def vault_path(template: dict[str, Any], tmp_path: Path) -> Path:
    return copy_vault(template["path"], tmp_path / "vault" / "vault.idvault")


@pytest.fixture
def run(template: dict[str, Any], vault_path: Path) -> Callable[..., Any]:
    return template["cli"].runner(vault_path)


# -- raw edits with plain sqlite3, as an attacker or a bad disk would -----------------------

def _edit(path: Path, sql: str, *params: Any) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute(sql, params)
        conn.commit()
    finally:
        conn.close()


def _read(path: Path, sql: str, *params: Any) -> Any:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchone()[0]
    finally:
        conn.close()


def _flip(blob: bytes, pos: int) -> bytes:
    out = bytearray(blob)
    out[pos] ^= 0x01
    return bytes(out)


def _positions(size: int) -> Iterator[int]:
    """Every byte of a short blob; the edges and a stride through a long one."""
    yield from range(size) if size <= 256 else sorted(
        {*range(24), *range(size - 24, size), *range(24, size - 24, 41)})


def _checksum(fields: dict[str, bytes]) -> bytes:
    """The header checksum as the file format defines it (length-prefixed SHA-256)."""
    h = hashlib.sha256()
    for name in HEADER_FIELDS:
        h.update(len(fields[name]).to_bytes(4, "big") + fields[name])
    return h.digest()


def _meta(path: Path) -> dict[str, bytes]:
    conn = sqlite3.connect(path)
    try:
        return {n: bytes(v) if isinstance(v, bytes) else str(v).encode()
                for n, v in conn.execute("SELECT name, value FROM meta")}
    finally:
        conn.close()


# -- failed opens: clear error, nothing written ---------------------------------------------

def _open_fails(path: Path, passphrase: str = PASSPHRASE) -> Exception:
    """Open in-process and through the CLI; both must fail cleanly without touching the file."""
    before, names = digest(path), vault_files(path)
    with pytest.raises((VaultTamperedError, WrongPassphraseError)) as info:
        Desk.open(path, passphrase)
    assert digest(path) == before and vault_files(path) == names
    return info.value


def _cli_fails(run: Callable[..., Any], path: Path, *args: str) -> str:
    before, names = digest(path), vault_files(path)
    line = one_error_line(run(*(args or ("list",))))
    assert digest(path) == before and vault_files(path) == names
    return line


def test_template_is_sound(template: dict[str, Any]) -> None:
    meta = _meta(template["path"])
    assert _checksum(meta) == meta["header_checksum"]  # our checksum model matches the format
    with Vault.open(template["path"], PASSPHRASE) as vault:
        assert len(load_summaries(vault)) == 30 and len(list_entries(vault)) == 1


def test_wrong_passphrase_and_tampering_are_told_apart(vault_path: Path,
                                                       run: Callable[..., Any],
                                                       tmp_path: Path) -> None:
    error = _open_fails(vault_path, "not the passphrase")
    assert isinstance(error, WrongPassphraseError)
    assert str(error) == f"wrong passphrase for the vault at {vault_path}"
    wrong = write_passphrase(tmp_path / "wrong.txt", "not the passphrase")
    line = one_error_line(cli("list", env=isolated_env(tmp_path), vault=vault_path,
                              passphrase_file=wrong))
    assert "wrong passphrase" in line and "tampered" not in line

    _edit(vault_path, "UPDATE meta SET value = ? WHERE name = 'wrapped_key'",
          _flip(_meta(vault_path)["wrapped_key"], 20))
    error = _open_fails(vault_path)
    assert isinstance(error, VaultTamperedError)
    assert "tampered" in str(error) and "wrong passphrase" not in str(error)
    # The checksum is checked before the passphrase: damage is never blamed on the user.
    assert isinstance(_open_fails(vault_path, "not the passphrase"), VaultTamperedError)


# -- records --------------------------------------------------------------------------------

# A report's body, by the report's look-up hash (bodies are keyed by the report's row number).
_BODY_OF = "SELECT body FROM bodies WHERE seq = (SELECT seq FROM reports WHERE lookup = ?)"
_SET_BODY_OF = "UPDATE bodies SET body = ? WHERE seq = (SELECT seq FROM reports WHERE lookup = ?)"

RECORDS = {
    # kind: (table, column, key column, how to read it back in-process)
    "summary": ("reports", "summary", "seq"),
    "body": ("bodies", "body", "rowid"),
    "outbox": ("outbox", "entry", "seq"),
    "secret": ("secrets", "value", "rowid"),
}


def _reader(kind: str, template: dict[str, Any]) -> Callable[[Vault], object]:
    reports = template["reports"]
    readers: dict[str, Callable[[Vault], object]] = {
        "summary": load_summaries,
        "body": lambda v: [get_report(v, r["id"]) for r in reports],
        "outbox": list_entries,
        "secret": lambda v: v.get_secret(SECRET),
    }
    return readers[kind]


@pytest.mark.parametrize("kind", list(RECORDS))
def test_every_flipped_byte_of_a_record_is_detected(kind: str, template: dict[str, Any],
                                                    vault_path: Path) -> None:
    table, column, key = RECORDS[kind]
    row = _read(vault_path, f"SELECT max({key}) FROM {table}")
    blob = _read(vault_path, f"SELECT {column} FROM {table} WHERE {key} = ?", row)
    read_back = _reader(kind, template)
    editor = sqlite3.connect(vault_path)
    editor.execute("PRAGMA synchronous=OFF")  # thousands of tiny edits; durability is moot
    with Vault.open(vault_path, PASSPHRASE) as vault:
        read_back(vault)  # intact: reads fine
        for pos in _positions(len(blob)):
            editor.execute(f"UPDATE {table} SET {column} = ? WHERE {key} = ?",
                           (_flip(blob, pos), row))
            editor.commit()
            with pytest.raises(VaultTamperedError, match=f"a record in '{table}'"):
                read_back(vault)
        # Cut short, emptied, or longer: detected too.
        for bad in (blob[:-1], blob[:12], b"", blob + b"\x00"):
            editor.execute(f"UPDATE {table} SET {column} = ? WHERE {key} = ?", (bad, row))
            editor.commit()
            with pytest.raises(VaultTamperedError, match=f"a record in '{table}'"):
                read_back(vault)
        editor.execute(f"UPDATE {table} SET {column} = ? WHERE {key} = ?", (blob, row))
        editor.commit()
        read_back(vault)  # restored: reads fine again
    editor.close()


def test_flipped_records_through_the_cli(template: dict[str, Any], vault_path: Path,
                                         run: Callable[..., Any], tmp_path: Path) -> None:
    blob = _read(vault_path, "SELECT summary FROM reports WHERE seq = 7")
    _edit(vault_path, "UPDATE reports SET summary = ? WHERE seq = 7", _flip(blob, len(blob) // 2))
    line = _cli_fails(run, vault_path, "list")
    assert "damaged or was tampered with" in line and "'reports' (row 7)" in line
    _edit(vault_path, "UPDATE reports SET summary = ? WHERE seq = 7", blob)

    report = template["reports"][11]
    lookup = template["lookups"]["report"][11]
    body = _read(vault_path, _BODY_OF, lookup)
    _edit(vault_path, _SET_BODY_OF, _flip(body, 3), lookup)
    line = _cli_fails(run, vault_path, "show", report["id"])
    assert "damaged or was tampered with" in line and "'bodies'" in line
    _edit(vault_path, _SET_BODY_OF, body, lookup)

    entry = _read(vault_path, "SELECT entry FROM outbox")
    _edit(vault_path, "UPDATE outbox SET entry = ?", _flip(entry, len(entry) - 1))
    line = _cli_fails(run, vault_path, "list")
    assert "damaged or was tampered with" in line and "'outbox'" in line
    _edit(vault_path, "UPDATE outbox SET entry = ?", entry)

    # The vault's age identity, a secret that every import reads.
    with Vault.open(vault_path, PASSPHRASE) as vault:
        lookup = vault.cipher.lookup(b"secret", AGE_IDENTITY)
    secret = _read(vault_path, "SELECT value FROM secrets WHERE lookup = ?", lookup)
    _edit(vault_path, "UPDATE secrets SET value = ? WHERE lookup = ?", _flip(secret, 40), lookup)
    source = write_reports(tmp_path / "one.json", template["reports"][:1], "single")
    line = _cli_fails(run, vault_path, "import", str(source))
    assert "damaged or was tampered with" in line and "'secrets'" in line
    _edit(vault_path, "UPDATE secrets SET value = ? WHERE lookup = ?", secret, lookup)

    assert run("list").returncode == 0  # every edit undone: the vault is whole again


def test_swapped_records_are_detected(template: dict[str, Any], vault_path: Path,
                                      run: Callable[..., Any]) -> None:
    reports, lookups = template["reports"], template["lookups"]["report"]
    s3 = _read(vault_path, "SELECT summary FROM reports WHERE seq = 3")
    s8 = _read(vault_path, "SELECT summary FROM reports WHERE seq = 8")
    _edit(vault_path, "UPDATE reports SET summary = ? WHERE seq = 3", s8)
    _edit(vault_path, "UPDATE reports SET summary = ? WHERE seq = 8", s3)
    assert "'reports' (row 3)" in str(_open_fails(vault_path))
    assert "'reports' (row 3)" in _cli_fails(run, vault_path, "list")
    _edit(vault_path, "UPDATE reports SET summary = ? WHERE seq = 3", s3)
    _edit(vault_path, "UPDATE reports SET summary = ? WHERE seq = 8", s8)

    b1 = _read(vault_path, _BODY_OF, lookups[1])
    b2 = _read(vault_path, _BODY_OF, lookups[2])
    _edit(vault_path, _SET_BODY_OF, b2, lookups[1])
    _edit(vault_path, _SET_BODY_OF, b1, lookups[2])
    for i in (1, 2):
        assert "'bodies'" in _cli_fails(run, vault_path, "show", reports[i]["id"])
    with Vault.open(vault_path, PASSPHRASE) as vault:
        with pytest.raises(VaultTamperedError, match="'bodies'"):
            get_report(vault, reports[1]["id"])
        assert get_report(vault, reports[0]["id"]) == reports[0]  # others are untouched
    _edit(vault_path, _SET_BODY_OF, b1, lookups[1])
    _edit(vault_path, _SET_BODY_OF, b2, lookups[2])

    # A report's summary and its own body swapped: same row, other table -> other AD.
    s = _read(vault_path, "SELECT summary FROM reports WHERE lookup = ?", lookups[5])
    b = _read(vault_path, _BODY_OF, lookups[5])
    _edit(vault_path, "UPDATE reports SET summary = ? WHERE lookup = ?", b, lookups[5])
    _edit(vault_path, _SET_BODY_OF, s, lookups[5])
    assert "'reports'" in _cli_fails(run, vault_path, "list")
    with Vault.open(vault_path, PASSPHRASE) as vault, \
            pytest.raises(VaultTamperedError, match="'bodies'"):
        get_report(vault, reports[5]["id"])


# -- key material ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", [*HEADER_FIELDS, "header_checksum"])
def test_flipped_key_material_is_detected(name: str, vault_path: Path,
                                          run: Callable[..., Any]) -> None:
    value = _meta(vault_path)[name]
    for pos in sorted({0, len(value) // 2, len(value) - 1}):
        _edit(vault_path, "UPDATE meta SET value = ? WHERE name = ?", _flip(value, pos), name)
        error = _open_fails(vault_path)
        assert isinstance(error, VaultTamperedError), (name, pos, error)
        expected = "header is damaged" if name == "magic" else "key material was altered"
        assert expected in str(error)
    assert expected in _cli_fails(run, vault_path, "list")
    _edit(vault_path, "DELETE FROM meta WHERE name = ?", name)
    assert isinstance(_open_fails(vault_path), VaultTamperedError)


FORGED = {
    # field: (edit to its value, the error that is right for it)
    "wrapped_key": (lambda v: _flip(v, 30), VaultTamperedError),
    "vault_id": (lambda v: _flip(v, 0), VaultTamperedError),
    "format_version": (lambda v: b"0", VaultTamperedError),
    "verifier": (lambda v: _flip(v, 5), WrongPassphraseError),
    "kdf": (lambda v: v.replace(b'"salt": "', b'"salt": "00'), WrongPassphraseError),
    "kdf-range": (lambda v: v.replace(b'"memory_kib": 8192', b'"memory_kib": 1'),
                  VaultTamperedError),
    "kdf-json": (lambda v: v[:-3], VaultTamperedError),
}


@pytest.mark.parametrize("case", list(FORGED))
def test_forged_key_material_with_a_recomputed_checksum(case: str, vault_path: Path) -> None:
    name = case.split("-")[0]
    edit, expected = FORGED[case]
    fields = _meta(vault_path)
    fields[name] = edit(fields[name])
    assert fields[name] != _meta(vault_path)[name]
    _edit(vault_path, "UPDATE meta SET value = ? WHERE name = ?", fields[name], name)
    _edit(vault_path, "UPDATE meta SET value = ? WHERE name = 'header_checksum'",
          _checksum(fields))
    error = _open_fails(vault_path)
    assert isinstance(error, expected), (case, error)  # the two are siblings


# -- the file itself ------------------------------------------------------------------------

@pytest.mark.parametrize("cut", [1, 100, 4095, 4096, 3 * 4096 + 7, "half", "header"])
def test_truncated_file_is_detected(cut: int | str, vault_path: Path,
                                    run: Callable[..., Any]) -> None:
    size = vault_path.stat().st_size
    keep = {"half": size // 2, "header": 50}.get(cut) if isinstance(cut, str) \
        else size - cut
    with open(vault_path, "r+b") as f:
        f.truncate(keep)
    error = _open_fails(vault_path)
    assert isinstance(error, VaultTamperedError)
    assert str(vault_path) in str(error)
    line = _cli_fails(run, vault_path, "list")
    assert "damaged" in line or "not an Identity Desk vault" in line or "not a readable" in line


@pytest.mark.parametrize("where", ["all zero", "magic", "page size", "rest of header"])
def test_overwritten_sqlite_header_is_detected(where: str, vault_path: Path,
                                               run: Callable[..., Any]) -> None:
    start, data = {"all zero": (0, bytes(100)), "magic": (0, b"SQLite format 4\x00"),
                   "page size": (16, b"\x00\x03"), "rest of header": (16, b"\xff" * 84)}[where]
    with open(vault_path, "r+b") as f:
        f.seek(start)
        f.write(data)
    assert isinstance(_open_fails(vault_path), VaultTamperedError)
    assert str(vault_path) in _cli_fails(run, vault_path, "list")


@pytest.mark.parametrize("page", ["second", "middle", "last"])
def test_a_zeroed_page_is_reported_as_damage_not_a_crash(page: str, vault_path: Path,
                                                         template: dict[str, Any],
                                                         run: Callable[..., Any],
                                                         tmp_path: Path) -> None:
    with open(vault_path, "rb") as f:
        size = int.from_bytes(f.read(18)[16:18], "big")  # SQLite's page size, from its header
    pages = vault_path.stat().st_size // size
    index = {"second": 1, "middle": pages // 2, "last": pages - 1}[page]
    with open(vault_path, "r+b") as f:
        f.seek(index * size)
        f.write(bytes(size))
    before = digest(vault_path)
    damaged: list[str] = []  # what could not be read, each time as VaultTamperedError
    try:
        vault = Vault.open(vault_path, PASSPHRASE)
    except VaultTamperedError:
        damaged.append("open")
    else:
        with vault:
            for name, read in (("summaries", load_summaries), ("outbox", list_entries),
                               ("secret", lambda v: v.get_secret(SECRET))):
                try:
                    read(vault)
                except VaultTamperedError:
                    damaged.append(name)
            for report in template["reports"]:
                try:
                    assert get_report(vault, report["id"]) == report
                except VaultTamperedError:
                    damaged.append(report["id"])
    assert damaged, "the damage went unnoticed"
    assert digest(vault_path) == before
    # The same damage through the CLI, with a command that reads what is damaged.
    if {"open", "summaries", "outbox"} & set(damaged):
        result = run("list")
    elif "secret" in damaged:  # import reads the vault's age identity from the secrets
        source = write_reports(tmp_path / "one.json", template["reports"][:1], "single")
        result = run("import", str(source))
    else:
        result = run("show", damaged[0])
    assert "damaged" in one_error_line(result)
    assert digest(vault_path) == before
