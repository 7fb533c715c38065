"""`kb impact --against` a directory or commit without intents/ beside its knowledge files: the intents
that apply are used and named, so identical knowledge files show no change."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from bot.cli import main
from tests.auxil.kb import BUNDLED, INTENTS

SMALL_SET = """\
- {q: 你好呀, status: smalltalk, intent: greeting, style: smalltalk}
- {q: 太谢谢你了, status: smalltalk, intent: thanks, style: smalltalk}
- {q: 我要找人工客服, status: smalltalk, intent: handoff, style: smalltalk}
- {q: 潞河附校晚托到几点, faq: luhe-late-care-end-time, style: colloquial}
"""
GREETING_REPLAY = """\
name: 打招呼
turns:
  - user: 你好
    status: smalltalk
    intent: greeting
"""


@pytest.fixture
def working_copy(tmp_path, monkeypatch):
    """The bundled knowledge base as the working copy, with a small labelled set and one replay file (the
    settings an operator would use to point at their own)."""
    shutil.copytree(BUNDLED, tmp_path / "work" / "knowledge")
    shutil.copytree(INTENTS, tmp_path / "work" / "intents")
    (tmp_path / "labelled.yaml").write_text(SMALL_SET, encoding="utf-8")
    (tmp_path / "replays").mkdir()
    (tmp_path / "replays" / "greeting.yaml").write_text(GREETING_REPLAY, encoding="utf-8")
    monkeypatch.setenv("KNOWLEDGE_DIR", str(tmp_path / "work" / "knowledge"))
    monkeypatch.setenv("INTENTS_DIR", str(tmp_path / "work" / "intents"))
    monkeypatch.setenv("LABELLED_QUESTIONS", str(tmp_path / "labelled.yaml"))
    monkeypatch.setenv("CONVERSATIONS_DIR", str(tmp_path / "replays"))
    monkeypatch.setenv("SEMANTIC_MODEL", "off")  # words decide these questions; no vectors to encode
    return tmp_path / "work"


def test_directory_without_intents_uses_the_working_copys_and_says_so(working_copy, tmp_path, capsys):
    old = tmp_path / "old-knowledge"
    shutil.copytree(BUNDLED, old)  # no intents/ beside it
    assert main(["kb", "impact", "--against", str(old)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[1] == (f"intents: {working_copy / 'intents'} (working copy's) → {working_copy / 'intents'}; "
                        f"{old} has no intents/ beside its knowledge files, so the working copy's apply to both")
    assert lines[-1] == "0 of 4 labelled questions change; 0 replay conversation(s) break, 0 now pass"


def test_directory_with_its_own_intents_uses_them(working_copy, tmp_path, capsys):
    shutil.copytree(BUNDLED, tmp_path / "old" / "knowledge")
    shutil.copytree(INTENTS, tmp_path / "old" / "intents")
    (tmp_path / "old" / "intents" / "handoff.yaml").unlink()  # the old version had no handoff intent
    assert main(["kb", "impact", "--against", str(tmp_path / "old"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["old_intents"] == f"{tmp_path / 'old'}'s intents/"
    assert [(c["question"], c["new"]) for c in report["changes"]] == [("我要找人工客服", "smalltalk handoff")]


def test_git_ref_without_intents_uses_the_working_copys(working_copy, capsys):
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
           "PATH": "/usr/bin:/bin"}
    for cmd in (["init", "-q"], ["add", "knowledge"], ["commit", "-qm", "knowledge only"]):
        subprocess.run(["git", "-C", str(working_copy), *cmd], check=True, env=env)
    assert main(["kb", "impact", "--against", "HEAD"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "HEAD has no intents/ beside its knowledge files" in lines[1]
    assert lines[-1].startswith("0 of 4 labelled questions change; 0 replay conversation(s) break")
