"""Updates the bot acts on: a message, a button press, a group's migration, being added to
a group, and what no handler expected. Each becomes a conversation call or nothing."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable
from typing import Any

from telegram import Message, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError
from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    ExtBot,
    MessageHandler,
    filters,
)

from bot.platform import Platform
from bot.telegram.parse import command_text
from bot.telegram.polling import AnyApplication
from bot.telegram.render import ALERT_LIMIT, fit
from bot.telegram.send import Sender
from handlers.core import Incoming
from handlers.i18n import bilingual

log = logging.getLogger("regelkreis.telegram")


class Updates:
    """The PTB handlers of one bot: `register` adds them to its application."""

    def __init__(
        self,
        shared: Platform,
        sender: Sender,
        bot: Callable[[], ExtBot[Any]],
        *,
        bot_id: str,
        allowed_adders: frozenset[int],
    ) -> None:
        self.shared = shared
        self.sender = sender
        self._bot = bot
        self.bot_id = bot_id
        self.allowed_adders = allowed_adders

    def register(self, application: AnyApplication) -> None:
        application.add_handler(
            ChatMemberHandler(self.on_membership, ChatMemberHandler.MY_CHAT_MEMBER)
        )
        application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, self.on_migration))
        application.add_handler(CallbackQueryHandler(self.on_button))
        application.add_handler(
            MessageHandler(filters.TEXT & filters.UpdateType.MESSAGE, self.on_message)
        )
        application.add_handler(
            MessageHandler(filters.Document.ALL & filters.UpdateType.MESSAGE, self.on_document)
        )
        application.add_error_handler(self.on_error)

    def _key(self, update: Update) -> str:
        """The claim of an update: each is answered once, also when Telegram resends it."""
        return f"{self.bot_id}:{update.update_id}"

    async def _take(self, update: Update, chat_id: int) -> bool:
        if await self.shared.take(self._key(update), str(chat_id)):
            return True
        log.info("Telegram: update %s was answered before; skipped", update.update_id)
        return False

    async def on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A text message: a command (or a reply to the bot) becomes an Incoming."""
        message = update.message
        if message is None or message.text is None:
            return
        sender = message.from_user
        if sender is None or sender.is_bot:
            return
        chat = message.chat
        replied = message.reply_to_message
        replies_to_bot = bool(
            replied and replied.from_user and replied.from_user.id == context.bot.id
        )
        text = command_text(
            message.text,
            context.bot.username,
            private=chat.type == ChatType.PRIVATE,
            replies_to_bot=replies_to_bot,
        )
        if text is None:
            return
        if message.date < self.shared.oldest():
            if await self._take(update, chat.id):
                log.info("Telegram: not answering %r from %s, older than a day", text, message.date)
            return
        incoming = Incoming(
            platform=self.shared.platform,
            room_id=str(chat.id),
            sender_id=str(sender.id),
            text=text,
            message_id=str(message.message_id),
            sender_name=sender.full_name,
            is_direct=chat.type == ChatType.PRIVATE,
            # The core looks up what that message showed, and picks from a list there.
            reply_to=str(replied.message_id) if replies_to_bot and replied else None,
            sent_at=message.date,
        )
        await self.shared.in_turn(incoming, self._reply(update, message, incoming))

    async def _reply(
        self,
        update: Update,
        message: Message,
        incoming: Incoming,
        file: tuple[str, bytes | None, int] | None = None,
    ) -> None:
        """Answer a message (or a file, with its name, bytes and size) and send the reply."""
        if file is None:
            reply = await self.shared.answer(incoming, self._key(update))
        else:
            name, data, size = file
            reply = await self.shared.received_file(incoming, self._key(update), name, data, size)
        if reply is None:
            return
        in_group = message.chat.type != ChatType.PRIVATE
        await self.sender.answer(
            message.chat.id,
            reply,
            incoming=incoming,
            reply_to=message.message_id if in_group else None,
            # Privacy mode hides a bare "2" in a group; a reply to the list reaches the bot.
            force_reply=in_group and reply.outcome == "ambiguous",
        )

    async def on_document(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A file: downloaded when it can be a plan (getFile, within 20 MB), kept for
        `import`; a caption like `/import` is answered as that command."""
        message = update.message
        if message is None or message.document is None:
            return
        sender = message.from_user
        if sender is None or sender.is_bot:
            return
        chat = message.chat
        if message.date < self.shared.oldest():
            await self._take(update, chat.id)
            return
        document = message.document
        replied = message.reply_to_message
        replies_to_bot = bool(
            replied and replied.from_user and replied.from_user.id == context.bot.id
        )
        caption = message.caption or ""
        text = command_text(
            caption,
            context.bot.username,
            private=chat.type == ChatType.PRIVATE,
            replies_to_bot=replies_to_bot,
        )
        name = document.file_name or "plan"
        size = document.file_size or 0
        data: bytes | None = None
        if self.shared.accepts_file(name, document.file_size):
            try:
                found = await self._bot().get_file(document.file_id)
                data = bytes(await found.download_as_bytearray())
            except TelegramError as error:  # over 20 MB, or gone: `import` says why
                log.warning("Telegram: could not download %r: %s", name, error)
        incoming = Incoming(
            platform=self.shared.platform,
            room_id=str(chat.id),
            sender_id=str(sender.id),
            text=text or "",
            message_id=str(message.message_id),
            sender_name=sender.full_name,
            is_direct=chat.type == ChatType.PRIVATE,
        )
        await self.shared.in_turn(
            incoming, self._reply(update, message, incoming, (name, data, size))
        )

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A quick answer: the command it stands for, with the version its message showed."""
        query = update.callback_query
        if query is None:
            return
        message = query.message
        if message is None or query.data is None:
            await self.sender.answer_query(query.id)
            return
        chat_id = message.chat.id
        decoded = await self.sender.decode(query.data)
        if decoded is None:
            if await self._take(update, chat_id):
                await self.sender.answer_query(query.id, "?")
            return
        command, shown = decoded
        incoming = Incoming(
            platform=self.shared.platform,
            room_id=str(chat_id),
            sender_id=str(query.from_user.id),
            text=command,
            message_id=str(message.message_id),
            shown=shown,
            sender_name=query.from_user.full_name,
            is_direct=message.chat.type == ChatType.PRIVATE,
        )
        reply = await self.shared.answer(incoming, self._key(update))
        if reply is None:
            return
        toast = fit(reply.plain(), ALERT_LIMIT)
        if reply.outcome == "ok" and isinstance(message, Message):
            answered = await self.sender.answer_query(query.id, toast)
            edited = await self.sender.show_done(message, query.data, query.from_user, reply)
            if not edited and not answered:
                await self.sender.answer(
                    chat_id, reply, incoming=incoming, reply_to=message.message_id
                )
            return
        # Refused, outdated or invalid: said the same way as to the typed command.
        await self.sender.answer_query(query.id, toast, alert=True)
        await self.sender.answer(chat_id, reply, incoming=incoming, reply_to=message.message_id)

    async def on_migration(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A group became a supergroup: its room link follows the new chat id."""
        message = update.message
        if message is None:
            return
        if message.migrate_to_chat_id:
            await self.sender.follow_migration(message.chat.id, message.migrate_to_chat_id)
        elif message.migrate_from_chat_id:
            await self.sender.follow_migration(message.migrate_from_chat_id, message.chat.id)

    async def on_membership(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Added to a group by someone the configuration does not allow: say so and leave."""
        change = update.my_chat_member
        if change is None or change.chat.type == ChatType.PRIVATE:
            return
        joined = change.new_chat_member.status in (
            ChatMemberStatus.MEMBER,
            ChatMemberStatus.ADMINISTRATOR,
        ) and change.old_chat_member.status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED)
        chat = change.chat
        if not joined:
            log.info(
                "Telegram: membership in %s (%s) is now %s",
                chat.id,
                chat.title,
                change.new_chat_member.status,
            )
            return
        adder = change.from_user
        if adder.id in self.allowed_adders or await self.shared.may_invite(str(adder.id)):
            log.info("Telegram: added to %s (%s) by %s", chat.id, chat.title, adder.id)
            return
        if not await self._take(update, chat.id):
            return
        if await self.shared.is_linked(str(chat.id)):
            return  # an administrator linked this room already
        log.warning(
            "Telegram: leaving %s (%s): added by %s, who is not in telegram.allowed_adders",
            chat.id,
            chat.title,
            adder.id,
        )
        bot = self._bot()
        with contextlib.suppress(TelegramError):
            await bot.send_message(chat.id, bilingual("telegram.leave_group"))
        try:
            await bot.leave_chat(chat.id)
        except TelegramError as error:
            log.warning("Telegram: could not leave %s: %s", chat.id, error)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Anything the handlers did not expect: logged with an id, a short apology in chat."""
        error_id = uuid.uuid4().hex[:8]
        log.error(
            "Telegram: error %s while handling an update: %r",
            error_id,
            context.error,
            exc_info=context.error,
        )
        if isinstance(update, Update) and update.effective_chat is not None:
            with contextlib.suppress(TelegramError):
                await self._bot().send_message(
                    update.effective_chat.id, bilingual("telegram.apology", error_id=error_id)
                )
