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

FORMAT = 2  # 2: column by column
RECENT = 1024  # files whose entries this process keeps decoded (see `_recent`)
UNUSED_DAYS = 7  # a remembered file no knowledge base has used for this long is deleted
_MODULES = ("loader", "fields", "yaml_source", "schema", "problems", "parsed")
_DATES = ("as_of", "review_by", "expires")
_STRINGS = ("id", "topic", "title", "answer")
_LISTS = ("questions", "follow_ups", "tags", "aspects")
_SOURCE_TEXTS = ("title", "publisher", "section", "quote")


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
        raw = {"format": FORMAT, "entries": _encode(entries),
               "warnings": [{"line": p.line, "column": p.column, "message": p.message} for p in problems]}
        tmp = None
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".entries-", suffix=".json")  # 0600
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(json.dumps(raw, ensure_ascii=False))  # the same text, by the C encoder (`dump` is Python's)
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

    def name(self, data: bytes) -> str:
        """What a file with these bytes is remembered as (its content and the loading code)."""
        return self._path(data).name

    def checked(self, key: str) -> bool:
        """Whether entries with this key (`_Loader.run`: every entry file's content, the aspects) were
        cross-checked without errors before: a restart of an unchanged knowledge base skips it (about a
        third of a second per 10,000 entries). A marker whose content is not its key is not believed."""
        path = self.directory / f"checked-{key[:40]}.json"
        try:
            found = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        if found != {"format": FORMAT, "key": key}:
            return False
        self.used.add(path)
        return True

    def mark_checked(self, key: str) -> None:
        path = self.directory / f"checked-{key[:40]}.json"
        self.used.add(path)
        tmp = None
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".checked-", suffix=".json")  # 0600
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"format": FORMAT, "key": key}, fh)
            os.replace(tmp, path)
            tmp = None
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
            for path in [*self.directory.glob("entries-*.json"), *self.directory.glob("checked-*.json")]:
                if path not in self.used and now - path.stat().st_mtime > UNUSED_DAYS * 86400:
                    path.unlink(missing_ok=True)
        except OSError:
            pass
        with _recent_lock:  # only what this load used: a changed file's old entries are let go
            for key in [k for k in _recent if k[0] not in self.used]:
                del _recent[key]


def _encode(entries: list[Entry]) -> dict[str, object]:
    """Column by column (a list per field, every entry's lists flattened with their lengths): the JSON is
    a third of the size, and reading it back checks a whole column at once instead of field by field."""
    out: dict[str, object] = {"count": len(entries), "line": [e.line for e in entries]}
    for key in _STRINGS:
        out[key] = [getattr(e, key) for e in entries]
    for key in _LISTS:
        out[key] = [x for e in entries for x in getattr(e, key)]
        out[f"{key}_n"] = [len(getattr(e, key)) for e in entries]
    out["acknowledged_passed"] = [d.isoformat() for e in entries for d in e.acknowledged_passed]
    out["acknowledged_passed_n"] = [len(e.acknowledged_passed) for e in entries]
    for key in _DATES:
        out[key] = [d.isoformat() if (d := getattr(e, key)) else None for e in entries]
    for key in _SOURCE_TEXTS:
        out[f"source_{key}"] = [getattr(e.source, key) for e in entries]
    out["source_speaker"] = [e.source.speaker for e in entries]
    out["source_date"] = [e.source.date.isoformat() for e in entries]
    return out


def _decode(raw: object, shown_path: str) -> tuple[list[Entry], list[Problem]]:
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise Unreadable("another format")
    entries_raw, warnings_raw = raw["entries"], raw["warnings"]
    if not isinstance(entries_raw, dict) or not isinstance(warnings_raw, list):
        raise Unreadable("bad layout")
    entries = _entries(entries_raw, shown_path)
    problems = []
    for w in warnings_raw:
        line, column, message = w["line"], w["column"], w["message"]
        if not (isinstance(line, int) and isinstance(column, int) and isinstance(message, str)):
            raise Unreadable("bad warning")
        problems.append(Problem(shown_path, line, column, message, "warning"))
    return entries, problems


def _entries(d: dict, shown_path: str) -> list[Entry]:
    n = d["count"]
    if type(n) is not int or n < 0:
        raise Unreadable("bad count")
    strings = {key: _column(d, key, n, _STR) for key in _STRINGS}
    lines = _column(d, "line", n, _INT)
    lists = {key: _lists(d, key, n) for key in _LISTS}
    passed = _lists(d, "acknowledged_passed", n)
    dates = {key: _dates(_column(d, key, n, _STR_OR_NONE)) for key in _DATES}
    if None in dates["as_of"]:
        raise Unreadable("bad as_of")
    texts = [_column(d, f"source_{key}", n, _STR) for key in _SOURCE_TEXTS]
    speakers = _column(d, "source_speaker", n, _STR_OR_NONE)
    source_dates = _dates(_column(d, "source_date", n, _STR))
    memo: dict[tuple[object, ...], Source] = {}  # entries from one source share it (immutable)
    sources = []
    for title, publisher, section, quote, speaker, date in zip(*texts, speakers, source_dates, strict=True):
        key = (title, publisher, section, quote, speaker, date)
        found = memo.get(key)
        if found is None:
            found = memo[key] = Source(title=title, publisher=publisher, date=date, section=section, quote=quote,
                                       speaker=speaker)
        sources.append(found)
    passed_dates = [tuple(_dates(list(p))) for p in passed]
    return [Entry(id=i, topic=topic, title=title, questions=qs, answer=answer, source=source, as_of=as_of,
                  review_by=review_by, expires=expires, acknowledged_passed=ack,  # type: ignore[arg-type]
                  follow_ups=follow_ups, tags=tags, aspects=aspects, path=shown_path, line=line)
            for i, topic, title, answer, qs, source, as_of, review_by, expires, ack, follow_ups, tags, aspects, line
            in zip(strings["id"], strings["topic"], strings["title"], strings["answer"], lists["questions"], sources,
                   dates["as_of"], dates["review_by"], dates["expires"], passed_dates, lists["follow_ups"],
                   lists["tags"], lists["aspects"], lines, strict=True)]


_STR = frozenset({str})
_INT = frozenset({int})
_STR_OR_NONE = frozenset({str, type(None)})


def _column(d: dict, key: str, n: int | None, types: frozenset[type]) -> list:
    """A list of `n` values of these exact types (bool is no int), checked in one pass."""
    col = d[key]
    if type(col) is not list or (n is not None and len(col) != n) or not set(map(type, col)) <= types:
        raise Unreadable(f"bad {key}")
    return col


def _lists(d: dict, key: str, n: int) -> list[tuple[str, ...]]:
    flat, sizes = _column(d, key, None, _STR), _column(d, f"{key}_n", n, _INT)
    if sum(sizes) != len(flat) or (sizes and min(sizes) < 0):
        raise Unreadable(f"bad {key} lengths")
    out, at = [], 0
    for size in sizes:
        out.append(tuple(flat[at : at + size]))
        at += size
    return out


def _dates(values: list) -> list[dt.date | None]:
    """ISO dates (None stays None); each distinct one parsed once. A bad one raises ValueError."""
    parsed = {v: dt.date.fromisoformat(v) for v in set(values) if v is not None}
    return [parsed[v] if v is not None else None for v in values]
