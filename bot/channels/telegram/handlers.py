"""Telegram handlers: updates in, Dialogue calls, Replies out as HTML with buttons. Thin on purpose."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import html
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.app import App
from bot.channels.telegram.buttons import Button, decode
from bot.channels.telegram.rendering import Rendered, label, render
from bot.dialogue.records import hash_user_id
from bot.dialogue.reply import Reply
from bot.observability import RATE_LIMITED
from bot.ratelimit import RateLimiter, make_rate_limiter

log = logging.getLogger(__name__)

EXAMPLES = ["luhe-late-care-end-time", "changtong-road-opening", "regional-langfang", "xiji-homestay-shuttle"]


class TelegramChannel:
    def __init__(self, app: App, limiter: RateLimiter | None = None):
        self.app = app
        self.limiter = limiter or make_rate_limiter(app.settings.rate_limit_per_minute, app.settings.redis_url)
        self.admins = set(app.settings.admin_ids)
        self.salt = app.settings.user_id_salt.get_secret_value()
        self._locks: dict[str, asyncio.Lock] = {}

    def turn_lock(self, conversation: str) -> asyncio.Lock:
        """Updates run concurrently, but one conversation's messages must be answered in order:
        a follow-up needs the context its previous message left."""
        lock = self._locks.get(conversation)
        if lock is None:
            if len(self._locks) > 10_000:
                for key in [k for k, v in self._locks.items() if not v.locked()]:
                    del self._locks[key]
            lock = self._locks[conversation] = asyncio.Lock()
        return lock

    # -- plumbing ---------------------------------------------------------------------------------

    @property
    def texts(self) -> dict[str, str]:
        return dict(self.app.live.snapshot.kb.replies)

    def conversation(self, update: Update) -> str:
        """Chat and user, hashed: no raw Telegram id is ever stored, not even inside a conversation id."""
        chat = update.effective_chat.id if update.effective_chat else 0
        user = update.effective_user.id if update.effective_user else 0
        return "tg:" + (hash_user_id(f"{chat}:{user}", self.salt) or "")[:24]

    async def send(self, message: Message, reply: Reply) -> None:
        await self.send_rendered(message, render(reply, self.texts))

    async def send_rendered(self, message: Message, rendered: Rendered) -> None:
        for i, chunk in enumerate(rendered.chunks):
            last = i == len(rendered.chunks) - 1
            markup = keyboard(rendered.keyboard) if last and rendered.keyboard else None
            await message.reply_text(chunk, parse_mode=ParseMode.HTML, reply_markup=markup,
                                     disable_web_page_preview=True, do_quote=False)

    def addressed(self, update: Update, bot_username: str, bot_id: int) -> str | None:
        """The text meant for the bot: every private message; in groups only a mention or a reply to the bot."""
        msg = update.effective_message
        if msg is None or not msg.text:
            return None
        if msg.chat.type == ChatType.PRIVATE:
            return msg.text
        mention = f"@{bot_username}".lower()
        if mention in msg.text.lower():
            start = msg.text.lower().index(mention)
            return (msg.text[:start] + msg.text[start + len(mention):]).strip()
        reply_to = msg.reply_to_message
        if reply_to is not None and reply_to.from_user is not None and reply_to.from_user.id == bot_id:
            return msg.text
        return None

    # -- handlers ---------------------------------------------------------------------------------

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        text = self.addressed(update, context.bot.username, context.bot.id)
        if text is None:
            return
        user = update.effective_user.id if update.effective_user else None
        if user is not None and not self.limiter.allow(str(hash_user_id(user, self.salt))):
            RATE_LIMITED.inc()
            await update.effective_message.reply_text(html.escape(self.texts["rate_limited"]),
                                                      parse_mode=ParseMode.HTML)
            return
        conversation = self.conversation(update)
        # The lock is the first thing awaited, so a conversation's updates queue in arrival order.
        async with self.turn_lock(conversation):
            if not await self.first_time(update):
                return
            reply = await asyncio.to_thread(self.app.dialogue.handle, conversation, text,
                                            channel="telegram", user=user)
            await self.send(update.effective_message, reply)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        button = decode(query.data)
        user = update.effective_user.id if update.effective_user else None
        conversation = self.conversation(update)
        dialogue = self.app.dialogue
        if button is None:
            await query.answer(self.texts["stale_button"])
            return
        if not await self.first_time(update):
            await query.answer()
            return
        if button.kind in ("helpful", "not_helpful"):
            reply = await asyncio.to_thread(dialogue.feedback, conversation, button.kind == "helpful",
                                            button.arg)
            await query.answer(reply.text)
            await remove_feedback_buttons(query.message)
            return
        if button.kind == "topic":
            await query.answer()
            await self.list_topic(query.message, button.arg)
            return
        async with self.turn_lock(conversation):
            if button.kind == "none":
                reply = await asyncio.to_thread(dialogue.handle, conversation, self.texts["clarify_none"],
                                                channel="telegram", user=user)
            else:
                reason = "chosen" if button.kind == "choose" else "suggested"
                reply = await asyncio.to_thread(dialogue.answer_entry, conversation, button.arg, reason=reason,
                                                channel="telegram", user=user)
            await query.answer()
            if reply is None:  # an entry that no longer exists, or a forged id
                await query.message.reply_text(html.escape(self.texts["stale_button"]), parse_mode=ParseMode.HTML)
                return
            await self.send(query.message, reply)

    async def on_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        kb = self.app.live.snapshot.kb
        greeting = next((i.replies[0] for i in kb.intents if i.id == "greeting"), "")
        examples = [kb.by_id[e] for e in EXAMPLES if e in kb.by_id] or list(kb.entries[:4])
        rows = [[(label(e.canonical_question), Button("ask", e.id).encode())] for e in examples]
        text = f"{html.escape(greeting)}\n\n{html.escape(self.texts['examples_title'])}"
        await self.send_rendered(update.effective_message, Rendered([text], rows))

    async def on_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        kb = self.app.live.snapshot.kb
        body = next((i.replies[0] for i in kb.intents if i.id == "help"), "").replace("{topics}", "、".join(kb.topics))
        await update.effective_message.reply_text(html.escape(body), parse_mode=ParseMode.HTML)

    async def on_topics(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        kb = self.app.live.snapshot.kb
        rows = [[(f"{t}（{len(kb.entries_in(t))}）", Button("topic", t).encode())] for t in kb.topics]
        await self.send_rendered(update.effective_message,
                                 Rendered([html.escape(self.texts["topics_prompt"])], rows))

    async def list_topic(self, message: Message, topic: str) -> None:
        kb = self.app.live.snapshot.kb
        entries = kb.entries_in(topic)
        if not entries:
            await message.reply_text(html.escape(self.texts["stale_button"]), parse_mode=ParseMode.HTML)
            return
        rows = [[(label(e.canonical_question), Button("ask", e.id).encode())] for e in entries]
        title = self.texts["topic_questions"].format(topic=topic)
        await self.send_rendered(message, Rendered([html.escape(title)], rows))

    async def on_unknown(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_text(html.escape(self.texts["unknown_command"]),
                                                  parse_mode=ParseMode.HTML)

    def is_admin(self, update: Update) -> bool:
        return update.effective_user is not None and update.effective_user.id in self.admins

    async def on_reload(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not self.is_admin(update):
            await self.on_unknown(update, context)
            return
        swapped, problems = await asyncio.to_thread(self.app.live.reload)
        errors = [p for p in problems if p.severity == "error"]
        version = self.app.live.snapshot.version
        if swapped:
            text = f"已重新加载知识库，版本 {version}（{len(problems)} 条警告）。"
        else:
            listed = "\n".join(str(p) for p in errors[:20])
            more = f"\n……另有 {len(errors) - 20} 个错误" if len(errors) > 20 else ""
            text = f"重新加载失败，继续使用版本 {version}。{len(errors)} 个错误：\n{listed}{more}"
        await self.send_rendered(update.effective_message, Rendered(
            [c for c in _chunks(html.escape(text))], []))

    async def on_stats(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not self.is_admin(update):
            await self.on_unknown(update, context)
            return
        report = await asyncio.to_thread(self._report, dt.timedelta(days=1))
        if report is None:
            await update.effective_message.reply_text("没有可用的数据库。")
            return
        shares = "，".join(f"{k} {v * 100:.0f}%" for k, v in report["shares"].items())
        text = (f"过去24小时：{report['messages']} 条消息；{shares}；"
                f"延迟 p50 {report['latency_ms']['p50']} ms，p95 {report['latency_ms']['p95']} ms。")
        await update.effective_message.reply_text(html.escape(text), parse_mode=ParseMode.HTML)

    async def on_unanswered(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not self.is_admin(update):
            await self.on_unknown(update, context)
            return
        report = await asyncio.to_thread(self._report, dt.timedelta(days=7))
        rows = report["unanswered"][:10] if report else []
        text = "过去7天没答上的问题：\n" + ("\n".join(f"{u['count']}× {u['question']}" for u in rows) or "（没有）")
        await update.effective_message.reply_text(html.escape(text), parse_mode=ParseMode.HTML)

    def _report(self, period: dt.timedelta) -> dict | None:
        from bot.reports.report import build_report

        if self.app.repository is None:
            return None
        return build_report(self.app.repository, dt.datetime.now(dt.UTC) - period)

    async def first_time(self, update: Update) -> bool:
        """False for an update seen before (redelivered after a restart, by a webhook retry, or handled by
        another replica): it must not be answered again. Without a database, nothing is checked."""
        repo = self.app.repository
        if repo is None or update.update_id is None:
            return True
        try:
            first = await asyncio.to_thread(repo.claim_update, update.update_id)
        except Exception:  # storage down: answering twice is better than not answering
            log.warning("could not record update id; handling it anyway")
            return True
        if not first:
            log.info("update %s already handled; skipped", update.update_id)
        return first

    def once(self, handler):
        """A command handler that skips redelivered updates."""
        async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            if await self.first_time(update):
                await handler(update, context)

        return guarded

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("error while handling an update: %s", type(context.error).__name__, exc_info=context.error)


def keyboard(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(text, callback_data=data) for text, data in row]
                                 for row in rows])


def _chunks(text: str, limit: int = 4000) -> list[str]:
    return [text[i : i + limit] for i in range(0, len(text), limit)] or [""]


async def remove_feedback_buttons(message: Message | None) -> None:
    """After a rating, the 👍/👎 row goes; suggested questions stay."""
    if message is None or message.reply_markup is None:
        return
    rows = [row for row in message.reply_markup.inline_keyboard
            if not any((b.callback_data or "").startswith(("f+:", "f-:")) for b in row)]
    with contextlib.suppress(BadRequest):  # already edited (a double press): nothing to do
        await message.edit_reply_markup(InlineKeyboardMarkup(rows) if rows else None)
