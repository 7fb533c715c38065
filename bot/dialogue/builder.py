"""Turn a matcher Decision into a Reply: answer with source line and freshness notice, or an honest no."""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Mapping
from dataclasses import replace

from bot.dialogue.freshness import chinese_date, staleness
from bot.dialogue.reply import Option, Reply, ReplyPart
from bot.knowledge.schema import Entry, KnowledgeBase
from bot.matching.decision import Decision
from bot.matching.normalise import to_simplified, to_traditional


class ReplyBuilder:
    def __init__(self, kb: KnowledgeBase, today: dt.date):
        self.kb = kb
        self.t = kb.replies
        self.today = today

    def build(self, d: Decision) -> Reply:
        if d.status == "answer" and d.entry_id:
            reply = self.answer(self.kb.by_id[d.entry_id])
        elif d.status == "partial" and d.entry_id and d.other_place:
            reply = self.elsewhere(self.kb.by_id[d.entry_id], d.other_place, d.where)
        elif d.status == "partial" and d.entry_id:
            reply = self.partial(self.kb.by_id[d.entry_id], d.missing_aspect or "", d.missing_detail)
        elif d.status == "clarify":
            reply = self.clarify(d.choices)
        elif d.status == "smalltalk" and d.intent_id:
            reply = self.smalltalk(d.intent_id, d.normalised.text)
        elif d.reason == "empty":
            reply = self.rephrase()
        else:
            reply = self.fallback(d.nearby)
        return replace(reply, intent_id=d.intent_id, score=d.score, candidates=d.candidates,
                       kb_version=self.kb.version)

    # -- one builder per status -----------------------------------------------------------------

    def answer(self, e: Entry) -> Reply:
        parts = [ReplyPart("answer", e.answer)]
        notice = self.freshness(e)
        if notice:
            parts.append(ReplyPart("notice", notice))
        source = self.source_line(e)
        parts.append(ReplyPart("source", source))
        suggestions = tuple(Option(self.kb.by_id[f].canonical_question, f) for f in e.follow_ups[:3])
        return Reply("answer", tuple(parts), entry_id=e.id, suggestions=suggestions,
                     suggestions_title=self.t["related"] if suggestions else "", source=source,
                     as_of=e.as_of.isoformat(), rateable=True)

    def partial(self, e: Entry, aspect_id: str, detail: str | None = None) -> Reply:
        aspect = next((a.label for a in self.kb.aspects if a.id == aspect_id), aspect_id)
        # The thing a yes/no question named (带狗) says more to the resident than "this kind of detail".
        missing = (fill(self.t["partial_missing_detail"], detail=detail) if detail
                   else self.t["partial_missing"].format(aspect=aspect))
        parts = [
            ReplyPart("answer", fill(self.t["partial"], title=e.title, answer=e.answer)),
            ReplyPart("hotline", missing),
        ]
        source = self.source_line(e)
        parts.append(ReplyPart("source", source))
        return Reply("partial", tuple(parts), entry_id=e.id, source=source, as_of=e.as_of.isoformat(),
                     rateable=True)

    def elsewhere(self, e: Entry, place: str, where: str | None = None) -> Reply:
        """A question about another place or thing (上海的延时托管): what the knowledge base knows, labelled
        with where it holds (`where`: the entry's own town, 西集镇, when another town of the county was asked),
        that it knows nothing about the place asked, and 12345."""
        where = where or self.kb.scope.label
        parts = [
            ReplyPart("answer", fill(self.t["scope_known"], place=place, where=where, answer=e.answer)),
            ReplyPart("hotline", fill(self.t["scope_missing"], place=place, where=where)),
        ]
        source = self.source_line(e)
        parts.append(ReplyPart("source", source))
        return Reply("partial", tuple(parts), entry_id=e.id, source=source, as_of=e.as_of.isoformat(),
                     rateable=True)

    def clarify(self, choices: tuple[str, ...]) -> Reply:
        options = [Option(self.kb.by_id[c].canonical_question, c) for c in choices]
        options.append(Option(self.t["clarify_none"], None))
        text = self.t["clarify_prompt"] + self.t["clarify_hint"]
        return Reply("clarify", (ReplyPart("text", text),), choices=tuple(options))

    def fallback(self, nearby: tuple[str, ...] = ()) -> Reply:
        parts = [ReplyPart("text", self.t["fallback"])]
        suggestions = tuple(Option(self.kb.by_id[n].canonical_question, n) for n in nearby[:3])
        parts.append(ReplyPart("hotline", self.t["hotline"]))
        return Reply("fallback", tuple(parts), suggestions=suggestions,
                     suggestions_title=self.t["fallback_nearby"] if suggestions else "")

    def rephrase(self) -> Reply:
        example = self.kb.entries[0].canonical_question
        return Reply("fallback", (ReplyPart("text", fill(self.t["rephrase"], example=example)),
                                  ReplyPart("hotline", self.t["hotline"])))

    def smalltalk(self, intent_id: str, text: str) -> Reply:
        intent = next(i for i in self.kb.intents if i.id == intent_id)
        # Vary the wording by message, deterministically, so replays stay stable.
        template = intent.replies[zlib.crc32(text.encode()) % len(intent.replies)]
        body = template.replace("{topics}", "、".join(self.kb.topics))
        return Reply("smalltalk", (ReplyPart("text", body),))

    # -- navigation: what a channel's start, help and topics commands show ---------------------------

    def welcome(self, examples: list[tuple[str, str]] | None = None) -> Reply:
        """The greeting, with a few questions to try (buttons where the channel has them): `examples` as
        (question, entry id), the welcome examples of replies.yaml that are answered; without any, the
        first entries' questions stand in."""
        options = [Option(q, entry_id) for q, entry_id in examples or ()] or \
            [Option(e.canonical_question, e.id) for e in self.kb.entries[:4]]
        return Reply("smalltalk", (ReplyPart("text", self._intent_reply("greeting")),), intent_id="welcome",
                     suggestions=tuple(options), suggestions_title=self.t["examples_title"])

    def help(self) -> Reply:
        return Reply("smalltalk", (ReplyPart("text", self._intent_reply("help")),), intent_id="help")

    def topics(self, unknown: str | None = None) -> Reply:
        """Every topic as a numbered choice: a button, or its number in a text-only channel. `unknown`: the
        name a resident typed that is no topic, said before the list."""
        choices = tuple(Option(f"{t}（{len(self.kb.entries_in(t))}）", None, topic=t) for t in self.kb.topics)
        prompt = self.t["topics_prompt"] if unknown is None else fill(self.t["topic_unknown"], topic=unknown)
        return Reply("smalltalk", (ReplyPart("text", prompt),), intent_id="topics", choices=choices)

    def topic_named(self, typed: str) -> str | None:
        """The topic a resident means by `/topic NAME`: the name itself, in either script, its number in the
        topics list, or the one topic whose name holds what was typed (课后 → 课后服务)."""
        topics = self.kb.topics
        name = to_simplified(typed.strip()).lower()
        if not name:
            return None
        if name.isdigit():
            return topics[int(name) - 1] if 1 <= int(name) <= len(topics) else None
        exact = [t for t in topics if t.lower() == name]
        within = [t for t in topics if name in t.lower()]
        return exact[0] if exact else within[0] if len(within) == 1 else None

    def unknown_command(self) -> Reply:
        """A typed /command that does not exist (/foo, a non-administrator's /reload): one line, not a
        question that the knowledge base cannot answer."""
        return Reply("smalltalk", (ReplyPart("text", self.t["unknown_command"]),), intent_id="unknown_command")

    def topic(self, name: str) -> Reply | None:
        """A topic's questions as numbered choices; None for a topic that does not exist (a stale button)."""
        entries = self.kb.entries_in(name) if name in self.kb.topics else []
        if not entries:
            return None
        return Reply("smalltalk", (ReplyPart("text", self.t["topic_questions"].format(topic=name)),),
                     intent_id="topic", choices=tuple(Option(e.canonical_question, e.id) for e in entries))

    def _intent_reply(self, intent_id: str) -> str:
        text = next((i.replies[0] for i in self.kb.intents if i.id == intent_id), "")
        return text.replace("{topics}", "、".join(self.kb.topics))

    def choice_invalid(self, n: int) -> Reply:
        return Reply("clarify", (ReplyPart("text", self.t["choice_invalid"].format(n=n, none_index=n + 1)),))

    def nothing_to_rate(self) -> Reply:
        """+ or - before any answer: say so, and how to get one (not "I don't know", which it is not)."""
        return Reply("smalltalk", (ReplyPart("text", self.t["feedback_nothing"]),), intent_id="nothing_to_rate")

    def feedback(self, helpful: bool) -> Reply:
        return Reply("smalltalk", (ReplyPart("text", self.t["feedback_thanks" if helpful else "feedback_sorry"]),))

    # -- pieces ---------------------------------------------------------------------------------

    def source_line(self, e: Entry) -> str:
        s = e.source
        line = self.t["source_line"].format(publisher=s.publisher, title=s.title, date=chinese_date(s.date),
                                            section=s.section)
        if e.as_of != s.date:
            line += self.t["as_of_line"].format(as_of=chinese_date(e.as_of))
        return line

    def freshness(self, e: Entry) -> str | None:
        stale = staleness(e, self.today)
        if stale is None:
            return None
        if stale.kind == "expired":
            return self.t["freshness_expired"].format(as_of=chinese_date(e.as_of), expires=chinese_date(stale.date))
        return self.t["freshness_review"].format(as_of=chinese_date(e.as_of), review_by=chinese_date(stale.date))


