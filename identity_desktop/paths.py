"""Where Identity Desk keeps its files, and how they are protected.

Everything the app writes lives under the user's private data folder (platformdirs) unless the
user points ``--vault`` elsewhere. Folders are created owner-only (0700) and files owner-only
(0600); the process umask is tightened at start so that nothing we or SQLite create is readable
by other users.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import platformdirs

from identity_desktop import APP_NAME

_APP_DIR_NAME = "identity-desk"
VAULT_FILE_NAME = "vault.idvault"


def private_umask() -> None:
    """Make every file this process creates owner-only (SQLite's WAL and SHM files included)."""
    os.umask(0o077)


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(_APP_DIR_NAME, appauthor=False))


def log_dir() -> Path:
    return Path(platformdirs.user_log_dir(_APP_DIR_NAME, appauthor=False))


def default_vault_path() -> Path:
    return data_dir() / VAULT_FILE_NAME


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) owner-only.

    A folder that already exists is left as it is unless it is the app's own data folder: a
    user who keeps the vault in, say, ``~/Documents`` keeps that folder's permissions (the vault
    file itself is always 0600).
    """
    if not path.exists():
        path.mkdir(parents=True, mode=0o700)
        os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask
    elif path == data_dir():
        with contextlib.suppress(PermissionError):
            os.chmod(path, 0o700)
    return path


def display_name() -> str:
    return APP_NAME
