"""Telling a truncated bundle from an altered one, after pyrage has rejected its payload.

Why this exists: pyrage (like the ``age`` tool) reports every payload failure with the same
"decryption error", yet the user's remedy differs: a truncated file means "copy it again", an
altered one means "ask the sender, something changed it". The age payload is a STREAM of 64 KiB
ChaCha20-Poly1305 chunks whose last one is flagged, so with the file key we can tell:

- a chunk before the last fails: the file was altered (cutting a file cannot break a middle
  chunk);
- the final chunk opens as a *non-final* chunk: the file was cut right after a chunk;
- the final chunk is the beginning of a longer chunk: either its bytes decrypt, under the chunk
  key stream, to text all the way to the end (cut inside the chunk's data; bundles hold JSON
  text, while a present tag decrypts to 16 random bytes, text only with a chance of ~1e-7), or
  its data decrypts to text and its last bytes are the start of the tag that data should have
  (cut inside the tag);
- anything else: altered.

Nothing here ever *accepts* data: pyrage has already refused the file; decrypted bytes are only
inspected for the verdict and dropped. The file key is recovered with the same identity or
passphrase that was given to pyrage (X25519 and scrypt stanzas, per age-encryption.org/v1).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from identity_desktop.bundles.header import Header, Stanza

CHUNK = 64 * 1024
TAG = 16
NONCE = 16
MAX_SCRYPT_LOG_N = 22  # what age itself accepts
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

TRUNCATED = "truncated"
ALTERED = "altered"


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt, info).derive(ikm)


def _bech32_payload(text: str) -> bytes:
    """The 32-byte key of an ``AGE-SECRET-KEY-1...`` string (pyrage already checked it)."""
    data = text.strip().lower().rpartition("1")[2][:-6]  # drop the 6-symbol checksum
    acc = bits = 0
    out = bytearray()
    for char in data:
        acc = (acc << 5) | _BECH32.index(char)
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    return bytes(out)


def _unwrap(wrap_key: bytes, body: bytes) -> bytes | None:
    if len(body) != 32:
        return None
    try:
        return ChaCha20Poly1305(wrap_key).decrypt(b"\x00" * 12, body, None)
    except InvalidTag:
        return None


def _x25519_file_key(stanza: Stanza, identities: Sequence[str]) -> bytes | None:
    if len(stanza.args) != 2:
        return None
    share = _b64_arg(stanza.args[1])
    if len(share) != 32:
        return None
    for identity in identities:
        private = X25519PrivateKey.from_private_bytes(_bech32_payload(identity))
        ours = private.public_key().public_bytes_raw()
        try:
            shared = private.exchange(X25519PublicKey.from_public_bytes(share))
        except ValueError:  # an all-zero shared secret: age aborts too
            continue
        key = _unwrap(_hkdf(shared, share + ours, b"age-encryption.org/v1/X25519"), stanza.body)
        if key is not None:
            return key
    return None


def _scrypt_file_key(stanza: Stanza, passphrase: str) -> bytes | None:
    if len(stanza.args) != 3 or not stanza.args[2].isdigit():
        return None
    salt, log_n = _b64_arg(stanza.args[1]), int(stanza.args[2])
    if len(salt) != 16 or not 1 <= log_n <= MAX_SCRYPT_LOG_N:
        return None
    kdf = Scrypt(salt=b"age-encryption.org/v1/scrypt" + salt, length=32, n=2**log_n, r=8, p=1)
    return _unwrap(kdf.derive(passphrase.encode("utf-8")), stanza.body)


def _b64_arg(text: str) -> bytes:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return b""


def file_key(header: Header, identities: Sequence[str], passphrase: str | None) -> bytes | None:
    for stanza in header.stanzas:
        kind = stanza.args[:1]
        if kind == ("X25519",) and identities:
            key = _x25519_file_key(stanza, identities)
        elif kind == ("scrypt",) and passphrase is not None:
            key = _scrypt_file_key(stanza, passphrase)
        else:
            continue
        if key is not None:
            return key
    return None


def _nonce(index: int, last: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def _keystream_decrypt(key: bytes, nonce: bytes, data: bytes) -> bytes:
    """ChaCha20 as ChaCha20-Poly1305 uses it for the data (block counter 1), with no tag check:
    only ever used to judge how a rejected chunk ends, never to use its content."""
    cipher = Cipher(algorithms.ChaCha20(key, (1).to_bytes(4, "little") + nonce), mode=None)
    return cipher.decryptor().update(data)


def _is_text(data: bytes, *, mid_stream: bool) -> bool:
    if mid_stream:  # a chunk may start inside a multi-byte character: skip its tail
        skip = 0
        while skip < min(3, len(data)) and 0x80 <= data[skip] < 0xC0:
            skip += 1
        data = data[skip:]
    if _CONTROL.search(data):
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _final_chunk_was_cut(aead: ChaCha20Poly1305, key: bytes, index: int, piece: bytes) -> bool:
    if len(piece) < TAG:
        return True  # shorter than a tag: no whole chunk is that short
    if len(piece) == CHUNK + TAG:
        try:
            aead.decrypt(_nonce(index, False), piece, None)
            return True  # a complete non-final chunk: the file stops right after it
        except InvalidTag:
            pass
    for last in (False, True):
        if _is_text(_keystream_decrypt(key, _nonce(index, last), piece), mid_stream=index > 0):
            return True  # cut inside the chunk's data
    for present in range(1, TAG):  # cut inside the chunk's tag
        data = piece[:-present]
        if len(data) > CHUNK:
            continue
        for last in (False, True):
            nonce = _nonce(index, last)
            plain = _keystream_decrypt(key, nonce, data)
            # Both must hold: a short tag prefix alone matches by chance (1 in 256 for a byte).
            if _is_text(plain, mid_stream=index > 0) and \
                    aead.encrypt(nonce, plain, None)[-TAG:][:present] == piece[-present:]:
                return True
    return False


def payload_failure(data: bytes, header: Header, identities: Sequence[str],
                    passphrase: str | None) -> str:
    """``TRUNCATED`` or ``ALTERED`` for a file whose header opened but whose payload did not."""
    payload = data[header.end:]
    if len(payload) < NONCE + TAG:
        return TRUNCATED
    key = file_key(header, identities, passphrase)
    if key is None:
        return ALTERED
    payload_key = _hkdf(key, payload[:NONCE], b"payload")
    aead = ChaCha20Poly1305(payload_key)
    body = payload[NONCE:]
    pieces = [body[i:i + CHUNK + TAG] for i in range(0, len(body), CHUNK + TAG)]
    for index, piece in enumerate(pieces[:-1]):
        try:
            aead.decrypt(_nonce(index, False), piece, None)
        except InvalidTag:
            return ALTERED  # a middle chunk: cutting the file cannot do that
    index = len(pieces) - 1
    return TRUNCATED if _final_chunk_was_cut(aead, payload_key, index, pieces[-1]) else ALTERED
