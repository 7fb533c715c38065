"""The built index on disk: a restart loads it; anything damaged, stale or foreign is rebuilt, never trusted."""

from __future__ import annotations

import logging
import pickle
import stat

import numpy as np
import pytest

from bot.knowledge.loader import load_knowledge
from bot.matching.build import INDEX_FORMAT
from bot.matching.matcher import Matcher
from bot.matching.stored import IndexStore
from tests.auxil.kb import entry, make_kb

QUESTIONS = ["栗子沟新村什么时候通公交", "运河公园几点开门", "你好"]


@pytest.fixture
def kb(tmp_path):
    files = {"bus.yaml": entry("bus-line", question="栗子沟新村什么时候通公交", answer="明年通车。")
             + "  tags: [栗子沟新村]\n",
             "park.yaml": entry("park-hours", question="运河公园几点开门", answer="每天6点开门。")}
    return load_knowledge(make_kb(tmp_path / "kb", files), tmp_path / "kb" / "intents")


def answers(matcher):
    return [(d.status, d.entry_id, d.intent_id, round(d.score, 6)) for d in map(matcher.match, QUESTIONS)]


def stored_file(store, matcher):
    return store.path(matcher.kb, matcher.built.fingerprint)


def test_a_restart_loads_the_index_instead_of_building_it(kb, tmp_path):
    store = IndexStore(tmp_path / "cache")
    first = Matcher(kb, store=store)
    assert first.built.rebuilt == len(kb.entries)  # built: nothing stored yet
    path = stored_file(store, first)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = Matcher(kb, store=store)
    assert again.built.rebuilt == 0  # loaded
    assert answers(again) == answers(first)
    assert again.lexicon == first.lexicon and "栗子沟新村" in again.tokenizer.words("栗子沟新村通公交")
    assert again.index.docs.vocabulary == first.index.docs.vocabulary
    assert np.array_equal(again.index.idf, first.index.idf)


def rebuilt_after(kb, store, damage, caplog):
    path = stored_file(store, Matcher(kb, store=store))
    good = Matcher(kb)
    damage(path)
    with caplog.at_level(logging.WARNING, logger="bot.matching.stored"):
        matcher = Matcher(kb, store=store)
    assert matcher.built.rebuilt == len(kb.entries)  # not trusted: built again
    assert answers(matcher) == answers(good)
    assert Matcher(kb, store=store).built.rebuilt == 0  # and stored again, readable
    return caplog.text


def test_corrupt_bytes_are_rebuilt(kb, tmp_path, caplog):
    def flip(path):
        data = bytearray(path.read_bytes())
        middle = len(data) // 2
        data[middle : middle + 16] = bytes(b ^ 0xFF for b in data[middle : middle + 16])
        path.write_bytes(bytes(data))

    assert "ignoring stored index" in rebuilt_after(kb, IndexStore(tmp_path / "c"), flip, caplog)


def test_a_truncated_file_is_rebuilt(kb, tmp_path, caplog):
    def truncate(path):
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])

    assert "unreadable" in rebuilt_after(kb, IndexStore(tmp_path / "c"), truncate, caplog)


def rewrite(path, **changes):
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    arrays.update(changes)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def meta_of(path):
    import json

    with np.load(path, allow_pickle=False) as data:
        return json.loads(data["meta"].tobytes().decode())


def utf8_json(value):
    import json

    return np.frombuffer(json.dumps(value).encode(), dtype=np.uint8)


def test_a_file_of_another_format_version_is_rebuilt(kb, tmp_path, caplog):
    def older(path):
        rewrite(path, meta=utf8_json(meta_of(path) | {"format": INDEX_FORMAT + 1}))

    assert "format" in rebuilt_after(kb, IndexStore(tmp_path / "c"), older, caplog)


def test_a_file_of_another_knowledge_base_is_rebuilt(kb, tmp_path, caplog):
    """Another version's file put in this one's place (a copied cache, a hash collision in the name)."""
    def foreign(path):
        rewrite(path, meta=utf8_json(meta_of(path) | {"knowledge_version": "0123456789ab"}))

    assert "another knowledge base" in rebuilt_after(kb, IndexStore(tmp_path / "c"), foreign, caplog)


def test_inconsistent_arrays_are_rebuilt(kb, tmp_path, caplog):
    """A file whose checksums hold but whose numbers do not fit together is not indexed into."""
    def out_of_range(path):
        with np.load(path, allow_pickle=False) as data:
            tok = data["tok"].copy()
        tok[0] = 10**6
        rewrite(path, tok=tok)

    assert "out of range" in rebuilt_after(kb, IndexStore(tmp_path / "c"), out_of_range, caplog)


class Planted:
    """What a pickle could make a loader do: here, create a file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (self.marker.touch, ())


def test_a_pickle_is_never_unpickled(kb, tmp_path, caplog):
    marker = tmp_path / "code-ran"

    def plain_pickle(path):
        path.write_bytes(pickle.dumps({"meta": Planted(marker)}))

    def pickle_inside_npz(path):
        rewrite(path, meta=np.array([Planted(marker)], dtype=object))

    store = IndexStore(tmp_path / "c")
    rebuilt_after(kb, store, plain_pickle, caplog)
    rebuilt_after(kb, store, pickle_inside_npz, caplog)
    assert not marker.exists()


def test_an_unwritable_store_costs_only_a_rebuild(kb, tmp_path, caplog):
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    with caplog.at_level(logging.WARNING, logger="bot.matching.stored"):
        matcher = Matcher(kb, store=IndexStore(blocked / "cache"))
    assert matcher.match("运河公园几点开门").entry_id == "park-hours"
    assert "cannot store the index" in caplog.text
