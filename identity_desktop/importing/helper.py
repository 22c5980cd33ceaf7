"""A second process for the key-free work of reading a large file: decoding, checking and
summarising the last part of its records (``readers.HELPER_SHARE``), so that a 100,000-report
import reads on both cores.

Why a process: that work is Python code, which one process runs on one core at a time.
Why this work: it needs no key. The helper is handed JSON text through a pipe and hands back
summaries and rejection reasons through another (MessagePack); it never sees a key, opens no
file and writes nothing anywhere (its standard error is discarded, so not even a crash prints a
record).

The helper is an optimisation only: if it cannot start, dies, or returns anything unexpected,
the caller decodes those records itself (:func:`decode_in_helper` returns None), with the same
result. It runs the very code the caller does (``records.decode``).

Started as ``python -m identity_desktop.importing.helper``, or in the packaged app as
``identity-desktop --import-helper`` (see ``packaging/launcher.py``).
"""

from __future__ import annotations

import gc
import logging
import subprocess
import sys
import threading
from collections.abc import Sequence
from typing import Any

import msgspec
import orjson

from identity_desktop.importing.records import decode

log = logging.getLogger(__name__)

HELPER_FLAG = "--import-helper"
# (summary or None, reason or None, body or None): the body only when it is not the element's
# own text (a record that took the plain path is stored re-serialised).
Outcome = tuple[list[Any] | None, str | None, bytes | None]
_TIMEOUT = 600.0  # seconds; a helper that takes longer than this is stuck, not slow


def helper_command() -> list[str]:
    if getattr(sys, "frozen", False):  # the packaged app: its executable is not Python
        return [sys.executable, HELPER_FLAG]
    return [sys.executable, "-m", __name__]


class Helper:
    """One helper process, started at once (its start-up overlaps the caller's own decoding)
    and fed from a thread (a 50 MB payload does not fit in a pipe's buffer)."""

    def __init__(self, elements: Sequence[msgspec.Raw]) -> None:
        self._result: list[Any] = []
        self._proc: subprocess.Popen[bytes] | None = None
        try:
            self._proc = subprocess.Popen(
                helper_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                # Windows: no console window flashes up behind the reviewer's window.
                creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))
        except OSError:
            log.warning("import helper: could not start; decoding in this process")
            return
        # The elements as one JSON array; the brackets go down the pipe on their own, which
        # saves copying ~50 MB once more on the importing thread.
        payload = b",".join(elements)
        self._thread = threading.Thread(target=self._talk, args=(payload,),
                                        name="import-helper-pipe", daemon=True)
        self._thread.start()

    def _talk(self, payload: bytes) -> None:
        """Whole writes and reads, each one system call that runs without the GIL
        (``communicate`` would go back for the GIL every 4 KiB, which the importing thread
        holds). The helper reads all its input before it writes, so this cannot deadlock."""
        proc = self._proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        try:
            with proc.stdin:
                proc.stdin.write(b"[")
                proc.stdin.write(payload)
                proc.stdin.write(b"]")
            with proc.stdout:
                out = proc.stdout.read()
            proc.wait(timeout=_TIMEOUT)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
            return
        if proc.returncode == 0:
            self._result.append(out)

    def stop(self) -> None:
        """Kill the helper if it still runs (its answer is not wanted)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._thread.join()

    def outcomes(self, count: int) -> list[Outcome] | None:
        """The helper's outcome for each of its ``count`` elements, or None if it failed."""
        if self._proc is None:
            return None
        self._thread.join(_TIMEOUT)
        if self._thread.is_alive():  # stuck: its pipes close when it dies
            self._proc.kill()
            self._thread.join()
        if not self._result:
            log.warning("import helper: exited with status %s; decoding in this process",
                        self._proc.returncode)
            return None
        outcomes = read_answer(self._result[0])
        if outcomes is None or len(outcomes) != count:
            log.warning("import helper: unexpected answer; decoding in this process")
            return None
        return outcomes


def read_answer(data: bytes) -> list[Outcome] | None:
    """The helper's answer (MessagePack: a tenth of pickle's time to write, and reading it
    runs no code), or None when it is not a list of outcomes."""
    try:
        outcomes = msgspec.msgpack.decode(data)
    except msgspec.DecodeError:  # a damaged stream: not worth trusting any of it
        return None
    if not isinstance(outcomes, list) or not all(
            isinstance(o, list) and len(o) == 3 for o in outcomes):
        return None
    return outcomes  # lists of three, which unpack as the tuples do


def decode_all(elements: Sequence[msgspec.Raw]) -> list[Outcome]:
    """What the helper computes (and what a caller can compute itself)."""
    out: list[Outcome] = []
    for raw in elements:
        try:
            record, reason = decode(raw)
        except orjson.JSONDecodeError:
            out.append((None, None, None))  # the caller names the JSON error itself
            continue
        if record is None:
            out.append((None, reason, None))
        else:
            body = record.body
            out.append((record.summary, None, None if body is raw else bytes(body)))
    return out


def main() -> int:
    gc.disable()  # a short-lived process making ~a million objects: see ``gc_pause``
    try:
        elements = msgspec.json.decode(sys.stdin.buffer.read(), type=list[msgspec.Raw])
        data = msgspec.msgpack.encode(decode_all(elements))
    except Exception:  # nothing is printed: it could quote a record
        return 1
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
