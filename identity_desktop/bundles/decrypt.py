"""Opening a bundle: the age file in, its plaintext out, or one clear error per failure.

How pyrage (1.4) reports each case, and what we make of it (the header checks run first):

==================================  ===========================  ==============================
case                                pyrage says                  we say
==================================  ===========================  ==============================
no bytes / cut in the first line    "failed to fill whole        empty bundle / truncated
                                    buffer"
cut inside the header               "Incomplete header"          truncated
cut before the payload's nonce      "age file is truncated"      truncated
X25519 file, none of our keys       "No matching keys found"     wrong identity
scrypt file, no passphrase given    "No matching keys found"     give --bundle-passphrase-file
scrypt file, wrong passphrase       "Decryption failed"          wrong bundle passphrase
header edited (stanza still parses  "Header MAC is invalid",     altered or damaged
as before) or malformed             "Unknown age format..."
payload cut or edited               "decryption error"           truncated or altered, told
                                                                 apart by ``diagnose``
armor cut / bad armor characters    "invalid armor...",          truncated / altered
                                    "DecodeError: ..."
scrypt work factor over rage's      "Excessive work parameter    work factor too high
limit                               for passphrase..."
==================================  ===========================  ==============================

Limits of the format: an edit inside an X25519 stanza's key material reads as "wrong identity",
and one inside the scrypt stanza as "wrong passphrase", for age itself as well: the stanza is
only authenticated by the key it fails to unwrap.

Nothing is returned unless the whole payload passed its integrity check (pyrage decrypts all
of it before returning), so a damaged bundle never imports partly.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyrage
from pyrage import passphrase as age_passphrase

from identity_desktop.bundles import diagnose, errors
from identity_desktop.bundles.header import (
    ALTERED,
    TRUNCATED,
    Header,
    dearmor,
    is_armored,
    read_header,
)
from identity_desktop.bundles.keys import parse_identities
from identity_desktop.errors import BundleError

# pyrage's messages (its exceptions carry no codes); matched loosely, the rest is "damaged".
_NO_MATCHING_KEY = "no matching keys"
_UNWRAP_FAILED = "decryption failed"
_PAYLOAD_FAILED = "decryption error"
_HEADER_MAC = "header mac"
_EXCESSIVE_WORK = "excessive work"
_TRUNCATED_HINTS = ("failed to fill whole buffer", "incomplete header", "truncated")


def open_header(data: bytes, name: str) -> tuple[bytes, Header]:
    """The binary age file (de-armored) and its parsed header; raises for empty, foreign and
    truncated files."""
    binary = dearmor(data, name) if is_armored(data) else data
    return binary, read_header(binary, name)


def needs_passphrase(data: bytes) -> bool:
    """Whether these bytes are a passphrase-encrypted bundle (for asking before importing)."""
    try:
        return open_header(data, "")[1].needs_passphrase
    except BundleError:
        return False


def decrypt_bundle(data: bytes, *, name: str, identities: list[str],
                   passphrase: str | None) -> bytes:
    """Decrypt an age bundle (binary or ASCII-armored) with the vault's identities or, when it
    is passphrase-encrypted, ``passphrase``. Raises a :class:`BundleError` subclass."""
    binary, header = open_header(data, name)
    if header.needs_passphrase:
        if passphrase is None:
            raise errors.BundlePassphraseRequiredError(
                f"{name}: the bundle is passphrase-encrypted: give --bundle-passphrase-file")
        try:
            plaintext: bytes = age_passphrase.decrypt(binary, passphrase)
        except pyrage.DecryptError as exc:
            raise _mapped(exc, binary, header, name, [], passphrase) from None
    else:
        parsed = parse_identities(identities)
        try:
            plaintext = pyrage.decrypt(binary, parsed)
        except pyrage.DecryptError as exc:
            raise _mapped(exc, binary, header, name, identities, None) from None
    if not plaintext.strip():
        raise errors.BundleEmptyError(f"{name}: empty bundle (it holds no reports)")
    return plaintext


def _mapped(exc: Exception, binary: bytes, header: Header, name: str,
            identities: Sequence[str], passphrase: str | None) -> BundleError:
    message = str(exc).lower()
    if _NO_MATCHING_KEY in message:
        if header.needs_passphrase:  # not expected: scrypt files go through the passphrase path
            return errors.BundleWrongPassphraseError(f"{name}: wrong bundle passphrase")
        return errors.BundleWrongIdentityError(
            f"{name}: this bundle is not addressed to this vault's key (wrong identity)")
    if _EXCESSIVE_WORK in message:
        return BundleError(f"{name}: the bundle's passphrase work factor is too high to open "
                           "(made by an unusual tool, or altered)")
    if _UNWRAP_FAILED in message and passphrase is not None:
        return errors.BundleWrongPassphraseError(f"{name}: wrong bundle passphrase")
    if _PAYLOAD_FAILED in message:
        verdict = diagnose.payload_failure(binary, header, identities, passphrase)
        if verdict == diagnose.TRUNCATED:
            return errors.BundleTruncatedError(f"{name}: {TRUNCATED}")
        return errors.BundleTamperedError(f"{name}: {ALTERED}")
    if any(hint in message for hint in _TRUNCATED_HINTS):
        return errors.BundleTruncatedError(f"{name}: {TRUNCATED}")
    if _HEADER_MAC in message:
        return errors.BundleTamperedError(f"{name}: {ALTERED} (its header does not match its MAC)")
    return errors.BundleTamperedError(f"{name}: {ALTERED} (age: {str(exc).splitlines()[0][:100]})")
