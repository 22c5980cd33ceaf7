"""Stripe-shaped API errors for the fake server.

Every error the fake returns has Stripe's JSON shape::

    {"error": {"type": ..., "code": ..., "message": ..., "param": ..., "doc_url": ...,
               "request_log_url": ...}}

``code`` and ``param`` are omitted when Stripe would omit them. The messages follow the
wording of Stripe's real messages closely enough for log assertions, not byte-for-byte.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "StripeError",
    "api_error",
    "idempotency_in_use",
    "idempotency_mismatch",
    "invalid_api_key",
    "invalid_param",
    "lock_timeout",
    "mask_api_key",
    "missing_api_key",
    "no_such",
    "permission_denied",
    "rate_limited",
    "unknown_parameter",
    "unrecognized_url",
]


@dataclass
class StripeError(Exception):
    """An API error: HTTP status plus the fields of Stripe's ``error`` object.

    ``store`` says whether an idempotent POST saves this response for replay. Stripe saves
    a result only once the endpoint started executing: not for auth failures, parameter
    validation failures, rate limits or lock/idempotency conflicts.
    """

    status: int
    type: str
    message: str
    code: str | None = None
    param: str | None = None
    store: bool = True
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def body(self, request_id: str, livemode: bool = False) -> dict[str, Any]:
        err: dict[str, Any] = {}
        if self.code is not None:
            err["code"] = self.code
            err["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        err["message"] = self.message
        if self.param is not None:
            err["param"] = self.param
        mode = "" if livemode else "test/"
        err["request_log_url"] = f"https://dashboard.stripe.com/{mode}logs/{request_id}"
        err["type"] = self.type
        return {"error": err}


def mask_api_key(key: str) -> str:
    """Mask a key the way Stripe echoes it: known prefix and last four characters kept."""
    prefix = ""
    for candidate in ("sk_test_", "sk_live_", "rk_test_", "rk_live_", "pk_test_", "pk_live_"):
        if key.startswith(candidate):
            prefix = candidate
            break
    rest = key[len(prefix) :]
    if len(rest) <= 4:
        return prefix + "*" * len(rest)
    return prefix + "*" * (len(rest) - 4) + rest[-4:]


def _invalid_request(status: int, message: str, *, code: str | None = None,
                     param: str | None = None, store: bool = False) -> StripeError:
    """An ``invalid_request_error``; not saved for idempotent replay unless ``store``."""
    return StripeError(status, "invalid_request_error", message, code=code, param=param,
                       store=store)


def missing_api_key() -> StripeError:
    return _invalid_request(
        401,
        "You did not provide an API key. You need to provide your API key in the "
        "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
        "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details.",
    )


def invalid_api_key(key: str) -> StripeError:
    return _invalid_request(401, f"Invalid API Key provided: {mask_api_key(key)}",
                            code="api_key_invalid")


def permission_denied(key: str, permission: str) -> StripeError:
    return _invalid_request(
        403,
        f"The provided key '{mask_api_key(key)}' does not have the required permissions for "
        f"this endpoint on account 'acct_1FakeStripeAcct'. Having the '{permission}' "
        "permission would allow this request to continue.",
        code="secret_key_required" if key.startswith("pk_") else None,
    )


def rate_limited() -> StripeError:
    return _invalid_request(
        429,
        "Request rate limit exceeded. Learn more about rate limits here "
        "https://stripe.com/docs/rate-limits.",
        code="rate_limit",
    )


def api_error(*, store: bool = True) -> StripeError:
    return StripeError(
        500,
        "api_error",
        "Sorry, something went wrong. We've already been notified of the problem, but if "
        "you need any help, you can reach us at https://support.stripe.com/contact.",
        store=store,
    )


def lock_timeout() -> StripeError:
    return _invalid_request(
        409,
        "This object cannot be accessed right now because another API request or Stripe "
        "process is currently accessing it. If you see this error intermittently, retry the "
        "request. If you see this error frequently and are making multiple concurrent "
        "requests to a single object, make your requests serially or at a lower rate.",
        code="lock_timeout",
    )


def idempotency_mismatch(key: str) -> StripeError:
    return StripeError(
        400,
        "idempotency_error",
        "Keys for idempotent requests can only be used with the same parameters they were "
        f"first used with. Try using a key other than '{key}' if you meant to execute a "
        "different request.",
        store=False,
    )


def idempotency_in_use(key: str) -> StripeError:
    return StripeError(
        409,
        "idempotency_error",
        f"There is currently another in-progress request using this Idempotency-Key "
        f"('{key}'). Please try again later.",
        code="idempotency_key_in_use",
        store=False,
    )


def invalid_param(param: str, message: str, code: str = "parameter_invalid") -> StripeError:
    return _invalid_request(400, message, code=code, param=param)


def unknown_parameter(param: str) -> StripeError:
    return invalid_param(param, f"Received unknown parameter: {param}", "parameter_unknown")


def no_such(kind: str, object_id: str, *, status: int = 404, param: str = "id") -> StripeError:
    return _invalid_request(status, f"No such {kind}: '{object_id}'", code="resource_missing",
                            param=param, store=True)


def unrecognized_url(method: str, path: str) -> StripeError:
    return _invalid_request(
        404,
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or "
        "we can help at https://support.stripe.com/.",
    )
