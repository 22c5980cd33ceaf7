"""The encrypted vault: one SQLite file (WAL) holding every report, the outbox and secrets.

Guarantees:
- Every record is AES-256-GCM encrypted with associated data naming its table and row, so an
  edited, truncated or swapped ciphertext is detected (``VaultTamperedError``), never silently
  accepted.
- The header (format version, Argon2id parameters, passphrase verifier, wrapped data key) carries
  a checksum; a wrong passphrase (``WrongPassphraseError``) and altered key material
  (``VaultTamperedError``) are told apart, and neither writes to the file.
- A file SQLite itself finds damaged (truncated, overwritten pages) is reported as
  ``VaultTamperedError`` too, whether at open or by any later read or write, never as a bare
  ``sqlite3.DatabaseError``.
- Writes happen in transactions; a crash leaves the last committed state (SQLite WAL,
  ``synchronous=FULL``).
- The connection belongs to the thread that opened the vault. The window runs all vault work on
  one owner thread; network work never touches the connection directly.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from identity_desktop.errors import (
    UnsupportedVaultVersionError,
    VaultError,
    VaultExistsError,
    VaultLockedError,
    VaultNotFoundError,
    VaultTamperedError,
    WrongPassphraseError,
)
from identity_desktop.paths import ensure_private_dir
from identity_desktop.vault.crypto import (
    InvalidTag,
    KdfParams,
    RecordCipher,
    derive_passphrase_keys,
    unwrap_key,
    verifier_matches,
    wrap_key,
)
from identity_desktop.vault.format import MIGRATIONS, FormatVersion, create_schema

_MAGIC = "identity-desk vault"
_HEADER_FIELDS = ("magic", "format_version", "vault_id", "kdf", "verifier", "wrapped_key")


def _as_bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


class _Header:
    """The vault's ``meta`` rows, with a checksum so that accidental or deliberate edits to the
    key material are reported as tampering rather than as a wrong passphrase."""

    def __init__(self, fields: dict[str, bytes]) -> None:
        self.fields = fields

    @property
    def format_version(self) -> int:
        return int(self.fields["format_version"])

    @property
    def kdf(self) -> KdfParams:
        return KdfParams.from_dict(json.loads(self.fields["kdf"]))

    def associated_data(self) -> bytes:
        """What the wrapped data key is bound to: everything in the header but the key itself."""
        f = self.fields
        return b"\x00".join((f["magic"], f["format_version"], f["vault_id"], f["kdf"]))

    def checksum(self) -> bytes:
        h = hashlib.sha256()
        for name in _HEADER_FIELDS:
            h.update(len(self.fields[name]).to_bytes(4, "big") + self.fields[name])
        return h.digest()


_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26


class _DamagedFileError(VaultTamperedError, sqlite3.DatabaseError):
    """SQLite found the file itself damaged. Still a ``sqlite3.DatabaseError``, so cleanup code
    that tolerates SQLite errors (rollback, close) keeps working."""


def _check_damage(path: Path, exc: sqlite3.DatabaseError) -> None:
    """Raise ``_DamagedFileError`` for corruption; other errors (busy, locked, disk full...)
    are not the file's fault and go on as they are."""
    if isinstance(exc, VaultTamperedError):
        return
    if (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        raise _DamagedFileError(
            f"the vault at {path} is damaged or was tampered with: SQLite cannot read it "
            f"({exc})") from None


def _guarded(method: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(self: sqlite3.Cursor, *args: Any) -> Any:
        try:
            return method(self, *args)
        except sqlite3.DatabaseError as exc:
            _check_damage(self.connection.vault_path, exc)  # type: ignore[attr-defined]
            raise

    guarded.__name__ = method.__name__
    return guarded


class _VaultCursor(sqlite3.Cursor):
    """Every statement and every fetched row goes through :func:`_check_damage`, so damage
    met by any module (reports, outbox, secrets) reads as tampering, not as a crash."""

    execute = _guarded(sqlite3.Cursor.execute)
    executemany = _guarded(sqlite3.Cursor.executemany)
    __next__ = _guarded(sqlite3.Cursor.__next__)
    fetchone = _guarded(sqlite3.Cursor.fetchone)
    fetchmany = _guarded(sqlite3.Cursor.fetchmany)
    fetchall = _guarded(sqlite3.Cursor.fetchall)


class _VaultConnection(sqlite3.Connection):
    """Hands out :class:`_VaultCursor` for every statement, ``conn.execute`` included."""

    vault_path: Path

    def cursor(self, factory: Any = None) -> Any:
        return super().cursor(factory or _VaultCursor)

    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, seq: Any, /) -> Any:
        return self.cursor().executemany(sql, seq)


# Pages of a new vault. Bodies are ~1 KB records and every index key is a random keyed hash;
# 16 KiB pages cut the SQLite work of a 100k import by a quarter against the default 4 KiB
# (fewer, shallower B-tree pages to split and rewrite). Fixed when the file is made; vaults
# made with other sizes open as they are.
NEW_PAGE_SIZE = 16384


def _connect(path: Path, *, new: bool = False) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0,
                           factory=_VaultConnection)
    conn.vault_path = path
    try:
        if new:  # before WAL mode, which writes the first page
            conn.execute(f"PRAGMA page_size={NEW_PAGE_SIZE}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        # Sorting and temporary indices stay in memory: no SQLite temp file ever holds our pages.
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute("PRAGMA foreign_keys=ON")
    except BaseException:
        conn.close()  # else the -wal/-shm files it made outlive a failed open
        raise
    return conn


class Vault:
    """An open (unlocked) vault. Create with :meth:`create` or :meth:`open`; ``lock()`` drops the
    keys and closes the file."""

    def __init__(self, path: Path, conn: sqlite3.Connection, cipher: RecordCipher) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = conn
        self._cipher: RecordCipher | None = cipher
        self._owner = threading.get_ident()

    # -- lifecycle -------------------------------------------------------------------------
    @classmethod
    def create(cls, path: Path, passphrase: str, *, kdf: KdfParams | None = None) -> Vault:
        path = Path(path)
        if path.exists() and path.stat().st_size > 0:
            raise VaultExistsError(f"a vault already exists at {path}; refusing to overwrite it")
        if not passphrase:
            raise VaultError("the passphrase must not be empty")
        ensure_private_dir(path.parent)
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600) if not path.exists() \
            else os.open(path, os.O_WRONLY)
        os.close(fd)
        os.chmod(path, 0o600)
        kdf = kdf or KdfParams.fresh()
        keys = derive_passphrase_keys(passphrase, kdf)
        data_key = os.urandom(32)
        fields = {
            "magic": _MAGIC.encode(),
            "format_version": str(int(FormatVersion.current())).encode(),
            "vault_id": os.urandom(16).hex().encode(),
            "kdf": json.dumps(kdf.to_dict(), sort_keys=True).encode(),
            "verifier": keys.verifier,
        }
        header = _Header({**fields, "wrapped_key": b""})
        fields["wrapped_key"] = wrap_key(keys.kek, data_key, header.associated_data())
        header = _Header(fields)
        conn = _connect(path, new=True)
        try:
            with _transaction(conn):
                create_schema(conn)
                conn.executemany(
                    "INSERT INTO meta(name, value) VALUES (?, ?)",
                    [*header.fields.items(), ("header_checksum", header.checksum())],
                )
        except BaseException:
            conn.close()
            with contextlib.suppress(OSError):
                for suffix in ("", "-wal", "-shm"):
                    Path(str(path) + suffix).unlink()
            raise
        return cls(path, conn, RecordCipher(data_key))

    @classmethod
    def open(cls, path: Path, passphrase: str) -> Vault:
        path = Path(path)
        if not path.is_file():
            raise VaultNotFoundError(f"no vault at {path} (create one with 'identity-desk init')")
        conn = _connect_existing(path)
        try:
            header = _read_header(conn, path)
            keys = derive_passphrase_keys(passphrase, header.kdf)
            if not verifier_matches(header.fields["verifier"], keys):
                raise WrongPassphraseError(f"wrong passphrase for the vault at {path}")
            try:
                data_key = unwrap_key(keys.kek, header.fields["wrapped_key"],
                                      header.associated_data())
            except InvalidTag:
                raise VaultTamperedError(
                    f"the vault at {path} is damaged or was tampered with: its key material "
                    "fails authentication") from None
            vault = cls(path, conn, RecordCipher(data_key))
            vault._migrate(header.format_version, keys.kek, data_key)
            return vault
        except BaseException:
            conn.close()
            raise

    def _migrate(self, version: int, kek: bytes, data_key: bytes) -> None:
        """Upgrade the file to the current format, one version per transaction. The version is
        part of what the wrapped data key is bound to, so each step rewraps it (same key, same
        passphrase) along with the header checksum."""
        current = int(FormatVersion.current())
        if version > current:
            raise UnsupportedVaultVersionError(
                f"the vault at {self.path} has format version {version}; this app reads up to "
                f"{current}: install a newer Identity Desk")
        while version < current:
            step = MIGRATIONS[FormatVersion(version)]
            with self.transaction() as conn:
                step(conn)
                version += 1
                fields = dict(_read_header(conn, self.path).fields)
                fields["format_version"] = str(version).encode()
                fields["wrapped_key"] = wrap_key(kek, data_key,
                                                 _Header(fields).associated_data())
                conn.executemany("UPDATE meta SET value = ? WHERE name = ?",
                                 [(fields[n], n) for n in ("format_version", "wrapped_key")])
                conn.execute("UPDATE meta SET value = ? WHERE name = 'header_checksum'",
                             (_Header(fields).checksum(),))

    @property
    def is_locked(self) -> bool:
        return self._conn is None

    def lock(self) -> None:
        """Drop the keys and close the file. Safe to call twice."""
        self._cipher = None
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            self._conn.close()
            self._conn = None

    close = lock

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.lock()

    def change_passphrase(self, old: str, new: str) -> None:
        """Rewrap the data key under a key derived from ``new``, in one transaction."""
        if not new:
            raise VaultError("the new passphrase must not be empty")
        conn = self.conn
        header = _read_header(conn, self.path)
        old_keys = derive_passphrase_keys(old, header.kdf)
        if not verifier_matches(header.fields["verifier"], old_keys):
            raise WrongPassphraseError(f"wrong passphrase for the vault at {self.path}")
        data_key = unwrap_key(old_keys.kek, header.fields["wrapped_key"], header.associated_data())
        kdf = KdfParams(salt=os.urandom(16), iterations=header.kdf.iterations,
                        memory_kib=header.kdf.memory_kib, lanes=header.kdf.lanes)
        keys = derive_passphrase_keys(new, kdf)
        fields = dict(header.fields)
        fields["kdf"] = json.dumps(kdf.to_dict(), sort_keys=True).encode()
        fields["verifier"] = keys.verifier
        fields["wrapped_key"] = wrap_key(keys.kek, data_key, _Header(fields).associated_data())
        new_header = _Header(fields)
        with self.transaction() as c:
            c.executemany("UPDATE meta SET value = ? WHERE name = ?",
                          [(fields[n], n) for n in ("kdf", "verifier", "wrapped_key")])
            c.execute("UPDATE meta SET value = ? WHERE name = 'header_checksum'",
                      (new_header.checksum(),))

    # -- low-level access for the core modules (reports, outbox, secrets) ------------------
    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise VaultLockedError("the vault is locked")
        return self._conn

    @property
    def cipher(self) -> RecordCipher:
        if self._cipher is None:
            raise VaultLockedError("the vault is locked")
        return self._cipher

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with _transaction(self.conn) as conn:
            yield conn

    def decrypt(self, table: str, blob: bytes, ad: bytes, where: str = "") -> bytes:
        try:
            return self.cipher.decrypt(blob, ad)
        except InvalidTag:
            raise VaultTamperedError(
                f"the vault at {self.path} is damaged or was tampered with: a record in "
                f"'{table}'{where} fails its integrity check") from None

    # -- encrypted settings and secrets ----------------------------------------------------
    def get_secret(self, name: str) -> bytes | None:
        lookup = self.cipher.lookup(b"secret", name)
        row = self.conn.execute("SELECT value FROM secrets WHERE lookup = ?", (lookup,)).fetchone()
        if row is None:
            return None
        return self.decrypt("secrets", row[0], b"K" + lookup)

    def set_secret(self, name: str, value: bytes | None) -> None:
        lookup = self.cipher.lookup(b"secret", name)
        with self.transaction() as conn:
            if value is None:
                conn.execute("DELETE FROM secrets WHERE lookup = ?", (lookup,))
            else:
                conn.execute(
                    "INSERT INTO secrets(lookup, value) VALUES (?, ?) "
                    "ON CONFLICT(lookup) DO UPDATE SET value = excluded.value",
                    (lookup, self.cipher.encrypt(value, b"K" + lookup)))

    def get_json(self, name: str, default: Any = None) -> Any:
        raw = self.get_secret(name)
        return default if raw is None else json.loads(raw)

    def set_json(self, name: str, value: Any) -> None:
        self.set_secret(name, None if value is None else json.dumps(value).encode())

    def integrity_check(self) -> str:
        return str(self.conn.execute("PRAGMA integrity_check").fetchone()[0])


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _check_length(path: Path, head: bytes) -> None:
    """Refuse a file shorter than SQLite's header says it is: it was truncated.

    The page count in the header is trusted only when SQLite marks it valid (change counter
    equal to "version valid for"), and only when no write-ahead log holds pages yet to be
    copied back: after a crash mid-checkpoint the file may be short until the log is replayed.
    """
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(head[28:32], "big")
    if not pages or head[24:28] != head[92:96]:
        return
    with contextlib.suppress(OSError):  # no log at all: the file must stand alone
        if os.path.getsize(str(path) + "-wal") > 32:  # 32 bytes: a log header, no frames
            return
    if path.stat().st_size < pages * page_size:
        raise VaultTamperedError(
            f"the vault at {path} is damaged or was tampered with: the file is shorter than "
            "its header says (truncated?)")


