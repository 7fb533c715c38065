"""Small tables derived from jieba's dictionary (its part-of-speech tags), kept in CACHE_DIR beside the
stored dictionary (`dictionary.keep_in`) so that a start reads them instead of parsing `dict.txt` again.

Kept as JSON (columns of strings), which loads without running code whatever its bytes, and in CACHE_DIR,
which is the bot's own (made 0700), not the machine's temp directory that any local user can write to. A
file is named by the table and the hash of everything that decides it (the source bytes and the rules the
caller passes); one that cannot be read or does not check is made again, never trusted, never an error.
Without a directory the table is simply made in memory.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from bot.matching import dictionary

log = logging.getLogger(__name__)

FORMAT = 1
Columns = dict[str, list[str]]  # named columns of strings
T = TypeVar("T")


class BadTable(Exception):
    """The kept file is not usable: why, for the log."""


def kept(name: str, source: bytes, make: Callable[[], Columns], table: Callable[[Columns], T]) -> T:
    """`table(make())`, from the kept file made from the same `source` when there is one. `table` turns
    columns into the caller's table, raising ValueError for columns of another shape (that file is made again).
    """
    directory = dictionary.kept_in()
    if directory is None:
        return table(make())
    digest = hashlib.sha256(source).hexdigest()
    path = directory / f"{name}-v{FORMAT}-{digest[:16]}.json"
    try:
        return table(_read(path, digest))
    except FileNotFoundError:
        pass
    except (BadTable, ValueError) as exc:
        log.warning("ignoring kept table %s (%s); making it again", path.name, exc)
    columns = make()
    made = table(columns)
    _save(directory, name, path, digest, columns)
    return made


def _read(path: Path, digest: str) -> Columns:
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise BadTable(f"unreadable: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("source") != digest:
        raise BadTable("another format or source")
    columns = data.get("columns")
    if not isinstance(columns, dict):
        raise BadTable("no columns")
    for column in columns.values():
        if not isinstance(column, list) or not all(isinstance(s, str) for s in column):
            raise BadTable("a column is not strings")
    return columns


def _save(directory: Path, name: str, path: Path, digest: str, columns: Columns) -> None:
    """Atomically (a private temporary file renamed into place); a failure costs only a parse later."""
    tmp: str | None = None
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}-", suffix=".json")  # mode 0600
        with os.fdopen(fd, "wb") as fh:
            fh.write(
                json.dumps({"format": FORMAT, "source": digest, "columns": columns}, ensure_ascii=False).encode("utf-8")
            )
        os.replace(tmp, path)
        tmp = None
        for old in directory.glob(f"{name}-v*.json"):  # another format's, dictionary's or rules': not read again
            if old != path:
                old.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("cannot keep %s in %s (%s)", name, directory, exc)
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
