"""A cold build's rewritten steps give exactly what the code before them gave (issue 20's cold build).

Each reference below is the code before the rewrite (main at 6e13e74), kept here verbatim in behaviour;
each test runs old and new on the bundled knowledge base's texts, on texts recombined from them (halves
of two texts spliced, as benchmarks/matching.py makes its large knowledge bases) and on random texts of
the characters that take the other branches (letters, digits, blanks, punctuation, private-use, other
planes). Any difference is a changed index, fact or decision, so the comparison is of whole values.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections import Counter
from functools import cache
from itertools import chain
from operator import itemgetter

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.knowledge.loader import load_knowledge
from bot.knowledge.yaml_source import Located, YamlProblem, parse_yaml
from bot.matching.index import ANSWER_TF, TokenRow, token_row
from bot.matching.matcher import Matcher
from bot.matching.normalise import clean_characters, strip_punctuation, valid_text
from bot.matching.places import gazetteer
from bot.matching.sounds import Sounds
from bot.matching.tokens import _IS_CJK, UNIGRAM_WEIGHT, bigrams, char_pinyin, pinyin
from tests.auxil.kb import ROOT

# Characters that take every branch: Chinese (common, rare, compatibility), Latin letters and digits of the
# index's runs, jieba's own block characters (+#&._%-), blanks of several kinds, punctuation, a private-use
# character, one outside the Basic Multilingual Plane, and place names' characters.
ALPHABET = ("潞河中学附属学校沙古堆村天时名苑北京市通州区公租房宋庄台湖大厂县廊坊河北省燕郊镇朝阳"
            "㐀豈ab1Z9.+#&_%- \t\n\u3000\xa0，。？！、\ue000\U00020000")


@pytest.fixture(scope="module")
def kb():
    return load_knowledge(ROOT / "knowledge")


@pytest.fixture(scope="module")
def matcher(kb):
    return Matcher(kb)


def _recombined(texts: list[str], count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        a, b = rng.sample(texts, 2)
        out.append(a[: len(a) // 2] + b[len(b) // 2 :])
    return out


def _raw_texts(kb) -> list[str]:
    texts = [t for e in kb.entries for t in (e.title, e.answer, *e.questions, *e.tags)]
    texts += [" ".join((e.title, e.answer, *e.questions, *e.tags)) for e in kb.entries]  # topics.keywords' text
    return texts + _recombined(texts, 1000)


def _normalised_texts(kb, matcher) -> list[str]:
    return [matcher.normalise.question(t) for t in _raw_texts(kb)]


# -- the index's tokens (tokens.py, index.py) ---------------------------------------------------------


def _index_tokens_before(words, text: str) -> tuple[tuple[str, float], ...]:
    out: list[tuple[str, float]] = []
    for b in bigrams(text):
        out.append(("b:" + b, 1.0))
        if _IS_CJK.match(b):
            out.append(("p:" + pinyin(b), 0.5))
    for w in words(text):
        if len(w) >= 2 and _IS_CJK.match(w):
            out.append(("w:" + w, 1.0))
            out.append(("q:" + pinyin(w), 0.5))
        elif _IS_CJK.match(w):
            out.append(("u:" + w, UNIGRAM_WEIGHT))
    return tuple(out)


def _token_row_before(texts, background, index_tokens) -> TokenRow:
    first = itemgetter(0)
    c: Counter[str] = Counter(map(first, chain.from_iterable(map(index_tokens, texts))))
    own = set(c)
    if background:
        for tok, n in Counter(map(first, index_tokens(background))).items():
            c[tok] += ANSWER_TF * n
    return TokenRow(tuple(c), tuple(c.values()), tuple(t in own for t in c))


def test_index_tokens_are_those_made_one_bigram_at_a_time(kb, matcher):
    tokenizer = matcher.tokenizer
    texts = _normalised_texts(kb, matcher)
    assert sum(len(t) for t in texts) > 40_000
    for text in texts:
        expected = _index_tokens_before(tokenizer.words, text)
        assert tokenizer.index_tokens(text) == expected, text
        assert list(tokenizer.token_names(text)) == [t for t, _w in expected], text

    @settings(max_examples=300, deadline=None)
    @given(st.text(alphabet=ALPHABET, max_size=40))
    def random_texts(raw):
        text = matcher.normalise.question(raw)
        assert tokenizer.index_tokens(text) == _index_tokens_before(tokenizer.words, text)
        assert tokenizer.index_tokens(raw) == _index_tokens_before(tokenizer.words, raw)  # not normalised too

    random_texts()


def test_index_rows_are_those_counted_from_weighted_tokens(kb, matcher):
    tokenizer = matcher.tokenizer
    question = matcher.normalise.question
    entries = list(kb.entries)
    answers = [e.answer for e in entries]
    rng = random.Random(3)
    rows = [([question(q) for q in e.questions] + [question(e.title), *map(question, e.tags)], question(e.answer))
            for e in entries]
    # Recombined entries: spliced questions with another entry's answer, and entries without an answer.
    rows += [(_recombined([question(q) for q in e.questions], 3, seed=i),
              question(rng.choice(answers)) if i % 5 else "") for i, e in enumerate(entries * 10)]
    for texts, background in rows:
        assert token_row(texts, background, tokenizer) == _token_row_before(texts, background, tokenizer.index_tokens)


# -- normalising (normalise.py) -----------------------------------------------------------------------


@cache
def _spaced_table() -> dict[int, str]:
    return {c: " " for c in range(0x10000) if unicodedata.category(chr(c))[0] in "CZ"}


def _clean_characters_before(text: str, max_chars: int) -> str:
    text = unicodedata.normalize("NFKC", valid_text(text[:max_chars])).lower()
    if not text or max(text) <= "\uffff":
        return text.translate(_spaced_table())
    return "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in text)


_SPACE_NEAR_CJK_BEFORE = re.compile(r"(?<=[\u3400-\u9fff\uf900-\ufaff]) | (?=[\u3400-\u9fff\uf900-\ufaff])")


def test_every_character_is_cleaned_as_by_the_table():
    every = "".join(map(chr, range(0x10000)))  # the whole plane, surrogates included
    for start in range(0, len(every), 250):  # NFKC may join neighbours: the same chunks through both
        chunk = every[start : start + 250]
        assert clean_characters(chunk, 300) == _clean_characters_before(chunk, 300), hex(start)


def test_texts_are_cleaned_and_spaced_as_before(kb):
    texts = _raw_texts(kb)
    for text in texts:
        assert clean_characters(text, 300) == _clean_characters_before(text, 300)
        spaced = re.sub(r"[\W_]+", " ", clean_characters(text, 300)).strip()
        assert strip_punctuation(clean_characters(text, 300)) == _SPACE_NEAR_CJK_BEFORE.sub("", spaced)

    @settings(max_examples=500, deadline=None)
    @given(st.text(alphabet=ALPHABET, max_size=40))
    def random_texts(text):
        assert clean_characters(text, 30) == _clean_characters_before(text, 30)
        spaced = re.sub(r"[\W_]+", " ", text).strip()
        assert strip_punctuation(text) == _SPACE_NEAR_CJK_BEFORE.sub("", spaced)

    random_texts()


# -- pinyin and sounds (tokens.py, sounds.py) -----------------------------------------------------------


def test_pinyin_is_each_character_s_syllable_but_blanks(kb):
    def before(text: str) -> str:
        return " ".join(char_pinyin(c) for c in text if not c.isspace())

    every_blank = "".join(c for c in map(chr, range(0x110000)) if c.isspace())
    for text in [*_raw_texts(kb), every_blank, "公租房" + every_blank + "潞河"]:
        pinyin.cache_clear()
        assert pinyin(text) == before(text), text

    @settings(max_examples=300, deadline=None)
    @given(st.text(alphabet=ALPHABET, max_size=30))
    def random_texts(text):
        pinyin.cache_clear()
        assert pinyin(text) == before(text)

    random_texts()


def test_sounds_are_encoded_as_before(kb, matcher):
    class Before(Sounds):
        def encode(self, text: str) -> str:
            table = self._table
            new = set(text).difference(self._seen)
            for c in new:
                table[ord(c)] = None if c.isspace() else self._add(char_pinyin(c))
            self._seen |= new
            return text.translate(table) or self._add("")

    texts = [*_normalised_texts(kb, matcher), "", " ", "a b", "\ue000潞城"]
    new, old = Sounds(), Before()
    assert [new.encode(t) for t in texts] == [old.encode(t) for t in texts]
    assert new.syllables == old.syllables
    assert new.join(texts[:50]) == old.join(texts[:50])


# -- place names (places.py) ----------------------------------------------------------------------------


def _find_before(gaz, text: str):
    out = []
    forms, prefixes = gaz.forms, gaz._prefixes
    i, n = 0, len(text)
    while i < n:
        size, k = 0, 2
        while i + k <= n and text[i : i + k] in prefixes:
            if text[i : i + k] in forms:
                size = k
            k += 1
        if size:
            out.append((i, i + size, forms[text[i : i + size]]))
            i += size
        else:
            i += 1
    return out


def test_gazetteer_finds_the_names_walking_every_position_found(kb, matcher):
    gaz = gazetteer(kb.scope.province)
    names = sorted(gaz.forms)
    rng = random.Random(11)
    texts = _normalised_texts(kb, matcher)
    # Names side by side, overlapping (a name's end beginning another) and cut short.
    texts += ["".join(rng.choice(names) for _ in range(5)) for _ in range(2000)]
    texts += ["".join(rng.choice(names)[: rng.randint(1, 4)] for _ in range(8)) for _ in range(2000)]
    texts += ["", "通", "通州", "北京市通州区宋庄镇"]
    found = 0
    for text in texts:
        expected = _find_before(gaz, text)
        assert gaz.find(text) == expected, text
        found += len(expected)
    assert found > 10_000


# -- reading YAML (knowledge/yaml_source.py) -------------------------------------------------------------


class _ConverterBefore:
    """yaml_source._Converter before: every key a `Located`, every date constructed again."""

    def __init__(self) -> None:
        self.seen: set[int] = set()
        self.count = 0
        self.constructor = yaml.constructor.SafeConstructor()

    def convert(self, node, depth, key_mark=None):
        from bot.knowledge.yaml_source import _MAP_TAG, _PLAIN_TAGS, _SEQ_TAG, _STR_TAG, MAX_DEPTH, MAX_NODES

        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        if id(node) in self.seen:
            raise YamlProblem(line, col, "anchors and aliases (& and *) are not allowed; write the value out")
        self.seen.add(id(node))
        self.count += 1
        if self.count > MAX_NODES:
            raise YamlProblem(line, col, f"too many values (over {MAX_NODES:,}); split the file")
        if depth > MAX_DEPTH:
            raise YamlProblem(line, col, f"nesting is too deep (more than {MAX_DEPTH} levels)")
        kl, kc = (key_mark.line + 1, key_mark.column + 1) if key_mark else (line, col)
        if isinstance(node, yaml.MappingNode):
            self._check_tag(node, _MAP_TAG)
            out = {}
            for key_node, value_node in node.value:
                key = self.convert(key_node, depth + 1)
                if not isinstance(key.value, str):
                    raise YamlProblem(key.line, key.column, "keys must be plain words such as `answer`")
                if key.value in out:
                    raise YamlProblem(key.line, key.column, f"key `{key.value}` appears twice in this block")
                out[key.value] = self.convert(value_node, depth + 1, key_node.start_mark)
            return Located(out, line, col, kl, kc)
        if isinstance(node, yaml.SequenceNode):
            self._check_tag(node, _SEQ_TAG)
            return Located([self.convert(n, depth + 1) for n in node.value], line, col, kl, kc)
        if node.tag == _STR_TAG:
            return Located(node.value, line, col, kl, kc)
        if node.tag not in _PLAIN_TAGS:
            raise YamlProblem(line, col, f"tag `{node.tag}` is not allowed; remove it")
        try:
            value = self.constructor.construct_object(node, deep=True)
        except (yaml.constructor.ConstructorError, ValueError) as exc:
            if node.tag == "tag:yaml.org,2002:timestamp":
                return Located(node.value, line, col, kl, kc)
            raise YamlProblem(line, col, f"cannot read this value: {exc}") from None
        return Located(value, line, col, kl, kc)

    @staticmethod
    def _check_tag(node, expected):
        if node.tag != expected:
            line, col = node.start_mark.line + 1, node.start_mark.column + 1
            raise YamlProblem(line, col, f"tag `{node.tag}` is not allowed; remove it")


def _read_before(text: str):
    """(Located tree, None) or (None, (line, column, message)), as parse_yaml read a text before."""
    node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    try:
        return (_ConverterBefore().convert(node, 0) if node is not None else None), None
    except YamlProblem as exc:
        return None, (exc.line, exc.column, exc.message)
    except Exception as exc:  # `!!timestamp nonsense` fails inside PyYAML (AttributeError), before and now
        return None, repr(exc)


def _read_now(text: str):
    try:
        return parse_yaml(text.encode("utf-8")), None
    except YamlProblem as exc:
        return None, (exc.line, exc.column, exc.message)
    except Exception as exc:
        return None, repr(exc)


def _same_tree(a, b) -> bool:
    if a is None or b is None:
        return a is b
    if (a.line, a.column, a.key_line, a.key_column) != (b.line, b.column, b.key_line, b.key_column):
        return False
    if isinstance(a.value, dict):
        return (isinstance(b.value, dict) and list(a.value) == list(b.value)
                and all(_same_tree(a.value[k], b.value[k]) for k in a.value))
    if isinstance(a.value, list):
        return (isinstance(b.value, list) and len(a.value) == len(b.value)
                and all(_same_tree(x, y) for x, y in zip(a.value, b.value, strict=True)))
    return type(a.value) is type(b.value) and (a.value == b.value or a.value != a.value)  # NaN is itself


_ODD_DOCUMENTS = [
    "a: 1\nb: 2.5\nc: yes\nd: ~\ne: 2021-12-28\nf: 2021-02-30\ng: 2021-12-28 10:00:00\nh: '2021-12-28'\n",
    "- 2021-12-28\n- 2021-12-28\n- 2022-01-01\n- 2021-13-01\n- 2021-13-01\n- .nan\n- .inf\n- 0x1F\n- 0o17\n- 1_000\n",
    "- on\n- off\n- Yes\n- NO\n- true\n- null\n- Null\n- ''\n- \"\"\n- ~\n- +1\n- -1\n- .5\n- 1e3\n- 。\n",
    "- =\n", "- <<\n",
    "- !!str 12\n- !!int '12'\n- !!float 1\n- !!bool yes\n- !!null ''\n- ! 12\n- !!timestamp 2021-12-28\n",
    "{1: a}\n", "{[a]: b}\n", "{a: 1, a: 2}\n", "a: &x 1\nb: *x\n", "- !!python/object:os.system x\n",
    "!!str {a: 1}\n", "!!map [a]\n", "? - a\n: b\n", "a:\n  b:\n    c: [1, {d: e}]\n", "[" * 50 + "]" * 50,
    "- !!binary aGVsbG8=\n", "- !!timestamp nonsense\n", "- !!int nonsense\n", "- !!bool maybe\n",
    "id: x\ntitle: 标题\ntopic: 话题\ntags: [天时名苑, 2021]\nfollow_ups: []\nyes: no\n",
]


def test_yaml_is_read_as_before(kb):
    files = sorted((ROOT / "knowledge").glob("*.yaml")) + sorted((ROOT / "tests" / "data").glob("*.yaml"))
    files += sorted((ROOT / "intents").glob("*.yaml"))
    texts = [f.read_text(encoding="utf-8") for f in files] + _ODD_DOCUMENTS
    for text in texts:
        (before, problem_before), (now, problem_now) = _read_before(text), _read_now(text)
        assert problem_now == problem_before, text[:200]
        assert _same_tree(before, now), text[:200]
    assert sum(_read_now(t)[1] is not None for t in _ODD_DOCUMENTS) >= 10  # the refusals were compared too
