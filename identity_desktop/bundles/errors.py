"""What can go wrong with a bundle, one class per case, so that the window can react to each
(ask for a passphrase again, say the file must be fetched again) without parsing messages.

Every message starts with the file's name and never holds a secret or report content.
"""

from __future__ import annotations

from identity_desktop.errors import BundleError


class NotABundleError(BundleError):
    """The file is not in the age format at all."""


class BundleEmptyError(BundleError):
    """The file has no content, or the bundle holds nothing."""


class BundleWrongIdentityError(BundleError):
    """The bundle was made for other keys than this vault's."""


class BundlePassphraseRequiredError(BundleError):
    """The bundle is passphrase-encrypted and no passphrase was given."""


class BundleWrongPassphraseError(BundleError):
    """The passphrase given does not open the bundle."""


class BundleTruncatedError(BundleError):
    """The file ends early: an interrupted copy or download."""


class BundleTamperedError(BundleError):
    """The bundle fails its integrity check: edited or corrupted."""


class ExportCancelledError(BundleError):
    """The user cancelled an export; nothing was written."""
