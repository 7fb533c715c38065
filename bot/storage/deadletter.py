"""Records the database refused even after cleaning, set aside in `DATA_DIR/dead-records.jsonl` so that
the records behind them are stored. Counted in /metrics and /healthz; `db purge` removes them by age."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from bot.storage.connection import PRIVATE_DIR, PRIVATE_FILE

FILE_NAME = "dead-records.jsonl"


class DeadLetters:
    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self.count = sum(1 for _ in _lines(path))
        with contextlib.suppress(OSError):  # written by an older version, or by hand
            if path.stat().st_mode & 0o077:
                path.chmod(PRIVATE_FILE)

    def add(self, line: bytes, error: BaseException | str) -> None:
        """Set one journal line aside, with the kind of error (never its message: it may quote the
        resident's text, and this is also what the log gets)."""
        try:
            record: object = json.loads(line)
        except ValueError:
            record = line.decode("utf-8", "replace")
        entry = {"set_aside_at": dt.datetime.now(dt.UTC).isoformat(),
                 "error": error if isinstance(error, str) else type(error).__name__, "record": record}
        data = json.dumps(entry, ensure_ascii=False).encode("utf-8", "replace") + b"\n"
        with self._lock, _locked(self.path) as fd:
            os.write(fd, data)
            self.count += 1

    def purge(self, before: dt.datetime) -> int:
        """Delete the records set aside whose own time (or else the time they were set aside) is
        older than `before`; returns how many."""
        if not self.path.exists():
            return 0
        with self._lock, _locked(self.path) as fd:
            kept, dropped = [], 0
            for raw in _lines(self.path):
                if _older(raw, before):
                    dropped += 1
                else:
                    kept.append(raw)
            os.ftruncate(fd, 0)
            for raw in kept:
                os.write(fd, raw)
            self.count = len(kept)
        return dropped


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[int]:
    path.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another process (a replica, `db purge`) may use the file too
        yield fd
    finally:
        os.close(fd)


def _lines(path: Path) -> Iterator[bytes]:
    with contextlib.suppress(FileNotFoundError), path.open("rb") as f:
        yield from (line for line in f if line.strip())


def _older(raw: bytes, before: dt.datetime) -> bool:
    try:
        entry = json.loads(raw)
        record = entry.get("record")
        own = (record.get("created_at") or record.get("updated_at")) if isinstance(record, dict) else None
        when = own or entry["set_aside_at"]
        if isinstance(when, int | float):
            return dt.datetime.fromtimestamp(when, dt.UTC) < before
        stamp = dt.datetime.fromisoformat(when)
        return (stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)) < before
    except (ValueError, KeyError, TypeError, AttributeError):
        return True  # unreadable: nothing worth keeping past the retention period
