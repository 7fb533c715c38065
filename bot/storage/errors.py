"""Storage errors that callers catch without importing SQLAlchemy or Alembic (start-up time matters)."""


class SchemaBehind(Exception):
    """The database schema is older than this version of resident-bot needs."""


class StorageUnavailable(Exception):
    """The database cannot be used for a command that needs it now; the message is one line for the
    operator, naming DATABASE_URL and what to check."""
