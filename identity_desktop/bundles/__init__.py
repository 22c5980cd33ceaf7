"""Encrypted export bundles in the standard age format (https://age-encryption.org/v1).

Admins hand batches of reports to field reviewers as age files, so either side can also use the
``age`` command-line tool. A bundle's plaintext is JSON Lines of raw report objects (a Stripe
list object or JSON array is accepted on import too). Bundles are encrypted to one or more X25519
public keys (each vault has its own identity, see :mod:`.keys`) or with a passphrase (scrypt).

Public API (no printing, no Qt; long operations take ``progress`` and ``cancelled``):
- :func:`ensure_vault_identity`, :func:`vault_identity`, :func:`public_key`
- :func:`export_bundle` (any iterable of reports), :func:`export_reports` (from a ``Desk``)
- :func:`decrypt_bundle` (used by the importer), :func:`needs_passphrase`,
  :func:`path_needs_passphrase`
- the error classes in :mod:`.errors`, all subclasses of ``errors.BundleError``.
"""

from __future__ import annotations

from pathlib import Path

from identity_desktop.bundles.decrypt import decrypt_bundle, needs_passphrase
from identity_desktop.bundles.errors import (
    BundleEmptyError,
    BundlePassphraseRequiredError,
    BundleTamperedError,
    BundleTruncatedError,
    BundleWrongIdentityError,
    BundleWrongPassphraseError,
    ExportCancelledError,
    NotABundleError,
)
from identity_desktop.bundles.export import export_bundle, export_reports
from identity_desktop.bundles.keys import (
    ensure_vault_identity,
    parse_recipients,
    public_key,
    public_key_of,
    vault_identity,
)


def path_needs_passphrase(path: Path | str) -> bool:
    """Whether the file at ``path`` is a passphrase-encrypted bundle (the window asks for the
    passphrase before importing it); False for unreadable files and anything else."""
    try:
        with open(path, "rb") as file:
            head = file.read(64 * 1024)  # the header is at the start; armor needs more
    except OSError:
        return False
    if head.lstrip().startswith(b"-----BEGIN"):
        try:
            head = Path(path).read_bytes()
        except OSError:
            return False
    return needs_passphrase(head)


__all__ = [
    "BundleEmptyError",
    "BundlePassphraseRequiredError",
    "BundleTamperedError",
    "BundleTruncatedError",
    "BundleWrongIdentityError",
    "BundleWrongPassphraseError",
    "ExportCancelledError",
    "NotABundleError",
    "decrypt_bundle",
    "ensure_vault_identity",
    "export_bundle",
    "export_reports",
    "needs_passphrase",
    "parse_recipients",
    "path_needs_passphrase",
    "public_key",
    "public_key_of",
    "vault_identity",
]
