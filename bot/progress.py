"""Progress of slow preparations at start (the knowledge base's index, its sentence vectors), for operators.

One logger for all of it. The command line shows only warnings of other loggers, and this one's INFO
lines too; a service's log (JSON or text) gets them like any other line.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

progress_log = logging.getLogger("bot.progress")
progress_log.setLevel(logging.INFO)

SLOW_AFTER = 1.0  # seconds: a preparation that ends sooner is not worth a line


@contextmanager
def announced_if_slow(what: str, done: str, after: float | None = None) -> Iterator[None]:
    """Say "`what`…" once the block has run `after` seconds, then "`done` in N s"; a quick block (the usual
    start on a quiet machine) prints nothing."""
    started = time.monotonic()
    said = threading.Event()

    def announce() -> None:
        said.set()
        progress_log.info("%s…", what)

    timer = threading.Timer(SLOW_AFTER if after is None else after, announce)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        if said.is_set():
            progress_log.info("%s in %.1f s", done, time.monotonic() - started)
