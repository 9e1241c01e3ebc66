"""The Telegram transport: start (the poller lease), run (polling or webhook), stop, and the
Notifier the outbox delivers through."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Message
from telegram.error import TelegramError
from telegram.ext import BaseRateLimiter, ExtBot

from bot.bootstrap import App
from bot.config import TelegramConfig
from bot.platform import ChatNotifier, Platform
from bot.telegram.polling import AnyApplication, Polling
from bot.telegram.render import menu
from bot.telegram.secrecy import protect_token
from bot.telegram.send import Sender
from bot.telegram.updates import Updates
from handlers.core import Language, Reply
from handlers.ports import Delivery, Notifier, Recipient

PLATFORM = "telegram"
log = logging.getLogger("regelkreis.telegram")


class TelegramNotifier(ChatNotifier):
    """Sends to a group, or to a person in their private chat (PRODUCT.md §3)."""


class TelegramTransport:
    """The bot in Telegram groups and private chats: long polling, or a webhook with a secret."""

    platform = PLATFORM

    def __init__(
        self,
        app: App,
        config: TelegramConfig,
        *,
        rate_limiter: BaseRateLimiter[Any] | None = None,
        concurrent_updates: int = 32,
        poll_timeout: float = 10.0,
        send_only: bool = False,
    ) -> None:
        """`send_only`: only the notifier, for `reminders run-due` — no polling, no webhook,
        no menu, no updates answered, and no poller lease (see `start`)."""
        self.app = app
        self.config = config
        self.send_only = send_only
        self._token = config.token.get_secret_value()
        self.bot_id = self._token.split(":", 1)[0]
        self.notifier: Notifier = TelegramNotifier(self)
        self._rate_limiter = rate_limiter
        self._concurrent_updates = concurrent_updates
        self._poll_timeout = poll_timeout
        self.shared = Platform(
            app, PLATFORM, state_prefix=f"{PLATFORM}:", lease=f"telegram-poller:{self.bot_id}"
        )
        self.sender = Sender(self.shared, lambda: self.bot)
        self._polling: Polling | None = None
        self._ready = asyncio.Event()
        self._allowed_adders = frozenset(config.allowed_adders)
        protect_token(self._token)

    async def wait_ready(self, timeout: float) -> bool:
        """True once polling (or the webhook) runs; False if that takes longer than `timeout`."""
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            return False
        return True

    @property
    def webhook(self) -> bool:
        return bool(self.config.webhook_url)

    @property
    def application(self) -> AnyApplication:
        if self._polling is None:
            raise RuntimeError("the Telegram transport has not been started")
        return self._polling.application

    @property
    def bot(self) -> ExtBot[Any]:
        bot: ExtBot[Any] = self.application.bot
        return bot

    # -- Transport ------------------------------------------------------------------------

    async def start(self) -> None:
        """Take the poller lease (no network yet, so a second process leaves at once).

        Send-only, it takes no lease (it does not poll, and a bot starting meanwhile must not
        find the token taken), but leaves at once when a poller holds it: then the bot runs
        and delivers Telegram's reminders itself. A webhook takes no lease either: several
        instances may serve one, the claims keep an update to one answer.
        """
        account = f"Telegram bot {self.bot_id}"
        if self.send_only:
            await self.shared.leave_to_server(account)
        elif not self.webhook:
            await self.shared.take_lease(account)
        self._polling = Polling(
            self.config,
            self._token,
            rate_limiter=self._rate_limiter,
            concurrent_updates=self._concurrent_updates,
            poll_timeout=self._poll_timeout,
            send_only=self.send_only,
        )
        if not self.send_only:
            updates = Updates(
                self.shared,
                self.sender,
                lambda: self.bot,
                bot_id=self.bot_id,
                allowed_adders=self._allowed_adders,
            )
            updates.register(self._polling.application)

    async def run(self) -> None:
        """Connect, publish the menu, then poll (or listen for the webhook) until cancelled.

        Send-only: connect (getMe) and be ready to send until cancelled; nothing else.
        """
        polling = self._polling
        if polling is None:
            raise RuntimeError("the Telegram transport has not been started")
        await polling.connect()
        if self.send_only:
            self._ready.set()
            log.info("Telegram: sending as @%s (send-only)", self.bot.username)
            try:
                await asyncio.Event().wait()  # until cancelled
            finally:
                self._ready.clear()
            return
        await self._publish_menu()
        await polling.start()
        self._ready.set()
        log.info("Telegram: serving as @%s (%s)", self.bot.username, polling.mode)
        try:
            await self.shared.serve(
                polling.until_fatal(),
                lost=f"Telegram: another process took over polling bot {self.bot_id}; stopping",
            )
        finally:
            self._ready.clear()
            await polling.halt()

    async def stop(self) -> None:
        """Finish the updates in hand, close connections and release the lease."""
        await self.shared.drain()  # an import in hand still sends its answer
        if self._polling is not None:
            await self._polling.shutdown()
        await self.shared.release_lease()

    async def _publish_menu(self) -> None:
        """setMyCommands per language; the bot works without a menu, so failures only log."""
        default: Language = self.app.config.bot.language
        languages: list[tuple[Language, str | None]] = [("de", "de"), ("en", "en"), (default, None)]
        for lang, code in languages:
            try:
                await self.bot.set_my_commands(menu(self.shared.menu(lang)), language_code=code)
            except TelegramError as error:
                log.warning(
                    "Telegram: could not publish the command menu (%s): %s",
                    code or "default",
                    error,
                )

    # -- outgoing -------------------------------------------------------------------------

    async def deliver(self, chat_id: int, reply: Reply) -> list[Message]:
        """Send a reply to a chat (split, keyboard, files), as the Notifier does."""
        return await self.sender.deliver(chat_id, reply)

    async def notify(self, recipient: Recipient, message: Reply, idempotency_key: str) -> Delivery:
        """Deliver an outbox message; permanent when it can never work, else temporary."""
        try:
            chat_id = int(recipient.address)
        except ValueError:
            return Delivery.permanent(f"{recipient.address!r} is not a Telegram chat id")
        if not await self.wait_ready(10.0):
            return Delivery.temporary("Telegram is not connected yet")
        if self.send_only and (holder := await self.shared.served_by()) is not None:
            # The bot started while `run-due` sends: from now on it delivers.
            return Delivery.temporary(f"the running bot ({holder}) polls Telegram now")
        return await self.sender.deliver_once(chat_id, message, idempotency_key)


__all__ = ["TelegramNotifier", "TelegramTransport"]
