"""Offline hand-off of the redaction queue: a reviewer with no key exports the pending entries
to an admin, whose app merges them into its own queue and sends them.

The bundle is an age file (see :mod:`identity_desktop.bundles`) whose plaintext is JSON Lines
of ``{"verification_session": "vs_...", "idempotency_key": "..."}``, nothing else. Carrying the
key keeps the exactly-once rule across the two machines: if the reviewer's app had already sent
a request, the admin's resend with the same key is replayed by Stripe, not acted on again.

Exported entries are *handed off* (``handed_off_at``, committed before the bundle is written):
the reviewer's sync never sends them again, since a second send after Stripe's 24 h key window
would be a second redaction. It may still look at their sessions (when it has a key) to learn
when the admin's request is done and redact the local copies. An export writes only entries not
handed off yet; ``identity-desk redact reclaim SESSION`` takes an entry back (the admin never
sent it, or the bundle was lost: reclaim, then export again or sync here).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import orjson

from identity_desktop.bundles import decrypt_bundle, export_bundle
from identity_desktop.errors import BundleError
from identity_desktop.outbox.store import (
    PENDING_STATES,
    SESSION_RE,
    QueueResult,
    hand_off,
    list_entries,
    queue_sessions,
    undo_hand_off,
)
from identity_desktop.vault.store import Vault

_FIELDS = frozenset({"verification_session", "idempotency_key"})


def pending_requests(vault: Vault) -> list[dict[str, str]]:
    """The entries an export would hand off: not yet accepted by Stripe (queued, or sent with
    no answer yet) and not handed off already."""
    return [{"verification_session": e.session, "idempotency_key": e.idempotency_key}
            for e in list_entries(vault, PENDING_STATES) if not e.handed_off]


def export_pending(vault: Vault, out: Path | str, recipients: Sequence[str], *,
                   now: float | None = None) -> int:
    """Hand the pending queue off: mark its entries handed off (committed first), then write
    them to ``out``, encrypted to ``recipients``; returns the count. If the bundle cannot be
    written (the destination is then untouched), the marks are taken back."""
    out = Path(out)
    if out.resolve() == vault.path.resolve():
        raise BundleError(f"refusing to write a bundle over the vault itself ({out})")
    stamp = time.time() if now is None else now
    handed = hand_off(vault, now=stamp)
    if not handed:
        waiting = sum(e.handed_off for e in list_entries(vault, PENDING_STATES))
        raise BundleError("nothing to export: no redaction is waiting to be sent" + (
            f" ({waiting} already handed off; 'identity-desk redact reclaim SESSION' takes one "
            "back, to export it again)" if waiting else ""))
    requests = [{"verification_session": e.session, "idempotency_key": e.idempotency_key}
                for e in handed]
    try:
        return export_bundle(requests, out, recipients=list(recipients))
    except Exception:
        # Not written: nobody else has these requests, so they are this vault's to send again.
        # (An interrupt keeps the marks: the file may exist; 'redact reclaim' is the way back.)
        undo_hand_off(vault, [e.session for e in handed], stamp)
        raise


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
