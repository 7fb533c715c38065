"""The matcher: normalise → recall → rerank → decide, with small talk, follow-ups and aspect honesty."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from bot.knowledge.schema import Entry, KnowledgeBase
from bot.matching.answered import AnsweredTypes
from bot.matching.asked import CONTENTS, COUNT, HOURS, Asked, AskedClassifier
from bot.matching.build import build_index
from bot.matching.build import fingerprint as build_fingerprint
from bot.matching.decision import Candidate, Decision, Thresholds
from bot.matching.facts import build_facts
from bot.matching.facts import fingerprint as facts_fingerprint
from bot.matching.memo import DecisionMemo
from bot.matching.mentions import (
    FACT_KINDS,
    NAME,
    PERSON,
    Contrast,
    MentionCheck,
    contrast_vocabulary,
    literally,
    similarity,
)
from bot.matching.normalise import Normalised, Normaliser
from bot.matching.rank import (
    DIRECTORY_SCALE,
    MEANING_MIN_WORD_SCORE,
    MEANING_SCALES,
    Document,
    Features,
    Query,
    combine,
    coverages,
    detail_agreement,
    features,
    meaning_credit,
    names_in,
    sigmoid,
    similarities,
)
from bot.matching.scope import ScopeChecker
from bot.matching.tokens import longest_first
from bot.matching.topics import TopicFinder
from bot.semantic.checkpoint import CheckpointError

if TYPE_CHECKING:
    from bot.matching.stored import IndexStore
    from bot.semantic.model import Embedder

log = logging.getLogger(__name__)

RECALL_LIMIT = 20
SHORT_MESSAGE = 6  # characters; a short message after an answer is read as a follow-up first
_MEANINGFUL = re.compile(r"[\u3400-\u9fffa-z0-9]")


_FIGURES = frozenset({COUNT, "money", "rate"})  # kinds whose figure holds for a span of time


@dataclass(frozen=True, slots=True)
class Scored:
    doc: Document
    logit: float
    position: int  # the document's place in the knowledge base, to order ties

    @property
    def score(self) -> float:
        return sigmoid(self.logit)


class Matcher:
    """Built once per knowledge base snapshot; immutable afterwards, so threads may share it."""

    def __init__(self, kb: KnowledgeBase, thresholds: Thresholds | None = None, max_chars: int = 300,
                 embedder: Embedder | None = None, background: bool = False, *, store: IndexStore | None = None,
                 previous: Matcher | None = None):
        """`background`: a knowledge base whose sentence vectors are not cached yet is encoded in a
        thread while the matcher answers by words (a running bot's first start); otherwise now.
        `store`: where the built index is kept between starts (loaded when it matches, else built and
        written); `previous`: the matcher this one replaces, whose unchanged entries are reused."""
        self.kb = kb
        self.thresholds = thresholds or Thresholds()
        self.normalise = Normaliser(kb, max_chars=max_chars)
        self.asked = AskedClassifier(kb.aspects, kb.interrogatives, self.normalise)
        fingerprint = build_fingerprint(kb, self.normalise)
        facts_fp = facts_fingerprint(kb, fingerprint)
        built = store.load(kb, fingerprint, facts_fp) if store is not None else None
        if built is None:
            replaced = (previous.kb, previous.built) if previous is not None else None
            memo: dict[str, str] = {}  # each title, question, tag and answer normalised once for both
            built = build_index(kb, self.normalise, replaced, memo)
            built = replace(built, facts=build_facts(kb, self.normalise, built, facts_fp, replaced, memo))
            if store is not None:
                store.save(kb, built)
        assert built.facts is not None
        self.built = built
        self.lexicon = built.lexicon
        # This snapshot's own jieba dictionary: its names are words, an older snapshot's are not.
        self.tokenizer = built.tokenizer
        self.index = built.index
        # The honesty tables, summed from every entry's facts (facts.py) rather than read from every text.
        facts = built.facts
        self.scope = ScopeChecker(kb, self.normalise.question, self.lexicon, self.tokenizer.words, facts.texts)
        questions = frozenset(q for t in built.texts[: len(kb.entries)] for q in t.questions)
        self.topics = TopicFinder(kb, self.normalise.question, self.scope.is_division, self.tokenizer.words,
                                  questions=questions, entry_words=facts.topic_words(kb))
        # Place names are read as this snapshot's jieba words.
        self.answered = AnsweredTypes(kb, self.asked, self.normalise, self.tokenizer.words, facts.place_counts())
        self.mentions = MentionCheck(kb, self.normalise, self.tokenizer.words)
        self.docs: list[Document] = []
        for e, t in zip(kb.entries, built.texts, strict=False):
            self.docs.append(Document(e.id, "faq", e.topic, t.questions, t.words, t.pinyin, frozenset(t.terms)))
        self.intent_phrases: dict[str, str] = {}
        for intent, t in zip(kb.intents, built.texts[len(kb.entries):], strict=True):
            for p in t.questions:
                self.intent_phrases.setdefault(p, intent.id)
            self.docs.append(Document(intent.id, "intent", "", t.questions, t.words, t.pinyin, frozenset()))
        self.embedder = embedder
        if embedder is not None:
            self._prepare_meaning(embedder, background)
        self._phrase_order = sorted(self.intent_phrases, key=longest_first)
        self._light = frozenset(kb.language.light_chars)
        self._memo = DecisionMemo()  # this snapshot's own: a reload starts with none
        # `match` reads a message's asked kinds twice when it has not seen it: the decision, then `_context_free`.
        self._asked_kinds = lru_cache(maxsize=256)(lambda phrased: tuple(self.asked.asked(phrased)))
        # A short message is ranked against small talk, then against the entries: one recall and one reading
        # of the text serve both (and a text that `_without_home` or a follow-up ranks again).
        self._recall = lru_cache(maxsize=64)(lambda text: tuple(self.index.search(text, RECALL_LIMIT * 2)))
        self._query = lru_cache(maxsize=64)(lambda text: Query.of(text, self.lexicon, self.tokenizer, self.index))

    def _prepare_meaning(self, embedder: Embedder, background: bool) -> None:
        # Sentence vectors of every entry's questions, rows grouped by document, then the same questions
        # without their names (厂通路开工日期 → 开工日期): what each one asks about. Intents have none
        # (entries come first in `docs`, so an entry's document index is its place among them). One call,
        # so a first start encodes and writes the cache once.
        faq_docs = [d for d in self.docs if d.kind == "faq"]
        questions = [q for d in faq_docs for q in d.questions]
        self._question_count = len(questions)
        bounds = np.cumsum([0, *(len(d.questions) for d in faq_docs)])
        self._rows = {i: (int(bounds[i]), int(bounds[i + 1])) for i in range(len(faq_docs))}
        self._scale = MEANING_SCALES.get(embedder.name, DIRECTORY_SCALE)
        # The general vocabulary the fact check weighs the model's word similarities against, encoded with
        # the knowledge base (and cached with it): its vectors follow the questions' and the details'.
        self._contrast_words = contrast_vocabulary() if self._scale.fact_rank else ()
        self._contrast: Contrast | None = None
        self._knowledge = embedder.prepare(questions + [self._detail(q) or q for q in questions]
                                           + list(self._contrast_words), background)
        if self._knowledge.error is not None:  # the embedder logged it
            self.embedder = None

    def _meaning_failed(self, exc: Exception) -> None:
        # A broken model file must not keep residents from their answers: match by words. One reference
        # assignment, as a reload swaps a snapshot; logged once.
        log.error("sentence model unusable, matching by words only: %s", exc)
        self.embedder = None

    # -- public -------------------------------------------------------------------------------

    def match(self, message: str, last_entry_id: str | None = None) -> Decision:
        """The decision on `message` after the entry `last_entry_id` was answered (None: no previous
        answer). The same as `decide` gives, remembered (memo.py)."""
        previous = last_entry_id if last_entry_id in self.kb.by_id else None  # a vanished entry is none
        state = self._meaning_state()
        if state is None or len(message) > self.normalise.max_chars:
            return self.decide(message, previous)
        known = self._memo.recall(state, message, previous)
        if known is not None:
            return known
        decision = self.decide(message, previous)
        # Kept only when the sentence model's state did not change meanwhile (it may have been switched off).
        if self._meaning_state() == state:
            n = decision.normalised if decision.normalised.raw == message else self.normalise(message)
            self._memo.keep(state, message, previous, decision, self._context_free(n))
        return decision

    def _meaning_state(self) -> tuple[str, Thresholds] | None:
        """What a decision depends on besides the message and the previous entry: whether the sentence model
        is used, and the thresholds (`eval --tune` tries many on one matcher). None while the model's vectors
        of the knowledge base are still being computed (words decide meanwhile, and a decision made then must
        not outlive that)."""
        embedder, thresholds = self.embedder, self.thresholds
        if embedder is None:
            return "words", thresholds
        return ("meaning", thresholds) if self._knowledge.array() is not None else None

    def _context_free(self, n: Normalised) -> bool:
        """Whether `decide` makes the same decision after any previous entry as after none: the previous entry is
        read only for a follow-up marker (`_has_marker`), a message short enough to be one (`_may_follow_up`),
        or a greeting before a question (matched again without it, with the previous entry)."""
        if any(p in n.text for p in self._phrase_order):
            return False
        asked = self._asked(n.phrased)
        return not self._may_follow_up(n, self.asked.strip(n.text, asked) if asked else n.text)

    def decide(self, message: str, last_entry_id: str | None = None) -> Decision:
        """`match` without the memo. Any new reading of the previous entry here must be covered by
        `_context_free`."""
        n = self.normalise(message)
        if not _MEANINGFUL.search(n.text):
            return Decision("fallback", n, reason="empty")
        previous = self.kb.by_id.get(last_entry_id) if last_entry_id else None
        smalltalk = self._smalltalk(n, previous)
        if smalltalk is not None:
            return smalltalk
        topic = self.topics.asked(n.text) if previous is None or not self._has_marker(n) else None
        if topic is not None:  # 税务服务, 养老方面有啥服务: the topic's questions, not one entry's answer
            return Decision("smalltalk", n, intent_id="topic", topic=topic, score=1.0, reason="topic")
        return self._question(n, n.text, n.phrased, previous)

    def rank(self, text: str, kind: str = "faq", prior_topic: str | None = None,
             prior_ids: frozenset[str] = frozenset(), said: str | None = None) -> list[Scored]:
        """Candidates for a normalised text, best first, with calibrated scores. `said` is what the
        resident actually wrote when `text` was widened with context: coverage and names come from it."""
        hits = [(i, s) for i, s in self._recall(text) if self.docs[i].kind == kind]
        hits = hits[:RECALL_LIMIT]
        if not hits:
            return []
        q = self._query(text)
        focus = self._query(said) if said else None
        top = hits[0][1]
        docs = [self.docs[i] for i, _ in hits]
        sims = similarities(q, docs)
        covers = coverages(focus or q, self.index, [i for i, _ in hits])
        scored = []
        for row, (i, bm25) in enumerate(hits):
            doc = docs[row]
            prior = 0.0
            if prior_topic and doc.topic == prior_topic:
                prior += 1.0
            if doc.key in prior_ids:
                prior += 0.5
            scored.append((features(q, doc, i, self.index, bm25, top, sims[row], focus, covers[row]), prior, i))
        out = self._order([Scored(self.docs[i], combine(f, prior), i) for f, prior, i in scored])
        # Words decide when they are clear. Otherwise (a paraphrase such as 公司招不到人 for 招工难) the
        # sentence model weighs in; not for a follow-up (`said`), whose few words mean little alone. It
        # compares whole messages, then the details without the names, because to it one road's 开工 and
        # 通车 questions look alike: an entry earns credit only when the detail asked agrees too.
        embedder = self.embedder  # read once: another thread may switch it off (`_with_meaning`)
        if (embedder is not None and kind == "faq" and said is None and not self._clear(out)
                and out and out[0].score >= MEANING_MIN_WORD_SCORE):
            vectors = self._knowledge.array()
            if vectors is None:  # still encoding on a first start: words decide meanwhile
                if self._knowledge.error is not None:  # the embedder logged it
                    self.embedder = None
                return out
            return self._with_meaning(embedder, vectors, text, q, scored, out)
        return out

    def _with_meaning(self, embedder: Embedder, vectors: np.ndarray, text: str, q: Query,
                      scored: list[tuple[Features, float, int]], ranked: list[Scored]) -> list[Scored]:
        """`ranked` again, with the sentence model's credit (see `rank`)."""
        detail = self._detail(text, q.terms)
        if len(_MEANINGFUL.findall(detail)) < 2:
            return ranked  # only names (一键呼 fits three entries): a choice, not a guess
        indices = [i for _f, _p, i in scored]
        n = self._question_count
        try:
            credit = meaning_credit(self._cosines(embedder, text, indices, vectors[:n]), self._scale)
            credit *= detail_agreement(self._cosines(embedder, detail, indices, vectors[n:2 * n]), self._scale)
        except CheckpointError as exc:  # vectors were cached, the model file broke since: words decide
            self._meaning_failed(exc)
            return ranked
        return self._order([Scored(self.docs[i], combine(replace(f, meaning=float(c)), prior), i)
                            for (f, prior, i), c in zip(scored, credit, strict=True)])

    @staticmethod
    def _order(out: list[Scored]) -> list[Scored]:
        # Ties (一键呼 alone fits three entries equally) are listed in knowledge base order.
        return sorted(out, key=lambda s: (-round(s.logit, 6), s.position))

    def _clear(self, ranked: list[Scored]) -> bool:
        """Is the best candidate above the answer threshold and clearly ahead of the next? Then it is
        answered (`_decide`), and the sentence model is not asked (it costs ~10 ms)."""
        if not ranked:
            return False
        # "Clearly ahead" is measured in log-odds: near certainty, probabilities bunch up below 1.
        lead = ranked[0].logit - ranked[1].logit if len(ranked) > 1 else float("inf")
        return ranked[0].score >= self.thresholds.answer and lead >= self.thresholds.margin

    def _detail(self, text: str, names: frozenset[str] | None = None) -> str:
        """The text without the knowledge base's names: the detail asked about a subject."""
        rest = text
        for term in sorted(names_in(text, self.lexicon) if names is None else names, key=longest_first):
            rest = rest.replace(term, "")
        return rest

    def _cosines(self, embedder: Embedder, text: str, doc_indices: list[int], vectors: np.ndarray) -> np.ndarray:
        """Each document's best cosine between `text` and its rows of `vectors` (its questions)."""
        sims = vectors @ embedder.vector(text)
        return np.array([sims[slice(*self._rows[i])].max() for i in doc_indices], dtype=np.float32)

    # -- steps ----------------------------------------------------------------------------------

    def _smalltalk(self, n: Normalised, previous: Entry | None) -> Decision | None:
        """Greetings and the like, unless the message also holds a real question."""
        found = [p for p in self._phrase_order if p in n.text]
        if found:
            # Small talk only (你好谢谢, 在吗在吗, 太谢谢你了): nothing but phrases and light characters.
            rest = n.text
            for phrase in found:  # longest first, so 谢谢你 goes before 谢谢
                rest = rest.replace(phrase, " ")
            if all(c in self._light for c in _MEANINGFUL.findall(rest)):
                last = max(found, key=lambda p: (n.text.rindex(p) + len(p), len(p)))
                return Decision("smalltalk", n, intent_id=self.intent_phrases[last], score=1.0)
            # 你好，公租房有多少户: the message without its greeting, aspect words (在哪) intact. A phrase that
            # normalises to one character (在吗 → 在) is an ordinary character inside a question
            # (核酸检测点在哪). One phrase is removed per step, so this is linear in the message.
            phrase = next((p for p in found if len(p) >= 2), None)
            if phrase is not None:
                inner = self.match(n.phrased.replace(phrase, "", 1) if phrase in n.phrased
                                   else n.text.replace(phrase, "", 1), previous.id if previous else None)
                return replace(inner, normalised=n) if inner.status != "fallback" else None
        # Small talk is short; a long message without an intent phrase is a question.
        ranked = self.rank(n.text, kind="intent") if len(n.text) <= SHORT_MESSAGE * 2 else []
        if ranked and ranked[0].score >= self.thresholds.intent:
            best = ranked[0]
            faq = self.rank(n.text)
            if not faq or faq[0].score < best.score:
                return Decision("smalltalk", n, intent_id=best.doc.key, score=best.score)
        return None

    def _asked(self, phrased: str) -> list[Asked]:
        return list(self._asked_kinds(phrased))

    def _question(self, n: Normalised, text: str, phrased: str, previous: Entry | None) -> Decision:
        asked = self._asked(phrased)
        # The topic without the cue words (谁能, 收费): a follow-up reads it against the previous entry.
        core = self.asked.strip(text, asked) if asked else text
        if not _MEANINGFUL.search(core):
            return Decision("fallback", n, reason="only-aspect")  # 多少钱 alone: about nothing in particular
        standalone = self._without_home(n, text, self._decide(n, self.rank(text)))
        if standalone.status == "fallback" and core != text:
            # 一键呼怎么收费: 收费 is in no entry; the topic alone finds 一键呼, and the check below says
            # what it does know and that the fee is not stated.
            # Only that honest reply is taken from it: an answer found without the words asked is no answer.
            topic_only = self.check_asked(self._decide(n, self.rank(core)), asked)
            standalone = topic_only if topic_only.status == "partial" else standalone
        decision = standalone
        if previous is not None and self._is_follow_up(n, core, standalone, previous):
            contextual = self._follow_up(n, core, previous)
            # A short message such as 一共贷了多少 may look like some other entry's question on its own;
            # read in context it usually means the topic at hand, so context wins unless it is weaker.
            if contextual.status != "fallback" and (
                self._has_marker(n) or standalone.status != "answer" or contextual.score >= standalone.score
            ):
                decision = contextual
        if decision.status == "fallback" and previous is not None and self._has_marker(n):
            decision = self._elsewhere_follow_up(n, core, previous) or decision
        if decision.status == "fallback" and previous is not None and asked and self._has_marker(n):
            # 那它有多大 / 那要交多少钱: only a detail, asked of the entry just answered. It answers when it
            # states the detail, else the check below says what it knows and that this is not stated.
            decision = Decision("answer", n, entry_id=previous.id, score=decision.score, follow_up=True,
                                reason="follow-up-detail")
        return self.check_asked(self._check_scope(decision), asked)

    def _decide(self, n: Normalised, ranked: list[Scored], follow_up: bool = False) -> Decision:
        t = self.thresholds
        candidates = tuple(Candidate(s.doc.key, round(s.score, 4)) for s in ranked[:5])
        if not ranked or ranked[0].score < t.clarify:
            nearby = tuple(s.doc.key for s in ranked[:3] if s.score >= t.nearby)
            best = ranked[0].score if ranked else 0.0
            return Decision("fallback", n, score=best, candidates=candidates, nearby=nearby,
                            reason="unknown", follow_up=follow_up)
        best = ranked[0]
        if self._clear(ranked):
            return Decision("answer", n, entry_id=best.doc.key, score=best.score, candidates=candidates,
                            follow_up=follow_up)
        close = [s for s in ranked[:3] if s.score >= t.clarify and best.logit - s.logit < 2 * t.margin]
        return Decision("clarify", n, entry_id=best.doc.key, score=best.score, candidates=candidates,
                        choices=tuple(s.doc.key for s in close), follow_up=follow_up)

    def _word_similarity(self, role: bool = False) -> Callable[[str, tuple[str, ...]], float] | None:
        """The sentence model's "same thing in other words" for the fact check (or, `role`, for the role and
        deed of a who question), when its scale says how."""
        embedder = self.embedder
        floor = (self._scale.role_word if role else self._scale.fact_word) if embedder is not None else None
        if embedder is None or floor is None:
            return None
        return similarity(embedder.vector, embedder.vectors, floor, None if role else self._fact_contrast())

    def _fact_contrast(self) -> Contrast | None:
        """The general vocabulary's vectors, once the knowledge base's are ready (until then the cosine alone
        decides, as the model's first start decides by words)."""
        if self._contrast is None and self._contrast_words and self._scale.fact_rank is not None:
            vectors = self._knowledge.array()
            if vectors is not None:
                self._contrast = Contrast(self._contrast_words, vectors[2 * self._question_count:],
                                          self._scale.fact_rank, tuple(self.kb.language.eligible_groups))
        return self._contrast

    def _has_marker(self, n: Normalised) -> bool:
        lang = self.kb.language
        return (n.phrased.startswith(lang.follow_up_prefixes) or n.phrased.endswith(lang.follow_up_suffixes)
                or any(p in n.phrased for p in lang.follow_up_pronouns))

    def _may_follow_up(self, n: Normalised, core: str) -> bool:
        """Whether a message could be a follow-up at all: a marker (那…呢), or short."""
        return self._has_marker(n) or len(core) <= SHORT_MESSAGE

    def _is_follow_up(self, n: Normalised, core: str, standalone: Decision, previous: Entry) -> bool:
        if self._has_marker(n):
            return True
        if not self._may_follow_up(n, core):
            return False
        # A short message naming something the previous entry is not about starts a new topic.
        own = {self.normalise.question(t) for t in previous.tags}
        return names_in(core, self.lexicon) <= own

    def _follow_up(self, n: Normalised, core: str, previous: Entry) -> Decision:
        """Read an elliptical message (那廊坊呢？) against the previous entry's topic."""
        for prefix in sorted(self.kb.language.follow_up_prefixes, key=longest_first):
            if core.startswith(prefix) and len(core) > len(prefix):
                core = core[len(prefix):]
                break
        context = "".join(self._topic_terms(previous))
        ranked = self.rank(core + context, prior_topic=previous.topic, prior_ids=frozenset(previous.follow_ups),
                           said=core)
        q_terms = names_in(core, self.lexicon)
        # A name in the message must be in the answer's entry, however strong the context.
        if q_terms:
            ranked = [s for s in ranked if all(t in s.doc.terms or any(t in x for x in s.doc.questions)
                                               for t in q_terms)] or ranked
        return self._decide(n, ranked, follow_up=True)

    def _topic_terms(self, previous: Entry) -> list[str]:
        """The previous entry's names that its topic shares (厂通路, 跨省通办), not its own details
        (开工, 滨海新区): a follow-up keeps the subject and changes the detail."""
        others = [e for e in self.kb.entries_in(previous.topic) if e.id != previous.id]
        shared = []
        for tag in previous.tags:
            term = self.normalise.question(tag)
            if any(term in self.normalise.question(t) or term in q
                   for e in others for t in e.tags for q in (e.canonical_question,)):
                shared.append(term)
        return shared

    def _without_home(self, n: Normalised, core: str, decision: Decision) -> Decision:
        """The knowledge base is all about its home (城市副中心, 通州): naming it tells no entry from another,
        yet an entry whose answer repeats the name can edge ahead (城市副中心的保障房竣工多少套 → 开工). Read the
        message without it too, and keep that reading when it answers at least as surely."""
        plain = self.scope.without_home(core)
        if plain == core or len(_MEANINGFUL.findall(plain)) < 2:
            return decision
        alt = self._decide(n, self.rank(plain))
        if alt.status == "answer" and (decision.status != "answer" or alt.score >= decision.score):
            return alt
        return decision

    def _elsewhere_follow_up(self, n: Normalised, core: str, previous: Entry) -> Decision | None:
        """那朝阳区呢 after the sub-center's public housing: the same question about another place. The
        previous entry's fact, labelled with where it holds, and "nothing about 朝阳区" (see `_check_scope`)."""
        place = self.scope.foreign(n.text, previous)
        if place is None:
            return None
        rest = core
        for prefix in sorted(self.kb.language.follow_up_prefixes, key=longest_first):
            rest = rest.removeprefix(prefix)
        for name in self.scope.names(rest):
            rest = rest.replace(name, "")
        if any(c not in self._light for c in _MEANINGFUL.findall(rest)):
            return None  # the message asks something more than "and there?"
        return Decision("partial", n, entry_id=previous.id, score=1.0, other_place=place, follow_up=True)

    def _check_scope(self, decision: Decision) -> Decision:
        """An entry about the sub-center must not answer a question about another place or thing as if it
        were that place's (朝阳区公租房 → the sub-center's 1600户): whichever way the entry was chosen."""
        if decision.status not in ("answer", "clarify") or decision.entry_id is None:
            return decision
        entry = self.kb.by_id[decision.entry_id]
        place = self.scope.foreign(decision.normalised.text, entry)
        if place is None:
            return decision
        return replace(decision, status="partial", other_place=self._as_written(place, decision.normalised.raw),
                       where=self.scope.own_town(place, entry), choices=())

    def _as_written(self, name: str, raw: str) -> str:
        """`name` (found in the normalised message) as the resident wrote it: 十一学校, not 11学校; 國貿, not 国贸.
        The shortest stretch of their message that normalises to it; the name itself when none does."""
        if name in raw:
            return name
        for size in range(max(1, len(name) - 2), len(name) + 4):
            for i in range(len(raw) - size + 1):
                if self.normalise.basic(raw[i:i + size]) == name:
                    return raw[i:i + size]
        return name

    def check_asked(self, decision: Decision, asked: list[Asked] | str) -> Decision:
        """An entry that does not state the kind of detail asked for (a fee, a size, an address...) must not
        answer as if it did: `partial` (what it does know, that this detail is missing, 12345). Used for
        matched entries, whether words or the sentence model chose them, for follow-ups, and by the dialogue
        for an entry the resident picked from a choice (`asked` is then the question they had asked)."""
        if decision.status not in ("answer", "clarify") or decision.entry_id is None:
            return decision
        if isinstance(asked, str):  # a picked choice: the question is the resident's, not the entry's label
            n = self.normalise(asked)
            text, asked = n.text, self.asked.asked(n.phrased)
        else:
            text = decision.normalised.text
        if not asked:
            return decision
        answered = self.answered[decision.entry_id]
        missing = [a for a in asked if not a.answered_by(answered.kinds) or not answered.has_unit(a)
                   or not answered.lists(a)
                   or (a.kind == HOURS and not answered.times(self.answered.asked_phase(text)))]
        if missing:
            return replace(decision, status="partial", missing_aspect=missing[0].kind, choices=())
        kinds = {a.kind for a in asked}
        detail = None
        ordinal = self.mentions.unstated_ordinal(text, decision.entry_id, decision.normalised.raw)
        if ordinal is not None:  # 第三批公租房配租开始了没 of an entry about the two rounds there were
            return replace(decision, status="partial", missing_aspect=asked[0].kind, missing_detail=ordinal,
                           choices=())
        figure = next((a for a in asked if a.kind in _FIGURES), None)
        if figure is not None and (period := self.mentions.unstated_period(text, decision.entry_id)) is not None:
            # 绿心公园周末一天来多少人, 2020年税收多少: the entry's figure is for another span
            return replace(decision, status="partial", missing_aspect=figure.kind, missing_detail=period, choices=())
        counted = next((a for a in asked if a.kind in (COUNT, CONTENTS) and len(a.counted) >= 2), None)
        if counted is not None and (close := self._word_similarity()) is not None:
            try:
                thing = self.mentions.unspoken(text, counted.counted, decision.entry_id, close)
            except CheckpointError as exc:
                self._meaning_failed(exc)
                return decision
            if thing is not None:  # 绿心公园有几个出入口 of the visitor count, 哪些餐食 of the homestays' names
                return replace(decision, status="partial", missing_aspect=counted.kind, missing_detail=thing,
                               choices=())
        if kinds and kinds <= {PERSON, NAME}:
            # Every entry naming an organisation answers "who?" by kind; whether it names the role and the deed
            # asked decides (校长叫什么, 是谁设计的). Its own words only, so words alone can check it.
            try:
                detail = self.mentions.unstated_role(text, decision.entry_id, answered.declared,
                                                     self._word_similarity(role=True) or literally)
            except CheckpointError as exc:
                self._meaning_failed(exc)
                return decision
        elif kinds <= FACT_KINDS and (close := self._word_similarity()) is not None:
            # Every entry answers "is it so?" by kind; whether it speaks of the thing asked decides (带狗).
            core = self.asked.strip(text, asked)
            try:
                subject = self.mentions.unstated_subject(core, decision.entry_id, close)
                if subject is not None and "eligibility" not in answered.kinds:
                    return replace(decision, status="partial", missing_aspect="eligibility", missing_detail=subject,
                                   choices=())
                detail = self.mentions.unstated(core, decision.entry_id, close)
            except CheckpointError as exc:
                self._meaning_failed(exc)
                return decision
        if detail is not None:
            return replace(decision, status="partial", missing_aspect=asked[0].kind, missing_detail=detail,
                           choices=())
        return decision
