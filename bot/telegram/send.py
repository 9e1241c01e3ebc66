"""Sending to Telegram: a Reply as messages, files and a keyboard; edits after a button
press; an outbox message sent once; a group that moved to a supergroup followed."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any

from telegram import (
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    User,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError
from telegram.ext import ExtBot

from bot.platform import Platform
from bot.telegram.parse import CALLBACK_DATA_LIMIT, decode_button, encode_button, retry_seconds
from bot.telegram.render import caption, done_text, escape, render_chunks
from handlers.core import Incoming, Reply, ShownVersion
from handlers.ports import Delivery

log = logging.getLogger("regelkreis.telegram")
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


class Sender:
    """What the bot sends, and what the core is told its messages showed."""

    def __init__(self, shared: Platform, bot: Callable[[], ExtBot[Any]]) -> None:
        self.shared = shared
        self._bot = bot

    async def deliver(
        self,
        chat_id: int,
        reply: Reply,
        *,
        reply_to: int | None = None,
        force_reply: bool = False,
        incoming: Incoming | None = None,
    ) -> list[Message]:
        """Send a reply (text split at the limit, keyboard, files); follows a migrated group.
        `incoming`: the message it answers (a numbered list is then remembered for it)."""
        try:
            sent = await self._send(chat_id, reply, reply_to, force_reply)
        except ChatMigrated as moved:
            await self.follow_migration(chat_id, moved.new_chat_id)
            chat_id = moved.new_chat_id
            sent = await self._send(chat_id, reply, None, force_reply)
        await self.shared.sent(str(chat_id), [m.message_id for m in sent], reply, incoming=incoming)
        return sent

    async def answer(
        self,
        chat_id: int,
        reply: Reply,
        *,
        incoming: Incoming,
        reply_to: int | None = None,
        force_reply: bool = False,
    ) -> list[Message]:
        """`deliver` an answer; a failure is logged (the outbox does not retry answers)."""
        try:
            return await self.deliver(
                chat_id, reply, reply_to=reply_to, force_reply=force_reply, incoming=incoming
            )
        except TelegramError as error:
            log.warning("Telegram: could not answer in chat %s: %s", chat_id, error)
            return []

    async def _send(
        self, chat_id: int, reply: Reply, reply_to: int | None, force_reply: bool
    ) -> list[Message]:
        bot = self._bot()
        chunks = render_chunks(reply)
        keyboard: InlineKeyboardMarkup | ForceReply | None = await self._keyboard(reply)
        if keyboard is None and force_reply:
            keyboard = ForceReply(selective=True, input_field_placeholder="1, 2, 3 …")
        sent: list[Message] = []
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1 and not reply.attachments
            sent.append(
                await bot.send_message(
                    chat_id,
                    chunk,
                    parse_mode=ParseMode.HTML,
                    reply_markup=keyboard if last else None,
                    reply_parameters=(
                        ReplyParameters(reply_to, allow_sending_without_reply=True)
                        if reply_to and index == 0
                        else None
                    ),
                    link_preview_options=NO_PREVIEW,
                )
            )
        for index, attachment in enumerate(reply.attachments):
            options: dict[str, Any] = {
                "caption": caption(attachment),
                "parse_mode": ParseMode.HTML,
                "reply_markup": keyboard if index == len(reply.attachments) - 1 else None,
            }
            if attachment.is_image:
                message = await bot.send_photo(chat_id, attachment.path, **options)
            else:
                name = attachment.name
                message = await bot.send_document(
                    chat_id, attachment.path, filename=name, **options
                )
            sent.append(message)
        return sent

    async def answer_query(self, query_id: str, text: str = "", *, alert: bool = False) -> bool:
        try:
            await self._bot().answer_callback_query(query_id, text or None, show_alert=alert)
        except TelegramError as error:  # pressed long ago (e.g. while the bot was down)
            log.info("Telegram: could not answer a button press: %s", error)
            return False
        return True

    async def show_done(self, message: Message, data: str, who: User, reply: Reply) -> bool:
        """Edit the button message: what was done and by whom; its buttons are spent."""
        label = ""
        if message.reply_markup is not None:
            for row in message.reply_markup.inline_keyboard:
                for button in row:
                    if button.callback_data == data:
                        label = button.text
        try:
            original = message.text_html if message.text else ""
        except (TypeError, ValueError):
            original = escape(message.text or "")
        try:
            await self._bot().edit_message_text(
                done_text(original, label, who.full_name, reply),
                chat_id=message.chat.id,
                message_id=message.message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=None,
                link_preview_options=NO_PREVIEW,
            )
        except TelegramError as error:
            log.warning("Telegram: could not update the button message: %s", error)
            return False
        await self.shared.sent(str(message.chat.id), [message.message_id], reply, edited=True)
        return True

    async def _keyboard(self, reply: Reply) -> InlineKeyboardMarkup | None:
        if not reply.quick_answers:
            return None
        buttons = [
            InlineKeyboardButton(qa.label, callback_data=await self._encode(qa.command, reply))
            for qa in reply.quick_answers
        ]
        return InlineKeyboardMarkup([buttons[i : i + 3] for i in range(0, len(buttons), 3)])

    async def _encode(self, command: str, reply: Reply) -> str:
        data = encode_button(command, reply.subject)
        if len(data.encode("utf-8")) <= CALLBACK_DATA_LIMIT:
            return data
        # Longer than Telegram carries: keep it in the database, put its hash on the button.
        digest = hashlib.sha256(data.encode("utf-8")).hexdigest()[:32]
        await self.shared.put(f"button:{digest}", data)
        return f"#{digest}"

    async def decode(self, data: str) -> tuple[str, ShownVersion | None] | None:
        if data.startswith("#"):
            stored = await self.shared.get(f"button:{data[1:]}")
            return decode_button(stored) if stored else None
        return decode_button(data)

    async def deliver_once(self, chat_id: int, message: Reply, idempotency_key: str) -> Delivery:
        """An outbox message, sent once: permanent when it can never work, else temporary."""
        key = hashlib.sha256(f"{idempotency_key}|{chat_id}".encode()).hexdigest()[:40]
        before = await self.shared.delivered(key)
        if before is not None:  # sent already; the outbox did not get to mark it
            return Delivery.delivered(before or None)
        try:
            sent = await self.deliver(chat_id, message)
        except Forbidden as error:  # never started the bot, blocked it, or removed from group
            return Delivery.permanent(error.message)
        except BadRequest as error:  # chat not found, or a message Telegram will never take
            return Delivery.permanent(error.message)
        except RetryAfter as error:
            return Delivery.temporary(f"flood limit: retry after {retry_seconds(error):.0f} s")
        except TelegramError as error:  # network errors, timeouts, Telegram's 5xx
            return Delivery.temporary(error.message)
        message_id = str(sent[-1].message_id) if sent else ""
        await self.shared.mark_delivered(key, message_id)
        return Delivery.delivered(message_id or None)

    async def follow_migration(self, old: int, new: int) -> None:
        if await self.shared.move_room(str(old), str(new)):
            log.info("Telegram: group %s became supergroup %s; its room link follows", old, new)
