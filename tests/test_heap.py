"""A serving process freezes its knowledge base out of the collector's way (bot/heap.py), and a reload
still frees the snapshot it replaced."""

from __future__ import annotations

import gc
import shutil
import weakref

import pytest

from bot.heap import settle
from bot.live import LiveKnowledge
from tests.auxil.kb import BUNDLED, INTENTS


@pytest.fixture
def thawed():
    yield
    gc.unfreeze()  # the rest of the test session collects as usual


def test_settle_freezes_what_exists(thawed):
    settle()
    assert gc.get_freeze_count() > 0


def test_a_reload_frees_the_replaced_snapshot_although_it_was_frozen(tmp_path, thawed):
    shutil.copytree(BUNDLED, tmp_path / "knowledge")
    shutil.copytree(INTENTS, tmp_path / "intents")
    live = LiveKnowledge(tmp_path / "knowledge", tmp_path / "intents")
    live.after_swap.append(settle)
    settle()  # as serve does once the knowledge base is loaded
    old = weakref.ref(live.snapshot.matcher.index)  # in a cycle: its own lru_cache holds it
    path = tmp_path / "knowledge" / "transport.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("预计2024年", "预计2025年", 1), encoding="utf-8")
    swapped, _ = live.reload()
    assert swapped and old() is None
