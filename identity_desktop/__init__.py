"""Identity Desk: review Stripe Identity verification reports offline, in an encrypted vault.

The package is the Qt-free core; ``identity_desktop.ui`` is the only package that imports PySide6.
"""

from __future__ import annotations

import os as _os

# The stripe package reads STRIPE_LOG once, when it is first imported, and then prints whole
# response bodies (personal data) to stderr. Drop it before anything can import stripe.
_os.environ.pop("STRIPE_LOG", None)
# numpy's OpenBLAS starts a thread per core when imported, and those threads spin waiting for
# work the app never gives them (the list index does element-wise work only): on a 2-core
# laptop they take CPU from an import's writer thread. One thread: no pool at all.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

APP_ID = "io.identitydesk.IdentityDesk"
APP_NAME = "Identity Desk"


def __getattr__(name: str) -> str:
    """``__version__``, read on first use: importlib.metadata takes ~25 ms of every start (the
    CLI's commands, the import helper process) that never shows the version."""
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # The installed (or frozen) package's metadata is the one source of the version.
    from importlib.metadata import PackageNotFoundError, version

    try:
        value = version("identity-desktop")
    except PackageNotFoundError:  # running from a bare checkout
        value = "0.1.0"
    globals()["__version__"] = value
    return value
