"""Telegram handlers: an update becomes a kit `Incoming`; the `Reply` goes out as HTML with buttons."""

from __future__ import annotations

import contextlib
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.admin.commands import TELEGRAM_LIMIT
from bot.channels.kit import Action, ChannelKit, Incoming, Resident
from bot.channels.telegram.buttons import decode
from bot.channels.telegram.rendering import render
from bot.dialogue.reply import Reply

log = logging.getLogger(__name__)

CHANNEL = "telegram"
NAVIGATION_COMMANDS = {"start": "welcome", "help": "help", "topics": "topics"}
ADMIN_COMMANDS = ("reload", "stats", "unanswered")


class TelegramChannel:
    def __init__(self, kit: ChannelKit, admin_ids: tuple[int, ...] = ()):
        self.kit = kit
        self.admins = set(admin_ids)

    # -- plumbing ---------------------------------------------------------------------------------

    def resident(self, update: Update) -> Resident:
        """One conversation per user per chat (a group is many conversations); only hashes leave here."""
        chat = update.effective_chat.id if update.effective_chat else 0
        user = update.effective_user.id if update.effective_user else None
        return self.kit.resident(CHANNEL, user, f"{chat}:{user}")

    def incoming(self, update: Update, action: Action) -> Incoming:
        key = str(update.update_id) if update.update_id is not None else None
        return Incoming(self.resident(update), action, key=key)

    async def send(self, message: Message, reply: Reply) -> None:
        rendered = render(reply, dict(self.kit.dialogue.live.snapshot.kb.replies))
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
        message = update.effective_message
        await self.kit.receive(self.incoming(update, Action("say", text)), lambda r: self.send(message, r))

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        action = decode(query.data)
        if action is None:
            await query.answer(await self.kit.text_for("stale_button", self.resident(update)))
            return
        reply = await self.kit.receive(self.incoming(update, action))
        if reply is None:  # a redelivered press
            await query.answer()
            return
        if action.kind in ("helpful", "not_helpful") and reply.status != "notice":
            await query.answer(reply.text)  # a toast: the conversation itself is not interrupted
            await remove_feedback_buttons(query.message)
            return
        await query.answer()
        await self.send(query.message, reply)

    async def on_navigation(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        command = (update.effective_message.text or "").split()[0].lstrip("/").split("@")[0].lower()
        message = update.effective_message
        await self.kit.receive(self.incoming(update, Action(NAVIGATION_COMMANDS[command])),
                               lambda r: self.send(message, r))

    async def on_admin(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Administrators' commands for `ADMIN_IDS`; any other command (/topic NAME, /foo, a resident's
        /reload) is the dialogue's, which lists a topic or says in one line that there is no such command."""
        text = update.effective_message.text or ""
        command = text.split()[0].lstrip("/").split("@")[0].lower() if text.split() else ""
        user = update.effective_user
        if user is None or user.id not in self.admins or command not in ADMIN_COMMANDS:
            message = update.effective_message
            await self.kit.receive(self.incoming(update, Action("say", text)), lambda r: self.send(message, r))
            return
        if not await self.kit.first_time(CHANNEL, str(update.update_id)):
            return
        # Plain text (no parse mode): file names and residents' questions need no escaping, and the
        # length the kit keeps within is the length Telegram counts.
        text = await self.kit.run_admin(command, TELEGRAM_LIMIT)
        await update.effective_message.reply_text(text, disable_web_page_preview=True, do_quote=False)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("error while handling an update: %s", type(context.error).__name__, exc_info=context.error)


def keyboard(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(text, callback_data=data) for text, data in row]
                                 for row in rows])


async def remove_feedback_buttons(message: Message | None) -> None:
    """After a rating, the 👍/👎 row goes; suggested questions stay."""
    if message is None or message.reply_markup is None:
        return
    rows = [row for row in message.reply_markup.inline_keyboard
            if not any((b.callback_data or "").startswith(("f+:", "f-:")) for b in row)]
    with contextlib.suppress(BadRequest):  # already edited (a double press): nothing to do
        await message.edit_reply_markup(InlineKeyboardMarkup(rows) if rows else None)
