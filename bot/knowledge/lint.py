"""Warnings about a knowledge base that loads but could serve residents badly."""

from __future__ import annotations

import datetime as dt
import re
from functools import cache

from bot.knowledge.loader import question_key
from bot.knowledge.problems import Problem
from bot.knowledge.schema import Entry, KnowledgeBase

MIN_ALTERNATES = 4
# Pinyin left in brackets by a careless traditional-to-simplified conversion, e.g. 發(fā).
_ARTIFACT = re.compile(r"[（(][a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]{1,7}[)）]")
# A question asking for a number or a time wants an answer holding one.
_ASKS_NUMBER = re.compile(r"多少|几点|几个|几项|几次|几场|几套|几户|几家|什么时候|啥时候|哪年|哪天|几年")
_HAS_NUMBER = re.compile(r"[0-9０-９一二三四五六七八九十百千万两]")


def lint(kb: KnowledgeBase, today: dt.date | None = None) -> list[Problem]:
    today = today or dt.date.today()
    out: list[Problem] = []
    source_text = question_key(kb.sources_text)
    for e in kb.entries:
        out.extend(_entry_warnings(e, today, source_text))
    out.extend(_synonym_conflicts(kb))
    return out


def _warn(e: Entry, message: str) -> Problem:
    return Problem(e.path, e.line, 3, message, "warning")


def _entry_warnings(e: Entry, today: dt.date, source_text: str) -> list[Problem]:
    out: list[Problem] = []
    alternates = len(e.questions) - 1
    if alternates < MIN_ALTERNATES:
        out.append(_warn(e, f"`{e.id}` has {alternates} alternate question(s); write at least "
                            f"{MIN_ALTERNATES} the way residents ask"))
    out.extend(_passed_dates(e, today))
    if source_text and question_key(e.source.quote) not in source_text:
        out.append(_warn(e, f"the `source.quote` of `{e.id}` is not found in knowledge/sources/; "
                            "copy the passage exactly from the source document"))
    texts = [*e.questions, e.answer, e.title, e.source.quote]
    if any(_ARTIFACT.search(t) for t in texts):
        out.append(_warn(e, f"`{e.id}` contains pinyin in brackets such as 发(fā), a conversion leftover; "
                            "delete it"))
    if any(_is_traditional(t) for t in texts):
        out.append(_warn(e, f"`{e.id}` contains traditional characters; write entries in simplified Chinese "
                            "(the bot converts replies for residents who write in traditional)"))
    if _ASKS_NUMBER.search(e.canonical_question) and not _HAS_NUMBER.search(e.answer):
        out.append(_warn(e, f"the question of `{e.id}` asks for a number or a date but the answer has none"))
    return out


def _passed_dates(e: Entry, today: dt.date) -> list[Problem]:
    """A passed review or forecast date warns until the answer is updated or the date acknowledged."""
    out: list[Problem] = []
    seen = set(e.acknowledged_passed)
    ack = ("; or, if the outcome is not known yet, acknowledge it with `acknowledged_passed: {0}` "
           "(residents are still told it may have changed)")
    if e.review_by and e.review_by < today and e.review_by not in seen:
        out.append(_warn(e, f"`{e.id}` was due for review on {e.review_by}; check the answer is still true "
                            "and move `review_by` forward" + ack.format(e.review_by)))
    if e.expires and e.expires < today and e.expires not in seen:
        out.append(_warn(e, f"`{e.id}` states a forecast that expired on {e.expires}; residents are told it "
                            "may have changed. Update the answer when the outcome is known" + ack.format(e.expires)))
    for d in e.acknowledged_passed:
        if d not in (e.review_by, e.expires):
            out.append(_warn(e, f"`acknowledged_passed` of `{e.id}` names {d}, which is neither its `expires` "
                                "nor its `review_by`; write the date it acknowledges, or remove it"))
        elif d >= today:
            out.append(_warn(e, f"`acknowledged_passed` of `{e.id}` names {d}, which has not passed yet; "
                                "acknowledge a date only after it has passed"))
    return out


def _synonym_conflicts(kb: KnowledgeBase) -> list[Problem]:
    out: list[Problem] = []
    owner: dict[str, tuple[str, ...]] = {}
    for group in kb.synonyms:
        for word in group:
            if word in owner and owner[word] != group:
                out.append(Problem(str(kb.directory / "synonyms.yaml"), 1, 1,
                                   f"“{word}” is in two synonym groups ({owner[word][0]} and {group[0]}); "
                                   "keep it in one", "warning"))
            owner.setdefault(word, group)
    return out


@cache
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def _is_traditional(text: str) -> bool:
    return _t2s().convert(text) != text
