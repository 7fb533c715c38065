"""Syllables as characters (sounds.py) find exactly what the spelled-out pinyin found."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.matching.places import gazetteer
from bot.matching.sounds import Sounds
from bot.matching.tokens import pinyin

# Homophones (路/潞/鹿, 城/成), other readings, digits, Latin letters, spaces and the separator itself.
ALPHABET = "路潞鹿城成陈宋庄镇村中仓通州区a1 |　"
texts = st.lists(st.text(alphabet=ALPHABET, max_size=8), min_size=1, max_size=5)


def spelled_out(name: str, texts: list[str]) -> bool:
    """The search as it was: syllables in a row within one text, "|" between texts."""
    return f" {pinyin(name)} " in "".join(f" {pinyin(t)} |" for t in texts)


@settings(max_examples=400, deadline=None)
@given(texts, st.text(alphabet=ALPHABET, min_size=1, max_size=4))
def test_a_name_is_found_exactly_where_its_pinyin_was(texts, name):
    sounds = Sounds()
    joined = sounds.join(texts)
    syllables = sounds.of(name)
    assert (syllables is not None and syllables in joined) == spelled_out(name, texts)


def test_a_typo_that_sounds_the_same_is_found_and_another_place_is_not():
    sounds = Sounds()
    joined = sounds.join(["潞城镇的政务服务中心", "宋庄镇小堡村"])
    assert sounds.of("路城") in joined  # type: ignore[operator]
    assert sounds.of("城宋") not in joined  # type: ignore[operator]  # not across two texts
    assert sounds.of("上海") is None  # syllables no text has


def test_a_reused_table_keeps_every_code():
    first = Sounds()
    joined = first.join(["潞城镇", "abc"])
    again = Sounds(first.syllables)
    assert again.join(["潞城镇", "abc"]) == joined and again.of("路城") == first.of("路城")


def naive_find(gaz, text):
    """The gazetteer's search as it was: every length from the longest form's down."""
    out, i = [], 0
    while i < len(text):
        for size in range(min(gaz.longest, len(text) - i), 1, -1):
            if text[i:i + size] in gaz.forms:
                out.append((i, i + size, gaz.forms[text[i:i + size]]))
                i += size
                break
        else:
            i += 1
    return out


def test_the_gazetteer_finds_what_trying_every_length_found(bundled_kb):
    gaz = gazetteer("北京市")
    texts = [e.answer for e in bundled_kb.entries] + ["朝阳区和朝阳市、河北省廊坊市大厂回族自治县，内蒙古自治区"]
    for text in texts:
        assert gaz.find(text) == naive_find(gaz, text)
    assert gaz.find("河北省廊坊市")  # found at all
