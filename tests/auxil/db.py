"""Databases for tests: a fresh SQLite file always, PostgreSQL when TEST_DATABASE_URL is set.

On PostgreSQL every test gets a schema of its own (named after a random id, put first on the
connection's search_path through the URL), so that test runs of several engineers sharing one server
never see, or drop, each other's tables. The schemas are dropped when the test session ends.
"""

from __future__ import annotations

import atexit
import os
import uuid
from urllib.parse import quote

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.storage import schema
from bot.storage.connection import make_engine
from bot.storage.repository import Repository

_CREATED: list[tuple[str, str]] = []  # (server URL, schema) to drop at exit


def backends() -> list:
    params = [pytest.param("sqlite", id="sqlite")]
    pg = os.environ.get("TEST_DATABASE_URL")
    params.append(pytest.param(pg or "postgresql", id="postgresql",
                               marks=[] if pg else [pytest.mark.skip(reason="TEST_DATABASE_URL not set")]))
    return params


def empty_database(backend: str, tmp_path) -> str:
    """The URL of an empty database of that backend: a new SQLite file, or a new PostgreSQL schema."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/test.sqlite3"
    name = f"t_{uuid.uuid4().hex[:16]}"
    engine = make_engine(backend)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    engine.dispose()
    if not _CREATED:
        atexit.register(_drop_schemas)
    _CREATED.append((backend, name))
    return in_schema(backend, name)


def in_schema(url: str, name: str) -> str:
    """`url` with `name` first on the search_path (libpq's `options`), so tables are created there."""
    parsed = make_url(url)
    separator = "&" if parsed.query else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={name}')}"


def fresh_repository(backend: str, tmp_path) -> Repository:
    engine = make_engine(empty_database(backend, tmp_path))
    schema.upgrade(engine)
    return Repository(engine)


def _drop_schemas() -> None:
    for url, name in _CREATED:
        try:
            engine = make_engine(url)
            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
            engine.dispose()
        except Exception:  # the server went away meanwhile: nothing more to tidy
            pass
