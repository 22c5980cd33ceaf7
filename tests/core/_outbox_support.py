"""Helpers for the outbox and sync tests: reports with sessions, a vault holding them and the
test key, and an engine with short waits talking to the local fake Stripe server."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from identity_desktop.outbox.pacing import RateLimiter
from identity_desktop.outbox.sync import SyncEngine, SyncOptions
from identity_desktop.stripe_api.client import build_client, store_key
from identity_desktop.vault import Vault
from identity_desktop.vault.reports import upsert_reports
from tests.conftest import PASSPHRASE
from tests.core._support import fast_kdf
from tests.fake_stripe import FakeStripe, make_report

KEY = "sk_test_51OutboxTestsKey7Hq2Lm9Xp4Rt"
NO_REDACT_KEY = "rk_test_51OutboxReadOnly3Zx8Wq1Vn6"
START = 1_700_000_000
FAST = SyncOptions(backoff_base=0.02, backoff_cap=0.2, poll_interval=0.01, poll_cap=0.05,
                   throttle_pause=0.05)


def build_reports(count: int, *, pairs: int = 0) -> list[dict[str, Any]]:
    """``count`` reports, one session each, except that the first ``pairs`` sessions have a
    second report (Stripe makes a new report per attempt within a session)."""
    out = [make_report(i, created=START + i) for i in range(count)]
    for i in range(pairs):
        out.append(make_report(10_000 + i, created=START + 10_000 + i,
                               session=out[i]["verification_session"]))
    return out


def sessions_of(reports: Sequence[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(r["verification_session"] for r in reports))


def make_vault(path: Path, reports: Sequence[dict[str, Any]] = (), *, key: str = KEY) -> Vault:
    """An open vault (cheap KDF) with ``reports`` and the Stripe key stored."""
    vault = Vault.create(path, PASSPHRASE, kdf=fast_kdf())
    if reports:
        upsert_reports(vault, list(reports))
    store_key(vault, key)
    try:
        from identity_desktop.bundles import ensure_vault_identity
    except ImportError:
        pass
    else:
        ensure_vault_identity(vault)
    return vault


def make_engine(vault: Vault, server: FakeStripe, *, rate: float = 400.0, key: str = KEY,
                options: SyncOptions = FAST, workers: int | None = None,
                **kwargs: Any) -> SyncEngine:
    opts = SyncOptions(**{**options.__dict__, "workers": workers or options.workers})
    return SyncEngine(vault, build_client(key, server.base_url), RateLimiter(rate),
                      options=opts, api_base=server.base_url, **kwargs)
