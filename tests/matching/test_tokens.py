"""One tokenizer per knowledge base snapshot: its names are words, an older snapshot's are not."""

from __future__ import annotations

import shutil

from bot.admin.impact import compare
from bot.live import LiveKnowledge
from bot.matching.tokens import Tokenizer, plain_tokenizer
from tests.auxil.kb import BUNDLED, INTENTS, entry, make_kb

# A made-up village: not a word of jieba's main dictionary, so only a knowledge base can make it one.
NAME = "栗子沟新村"
QUESTION = f"{NAME}什么时候通公交"


def named_kb(tmp_path, with_name: bool):
    text = entry("bus-line", question=QUESTION, answer="明年通车。")
    if with_name:
        text += f"  tags: [{NAME}]\n"
    return make_kb(tmp_path, {"bus.yaml": text})


def test_a_name_is_one_word_only_for_the_tokenizer_that_has_it():
    assert NAME not in plain_tokenizer().words(QUESTION)
    assert NAME in Tokenizer([NAME]).words(QUESTION)
    assert NAME not in plain_tokenizer().words(QUESTION)  # building one did not teach the other


def test_a_name_removed_by_a_reload_is_no_longer_a_word(tmp_path):
    kdir = named_kb(tmp_path, with_name=True)
    live = LiveKnowledge(kdir, tmp_path / "intents")
    old = live.snapshot.matcher
    assert NAME in old.tokenizer.words(QUESTION)
    (kdir / "bus.yaml").write_text(entry("bus-line", question=QUESTION, answer="明年通车。"), encoding="utf-8")
    swapped, _problems = live.reload()
    assert swapped
    new = live.snapshot.matcher
    assert NAME not in new.lexicon and NAME not in new.tokenizer.words(QUESTION)
    assert f"w:{NAME}" not in new.index.vocabulary
    assert NAME in old.tokenizer.words(QUESTION)  # a reader still holding the old snapshot is unchanged


def test_kb_impact_compares_matchers_that_do_not_share_names(tmp_path):
    old = LiveKnowledge(named_kb(tmp_path / "old", with_name=True), tmp_path / "old" / "intents")
    new = LiveKnowledge(named_kb(tmp_path / "new", with_name=False), tmp_path / "new" / "intents")
    assert NAME in old.snapshot.matcher.tokenizer.words(QUESTION)
    assert NAME not in new.snapshot.matcher.tokenizer.words(QUESTION)
    compare(old, new, [], [])  # comparing answers teaches neither the other's names
    assert NAME not in new.snapshot.matcher.tokenizer.words(QUESTION)


def test_snapshots_with_the_same_names_share_one_tokenizer(tmp_path):
    shutil.copytree(BUNDLED, tmp_path / "knowledge")
    shutil.copytree(INTENTS, tmp_path / "intents")
    live = LiveKnowledge(tmp_path / "knowledge", tmp_path / "intents")
    before = live.snapshot.matcher.tokenizer
    path = tmp_path / "knowledge" / "transport.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("预计2024年竣工通车。", "预计2025年竣工通车。", 1),
                    encoding="utf-8")
    assert live.reload()[0]
    assert live.snapshot.matcher.tokenizer is before  # no name changed: no new dictionary to build


def test_the_one_pass_cut_gives_jiebas_own_words(bundled_kb):
    """tokens._fast_jieba finds jieba's route (HMM off) walking back once, on jieba's dictionary read a first
    character at a time (dictionary.py): the same words as jieba's own, every text."""
    import jieba
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from bot.matching.tokens import NAME_FREQ, Tokenizer

    names = {"潞河中学附属学校", "沙古堆村", "天时名苑"}
    ours = Tokenizer.for_names(names)
    # jieba's own dictionary, read its own way (ours is read a character at a time), with the names.
    theirs = jieba.Tokenizer()
    theirs.initialize()
    for name in names:
        theirs.FREQ[name] = NAME_FREQ
        for end in range(1, len(name)):
            theirs.FREQ.setdefault(name[:end], 0)

    def same(text):
        assert [w for w in ours.words(text)] == [w for w in theirs.lcut(text, HMM=False) if w.strip()], text

    for e in bundled_kb.entries:
        for text in (e.title, e.answer, *e.questions, *e.tags):
            same(text)

    # Runs of characters that make many competing words, Latin letters and digits (buffered together).
    @settings(max_examples=300, deadline=None)
    @given(st.text(alphabet="潞河中学附属学校沙古堆村天时名苑北京市通州区公租房ab1 ，。", max_size=30))
    def random_texts(text):
        same(text)

    random_texts()


def test_words_sort_longest_first_then_in_a_fixed_order():
    from bot.matching.tokens import longest_first

    words = {"哪里", "在哪", "号线", "号", "什么地方"}
    assert sorted(words, key=longest_first) == ["什么地方", "号线", "哪里", "在哪", "号"]
