"""Database engines whose every wait is bounded: connecting, waiting for a pooled connection, a slow
statement, and a server (or network) that stops answering in the middle of one.

The last needs care: libpq has no client-side query timeout, and a server that accepts bytes but never
answers keeps a call blocked until TCP gives up, which can take many minutes. `Deadlines.within()`
bounds a block of database work from the outside: when it overruns, a watchdog shuts down the sockets
of the connections the block checked out, the blocked call fails at once, and the pool drops them.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import math
import os
import socket
import stat
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError

_DEADLINES: weakref.WeakKeyDictionary[Engine, Deadlines] = weakref.WeakKeyDictionary()
PRIVATE_FILE = 0o600  # residents' messages: readable by the bot's own user only
PRIVATE_DIR = 0o700


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds; 0 means no limit (command-line reports may run long statements)."""

    connect: float = 5.0
    statement: float = 0.0
    pool: float = 30.0

    @property
    def deadline(self) -> float:
        """How long a block of work may take before its connections are cut."""
        return (self.statement or 30.0) + self.connect


def make_engine(url: str, timeouts: Timeouts | None = None) -> Engine:
    timeouts = timeouts or Timeouts()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database)
    args: dict[str, object] = {}
    if parsed.get_backend_name() == "postgresql":
        args = _postgres_connect_args(parsed.query.get("options"), timeouts)
    engine = create_engine(url, pool_size=5, max_overflow=10, pool_timeout=timeouts.pool or 30,
                           pool_recycle=3600, connect_args=args)
    _DEADLINES[engine] = Deadlines(engine)
    return engine


def bounded(engine: Engine, seconds: float) -> contextlib.AbstractContextManager[None]:
    """A block of work on `engine` that fails instead of outliving `seconds` (SQLite is local: its own
    busy timeout bounds it)."""
    deadlines = _DEADLINES.get(engine)
    return deadlines.within(seconds) if deadlines else contextlib.nullcontext()


def _postgres_connect_args(url_options: str | tuple[str, ...] | None, t: Timeouts) -> dict[str, object]:
    options = " ".join(url_options) if isinstance(url_options, tuple) else (url_options or "")
    if t.statement:
        options += f" -c statement_timeout={int(t.statement * 1000)} -c lock_timeout={int(t.statement * 1000)}"
    return {
        # libpq counts whole seconds and treats less than 2 as 2.
        "connect_timeout": max(2, math.ceil(t.connect)),
        # A network that drops packets: the kernel gives up on unacknowledged data after this long,
        # and idle connections are probed, instead of TCP's default of about fifteen minutes.
        "tcp_user_timeout": int((t.statement or 30) * 1000 + t.connect * 1000),
        "keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3,
        **({"options": options.strip()} if options.strip() else {}),
    }


def _sqlite_engine(url: str, database: str | None) -> Engine:
    if database and database != ":memory:":
        private_file(Path(database))
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})

    @event.listens_for(engine, "connect")
    def _wal(dbapi_conn, _record):  # concurrent readers while the bot writes
        dbapi_conn.execute("PRAGMA journal_mode=WAL")
        dbapi_conn.execute("PRAGMA synchronous=NORMAL")

    return engine


def private_file(path: Path) -> None:
    """Create `path` (and its directory) readable by this user only, or make an existing one so.
    SQLite gives its -wal and -shm files the database file's permissions."""
    path.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(OSError):
            if stat.S_IMODE(p.stat().st_mode) & 0o077:
                p.chmod(PRIVATE_FILE)


# -- deadlines ------------------------------------------------------------------------------------


class DeadlineExceeded(DisconnectionError):
    """The block of database work ran out of time; its connections were cut."""


class _Work:
    __slots__ = ("connections", "expired", "lock")

    def __init__(self) -> None:
        self.connections: list[object] = []
        self.expired = False
        self.lock = threading.Lock()

    def add(self, dbapi_conn: object) -> None:
        with self.lock:
            if self.expired:
                _cut(dbapi_conn)
            self.connections.append(dbapi_conn)

    def expire(self) -> None:
        with self.lock:
            self.expired = True
            for conn in self.connections:
                _cut(conn)


RECENT = 1.0  # seconds: a connection returned to the pool this recently is not pinged again on checkout


class Deadlines:
    """Per thread, the connections checked out by the current bounded block of work."""

    def __init__(self, engine: Engine):
        self._local = threading.local()
        event.listen(engine, "checkout", self._checked_out)
        event.listen(engine, "checkin", self._checked_in)

    @contextlib.contextmanager
    def within(self, seconds: float) -> Iterator[None]:
        work, outer = _Work(), getattr(self._local, "work", None)
        self._local.work = work
        token = WATCHDOG.arm(time.monotonic() + seconds, work.expire)
        try:
            yield
        finally:
            WATCHDOG.disarm(token)
            self._local.work = outer

    def _checked_out(self, dbapi_conn, record, _proxy) -> None:
        work = getattr(self._local, "work", None)
        if work is not None:
            work.add(dbapi_conn)
        # Under load a connection comes back within milliseconds, and a ping (a transaction begun, SELECT 1,
        # rolled back) cost the context read three of its four round trips. One that has just been
        # returned in good order answered a moment ago; any other is pinged.
        if time.monotonic() - record.info.get("returned", -RECENT) < RECENT:
            return
        # Our own pre-ping, after the connection is registered, so that a ping to a hung server is
        # cut too (SQLAlchemy's pool_pre_ping runs before any event we could hook).
        try:
            cursor = dbapi_conn.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
        except Exception as exc:  # the pool replaces the connection and tries again
            raise DeadlineExceeded("stale or cut connection") from exc


    @staticmethod
    def _checked_in(_dbapi_conn, record) -> None:
        """When the pool got the connection back (not called for one it discarded as broken)."""
        if record is not None:
            record.info["returned"] = time.monotonic()


def _cut(dbapi_conn: object) -> None:
    """Shut the connection's socket down under the thread blocked on it (closing the descriptor would
    not wake it; shutdown does)."""
    with contextlib.suppress(Exception):
        fd = dbapi_conn.pgconn.socket  # type: ignore[attr-defined]
        with socket.socket(fileno=os.dup(fd)) as s:
            s.shutdown(socket.SHUT_RDWR)


class _Watchdog:
    """One thread that runs callbacks at their deadline; arming and disarming are cheap."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._cancelled: set[int] = set()
        self._ids = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def arm(self, when: float, callback: Callable[[], None]) -> int:
        token = next(self._ids)
        with self._cond:
            heapq.heappush(self._heap, (when, token, callback))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="db-deadlines", daemon=True)
                self._thread.start()
            self._cond.notify()
        return token

    def disarm(self, token: int) -> None:
        with self._cond:
            self._cancelled.add(token)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                when, token, callback = self._heap[0]
                delay = when - time.monotonic()
                if token in self._cancelled:
                    heapq.heappop(self._heap)
                    self._cancelled.discard(token)
                    continue
                if delay > 0:
                    self._cond.wait(min(delay, 1.0))
                    continue
                heapq.heappop(self._heap)
            with contextlib.suppress(Exception):
                callback()


WATCHDOG = _Watchdog()
