"""Building a snapshot pauses the cyclic garbage collector, and leaves it as it found it."""

from __future__ import annotations

import gc

from bot.live import LiveKnowledge, build_snapshot
from bot.matching.decision import Thresholds
from tests.auxil.kb import BUNDLED, INTENTS


def test_the_collector_is_paused_while_building_and_restored_after(monkeypatch, tmp_path):
    import bot.live as live

    seen = []
    real = live.check_knowledge
    monkeypatch.setattr(live, "check_knowledge", lambda *a, **k: seen.append(gc.isenabled()) or real(*a, **k))
    assert gc.isenabled()
    knowledge = LiveKnowledge(BUNDLED, INTENTS, cache_dir=tmp_path)
    assert knowledge.reload()[0]
    assert seen == [False, False] and gc.isenabled()
    gc.disable()  # a process that runs without it keeps it off
    try:
        snapshot, _ = build_snapshot(BUNDLED, INTENTS, Thresholds())
        assert snapshot is not None and not gc.isenabled()
    finally:
        gc.enable()
