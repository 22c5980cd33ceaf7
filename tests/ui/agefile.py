"""A passphrase (scrypt) age file with a low work factor, written per the age v1 spec.

Real age tools use scrypt work factor 2**18, about a second per attempt; the window's retry
flow needs several attempts, so tests write the same format with 2**10. pyrage reads it like any
other age file (the factor is in the header)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

_CHUNK = 64 * 1024


def _b64(data: bytes) -> bytes:
    return base64.b64encode(data).rstrip(b"=")


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt, info).derive(ikm)


def passphrase_bundle(plaintext: bytes, passphrase: str, log_n: int = 10) -> bytes:
    file_key, salt = os.urandom(16), os.urandom(16)
    wrap_key = Scrypt(salt=b"age-encryption.org/v1/scrypt" + salt, length=32, n=2**log_n, r=8,
                      p=1).derive(passphrase.encode())
    body = ChaCha20Poly1305(wrap_key).encrypt(b"\0" * 12, file_key, None)
    header = (b"age-encryption.org/v1\n-> scrypt " + _b64(salt) + b" %d\n" % log_n
              + _b64(body) + b"\n---")
    mac = hmac.new(_hkdf(file_key, b"", b"header"), header, hashlib.sha256).digest()
    nonce = os.urandom(16)
    stream = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
    chunks = [plaintext[i:i + _CHUNK] for i in range(0, len(plaintext), _CHUNK)] or [b""]
    payload = b"".join(
        stream.encrypt(i.to_bytes(11, "big") + (b"\1" if i == len(chunks) - 1 else b"\0"),
                       chunk, None) for i, chunk in enumerate(chunks))
    return header + b" " + _b64(mac) + b"\n" + nonce + payload
