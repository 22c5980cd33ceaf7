"""Key derivation, key wrapping and per-record authenticated encryption.

Nothing here is hand-rolled: Argon2id, HKDF and AES-256-GCM come from pyca ``cryptography``;
keyed look-up hashes are BLAKE2b in keyed (MAC) mode from ``hashlib``.

Key hierarchy::

    passphrase --Argon2id(salt, params)--> master --HKDF--> key-encryption key (KEK)
                                                     \\---> passphrase verifier
    KEK --AES-GCM(AD = header)--> data key (random, 32 bytes)
    data key --HKDF--> record key (AES-GCM for every record)
                   \\--> look-up key (keyed BLAKE2b for ids: no plaintext id is ever stored)

The verifier lets us tell a wrong passphrase (verifier mismatch) from tampered key material
(verifier matches but the wrapped data key fails authentication).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_SIZE = 12
TAG_SIZE = 16
KEY_SIZE = 32
LOOKUP_SIZE = 16


@dataclass(frozen=True)
class KdfParams:
    """Argon2id parameters, stored in the vault so they can be raised later without a migration.

    The default follows RFC 9106's second recommended option (64 MiB, 3 passes, 4 lanes): about
    0.2 s on a laptop core, which keeps unlocking a 100k-report vault well under 1.5 s.
    """

    salt: bytes
    iterations: int = 3
    memory_kib: int = 64 * 1024
    lanes: int = 4

    @classmethod
    def fresh(cls) -> KdfParams:
        return cls(salt=os.urandom(16))

    def to_dict(self) -> dict[str, object]:
        return {
            "alg": "argon2id",
            "salt": self.salt.hex(),
            "iterations": self.iterations,
            "memory_kib": self.memory_kib,
            "lanes": self.lanes,
        }

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> KdfParams:
        if d.get("alg") != "argon2id":
            raise ValueError("unknown key derivation")
        params = cls(
            salt=bytes.fromhex(str(d["salt"])),
            iterations=int(d["iterations"]),  # type: ignore[call-overload]
            memory_kib=int(d["memory_kib"]),  # type: ignore[call-overload]
            lanes=int(d["lanes"]),  # type: ignore[call-overload]
        )
        # Refuse absurd values a tampered header could use to hang or exhaust the machine.
        if not (1 <= params.iterations <= 64 and 8 * 1024 <= params.memory_kib <= 4 * 1024 * 1024
                and 1 <= params.lanes <= 64 and len(params.salt) >= 16):
            raise ValueError("key derivation parameters out of range")
        return params


def _hkdf(master: bytes, info: bytes, length: int = KEY_SIZE) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(master)


@dataclass(frozen=True)
class PassphraseKeys:
    kek: bytes
    verifier: bytes


def derive_passphrase_keys(passphrase: str, params: KdfParams) -> PassphraseKeys:
    master = Argon2id(
        salt=params.salt,
        length=KEY_SIZE,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
    ).derive(passphrase.encode("utf-8"))
    return PassphraseKeys(
        kek=_hkdf(master, b"identity-desk kek v1"),
        verifier=_hkdf(master, b"identity-desk passphrase verifier v1"),
    )


def verifier_matches(expected: bytes, keys: PassphraseKeys) -> bool:
    return hmac.compare_digest(expected, keys.verifier)


def wrap_key(kek: bytes, data_key: bytes, header_ad: bytes) -> bytes:
    nonce = os.urandom(NONCE_SIZE)
    return nonce + AESGCM(kek).encrypt(nonce, data_key, header_ad)


def _open_box(aead: AESGCM, blob: bytes, ad: bytes) -> bytes:
    # A blob cut shorter than nonce + tag would make AESGCM raise ValueError (bad nonce size):
    # it is damaged data like any other, so it fails authentication the same way.
    if len(blob) < NONCE_SIZE + TAG_SIZE:
        raise InvalidTag
    return aead.decrypt(blob[:NONCE_SIZE], blob[NONCE_SIZE:], ad)


def unwrap_key(kek: bytes, wrapped: bytes, header_ad: bytes) -> bytes:
    """Raises ``InvalidTag`` when the wrapped key or its header was altered."""
    return _open_box(AESGCM(kek), wrapped, header_ad)


class RecordCipher:
    """Encrypts records with AES-256-GCM, each bound by associated data to its table, column and
    row key, so that moving or swapping ciphertexts between rows fails authentication."""

    __slots__ = ("_aead", "_keyed", "_lookup_key", "_seal_into")

    def __init__(self, data_key: bytes) -> None:
        self._aead = AESGCM(_hkdf(data_key, b"identity-desk records v1"))
        self._lookup_key = _hkdf(data_key, b"identity-desk lookup v1")
        self._keyed: dict[bytes, Any] = {}  # personalisation -> keyed BLAKE2b state
        # cryptography >= 46 encrypts into a caller's buffer; older releases return new bytes.
        self._seal_into = getattr(self._aead, "encrypt_into", None)

    def _hash_all(self, person: bytes, items: Iterable[bytes | memoryview]) -> list[bytes]:
        """Keyed BLAKE2b of each item, from one state per personalisation with the key block
        already absorbed (a copy is a third cheaper than keying a new hash)."""
        keyed = self._keyed.get(person)
        if keyed is None:
            keyed = self._keyed[person] = hashlib.blake2b(
                key=self._lookup_key, person=person, digest_size=LOOKUP_SIZE)
        out = []
        for data in items:
            state = keyed.copy()
            state.update(data)
            out.append(state.digest())
        return out

    def lookup(self, kind: bytes, value: str) -> bytes:
        """Keyed hash of an identifier: stable for look-ups, meaningless without the key."""
        return self._hash_all(kind, (value.encode("utf-8"),))[0]

    def lookups(self, kind: bytes, values: Iterable[str]) -> list[bytes]:
        """``lookup`` of many values (the import's hot loop, without a call per value)."""
        return self._hash_all(kind, (value.encode("utf-8") for value in values))

    def digest(self, data: bytes | memoryview) -> bytes:
        """Keyed content digest, to tell "unchanged" on re-import without decrypting."""
        return self._hash_all(b"content", (data,))[0]

    def digests(self, items: Iterable[bytes | memoryview]) -> list[bytes]:
        """``digest`` of many items."""
        return self._hash_all(b"content", items)

    def sealer(self) -> Callable[[bytes, bytes | memoryview, bytes, memoryview], object]:
        """``seal(nonce, plaintext, ad, out)``: the ciphertext and tag of ``plaintext`` under the
        given fresh random nonce, written into ``out`` (exactly plaintext + tag long; the
        caller stores the nonce before it). The importer seals records straight into their
        packed rows with it, so it is the AEAD's own method where there is one."""
        if self._seal_into is not None:
            return self._seal_into  # type: ignore[no-any-return]
        aead = self._aead

        def seal(nonce: bytes, plaintext: bytes | memoryview, ad: bytes,
                 out: memoryview) -> None:
            out[:] = aead.encrypt(nonce, plaintext, ad)

        return seal

    def encrypt(self, plaintext: bytes, ad: bytes) -> bytes:
        nonce = os.urandom(NONCE_SIZE)
        return nonce + self._aead.encrypt(nonce, plaintext, ad)

    def decrypt(self, blob: bytes, ad: bytes) -> bytes:
        """Raises ``InvalidTag`` when the blob is not the one written for ``ad``."""
        return _open_box(self._aead, blob, ad)


__all__ = [
    "InvalidTag",
    "KdfParams",
    "PassphraseKeys",
    "RecordCipher",
    "derive_passphrase_keys",
    "unwrap_key",
    "verifier_matches",
    "wrap_key",
]
