"""Talking to Stripe through the official ``stripe`` package: the key, the client, retries and
the fetch of verification reports. Qt-free, like the rest of the core."""

from __future__ import annotations

from identity_desktop.stripe_api.client import (
    StripeAccess,
    connect,
    key_mode,
    mask_key,
    store_key,
    stored_key,
)
from identity_desktop.stripe_api.fetch import FetchFilters, FetchSummary, fetch_reports

__all__ = [
    "FetchFilters",
    "FetchSummary",
    "StripeAccess",
    "connect",
    "fetch_reports",
    "key_mode",
    "mask_key",
    "store_key",
    "stored_key",
]
