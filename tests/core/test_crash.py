"""kill -9 in the middle of a large import leaves a sound vault holding everything reported done.

``identity-desk import`` prints ``imported N/M from FILE`` after each committed batch. The test
imports 30,000 reports (at least five batches) in a child process, SIGKILLs it after a chosen
progress line (at three points, each time a little later into a batch), then checks that the
vault opens, passes SQLite's ``PRAGMA integrity_check`` and holds at least the first N reports
of the file. A final import completes the rest: the stored reports are "unchanged", the others
"added".
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from identity_desktop.demo import write_demo_file
from identity_desktop.importing.importer import BATCH_SIZE
from identity_desktop.vault import Vault
from identity_desktop.vault.reports import get_report, load_summaries
from tests.conftest import PASSPHRASE, REPO
from tests.core._support import NOW, cli, isolated_env, make_vault, write_passphrase

pytestmark = pytest.mark.slow

TOTAL = max(30_000, 5 * BATCH_SIZE)
BATCHES = -(-TOTAL // BATCH_SIZE)
PROGRESS = re.compile(rb"imported (\d+)/(\d+) from (.+)")
# (progress lines seen, then seconds to wait): early, middle and late, never the last batch.
KILL_POINTS = [(1, 0.0), (BATCHES // 2, 0.05), (BATCHES - 2, 0.12)]


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("crash")
    source = root / "inputs" / "big.jsonl"
    source.parent.mkdir()
    write_demo_file(source, TOTAL, seed=5, now=NOW)
    with open(source, "rb") as f:
        ids = [orjson.loads(line)["id"] for line in f]
    assert len(ids) == TOTAL
    return {"root": root, "source": source, "ids": ids, "env": isolated_env(root),
            "vault": make_vault(root / "vault" / "vault.idvault"),
            "passphrase": write_passphrase(root / "passphrase.txt")}


def _progress(lines: list[bytes], source: Path) -> list[int]:
    done = []
    for line in lines:
        match = PROGRESS.fullmatch(line.strip())
        if match:
            assert int(match[2]) == TOTAL and match[3].decode() == str(source)
            done.append(int(match[1]))
    return done


def _import_then_kill(state: dict[str, Any], after_lines: int, wait: float) -> int:
    """Run the import, SIGKILL it after ``after_lines`` progress lines (plus ``wait``
    seconds); return the last N it reported done, counting lines printed before the kill."""
    argv = [sys.executable, "-m", "identity_desktop.cli.main", "import", str(state["source"]),
            "--vault", str(state["vault"]), "--passphrase-file", str(state["passphrase"])]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=state["env"], cwd=REPO)
    assert proc.stderr is not None
    fd = proc.stderr.fileno()
    done: list[int] = []
    pending = b""
    deadline = time.monotonic() + 120
    try:
        while len(done) < after_lines:
            remaining = deadline - time.monotonic()
            assert remaining > 0, "no progress from the import"
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            assert chunk, f"the import ended before the kill point: {pending!r}"
            *lines, pending = (pending + chunk).split(b"\n")
            done += _progress(lines, state["source"])
        time.sleep(wait)
        proc.send_signal(signal.SIGKILL)
        rest = pending + proc.stderr.read()  # whatever it printed before it died counts too
        done += _progress(rest.split(b"\n"), state["source"])
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        proc.stderr.close()
    assert done[-1] < TOTAL, "the import finished before it could be killed"
    return done[-1]


@pytest.mark.parametrize(("after_lines", "wait"), KILL_POINTS)
def test_kill_during_import_keeps_what_was_reported(state: dict[str, Any], after_lines: int,
                                                    wait: float) -> None:
    reported = _import_then_kill(state, after_lines, wait)
    assert reported >= after_lines * BATCH_SIZE
    with Vault.open(state["vault"], PASSPHRASE) as vault:
        assert vault.integrity_check() == "ok"
        stored = {s[0] for s in load_summaries(vault)}
        assert len(stored) >= reported
        assert set(state["ids"][:reported]) <= stored
        assert stored <= set(state["ids"])
        # Whole batches only: a batch is one transaction.
        assert len(stored) % BATCH_SIZE == 0
        for report_id in state["ids"][reported - 1::-max(1, reported // 7)]:
            report = get_report(vault, report_id)
            assert report is not None and report["id"] == report_id
    state["stored"] = len(stored)


def test_reimport_after_kills_completes_the_rest(state: dict[str, Any]) -> None:
    with Vault.open(state["vault"], PASSPHRASE) as vault:
        before = len(load_summaries(vault))
    assert before >= state.get("stored", 0)
    result = cli("import", str(state["source"]), env=state["env"], vault=state["vault"],
                 passphrase_file=state["passphrase"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (f"{TOTAL - before} added, 0 updated, {before} unchanged, "
                                     "0 rejected")
    with Vault.open(state["vault"], PASSPHRASE) as vault:
        assert vault.integrity_check() == "ok"
        assert [s[0] for s in load_summaries(vault)] == state["ids"]
