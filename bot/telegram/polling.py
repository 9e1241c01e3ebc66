"""Fetching updates: the PTB application, long polling (one poller per token) or a webhook,
chat-ordered processing, a 409 from a second poller, and stopping cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable
from typing import Any
from urllib.parse import urlsplit

from telegram import Update
from telegram.error import (
    BadRequest,
    Conflict,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseRateLimiter,
    BaseUpdateProcessor,
)
from telegram.request import HTTPXRequest

from bot.config import TelegramConfig
from bot.platform import CredentialsRejected, PlatformBroken
from bot.telegram.secrecy import TokenRejected
from bot.transport import TransportTaken

log = logging.getLogger("regelkreis.telegram")

AnyApplication = Application[Any, Any, Any, Any, Any, Any]
# Only what the bot acts on: no edited messages (an edit must not run a command twice).
ALLOWED_UPDATES = ("message", "callback_query", "my_chat_member")
RATE_LIMIT_RETRIES = 3


class RejectedToken(TokenRejected, CredentialsRejected):
    """The token Telegram refused: the adapter's TokenRejected, and for `regelkreis run` a
    rejected credential (exit status 6)."""


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Updates of one chat in the order they came, different chats at the same time."""

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: Counter[int] = Counter()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        lock = self._locks.setdefault(chat.id, asyncio.Lock())
        self._users[chat.id] += 1
        try:
            async with lock:
                await coroutine
        finally:
            self._users[chat.id] -= 1
            if self._users[chat.id] == 0:
                del self._users[chat.id]
                del self._locks[chat.id]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


class PollingRequest(HTTPXRequest):
    """The getUpdates connection; counts the polls Telegram answered (see on_poll_error)."""

    def __init__(self) -> None:
        # Two connections: the confirming call on stop must not wait for the cancelled poll's.
        super().__init__(
            connection_pool_size=2, connect_timeout=10, read_timeout=10, pool_timeout=5
        )
        self.answered = 0

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        code, payload = await super().do_request(*args, **kwargs)
        if code == 200:
            self.answered += 1
        return code, payload


class Polling:
    """The application for one bot token and how it gets its updates."""

    def __init__(
        self,
        config: TelegramConfig,
        token: str,
        *,
        rate_limiter: BaseRateLimiter[Any] | None,
        concurrent_updates: int,
        poll_timeout: float,
        send_only: bool,
    ) -> None:
        self.config = config
        self.bot_id = token.split(":", 1)[0]
        self._poll_timeout = poll_timeout
        self._request = PollingRequest()
        self._fatal: BaseException | None = None
        self._fatal_event = asyncio.Event()
        base_url = config.base_url
        builder = (
            ApplicationBuilder()
            .token(token)
            .base_url(base_url)
            .rate_limiter(rate_limiter or AIORateLimiter(max_retries=RATE_LIMIT_RETRIES))
            # Reminders are schedules/' job: PTB's JobQueue stays off.
            .job_queue(None)
            .connect_timeout(10)
            .read_timeout(20)
            .write_timeout(30)
        )
        if send_only:
            # No updater: nothing can poll or listen for a webhook.
            builder = builder.updater(None)
        else:
            builder = builder.concurrent_updates(
                ChatOrderedProcessor(concurrent_updates)
            ).get_updates_request(self._request)
        files_url = config.files_url
        if files_url is not None:
            builder = builder.base_file_url(files_url)
        self.application: AnyApplication = builder.build()

    @property
    def webhook(self) -> bool:
        return bool(self.config.webhook_url)

    @property
    def mode(self) -> str:
        return "webhook" if self.webhook else "long polling"

    async def connect(self) -> None:
        """getMe until Telegram answers: a network outage at start only delays the bot."""
        delay = 1.0
        while True:
            try:
                await self.application.initialize()
                return
            except InvalidToken:
                # PTB's message quotes the token; this one names the setting instead.
                raise RejectedToken(
                    f"Telegram rejected the token of bot {self.bot_id}: check telegram.token "
                    "(or REGELKREIS_TELEGRAM_TOKEN) with BotFather"
                ) from None
            except (NetworkError, RetryAfter) as error:
                if isinstance(error, BadRequest):
                    raise self._broken(error) from error
                log.warning("Telegram not reachable (%s); trying again in %.0f s", error, delay)
                await asyncio.sleep(delay)
                delay = min(60.0, delay * 2)
            except TelegramError as error:  # an answer PTB cannot read: not a Bot API
                raise self._broken(error) from error

    def _broken(self, error: TelegramError) -> PlatformBroken:
        return PlatformBroken(
            f"Telegram: the Bot API at {self.config.base_url} gave no usable answer to getMe "
            f"({error.message}); check telegram.base_url"
        )

    async def start(self) -> None:
        """Start handling updates, fetched by long polling or posted to the webhook."""
        application = self.application
        await application.start()
        updater = application.updater
        assert updater is not None
        config = self.config
        if self.webhook:
            webhook_url = str(config.webhook_url)
            secret = config.webhook_secret
            await updater.start_webhook(
                listen=config.webhook_listen,
                port=config.webhook_port,
                url_path=urlsplit(webhook_url).path.lstrip("/"),
                webhook_url=webhook_url,
                secret_token=secret.get_secret_value() if secret else None,
                allowed_updates=list(ALLOWED_UPDATES),
                drop_pending_updates=False,
            )
        else:
            await updater.start_polling(
                timeout=int(self._poll_timeout),
                allowed_updates=list(ALLOWED_UPDATES),
                drop_pending_updates=False,
                error_callback=self._on_poll_error,
            )

    async def until_fatal(self) -> None:
        """Return never; raise what ended polling (another poller's 409)."""
        await self._fatal_event.wait()
        assert self._fatal is not None
        raise self._fatal

    def _on_poll_error(self, error: TelegramError) -> None:
        """A 409 means a second poller (on another database, or a webhook someone set).

        Telegram answers each of two pollers in turn with 409, so both see it. The one that
        has been polling keeps going; the newcomer, which never got a poll answered, leaves.
        """
        if not isinstance(error, Conflict):
            log.warning("Telegram: polling failed, retrying: %s", error)
        elif self._request.answered == 0 or "webhook is active" in error.message:
            if self._fatal is None:
                self._fatal = TransportTaken(
                    f"Telegram: another process polls bot {self.bot_id} (409 Conflict: "
                    f"{error.message}); only one process may poll a token, stopping this one"
                )
            self._fatal_event.set()
        else:
            log.error(
                "Telegram: another process tries to poll bot %s (409 Conflict); this one "
                "has been polling and goes on, the other should stop",
                self.bot_id,
            )

    async def halt(self) -> None:
        application = self.application
        updater = application.updater
        with contextlib.suppress(Exception):
            if updater is not None and updater.running:
                await updater.stop()  # confirms what was fetched; the queue is still processed
        with contextlib.suppress(Exception):
            if application.running:
                await application.stop()  # answers every update already fetched

    async def shutdown(self) -> None:
        await self.halt()
        with contextlib.suppress(Exception):
            await self.application.shutdown()
