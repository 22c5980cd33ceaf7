"""The Stripe key (modes, masks, storage, ``config`` commands), error messages and the retry
classification, against real responses from the local fake server (nothing mocks ``stripe``).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import stripe

from identity_desktop.errors import IdentityDeskError, StripeAccessError
from identity_desktop.stripe_api.client import (
    build_client,
    connect,
    describe_error,
    key_mode,
    mask_key,
    resolve_key,
    store_key,
    stored_key,
    validate_key,
)
from identity_desktop.stripe_api.retry import Pacer, RetryPolicy, classify
from identity_desktop.vault import Vault
from tests.conftest import PASSPHRASE, REPO
from tests.core._support import fast_kdf, one_error_line
from tests.fake_stripe import FakeStripe, FaultKind, make_report

KEY = "sk_test_51ClientTestsKeyHh3Jk8Ld0Pq"
LIVE = "rk_live_51ClientTestsLiveKeyNn6Vb2Cx"
NO_REDACT = "rk_test_51ClientTestsNoRedactYy5Tt"
LIST = "/v1/identity/verification_reports"


@pytest.fixture
def server() -> Iterator[FakeStripe]:
    with FakeStripe(api_keys={KEY}, no_redact_keys={NO_REDACT}) as fake:
        fake.add_reports([make_report(i, created=1_700_000_000 + i) for i in range(3)])
        yield fake


def test_modes_masks_and_validation() -> None:
    assert key_mode(KEY) == "test" and key_mode(LIVE) == "live"
    assert key_mode("rk_test_abcd") == "test" and key_mode("sk_live_abcd") == "live"
    assert mask_key(KEY) == "sk_test_…" + KEY[-4:]
    assert mask_key(LIVE) == "rk_live_…" + LIVE[-4:]
    assert mask_key("sk_test_short") == "sk_test_…"  # too short to show any of it
    assert validate_key(f"  {KEY}\n") == KEY
    for bad, reason in (("", "empty"), ("pk_test_abcdefgh", "publishable"),
                        ("sk_prod_abcdefgh", "not a Stripe API key"),
                        ("sk_test_ab cd", "not a Stripe API key"),
                        ("whsec_abcdefgh", "not a Stripe API key")):
        with pytest.raises(IdentityDeskError, match=reason) as info:
            validate_key(bad)
        assert bad.strip() == "" or bad not in str(info.value)


def test_key_is_stored_encrypted_and_the_environment_overrides_it(
        vault_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    vault = Vault.create(vault_path, PASSPHRASE, kdf=fast_kdf())
    try:
        with pytest.raises(StripeAccessError, match="no Stripe API key"):
            resolve_key(vault)
        assert store_key(vault, LIVE + "\n") == "live"
        assert stored_key(vault) == LIVE
        assert resolve_key(vault) == (LIVE, "the vault")
        monkeypatch.setenv("STRIPE_API_KEY", KEY)
        assert resolve_key(vault) == (KEY, "STRIPE_API_KEY")
        monkeypatch.setenv("STRIPE_API_KEY", "nonsense")
        with pytest.raises(IdentityDeskError, match="STRIPE_API_KEY is not a Stripe API key"):
            resolve_key(vault)
    finally:
        vault.lock()
    for suffix in ("", "-wal", "-shm"):
        path = Path(str(vault_path) + suffix)
        if path.exists():
            assert LIVE.encode() not in path.read_bytes()


def test_config_commands_never_show_the_key(
        vault_path: Path, run_cli: Any,
        all_written_files: Callable[[], Iterator[Path]]) -> None:
    Vault.create(vault_path, PASSPHRASE, kdf=fast_kdf()).lock()
    outputs = []

    result = run_cli("config", "set-api-key", input=KEY + "\n")
    assert result.returncode == 0, result.stderr
    assert result.stderr == "stored a test-mode key\n"
    outputs.append(result)

    result = run_cli("config", "show", env={"STRIPE_API_KEY": LIVE})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"test-mode key {mask_key(KEY)} (in the vault)",
        f"STRIPE_API_KEY overrides it: live-mode key {mask_key(LIVE)}"]
    outputs.append(result)

    line = one_error_line(run_cli("config", "set-api-key", input="pk_live_abcdefghijkl\n"))
    assert "publishable key" in line and "abcdefghijkl" not in line
    line = one_error_line(run_cli("config", "set-api-key", input=f"{KEY}\n{LIVE}\n"))
    assert "more than one line" in line

    result = run_cli("config", "clear-api-key")
    assert result.returncode == 0
    result = run_cli("config", "show")
    assert result.stdout == "no key in the vault\n"

    for out in outputs:
        assert KEY not in out.stdout + out.stderr and LIVE not in out.stdout + out.stderr
    for path in all_written_files():
        data = path.read_bytes()
        assert KEY.encode() not in data and LIVE.encode() not in data, path.name


def test_error_messages_name_the_failure_never_the_key_or_ids(
        vault_path: Path, server: FakeStripe) -> None:
    base = server.base_url
    what = "listing verification reports"

    def failure(key: str, call: Callable[[stripe.StripeClient], Any]) -> str:
        client = build_client(key, base)
        with pytest.raises(stripe.StripeError) as info:
            call(client)
        return describe_error(info.value, what=what, base=base, key_source="the vault")

    bad = "sk_test_NotTheRightKey9876"
    assert failure(bad, lambda c: c.v1.identity.verification_reports.list()) == (
        "Stripe rejected the API key (authentication failed); check the key from the vault")
    session = server.get_report(next(iter(server.store.reports)))["verification_session"]
    message = failure(NO_REDACT, lambda c: c.v1.identity.verification_sessions.redact(session))
    assert message == f"the API key lacks permission for {what} (Stripe answered 403)"
    message = failure(KEY, lambda c: c.v1.identity.verification_reports.list(
        {"starting_after": "vr_1FakeNoSuchReport0000"}))
    assert message == (f"Stripe refused the request for {what} (HTTP 400; parameter "
                       "'starting_after', code resource_missing)")
    message = failure(KEY, lambda c: c.v1.identity.verification_reports.retrieve(
        "vr_1FakeNoSuchReport0000"))
    assert "HTTP 404" in message and "vr_" not in message
    server.stop()
    message = failure(KEY, lambda c: c.v1.identity.verification_reports.list())
    assert message == f"cannot reach Stripe at 127.0.0.1:{server.port}: connection refused"


def test_classify_real_responses(server: FakeStripe) -> None:
    client = build_client(KEY, server.base_url)

    def error_for(kind: FaultKind | None, **options: Any) -> stripe.StripeError:
        if kind is not None:
            server.inject(kind, method="GET", path=LIST, **options)
        with pytest.raises(stripe.StripeError) as info:
            client.v1.identity.verification_reports.list(
                {} if kind is not None else {"limit": 1000})
        return info.value

    assert classify(error_for(FaultKind.RATE_LIMIT)) == "rate_limit"
    assert classify(error_for(FaultKind.RATE_LIMIT, should_retry=False)) is None
    assert classify(error_for(FaultKind.SERVER_ERROR)) == "server"
    assert classify(error_for(FaultKind.SERVER_ERROR, should_retry=False)) is None
    assert classify(error_for(FaultKind.SERVER_ERROR_RETRY)) == "server"
    assert classify(error_for(FaultKind.LOCK_TIMEOUT)) == "conflict"
    assert classify(error_for(FaultKind.DROP_BEFORE)) == "network"
    assert classify(error_for(FaultKind.DROP_AFTER)) == "network"
    assert classify(error_for(None)) is None  # 400: limit out of range
    with pytest.raises(stripe.AuthenticationError) as info:
        build_client("sk_test_wrongwrongwrong", server.base_url).v1.identity \
            .verification_reports.list()
    assert classify(info.value) is None


def test_backoff_is_full_jitter_under_a_cap_and_the_pacer_adapts() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=30.0)
    rng = random.Random(3)
    for retry in range(1, 12):
        waits = [policy.backoff(retry, rng) for _ in range(50)]
        ceiling = min(30.0, 0.5 * 2 ** (retry - 1))
        assert all(0.0 <= w <= ceiling for w in waits)
        assert max(waits) > ceiling / 2  # spread over the whole range, not pinned
    pacer = Pacer(first=0.05, ceiling=2.0, decay=0.5)
    assert pacer.interval == 0.0
    pacer.slow_down()
    pacer.slow_down()
    assert pacer.interval == pytest.approx(0.1)
    for _ in range(10):
        pacer.slow_down()
    assert pacer.interval == 2.0
    for _ in range(20):
        pacer.succeeded()
    assert pacer.interval == 0.0


def test_stripe_log_captured_at_import_is_refused(tmp_path: Path) -> None:
    # stripe reads STRIPE_LOG once, when imported, and then prints response bodies to stderr.
    code = ("import stripe\n"
            "from identity_desktop.stripe_api.client import build_client\n"
            f"build_client({KEY!r}, 'http://127.0.0.1:9')\n")
    env = {**os.environ, "PYTHONPATH": str(REPO), "STRIPE_LOG": "debug"}
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "STRIPE_LOG (or stripe.log) was set when the stripe package loaded" in done.stderr


def test_connect_uses_stripe_api_base(vault_path: Path, server: FakeStripe,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIPE_API_BASE", server.base_url + "/")
    monkeypatch.setenv("STRIPE_API_KEY", KEY)
    access = connect(None)
    assert access.base == server.base_url and access.mode == "test"
    assert access.key_source == "STRIPE_API_KEY" and KEY not in repr(access)
    with pytest.raises(IdentityDeskError, match="http"):
        connect(None, "ftp://example.com")
