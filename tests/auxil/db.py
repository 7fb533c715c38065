"""Databases for tests: a fresh SQLite file always, PostgreSQL when TEST_DATABASE_URL is set."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from bot.storage import schema
from bot.storage.repository import Repository, make_engine


def backends() -> list:
    params = [pytest.param("sqlite", id="sqlite")]
    pg = os.environ.get("TEST_DATABASE_URL")
    params.append(pytest.param(pg or "postgresql", id="postgresql",
                               marks=[] if pg else [pytest.mark.skip(reason="TEST_DATABASE_URL not set")]))
    return params


def empty_database(backend: str, tmp_path) -> str:
    """The URL of an empty database of that backend (PostgreSQL's test schema is wiped)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/test.sqlite3"
    engine = make_engine(backend)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return backend


def fresh_repository(backend: str, tmp_path) -> Repository:
    engine = make_engine(empty_database(backend, tmp_path))
    schema.upgrade(engine)
    return Repository(engine)
