"""Hot reload: a valid edit is served, a broken one is refused, and nothing is half-built in between."""

from __future__ import annotations

import os
import re
import shutil
import signal
import threading
import time

import pytest

from bot.dialogue.context import MemoryContextStore
from bot.dialogue.engine import Dialogue
from bot.live import LiveKnowledge
from bot.reloader import Reloader
from tests.auxil.dialogue import ListRecorder
from tests.auxil.kb import BUNDLED, INTENTS

OLD, NEW = "预计2024年竣工通车。", "预计2025年竣工通车。"


@pytest.fixture
def live(tmp_path):
    shutil.copytree(BUNDLED, tmp_path / "knowledge")
    shutil.copytree(INTENTS, tmp_path / "intents")
    return LiveKnowledge(tmp_path / "knowledge", tmp_path / "intents")


def edit(live, old, new):
    path = live.knowledge_dir / "transport.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")


def ask(live, question="厂通路哪年通车"):
    return Dialogue(live, MemoryContextStore(), ListRecorder()).handle("c", question)


def test_valid_change_is_served_and_the_old_answer_is_gone(live):
    before = live.snapshot.version
    edit(live, OLD, NEW)
    swapped, problems = live.reload()
    assert swapped and not [p for p in problems if p.severity == "error"]
    reply = ask(live)
    assert reply.text.startswith("预计2025年") and OLD not in reply.text
    assert reply.kb_version == live.snapshot.version != before


def test_broken_file_keeps_the_old_base_and_reports_lines(live):
    before = live.snapshot.version
    (live.knowledge_dir / "broken.yaml").write_text("- id: ok-id\n  topic: x\n  questions: [\n", encoding="utf-8")
    (live.knowledge_dir / "transport.yaml").write_text(
        (live.knowledge_dir / "transport.yaml").read_text(encoding="utf-8").replace("  answer:", "  answr:", 1),
        encoding="utf-8")
    swapped, problems = live.reload()
    assert not swapped and live.snapshot.version == before
    errors = [str(p) for p in problems if p.severity == "error"]
    assert any(re.search(r"broken\.yaml:\d+:\d+: error: YAML syntax error", e) for e in errors), errors
    assert any(re.search(r"transport\.yaml:\d+:3: error: unknown key `answr`", e) for e in errors), errors
    assert ask(live).text.startswith("预计2024年")


def test_concurrent_questions_during_reloads_see_exactly_one_version(live):
    versions = {live.snapshot.version: OLD}
    stop = threading.Event()
    seen: list[tuple[str, str]] = []
    failures: list[BaseException] = []

    def resident():
        dialogue = Dialogue(live, MemoryContextStore(), ListRecorder())
        while not stop.is_set():
            try:
                r = dialogue.handle("c", "厂通路哪年通车")
                seen.append((r.kb_version, r.text))
            except BaseException as exc:  # any error fails the test
                failures.append(exc)

    threads = [threading.Thread(target=resident) for _ in range(3)]
    for t in threads:
        t.start()
    current, other = OLD, NEW
    for _ in range(4):
        edit(live, current, other)
        assert live.reload()[0]
        versions[live.snapshot.version] = other
        current, other = other, current
    stop.set()
    for t in threads:
        t.join()
    assert not failures and len(seen) > 10
    for version, text in seen:
        assert version in versions
        assert text.startswith(versions[version][:-1])  # the answer of exactly that version


def test_watching_the_directory_reloads_after_an_edit(live):
    reports = []
    reloader = Reloader(live, lambda swapped, problems, version: reports.append((swapped, version)))
    reloader.watch()
    try:
        time.sleep(0.5)
        edit(live, OLD, NEW)
        deadline = time.monotonic() + 15
        while not reports and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        reloader.stop()
    assert reports and reports[-1][0] is True
    assert ask(live).text.startswith("预计2025年")


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
def test_sighup_reloads(live):
    previous = signal.getsignal(signal.SIGHUP)
    try:
        Reloader(live, lambda *a: None).on_sighup()
        edit(live, OLD, NEW)
        os.kill(os.getpid(), signal.SIGHUP)
        deadline = time.monotonic() + 10
        while not ask(live).text.startswith("预计2025年") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ask(live).text.startswith("预计2025年")
    finally:
        signal.signal(signal.SIGHUP, previous)


# -- incremental reload: what an edit changes is built again, nothing else --------------------------------


def index_of(matcher):
    """Everything built from the text, by token and entry rather than by array position."""
    index = matcher.index
    rows = [(frozenset(index.doc_tokens(i)), frozenset(index.background_tokens(i))) for i in range(index.size)]
    idf = {t: round(float(index.idf[i]), 9) for t, i in index.vocabulary.items()}
    return matcher.lexicon, matcher.built.texts, rows, idf


def test_a_reload_after_editing_one_file_builds_only_what_changed(live):
    from bot.matching.matcher import Matcher

    edit(live, OLD, NEW)
    assert live.reload()[0]
    matcher = live.snapshot.matcher
    in_file = [e for e in live.snapshot.kb.entries if e.path.endswith("transport.yaml")]
    assert matcher.built.rebuilt == 1 < len(in_file) < len(live.snapshot.kb.entries)  # the one edited entry
    assert ask(live).text.startswith("预计2025年")
    assert index_of(matcher) == index_of(Matcher(live.snapshot.kb))  # the same as built from scratch


def test_a_new_name_rebuilds_the_entries_that_contain_it_in_other_files(live):
    from bot.matching.matcher import Matcher

    assert "竣工通车" not in live.snapshot.matcher.lexicon
    edit(live, "  tags: [厂通路, 大厂, 通车]", "  tags: [厂通路, 大厂, 通车, 竣工通车]")  # a tag on the first entry
    assert live.reload()[0]
    matcher = live.snapshot.matcher
    assert "竣工通车" in matcher.lexicon and "竣工通车" in matcher.tokenizer.words("厂通路竣工通车了吗")
    # The entry edited, and those of transport, housing and government services that say 竣工通车.
    assert 3 <= matcher.built.rebuilt < len(live.snapshot.kb.entries) // 2
    assert index_of(matcher) == index_of(Matcher(live.snapshot.kb))