def fill(template: str, **values: str) -> str:
    """`template.format(**values)`, where a value that the template puts in “quotes” has its own quotes
    nested the Chinese way (“一键呼”是什么 → 关于“‘一键呼’是什么”), not doubled (关于““一键呼”是什么”)."""
    nested = {name: value.replace("“", "‘").replace("”", "’") if f"“{{{name}}}”" in template else value
              for name, value in values.items()}
    return template.format(**nested)


def fixed(texts: Mapping[str, str], key: str, script: str = "simplified") -> str:
    """A fixed text of knowledge/replies.yaml (a button label, a hint, a notice) in the resident's script."""
    text = texts[key]
    return to_traditional(text) if script == "traditional" else text


def in_script(reply: Reply, script: str) -> Reply:
    """The reply in the resident's script: everything converted, source line and buttons included."""
    if script != "traditional":
        return reply
    conv = to_traditional
    return replace(
        reply,
        parts=tuple(ReplyPart(p.kind, conv(p.text)) for p in reply.parts),
        script="traditional",
        choices=tuple(replace(c, label=conv(c.label)) for c in reply.choices),
        suggestions=tuple(replace(s, label=conv(s.label)) for s in reply.suggestions),
        suggestions_title=conv(reply.suggestions_title),
        source=conv(reply.source) if reply.source else None,
    )
