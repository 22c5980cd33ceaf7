"""Offline hand-off of the redaction queue: a reviewer with no key exports the pending entries
to an admin, whose app merges them into its own queue and sends them.

The bundle is an age file (see :mod:`identity_desktop.bundles`) whose plaintext is JSON Lines
of ``{"verification_session": "vs_...", "idempotency_key": "..."}``, nothing else. Carrying the
key keeps the exactly-once rule across the two machines: if the reviewer's app had already sent
a request, the admin's resend with the same key is replayed by Stripe, not acted on again.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import orjson

from identity_desktop.bundles import decrypt_bundle, export_bundle
from identity_desktop.errors import BundleError
from identity_desktop.outbox.store import (
    PENDING_STATES,
    SESSION_RE,
    QueueResult,
    list_entries,
    queue_sessions,
)
from identity_desktop.vault.store import Vault

_FIELDS = frozenset({"verification_session", "idempotency_key"})


def pending_requests(vault: Vault) -> list[dict[str, str]]:
    """The entries not yet accepted by Stripe (queued, or sent with no answer yet)."""
    return [{"verification_session": e.session, "idempotency_key": e.idempotency_key}
            for e in list_entries(vault, PENDING_STATES)]


def export_pending(vault: Vault, out: Path | str, recipients: Sequence[str]) -> int:
    """Write the pending queue to ``out``, encrypted to ``recipients``; returns the count."""
    requests = pending_requests(vault)
    if not requests:
        raise BundleError("nothing to export: no redaction is waiting to be sent")
    out = Path(out)
    if out.resolve() == vault.path.resolve():
        raise BundleError(f"refusing to write a bundle over the vault itself ({out})")
    return export_bundle(requests, out, recipients=list(recipients))


def parse_requests(plaintext: bytes, name: str) -> dict[str, str]:
    """JSON Lines of requests -> {session: idempotency key}; raises naming the bad line."""
    found: dict[str, str] = {}
    for number, line in enumerate(plaintext.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise BundleError(f"{name}: line {number} is not JSON") from None
        if not isinstance(obj, dict) or not obj.keys() >= _FIELDS:
            raise BundleError(f"{name}: line {number} is not a redaction request (a reports "
                              "bundle goes to 'identity-desk import')")
        session, key = obj["verification_session"], obj["idempotency_key"]
        if not isinstance(session, str) or not SESSION_RE.fullmatch(session):
            raise BundleError(f"{name}: line {number}: verification_session is not a session "
                              "id (vs_...)")
        if not isinstance(key, str) or not 0 < len(key) <= 255 or not key.isprintable():
            raise BundleError(f"{name}: line {number}: idempotency_key is missing or invalid")
        found.setdefault(session, key)
    if not found:
        raise BundleError(f"{name}: the bundle holds no redaction request")
    return found


def import_requests(vault: Vault, path: Path | str, *, identities: list[str],
                    passphrase: str | None = None) -> QueueResult:
    """Merge a hand-off bundle into the queue (one entry per session; an entry already here
    keeps its own key and state)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BundleError(f"cannot read {path}: {exc.strerror}") from None
    plaintext = decrypt_bundle(data, name=str(path), identities=identities,
                               passphrase=passphrase)
    requests = parse_requests(plaintext, str(path))
    return queue_sessions(vault, list(requests), keys=requests)
