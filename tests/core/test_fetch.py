"""Fetching reports from Stripe: the real ``stripe`` client over real HTTP to the local fake
server (``tests.fake_stripe``), a real encrypted vault. Nothing mocks or patches ``stripe``.

Back-off waits go through an injected sleeper that records and returns at once, except where a
test needs the server's real token bucket to refill.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from identity_desktop.errors import StripeAccessError
from identity_desktop.stripe_api.client import StripeAccess, connect, store_key
from identity_desktop.stripe_api.fetch import (
    OVERLAP,
    SENSITIVE_EXPANDS,
    FetchFilters,
    FetchSummary,
    fetch_reports,
)
from identity_desktop.stripe_api.retry import RetryPolicy
from identity_desktop.vault import Vault
from identity_desktop.vault.reports import iter_reports, report_count
from tests.conftest import PASSPHRASE, REPO
from tests.core._support import assert_no_plaintext, fast_kdf, one_error_line, sensitive_values
from tests.fake_stripe import FakeStripe, FaultKind, make_report

KEY = "sk_test_51FetchTestsKeyQv7Lm2Xp9Rt4Wz"
LIST_PATH = "/v1/identity/verification_reports"
START = 1_700_000_000
STEP = 60  # seconds between report pairs: an incremental fetch re-lists OVERLAP/STEP*2 reports


def build_reports(count: int, *, first: int = 0, start: int = START) -> list[dict[str, Any]]:
    """Two reports per ``created`` second (ties on every page boundary), a few with fields
    this app does not know, which must survive the trip unchanged."""
    out = []
    for i in range(first, first + count):
        report = make_report(i, created=start + (i // 2) * STEP)
        if i % 97 == 0:
            report["future_field"] = {"nested": [1, {"x": None, "y": "z"}], "flag": True}
        out.append(report)
    return out


def newest_first(reports: list[dict[str, Any]]) -> list[str]:
    return [r["id"] for r in sorted(reports, key=lambda r: (r["created"], r["id"]), reverse=True)]


def list_calls(server: FakeStripe, since: int = 0) -> list[dict[str, Any]]:
    """The list requests' parameters, less ``expand`` (the same on every page, tested apart)."""
    return [{k: v for k, v in r.params.items() if k != "expand"}
            for r in server.requests[since:] if r.method == "GET" and r.path == LIST_PATH]


