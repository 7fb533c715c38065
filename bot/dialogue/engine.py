"""The dialogue: one resident message in, one Reply out, context and records kept on the side."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from bot.dialogue.builder import ReplyBuilder, in_script
from bot.dialogue.context import ContextStore, ConversationContext
from bot.dialogue.records import FeedbackRecord, InteractionRecord, Recorder
from bot.dialogue.reply import Reply
from bot.live import LiveKnowledge, Snapshot
from bot.matching.decision import Decision
from bot.matching.normalise import Normalised, valid_text
from bot.matching.selfcheck import welcome_examples

log = logging.getLogger(__name__)

_CHOICE = re.compile(r"^\s*(\d{1,2})\s*[.。、]?\s*$")
# A typed command: a slash and a Latin word (Telegram's /cmd@botname too), then its argument if any.
# "/ 请问", "/123" or a path like "/usr/x" are still questions.
_COMMAND = re.compile(r"^\s*/([A-Za-z][A-Za-z0-9_]{0,31})(?:@[A-Za-z0-9_]+)?(?![A-Za-z0-9_/.@])\s*(.*)$", re.S)
# A topic offered in the topics list, kept among the context's choices beside entry ids (which never hold ":").
_TOPIC = "topic:"
NAVIGATION = ("welcome", "help", "topics", "topic")


def is_command(text: str | None) -> bool:
    """Whether a message is a typed /command (a known one or not) rather than a question."""
    return _COMMAND.match(text or "") is not None


def navigation_command(text: str | None) -> tuple[str, str] | None:
    """(kind, arg) for a typed navigation command as recorded ("/topics", "/topic 课后服务"; "/start" is the
    welcome), else None. For text channels and replays; chat platforms have their own command syntax."""
    m = _COMMAND.match(text or "")
    if m is None:
        return None
    kind = {"start": "welcome"}.get(m.group(1).lower(), m.group(1).lower())
    return (kind, m.group(2).strip()) if kind in NAVIGATION else None


@dataclass(frozen=True, slots=True)
class Turn:
    conversation_id: str
    message: str
    channel: str
    user_hash: str | None
    started: float


class Dialogue:
    def __init__(
        self,
        live: LiveKnowledge,
        contexts: ContextStore,
        recorder: Recorder,
        *,
        context_ttl: float = 1800.0,
        today: Callable[[], dt.date] = dt.date.today,
        clock: Callable[[], float] = time.time,
        observers: tuple[Callable[[InteractionRecord], None], ...] = (),
        secret: str = "",
    ):
        """`secret` (USER_ID_SALT) seals interaction ids to their conversation: only the conversation that
        got an answer can rate it, whichever channel, replica or restart the rating comes through."""
        self._seal_key = hashlib.sha256(b"resident-bot interaction ids\0" + secret.encode()).digest()
        self.live = live
        self.contexts = contexts
        self.recorder = recorder
        self.context_ttl = context_ttl
        self.today = today
        self.clock = clock
        self.observers = observers  # logs and metrics, outside the core

    # -- public ---------------------------------------------------------------------------------

    def handle(self, conversation_id: str, message: str, *, channel: str = "console",
               user_hash: str | None = None) -> Reply:
        """Answer one message. `user_hash` is the resident as the channel kit hashed them (never a raw id)."""
        started = time.perf_counter()
        message = valid_text(message)
        snapshot = self.live.snapshot  # one snapshot for the whole turn, even if a reload swaps it
        turn = Turn(conversation_id, message, channel, user_hash, started)
        if is_command(message):  # typed /start, /help, /topics, /topic NAME, or a command that does not exist
            return self._typed_command(turn, snapshot)
        ctx = self._context(conversation_id)
        topic = self._picked_topic(ctx, message)
        if topic is not None:
            return self._navigate(turn, snapshot, ctx, ReplyBuilder(snapshot.kb, self.today()).topic(topic),
                                  reason="chosen")
        chosen = self._choice(snapshot, ctx, message)
        if chosen is not None:
            decision, asked = chosen
            if ctx.pending_question:  # the entry picked must state what the resident had asked for
                decision = snapshot.matcher.check_asked(decision, asked)
        else:
            decision, asked = snapshot.matcher.match(message, ctx.last_entry_id), None
        if decision.topic is not None:  # a topic named and nothing more asked: its questions to choose from
            script = decision.normalised.script if decision.normalised.script_evident else ctx.script
            return self._navigate(turn, snapshot, replace(ctx, script=script),
                                  ReplyBuilder(snapshot.kb, self.today()).topic(decision.topic), reason="topic")
        return self._respond(turn, snapshot, ctx, decision, asked)

    def answer_entry(self, conversation_id: str, entry_id: str, *, reason: str = "chosen", channel: str = "console",
                     user_hash: str | None = None) -> Reply | None:
        """Answer a named entry (a pressed button); None when the entry does not exist (a stale or forged
        button), so that nothing is recorded or shown for it."""
        started = time.perf_counter()
        snapshot = self.live.snapshot
        entry = snapshot.kb.by_id.get(entry_id)
        if entry is None:
            return None
        ctx = self._context(conversation_id)
        label = entry.canonical_question
        n = Normalised(label, label, label, ctx.script, False, False)
        decision = Decision("answer", n, entry_id=entry_id, score=1.0, reason=reason)
        asked = ctx.pending_question if reason == "chosen" else None
        if asked:  # a pressed choice: the entry must state what the resident had asked for
            decision = snapshot.matcher.check_asked(decision, asked)
        return self._respond(Turn(conversation_id, label, channel, user_hash, started), snapshot, ctx, decision, asked)

    def navigate(self, conversation_id: str, kind: str, arg: str = "", *, channel: str = "console",
                 user_hash: str | None = None) -> Reply | None:
        """What a channel's start, help and topics commands show (`kind` is one of NAVIGATION; `arg` the topic
        for "topic"), built, converted to the resident's script and recorded like any reply. Lists come as
        numbered choices, so a text-only channel's resident answers with the number. None for a topic that
        does not exist (a stale button): nothing is recorded."""
        started = time.perf_counter()
        snapshot = self.live.snapshot
        builder = ReplyBuilder(snapshot.kb, self.today())
        reply = {"welcome": lambda: builder.welcome(welcome_examples(snapshot.matcher)), "help": builder.help,
                 "topics": builder.topics, "topic": lambda: builder.topic(arg)}[kind]()
        if reply is None:
            return None
        said = f"/{kind}" + (f" {arg}" if arg else "")
        turn = Turn(conversation_id, said, channel, user_hash, started)
        return self._navigate(turn, snapshot, self._context(conversation_id), reply)

    def _typed_command(self, turn: Turn, snapshot: Snapshot) -> Reply:
        """The same lists on every channel for /start, /help, /topics and /topic NAME (a name that is no
        topic gets the topics list, saying so); any other /command is not a question: one line saying
        there is no such command and how to see the usage."""
        builder = ReplyBuilder(snapshot.kb, self.today())
        command = navigation_command(turn.message)
        if command is None:
            return self._navigate(turn, snapshot, self._context(turn.conversation_id), builder.unknown_command(),
                                  reason="unknown-command")
        kind, arg = command
        if kind == "topic":
            name = builder.topic_named(arg)
            if name is None:
                reply = builder.topics(unknown=arg) if arg else builder.topics()
                return self._navigate(turn, snapshot, self._context(turn.conversation_id), reply)
            arg = name
        shown = self.navigate(turn.conversation_id, kind, arg, channel=turn.channel, user_hash=turn.user_hash)
        assert shown is not None  # only an unknown topic has no list, and that was handled above
        return shown

    def script_of(self, conversation_id: str) -> str:
        """The script the conversation was last answered in, for a fixed notice (a stale button, an unknown
        command) that has no text of the resident's to tell it by."""
        return self._context(conversation_id).script

    def feedback(self, conversation_id: str, helpful: bool, interaction_id: str | None = None,
                 entry_id: str | None = None, comment: str | None = None) -> Reply | None:
        """Record helpful / not helpful (and a resident's comment) for an answer: the one named, or the
        last rateable one. None when the named interaction is not this conversation's (a forged or foreign
        id): nothing is recorded."""
        ctx = self._context(conversation_id)
        builder = ReplyBuilder(self.live.snapshot.kb, self.today())
        if interaction_id is not None and not self.owns(conversation_id, interaction_id):
            return None
        if interaction_id is not None and interaction_id != ctx.rateable_interaction_id:
            entry_id = entry_id or None  # an earlier answer: storage knows its entry, the context does not
        else:
            interaction_id, entry_id = ctx.rateable_interaction_id, entry_id or ctx.rateable_entry_id
        if interaction_id is None:
            return in_script(builder.nothing_to_rate(), ctx.script)
        self._safely(self.recorder.record_feedback, FeedbackRecord(
            interaction_id=interaction_id,
            conversation_id=conversation_id,
            entry_id=entry_id,
            helpful=helpful,
            created_at=dt.datetime.now(dt.UTC),
            comment=comment,
        ))
        if interaction_id == ctx.rateable_interaction_id:
            self.contexts.save_context(conversation_id, replace(ctx, rateable_interaction_id=None))
        return in_script(builder.feedback(helpful), ctx.script)

    def new_interaction_id(self, conversation_id: str) -> str:
        """32 hex digits: a random half and its seal, so that `owns` needs no lookup."""
        nonce = secrets.token_hex(8)
        return nonce + self._seal(conversation_id, nonce)

    def owns(self, conversation_id: str, interaction_id: str) -> bool:
        """Whether `interaction_id` was given to this conversation."""
        if len(interaction_id) != 32:
            return False
        return hmac.compare_digest(interaction_id[16:], self._seal(conversation_id, interaction_id[:16]))

    def _seal(self, conversation_id: str, nonce: str) -> str:
        return hmac.new(self._seal_key, f"{conversation_id}\0{nonce}".encode(), hashlib.sha256).hexdigest()[:16]

    # -- steps ----------------------------------------------------------------------------------

    def _respond(self, turn: Turn, snapshot: Snapshot, ctx: ConversationContext, decision: Decision,
                 asked: str | None) -> Reply:
        """Build the reply in the resident's script, then keep the context and the record."""
        builder = ReplyBuilder(snapshot.kb, self.today())
        if decision.reason == "invalid-choice":
            reply = builder.choice_invalid(len(ctx.choices))
        else:
            reply = builder.build(decision)
        evident = asked is None and decision.normalised.script_evident
        script = decision.normalised.script if evident or ctx.turns == 0 else ctx.script
        interaction_id = self.new_interaction_id(turn.conversation_id)
        reply = replace(in_script(reply, script), interaction_id=interaction_id)
        self._save_context(turn.conversation_id, ctx, decision, reply, asked or turn.message)
        self._record(InteractionRecord(
            id=interaction_id,
            conversation_id=turn.conversation_id,
            created_at=dt.datetime.now(dt.UTC),
            channel=turn.channel,
            user_hash=turn.user_hash,
            text=turn.message[:2000],
            normalised=decision.normalised.text[:500],
            status=reply.status,
            entry_id=reply.entry_id,
            intent_id=reply.intent_id,
            score=round(reply.score, 4),
            candidates=[{"id": c.id, "score": c.score} for c in reply.candidates],
            kb_version=snapshot.version,
            latency_ms=round((time.perf_counter() - turn.started) * 1000, 3),
            reason=decision.reason,
            asked=asked[:2000] if asked else None,
        ))
        return reply

    def _navigate(self, turn: Turn, snapshot: Snapshot, ctx: ConversationContext, reply: Reply | None,
                  reason: str = "navigation") -> Reply:
        """Keep a navigation reply's list as the context's choices, and record it (status smalltalk, reason
        navigation, the intent names the kind), so that reports and replays see it like any reply."""
        if reply is None:  # a topic that vanished in a reload between the list and the pick
            reply = ReplyBuilder(snapshot.kb, self.today()).topics()
        interaction_id = self.new_interaction_id(turn.conversation_id)
        reply = replace(in_script(replace(reply, kb_version=snapshot.version), ctx.script),
                        interaction_id=interaction_id)
        choices = tuple(_TOPIC + c.topic if c.topic else c.entry_id or "" for c in reply.choices)
        self._safely(self.contexts.save_context, turn.conversation_id, replace(
            ctx, choices=choices, pending_question=None, script=reply.script, updated_at=self.clock(),
            turns=ctx.turns + 1))
        self._record(InteractionRecord(
            id=interaction_id, conversation_id=turn.conversation_id, created_at=dt.datetime.now(dt.UTC),
            channel=turn.channel, user_hash=turn.user_hash, text=turn.message[:2000], normalised="",
            status=reply.status, entry_id=None, intent_id=reply.intent_id, score=0.0, candidates=[],
            kb_version=snapshot.version, latency_ms=round((time.perf_counter() - turn.started) * 1000, 3),
            reason=reason))
        return reply

    @staticmethod
    def _picked_topic(ctx: ConversationContext, message: str) -> str | None:
        """The topic a number picks from the topics list, if the last reply was that list."""
        m = _CHOICE.match(message)
        if m is None or not 1 <= int(m.group(1)) <= len(ctx.choices):
            return None
        picked = ctx.choices[int(m.group(1)) - 1]
        return picked.removeprefix(_TOPIC) if picked.startswith(_TOPIC) else None

    def _context(self, conversation_id: str) -> ConversationContext:
        try:
            ctx = self.contexts.load_context(conversation_id)
        except Exception:  # storage down: answer without context rather than not at all
            log.exception("could not load conversation context")
            ctx = None
        if ctx is None or self.clock() - ctx.updated_at > self.context_ttl:
            return ConversationContext()
        return ctx

    def _choice(self, snapshot: Snapshot, ctx: ConversationContext,
                message: str) -> tuple[Decision, str] | None:
        """A number (or 都不是) right after a clarification picks one of its choices; after a navigation list
        (no pending question, no 都不是) only a number in range does, anything else is a new question."""
        if not ctx.choices:
            return None
        n = Normalised(message, message.strip(), message.strip(), ctx.script, False)
        if ctx.pending_question is None:
            m = _CHOICE.match(message)
            index = int(m.group(1)) if m else 0
            entry = snapshot.kb.by_id.get(ctx.choices[index - 1]) if 1 <= index <= len(ctx.choices) else None
            if entry is not None:  # the question picked is what was asked
                return Decision("answer", n, entry_id=entry.id, score=1.0, reason="chosen"), entry.canonical_question
            return None
        none_words = {snapshot.kb.replies["clarify_none"], "都不是", "都不对", "都不", "没有"}
        simplified = snapshot.matcher.normalise.basic(message)
        m = _CHOICE.match(message)
        question = ctx.pending_question or message
        if simplified in {snapshot.matcher.normalise.basic(w) for w in none_words} or (
            m and int(m.group(1)) == len(ctx.choices) + 1
        ):
            return Decision("fallback", n, reason="none-of-these"), question
        if m is None:
            return None
        index = int(m.group(1))
        if not 1 <= index <= len(ctx.choices) or ctx.choices[index - 1] not in snapshot.kb.by_id:
            return Decision("clarify", n, reason="invalid-choice"), message
        entry_id = ctx.choices[index - 1]
        return Decision("answer", n, entry_id=entry_id, score=1.0, reason="chosen"), question

    def _save_context(self, conversation_id: str, ctx: ConversationContext, d: Decision, reply: Reply,
                      text: str) -> None:
        if d.reason == "invalid-choice":  # ask again, same choices
            choices, pending = ctx.choices, ctx.pending_question
        elif reply.status == "clarify":
            choices, pending = tuple(c.entry_id for c in reply.choices if c.entry_id), text
        else:
            choices, pending = (), None
        # Small talk and fallbacks keep the topic, so 那廊坊呢 still works after a 谢谢.
        last = reply.entry_id if reply.status in ("answer", "partial") else ctx.last_entry_id
        new = replace(
            ctx,
            last_entry_id=last,
            choices=choices,
            pending_question=pending,
            rateable_interaction_id=reply.interaction_id if reply.rateable else ctx.rateable_interaction_id,
            rateable_entry_id=reply.entry_id if reply.rateable else ctx.rateable_entry_id,
            script=reply.script,
            updated_at=self.clock(),
            turns=ctx.turns + 1,
        )
        self._safely(self.contexts.save_context, conversation_id, new)

    def _record(self, record: InteractionRecord) -> None:
        self._safely(self.recorder.record_interaction, record)
        for observe in self.observers:
            self._safely(observe, record)

    @staticmethod
    def _safely(fn: Callable[..., None], *args: object) -> None:
        """Storage trouble must never cost the resident the answer; the recorder buffers and retries."""
        try:
            fn(*args)
        except Exception:
            log.exception("storage call %s failed", getattr(fn, "__name__", fn))