def _connect_existing(path: Path) -> sqlite3.Connection:
    try:
        # Read the SQLite header ourselves first: connecting must never turn a non-vault file
        # into a vault (SQLite would happily create tables in an empty file).
        with open(path, "rb") as f:
            head = f.read(100)
        if len(head) < 100 or not head.startswith(b"SQLite format 3\x00"):
            raise VaultTamperedError(
                f"{path} is not an Identity Desk vault, or its file header is damaged")
        _check_length(path, head)
        return _connect(path)
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, VaultTamperedError):
            raise
        raise VaultTamperedError(f"{path} is not a readable vault ({exc})") from None


def _read_header(conn: sqlite3.Connection, path: Path) -> _Header:
    try:
        rows = dict(conn.execute("SELECT name, value FROM meta").fetchall())
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, VaultTamperedError):
            raise
        raise VaultTamperedError(
            f"{path} is not an Identity Desk vault, or it is damaged") from None
    fields = {n: _as_bytes(rows[n]) for n in _HEADER_FIELDS if n in rows}
    if len(fields) != len(_HEADER_FIELDS) or fields["magic"] != _MAGIC.encode():
        raise VaultTamperedError(f"{path} is not an Identity Desk vault, or its header is damaged")
    header = _Header(fields)
    if _as_bytes(rows.get("header_checksum", b"")) != header.checksum():
        raise VaultTamperedError(
            f"the vault at {path} is damaged or was tampered with: its key material was altered")
    try:
        header.kdf  # noqa: B018 - parse now so a bad header is reported as such
        int(header.fields["format_version"])
    except (ValueError, KeyError, TypeError):
        raise VaultTamperedError(f"the vault header at {path} is damaged") from None
    return header
