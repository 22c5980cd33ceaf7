"""The Stripe key and the ``stripe.StripeClient`` built from it, plus error translation.

- The key lives in the vault's encrypted secrets (``stripe_api_key``); ``STRIPE_API_KEY``
  overrides it for scripts. It is never printed, logged or written anywhere else: the user sees
  its mode (test / live) and a mask (``sk_test_…abcd``).
- ``stripe`` is imported lazily, after :func:`identity_desktop.logs.quiet_stripe_logging` has
  removed ``STRIPE_LOG`` from the environment: the package reads that variable once, at import,
  and would then *print* every response body (personal data) to standard error. If it was
  imported earlier with ``STRIPE_LOG`` set, :func:`build_client` refuses to run.
- urllib3 logs each request line (with ``starting_after``/``verification_session`` ids in the
  query) at DEBUG: its logger is held at INFO and scrubbed, like stripe's.
- Every stripe exception becomes a :class:`StripeAccessError` whose message names what failed
  and where, never the key, an id or a response body (Stripe's messages can echo ids).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from identity_desktop.errors import IdentityDeskError, StripeAccessError
from identity_desktop.logs import quiet_stripe_logging

if TYPE_CHECKING:
    import stripe

    from identity_desktop.vault.store import Vault

__all__ = [
    "API_KEY_ENV",
    "API_KEY_SECRET",
    "DEFAULT_API_BASE",
    "KeyFormatError",
    "KeyMode",
    "StripeAccess",
    "access_error",
    "access_for",
    "api_host",
    "build_client",
    "clear_stored_key",
    "connect",
    "describe_error",
    "key_mode",
    "key_status",
    "mask_key",
    "resolve_api_base",
    "resolve_key",
    "store_key",
    "stored_key",
    "validate_key",
]

API_KEY_SECRET = "stripe_api_key"
API_KEY_ENV = "STRIPE_API_KEY"
API_BASE_ENV = "STRIPE_API_BASE"
DEFAULT_API_BASE = "https://api.stripe.com"
DEFAULT_TIMEOUT = 60.0  # seconds per request; a stalled connection is retried, not waited on

KeyMode = Literal["test", "live"]
_KEY_RE = re.compile(r"(sk|rk)_(test|live)_[A-Za-z0-9_]{4,255}")
_KEY_HINT = "expected a secret or restricted key: sk_test_, sk_live_, rk_test_ or rk_live_"


class KeyFormatError(IdentityDeskError):
    """The text given as an API key is not a Stripe secret or restricted key."""


def validate_key(text: str, *, where: str = "the API key") -> str:
    """The key with surrounding whitespace removed; raises :class:`KeyFormatError` (naming
    ``where``, never the text) when it is not a secret or restricted key."""
    key = text.strip()
    if not key:
        raise KeyFormatError(f"{where} is empty")
    if key.startswith(("pk_test_", "pk_live_")):
        raise KeyFormatError(f"{where} is a publishable key, which cannot read verification "
                             f"reports ({_KEY_HINT})")
    if not _KEY_RE.fullmatch(key):
        raise KeyFormatError(f"{where} is not a Stripe API key ({_KEY_HINT})")
    return key


def key_mode(key: str) -> KeyMode:
    if key.startswith(("sk_live_", "rk_live_")):
        return "live"
    if key.startswith(("sk_test_", "rk_test_")):
        return "test"
    raise KeyFormatError(f"not a Stripe API key ({_KEY_HINT})")


def mask_key(key: str) -> str:
    """``sk_test_…abcd``: enough to recognise a key, not to use it."""
    match = re.match(r"(?:sk|rk|pk)_(?:test|live)_", key)
    prefix = match.group(0) if match else ""
    tail = key[len(prefix):]
    return f"{prefix}…{tail[-4:]}" if len(tail) >= 12 else f"{prefix}…"


# ---- where the key comes from -------------------------------------------------------------

def stored_key(vault: Vault) -> str | None:
    raw = vault.get_secret(API_KEY_SECRET)
    return None if raw is None else raw.decode("utf-8")


def store_key(vault: Vault, text: str) -> KeyMode:
    """Validate and store the key encrypted in the vault; returns its mode."""
    key = validate_key(text)
    vault.set_secret(API_KEY_SECRET, key.encode("utf-8"))
    return key_mode(key)


def clear_stored_key(vault: Vault) -> None:
    vault.set_secret(API_KEY_SECRET, None)


def resolve_key(vault: Vault | None) -> tuple[str, str]:
    """``(key, source)``: ``STRIPE_API_KEY`` when set, else the vault's key. ``source`` is a
    phrase for messages ("STRIPE_API_KEY", "the vault")."""
    env = os.environ.get(API_KEY_ENV, "")
    if env.strip():
        return validate_key(env, where=API_KEY_ENV), API_KEY_ENV
    key = stored_key(vault) if vault is not None else None
    if key is None:
        raise StripeAccessError(
            "no Stripe API key: store one with 'identity-desk config set-api-key' (key on "
            f"standard input) or set {API_KEY_ENV}")
    return key, "the vault"


def resolve_api_base(explicit: str | None = None) -> str:
    base = (explicit or os.environ.get(API_BASE_ENV) or DEFAULT_API_BASE).strip().rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise IdentityDeskError(f"the Stripe API base must be an http(s) URL, not {base!r}")
    return base


def api_host(base: str) -> str:
    return urlsplit(base).netloc or base


# ---- the client -----------------------------------------------------------------------------

def build_client(key: str, api_base: str | None = None, *, max_network_retries: int = 0,
                 timeout: float = DEFAULT_TIMEOUT) -> stripe.StripeClient:
    """A ``StripeClient`` for ``api_base`` (default api.stripe.com).

    ``max_network_retries`` defaults to 0 because :mod:`identity_desktop.stripe_api.retry`
    owns the retry policy (429s included, which stripe itself never retries); two layers of
    retries would multiply attempts and hide the waits from progress and cancel.
    """
    quiet_stripe_logging()
    import stripe
    from stripe import _util

    # Read-only check: the package captured STRIPE_LOG at import; if it did, it would print
    # response bodies to standard error whatever our logging says.
    console_level = getattr(_util, "_console_log_level", lambda: None)()
    if console_level is not None or getattr(stripe, "log", None) is not None:
        raise StripeAccessError(
            "STRIPE_LOG (or stripe.log) was set when the stripe package loaded; it prints "
            "Stripe's responses, which hold personal data, to standard error: unset it and "
            "run again")
    base = resolve_api_base(api_base)
    return stripe.StripeClient(
        validate_key(key),
        base_addresses={"api": base},
        max_network_retries=max_network_retries,
        http_client=stripe.RequestsClient(timeout=timeout),
    )


# ---- errors ---------------------------------------------------------------------------------

def _network_reason(exc: BaseException) -> str:
    """A short cause for a connection failure, from the exception chain's types only (their
    messages hold the request URL, with ids in its query)."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    names: list[str] = []
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        names.append(type(cause).__name__)
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        cause = cause.__cause__ or cause.__context__
    joined = " ".join(names)
    if "SSLError" in joined:
        return "TLS certificate verification failed"
    if "ConnectTimeout" in joined:
        return "timed out while connecting"
    if "Timeout" in joined:
        return "timed out waiting for a reply"
    if "NameResolution" in joined or "gaierror" in joined:
        return "the host name does not resolve"
    if "RemoteDisconnected" in joined or "ProtocolError" in joined:
        return "the connection was closed without a reply"
    return "network error"


