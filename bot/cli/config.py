"""`resident-bot config`: the effective settings, secrets masked."""

from __future__ import annotations

import argparse
import json

from bot.config import describe_settings, load_settings


def register(sub: argparse._SubParsersAction) -> None:
    cf = sub.add_parser("config", help="print the effective settings, secrets masked")
    cf.add_argument("--json", action="store_true", help="one JSON object: setting name → effective value")
    cf.set_defaults(func=cmd_config)


def cmd_config(args: argparse.Namespace) -> int:
    rows = describe_settings(load_settings())
    if args.json:
        print(json.dumps({name: value for name, value, _ in rows}, ensure_ascii=False, indent=2))
    else:
        width = max(len(name) for name, _, _ in rows)
        for name, value, meaning in rows:
            print(f"{name:{width}}  {value:40}  {meaning}")
    return 0
