"""jieba's part-of-speech tables kept in CACHE_DIR beside the stored dictionary (not in the machine's temp
directory): read back as parsed, in a format read without running code; damaged or foreign files are made
again, never trusted, never an error."""

from __future__ import annotations

import json
import logging
import tempfile

import pytest

from bot.matching import asked, dictionary, kept_tables, places
from bot.matching.places import Tags


@pytest.fixture
def kept_in(tmp_path, monkeypatch):
    """The tables kept in a fresh CACHE_DIR, and made again by each test (and after it, for the next)."""
    monkeypatch.setattr(dictionary, "_directory", tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "machine-tmp"))  # nothing may be kept there
    (tmp_path / "machine-tmp").mkdir()
    places.jieba_tags.cache_clear()
    asked._pos_table.cache_clear()
    yield tmp_path
    places.jieba_tags.cache_clear()
    asked._pos_table.cache_clear()


def tables():
    places.jieba_tags.cache_clear()
    asked._pos_table.cache_clear()
    t = places.jieba_tags()
    return (t.names, t.chars, t.grammar, t.ordinary), asked._pos_table()


@pytest.fixture(scope="module")
def parsed():
    """The tables made from jieba's dict.txt with nothing kept."""
    places.jieba_tags.cache_clear()
    asked._pos_table.cache_clear()
    made = tables()
    places.jieba_tags.cache_clear()
    asked._pos_table.cache_clear()
    return made


def kept_file(directory, name):
    (path,) = directory.glob(f"{name}-v*.json")
    return path


def test_the_tables_are_kept_in_the_cache_dir_and_read_back_not_parsed_again(parsed, kept_in, monkeypatch):
    assert tables() == parsed
    assert kept_file(kept_in, "jieba-tags").stat().st_mode & 0o077 == 0  # the bot's own, not other users'
    assert kept_file(kept_in, "jieba-pos").stat().st_mode & 0o077 == 0
    assert list((kept_in / "machine-tmp").iterdir()) == []

    def refuse(*args):
        raise AssertionError("parsed jieba's dict.txt again")

    monkeypatch.setattr(Tags, "parse", refuse)
    assert tables() == parsed
    # What the kept file says is what is used: it was read, not parsed again.
    pos = kept_file(kept_in, "jieba-pos")
    data = json.loads(pos.read_text())
    data["columns"]["tags"][data["columns"]["words"].index("很")] = "zz"
    pos.write_text(json.dumps(data))
    asked._pos_table.cache_clear()
    assert asked.pos_of("很") == "zz" and parsed[1]["很"] != "zz"


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.write_bytes(b""),
        lambda p: p.write_bytes(b"\x80\x81 not text"),
        lambda p: p.write_bytes(b'{"format": 1'),
        lambda p: p.write_text(json.dumps([1, 2, 3])),
        lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "format": 0})),
        lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "columns": {"names": [1, 2]}})),
        lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "columns": {"words": ["很"]}})),
        lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "columns": {"names": ["颐和园"]}})),
    ],
)
@pytest.mark.parametrize("name", ["jieba-tags", "jieba-pos"])
def test_a_damaged_or_foreign_file_is_made_again_and_replaced(parsed, kept_in, caplog, name, damage):
    tables()
    damage(kept_file(kept_in, name))
    with caplog.at_level(logging.WARNING, logger="bot.matching.kept_tables"):
        assert tables() == parsed
    assert "ignoring kept table" in caplog.text
    assert json.loads(kept_file(kept_in, name).read_text())["format"] == kept_tables.FORMAT  # made again
    assert tables() == parsed


def test_another_dictionarys_or_rules_table_is_not_read_and_is_removed(parsed, kept_in):
    tables()
    path = kept_file(kept_in, "jieba-tags")
    stale = path.with_name("jieba-tags-v1-0123456789abcdef.json")
    path.rename(stale)  # as if made from another dict.txt, gazetteer or tag rules: named by another hash
    assert tables() == parsed
    assert not stale.exists() and kept_file(kept_in, "jieba-tags") == path


def test_without_a_cache_dir_nothing_is_kept(parsed, tmp_path, monkeypatch):
    monkeypatch.setattr(dictionary, "_directory", None)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert tables() == parsed
    assert list(tmp_path.iterdir()) == []
    places.jieba_tags.cache_clear()
    asked._pos_table.cache_clear()


def test_an_unwritable_cache_dir_costs_only_a_parse(parsed, tmp_path, monkeypatch, caplog):
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    monkeypatch.setattr(dictionary, "_directory", blocked / "cache")
    with caplog.at_level(logging.WARNING, logger="bot.matching.kept_tables"):
        assert tables() == parsed
    assert "cannot keep" in caplog.text
    places.jieba_tags.cache_clear()
    asked._pos_table.cache_clear()


def test_tags_round_trip_through_columns_and_refuse_other_shapes():
    tags = Tags.parse("颐和园 349 ns\n我们 9000 r\n宋 4976 nr\n城区 1517 n\n森林 300 n\n", frozenset({"城区"}))
    again = Tags.from_columns(json.loads(json.dumps(tags.columns())))
    assert (again.names, again.chars, again.grammar, again.ordinary) == (
        {"颐和园": "ns"},
        {"宋": "nr"},
        frozenset({"我们"}),
        frozenset({"城区"}),
    )
    for other in ({}, {**tags.columns(), "name_tags": []}, {"words": ["很"], "tags": ["d"]}):
        with pytest.raises(ValueError):
            Tags.from_columns(other)
