"""Crash safety of ``identity-desk sync``: the process is SIGKILLed at random points (seeded)
several times while it sends and polls against the fake server (with latency and random
faults), then restarted until done. Every session still ends redacted, with exactly one
redaction effect on the server, and no entry is lost."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from identity_desktop.outbox import store
from identity_desktop.outbox.store import OutboxState
from identity_desktop.vault import Vault
from identity_desktop.vault.reports import reports_for_session
from tests.conftest import PASSPHRASE, REPO
from tests.core._outbox_support import KEY, build_reports, make_vault, sessions_of
from tests.core._support import isolated_env, write_passphrase
from tests.fake_stripe import REDACTED, FakeStripe, FaultKind

SESSIONS = 40


def test_sync_killed_at_random_points_redacts_each_session_exactly_once(tmp_path: Path) -> None:
    seed = 20261123
    rng = random.Random(seed)
    reports = build_reports(SESSIONS, pairs=5)
    sessions = sessions_of(reports)
    path = tmp_path / "work" / "vault.idvault"
    vault = make_vault(path, reports)
    store.queue_sessions(vault, sessions)
    vault.lock()
    pp = write_passphrase(tmp_path / "pp.txt")
    env = isolated_env(tmp_path / "env")
    with FakeStripe(api_keys={KEY}, latency=0.02) as server:
        server.add_reports(reports)
        server.faults.set_random(0.1, seed=seed, kinds=[
            FaultKind.SERVER_ERROR, FaultKind.DROP_AFTER, FaultKind.LOCK_TIMEOUT,
            FaultKind.RATE_LIMIT])
        argv = [sys.executable, "-m", "identity_desktop.cli.main", "sync", "--vault", str(path),
                "--passphrase-file", str(pp), "--api-base", server.base_url, "--rate", "100",
                "--poll-interval", "0.02", "--retry-base", "0.02", "--max-wait", "60"]
        kills = caught_sending = 0
        for _ in range(5):
            before = len(server.requests)
            proc = subprocess.Popen(argv, env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, text=True)
            # Kill after a random number of requests and a random slice of a request's time:
            # mid-request, between a response and its commit, or inside a commit.
            target = before + rng.randint(2, 30)
            deadline = time.monotonic() + 60
            while len(server.requests) < target and proc.poll() is None \
                    and time.monotonic() < deadline:
                time.sleep(0.002)
            time.sleep(rng.uniform(0.0, 0.03))
            if proc.poll() is None:
                proc.kill()
                kills += 1
            proc.wait(timeout=30)
            vault = Vault.open(path, PASSPHRASE)
            try:
                left = store.counts(store.list_entries(vault))
            finally:
                vault.lock()
            caught_sending += left[OutboxState.SENDING]
            assert sum(left.values()) == SESSIONS  # nothing lost, even mid-crash
        assert kills >= 4, "the sync finished before it could be killed: raise SESSIONS"
        # Some kill landed while requests were out (the case exactly-once is about).
        assert caught_sending > 0

        server.faults.clear_random()
        final = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True,
                               timeout=120)
        assert final.returncode == 0, final.stderr[-2000:]
        assert "Traceback" not in final.stderr

        vault = Vault.open(path, PASSPHRASE)
        try:
            entries = store.list_entries(vault)
            assert sorted(e.session for e in entries) == sorted(sessions)  # nothing lost
            assert {e.state for e in entries} == {OutboxState.REDACTED}
            assert {s: server.redact_effects[s] for s in sessions} == dict.fromkeys(sessions, 1)
            keys: dict[str, set[str]] = defaultdict(set)
            for r in server.requests:
                if r.method == "POST" and r.path.endswith("/redact"):
                    keys[r.path.split("/")[-2]].add(r.idempotency_key or "")
            for e in entries:  # the stored key was reused; a new one only after a proven no-op
                assert len(keys[e.session]) == 1 + e.key_rotations
            for s in sessions:
                for report in reports_for_session(vault, s):
                    assert report["document"]["first_name"] == REDACTED
            assert vault.integrity_check() == "ok"
        finally:
            vault.lock()
