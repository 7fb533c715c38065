"""Knowledge files remembered by content: the same knowledge base, read again only where a file changed."""

from __future__ import annotations

import json
import logging
import shutil
import stat

import pytest

from bot.knowledge import loader
from bot.knowledge.loader import check_knowledge
from tests.auxil.kb import BUNDLED, INTENTS


@pytest.fixture
def copied(tmp_path):
    shutil.copytree(BUNDLED, tmp_path / "knowledge")
    shutil.copytree(INTENTS, tmp_path / "intents")
    return tmp_path / "knowledge", tmp_path / "intents"


@pytest.fixture
def parses(monkeypatch):
    """How many YAML files were parsed."""
    count = [0]
    real = loader.parse_yaml

    def counting(data):
        count[0] += 1
        return real(data)

    monkeypatch.setattr(loader, "parse_yaml", counting)
    return count


def load(kdir, idir, cache):
    kb, problems = check_knowledge(kdir, idir, cache_dir=cache)
    assert kb is not None
    return kb, problems


def test_remembered_files_give_the_same_knowledge_base(copied, tmp_path, parses):
    kdir, idir = copied
    cache = tmp_path / "cache"
    first, first_problems = load(kdir, idir, cache)
    topic_files = len([p for p in kdir.glob("*.yaml") if p.name not in loader.SPECIAL_FILES])
    assert parses[0] == topic_files
    remembered = list((cache / "knowledge").glob("entries-*.json"))
    assert len(remembered) == topic_files and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in remembered)
    again, again_problems = load(kdir, idir, cache)
    assert parses[0] == topic_files  # nothing parsed the second time
    assert again.entries == first.entries and again.version == first.version
    assert again_problems == first_problems


def test_only_the_edited_file_is_read_again(copied, tmp_path, parses):
    kdir, idir = copied
    cache = tmp_path / "cache"
    load(kdir, idir, cache)
    before = parses[0]
    path = kdir / "transport.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("预计2024年竣工通车。", "预计2025年竣工通车。", 1),
                    encoding="utf-8")
    kb, _ = load(kdir, idir, cache)
    assert parses[0] == before + 1
    assert kb.by_id["changtong-road-opening"].answer.startswith("预计2025年")


def changed(text, column, change):
    raw = json.loads(text)
    raw["entries"][column] = change(raw["entries"][column])
    return json.dumps(raw, ensure_ascii=False)


def test_a_damaged_remembered_file_is_read_from_the_yaml_again(copied, tmp_path, parses, caplog):
    kdir, idir = copied
    cache = tmp_path / "cache"
    first, _ = load(kdir, idir, cache)
    damages = [
        lambda text: "{not json",
        lambda text: text.replace('"answer": ["', '"answer": [["', 1),  # a list where a text belongs
        lambda text: text.replace('"answer"', '"answr"', 1),  # entries without their answers
        lambda text: text.replace('"questions_n": [', '"questions_n": [1, ', 1),  # one entry too many
        lambda text: text.replace('"as_of": ["', '"as_of": ["20x', 1),  # not a date
        lambda text: changed(text, "line", lambda lines: [True, *lines[1:]]),  # a bool is no line number
        lambda text: changed(text, "tags_n", lambda sizes: [-1, sizes[1] + 1, *sizes[2:]]),  # the sum holds
    ]
    # Files with the most entries first (the last damage needs two entries): the files' names are hashes of
    # their content and of the loading code, so name order alone would change with any edit to that code.
    paths = sorted((cache / "knowledge").glob("entries-*.json"),
                   key=lambda p: (-len(json.loads(p.read_text(encoding="utf-8"))["entries"]["line"]), p.name))
    assert len(paths) >= len(damages)
    for n, path in enumerate(paths):
        text = path.read_text(encoding="utf-8")
        damaged = damages[n % len(damages)](text)
        assert damaged != text
        path.write_text(damaged, encoding="utf-8")
    before = parses[0]
    with caplog.at_level(logging.WARNING, logger="bot.knowledge.parsed"):
        again, _ = load(kdir, idir, cache)
    assert again.entries == first.entries
    assert parses[0] == before + len(paths)  # every damaged file read from its YAML again
    assert caplog.text.count("ignoring remembered knowledge file") == len(paths)


def test_a_file_with_errors_is_never_remembered(copied, tmp_path):
    kdir, idir = copied
    path = kdir / "transport.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("  answer:", "  answr:", 1), encoding="utf-8")
    kb, problems = check_knowledge(kdir, idir, cache_dir=tmp_path / "cache")
    assert kb is None and any("answr" in str(p) for p in problems)
    again_kb, again = check_knowledge(kdir, idir, cache_dir=tmp_path / "cache")
    assert again_kb is None and [str(p) for p in again] == [str(p) for p in problems]


def test_a_reload_in_the_same_process_decodes_no_unchanged_file(copied, tmp_path, monkeypatch, parses):
    from bot.knowledge import parsed

    kdir, idir = copied
    cache = tmp_path / "cache"
    first, first_problems = load(kdir, idir, cache)
    decoded = []
    real = parsed._decode
    monkeypatch.setattr(parsed, "_decode", lambda raw, shown: decoded.append(shown) or real(raw, shown))
    again, again_problems = load(kdir, idir, cache)
    assert decoded == []  # the entries the last load used, kept in memory
    assert again.entries == first.entries and again_problems == first_problems
    # A remembered file changed on disk since (damaged, replaced) is read, not recalled.
    path = sorted((cache / "knowledge").glob("entries-*.json"))[0]
    path.write_text(path.read_text(encoding="utf-8").replace('"answer"', '"answr"', 1), encoding="utf-8")
    before = parses[0]
    third, _ = load(kdir, idir, cache)
    assert len(decoded) == 1 and parses[0] == before + 1 and third.entries == first.entries


def test_the_cross_check_of_an_unchanged_knowledge_base_is_remembered(copied, tmp_path, monkeypatch):
    """Duplicate ids and questions, unknown follow-ups and aspects: checked once per set of files."""
    kdir, idir = copied
    cache = tmp_path / "cache"
    checks = []
    real = loader._Loader.cross_check
    monkeypatch.setattr(loader._Loader, "cross_check", lambda self, *a: checks.append(1) or real(self, *a))
    load(kdir, idir, cache)
    load(kdir, idir, cache)
    assert len(checks) == 1
    # A marker that is not what it says is not believed.
    (marker,) = (cache / "knowledge").glob("checked-*.json")
    marker.write_text('{"format": 2, "key": "0"}', encoding="utf-8")
    load(kdir, idir, cache)
    assert len(checks) == 2
    # Another file's question copied into this one: the new set of files is checked, and refused.
    path, other = kdir / "transport.yaml", kdir / "education.yaml"
    question = next(line for line in other.read_text(encoding="utf-8").splitlines() if line.startswith("    - "))
    text = path.read_text(encoding="utf-8")
    at = text.index("  questions:\n") + len("  questions:\n")
    path.write_text(text[:at] + question + "\n" + text[at:], encoding="utf-8")
    kb, problems = check_knowledge(kdir, idir, cache_dir=cache)
    assert kb is None and any("is also a question of" in p.message for p in problems)
    assert len(checks) == 3
    kb, again = check_knowledge(kdir, idir, cache_dir=cache)
    assert kb is None and [str(p) for p in again] == [str(p) for p in problems] and len(checks) == 4
