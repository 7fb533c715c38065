"""`resident-bot eval`: accuracy on a labelled question set, beside two baselines."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser("eval", help="accuracy on the labelled question set, beside two baselines")
    e.add_argument("--data", type=Path, metavar="FILE",
                   help="labelled set, or an honesty file (details not stated, other places, controls; "
                        "see bot/evaluation/honesty.py) (default: LABELLED_QUESTIONS, or "
                        "tests/data/labelled_questions.yaml)")
    e.add_argument("--json", action="store_true", help="the figures as one JSON object, for tools")
    e.add_argument("--tune", action="store_true", help="search thresholds on the labelled set")
    e.set_defaults(func=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    import sys

    import yaml

    from bot.evaluation.run import run_eval

    if args.data is not None and not args.data.is_file():
        print(f"resident-bot: no such file: {args.data}", file=sys.stderr)
        return 2
    try:
        return run_eval(args.data, as_json=args.json, tune=args.tune)
    except (ValueError, KeyError, yaml.YAMLError) as exc:  # a malformed question file: say where, lose nothing
        print(f"resident-bot: {exc}", file=sys.stderr)
        return 2