def describe_error(exc: BaseException, *, what: str, base: str,
                   key_source: str | None = None) -> str:
    """One line for a stripe exception. ``what`` names the operation ("listing verification
    reports"); ``key_source`` where the key came from, for the 401 hint. Never includes the
    key, ids or Stripe's message (which may echo either)."""
    import stripe

    host = api_host(base)
    status = getattr(exc, "http_status", None)
    if isinstance(exc, stripe.AuthenticationError):
        hint = f"; check the key from {key_source}" if key_source else ""
        return f"Stripe rejected the API key (authentication failed){hint}"
    if isinstance(exc, stripe.PermissionError):
        return f"the API key lacks permission for {what} (Stripe answered 403)"
    if isinstance(exc, stripe.APIConnectionError):
        return f"cannot reach Stripe at {host}: {_network_reason(exc)}"
    if isinstance(exc, stripe.RateLimitError):
        return f"Stripe kept rate-limiting {what} (HTTP 429)"
    if isinstance(exc, stripe.InvalidRequestError):
        param = exc.param if isinstance(exc.param, str) and len(exc.param) < 80 else None
        code = exc.code if isinstance(exc.code, str) and len(exc.code) < 80 else None
        detail = ", ".join(x for x in (f"parameter '{param}'" if param else "",
                                       f"code {code}" if code else "") if x)
        return (f"Stripe refused the request for {what} (HTTP {status}"
                f"{'; ' + detail if detail else ''})")
    if isinstance(exc, stripe.StripeError):
        return f"Stripe failed while {what} (HTTP {status or 'error'})"
    return f"{what} failed: {type(exc).__name__}"


