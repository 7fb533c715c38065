"""Knowledge files already read and validated, remembered by their content: a restart or a reload
reads only the files that changed.

Reading and validating YAML with every value's position costs about a millisecond per entry, most of
a restart at 10,000 entries. A file that loaded without errors is kept in `CACHE_DIR/knowledge/` as
JSON (its entries and its warnings, positions included), named by the hash of its bytes and of the
loading code. Only plain JSON is read back, every field checked; a file that does not read back
exactly is parsed again, never trusted. Paths are not stored: they are the file's, as seen now.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from functools import cache
from pathlib import Path

from bot.fingerprint import code_fingerprint
from bot.knowledge.problems import Problem
from bot.knowledge.schema import Entry, Source

log = logging.getLogger(__name__)

FORMAT = 1
RECENT = 1024  # files whose entries this process keeps decoded (see `_recent`)
UNUSED_DAYS = 7  # a remembered file no knowledge base has used for this long is deleted
_MODULES = ("loader", "fields", "yaml_source", "schema", "problems", "parsed")
_DATES = ("as_of", "review_by", "expires")
_STRINGS = ("id", "topic", "title", "answer")
_LISTS = ("questions", "follow_ups", "tags", "aspects")


@cache
def loader_fingerprint() -> str:
    return code_fingerprint(f"format {FORMAT}", Path(__file__).parent, _MODULES, ("PyYAML",))


class Unreadable(Exception):
    pass


# The files the latest load used, decoded, by (remembered file, path shown): a reload takes an unchanged
# file's entries from here (the snapshot it replaces holds them anyway) instead of decoding its JSON
# again, which was most of a one-file reload at 10,000 entries. Entries are immutable.
# Kept with the remembered file's size and time: one changed since (damaged, deleted) is read again.
_recent: dict[tuple[Path, str], tuple[tuple[int, int], list[Entry], list[Problem]]] = {}
_recent_lock = threading.Lock()


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _keep(key: tuple[Path, str], entries: list[Entry], problems: list[Problem]) -> None:
    stamp = _stamp(key[0])
    with _recent_lock:
        _recent.pop(key, None)
        if stamp is not None:
            _recent[key] = (stamp, list(entries), list(problems))
        while len(_recent) > RECENT:
            del _recent[next(iter(_recent))]


def _touched(path: Path, before: tuple[int, int] | None) -> None:
    """`prune` marked the file used: what was kept of it (if the file had not changed) still holds."""
    after = _stamp(path)
    with _recent_lock:
        for key, (stamp, entries, problems) in list(_recent.items()):
            if key[0] == path and stamp == before and after is not None:
                _recent[key] = (after, entries, problems)


def _recalled(key: tuple[Path, str]) -> tuple[list[Entry], list[Problem]] | None:
    with _recent_lock:
        found = _recent.get(key)
    if found is None or _stamp(key[0]) != found[0]:
        return None
    return list(found[1]), list(found[2])


class ParsedFiles:
    def __init__(self, directory: Path):
        self.directory = directory
        self.used: set[Path] = set()

    def _path(self, data: bytes) -> Path:
        key = hashlib.sha256(loader_fingerprint().encode() + b"\0" + data).hexdigest()[:40]
        return self.directory / f"entries-{key}.json"

    def get(self, data: bytes, shown_path: str) -> tuple[list[Entry], list[Problem]] | None:
        """The entries and warnings of a file with these bytes, as `shown_path`; None when not known."""
        path = self._path(data)
        recent = _recalled((path, shown_path))
        if recent is not None:
            self.used.add(path)
            return recent
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            found = _decode(raw, shown_path)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, Unreadable, TypeError, KeyError) as exc:
            log.warning("ignoring remembered knowledge file %s (%s)", path.name, exc)
            return None
        self.used.add(path)
        _keep((path, shown_path), *found)
        return found

    def put(self, data: bytes, entries: list[Entry], problems: list[Problem]) -> None:
        """Remember a file that loaded without errors. A failure to write costs only a parse later."""
        path = self._path(data)
        self.used.add(path)
        raw = {"format": FORMAT, "entries": [_encode(e) for e in entries],
               "warnings": [{"line": p.line, "column": p.column, "message": p.message} for p in problems]}
        tmp = None
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".entries-", suffix=".json")  # 0600
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(raw, fh, ensure_ascii=False)
            os.replace(tmp, path)
            tmp = None
            if entries:
                shown = entries[0].path
                _keep((path, shown), entries, [p for p in problems if p.path == shown])
        except OSError as exc:
            log.warning("cannot remember knowledge files in %s (%s)", self.directory, exc)
        finally:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)

    def prune(self) -> None:
        """Mark the files this load used, and delete those no load has used for UNUSED_DAYS."""
        now = time.time()
        try:
            for path in self.used:
                before = _stamp(path)
                os.utime(path, (now, now))
                _touched(path, before)
            for path in self.directory.glob("entries-*.json"):
                if path not in self.used and now - path.stat().st_mtime > UNUSED_DAYS * 86400:
                    path.unlink(missing_ok=True)
        except OSError:
            pass
        with _recent_lock:  # only what this load used: a changed file's old entries are let go
            for key in [k for k in _recent if k[0] not in self.used]:
                del _recent[key]


def _encode(e: Entry) -> dict[str, object]:
    d = e.to_dict()
    d["line"] = e.line
    return d


def _decode(raw: object, shown_path: str) -> tuple[list[Entry], list[Problem]]:
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise Unreadable("another format")
    entries_raw, warnings_raw = raw["entries"], raw["warnings"]
    if not isinstance(entries_raw, list) or not isinstance(warnings_raw, list):
        raise Unreadable("not lists")
    entries = [_entry(d, shown_path) for d in entries_raw]
    problems = []
    for w in warnings_raw:
        line, column, message = w["line"], w["column"], w["message"]
        if not (isinstance(line, int) and isinstance(column, int) and isinstance(message, str)):
            raise Unreadable("bad warning")
        problems.append(Problem(shown_path, line, column, message, "warning"))
    return entries, problems


def _entry(d: dict, shown_path: str) -> Entry:
    if not isinstance(d, dict):
        raise Unreadable("bad entry")
    for key in _STRINGS:
        if not isinstance(d[key], str):
            raise Unreadable(f"bad {key}")
    lists = {key: _strings(d[key]) for key in _LISTS}
    dates = {key: _date(d[key]) for key in _DATES}
    if dates["as_of"] is None or not isinstance(d["line"], int):
        raise Unreadable("bad entry")
    s = d["source"]
    if not isinstance(s, dict):
        raise Unreadable("bad source")
    texts = {k: s[k] for k in ("title", "publisher", "section", "quote")}
    if not all(isinstance(v, str) for v in texts.values()) or not isinstance(s["speaker"], str | None):
        raise Unreadable("bad source")
    source_date = _date(s["date"])
    if source_date is None:
        raise Unreadable("bad source date")
    passed = tuple(_date(x) for x in _strings(d["acknowledged_passed"]))
    return Entry(id=d["id"], topic=d["topic"], title=d["title"], questions=lists["questions"], answer=d["answer"],
                 source=Source(date=source_date, speaker=s["speaker"], **texts), as_of=dates["as_of"],
                 review_by=dates["review_by"], expires=dates["expires"],
                 acknowledged_passed=passed,  # type: ignore[arg-type]
                 follow_ups=lists["follow_ups"], tags=lists["tags"], aspects=lists["aspects"], path=shown_path,
                 line=d["line"])


def _strings(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Unreadable("bad list")
    return tuple(value)


def _date(value: object) -> dt.date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Unreadable("bad date")
    return dt.date.fromisoformat(value)
