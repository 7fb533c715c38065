"""The local journal: every record is appended here, and handed to the operating system, before the
resident's reply is sent; the background writer copies it to the database, then forgets it.

So a process that is killed (kill -9, out of memory, a crash) loses nothing, whether the database was
up or down: the next process replays what the dead one had not stored. Records are keyed by id, so a
record stored twice is kept once.

Files are JSON lines in `DATA_DIR/journal/`, readable by the bot's own user only. A process writes only
its own segments, which it holds locked (flock) while it lives, so replicas may share a data directory;
a segment whose lock is free belongs to a process that died and is adopted by the next writer that
looks. Segments are emptied when everything in them is stored, and rotated when they grow.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.storage.connection import PRIVATE_DIR, PRIVATE_FILE

SUFFIX = ".jsonl"
ROTATE_BYTES = 4 << 20  # a long outage becomes many files, each deleted as soon as it is stored
MAX_BATCH_BYTES = 1 << 20


@dataclass(eq=False)
class Segment:
    path: Path
    fd: int
    own: bool  # appended to by this process; otherwise adopted from a process that died
    size: int = 0  # bytes of complete lines
    read: int = 0  # bytes the writer has stored or set aside
    lines: int = 0  # lines not consumed yet
    dirty: bool = field(default=False)  # appended to since the last fsync


@dataclass(frozen=True, slots=True)
class Batch:
    segment: Segment
    end: int
    lines: list[bytes]
    torn: bytes = b""  # the unfinished last line of a process that died mid-write (power cut)


class Journal:
    def __init__(self, directory: Path, *, rotate_bytes: int = ROTATE_BYTES, legacy_spill: Path | None = None):
        self.directory = directory
        self.rotate_bytes = rotate_bytes
        directory.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        self._lock = threading.RLock()  # also the condition the writer waits on, holding it
        self.appended = threading.Condition(self._lock)
        self.appends = 0  # lines appended by this process, ever: tells the writer something new came
        # Oldest first; the last one is the current segment, this process's own.
        self._segments: list[Segment] = [self._new_segment()]
        if legacy_spill is not None and legacy_spill.exists():  # the spill file of earlier versions
            with contextlib.suppress(OSError):
                legacy_spill.rename(directory / f"{0:013d}-legacy{SUFFIX}")
        self.adopt_orphans()

    # -- the reply path -----------------------------------------------------------------------------

    def append(self, line: bytes) -> None:
        """Write one record (a complete line) before returning. Raises OSError when the disk refuses."""
        with self._lock:
            if not self._segments:
                raise OSError("journal closed")
            seg = self._segments[-1]
            _write_all(seg, line)
            seg.size += len(line)
            seg.lines += 1
            seg.dirty = True
            self.appends += 1
            if seg.size >= self.rotate_bytes:
                self._segments.append(self._new_segment())
            self.appended.notify_all()

    # -- the writer ---------------------------------------------------------------------------------

    @property
    def waiting(self) -> int:
        """Records not stored (or set aside) yet."""
        with self._lock:
            return sum(s.lines for s in self._segments)

    def next_batch(self, max_bytes: int = MAX_BATCH_BYTES) -> Batch | None:
        """The oldest lines not consumed yet, whole lines only. Only the writer thread calls this."""
        with self._lock:
            seg = next((s for s in self._segments if s.read < s.size), None)
            if seg is None:
                return None
            start, size = seg.read, seg.size
        want = min(size - start, max_bytes)
        while True:
            data = os.pread(seg.fd, want, start)
            cut = data.rfind(b"\n") + 1
            if cut or len(data) < want or start + want >= size:
                break
            want *= 2  # one line longer than a batch
        if cut == 0 and start + len(data) >= size and not seg.own:
            return Batch(seg, start + len(data), [], torn=data)
        return Batch(seg, start + cut, data[:cut].split(b"\n")[:-1], torn=b"")

    def consumed(self, batch: Batch) -> None:
        """The batch is stored or set aside: forget it, and delete what nothing is left in."""
        with self._lock:
            seg = batch.segment
            if seg not in self._segments:  # closed meanwhile: the next process replays it
                return
            seg.read = batch.end
            seg.lines = max(0, seg.lines - len(batch.lines) - bool(batch.torn))
            if seg.read < seg.size:
                return
            if seg is self._segments[-1]:
                os.ftruncate(seg.fd, 0)  # appends (O_APPEND) start again at 0
                seg.size = seg.read = seg.lines = 0
            else:
                self._segments.remove(seg)
                _release(seg, delete=True)

    def sync(self) -> None:
        """fsync what was appended since the last call, so a power cut loses at most that (kill -9 and
        crashes lose nothing: the operating system already holds every appended line)."""
        with self._lock:
            dirty = [s for s in self._segments if s.dirty]
            for s in dirty:
                s.dirty = False
        for s in dirty:
            with contextlib.suppress(OSError):
                os.fdatasync(s.fd)

    def adopt_orphans(self) -> int:
        """Take over the segments of processes that died. Returns how many records they hold."""
        found = 0
        known = {s.path for s in self._segments}
        for path in sorted(self.directory.glob(f"*{SUFFIX}")):
            if path in known:
                continue
            seg = _adopt(path)
            if seg is None:
                continue
            if not seg.size:
                _release(seg, delete=True)
                continue
            with self._lock:
                self._segments.insert(len(self._segments) - 1, seg)
            found += seg.lines
        return found

    def close(self) -> None:
        """Release every segment; those with records left stay for the next process to replay."""
        with self._lock:
            for seg in self._segments:
                _release(seg, delete=seg.read >= seg.size)
            self._segments.clear()

    # -- files --------------------------------------------------------------------------------------

    def _new_segment(self) -> Segment:
        name = f"{int(time.time() * 1000):013d}-{os.getpid()}-{secrets.token_hex(4)}"
        # Created under a name no other process looks at, locked, then renamed: no other writer can
        # take it for an orphan in between.
        temp = self.directory / f".{name}.tmp"
        fd = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND, PRIVATE_FILE)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        path = self.directory / f"{name}{SUFFIX}"
        temp.rename(path)
        return Segment(path, fd, own=True)


def _write_all(seg: Segment, line: bytes) -> None:
    view, done = memoryview(line), 0
    try:
        while done < len(line):
            done += os.write(seg.fd, view[done:])
    except OSError:
        if done:  # never leave half a line behind: the next record would be glued to it
            with contextlib.suppress(OSError):
                os.ftruncate(seg.fd, seg.size)
        raise


def _adopt(path: Path) -> Segment | None:
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if os.fstat(fd).st_ino != path.stat().st_ino:
            raise OSError("replaced meanwhile")
    except OSError:  # a live process holds it, or it was just deleted
        os.close(fd)
        return None
    with contextlib.suppress(OSError):
        os.fchmod(fd, PRIVATE_FILE)
    size, lines, last = os.fstat(fd).st_size, 0, b"\n"
    for offset in range(0, size, MAX_BATCH_BYTES):
        chunk = os.pread(fd, MAX_BATCH_BYTES, offset)
        lines += chunk.count(b"\n")
        last = chunk[-1:] or last
    return Segment(path, fd, own=False, size=size, lines=lines + (last != b"\n"))


def _release(seg: Segment, *, delete: bool) -> None:
    if delete:
        with contextlib.suppress(OSError):
            seg.path.unlink()
    with contextlib.suppress(OSError):
        os.close(seg.fd)  # releases the lock


def purge_segments(directory: Path, before: dt.datetime, time_of: Callable[[bytes], dt.datetime | None],
                   pattern: str = f"*{SUFFIX}") -> tuple[int, int]:
    """Delete the records older than `before` from the segments no live process holds (a running bot's
    own segments are stored within seconds and purged with the database). Returns (records deleted,
    segments skipped because a live process holds them)."""
    deleted = skipped = 0
    for path in sorted(directory.glob(pattern)):
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                skipped += 1
                continue
            with open(fd, "rb", closefd=False) as f:
                lines = f.read().splitlines(keepends=True)
            kept = [line for line in lines if (when := time_of(line)) is not None and when >= before]
            if len(kept) == len(lines):
                continue
            deleted += len(lines) - len(kept)
            # Rewritten beside and renamed over, while the lock is held: never half a file.
            temp = path.with_name(f".{path.name}.purge")
            out = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
            try:
                os.write(out, b"".join(line if line.endswith(b"\n") else line + b"\n" for line in kept))
                os.fsync(out)
            finally:
                os.close(out)
            if kept:
                temp.replace(path)
            else:
                temp.unlink()
                path.unlink()
        finally:
            os.close(fd)
    return deleted, skipped
