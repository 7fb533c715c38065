"""A first question about the entries of a large knowledge base (issue 20's per-question time): each faster way
of the query path gives exactly what the plain way it replaced gave. The plain ways are kept here, as they were,
and compared on the bundled knowledge base with the development questions and the knowledge base's own."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml
from rapidfuzz import fuzz, process

from bot.matching import index as index_module
from bot.matching import rank as rank_module
from bot.matching.dictionary import BadDictionary, MainDictionary
from bot.matching.mentions import _ORDINAL, _YEAR, _number
from bot.matching.rank import ANSWER_CREDIT, COVERAGE_MASS, coverage, coverages, similarities

DATA = Path(__file__).parents[1] / "data"
# Development sets only: the sealed hold-outs are measured, never read by tests.
DEV_SETS = ("labelled_questions.yaml", "dev_honesty.yaml", "dev_scope.yaml")
EXTRA = ["第三批公租房配租开始了没", "第1次公租房配租是什么时候", "张家湾的养老驿站在哪", "西集镇的民宿有几家",
         "宋庄镇的一键呼怎么收费", "2020年税收多少", "绿心公园周末一天来多少人", "第二期厂通路什么时候通车",
         "漷县镇第二批回迁房", "台湖有没有家园中心", "潞城第四次配租"]


def messages(matcher) -> list[str]:
    out = [q for e in matcher.kb.entries for q in e.questions] + EXTRA
    for name in DEV_SETS:
        out += [str(item["q"]) for item in yaml.safe_load((DATA / name).read_text(encoding="utf-8"))]
    return list(dict.fromkeys(out))


@pytest.fixture(scope="module")
def texts(matcher) -> list[str]:
    return [matcher.normalise(m).text for m in messages(matcher)]


# -- recall ----------------------------------------------------------------------------------------


def plain_search(index, text: str, limit: int) -> list[tuple[int, float]]:
    """`RecallIndex.search` before the dense scores' non-zero documents were found in a boolean array."""
    found = [(index.vocabulary[tok], weight) for tok, weight in set(index.tokenizer.index_tokens(text))
             if tok in index.vocabulary and not tok.startswith("u:")]
    if not found:
        return []
    ptr = index._post_ptr
    common = max(50, int(index.size * index_module.COMMON_SHARE))
    rare = [(t, w) for t, w in found if ptr[t + 1] - ptr[t] <= common]
    if len(rare) >= 2:
        found = rare
    spans = [(ptr[t], ptr[t + 1], w) for t, w in found]
    doc_ids = np.concatenate([index._post_doc[a:b] for a, b, _w in spans])
    weights = np.concatenate([index._post_weight[a:b] * w for a, b, w in spans])
    if len(doc_ids) * index_module.SPARSE_SHARE < index.size:
        hits, inverse = np.unique(doc_ids, return_inverse=True)
        scores = np.bincount(inverse, weights=weights)
    else:
        dense = np.bincount(doc_ids, weights=weights, minlength=index.size)
        hits = np.flatnonzero(dense)
        scores = dense[hits]
    if len(hits) > limit:
        keep = np.sort(np.argpartition(-scores, limit)[:limit])
        hits, scores = hits[keep], scores[keep]
    order = np.argsort(-scores, kind="stable")
    return [(int(hits[k]), float(scores[k])) for k in order]


@pytest.mark.parametrize("sparse_share", [1e-4, 1e4])  # every text the sparse way, then the dense way
def test_recall_finds_the_same_documents_with_the_same_scores(matcher, texts, monkeypatch, sparse_share):
    monkeypatch.setattr(index_module, "SPARSE_SHARE", sparse_share)
    for text in texts:
        for limit in (3, 40):
            assert matcher.index.search(text, limit) == plain_search(matcher.index, text, limit), text


# -- coverage --------------------------------------------------------------------------------------


