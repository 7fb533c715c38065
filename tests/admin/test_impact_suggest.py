"""Impact of an edit before it goes live, and suggestions from what residents asked."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess

from bot.admin.suggest import render_yaml, unanswered_groups
from bot.cli import main
from bot.dialogue.context import MemoryContextStore
from bot.dialogue.engine import Dialogue
from tests.auxil.db import fresh_repository
from tests.auxil.dialogue import shared_live
from tests.auxil.kb import BUNDLED, INTENTS


def copy_kb(root):
    shutil.copytree(BUNDLED, root / "knowledge")
    shutil.copytree(INTENTS, root / "intents")
    return root / "knowledge"


def break_entry(kdir):
    """Move the 延时托管 questions to a wrong entry's wording: answers change and replays break."""
    path = kdir / "education.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("19:20", "18:00")
    text = text.replace("    - 潞河附校托管到几点\n", "", 1).replace("    - 学校晚托最晚几点结束\n", "", 1)
    path.write_text(text, encoding="utf-8")


def test_impact_against_a_directory(tmp_path, monkeypatch, capsys):
    old = copy_kb(tmp_path / "old")
    new = copy_kb(tmp_path / "new")
    monkeypatch.setenv("KNOWLEDGE_DIR", str(new))
    monkeypatch.setenv("INTENTS_DIR", str(new.parent / "intents"))
    assert main(["kb", "impact", "--against", str(old)]) == 0
    assert "0 replay conversation(s) break" in capsys.readouterr().out
    (new / "press-conference.yaml").unlink()  # an entry disappears
    break_entry(new)
    assert main(["kb", "impact", "--against", str(old), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    changed = {c["question"]: (c["old"], c["new"]) for c in report["changes"]}
    assert changed["你这些信息是哪来的"][0] == "answer press-conference-overview"
    assert not changed["你这些信息是哪来的"][1].startswith("answer press-conference-overview")
    assert any("19:20" in b for b in report["broken"])


def test_impact_against_a_git_ref(tmp_path, monkeypatch, capsys):
    kdir = copy_kb(tmp_path)
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    monkeypatch.setenv("KNOWLEDGE_DIR", str(kdir))
    monkeypatch.setenv("INTENTS_DIR", str(tmp_path / "intents"))
    for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "kb"]):
        subprocess.run(["git", "-C", str(tmp_path), *cmd], check=True, env={**env, "PATH": "/usr/bin:/bin"})
    break_entry(kdir)
    assert main(["kb", "impact", "--against", "HEAD"]) == 1
    out = capsys.readouterr().out
    assert "BROKEN replay" in out and out.strip().splitlines()[-1].endswith("now pass")
    assert main(["kb", "impact", "--against", "no-such-ref"]) == 2


def test_suggest_groups_unanswered_questions(tmp_path, monkeypatch, capsys):
    repo = fresh_repository("sqlite", tmp_path)
    dialogue = Dialogue(shared_live(), MemoryContextStore(), repo)
    for text in ("公积金怎么提取", "公积金怎么提取？", "请问公积金怎么提取呀", "驾照到期怎么换", "一键呼怎么收费"):
        dialogue.handle("c", text)
    dialogue.handle("d", "公租房配租多少户")
    dialogue.feedback("d", helpful=False)
    week = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    suggestions = unanswered_groups(repo, shared_live().snapshot.matcher, week)
    groups = suggestions.groups
    first = groups[0]
    assert first.count == 3 and first.question.startswith(("公积金怎么提取", "请问公积金"))
    by_question = {g.question: g for g in groups}
    assert by_question["一键呼怎么收费"].entry_id and by_question["一键呼怎么收费"].entry_id.startswith("one-key-call")
    assert by_question["公租房配租多少户"].not_helpful == 1
    assert by_question["公租房配租多少户"].entry_id == "public-rental-households"
    assert by_question["公租房配租多少户"].kind == "unhelpful"
    snippet = render_yaml(suggestions, shared_live().snapshot.matcher)
    assert "nothing here has been written" in snippet and "does not state the 收费标准" in snippet
    # Rated unhelpful where it was answered: check that answer, not add the question to it.
    assert "residents found the answer of `public-rental-households`" in snippet
    assert "- 公租房配租多少户" not in snippet
    monkeypatch.setenv("DATABASE_URL", str(repo.engine.url))
    assert main(["kb", "suggest", "--since", "1d"]) == 0
    assert "3× “" in capsys.readouterr().out
