"""`resident-bot db ...`: schema upgrades and the retention purge."""

from __future__ import annotations

import argparse
import datetime as dt

from bot.cli.common import parse_age
from bot.config import load_settings


def register(sub: argparse._SubParsersAction) -> None:
    db = sub.add_parser("db", help="database schema and retention").add_subparsers(metavar="ACTION")
    d = db.add_parser("upgrade", help="create or migrate the schema to the newest version")
    d.set_defaults(func=cmd_db_upgrade)
    d = db.add_parser("purge", help="delete records older than a retention period")
    d.add_argument("--older-than", default=None, help="age such as 180d (default: RETENTION_DAYS)")
    d.set_defaults(func=cmd_db_purge)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from bot.app import unreachable
    from bot.storage import schema
    from bot.storage.connection import Timeouts, make_engine
    from bot.storage.status import is_outage

    settings = load_settings()
    engine = make_engine(settings.effective_database_url, Timeouts(connect=settings.db_connect_timeout))
    try:
        before, after = schema.upgrade(engine)
    except Exception as exc:
        if not is_outage(exc):
            raise
        raise unreachable(settings, exc) from None
    finally:
        engine.dispose()
    where = engine.url.render_as_string(hide_password=True)
    print(f"database {where}: schema {before or 'empty'} → {after}" if before != after
          else f"database {where}: schema already at {after}")
    return 0


def cmd_db_purge(args: argparse.Namespace) -> int:
    from bot.app import open_repository
    from bot.storage.retention import purge_files

    settings = load_settings()
    age = parse_age(args.older_than) if args.older_than else dt.timedelta(days=settings.retention_days)
    before = dt.datetime.now(dt.UTC) - age
    repo = open_repository(settings, upgrade_sqlite=False)
    counts = repo.purge(before)
    files = purge_files(settings.data_dir, before)
    counts |= {"journal records": files["journal"], "set-aside records": files["set_aside"]}
    print("deleted " + ", ".join(f"{n} {table}" for table, n in counts.items()) + f" older than {age.days} days")
    if files["journal_in_use"]:
        print(f"{files['journal_in_use']} journal file(s) belong to a running bot: their records reach the "
              "database within seconds and go with the next purge")
    if not repo.checkpoint():
        print("SQLite's write-ahead log is in use by a running bot: deleted text leaves it at the next checkpoint "
              "(run `db purge` again with the bot stopped to be sure)")
    repo.engine.dispose()
    return 0
