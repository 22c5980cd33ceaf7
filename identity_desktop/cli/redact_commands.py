"""``redact queue | list | cancel | retry | export | reclaim | import`` and ``sync [--once]``.

Queueing from the command line is a deliberate act (the window asks for confirmation, the CLI
prints what it queued). ``sync`` sends the queue under the key's rate limit, follows each
session until Stripe reports it redacted, then redacts the local copies; progress goes to
standard error, the summary to standard output.

Hand-off: ``redact export`` gives the pending entries to an admin and marks them *handed off*
(``redact list`` shows "(handed off)", ``--json`` a ``handed_off`` field). This vault's ``sync``
never sends them (a second send after Stripe's 24 h idempotency window would be a second
redaction); with a key it only looks at their sessions, to learn when the admin's request is
done and redact the local copies. ``redact reclaim SESSION`` takes an entry back when the admin
never sent it: the next sync (or export) sends it from here, with its original key. ``retry``
stays what it was: failed entries only, with a new key.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import orjson

from identity_desktop.cli.context import CliContext, add_group, stop_on_interrupt
from identity_desktop.errors import StripeAccessError, UsageError
from identity_desktop.outbox import store
from identity_desktop.outbox.store import OutboxEntry, OutboxState
from identity_desktop.vault.store import Vault


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    rsub = add_group(sub, common, "redact", help="the redaction queue",
                     description="Queue verification sessions for redaction at Stripe "
                                 "(irreversible once sent), and manage the queue.")
    p = rsub.add_parser("queue", parents=[common],
                        help="queue the sessions of these reports (vr_) or sessions (vs_)")
    p.add_argument("ids", nargs="+", metavar="ID")
    p.set_defaults(handler=cmd_queue)
    p = rsub.add_parser("list", parents=[common], help="the queue, oldest first")
    p.add_argument("--json", action="store_true", help="JSON Lines output")
    p.add_argument("--state", action="append", choices=[str(s) for s in OutboxState],
                   help="only entries in this state (repeatable)")
    p.set_defaults(handler=cmd_list)
    _add_session_action(rsub, common, "cancel", cmd_cancel,
                        help="cancel queued entries never sent")
    _add_session_action(rsub, common, "retry", cmd_retry, help="send failed entries again")
    p = rsub.add_parser("export", parents=[common],
                        help="hand the pending queue to an admin (age-encrypted file)",
                        description="Write the entries not yet sent (session ids and "
                                    "idempotency keys only) to an age file for an admin, "
                                    "who merges them with 'identity-desk redact import' and "
                                    "sends them. The exported entries are handed off: this "
                                    "vault's sync no longer sends them (it only checks their "
                                    "status, with a key) and the next export leaves them out; "
                                    "'identity-desk redact reclaim SESSION' takes one back.")
    p.add_argument("--out", required=True, metavar="FILE.age")
    p.add_argument("--recipient", "-r", action="append", required=True, metavar="AGE_PUBKEY",
                   help="the admin's age public key (repeatable)")
    p.set_defaults(handler=cmd_export)
    _add_session_action(rsub, common, "reclaim", cmd_reclaim,
                        help="take back handed-off entries the admin never sent",
                        description="Take back entries handed off with 'identity-desk redact "
                                    "export' that the admin never sent (or whose file was "
                                    "lost): the next 'identity-desk sync' sends them from this "
                                    "vault, or the next export hands them off again. They "
                                    "keep their idempotency key, so a request the admin did "
                                    "send after all is replayed by Stripe, not repeated, within "
                                    "Stripe's 24-hour key window: reclaim only what the admin "
                                    "confirms was not sent.")
    p = rsub.add_parser("import", parents=[common],
                        help="merge a reviewer's exported queue into this vault's queue")
    p.add_argument("file", metavar="FILE.age")
    p.add_argument("--bundle-passphrase-file", metavar="FILE",
                   help="passphrase, for a passphrase-encrypted bundle")
    p.set_defaults(handler=cmd_import)

    p = sub.add_parser("sync", parents=[common],
                       help="send the redaction queue, follow it, redact local copies",
                       description="Send queued redactions to Stripe (paced under the key's "
                                   "rate limit), poll until Stripe reports them redacted and "
                                   "redact the local copies. Stops when the queue is done or "
                                   "only waits on Stripe for longer than --max-wait.")
    p.add_argument("--once", action="store_true",
                   help="one pass: send what is due once, check each session once, exit")
    p.add_argument("--max-wait", type=_seconds, default=120.0, metavar="SECONDS",
                   help="stop when nothing falls due within this time (default 120)")
    p.add_argument("--poll-interval", type=_seconds, default=2.0, metavar="SECONDS",
                   help="first status check after Stripe accepts (then backing off; default 2)")
    p.add_argument("--retry-base", type=_seconds, default=1.0, metavar="SECONDS",
                   help="first retry delay after a transient error (doubling; default 1)")
    p.add_argument("--rate", type=float, metavar="N",
                   help="requests per second (default: 92%% of the key's mode limit)")
    p.set_defaults(handler=cmd_sync)


def _add_session_action(rsub: argparse._SubParsersAction, common: argparse.ArgumentParser,
                        name: str, handler: Callable[[argparse.Namespace], int],
                        **texts: str) -> None:
    """An action on queue entries named by their sessions (``cancel``, ``retry``...)."""
    p = rsub.add_parser(name, parents=[common], **texts)
    p.add_argument("ids", nargs="+", metavar="SESSION_ID")
    p.set_defaults(handler=handler)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 <= value <= 86_400:
        raise argparse.ArgumentTypeError("seconds must be within 0..86400")
    return value


def _when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


def _line(e: OutboxEntry) -> str:
    state = f"{e.state} (handed off)" if e.handed_off else str(e.state)
    parts = [e.session, state, f"attempts {e.attempts}", f"queued {_when(e.queued_at)}"]
    if e.error:
        parts.append(e.error)
    return "  ".join(parts)


def _print_queued(result: store.QueueResult) -> None:
    for e in result.added:
        print(f"queued {e.session}")
    for e in result.existing:
        print(f"already in the queue: {e.session} ({e.state}"
              f"{', handed off' if e.handed_off else ''})")


def cmd_queue(args: argparse.Namespace) -> int:
    with CliContext(args).desk() as desk:
        result = store.queue_reports(desk.vault, args.ids)
    _print_queued(result)
    print(f"{len(result.added)} session(s) queued for redaction; run 'identity-desk sync' to "
          "send them", file=sys.stderr)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with CliContext(args).desk() as desk:
        entries = store.list_entries(desk.vault, args.state)
    for e in entries:
        if args.json:
            sys.stdout.write(orjson.dumps(e.public()).decode() + "\n")
        else:
            sys.stdout.write(_line(e) + "\n")
    if not args.json:
        c = store.counts(entries)
        print(", ".join(f"{n} {s}" for s, n in c.items() if n) or "the queue is empty",
              file=sys.stderr)
    return 0


def _edit(args: argparse.Namespace, action: Callable[..., list[OutboxEntry]], verb: str) -> int:
    with CliContext(args).desk() as desk:
        sessions = store.sessions_for_ids(desk.vault, args.ids)
        done = action(desk.vault, sessions)
    for e in done:
        print(f"{verb} {e.session} ({e.state})")
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    return _edit(args, store.cancel, "cancelled")


def cmd_retry(args: argparse.Namespace) -> int:
    return _edit(args, store.retry, "will retry")


def cmd_reclaim(args: argparse.Namespace) -> int:
    return _edit(args, store.reclaim, "took back")


def _has_key(vault: Vault) -> bool:
    from identity_desktop.stripe_api.client import resolve_key

    try:
        resolve_key(vault)
    except StripeAccessError:
        return False
    return True


def cmd_export(args: argparse.Namespace) -> int:
    from identity_desktop.outbox.handoff import export_pending

    with CliContext(args).desk() as desk:
        count = export_pending(desk.vault, args.out, args.recipient)
    print(f"exported {count} pending redaction request(s) to {args.out}")
    print("they are handed off: this vault's sync will not send them ('identity-desk redact "
          "reclaim SESSION' takes one back if the admin never sends it)", file=sys.stderr)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from identity_desktop.outbox.handoff import import_requests

    ctx = CliContext(args)
    bundle_passphrase = ctx.bundle_passphrase()
    with ctx.desk() as desk:
        result = import_requests(desk.vault, args.file, identities=desk.age_identities(),
                                 passphrase=bundle_passphrase)
    _print_queued(result)
    print(f"{len(result.added)} session(s) added to the queue, {len(result.existing)} were "
          "already there", file=sys.stderr)
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    from identity_desktop.outbox.sync import SyncEvent, SyncOptions, engine_for_vault

    ctx = CliContext(args)
    interactive = sys.stderr.isatty()
    with ctx.desk() as desk:
        last = [time.monotonic()]  # the first progress line after a second: short runs stay quiet
        active = store.list_entries(desk.vault, store.ACTIVE_STATES)
        if not active:
            print("nothing to sync: the redaction queue has no pending entry")
            return 0
        if all(e.awaits_admin for e in active) and not _has_key(desk.vault):
            print(f"nothing to send: {len(active)} request(s) are handed off to an admin "
                  "(without an API key their progress cannot be checked here)")
            return 0
        options = SyncOptions(poll_interval=args.poll_interval, backoff_base=args.retry_base)
        if args.rate is not None and not 0 < args.rate <= 1000:
            raise UsageError("--rate must be within 0..1000 requests per second")

        def progress(event: SyncEvent) -> None:
            now = time.monotonic()
            if now - last[0] < 1.0:
                return
            last[0] = now
            s = engine.stats
            print(f"sync: {s.requests} sent, {s.accepted} accepted, {s.redacted} redacted, "
                  f"{s.failed} failed, {len(engine.active())} still pending",
                  end="\r" if interactive else "\n", file=sys.stderr, flush=True)

        engine = engine_for_vault(desk.vault, api_base=ctx.api_base, options=options,
                                  rate=args.rate, on_event=progress)
        with stop_on_interrupt("after the requests in flight") as cancelled:
            stats = engine.run(once=args.once, max_time=args.max_wait, cancelled=cancelled)
        handed = sum(e.awaits_admin for e in store.list_entries(desk.vault,
                                                                store.PENDING_STATES))
    if interactive and engine.stats.requests:
        print(file=sys.stderr)
    c = stats.counts
    waiting = c[OutboxState.QUEUED] + c[OutboxState.SENDING] - handed
    elsewhere = f"{handed} handed off to an admin, " if handed else ""
    print(f"sync: {stats.requests} redact request(s), {stats.redacted} redacted now; queue: "
          f"{waiting} waiting to send, {elsewhere}"
          f"{c[OutboxState.PROCESSING]} processing at Stripe, {c[OutboxState.REDACTED]} "
          f"redacted, {c[OutboxState.FAILED]} failed")
    if c[OutboxState.FAILED]:
        print("failed entries keep Stripe's message: see 'identity-desk redact list'",
              file=sys.stderr)
    if c[OutboxState.PROCESSING] and not stats.paused:
        print("Stripe is still redacting some sessions (it can take up to four days): run "
              "'identity-desk sync' again later", file=sys.stderr)
    if stats.paused:
        raise StripeAccessError(stats.paused)
    return 0

