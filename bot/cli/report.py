"""`resident-bot report`: figures for administrators, as text, JSON or an HTML page."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bot.cli.common import load_kb, open_repository, since


def register(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("report", help="figures for administrators: volumes, shares, unanswered questions")
    r.add_argument("--since", default="7d", help="period such as 7d or 24h (default 7d)")
    r.add_argument("--json", action="store_true", help="the figures as one JSON object, for tools")
    r.add_argument("--html", type=Path, metavar="FILE", help="write a self-contained HTML page with charts")
    r.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from bot.reports.report import build_report, render_html, render_text

    report = build_report(open_repository(), since(args.since), kb=load_kb())
    if args.html:
        args.html.write_text(render_html(report), encoding="utf-8")
        print(f"wrote {args.html}")
    elif args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(render_text(report))
    return 0
