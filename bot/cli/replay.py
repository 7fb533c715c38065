"""`resident-bot replay`: run conversation tests; `replay record` writes one from stored conversations."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bot.cli.common import load_app, open_repository, since
from bot.config import load_settings


def register(sub: argparse._SubParsersAction) -> None:
    rp = sub.add_parser("replay", help="replay conversation tests; `replay record` writes one from storage",
                        description="resident-bot replay [PATHS...] runs CONVERSATIONS_DIR (tests/conversations) "
                                    "by default; "
                                    "resident-bot replay record --since 7d -o FILE records real conversations.")
    rp.add_argument("paths", nargs="*",
                    help="files or directories (default: CONVERSATIONS_DIR, or tests/conversations)")
    rp.add_argument("--json", action="store_true", help="passed, failed, problems and failures as JSON")
    rp.add_argument("--coverage", action="store_true", help="list entries and intents no conversation reaches")
    rp.set_defaults(func=cmd_replay)


def record_parser() -> argparse.ArgumentParser:
    """`replay record` has its own options; `replay` takes paths, so it cannot also have subcommands and
    `resident-bot` routes `replay record ...` here (see bot.cli.main)."""
    p = argparse.ArgumentParser(prog="resident-bot replay record",
                                description="Write stored conversations as a replay file whose expectations are "
                                            "the answers given then. No user ids are written. Review the file "
                                            "before keeping it.")
    p.add_argument("--since", default="7d", help="period such as 7d, 24h or 2w (default 7d)")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="FILE", help="the replay file to write")
    p.set_defaults(func=cmd_replay_record)
    return p


def cmd_replay(args: argparse.Namespace) -> int:
    from bot.replay.runner import collect_files, coverage, run_files

    default = [] if args.paths else [load_settings().conversations_path]
    app = load_app(storage=False)
    files = collect_files([Path(p) for p in args.paths] or default)
    results, problems = run_files(app.live, files)
    passed = sum(r.passed for r in results)
    failed = len(results) - passed + len({p.path for p in problems if p.severity == "error"})
    if args.json:
        print(json.dumps({
            "passed": passed, "failed": failed,
            "problems": [p.to_dict() for p in problems],
            "failures": [{"name": r.conversation.name, "path": r.conversation.path,
                          "turns": [{"line": m.turn.line, "turn": m.index, "said": m.turn.said,
                                     "expected": m.expected, "got": m.got, "entry": m.reply.entry_id,
                                     "score": round(m.reply.score, 4),
                                     "candidates": [{"id": c.id, "score": c.score} for c in m.reply.candidates]}
                                    for m in r.mismatches]} for r in results if not r.passed],
            **({"not_reached": coverage(app.live, results)} if args.coverage else {}),
        }, ensure_ascii=False, indent=2))
    else:
        for p in problems:
            print(p)
        for r in results:
            if not r.passed:
                print(r.explain())
        if args.coverage:
            gaps = coverage(app.live, results)
            print(f"entries no conversation reaches ({len(gaps['entries'])}): {', '.join(gaps['entries']) or 'none'}")
            print(f"intents no conversation reaches ({len(gaps['intents'])}): {', '.join(gaps['intents']) or 'none'}")
        print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def cmd_replay_record(args: argparse.Namespace) -> int:
    from bot.replay.record import dump, record_conversations

    conversations = record_conversations(open_repository(), since(args.since))
    args.output.write_text(dump(conversations), encoding="utf-8")
    turns = sum(len(c["turns"]) for c in conversations)
    print(f"wrote {len(conversations)} conversation(s), {turns} turn(s) to {args.output}; review before keeping it")
    return 0
