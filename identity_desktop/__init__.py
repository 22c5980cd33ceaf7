"""Identity Desk: review Stripe Identity verification reports offline, in an encrypted vault.

The package is the Qt-free core; ``identity_desktop.ui`` is the only package that imports PySide6.
"""

from __future__ import annotations

__version__ = "0.1.0"
APP_ID = "io.identitydesk.IdentityDesk"
APP_NAME = "Identity Desk"