def access_error(exc: BaseException, *, what: str, base: str,
                 key_source: str | None = None) -> StripeAccessError:
    return StripeAccessError(describe_error(exc, what=what, base=base, key_source=key_source))


@dataclass(frozen=True)
class StripeAccess:
    """A ready client plus what callers need to describe it: the server, the key's mode and
    where the key came from. The key itself is kept for scoping fetch state (as a keyed hash)
    and is left out of ``repr``."""

    client: stripe.StripeClient = field(repr=False)
    base: str
    mode: KeyMode
    key_source: str
    key: str = field(repr=False)

    @property
    def host(self) -> str:
        return api_host(self.base)

    def describe(self, exc: BaseException, what: str) -> StripeAccessError:
        return access_error(exc, what=what, base=self.base, key_source=self.key_source)


def connect(vault: Vault | None, api_base: str | None = None, *,
            timeout: float = DEFAULT_TIMEOUT) -> StripeAccess:
    """The key from ``STRIPE_API_KEY`` or the vault, and a client for ``api_base`` (else
    ``STRIPE_API_BASE``, else api.stripe.com)."""
    key, source = resolve_key(vault)
    return access_for(key, source, api_base, timeout=timeout)


def access_for(key: str, source: str, api_base: str | None = None, *,
               timeout: float = DEFAULT_TIMEOUT) -> StripeAccess:
    """Like :func:`connect` with a key already read (the window reads it on the vault thread
    and builds the client on its network thread)."""
    base = resolve_api_base(api_base)
    client = build_client(key, base, timeout=timeout)
    return StripeAccess(client=client, base=base, mode=key_mode(key), key_source=source, key=key)


def key_status(vault: Vault | None) -> dict[str, str | None]:
    """What the window may show about the keys: mode and mask of the vault's key and of
    ``STRIPE_API_KEY`` (None when absent), and a problem with the latter. Never the keys."""
    out: dict[str, str | None] = {"vault_mode": None, "vault_mask": None, "env_mode": None,
                                  "env_mask": None, "env_problem": None}
    key = stored_key(vault) if vault is not None else None
    if key is not None:
        out["vault_mode"], out["vault_mask"] = key_mode(key), mask_key(key)
    env = os.environ.get(API_KEY_ENV, "")
    if env.strip():
        try:
            env_key = validate_key(env, where=API_KEY_ENV)
        except KeyFormatError as exc:
            out["env_problem"] = str(exc)
        else:
            out["env_mode"], out["env_mask"] = key_mode(env_key), mask_key(env_key)
    return out
