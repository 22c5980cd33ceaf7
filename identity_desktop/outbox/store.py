"""The redaction outbox: one encrypted entry per verification session, in the vault.

Guarantees (the sync engine in :mod:`identity_desktop.outbox.sync` relies on each of them):

- **Never redact twice.** Each entry gets its ``idempotency_key`` when it is queued; the key is
  stored with the entry and sent with every attempt, so a retry after a crash, a lost response or
  a transient error is replayed by Stripe instead of acting again. The key is replaced by a new
  one only when the old one is proven spent without effect: Stripe replayed a stored error for
  it (the request it names has finished and failed) *and* a fresh look at the session shows no
  redaction under way; or the user retries an entry that failed permanently. Every replacement
  is committed before the new key is used.
- **Never lose a request.** An entry is written (committed) before ``queue_*`` returns, and it
  leaves the queue only by reaching ``redacted``, ``failed`` (with Stripe's message, kept for
  the user to retry) or ``cancelled`` (by the user, and only while it was never sent and is
  not handed off). A handed-off entry stays in the queue, listed as such, until it ends.
- **Handed off means sent elsewhere, never here.** ``redact export`` (:func:`hand_off`) commits
  ``handed_off_at`` on the entries it gives the admin *before* their bundle is written (and
  clears it only if the bundle could not be written), so no crash leaves an exported entry
  sendable here. The sync engine never sends a redact for a handed-off entry that is still
  ``queued`` or ``sending``: the flag is re-checked in the transaction that would commit
  ``sending``. With a key it only *looks* at the session (a GET, which has no effect), to
  learn that the admin's request was accepted (-> ``processing``) or done (local copies
  redacted, -> ``redacted``). :func:`reclaim` (``redact reclaim``) clears the flag: the
  user's word that the admin never sent it. The entry keeps its key, so a request the admin
  did send after all is replayed by Stripe, not repeated, within Stripe's 24 h key window.
- **Every transition is committed before the next step.** ``sending`` is committed *before* the
  request leaves, so a process killed mid-request finds the entry in ``sending`` at restart and
  sends it again with the same key; ``processing`` is committed before polling starts; the
  local copies are redacted before ``redacted`` is committed. Transitions re-read the stored
  entry inside their transaction and apply only from the states they expect (compare-and-set),
  so another process or window editing the queue is never overwritten.
- **Retries back off.** Transient failures (network, 409, 5xx) wait ``base * 2**(n-1)`` seconds
  with full jitter, capped; the time of the next attempt is stored with the entry, so a restart
  does not hammer the server. 429s slow the shared rate limiter instead.

States: ``queued -> sending -> processing -> redacted``; ``sending -> failed`` (400/404, with
Stripe's message); ``queued -> cancelled``. ``sending`` also covers "sent, outcome unknown,
retry due at next_attempt_at". Handing off is a flag (``handed_off_at``), not a state: the
entry keeps the state it had (``queued``, or ``sending`` if a request may have left), so the
rules above still say what may happen to it. Nothing here talks to the network.

Storage: row ``lookup`` = keyed hash of the session id; ``entry`` = AES-GCM(JSON) bound to
``b"O" + lookup``. Ids and Stripe's messages exist only inside the ciphertext.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson

from identity_desktop.errors import IdentityDeskError, UsageError
from identity_desktop.report_filter import RedactionState
from identity_desktop.vault.reports import get_report
from identity_desktop.vault.store import Vault

SESSION_RE = re.compile(r"vs_[A-Za-z0-9_]{4,250}")
REPORT_RE = re.compile(r"vr_[A-Za-z0-9_]{4,250}")
KEY_PREFIX = "idesk-"


class OutboxState(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    PROCESSING = "processing"
    REDACTED = "redacted"
    FAILED = "failed"
    CANCELLED = "cancelled"


PENDING_STATES = frozenset({OutboxState.QUEUED, OutboxState.SENDING})
ACTIVE_STATES = PENDING_STATES | {OutboxState.PROCESSING}


def new_idempotency_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(24)


@dataclass(frozen=True)
class OutboxEntry:
    session: str
    state: OutboxState
    idempotency_key: str
    queued_at: float
    updated_at: float
    attempts: int = 0  # redact requests made (or about to be made) for this entry
    error: str | None = None  # the last error, for the user (Stripe's message on failure)
    next_attempt_at: float = 0.0  # epoch seconds: next send or poll is due then
    maybe_sent: bool = False  # some request for this entry may have reached Stripe
    accepted: bool = False  # Stripe answered the redact: a redaction is under way there
    verify_first: bool = False  # key proven spent: look at the session before a new key
    key_rotations: int = 0
    polls: int = 0  # status looks since the last change (polls, or looks while handed off)
    handed_off_at: float = 0.0  # epoch seconds of ``redact export`` (0: not handed off)
    seq: int = field(default=0, compare=False)  # queue order (the row's seq), not stored

    @property
    def handed_off(self) -> bool:
        return self.handed_off_at > 0

    @property
    def awaits_admin(self) -> bool:
        """Handed off and not yet seen accepted at Stripe: the local sync must not send it."""
        return self.handed_off and self.state in PENDING_STATES

    @property
    def cancellable(self) -> bool:
        return self.state is OutboxState.QUEUED and not self.maybe_sent and not self.handed_off

    def to_json(self) -> bytes:
        data = dataclasses.asdict(self)
        data.pop("seq")
        data["state"] = str(self.state)
        return orjson.dumps(data)

    @classmethod
    def from_json(cls, raw: bytes, seq: int = 0) -> OutboxEntry:
        data: dict[str, Any] = orjson.loads(raw)
        known = {f.name for f in dataclasses.fields(cls)} - {"seq"}
        kwargs = {k: v for k, v in data.items() if k in known}  # newer fields: ignored
        kwargs["state"] = OutboxState(kwargs["state"])
        return cls(**kwargs, seq=seq)

    def evolve(self, **changes: Any) -> OutboxEntry:
        return dataclasses.replace(self, **changes)

    def public(self) -> dict[str, Any]:
        """What ``redact list --json`` prints (no internal flags)."""
        return {"verification_session": self.session, "state": str(self.state),
                "attempts": self.attempts, "error": self.error,
                "queued_at": _iso(self.queued_at), "updated_at": _iso(self.updated_at),
                "next_attempt_at": _iso(self.next_attempt_at) if self.next_attempt_at else None,
                "idempotency_key": self.idempotency_key, "handed_off": self.handed_off,
                "handed_off_at": _iso(self.handed_off_at) if self.handed_off else None}


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


# ---- reading -------------------------------------------------------------------------------

def _lookup(vault: Vault, session: str) -> bytes:
    return vault.cipher.lookup(b"session", session)


def _decode(vault: Vault, seq: int, lookup: bytes, blob: bytes) -> OutboxEntry:
    return OutboxEntry.from_json(vault.decrypt("outbox", blob, b"O" + lookup, f" (row {seq})"),
                                 seq)


def list_entries(vault: Vault, states: Iterable[OutboxState] | None = None
                 ) -> list[OutboxEntry]:
    """Every entry in queue order (optionally only those in ``states``)."""
    wanted = None if states is None else frozenset(states)
    out = []
    for seq, lookup, blob in vault.conn.execute(
            "SELECT seq, lookup, entry FROM outbox ORDER BY seq"):
        entry = _decode(vault, seq, lookup, blob)
        if wanted is None or entry.state in wanted:
            out.append(entry)
    return out


def get_entry(vault: Vault, session: str) -> OutboxEntry | None:
    lookup = _lookup(vault, session)
    row = vault.conn.execute("SELECT seq, entry FROM outbox WHERE lookup = ?",
                             (lookup,)).fetchone()
    return None if row is None else _decode(vault, row[0], lookup, row[1])


def redacted_entries(vault: Vault, rows: Iterable[tuple[int, bytes, bytes]]) -> set[bytes]:
    """Of these outbox rows ``(seq, lookup, entry)``, the look-ups (keyed hashes of the session
    ids, as in ``reports.session_lookup``) whose entry is ``redacted``. The report upsert
    (:mod:`identity_desktop.vault.batches`) reads the rows of its batch's sessions in one
    statement and has only those decrypted here, to store new copies of a redacted session
    redacted."""
    return {lookup for seq, lookup, blob in rows
            if _decode(vault, seq, lookup, blob).state is OutboxState.REDACTED}


def redaction_states(vault: Vault) -> dict[str, RedactionState]:
    """Session id -> what the list shows; cancelled entries show as no redaction."""
    return {e.session: RedactionState(str(e.state)) for e in list_entries(vault)
            if e.state is not OutboxState.CANCELLED}


def counts(entries: Iterable[OutboxEntry]) -> dict[OutboxState, int]:
    out = dict.fromkeys(OutboxState, 0)
    for e in entries:
        out[e.state] += 1
    return out


# ---- writing -------------------------------------------------------------------------------

Mutation = Callable[[OutboxEntry], OutboxEntry | None]


def mutate(vault: Vault, changes: Sequence[tuple[str, Mutation]]) -> list[OutboxEntry]:
    """Apply ``(session, fn)`` changes in ONE committed transaction. Each ``fn`` receives the
    entry as stored now and returns its new value, or None to leave it (compare-and-set:
    callers check the state they expect). Returns the entries written."""
    written: list[OutboxEntry] = []
    if not changes:
        return written
    cipher = vault.cipher
    with vault.transaction() as conn:
        for session, fn in changes:
            lookup = cipher.lookup(b"session", session)
            row = conn.execute("SELECT seq, entry FROM outbox WHERE lookup = ?",
                               (lookup,)).fetchone()
            if row is None:
                continue
            new = fn(_decode(vault, row[0], lookup, row[1]))
            if new is None:
                continue
            conn.execute("UPDATE outbox SET entry = ? WHERE seq = ?",
                         (cipher.encrypt(new.to_json(), b"O" + lookup), row[0]))
            written.append(new.evolve(seq=row[0]))
    return written


@dataclass
class QueueResult:
    added: list[OutboxEntry] = field(default_factory=list)  # new (or re-queued) entries
    existing: list[OutboxEntry] = field(default_factory=list)  # already in the queue

    @property
    def sessions(self) -> list[str]:
        return [e.session for e in (*self.added, *self.existing)]


def check_session_id(session: str) -> str:
    if not isinstance(session, str) or not SESSION_RE.fullmatch(session):
        raise UsageError(f"{str(session)[:40]!r} is not a verification session id (vs_...)")
    return session


def queue_sessions(vault: Vault, sessions: Iterable[str], *, now: float | None = None,
                   keys: dict[str, str] | None = None) -> QueueResult:
    """Queue each session once, in one transaction. A session already in the queue keeps its
    entry (and key); a cancelled one is queued again. ``keys`` gives imported keys (hand-off)."""
    now = time.time() if now is None else now
    keys = keys or {}
    result = QueueResult()
    unique = list(dict.fromkeys(check_session_id(s) for s in sessions))
    cipher = vault.cipher
    with vault.transaction() as conn:
        for session in unique:
            lookup = cipher.lookup(b"session", session)
            row = conn.execute("SELECT seq, entry FROM outbox WHERE lookup = ?",
                               (lookup,)).fetchone()
            if row is not None:
                old = _decode(vault, row[0], lookup, row[1])
                if old.state is not OutboxState.CANCELLED:
                    result.existing.append(old)
                    continue
                # A cancelled entry was never sent: its key is unused and stays valid.
                entry = old.evolve(state=OutboxState.QUEUED, error=None, updated_at=now,
                                   queued_at=now, next_attempt_at=0.0,
                                   idempotency_key=keys.get(session, old.idempotency_key))
                conn.execute("UPDATE outbox SET entry = ? WHERE seq = ?",
                             (cipher.encrypt(entry.to_json(), b"O" + lookup), row[0]))
                result.added.append(entry.evolve(seq=row[0]))
                continue
            entry = OutboxEntry(session=session, state=OutboxState.QUEUED,
                                idempotency_key=keys.get(session) or new_idempotency_key(),
                                queued_at=now, updated_at=now)
            cur = conn.execute("INSERT INTO outbox(lookup, entry) VALUES (?, ?)",
                               (lookup, cipher.encrypt(entry.to_json(), b"O" + lookup)))
            result.added.append(entry.evolve(seq=int(cur.lastrowid or 0)))
    return result


def sessions_for_ids(vault: Vault, ids: Iterable[str]) -> list[str]:
    """Report ids (vr_) and session ids (vs_) -> session ids, in order, without repeats."""
    out: list[str] = []
    for raw in ids:
        item = raw.strip()
        if SESSION_RE.fullmatch(item):
            out.append(item)
        elif REPORT_RE.fullmatch(item):
            report = get_report(vault, item)
            if report is None:
                raise IdentityDeskError(f"report {item} is not in the vault")
            session = report.get("verification_session")
            if not isinstance(session, str) or not SESSION_RE.fullmatch(session):
                raise IdentityDeskError(
                    f"report {item} names no verification session, so it cannot be redacted")
            out.append(session)
        else:
            raise UsageError(f"{item[:40]!r} is neither a report id (vr_...) nor a "
                             "verification session id (vs_...)")
    return list(dict.fromkeys(out))


def queue_reports(vault: Vault, report_ids: Iterable[str], *, now: float | None = None
                  ) -> QueueResult:
    """Queue the verification session of each report (report or session ids accepted)."""
    return queue_sessions(vault, sessions_for_ids(vault, report_ids), now=now)


def _require(vault: Vault, sessions: Sequence[str]) -> None:
    for s in sessions:
        check_session_id(s)
        if get_entry(vault, s) is None:
            raise IdentityDeskError(f"session {s} is not in the redaction queue")


def cancel(vault: Vault, sessions: Sequence[str], *, now: float | None = None
           ) -> list[OutboxEntry]:
    """Cancel queued entries that were never sent; raises (changing nothing) otherwise."""
    now = time.time() if now is None else now
    _require(vault, sessions)
    for s in sessions:
        entry = get_entry(vault, s)
        if entry is not None and not entry.cancellable and entry.state is not \
                OutboxState.CANCELLED:
            raise IdentityDeskError(
                f"cannot cancel session {s}: it is {entry.state}"
                + (" and may already have reached Stripe" if entry.maybe_sent else
                   " and handed off to an admin ('identity-desk redact reclaim' takes it back)"
                   if entry.handed_off else ""))

    def fn(e: OutboxEntry) -> OutboxEntry | None:
        return e.evolve(state=OutboxState.CANCELLED, updated_at=now) if e.cancellable else None

    return mutate(vault, [(s, fn) for s in sessions])


def retry(vault: Vault, sessions: Sequence[str], *, now: float | None = None
          ) -> list[OutboxEntry]:
    """Send failed entries again. A failure is Stripe's final word on that key, so a new key is
    used (committed first); an entry Stripe had accepted goes back to polling."""
    now = time.time() if now is None else now
    _require(vault, sessions)
    for s in sessions:
        entry = get_entry(vault, s)
        if entry is not None and entry.state is not OutboxState.FAILED:
            raise IdentityDeskError(f"cannot retry session {s}: it is {entry.state}, not failed")

    def fn(e: OutboxEntry) -> OutboxEntry | None:
        if e.state is not OutboxState.FAILED:
            return None
        if e.accepted:
            return e.evolve(state=OutboxState.PROCESSING, error=None, updated_at=now,
                            next_attempt_at=0.0)
        return e.evolve(state=OutboxState.QUEUED, error=None, updated_at=now,
                        next_attempt_at=0.0, idempotency_key=new_idempotency_key(),
                        key_rotations=e.key_rotations + 1, maybe_sent=False,
                        verify_first=False)

    return mutate(vault, [(s, fn) for s in sessions])


# ---- hand-off ------------------------------------------------------------------------------

def hand_off(vault: Vault, *, now: float | None = None) -> list[OutboxEntry]:
    """Mark every pending entry not yet handed off as handed off to an admin, in one committed
    transaction, and return them (for the admin's bundle). From then on the local sync never
    sends them (see the module docstring)."""
    now = time.time() if now is None else now
    sessions = [e.session for e in list_entries(vault, PENDING_STATES) if not e.handed_off]

    def fn(e: OutboxEntry) -> OutboxEntry | None:
        if e.state not in PENDING_STATES or e.handed_off:
            return None
        return e.evolve(handed_off_at=now, updated_at=now)

    return mutate(vault, [(s, fn) for s in sessions])


def undo_hand_off(vault: Vault, sessions: Sequence[str], handed_off_at: float) -> None:
    """Clear the mark :func:`hand_off` set at ``handed_off_at`` (its bundle was not written);
    entries marked again since, by another export, keep their newer mark."""
    def fn(e: OutboxEntry) -> OutboxEntry | None:
        return e.evolve(handed_off_at=0.0) if e.handed_off_at == handed_off_at else None

    mutate(vault, [(s, fn) for s in sessions])


def reclaim(vault: Vault, sessions: Sequence[str], *, now: float | None = None
            ) -> list[OutboxEntry]:
    """Take back handed-off entries the admin never sent: the local sync sends them again, with
    the key they were handed off with. Raises (changing nothing) for an entry not handed off or
    already accepted at Stripe."""
    now = time.time() if now is None else now
    _require(vault, sessions)
    for s in sessions:
        entry = get_entry(vault, s)
        if entry is not None and not entry.handed_off:
            raise IdentityDeskError(f"cannot take back session {s}: it was not handed off")
        if entry is not None and not entry.awaits_admin:
            raise IdentityDeskError(
                f"cannot take back session {s}: it is {entry.state}" + (
                    ", so Stripe already has the admin's request" if entry.state in (
                        OutboxState.PROCESSING, OutboxState.REDACTED) else ""))

    def fn(e: OutboxEntry) -> OutboxEntry | None:
        if not e.awaits_admin:
            return None
        return e.evolve(handed_off_at=0.0, updated_at=now, error=None, polls=0,
                        next_attempt_at=0.0)

    return mutate(vault, [(s, fn) for s in sessions])