def plain_token_sets(index, doc: int) -> tuple[frozenset[str], frozenset[str]]:
    a, b = int(index.docs.ptr[doc]), int(index.docs.ptr[doc + 1])
    toks, own = index.docs.tok[a:b], index.docs.own[a:b]
    word = index.docs.vocabulary.__getitem__
    return frozenset(map(word, toks[own].tolist())), frozenset(map(word, toks[~own].tolist()))


def plain_coverage(q, index, doc_index: int) -> float:
    """`rank.coverage` before it compared token numbers: the tokens themselves."""
    tokens, background = plain_token_sets(index, doc_index)
    total = got = 0.0
    for tok, ptok, weight in q.bigrams:
        total += weight
        if tok in tokens:
            got += weight
        elif ptok in tokens:
            got += 0.8 * weight
        elif tok in background:
            got += ANSWER_CREDIT * weight
    return got / max(total, COVERAGE_MASS) if total else 0.0


def test_a_documents_tokens_are_the_same_by_number(matcher):
    index = matcher.index
    word = index.docs.vocabulary.__getitem__
    for doc in range(index.size):
        assert (index.doc_tokens(doc), index.background_tokens(doc)) == plain_token_sets(index, doc)
        own, answer = index.token_ids(doc)
        assert (frozenset(map(word, own)), frozenset(map(word, answer))) == plain_token_sets(index, doc)


@pytest.mark.parametrize("doc_sets", [rank_module.DOC_SETS, 0])  # remembered sets, then the rows at once
def test_coverage_of_all_candidates_at_once_is_the_same_to_the_last_bit(matcher, texts, monkeypatch, doc_sets):
    monkeypatch.setattr(rank_module, "DOC_SETS", doc_sets)
    index = matcher.index
    docs = list(range(index.size))
    shuffled = random.Random(22).sample(docs, len(docs))
    for text in texts:
        q = matcher._query(text)
        plain = [plain_coverage(q, index, doc) for doc in docs]
        bare = type(q)(q.text, q.words, q.pinyin, q.bigrams, q.terms)  # a query made without the index's numbers
        assert coverages(q, index, docs) == coverages(bare, index, docs) == plain, text
        assert coverages(q, index, shuffled) == [plain[d] for d in shuffled]
        assert coverages(q, index, shuffled[:20]) == [coverage(q, index, d) for d in shuffled[:20]]
    assert coverages(q, index, []) == []


def test_presence_is_membership_in_the_documents_token_sets(matcher):
    index = matcher.index
    rng = random.Random(23)
    for _ in range(200):
        docs = rng.sample(range(index.size), rng.randint(1, 25))
        tokens = [rng.randrange(len(index.docs.vocabulary)) for _ in range(rng.randint(0, 30))] + [-1]
        own, background = index.presence(docs, tokens)
        for r, doc in enumerate(docs):
            mine, answer = plain_token_sets(index, doc)
            for c, t in enumerate(tokens):
                word = index.docs.vocabulary[t] if t >= 0 else None
                assert own[r, c] == (word in mine) and background[r, c] == (word in answer)


def test_an_index_whose_vocabulary_repeats_a_token_is_refused(matcher):
    docs = matcher.index.docs
    repeated = type(docs)([*docs.vocabulary[:-1], docs.vocabulary[0]], docs.ptr, docs.tok, docs.tf, docs.own)
    with pytest.raises(ValueError, match="repeats"):
        index_module.RecallIndex(repeated, matcher.tokenizer)


# -- honesty checks that read an entry only when the question needs it ----------------------------------


def plain_unstated_ordinal(mentions, text: str, entry_id: str, said: str = "") -> str | None:
    own = {(_number(n), m) for n, m in _ORDINAL.findall(mentions._entry(entry_id)[0])}
    for n, m in _ORDINAL.findall(text):
        if (_number(n), m) not in own:
            written = next((f"第{k}{w}" for k, w in _ORDINAL.findall(said) if w == m and _number(k) == _number(n)),
                           None)
            return written or f"第{n}{m}"
    return None


