"""Whether the database takes writes, and what to tell the operator: one log line when an outage
starts and one when it ends, however many messages arrive in between."""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import exc as sa_exc

from bot.observability import STORAGE_UP
from bot.storage.errors import SchemaBehind

log = logging.getLogger("bot.storage")


class StorageStatus:
    def __init__(self, journal_dir: str, clock=time.monotonic):
        self.journal_dir = journal_dir
        self.clock = clock
        self.up = True
        self.cause = ""
        self.since = clock()
        self._lock = threading.Lock()
        STORAGE_UP.set(1)

    def down(self, error: BaseException, *, at_start: str = "") -> None:
        """The database stopped answering. `at_start`: what to check, when it never answered."""
        with self._lock:
            if not self.up:
                return
            self.up, self.cause, self.since = False, describe(error), self.clock()
        STORAGE_UP.set(0)
        log.error("database unreachable%s (%s)%s; answering on, records kept in %s until it returns",
                  " at start" if at_start else "", self.cause, f"; {at_start}" if at_start else "", self.journal_dir)

    def back(self, waiting: int) -> None:
        with self._lock:
            if self.up:
                return
            self.up, away, self.cause, self.since = True, self.clock() - self.since, "", self.clock()
        STORAGE_UP.set(1)
        log.warning("database back after %.0f s; writing the %d record(s) kept meanwhile", away, waiting)

    def to_dict(self) -> dict[str, object]:
        with self._lock:
            if self.up:
                return {"up": True}
            return {"up": False, "cause": self.cause, "down_for_s": round(self.clock() - self.since, 1)}


# By class name, across SQLAlchemy, psycopg, sqlite3 and the operating system. ProgrammingError and
# InternalError mean a missing table or a server fault: no record's doing, so they wait too.
_OUTAGE = {"OperationalError", "InterfaceError", "ProgrammingError", "InternalError", "DisconnectionError",
           "TimeoutError", "ResourceClosedError", "SchemaBehind", "OSError"}


def is_outage(error: BaseException) -> bool:
    """True when the database (or the way to it) is the trouble, so the same records will succeed
    later; False when the records themselves are refused (they will be set aside)."""
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if _OUTAGE & {c.__name__ for c in type(error).__mro__}:
        return True
    cause = getattr(error, "orig", None) or error.__cause__
    return cause is not None and cause is not error and is_outage(cause)


def describe(error: BaseException) -> str:
    """A short cause for the log: the error's kind and, for connection trouble, its first line (host,
    port and reason; libpq never puts the password there). Never a statement or its values."""
    name = type(getattr(error, "orig", None) or error).__name__
    if isinstance(error, SchemaBehind):
        return str(error)
    if isinstance(error, sa_exc.OperationalError | sa_exc.DisconnectionError | sa_exc.TimeoutError | OSError):
        message = str(getattr(error, "orig", None) or error).strip().splitlines()
        if message and "[SQL:" not in message[0]:
            return f"{name}: {message[0][:160]}"
    return name
