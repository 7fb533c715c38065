"""`resident-bot` command line: parse, call, print. Behaviour lives in the modules it calls."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import re
import sys
from pathlib import Path

from bot.config import SettingsError, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except SettingsError as exc:
        print(f"resident-bot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="resident-bot", description="城市副中心便民问答机器人 resident-bot")
    sub = p.add_subparsers(metavar="COMMAND")

    cf = sub.add_parser("config", help="print the effective settings, secrets masked")
    cf.add_argument("--json", action="store_true")
    cf.set_defaults(func=cmd_config)

    c = sub.add_parser("chat", help="chat in the console (the Quick start)")
    c.add_argument("--no-storage", action="store_true", help="do not record the conversation")
    c.set_defaults(func=cmd_chat)

    t = sub.add_parser("telegram", help="run the Telegram bot by long polling (one instance)")
    t.set_defaults(func=cmd_telegram)
    sv = sub.add_parser("serve", help="HTTP server: Telegram webhook, /api/v1/messages, /healthz")
    sv.add_argument("--host", help="listen address (default: HOST or 127.0.0.1)")
    sv.add_argument("--port", type=int, help="listen port (default: PORT or 8080)")
    sv.add_argument("--no-telegram", action="store_true", help="serve the HTTP API only, without a bot token")
    sv.set_defaults(func=cmd_serve)

    a = sub.add_parser("ask", help="ask one question, or one per stdin line with --json")
    a.add_argument("question", nargs="?", help="the question; omit to read stdin")
    a.add_argument("--json", action="store_true", help="one JSON object per line")
    a.add_argument("--conversation", action="store_true", help="stdin lines are turns of one conversation")
    a.add_argument("--today", type=dt.date.fromisoformat, help="pretend today is YYYY-MM-DD")
    a.set_defaults(func=cmd_ask)

    kb = sub.add_parser("kb", help="check, list, show and export the knowledge base").add_subparsers(
        metavar="ACTION")
    k = kb.add_parser("check", help="report every error and warning with file:line:column")
    k.add_argument("dir", nargs="?", type=Path, help="knowledge directory (default: the bundled one)")
    k.add_argument("--strict", action="store_true", help="treat warnings as errors")
    k.add_argument("--json", action="store_true")
    k.add_argument("--no-self-check", action="store_true", help="skip the matcher self-consistency check")
    k.set_defaults(func=cmd_kb_check)
    k = kb.add_parser("list", help="topics and entry ids")
    k.add_argument("--json", action="store_true")
    k.set_defaults(func=cmd_kb_list)
    k = kb.add_parser("show", help="one entry in full")
    k.add_argument("id")
    k.add_argument("--json", action="store_true")
    k.set_defaults(func=cmd_kb_show)
    k = kb.add_parser("export", help="the whole knowledge base as JSON")
    k.add_argument("--json", action="store_true", help="(default) JSON array of entries")
    k.set_defaults(func=cmd_kb_export)

    k = kb.add_parser("impact", help="which answers an edit changes, and which replay tests it breaks")
    k.add_argument("--against", default="HEAD", help="git ref or directory to compare with (default: HEAD)")
    k.add_argument("--json", action="store_true")
    k.set_defaults(func=cmd_kb_impact)
    k = kb.add_parser("suggest", help="group unanswered questions and propose alternates or new entries")
    k.add_argument("--since", default="30d", help="period such as 30d (default 30d)")
    k.add_argument("--yaml", action="store_true", help="print ready-to-paste YAML snippets for review")
    k.set_defaults(func=cmd_kb_suggest)

    e = sub.add_parser("eval", help="accuracy on the labelled question set, beside two baselines")
    e.add_argument("--data", type=Path, help="labelled set (default: tests/data/labelled_questions.yaml)")
    e.add_argument("--json", action="store_true")
    e.add_argument("--tune", action="store_true", help="search thresholds on the labelled set")
    e.set_defaults(func=cmd_eval)

    db = sub.add_parser("db", help="database schema and retention").add_subparsers(metavar="ACTION")
    d = db.add_parser("upgrade", help="create or migrate the schema to the newest version")
    d.set_defaults(func=cmd_db_upgrade)
    d = db.add_parser("purge", help="delete records older than a retention period")
    d.add_argument("--older-than", default=None, help="age such as 180d (default: RETENTION_DAYS)")
    d.set_defaults(func=cmd_db_purge)

    rp = sub.add_parser("replay", help="replay conversation tests; `replay record` writes one from storage",
                        description="resident-bot replay [PATHS...] runs tests/conversations by default; "
                                    "resident-bot replay record --since 7d -o FILE records real conversations.")
    rp.add_argument("paths", nargs="*", help="files or directories (default: tests/conversations)")
    rp.add_argument("--json", action="store_true")
    rp.add_argument("--coverage", action="store_true", help="list entries and intents no conversation reaches")
    rp.add_argument("--since", default="7d", help="for `record`: period such as 7d")
    rp.add_argument("-o", "--output", type=Path, help="for `record`: the replay file to write")
    rp.set_defaults(func=cmd_replay)

    r = sub.add_parser("report", help="figures for administrators: volumes, shares, unanswered questions")
    r.add_argument("--since", default="7d", help="period such as 7d or 24h (default 7d)")
    r.add_argument("--json", action="store_true")
    r.add_argument("--html", type=Path, metavar="FILE", help="write a self-contained HTML page with charts")
    r.set_defaults(func=cmd_report)
    return p


def parse_age(text: str) -> dt.timedelta:
    m = re.fullmatch(r"\s*(\d+)\s*([dhw])\s*", text or "")
    if not m:
        raise SettingsError(f"invalid period {text!r}: write it like 7d, 24h or 2w")
    n, unit = int(m.group(1)), m.group(2)
    return {"d": dt.timedelta(days=n), "h": dt.timedelta(hours=n), "w": dt.timedelta(weeks=n)}[unit]


# -- commands --------------------------------------------------------------------------------------


def _app(storage: bool):
    from bot.app import build_app
    from bot.knowledge.problems import KnowledgeError
    from bot.storage.errors import SchemaBehind

    settings = load_settings()
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


def cmd_config(args: argparse.Namespace) -> int:
    from bot.config import describe_settings

    rows = describe_settings(load_settings())
    if args.json:
        print(json.dumps({name: value for name, value, _ in rows}, ensure_ascii=False, indent=2))
    else:
        width = max(len(name) for name, _, _ in rows)
        for name, value, meaning in rows:
            print(f"{name:{width}}  {value:40}  {meaning}")
    return 0


def _service_logging() -> None:
    from bot.observability import configure_logging

    configure_logging(load_settings().log_format)


def cmd_chat(args: argparse.Namespace) -> int:
    from bot.channels.console import run_console
    from bot.reloader import Reloader

    app = _app(storage=not args.no_storage)

    def tell(swapped: bool, problems: list, version: str) -> None:
        if swapped:
            print(f"\n（知识库已更新，版本 {version}）", flush=True)
        else:
            print(f"\n（知识库有错误，继续使用版本 {version}）", flush=True)
            for p in problems:
                if p.severity == "error":
                    print(f"  {p}", flush=True)

    reloader = Reloader(app.live, tell)
    reloader.watch()
    reloader.on_sighup()
    try:
        return run_console(app.dialogue)
    finally:
        reloader.stop()
        app.close()


def cmd_telegram(args: argparse.Namespace) -> int:
    from telegram import Update

    from bot.channels.telegram import MissingToken, build_application

    _service_logging()
    app = _app(storage=True)
    try:
        application = build_application(app)
    except MissingToken as exc:
        raise SettingsError(str(exc)) from None
    from bot.reloader import Reloader

    reloader = Reloader(app.live)
    reloader.watch()
    reloader.on_sighup()
    try:
        # run_polling stops cleanly on SIGINT and SIGTERM, finishing the updates in flight.
        application.run_polling(allowed_updates=Update.ALL_TYPES)
    finally:
        app.close()
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from bot.channels.web import create_web_app

    _service_logging()
    app = _app(storage=True)
    settings = app.settings
    if not args.no_telegram and not settings.telegram_bot_token.get_secret_value():
        raise SettingsError("TELEGRAM_BOT_TOKEN is not set: set it, or run `serve --no-telegram` for the API only")
    from bot.reloader import Reloader

    reloader = Reloader(app.live)
    reloader.watch()
    reloader.on_sighup()
    web = create_web_app(app, telegram=not args.no_telegram)
    config = uvicorn.Config(web, host=args.host or settings.host, port=args.port or settings.port,
                            log_level="warning", log_config=None)
    return run_server(uvicorn.Server(config))


def run_server(server) -> int:
    """Serve until SIGTERM or SIGINT, then shut down gracefully (lifespan: finish updates, flush records)
    and exit 0. uvicorn re-raises the signal after shutdown, which would end the process with -15."""
    import asyncio
    import contextlib
    import signal

    server.capture_signals = contextlib.nullcontext  # we handle the signals ourselves

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
        await server.serve()

    asyncio.run(main())
    return 0 if server.started or server.should_exit else 1


def cmd_ask(args: argparse.Namespace) -> int:
    from bot.channels.ask import run_ask

    app = _app(storage=False)
    if args.today:
        app.dialogue.today = lambda: args.today
    return run_ask(app.dialogue, args.question, as_json=args.json, conversation=args.conversation)


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


def _kb():
    from bot.knowledge.loader import load_knowledge
    from bot.knowledge.problems import KnowledgeError

    settings = load_settings()
    try:
        return load_knowledge(settings.knowledge_dir, settings.intents_dir)
    except KnowledgeError as exc:
        print(str(exc), file=sys.stderr)
        raise SystemExit(1) from None


def cmd_kb_list(args: argparse.Namespace) -> int:
    kb = _kb()
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
    kb = _kb()
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
    kb = _kb()
    json.dump([e.to_dict() for e in kb.entries], sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0


def cmd_kb_impact(args: argparse.Namespace) -> int:
    import tempfile

    from bot.admin.impact import ImpactError, against, compare
    from bot.evaluation.labelled import load_labelled
    from bot.knowledge.loader import default_knowledge_dir
    from bot.knowledge.problems import KnowledgeError
    from bot.live import LiveKnowledge
    from bot.replay.runner import collect_files
    from bot.semantic.model import embedder_for

    settings = load_settings()
    kdir = settings.knowledge_dir or default_knowledge_dir()
    with tempfile.TemporaryDirectory() as tmp:
        holder = tempfile.TemporaryDirectory(dir=tmp)
        try:
            old_k, old_i = against(args.against, kdir, holder)
            embedder = embedder_for(settings)
            old = LiveKnowledge(old_k, old_i, settings.thresholds, settings.max_message_chars, embedder)
            new = LiveKnowledge(settings.knowledge_dir, settings.intents_dir, settings.thresholds,
                                settings.max_message_chars, embedder)
        except ImpactError as exc:
            raise SettingsError(f"--against: {exc}") from None
        except KnowledgeError as exc:
            print(str(exc), file=sys.stderr)
            return 1
        items = load_labelled()
        replays = collect_files([Path(__file__).resolve().parents[1] / "tests" / "conversations"])
        impact = compare(old, new, items, replays)
    if args.json:
        print(json.dumps({"old": impact.old_version, "new": impact.new_version,
                          "changes": [vars_of(c) for c in impact.changes], "broken": impact.broken,
                          "fixed": impact.fixed}, ensure_ascii=False, indent=2))
    else:
        print(f"knowledge base {impact.old_version} ({args.against}) → {impact.new_version} (working copy)")
        for c in impact.changes:
            ctx = f" (after “{c.context}”)" if c.context else ""
            print(f"  “{c.question}”{ctx}: {c.old} → {c.new}")
        for b in impact.broken:
            print(f"BROKEN replay: {b}")
        print(f"{len(impact.changes)} of {len(items)} labelled questions change; "
              f"{len(impact.broken)} replay conversation(s) break, {len(impact.fixed)} now pass")
    return 1 if impact.broken else 0


def vars_of(obj: object) -> dict[str, object]:
    return {k: getattr(obj, k) for k in obj.__slots__}  # type: ignore[attr-defined]


def cmd_kb_suggest(args: argparse.Namespace) -> int:
    from bot.admin.suggest import render_text, render_yaml, unanswered_groups
    from bot.app import open_repository
    from bot.matching.engine import Matcher
    from bot.semantic.model import embedder_for

    settings = load_settings()
    kb = _kb()
    matcher = Matcher(kb, settings.thresholds, max_chars=settings.max_message_chars, embedder=embedder_for(settings))
    repo = open_repository(settings, upgrade_sqlite=False)
    groups = unanswered_groups(repo, matcher, dt.datetime.now(dt.UTC) - parse_age(args.since))
    print(render_yaml(groups, matcher) if args.yaml else render_text(groups, matcher))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from bot.evaluation.run import run_eval

    return run_eval(args.data, as_json=args.json, tune=args.tune)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from bot.storage import schema
    from bot.storage.repository import make_engine

    settings = load_settings()
    engine = make_engine(settings.effective_database_url)
    before, after = schema.upgrade(engine)
    where = engine.url.render_as_string(hide_password=True)
    print(f"database {where}: schema {before or 'empty'} → {after}" if before != after
          else f"database {where}: schema already at {after}")
    return 0


def cmd_db_purge(args: argparse.Namespace) -> int:
    from bot.app import open_repository

    settings = load_settings()
    age = parse_age(args.older_than) if args.older_than else dt.timedelta(days=settings.retention_days)
    repo = open_repository(settings, upgrade_sqlite=False)
    counts = repo.purge(dt.datetime.now(dt.UTC) - age)
    print("deleted " + ", ".join(f"{n} {table}" for table, n in counts.items()) + f" older than {age.days} days")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    if args.paths[:1] == ["record"]:
        return _replay_record(args)
    from bot.replay.runner import collect_files, coverage, run_files

    app = _app(storage=False)
    default = Path(__file__).resolve().parents[1] / "tests" / "conversations"
    files = collect_files([Path(p) for p in args.paths] or [default])
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


def _replay_record(args: argparse.Namespace) -> int:
    from bot.app import open_repository
    from bot.replay.record import dump, record_conversations

    if args.output is None:
        raise SettingsError("replay record needs -o FILE: where to write the replay file")
    repo = open_repository(load_settings(), upgrade_sqlite=False)
    conversations = record_conversations(repo, dt.datetime.now(dt.UTC) - parse_age(args.since))
    args.output.write_text(dump(conversations), encoding="utf-8")
    turns = sum(len(c["turns"]) for c in conversations)
    print(f"wrote {len(conversations)} conversation(s), {turns} turn(s) to {args.output}; review before keeping it")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from bot.app import open_repository
    from bot.reports.report import build_report, render_html, render_text

    settings = load_settings()
    repo = open_repository(settings, upgrade_sqlite=False)
    report = build_report(repo, dt.datetime.now(dt.UTC) - parse_age(args.since))
    if args.html:
        args.html.write_text(render_html(report), encoding="utf-8")
        print(f"wrote {args.html}")
    elif args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(render_text(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
