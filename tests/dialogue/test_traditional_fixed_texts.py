"""A resident who writes traditional characters reads every fixed text in traditional characters too:
each of knowledge/replies.yaml's texts and the intents' replies, in every kind of reply and on every channel's
rendering (the rating hint, the 👍/👎 labels, notices), not only the answers."""

from __future__ import annotations

import asyncio

from bot.channels.kit import Action, ChannelKit, Incoming
from bot.channels.telegram.rendering import render as telegram
from bot.channels.wechat.rendering import paragraphs as wechat
from bot.matching.normalise import to_traditional
from bot.ratelimit import InProcessRateLimiter
from tests.auxil.dialogue import make_dialogue


def simplified_left(text: str) -> list[tuple[str, str]]:
    """Where `text` still holds simplified characters: the lines that converting to traditional changes."""
    return [(line, to_traditional(line)) for line in text.splitlines() if to_traditional(line) != line]


def test_every_fixed_text_reaches_a_traditional_resident_in_traditional():
    d = make_dialogue()
    texts = d.live.snapshot.kb.replies
    turns = ["潞河附校晚托到幾點",  # answer: source line, related questions
             "一鍵呼", "9", "都不是",  # clarify, an invalid choice, none of these (fallback, 12345)
             "一鍵呼怎麼收費",  # partial: what is known, the detail missing
             "", "謝謝", "幫助",  # an empty message (rephrase), small talk
             "/help", "/start", "/topics", "/topic 教育", "/topic 課後", "/foo",  # navigation, unknown command
             "廠通路哪年通車"]  # an answer with a passed forecast's notice
    replies = [d.handle("c", text) for text in turns]
    replies += [d.feedback("c", helpful=True), d.feedback("c", helpful=False)]
    seen = {r.intent_id or r.status for r in replies}
    assert {"answer", "clarify", "fallback", "partial", "welcome", "help", "topics", "unknown_command"} <= seen
    for reply in replies:
        assert reply.script == "traditional", reply.text
        shown = [reply.text, *wechat(reply, texts), *(label for row in telegram(reply, texts).keyboard
                                                       for label, _ in row)]
        assert simplified_left("\n".join(shown)) == [], reply.intent_id or reply.status

    kit = ChannelKit(d, salt="s", limiter=InProcessRateLimiter(0))
    resident = kit.resident("test", "u")
    d.handle(resident.conversation_id, "潞河附校晚托到幾點")
    notices = [asyncio.run(kit.notice("stale_button", resident)),
               asyncio.run(kit.receive(Incoming(resident, Action("say", "潞河附校晚託到幾點"))))]  # over the rate limit
    for notice in notices:
        assert notice.status == "notice" and simplified_left(notice.text) == [], notice.text

