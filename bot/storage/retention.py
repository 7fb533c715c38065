"""`db purge` beyond the database: records older than the retention period also leave the journal and
the dead letters, and SQLite's write-ahead log is emptied so deleted text is gone from the files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.storage.deadletter import FILE_NAME as DEAD_LETTERS
from bot.storage.deadletter import DeadLetters
from bot.storage.entries import decode
from bot.storage.journal import purge_segments
from bot.storage.service import JOURNAL_DIR, LEGACY_SPILL


def purge_files(data_dir: Path, before: dt.datetime) -> dict[str, int]:
    deleted = in_use = 0
    journal = data_dir / JOURNAL_DIR
    for directory in [journal, *journal.glob("*/")] if journal.is_dir() else []:  # one per database
        more, busy = purge_segments(directory, before, _time_of)
        deleted, in_use = deleted + more, in_use + busy
    legacy = data_dir / LEGACY_SPILL
    if legacy.exists():  # an older version's spill file: same rules, same format
        more, _ = purge_segments(data_dir, before, _time_of, pattern=LEGACY_SPILL)
        deleted += more
    return {"journal": deleted, "journal_in_use": in_use,
            "set_aside": DeadLetters(data_dir / DEAD_LETTERS).purge(before)}


def _time_of(line: bytes) -> dt.datetime | None:
    """The record's own time; None (so it goes) for a line that holds no readable record."""
    try:
        when = decode(line).created_at
    except (ValueError, TypeError, KeyError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
