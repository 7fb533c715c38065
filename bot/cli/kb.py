"""`resident-bot kb ...`: check, list, show, export, impact of an edit, suggestions from unanswered questions."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bot.cli.common import load_kb, open_repository, since
from bot.config import SettingsError, load_settings


def register(sub: argparse._SubParsersAction) -> None:
    kb = sub.add_parser("kb", help="check, list, show and export the knowledge base").add_subparsers(
        metavar="ACTION")
    k = kb.add_parser("check", help="report every error and warning with file:line:column")
    k.add_argument("dir", nargs="?", type=Path, help="knowledge directory (default: the bundled one)")
    k.add_argument("--strict", action="store_true", help="treat warnings as errors")
    k.add_argument("--json", action="store_true", help="problems and summary as one JSON object")
    k.add_argument("--no-self-check", action="store_true", help="skip the matcher self-consistency check")
    k.set_defaults(func=cmd_kb_check)
    k = kb.add_parser("list", help="topics and entry ids")
    k.add_argument("--json", action="store_true", help="topic → entry ids as JSON")
    k.set_defaults(func=cmd_kb_list)
    k = kb.add_parser("show", help="one entry in full")
    k.add_argument("id")
    k.add_argument("--json", action="store_true", help="the entry as JSON")
    k.set_defaults(func=cmd_kb_show)
    k = kb.add_parser("export", help="the whole knowledge base as JSON")
    k.add_argument("--json", action="store_true", help="(default) JSON array of entries")
    k.set_defaults(func=cmd_kb_export)

    k = kb.add_parser("impact", help="which answers an edit changes, and which replay tests it breaks")
    k.add_argument("--against", default="HEAD", help="git ref or directory to compare with (default: HEAD)")
    k.add_argument("--json", action="store_true", help="versions, changed answers and broken replays as JSON")
    k.set_defaults(func=cmd_kb_impact)
    k = kb.add_parser("suggest", help="group unanswered questions and propose alternates or new entries")
    k.add_argument("--since", default="30d", help="period such as 30d (default 30d)")
    k.add_argument("--yaml", action="store_true", help="print ready-to-paste YAML snippets for review")
    k.set_defaults(func=cmd_kb_suggest)


def cmd_kb_check(args: argparse.Namespace) -> int:
    from bot.kbcheck import run_check

    result = run_check(args.dir, self_check=not args.no_self_check)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        for p in result.problems:
            print(p)
        print(result.summary())
    return 1 if result.failed(strict=args.strict) else 0


def cmd_kb_list(args: argparse.Namespace) -> int:
    kb = load_kb()
    if args.json:
        print(json.dumps({t: [e.id for e in kb.entries_in(t)] for t in kb.topics}, ensure_ascii=False, indent=2))
        return 0
    for topic in kb.topics:
        print(f"{topic}")
        for e in kb.entries_in(topic):
            print(f"  {e.id:34} {e.title}")
    print(f"{len(kb.entries)} entries in {len(kb.topics)} topics, version {kb.version}")
    return 0


def cmd_kb_show(args: argparse.Namespace) -> int:
    kb = load_kb()
    entry = kb.by_id.get(args.id)
    if entry is None:
        import difflib

        hint = difflib.get_close_matches(args.id, list(kb.by_id), n=3)
        print(f"no entry `{args.id}`" + (f"; did you mean {', '.join(hint)}?" if hint else ""), file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(entry.to_dict(), ensure_ascii=False, indent=2))
        return 0
    print(f"{entry.id} · {entry.topic} · {entry.title}   ({entry.path}:{entry.line})")
    print("问题：")
    for q in entry.questions:
        print(f"  - {q}")
    print(f"回答：{entry.answer}")
    s = entry.source
    print(f"来源：{s.publisher}《{s.title}》{s.date} · {s.section}" + (f" · {s.speaker}" if s.speaker else ""))
    print(f"原文：{s.quote}")
    print(f"截至：{entry.as_of}" + (f"  复核：{entry.review_by}" if entry.review_by else "")
          + (f"  预计到期：{entry.expires}" if entry.expires else ""))
    if entry.follow_ups:
        print(f"相关：{', '.join(entry.follow_ups)}")
    return 0


def cmd_kb_export(args: argparse.Namespace) -> int:
    kb = load_kb()
    json.dump([e.to_dict() for e in kb.entries], sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0


def cmd_kb_impact(args: argparse.Namespace) -> int:
    import tempfile

    from bot.admin.impact import ImpactError, against, compare
    from bot.evaluation.labelled import load_labelled
    from bot.knowledge.loader import default_intents_dir, default_knowledge_dir
    from bot.knowledge.problems import KnowledgeError
    from bot.live import LiveKnowledge
    from bot.replay.runner import collect_files
    from bot.semantic.model import embedder_for

    settings = load_settings()
    kdir = settings.knowledge_dir or default_knowledge_dir()
    intents = settings.intents_dir or default_intents_dir(kdir)
    items = load_labelled(settings.labelled_questions_path)
    replays = collect_files([settings.conversations_path])
    with tempfile.TemporaryDirectory() as tmp:
        try:
            target = against(args.against, kdir, intents, Path(tmp))
            embedder = embedder_for(settings)
            old = LiveKnowledge(target.knowledge, target.intents, settings.thresholds, settings.max_message_chars,
                                embedder, cache_dir=settings.cache_dir)
            new = LiveKnowledge(kdir, intents, settings.thresholds, settings.max_message_chars, embedder,
                                cache_dir=settings.cache_dir)
        except ImpactError as exc:
            raise SettingsError(f"--against: {exc}") from None
        except KnowledgeError as exc:
            print(str(exc), file=sys.stderr)
            return 1
        impact = compare(old, new, items, replays)
    old_intents = f"{args.against}'s intents/" if not target.borrowed_intents else f"{intents} (working copy's)"
    if args.json:
        print(json.dumps({"old": impact.old_version, "new": impact.new_version,
                          "old_intents": old_intents, "new_intents": str(intents),
                          "changes": [_fields(c) for c in impact.changes], "broken": impact.broken,
                          "fixed": impact.fixed}, ensure_ascii=False, indent=2))
    else:
        print(f"knowledge base {impact.old_version} ({args.against}) → {impact.new_version} (working copy)")
        print(f"intents: {old_intents} → {intents}"
              + (f"; {args.against} has no intents/ beside its knowledge files, so the working copy's apply to "
                 "both" if target.borrowed_intents else ""))
        for c in impact.changes:
            ctx = f" (after “{c.context}”)" if c.context else ""
            print(f"  “{c.question}”{ctx}: {c.old} → {c.new}")
        for b in impact.broken:
            print(f"BROKEN replay: {b}")
        print(f"{len(impact.changes)} of {len(items)} labelled questions change; "
              f"{len(impact.broken)} replay conversation(s) break, {len(impact.fixed)} now pass")
    return 1 if impact.broken else 0


def _fields(obj: object) -> dict[str, object]:
    return {k: getattr(obj, k) for k in obj.__slots__}  # type: ignore[attr-defined]


def cmd_kb_suggest(args: argparse.Namespace) -> int:
    from bot.admin.suggest import render_text, render_yaml, unanswered_groups
    from bot.matching.matcher import Matcher
    from bot.semantic.model import embedder_for

    settings = load_settings()
    kb = load_kb()
    matcher = Matcher(kb, settings.thresholds, max_chars=settings.max_message_chars, embedder=embedder_for(settings))
    suggestions = unanswered_groups(open_repository(), matcher, since(args.since))
    print(render_yaml(suggestions, matcher) if args.yaml else render_text(suggestions, matcher))
    return 0
