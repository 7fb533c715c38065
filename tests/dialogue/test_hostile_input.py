"""Any Unicode string gets a reply, quickly, and never an exception."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.auxil.dialogue import ListRecorder, make_dialogue

HOSTILE = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec=None, categories=("Cc", "Cf", "Cs", "Co", "Zs", "Mn", "So")), max_size=200),
    st.sampled_from(["\u202e厂通路\u202c", "👨‍👩‍👧" * 50, "\ud800\udfff\ud800", "\x00" * 1000, "公租房" * 40_000,
                     "<script>alert(1)</script>", "'; DROP TABLE interactions; --", "\u200b" * 500, "１２３４５"]),
    st.builds(lambda a, b: a + b, st.sampled_from(["你好", "那", "一键呼", "2", "都不是"]), st.text(max_size=50)),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages=st.lists(HOSTILE, min_size=1, max_size=4))
def test_any_conversation_gets_replies(messages):
    rec = ListRecorder()
    dialogue = make_dialogue(recorder=rec)
    for m in messages:
        started = time.perf_counter()
        reply = dialogue.handle("fuzz", m)
        assert time.perf_counter() - started < 30  # a guard against a hang; benchmarks/ measure speed
        assert reply.status in {"answer", "partial", "clarify", "fallback", "smalltalk"}
        assert reply.text.strip()
        reply.text.encode("utf-8")  # always sendable
    assert len(rec.interactions) == len(messages)
    for r in rec.interactions:
        r.text.encode("utf-8")


@pytest.mark.parametrize("size", [10_000, 100_000])
def test_huge_message_is_answered_from_its_start(size):
    reply = make_dialogue().handle("c", "潞河附校晚托到几点" + "啊" * size)
    assert reply.entry_id == "luhe-late-care-end-time"
