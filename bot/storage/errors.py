"""Storage errors that callers catch without importing SQLAlchemy or Alembic (start-up time matters)."""


class SchemaBehind(Exception):
    """The database schema is older than this version of resident-bot needs."""
