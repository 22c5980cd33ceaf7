"""Reading the outside of an age file without decrypting it: the ASCII armor and the textual
header (https://age-encryption.org/v1).

pyrage decrypts; this module only tells apart what pyrage reports alike: an empty or foreign
file, a file that ends inside its header (truncated), and whether a passphrase is needed.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from identity_desktop.bundles.errors import (
    BundleEmptyError,
    BundleTamperedError,
    BundleTruncatedError,
    NotABundleError,
)

VERSION_LINE = b"age-encryption.org/v1\n"
ARMOR_BEGIN = b"-----BEGIN AGE ENCRYPTED FILE-----"
ARMOR_END = b"-----END AGE ENCRYPTED FILE-----"
_AGE_PREFIX = b"age-encryption.org/"
_COLUMNS = 64
_MAC_LINE = re.compile(rb"--- [A-Za-z0-9+/]{43}\n")

TRUNCATED = "the bundle is truncated"
ALTERED = "the bundle was altered or is damaged (integrity check failed)"


@dataclass(frozen=True)
class Stanza:
    args: tuple[str, ...]
    body: bytes  # base64-decoded; b"" when the body is not valid base64


@dataclass(frozen=True)
class Header:
    stanzas: tuple[Stanza, ...]
    end: int  # offset of the payload in the (de-armored) file

    @property
    def needs_passphrase(self) -> bool:
        return any(s.args[:1] == ("scrypt",) for s in self.stanzas)


def is_armored(data: bytes) -> bool:
    return data.lstrip().startswith(ARMOR_BEGIN)


def looks_like_bundle(data: bytes) -> bool:
    head = data.lstrip()[:64] if is_armored(data) else data[:64]
    return head.startswith((_AGE_PREFIX, ARMOR_BEGIN))


def dearmor(data: bytes, name: str) -> bytes:
    """The binary age file inside an ASCII-armored one (strict PEM, LF or CRLF lines)."""
    lines = data.strip().replace(b"\r\n", b"\n").split(b"\n")
    if lines[-1] != ARMOR_END:
        if ARMOR_END in data:
            raise BundleTamperedError(f"{name}: {ALTERED} (text after the armor's end line)")
        raise BundleTruncatedError(f"{name}: {TRUNCATED} (the armor's end line is missing)")
    body = lines[1:-1]
    if lines[0] != ARMOR_BEGIN or not body or any(len(line) != _COLUMNS for line in body[:-1]) \
            or not 0 < len(body[-1]) <= _COLUMNS:
        raise BundleTamperedError(f"{name}: {ALTERED} (the ASCII armor is malformed)")
    try:
        return base64.b64decode(b"".join(body), validate=True)
    except binascii.Error:
        raise BundleTamperedError(
            f"{name}: {ALTERED} (the ASCII armor holds invalid base64)") from None


def _b64(text: bytes) -> bytes:
    try:
        return base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
    except binascii.Error:
        return b""


def read_header(data: bytes, name: str) -> Header:
    """Parse the header of a binary age file; raises for empty, foreign or truncated files.
    A malformed but complete header is returned as far as it parses: pyrage judges it."""
    if not data.strip():
        raise BundleEmptyError(f"{name}: empty bundle (the file has no content)")
    if not data.startswith(VERSION_LINE):
        if VERSION_LINE.startswith(data):
            raise BundleTruncatedError(f"{name}: {TRUNCATED} (it ends inside its header)")
        if data.startswith(_AGE_PREFIX):
            raise NotABundleError(f"{name}: not an age v1 bundle (unknown format version, "
                                  "or its first line is damaged)")
        raise NotABundleError(f"{name}: not an age bundle (it does not start with an age "
                              "header), or its first line is damaged")
    pos = len(VERSION_LINE)
    stanzas: list[Stanza] = []
    truncated = BundleTruncatedError(f"{name}: {TRUNCATED} (it ends inside its header)")
    while True:
        line_end = data.find(b"\n", pos)
        if line_end < 0:
            raise truncated
        line = data[pos:line_end]
        if line.startswith(b"---"):
            if not _MAC_LINE.fullmatch(data, pos, line_end + 1):
                raise BundleTamperedError(f"{name}: {ALTERED} (its header is malformed)")
            return Header(tuple(stanzas), line_end + 1)
        if not line.startswith(b"-> "):
            raise BundleTamperedError(f"{name}: {ALTERED} (its header is malformed)")
        args = tuple(line[3:].decode("ascii", errors="replace").split(" "))
        pos = line_end + 1
        body = b""
        while True:  # the body ends with its first line shorter than 64 columns
            line_end = data.find(b"\n", pos)
            if line_end < 0:
                raise truncated
            body += data[pos:line_end]
            full = line_end - pos == _COLUMNS
            pos = line_end + 1
            if not full:
                break
        stanzas.append(Stanza(args, _b64(body)))
