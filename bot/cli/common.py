"""What several command groups share: loading the app or the knowledge base, periods such as 7d."""

from __future__ import annotations

import datetime as dt
import re
import sys

from bot.config import SettingsError, load_settings


def parse_age(text: str) -> dt.timedelta:
    m = re.fullmatch(r"\s*(\d+)\s*([dhw])\s*", text or "")
    if not m:
        raise SettingsError(f"invalid period {text!r}: write it like 7d, 24h or 2w")
    n, unit = int(m.group(1)), m.group(2)
    return {"d": dt.timedelta(days=n), "h": dt.timedelta(hours=n), "w": dt.timedelta(weeks=n)}[unit]


def since(text: str) -> dt.datetime:
    return dt.datetime.now(dt.UTC) - parse_age(text)


def load_app(storage: bool, settings=None):
    """The wired app, or one clear message and exit when the knowledge base or the schema is wrong."""
    from bot.app import build_app
    from bot.knowledge.problems import KnowledgeError
    from bot.storage.errors import SchemaBehind

    settings = settings or load_settings()
    try:
        return build_app(settings, storage=storage)
    except KnowledgeError as exc:
        print("resident-bot: the knowledge base has errors; nothing was started:", file=sys.stderr)
        for p in exc.problems:
            if p.severity == "error":
                print(f"  {p}", file=sys.stderr)
        raise SystemExit(1) from None
    except SchemaBehind as exc:
        raise SettingsError(f"DATABASE_URL: {exc}") from None


def load_kb():
    from bot.knowledge.loader import load_knowledge
    from bot.knowledge.problems import KnowledgeError

    settings = load_settings()
    try:
        return load_knowledge(settings.knowledge_dir, settings.intents_dir)
    except KnowledgeError as exc:
        print(str(exc), file=sys.stderr)
        raise SystemExit(1) from None


def open_repository():
    from bot.app import open_repository

    return open_repository(load_settings(), upgrade_sqlite=False)