class Sleeps(list[float]):
    """A sleeper that records the requested waits and returns at once."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def server() -> Iterator[FakeStripe]:
    with FakeStripe(api_keys={KEY}) as fake:
        yield fake


@pytest.fixture
def vault(vault_path: Path) -> Iterator[Vault]:
    with Vault.create(vault_path, PASSPHRASE, kdf=fast_kdf()) as v:
        store_key(v, KEY)
        yield v


@pytest.fixture
def access(vault: Vault, server: FakeStripe) -> StripeAccess:
    return connect(vault, server.base_url)


def fetch(vault: Vault, access: StripeAccess, filters: FetchFilters | None = None,
          **kwargs: Any) -> FetchSummary:
    kwargs.setdefault("sleeper", Sleeps())
    return fetch_reports(vault, access, filters, **kwargs)


def stored(vault: Vault) -> dict[str, dict[str, Any]]:
    reports = list(iter_reports(vault))
    ids = [r["id"] for r in reports]
    assert len(ids) == len(set(ids)), "duplicate reports in the vault"
    return dict(zip(ids, reports, strict=True))


# ---- completeness under faults ---------------------------------------------------------------


def test_1100_reports_arrive_complete_and_exact_despite_faults(
        vault: Vault, access: StripeAccess, server: FakeStripe) -> None:
    reports = build_reports(1100)
    server.add_reports(reports)
    # Planned: a plain 500, a dropped connection before and after the server acted, a 409,
    # a 429, then 25% random faults of every transient kind for the rest of the fetch.
    for kind in (FaultKind.SERVER_ERROR, FaultKind.DROP_BEFORE, FaultKind.DROP_AFTER,
                 FaultKind.LOCK_TIMEOUT, FaultKind.RATE_LIMIT):
        server.inject(kind, method="GET", path=LIST_PATH)
    server.faults.set_random(0.25, seed=11)
    sleeps = Sleeps()
    seen: list[int] = []

    summary = fetch(vault, access, progress=lambda s: seen.append(s.fetched), sleeper=sleeps)

    assert summary.complete and not summary.cancelled and not summary.resumed
    assert (summary.added, summary.updated, summary.unchanged) == (1100, 0, 0)
    assert summary.pages == 11
    fired = {f.kind for f in server.faults.fired}
    assert {FaultKind.SERVER_ERROR, FaultKind.DROP_BEFORE, FaultKind.DROP_AFTER,
            FaultKind.LOCK_TIMEOUT, FaultKind.RATE_LIMIT} <= fired
    assert summary.retries == len(server.faults.fired) >= 8
    assert len(sleeps) >= summary.retries  # back-off waits, plus pacing after the 429s
    assert summary.requests == len(list_calls(server)) == 11 + summary.retries
    assert seen[-1] == 1100 and seen == sorted(seen)  # progress: a running count
    got = stored(vault)
    assert report_count(vault) == 1100
    assert got == {r["id"]: r for r in reports}  # exactly as served, unknown fields included
    assert summary.line() == "fetched 1100 reports in 11 pages: 1100 added, 0 updated, 0 unchanged"


def test_sensitive_fields_are_expanded_on_every_page(vault: Vault, vault_path: Path) -> None:
    """Stripe returns dob, expiry and numbers only when expanded: every page must ask."""
    reports = build_reports(150)
    with FakeStripe(api_keys={KEY}, sensitive_requires_expand=True) as strict:
        strict.add_reports(reports)
        fetch(vault, connect(vault, strict.base_url))
        pages = [r.params for r in strict.requests if r.method == "GET" and r.path == LIST_PATH]
    assert len(pages) == 2
    for params in pages:
        assert sorted(params["expand"]) == sorted(SENSITIVE_EXPANDS)
    got = stored(vault)
    assert got == {r["id"]: r for r in reports}  # dob, expiration_date, number all present
    assert any(r["document"] and r["document"].get("dob") for r in got.values())


def test_pages_follow_cursors_with_limit_100(
        vault: Vault, access: StripeAccess, server: FakeStripe) -> None:
    reports = build_reports(250)
    server.add_reports(reports)
    fetch(vault, access)
    order = newest_first(reports)
    assert list_calls(server) == [{"limit": "100"},
                                  {"limit": "100", "starting_after": order[99]},
                                  {"limit": "100", "starting_after": order[199]}]


# ---- incremental re-fetch ------------------------------------------------------------------


def test_second_fetch_asks_only_for_what_is_new(
        vault: Vault, access: StripeAccess, server: FakeStripe) -> None:
    reports = build_reports(1000)
    server.add_reports(reports)
    assert fetch(vault, access).added == 1000
    newest = max(r["created"] for r in reports)

    before = len(server.requests)
    again = fetch(vault, access)
    calls = list_calls(server, before)
    assert len(calls) <= 2
    assert calls[0] == {"limit": "100", "created": {"gte": str(newest - OVERLAP)}}
    assert again.incremental and again.complete
    assert (again.added, again.updated) == (0, 0)
    assert again.unchanged <= 2 * (OVERLAP // STEP + 1)

    # New reports, one of them tied with the previous newest second: all of them arrive.
    tied = make_report(5000, created=newest)
    fresh = [tied, *build_reports(30, first=1000)]
    server.add_reports(fresh)
    before = len(server.requests)
    third = fetch(vault, access)
    assert len(list_calls(server, before)) <= 2
    assert third.added == 31
    assert set(stored(vault)) == {r["id"] for r in reports + fresh}


def test_reports_created_or_surfacing_during_a_fetch_are_caught_next_time(
        vault: Vault, access: StripeAccess, server: FakeStripe) -> None:
    reports = build_reports(600)
    server.add_reports(reports)
    newest = max(r["created"] for r in reports)
    late: list[dict[str, Any]] = []

    def progress(summary: FetchSummary) -> None:
        if summary.pages == 2 and not late:
            # Created while we page (at the head of the list), plus one that shows up in
            # lists late, with a created time just behind the newest one we already passed.
            late.extend(build_reports(5, first=600))
            late.append(make_report(7000, created=newest - OVERLAP // 2))
            server.add_reports(late)

    first = fetch(vault, access, progress=progress)
    assert first.added == 600  # the run walks back from its first page; the head waits
    second = fetch(vault, access)
    assert second.added == len(late) == 6
    assert set(stored(vault)) == {r["id"] for r in reports + late}


def test_an_explicit_created_window_is_fetched_whole_every_time(
        vault: Vault, access: StripeAccess, server: FakeStripe) -> None:
    reports = build_reports(300)
    server.add_reports(reports)
    window = FetchFilters(created_gte=START + 30 * STEP, created_lte=START + 99 * STEP)
    expected = {r["id"] for r in reports if window.created_gte <= r["created"]  # type: ignore[operator]
                <= window.created_lte}  # type: ignore[operator]
    assert fetch(vault, access, window).added == len(expected) == 140
    before = len(server.requests)
    again = fetch(vault, access, window)
    assert again.unchanged == 140 and not again.incremental
    assert list_calls(server, before)[0]["created"] == {"gte": str(START + 30 * STEP),
                                                        "lte": str(START + 99 * STEP)}


# ---- cancel, crash and resume ---------------------------------------------------------------


def test_cancelled_fetch_resumes_from_its_cursor(
        vault: Vault, access: StripeAccess, server: FakeStripe) -> None:
    reports = build_reports(1050)
    server.add_reports(reports)
    order = newest_first(reports)
    pages: list[int] = []

    def progress(summary: FetchSummary) -> None:
        pages.append(summary.pages)

    cut = fetch(vault, access, progress=progress, cancelled=lambda: len(pages) >= 3)
    assert cut.cancelled and not cut.complete
    assert cut.pages == 3 and report_count(vault) == 300

    before = len(server.requests)
    rest = fetch(vault, access)
    calls = list_calls(server, before)
    assert rest.resumed and rest.complete
    assert calls[0] == {"limit": "100", "starting_after": order[299]}  # not page 1 again
    assert rest.added == 750
    # 8 pages to finish the run, then one incremental page for anything newer.
    assert len(calls) == 9 and "starting_after" not in calls[-1]
    assert set(stored(vault)) == set(order)


def test_cancel_during_a_rate_limit_wait_stops_promptly_and_resumes(
        vault: Vault, access: StripeAccess, server: FakeStripe) -> None:
    server.add_reports(build_reports(300))
    flag = {"cancel": False}

    def progress(summary: FetchSummary) -> None:
        if summary.pages == 1:
            server.inject(FaultKind.RATE_LIMIT, method="GET", path=LIST_PATH, times=50)

    def sleeper(seconds: float) -> None:
        flag["cancel"] = True  # the user presses Cancel while we wait

    cut = fetch(vault, access, progress=progress, cancelled=lambda: flag["cancel"],
                sleeper=sleeper)
    assert cut.cancelled and cut.pages == 1 and cut.retries == 1
    server.faults.clear()
    rest = fetch(vault, access)
    assert rest.resumed and rest.added == 200 and report_count(vault) == 300


def test_vanished_cursor_continues_by_created_time(
        vault: Vault, access: StripeAccess, server: FakeStripe) -> None:
    reports = build_reports(500)
    server.add_reports(reports)
    pages: list[int] = []
    fetch(vault, access, progress=lambda s: pages.append(s.pages),
          cancelled=lambda: len(pages) >= 2)
    # The report the cursor names is gone from Stripe: the server answers 400 for it.
    state = vault.get_json("fetch_state")
    (scope,) = state["scopes"].values()
    cursor = scope["run"]["cursor"]
    scope["run"]["cursor"] = {"id": "vr_1FakeGoneGoneGoneGone", "created": cursor["created"]}
    vault.set_json("fetch_state", state)

    before = len(server.requests)
    rest = fetch(vault, access)
    calls = list_calls(server, before)
    assert calls[0]["starting_after"] == "vr_1FakeGoneGoneGoneGone"
    assert calls[1] == {"limit": "100", "created": {"lte": str(cursor["created"])}}
    assert rest.complete and set(stored(vault)) == {r["id"] for r in reports}


def test_killed_cli_fetch_resumes_without_restarting(
        vault: Vault, vault_path: Path, server: FakeStripe, run_cli: Any,
        passphrase_file: Path) -> None:
    reports = build_reports(1000)
    server.add_reports(reports)
    order = newest_first(reports)
    vault.lock()
    # The first four pages are answered at once (a zero delay); the 5th list request, sent
    # only once page 4 was committed and its cursor saved, is held by the server. The child is
    # killed while it waits on it: the same point on a loaded machine as on an idle one, and
    # no request of the killed fetch can reach the server's log after the kill.
    server.inject(FaultKind.DELAY, method="GET", path=LIST_PATH, times=4)
    server.inject(FaultKind.DELAY, method="GET", path=LIST_PATH, delay=60)  # cut short at stop
    argv = [sys.executable, "-m", "identity_desktop.cli.main", "fetch", "--vault",
            str(vault_path), "--passphrase-file", str(passphrase_file), "--api-base",
            server.base_url]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(argv, env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while server.faults.pending():  # until the 5th list request is held
            assert child.poll() is None, "the fetch ended before it could be killed"
            assert time.monotonic() < deadline, "the fetch never sent its 5th list request"
            time.sleep(0.01)
    finally:
        child.kill()  # SIGKILL: the fetch gets no chance to save anything more
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert len(list_calls(server)) == 5
    reopened = Vault.open(vault_path, PASSPHRASE)
    try:
        assert report_count(reopened) == 400  # every committed page, not the held one
    finally:
        reopened.lock()

    before = len(server.requests)
    result = run_cli("fetch", "--api-base", server.base_url)
    assert result.returncode == 0, result.stderr
    calls = list_calls(server, before)
    assert calls[0]["starting_after"] == order[399]  # resumed after page 4, not from the start
    assert len(calls) == 6 + 1  # the other six pages + one incremental page
    reopened = Vault.open(vault_path, PASSPHRASE)
    try:
        assert set(stored(reopened)) == set(order)
    finally:
        reopened.lock()
    words = result.stdout.split()
    assert int(words[words.index("added,") - 1]) == 600


# ---- filters -------------------------------------------------------------------------------


def test_filters_reach_the_server_as_stripe_parameters(
        vault: Vault, access: StripeAccess, server: FakeStripe) -> None:
    reports = build_reports(40)
    session = reports[7]["verification_session"]
    for r in reports[:10]:
        r["verification_session"] = session
        r["client_reference_id"] = "user_shared"
    reports[3]["type"] = "id_number"
    server.add_reports(reports)
    filters = FetchFilters(created_gt=START - 1, created_gte=START, created_lt=START + 10**6,
                           created_lte=START + 4 * STEP, type="document",
                           verification_session=session, client_reference_id="user_shared")
    summary = fetch(vault, access, filters)
    assert list_calls(server) == [{
        "limit": "100",
        "created": {"gt": str(START - 1), "gte": str(START), "lt": str(START + 10**6),
                    "lte": str(START + 4 * STEP)},
        "type": "document", "verification_session": session,
        "client_reference_id": "user_shared"}]
    expected = {r["id"] for r in reports[:10]
                if r["created"] <= START + 4 * STEP and r["type"] == "document"}
    assert summary.added == len(expected) == 9
    assert set(stored(vault)) == expected


def test_cli_filters_and_summary_line(
        vault: Vault, server: FakeStripe, run_cli: Any) -> None:
    reports = build_reports(120)
    server.add_reports(reports)
    vault.lock()
    session = reports[6]["verification_session"]
    result = run_cli("fetch", "--created-gte", str(START), "--created-lte", str(START + 3600),
                     "--type", "document", "--session", session, "--client-reference-id",
                     "user_00006", "--api-base", server.base_url)
    assert result.returncode == 0, result.stderr
    assert list_calls(server) == [{"limit": "100",
                                   "created": {"gte": str(START), "lte": str(START + 3600)},
                                   "type": "document", "verification_session": session,
                                   "client_reference_id": "user_00006"}]
    assert result.stdout == "fetched 1 reports in 1 pages: 1 added, 0 updated, 0 unchanged\n"
    assert result.stderr == ""  # not a terminal: no progress, no notices

    result = run_cli("fetch", env={"STRIPE_API_BASE": server.base_url})
    assert result.stdout == "fetched 120 reports in 2 pages: 119 added, 0 updated, 1 unchanged\n"


# ---- errors --------------------------------------------------------------------------------


def test_bad_key_exits_1_with_one_clear_line(
        vault: Vault, server: FakeStripe, run_cli: Any) -> None:
    server.add_reports(build_reports(10))
    vault.lock()
    bad = "sk_test_WrongWrongWrong1234"
    result = run_cli("fetch", "--api-base", server.base_url, env={"STRIPE_API_KEY": bad})
    line = one_error_line(result)
    assert line == ("identity-desk: error: Stripe rejected the API key (authentication "
                    "failed); check the key from STRIPE_API_KEY")
    assert len(list_calls(server)) == 1  # a 401 is not retried
    assert "Wrong" not in result.stdout + result.stderr


def test_missing_key_is_one_line(vault_path: Path, server: FakeStripe, run_cli: Any) -> None:
    Vault.create(vault_path, PASSPHRASE, kdf=fast_kdf()).lock()
    line = one_error_line(run_cli("fetch", "--api-base", server.base_url))
    assert "no Stripe API key" in line and "config set-api-key" in line
    assert not server.requests


def test_unreachable_server_is_retried_then_named(
        vault: Vault, access: StripeAccess, server: FakeStripe) -> None:
    port = server.port
    server.stop()
    sleeps = Sleeps()
    with pytest.raises(StripeAccessError) as info:
        fetch(vault, access, sleeper=sleeps)
    assert str(info.value).startswith(
        f"cannot reach Stripe at 127.0.0.1:{port}: connection refused; gave up after 6 attempts")
    assert len(sleeps) == 5


def test_should_retry_false_stops_at_once(
        vault: Vault, access: StripeAccess, server: FakeStripe) -> None:
    server.add_reports(build_reports(10))
    server.inject(FaultKind.SERVER_ERROR, method="GET", path=LIST_PATH, should_retry=False)
    with pytest.raises(StripeAccessError, match=r"Stripe failed while listing verification "
                                                r"reports \(HTTP 500\)"):
        fetch(vault, access)
    assert len(list_calls(server)) == 1


def test_endless_5xx_gives_up_keeping_pages_then_resumes(
        vault: Vault, access: StripeAccess, server: FakeStripe) -> None:
    server.add_reports(build_reports(400))

    def progress(summary: FetchSummary) -> None:
        if summary.pages == 2:
            server.inject(FaultKind.SERVER_ERROR_RETRY, method="GET", path=LIST_PATH, times=100)

    sleeps = Sleeps()
    with pytest.raises(StripeAccessError, match="gave up after 6 attempts") as info:
        fetch(vault, access, progress=progress, sleeper=sleeps)
    assert "run the fetch again to resume" in str(info.value)
    assert report_count(vault) == 200
    assert len(sleeps) == 5 and all(0 <= s <= RetryPolicy().max_delay for s in sleeps)
    server.faults.clear()
    rest = fetch(vault, access)
    assert rest.resumed and rest.added == 200


def test_rate_limited_fetch_slows_down_instead_of_failing(
        vault: Vault, server: FakeStripe) -> None:
    server.add_reports(build_reports(500))
    server.set_rate_limit(20, burst=1)  # one request per 50 ms; we would go faster
    access = connect(vault, server.base_url)
    policy = RetryPolicy(base_delay=0.02, max_delay=0.5)
    summary = fetch_reports(vault, access, policy=policy)  # real sleeping: the bucket refills
    assert summary.complete and summary.added == 500
    assert len(list_calls(server)) == summary.requests


def test_callable_from_another_thread_without_signals(
        vault: Vault, access: StripeAccess, server: FakeStripe) -> None:
    # The window runs fetches on a worker thread: nothing in the core may need the main thread.
    import threading

    server.add_reports(build_reports(150))
    result: list[FetchSummary] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            result.append(fetch(vault, access))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(60)
    assert not worker.is_alive() and not errors
    assert result[0].added == 150


# ---- no plaintext anywhere -------------------------------------------------------------------


SENSITIVE_KEYS = {"id", "verification_session", "client_reference_id", "first_name", "last_name",
                  "line1", "line2", "city", "postal_code", "number", "id_number", "email",
                  "phone", "files", "document", "selfie"}


def test_no_plaintext_in_any_written_file_after_a_debug_logged_fetch(
        vault: Vault, vault_path: Path, server: FakeStripe, tmp_path: Path,
        passphrase_file: Path, all_written_files: Callable[[], Iterator[Path]]) -> None:
    reports = build_reports(250)
    server.add_reports(reports)
    server.inject(FaultKind.RATE_LIMIT, method="GET", path=LIST_PATH)
    server.inject(FaultKind.SERVER_ERROR, method="GET", path=LIST_PATH)
    vault.lock()
    log_file = tmp_path / "home" / "state" / "debug.log"
    stderr_file = tmp_path / "home" / "state" / "stderr.txt"
    # An embedding program that turned on DEBUG for everything, with STRIPE_LOG=debug in the
    # environment: run the CLI command as main() would, minus main()'s own logging set-up.
    wrapper = (
        "import logging, sys\n"
        "logging.basicConfig(level=logging.DEBUG, filename=sys.argv[1])\n"
        "from identity_desktop.cli.main import build_parser\n"
        "args = build_parser().parse_args(sys.argv[2:])\n"
        "sys.exit(args.handler(args))\n")
    env = {**os.environ, "PYTHONPATH": str(REPO), "STRIPE_LOG": "debug",
           "STRIPE_API_BASE": server.base_url}
    with open(stderr_file, "w") as err:
        done = subprocess.run(
            [sys.executable, "-c", wrapper, str(log_file), "fetch", "--vault", str(vault_path),
             "--passphrase-file", str(passphrase_file)],
            env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=err, text=True, timeout=120)
    assert done.returncode == 0, stderr_file.read_text()
    assert done.stdout.startswith("fetched 250 reports")
    log_text = log_file.read_text()
    assert "DEBUG" in log_text and "page committed" in log_text  # DEBUG really was on

    needles = {v.encode() for v in sensitive_values(reports, SENSITIVE_KEYS)} | {KEY.encode()}
    assert len(needles) > 1000
    files = list(all_written_files())
    assert log_file in files and stderr_file in files and vault_path in files
    assert_no_plaintext(files, needles)
