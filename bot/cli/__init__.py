"""`resident-bot` command line: parse, call, print. Behaviour lives in the modules it calls.

One module per command group; each has `register(subparsers)` adding its commands in the order `--help`
lists them.
"""

from __future__ import annotations

import argparse
import logging
import sys

from bot.cli import config, db, evaluate, kb, replay, report, run
from bot.cli.common import parse_age
from bot.config import SettingsError
from bot.progress import progress_log
from bot.storage.errors import StorageUnavailable

__all__ = ["build_parser", "main", "parse_age"]

GROUPS = (config, run, kb, evaluate, db, replay, report)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:2] == ["replay", "record"]:
        args = replay.record_parser().parse_args(argv[2:])
    else:
        parser = build_parser()
        args = parser.parse_args(argv)
    handler = logging.StreamHandler()
    handler.setFormatter(_Plain())
    if not sys.stderr.isatty():  # progress is for a person watching; scripts and pipes get results and errors
        handler.addFilter(lambda record: record.name != progress_log.name or record.levelno > logging.INFO)
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except SettingsError as exc:
        print(f"resident-bot: {exc}", file=sys.stderr)
        return 2
    except StorageUnavailable as exc:
        print(f"resident-bot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


class _Plain(logging.Formatter):
    """Progress as a person reads it ("resident-bot: preparing…"); anything else with its level and origin."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if record.name == progress_log.name and record.levelno == logging.INFO:
            return f"resident-bot: {record.getMessage()}"
        return super().format(record)


def version() -> str:
    from importlib import metadata

    try:
        return metadata.version("resident-bot")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        from bot import __version__

        return __version__


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="resident-bot", description="城市副中心便民问答机器人 resident-bot")
    p.add_argument("--version", action="version", version=f"resident-bot {version()}")
    sub = p.add_subparsers(metavar="COMMAND")
    for group in GROUPS:
        group.register(sub)
    return p