def test_ordinals_and_periods_are_judged_as_before(matcher, texts):
    mentions = matcher.mentions
    ids = [e.id for e in matcher.kb.entries]
    asked = [t for t in texts if _ORDINAL.search(t) or _YEAR.search(t)] + random.Random(20).sample(texts, 60)
    assert len([t for t in asked if _ORDINAL.search(t)]) >= 5
    for text in asked:
        for entry_id in ids:
            assert mentions.unstated_ordinal(text, entry_id, text) == plain_unstated_ordinal(
                mentions, text, entry_id, text), (text, entry_id)
            # The period's check reads the entry's text as `_entry` has it: the same text either way.
            assert mentions._text(entry_id) == mentions._entry(entry_id)[0]


def plain_other_home_town(scope, text: str, entry, known: str) -> str | None:
    own = scope._entry_towns(entry)
    if not own:
        return None
    towns = scope._towns_in(text)
    if own.intersection(towns):
        return None
    return next((t for t in towns if t not in known and t not in own), None)


def test_a_town_of_the_home_county_is_judged_as_before(matcher, texts):
    scope = matcher.scope
    towns = [t for t in texts if scope._towns_in(t)]
    assert len(towns) >= 5
    for text in towns + random.Random(21).sample(texts, 40):
        for entry in matcher.kb.entries:
            known = scope.topic_text.get(entry.topic, "")
            assert scope._other_home_town(text, entry, known) == plain_other_home_town(scope, text, entry, known)


# -- jieba's dictionary, a first character at a time ----------------------------------------------------


def test_a_group_with_one_key_under_another_character_is_refused(tmp_path):
    from bot.matching import dictionary

    d = dictionary.load(tmp_path)
    g = d._where["潞"]
    a, b = d._byte_starts[g], d._byte_starts[g + 1]
    keys = d._keys[a:b].tobytes().decode("utf-8").split("\n")
    assert len(keys) > 3
    for k in (0, 1, len(keys) - 2):  # the first key, one inside, the last
        changed = list(keys)
        changed[k] = "河" + changed[k][1:]  # the same number of bytes
        data = d._keys.copy()
        data[a:b] = np.frombuffer("\n".join(changed).encode(), dtype=np.uint8)
        bad = MainDictionary(d.total, "".join(d._where), data, d._freqs, d._logs, np.array(d._key_starts),
                             np.array(d._byte_starts))
        with pytest.raises(BadDictionary):
            bad._keys_of("潞", g)
        assert d._keys_of("潞", g) == keys[:-1]


# -- similarities ----------------------------------------------------------------------------------


def plain_similarities(q, docs):
    """`rank.similarities` before each document's maximum was taken over its run of questions."""
    owners = np.fromiter((i for i, d in enumerate(docs) for _ in d.questions), dtype=np.intp)
    texts = [t for d in docs for t in d.questions]
    char = process.cdist([q.text], texts, scorer=fuzz.ratio)[0]
    tok = (process.cdist([q.words], [w for d in docs for w in d.question_words], scorer=fuzz.token_set_ratio)[0]
           if q.words else np.zeros(len(texts)))
    py = process.cdist([q.pinyin], [p for d in docs for p in d.question_pinyin], scorer=fuzz.ratio)[0]
    if len(q.text) >= 4:
        partial = 0.9 * process.cdist([q.text], texts, scorer=fuzz.partial_ratio)[0]
        partial[[len(t) < 4 for t in texts]] = 0.0
    else:
        partial = np.zeros(len(texts))
    out = np.zeros((len(docs), 4))
    for col, values in enumerate((char, tok, py, partial)):
        np.maximum.at(out[:, col], owners, values / 100)
    return out


def test_similarities_are_the_same_to_the_last_bit(matcher, texts):
    rng = random.Random(24)
    for text in texts:
        q = matcher._query(text)
        docs = rng.sample(matcher.docs, 20)  # entries and intents, in any order
        assert (similarities(q, docs) == plain_similarities(q, docs)).all(), text
    empty = replace(matcher.docs[0], questions=(), question_words=(), question_pinyin=())
    docs = [matcher.docs[1], empty, matcher.docs[2]]
    assert (similarities(q, docs) == plain_similarities(q, docs)).all()
