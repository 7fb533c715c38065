"""What `replay record` writes always replays, and passes on the knowledge base that answered it:
conversations of typed questions, empty messages, choices, 都不是, ratings and pressed buttons."""

from __future__ import annotations

import datetime as dt
import shutil
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cli import main
from bot.dialogue.context import MemoryContextStore
from bot.dialogue.engine import Dialogue
from bot.replay.format import load_replay_file
from bot.replay.record import dump, record_conversations
from bot.replay.runner import run_files
from bot.storage.repository import Repository, make_engine
from tests.auxil.db import fresh_repository
from tests.auxil.dialogue import shared_live

TYPED = ["潞河附校晚托到几点", "一键呼", "一键呼怎么收费", "那廊坊呢？", "公积金怎么提取", "你好", "谢谢",
         "1", "2", "3", "9", "2.", "都不是", "都不是" + "！" * 22, "", "   ", "\n", "+", "yes", "null", "~",
         "/topics", "天津滨海新区的事在通州能办几项", "厂通路 什么时候 通车", "x" * 400]
ENTRIES = ["luhe-late-care-end-time", "one-key-call-what", "regional-langfang", "changtong-road-opening"]

action = st.one_of(
    st.tuples(st.just("say"), st.sampled_from(TYPED) | st.text(max_size=40)),
    st.tuples(st.just("rate"), st.booleans()),
    st.tuples(st.just("press"), st.sampled_from(ENTRIES), st.sampled_from(["chosen", "suggested"])),
)


def converse(dialogue: Dialogue, conversation: str, actions) -> None:
    for act in actions:
        if act[0] == "say":
            dialogue.handle(conversation, act[1], channel="test")
        elif act[0] == "rate":
            dialogue.feedback(conversation, helpful=act[1])
        else:
            dialogue.answer_entry(conversation, act[1], reason=act[2], channel="test")


def record_and_replay(repo: Repository, path):
    path.write_text(dump(record_conversations(repo, dt.datetime.now(dt.UTC) - dt.timedelta(days=1))), "utf-8")
    return load_replay_file(path), run_files(shared_live(), [path])[0]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(conversations=st.lists(st.lists(action, min_size=1, max_size=8), min_size=1, max_size=3))
def test_recorded_conversations_always_replay_green(tmp_path, conversations):
    template = tmp_path / "template.sqlite3"
    if not template.exists():
        fresh_repository("sqlite", tmp_path).engine.dispose()
        shutil.move(tmp_path / "test.sqlite3", template)
    db = tmp_path / f"{uuid.uuid4().hex}.sqlite3"
    shutil.copy(template, db)
    repo = Repository(make_engine(f"sqlite:///{db}"))
    dialogue = Dialogue(shared_live(), MemoryContextStore(), repo)
    for n, actions in enumerate(conversations):
        converse(dialogue, f"c{n}", actions)
    (recorded, problems), results = record_and_replay(repo, tmp_path / "recorded.yaml")
    repo.engine.dispose()
    assert problems == [], [str(p) for p in problems]
    # A conversation of ratings alone rated nothing (no answer to rate) and left no record.
    assert len(recorded) == sum(any(a[0] != "rate" for a in actions) for actions in conversations)
    failures = [r.explain() for r in results if not r.passed]
    assert failures == [], "\n".join(failures)


def test_record_then_replay_from_the_command_line(tmp_path, monkeypatch, capsys):
    repo = fresh_repository("sqlite", tmp_path)
    dialogue = Dialogue(shared_live(), MemoryContextStore(), repo)
    converse(dialogue, "c", [("say", ""), ("say", "一键呼"), ("say", "2"), ("rate", False),
                             ("press", "luhe-late-care-end-time", "suggested"), ("say", "都不是")])
    monkeypatch.setenv("DATABASE_URL", str(repo.engine.url))
    out = tmp_path / "recorded.yaml"
    assert main(["replay", "record", "--since", "1d", "-o", str(out)]) == 0
    assert capsys.readouterr().out.startswith(f"wrote 1 conversation(s), 6 turn(s) to {out}")
    text = out.read_text(encoding="utf-8")
    assert "- user: ''\n" in text and "- press: luhe-late-care-end-time\n" in text
    assert main(["replay", str(out)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "1 passed, 0 failed"
