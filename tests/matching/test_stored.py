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
from tests.auxil.npz import rewrite

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
    return store.path(matcher.kb, matcher.built.fingerprint, matcher.built.facts.fingerprint)


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


@pytest.mark.parametrize("change", ["swap", "repeat", "out of range"])
def test_postings_in_another_order_are_rebuilt(kb, tmp_path, caplog, change):
    """The postings' stored order is what a restart indexes into instead of sorting: one that does not
    sort the tokens exactly (two postings swapped, one position twice, one past the end) is not trusted."""
    def reorder(path):
        with np.load(path, allow_pickle=False) as data:
            order, tok = data["order"].copy(), data["tok"]
        k = int(np.flatnonzero(tok[order][1:] != tok[order][:-1])[0])  # the last posting of a token
        if change == "swap":
            order[k], order[k + 1] = order[k + 1], order[k]
        elif change == "repeat":
            order[k + 1] = order[k]
        else:
            order[k] = len(tok)
        rewrite(path, order=order)

    assert "postings' order" in rebuilt_after(kb, IndexStore(tmp_path / "c"), reorder, caplog)


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


# -- the honesty tables' facts (facts.py), stored with the index ---------------------------------------


def tables(matcher):
    """What the scope checker, the topic finder and the answered types read of the knowledge base."""
    scope = matcher.scope
    syllable = {code: s for s, code in scope._sounds._codes.items()}  # codes are any snapshot's own
    sounds = {t: tuple(map(syllable.__getitem__, s)) for t, s in scope.topic_sound.items()}
    return (scope.topic_text, sounds, sorted(scope._tables()[0].forms),
            matcher.topics.names, matcher.topics.questions, matcher.answered._common_places)


def test_the_honesty_tables_are_read_back_as_they_were_built(bundled_kb, tmp_path):
    store = IndexStore(tmp_path / "c")
    built = Matcher(bundled_kb, store=store)
    loaded = Matcher(bundled_kb, store=store)
    assert loaded.built.rebuilt == 0
    assert tables(loaded) == tables(built)
    # 潞城 typed as 路城 is still the knowledge base's own place, found by its sound in the stored table.
    entry = next(e for e in bundled_kb.entries if "潞城" in loaded.scope.topic_text[e.topic])
    assert loaded.scope.foreign("路城的情况", entry) is None
    assert loaded.scope.foreign("上海的情况", entry) == "上海"


def facts_arrays(path):
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k].copy() for k in data.files}


def repeated_syllable(path):
    meta = meta_of(path)
    strings = facts_arrays(path)["facts_text"].tobytes().decode().split("\x00")
    start = meta["keywords"] + meta["provinces"] + meta["places"]
    strings[start + 1] = strings[start]  # two syllables with one code: every later code would shift
    rewrite(path, facts_text=np.frombuffer("\x00".join(strings).encode(), dtype=np.uint8))


def keyword_out_of_range(path):
    ids = facts_arrays(path)["keywords_ids"]
    ids[0] = 10**6
    rewrite(path, keywords_ids=ids)


def one_text_short(path):
    text = facts_arrays(path)["facts_text"].tobytes().decode()
    rewrite(path, facts_text=np.frombuffer(text[: text.rindex("\x00")].encode(), dtype=np.uint8))


def offsets_backwards(path):
    ptr = facts_arrays(path)["places_ptr"]
    ptr[1], ptr[2] = ptr[2] + 1, ptr[1]
    rewrite(path, places_ptr=ptr)


def facts_by_other_code(path):
    rewrite(path, meta=utf8_json(meta_of(path) | {"facts_fingerprint": "0" * 32}))


def no_provinces(path):
    arrays = facts_arrays(path)
    del arrays["provinces_ids"]
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


@pytest.mark.parametrize(("damage", "logged"), [
    (repeated_syllable, "bad syllables"), (keyword_out_of_range, "keywords id out of range"),
    (one_text_short, "facts_text does not match"), (offsets_backwards, "bad places offsets"),
    (facts_by_other_code, "by other code"), (no_provinces, "no provinces_ids")])
def test_damaged_or_stale_facts_are_rebuilt(bundled_kb, tmp_path, caplog, damage, logged):
    store = IndexStore(tmp_path / "c")
    good = Matcher(bundled_kb, store=store)
    path = store.path(bundled_kb, good.built.fingerprint, good.built.facts.fingerprint)
    assert meta_of(path)["keywords"] > 0 and meta_of(path)["places"] > 0  # the bundled entries have both
    damage(path)
    with caplog.at_level(logging.WARNING, logger="bot.matching.stored"):
        matcher = Matcher(bundled_kb, store=store)
    assert logged in caplog.text
    assert matcher.built.rebuilt == len(bundled_kb.entries)  # not trusted: built again
    assert tables(matcher) == tables(good)


def test_a_reload_derives_the_facts_of_changed_entries_only(bundled_kb, monkeypatch):
    from dataclasses import replace

    import bot.matching.facts as facts

    before = Matcher(bundled_kb)
    changed = bundled_kb.entries[3]
    entries = list(bundled_kb.entries)
    entries[3] = replace(changed, answer=changed.answer + "地址：宋庄镇小堡村，电话12345。")
    edited = replace(bundled_kb, entries=tuple(entries))
    derived = []
    real = facts.keywords
    monkeypatch.setattr(facts, "keywords", lambda e, *a: derived.append(e.id) or real(e, *a))
    reloaded = Matcher(edited, previous=before)
    assert derived == [changed.id]
    monkeypatch.setattr(facts, "keywords", real)
    assert tables(reloaded) == tables(Matcher(edited))  # as a fresh build makes them
    assert "宋庄镇小堡村" in reloaded.scope.topic_text[changed.topic]
