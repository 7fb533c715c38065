"""Small things a user notices: --version, every option's help, `replay record --help`, `config` showing
what each default resolves to, quotes inside quotes in a reply."""

from __future__ import annotations

import argparse
import json
import re
from importlib import metadata

import pytest

from bot.cli import build_parser, main


def parsers(parser: argparse.ArgumentParser, path: str = "resident-bot"):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from parsers(sub, f"{path} {name}")


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"resident-bot {metadata.version('resident-bot')}\n"


def test_every_option_says_what_it_does():
    missing = [f"{path} {'/'.join(a.option_strings)}" for path, p in parsers(build_parser()) for a in p._actions
               if a.option_strings and not a.help and a.dest != "help"]
    assert missing == []


def test_replay_record_help_is_its_own(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["replay", "record", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: resident-bot replay record [-h] [--since SINCE] -o FILE")
    assert "--coverage" not in out and "No user ids are written" in out
    with pytest.raises(SystemExit) as exit_:
        main(["replay", "record"])
    assert exit_.value.code == 2
    assert "the following arguments are required: -o/--output" in capsys.readouterr().err


def test_config_shows_what_defaults_resolve_to(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("KNOWLEDGE_DIR", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)  # no ./knowledge here: the bundled one beside the package is used
    assert main(["config", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["KNOWLEDGE_DIR"].endswith("/knowledge") and shown["KNOWLEDGE_DIR"] != "knowledge"
    assert shown["INTENTS_DIR"].endswith("/intents")
    assert shown["DATABASE_URL"] == f"sqlite:///{tmp_path}/resident-bot.sqlite3"
    assert shown["LABELLED_QUESTIONS"].endswith("tests/data/labelled_questions.yaml")
    assert main(["config"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("DATABASE_URL"))
    assert re.match(rf"DATABASE_URL\s+sqlite:///{tmp_path}/resident-bot.sqlite3\s+SQLAlchemy URL", line)


def test_an_empty_directory_setting_means_its_default_not_the_current_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache-home"))
    monkeypatch.setenv("CACHE_DIR", "")  # as a .env file copied from .env.example may leave it
    monkeypatch.setenv("KNOWLEDGE_DIR", " ")
    monkeypatch.chdir(tmp_path)
    assert main(["config", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["CACHE_DIR"] == f"{tmp_path}/cache-home/resident-bot"
    assert shown["KNOWLEDGE_DIR"].endswith("/knowledge") and shown["KNOWLEDGE_DIR"] != "knowledge"


def test_a_quoted_title_is_nested_not_doubled(monkeypatch, capsys):
    monkeypatch.setenv("SEMANTIC_MODEL", "off")
    assert main(["ask", "一键呼怎么收费"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("关于“‘一键呼’是什么、给谁装”，我知道的是：") and "““" not in out
