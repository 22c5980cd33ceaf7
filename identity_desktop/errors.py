"""Errors the user is meant to read.

Every handled failure is an :class:`IdentityDeskError` carrying one clear line that names what is
wrong and where. The CLI prints it and exits 1; the window shows it in a message box. Messages never
contain personal data or secrets: they name files, record positions and fields, not values.
"""

from __future__ import annotations


class IdentityDeskError(Exception):
    """A handled error with a message fit for the user (no secrets, no personal data)."""


class VaultError(IdentityDeskError):
    """The vault cannot be used as asked."""


class VaultNotFoundError(VaultError):
    pass


class VaultExistsError(VaultError):
    pass


class WrongPassphraseError(VaultError):
    pass


class VaultTamperedError(VaultError):
    """Stored data failed its integrity check: edited, swapped or corrupted."""


class VaultLockedError(VaultError):
    pass


class UnsupportedVaultVersionError(VaultError):
    pass


class ImportFileError(IdentityDeskError):
    """A whole input file is unusable (unreadable, not JSON, not reports)."""


class BundleError(IdentityDeskError):
    """An encrypted bundle cannot be made or read."""


class StripeAccessError(IdentityDeskError):
    """Talking to Stripe failed in a way the user has to act on (bad key, no permission...)."""


class UsageError(IdentityDeskError):
    """The user asked for something that does not make sense (maps to exit status 2 in the CLI)."""
