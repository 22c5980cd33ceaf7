"""Logging that can never carry personal data or secrets.

- Our own log lines name counts, states and error kinds, never values.
- As a second line of defence every record passes a scrubber that masks Stripe ids and keys,
  e-mail addresses and long digit runs.
- The ``stripe`` package logs whole response bodies at DEBUG (and prints them when ``STRIPE_LOG``
  is set): its logger is kept at WARNING and ``STRIPE_LOG`` is removed from our environment.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from pathlib import Path

_SCRUB = re.compile(
    r"\b(?:vr|vs|vi|file|sk|rk|pk|whsec|cus|acct|person)_[A-Za-z0-9_]{4,}"
    r"|[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
    r"|\b\d{5,}\b"
    r"|age1[0-9a-z]{20,}|AGE-SECRET-KEY-1[0-9A-Z]+"
)


def scrub(text: str) -> str:
    return _SCRUB.sub("[scrubbed]", text)


class ScrubFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not leak its arguments either
            message = str(record.msg)
        record.msg = scrub(message)
        record.args = None
        record.exc_info = None  # tracebacks can hold local values: never log them
        record.exc_text = None
        record.stack_info = None
        return True


def quiet_stripe_logging() -> None:
    """Keep HTTP libraries from logging what they carry.

    ``stripe`` logs response bodies at DEBUG; urllib3 and requests log request lines such as
    ``GET /v1/...?starting_after=vr_...`` (ids in plaintext). All three are held above DEBUG and
    scrubbed, whatever the root level is.
    """
    os.environ.pop("STRIPE_LOG", None)
    for name, level in (("stripe", logging.WARNING), ("urllib3", logging.INFO),
                        ("requests", logging.INFO)):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < level:
            logger.setLevel(level)
        if not any(isinstance(f, ScrubFilter) for f in logger.filters):
            logger.addFilter(ScrubFilter())


def configure_logging(*, verbose: bool = False, log_file: Path | None = None) -> None:
    quiet_stripe_logging()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_identity_desk", False):
            root.removeHandler(handler)
    handlers: list[logging.Handler] = []
    if verbose:
        handlers.append(logging.StreamHandler(sys.stderr))
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    for handler in handlers:
        handler.addFilter(ScrubFilter())
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._identity_desk = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(logging.INFO if (verbose or log_file) else logging.WARNING)
    logging.getLogger("stripe").setLevel(logging.WARNING)
