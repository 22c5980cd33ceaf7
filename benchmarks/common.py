"""Shared pieces: child processes with their own CPU time and peak memory, a scratch workspace
with cached synthetic data, statistics and a description of the machine."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PASSPHRASE = "benchmark passphrase, not a secret"
SEED = 20240601
# Generated reports are relative to "now"; one fixed instant keeps every run's data identical.
NOW = 1_780_000_000  # 2026-05-28


@dataclass
class Child:
    """One finished child process: wall time from spawn to exit, its own CPU time and peak
    resident memory (from wait4, so nothing of ours is counted)."""

    args: list[str]
    returncode: int
    wall: float
    user: float
    sys: float
    maxrss_mib: float
    stdout: str
    stderr: str
    started: float = 0.0  # time.monotonic() just before the spawn

    @property
    def cpu(self) -> float:
        return self.user + self.sys

    def json_line(self) -> dict[str, Any]:
        """The last stdout line that is a JSON object (children report that way)."""
        for line in reversed(self.stdout.splitlines()):
            line = line.strip()
            if line.startswith("{"):
                return dict(json.loads(line))
        raise RuntimeError(f"{' '.join(self.args[:4])}...: no JSON result; stderr: "
                           f"{self.stderr.strip()[-500:]}")

    def check(self) -> Child:
        if self.returncode != 0:
            raise RuntimeError(f"{' '.join(self.args[:5])}... exited {self.returncode}: "
                               f"{self.stderr.strip()[-800:]}")
        return self


def run_child(args: Sequence[str], *, env: dict[str, str], timeout: float = 600.0,
              cwd: Path | None = None) -> Child:
    """Run ``args`` to completion (killed after ``timeout`` seconds). Output goes to files, so
    a chatty child can never block on a full pipe."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        proc = subprocess.Popen(list(args), stdout=out, stderr=err, env=env,
                                cwd=str(cwd or REPO), start_new_session=True)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.005)
        wall = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Child(list(args), proc.returncode, wall, usage.ru_utime, usage.ru_stime,
                     usage.ru_maxrss / 1024, out.read().decode(errors="replace"),
                     err.read().decode(errors="replace"), started)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100): an observed value, never an interpolation."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def compile_bytecode() -> dict[str, Any]:
    """Compile the app's, the benchmarks' and the installed packages' sources, as ``pip install``
    does for an installed app (and PyInstaller for the packaged one): every contender then
    starts from bytecode, not from compiling its imports anew in every timed run (which
    happens wherever bytecode was never written, e.g. under ``PYTHONDONTWRITEBYTECODE=1``; the
    children are run with it, so they only read what is compiled here)."""
    import compileall
    import sysconfig

    started = time.perf_counter()
    folders = [REPO / "identity_desktop", REPO / "benchmarks",
               *{Path(sysconfig.get_paths()[key]) for key in ("purelib", "platlib")}]
    for folder in folders:
        if folder.is_dir():  # quiet: packages ship templates that are not Python (PySide6)
            compileall.compile_dir(folder, quiet=2, workers=0)
    return {"folders": [str(f) for f in folders],
            "seconds": round(time.perf_counter() - started, 1)}


def machine() -> dict[str, Any]:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 0
    info: dict[str, Any] = {
        "cores": cores,
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        info["git"] = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=REPO,
                                     capture_output=True, text=True, timeout=10).stdout.strip()
    with contextlib.suppress(OSError):
        info["memory_gib"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
                                   / 2**30, 1)
    for name in ("numpy", "orjson", "cryptography", "PySide6", "sqlcipher3"):
        with contextlib.suppress(Exception):
            from importlib.metadata import version

            info[f"{name.lower()}_version"] = version(name if name != "sqlcipher3"
                                                      else "sqlcipher3-binary")
    return info


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def load_average() -> list[float] | None:
    """Other work on the machine skews every figure: recorded next to them."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


@dataclass
class Workspace:
    """A private scratch folder: generated data files (cached per count), vaults, databases,
    and an isolated HOME for every child so that nothing touches the user's own settings."""

    root: Path
    files: dict[int, Path] = field(default_factory=dict)
    vaults: dict[int, Path] = field(default_factory=dict)

    @classmethod
    @contextlib.contextmanager
    def create(cls, keep: Path | None = None) -> Iterator[Workspace]:
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            yield cls(keep)
            return
        root = Path(tempfile.mkdtemp(prefix="identity-desk-bench-"))
        try:
            yield cls(root)
        finally:
            shutil.rmtree(root, ignore_errors=True)

    @property
    def passphrase_file(self) -> Path:
        path = self.root / "passphrase.txt"
        if not path.exists():
            path.write_text(PASSPHRASE + "\n")
            path.chmod(0o600)
        return path

    def env(self, **extra: str) -> dict[str, str]:
        home = self.root / "home"
        for sub in ("", ".config", ".local/share", ".cache", ".local/state", "tmp"):
            (home / sub).mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("IDENTITY_DESK_", "STRIPE_"))}
        env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
                   XDG_DATA_HOME=str(home / ".local/share"), XDG_CACHE_HOME=str(home / ".cache"),
                   XDG_STATE_HOME=str(home / ".local/state"), TMPDIR=str(home / "tmp"),
                   PYTHONPATH=os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH"))
                                              if p),
                   QT_QPA_PLATFORM="offscreen", PYTHONDONTWRITEBYTECODE="1")
        env.update(extra)
        return env

    def data_file(self, count: int) -> Path:
        """A Stripe list object of ``count`` synthetic reports (made once per workspace)."""
        path = self.files.get(count)
        if path is None:
            from identity_desktop.demo import write_demo_file

            path = self.root / f"reports-{count}.json"
            if not path.exists():
                write_demo_file(path, count, seed=SEED, now=NOW)
            self.files[count] = path
        return path

    def fresh_path(self, name: str) -> Path:
        """A path with no file (nor -wal/-shm companions) behind it."""
        path = self.root / name
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                Path(str(path) + suffix).unlink()
        return path

    def cli(self, *args: str, vault: Path, timeout: float = 600.0) -> Child:
        return run_child([sys.executable, "-m", "identity_desktop.cli.main", "--vault",
                          str(vault), "--passphrase-file", str(self.passphrase_file), *args],
                         env=self.env(), timeout=timeout)

    def vault(self, count: int) -> Path:
        """A vault holding the ``count``-report file, imported through the CLI (made once)."""
        path = self.vaults.get(count)
        if path is None:
            path = self.fresh_path(f"vault-{count}.idvault")
            self.cli("init", vault=path).check()
            self.cli("import", str(self.data_file(count)), vault=path).check()
            self.vaults[count] = path
        return path


def mib(nbytes: float) -> float:
    return round(nbytes / 2**20, 1)
