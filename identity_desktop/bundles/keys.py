"""The vault's own age identity and the recipients an export is encrypted to.

Each vault holds one age X25519 identity, created with the vault and kept only inside it, in the
encrypted secrets table. Its public key (``age1...``) is what an admin encrypts batches to; the
secret (``AGE-SECRET-KEY-1...``) never leaves the vault except into memory for decryption.
"""

from __future__ import annotations

from collections.abc import Iterable

from pyrage import x25519

from identity_desktop.errors import BundleError, VaultTamperedError
from identity_desktop.vault.store import Vault

SECRET_NAME = "age.identity"
_SECRET_PREFIX = "AGE-SECRET-KEY-"


def _read_identity(vault: Vault) -> str | None:
    raw = vault.get_secret(SECRET_NAME)
    if raw is None:
        return None
    text = raw.decode("ascii", errors="replace")
    try:
        x25519.Identity.from_str(text)
    except Exception:  # pyrage.IdentityError; the AEAD makes this a corrupt write, not an edit
        raise VaultTamperedError(
            f"the vault at {vault.path} holds a damaged age identity") from None
    return text


def vault_identity(vault: Vault) -> str:
    """The vault's secret age identity (``AGE-SECRET-KEY-1...``), created if missing."""
    existing = _read_identity(vault)
    if existing is not None:
        return existing
    fresh = str(x25519.Identity.generate())
    # Read-and-insert in one write transaction: two processes opening an older vault at once
    # must agree on one identity, or bundles made for the loser's public key could never open.
    cipher = vault.cipher
    lookup = cipher.lookup(b"secret", SECRET_NAME)  # the vault's own secrets convention
    with vault.transaction() as conn:
        row = conn.execute("SELECT 1 FROM secrets WHERE lookup = ?", (lookup,)).fetchone()
        if row is None:
            conn.execute("INSERT INTO secrets(lookup, value) VALUES (?, ?)",
                         (lookup, cipher.encrypt(fresh.encode("ascii"), b"K" + lookup)))
    stored = _read_identity(vault)
    assert stored is not None
    return stored


def ensure_vault_identity(vault: Vault) -> str:
    """Create the vault's age identity if it has none yet; returns its public key."""
    return public_key_of(vault_identity(vault))


def public_key(vault: Vault) -> str:
    """The vault's age public key (``age1...``), for an admin to encrypt batches to."""
    return ensure_vault_identity(vault)


def public_key_of(identity: str) -> str:
    return str(x25519.Identity.from_str(identity).to_public())


def parse_recipients(recipients: Iterable[str]) -> list[x25519.Recipient]:
    """Parse age public keys, naming the first bad one (a secret key is never echoed)."""
    parsed: list[x25519.Recipient] = []
    seen: set[str] = set()
    for number, text in enumerate(recipients, 1):
        key = text.strip()
        if key.upper().startswith(_SECRET_PREFIX):
            raise BundleError(f"recipient {number} is a secret key, not a public key: give "
                              "its public key (age1...) and keep the secret key private")
        try:
            recipient = x25519.Recipient.from_str(key)
        except Exception:  # pyrage.RecipientError
            shown = key if len(key) <= 90 else key[:87] + "..."
            raise BundleError(f"recipient {number} is not an age public key (age1...): "
                              f"{shown!r}") from None
        if str(recipient) not in seen:
            seen.add(str(recipient))
            parsed.append(recipient)
    if not parsed:
        raise BundleError("no recipient given")
    return parsed


def parse_identities(identities: Iterable[str]) -> list[x25519.Identity]:
    parsed = []
    for number, text in enumerate(identities, 1):
        try:
            parsed.append(x25519.Identity.from_str(text.strip()))
        except Exception:  # pyrage.IdentityError; the text is a secret: never shown
            raise BundleError(f"identity {number} is not an age X25519 identity") from None
    return parsed
