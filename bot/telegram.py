"""Telegram: python-telegram-bot 22 turning updates into Incoming and Replies into Bot API calls."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import html
import logging
import re
import uuid
import warnings
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from telegram import (
    BotCommand,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    Update,
    User,
)
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
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
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    ExtBot,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot.bootstrap import App
from bot.config import TelegramConfig
from bot.transport import TransportTaken
from handlers.commands import Command, fold
from handlers.core import Attachment, Incoming, Language, Reply, ShownVersion
from handlers.dispatch import Claim
from handlers.ports import Delivery, Notifier, Recipient
from storage.locks import acquire, holder_of, new_holder, release
from storage.models import PendingChoice, PlatformState, ProcessedMessage, RoomLink, SentMessage

PLATFORM = "telegram"
P = ParamSpec("P")
T = TypeVar("T")
log = logging.getLogger("regelkreis.telegram")

TEXT_LIMIT = 4096  # UTF-16 code units per message (Bot API sendMessage)
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64  # bytes
ALERT_LIMIT = 200  # characters of an answerCallbackQuery text
# Only what the bot acts on: no edited messages (an edit must not run a command twice).
ALLOWED_UPDATES = ("message", "callback_query", "my_chat_member")
# The poller lease outlives a missed renewal or two; a crashed holder frees it after this.
LEASE_TTL = timedelta(seconds=30)
LEASE_RENEW_SECONDS = 10.0
# Telegram keeps unconfirmed updates for a day; anything older is not answered any more.
MAX_BACKLOG = timedelta(days=1, minutes=5)
# How long processed update ids are kept: Telegram redelivers within a day, and after a week
# without updates it may start the ids anew at random, so they must be gone by then.
DEDUPE_KEEP = timedelta(days=2)
PRUNE_EVERY = timedelta(hours=1)
DELIVERED_KEEP = timedelta(days=30)
RATE_LIMIT_RETRIES = 3
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
_BUTTON = re.compile(r"^(?:(\d+)\.(\d+))?\|(.+)$", re.DOTALL)
_LEAVE_NOTE = (
    "Regelkreis verlässt diese Gruppe: hinzufügen dürfen den Bot nur die in der Konfiguration "
    "genannten Personen. / Regelkreis leaves this group: only the people named in its "
    "configuration may add it."
)
_APOLOGY = (
    "Entschuldigung, da ist etwas schiefgegangen (Fehler-ID {error_id}). / "
    "Sorry, something went wrong (error id {error_id})."
)

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


class TokenRejected(Exception):
    """Telegram does not know the configured bot token."""


# -- rendering: Reply → Telegram HTML -----------------------------------------------------


def utf16_len(text: str) -> int:
    """Telegram counts message length in UTF-16 code units (an emoji is two)."""
    return len(text.encode("utf-16-le")) // 2


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def reply_lines(reply: Reply) -> list[str]:
    """The reply as HTML lines: a bold heading per block, an empty line between blocks."""
    lines: list[str] = []
    for block in reply.blocks:
        part = ([f"<b>{_escape(block.heading)}</b>"] if block.heading else []) + [
            _escape(line) for line in block.lines
        ]
        if not part:
            continue
        if lines:
            lines.append("")
        lines.extend(part)
    return lines


def _split_line(line: str, limit: int) -> list[str]:
    """A single line longer than a message: cut between words, never inside a tag or entity."""
    bold = line.startswith("<b>") and line.endswith("</b>")
    raw = html.unescape(line[3:-4] if bold else line)
    room = limit - (7 if bold else 0)
    pieces: list[str] = []
    current = ""
    for word in re.split(r"(?<=\s)", raw):
        while word:
            candidate = current + word
            if utf16_len(_escape(candidate)) <= room:
                current, word = candidate, ""
            elif current:
                pieces.append(current)
                current = ""
            else:  # one word longer than a message: cut it by characters
                cut = len(word)
                while utf16_len(_escape(word[:cut])) > room:
                    cut = max(1, cut * room // max(1, utf16_len(_escape(word[:cut]))) - 1)
                pieces.append(word[:cut])
                word = word[cut:]
    if current:
        pieces.append(current)
    return [f"<b>{_escape(p)}</b>" if bold else _escape(p) for p in pieces]


def split_html(lines: Sequence[str], limit: int = TEXT_LIMIT) -> list[str]:
    """Pack HTML lines into messages of at most `limit` UTF-16 units, breaking between lines.

    Every line is closed HTML on its own, so each message parses; the length is measured on
    the HTML, which is never shorter than what Telegram counts, so no message is refused.
    """
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        for piece in [line] if utf16_len(line) <= limit else _split_line(line, limit):
            length = utf16_len(piece)
            if current and size + 1 + length > limit:
                chunks.append("\n".join(current).strip("\n"))
                current, size = [], 0
            if not current and not piece.strip():
                continue  # a message never starts with the blank line between blocks
            size += (1 if current else 0) + length
            current.append(piece)
    if current:
        chunks.append("\n".join(current).strip("\n"))
    return [c for c in chunks if c.strip()]


def render_chunks(reply: Reply, limit: int = TEXT_LIMIT) -> list[str]:
    return split_html(reply_lines(reply), limit)


def _fit(text: str, limit: int) -> str:
    """Plain text cut to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _caption(attachment: Attachment) -> str | None:
    if not attachment.caption:
        return None
    pieces = _split_line(_escape(attachment.caption), CAPTION_LIMIT)
    return pieces[0] if pieces else None


def menu_name(command: Command, lang: Language) -> str:
    """The command as Telegram's menu accepts it: lowercase ASCII, digits, underscores."""
    if lang == "de":
        return command.ascii
    return re.sub(r"[^a-z0-9_]", "", fold(command.en[0]).replace(" ", "_"))[:32]


def menu(commands: Sequence[Command], lang: Language) -> list[BotCommand]:
    entries: list[BotCommand] = []
    seen: set[str] = set()
    for command in commands:
        name = menu_name(command, lang)
        if not command.listed or not name or name in seen:
            continue
        seen.add(name)
        entries.append(BotCommand(name, _fit(command.help_line(lang), 256) or name))
    return entries[:100]


def command_text(text: str, username: str, *, private: bool, replies_to_bot: bool) -> str | None:
    """The command a message carries for the dispatcher, or None when it is not for the bot.

    `/ziel_neu@bot "X"` → `ziel_neu "X"` (the registry folds `_` to a space); `/fällig 30` is
    read from the text, since Telegram's command entity ends at the first non-ASCII letter.
    In a private chat, and in a reply to the bot, the slash is optional.
    """
    text = text.strip()
    if text.startswith("/"):
        found = re.match(r"/(\S*)(.*)", text, re.DOTALL)
        assert found is not None
        name, at, target = found.group(1).partition("@")
        if at and target.casefold() != username.casefold():
            return None  # meant for another bot in the group
        if not name:
            return None
        if name.casefold() == "start":  # Telegram's Start button: show what the bot can do
            return "hilfe"
        return (name + found.group(2)).strip()
    mention = f"@{username}".casefold()
    if username and text.casefold().startswith(mention):
        rest = text[len(mention) :]
        if not rest or not (rest[0].isalnum() or rest[0] == "_"):
            return rest.lstrip(" ,:").strip() or "hilfe"
    if private or replies_to_bot:
        return text
    return None


def encode_button(command: str, shown: ShownVersion | None) -> str:
    """Callback data: `<measure>.<version>|<command>`; `|<command>` when no version was shown."""
    prefix = f"{shown.measure_id}.{shown.version}" if shown else ""
    return f"{prefix}|{command}"


def decode_button(data: str) -> tuple[str, ShownVersion | None] | None:
    found = _BUTTON.match(data)
    if found is None:
        return None
    shown = None
    if found.group(1):
        shown = ShownVersion(int(found.group(1)), int(found.group(2)))
    return found.group(3), shown


def _retry_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that the type becomes timedelta
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


# -- keeping the token out of the logs ----------------------------------------------------


class _RedactToken(logging.Filter):
    """Replaces the bot token in a record; attached to the loggers that could print URLs."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg = message.replace(self.token, "<token>")
            record.args = ()
        return True


def protect_token(token: str) -> None:
    """httpx logs each request URL (which holds the token) at INFO, PTB the API URL at DEBUG."""
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    names = [
        name
        for name in list(logging.Logger.manager.loggerDict)
        if name.split(".")[0] in ("telegram", "httpx", "httpcore", "tornado")
    ]
    for name in ["telegram", "httpx", "httpcore", *names]:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactToken) and f.token == token for f in logger.filters):
            logger.addFilter(_RedactToken(token))


# -- update processing --------------------------------------------------------------------


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


class _PollingRequest(HTTPXRequest):
    """The getUpdates connection; counts the polls Telegram answered (see _on_poll_error)."""

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


class TelegramNotifier:
    """Sends to a group, or to a person in their private chat (PRODUCT.md §3)."""

    platform = PLATFORM

    def __init__(self, transport: TelegramTransport) -> None:
        self._transport = transport

    async def send(self, recipient: Recipient, message: Reply, *, idempotency_key: str) -> Delivery:
        return await self._transport.notify(recipient, message, idempotency_key)


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
        self._holder = new_holder()
        self._lease = f"telegram-poller:{self.bot_id}"
        self._leased = False
        self._polling = _PollingRequest()
        self._application: AnyApplication | None = None
        self._ready = asyncio.Event()
        self._fatal: BaseException | None = None
        self._fatal_event = asyncio.Event()
        admins = {
            int(a.split(":", 1)[1])
            for a in app.config.bot.admins
            if a.startswith("telegram:") and a.split(":", 1)[1].lstrip("-").isdigit()
        }
        self._allowed_adders = frozenset(config.allowed_adders) | admins
        protect_token(self._token)

    async def _db(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """The adapter's short database work, in the worker pool the dispatcher uses too.

        A single thread of its own was tried and measured worse: one claim waiting for
        SQLite's write lock then stalls every update behind it.
        """
        return await asyncio.to_thread(function, *args, **kwargs)

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
        if self._application is None:
            raise RuntimeError("the Telegram transport has not been started")
        return self._application

    @property
    def bot(self) -> ExtBot[Any]:
        bot: ExtBot[Any] = self.application.bot
        return bot

    # -- Transport ------------------------------------------------------------------------

    async def start(self) -> None:
        """Take the poller lease (no network yet, so a second process leaves at once).

        Send-only, it takes no lease (it does not poll, and a bot starting meanwhile must not
        find the token taken), but leaves at once when a poller holds it: then the bot runs
        and delivers Telegram's reminders itself.
        """
        if self.send_only:
            holder = await self._poller()
            if holder is not None:
                raise TransportTaken(
                    f"Telegram: bot {self.bot_id} is polled by a running bot ({holder}); "
                    "it delivers the reminders for Telegram"
                )
            self._application = self._build_application()
            return
        if not self.webhook:
            # Leases are about live processes, so they run on the wall clock, not app.clock.
            now = datetime.now(UTC)
            taken = await self._db(
                acquire, self.app.uows, self._lease, self._holder, now, LEASE_TTL
            )
            if not taken:
                holder = await self._db(holder_of, self.app.uows, self._lease, now)
                raise TransportTaken(
                    f"Telegram: bot {self.bot_id} is already polled by another process "
                    f"({holder or 'unknown'}); only one process may poll a token"
                )
            self._leased = True
        self._application = self._build_application()

    async def run(self) -> None:
        """Connect, publish the menu, then poll (or listen for the webhook) until cancelled.

        Send-only: connect (getMe) and be ready to send until cancelled; nothing else.
        """
        application = self.application
        await self._initialize(application)
        if self.send_only:
            self._ready.set()
            log.info("Telegram: sending as @%s (send-only)", self.bot.username)
            try:
                await asyncio.Event().wait()  # until cancelled
            finally:
                self._ready.clear()
            return
        await self._publish_menu()
        await self._db(self._prune)
        await application.start()
        updater = application.updater
        assert updater is not None
        if self.webhook:
            webhook_url = str(self.config.webhook_url)
            secret = self.config.webhook_secret
            await updater.start_webhook(
                listen=self.config.webhook_listen,
                port=self.config.webhook_port,
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
        self._ready.set()
        log.info("Telegram: serving as @%s (%s)", self.bot.username, self._mode())
        try:
            await self._watch()
        finally:
            self._ready.clear()
            await self._halt()

    async def stop(self) -> None:
        """Finish the updates in hand, close connections and release the lease."""
        await self._halt()
        if self._application is not None:
            with contextlib.suppress(Exception):
                await self._application.shutdown()
        if self._leased:
            self._leased = False
            with contextlib.suppress(Exception):
                await self._db(release, self.app.uows, self._lease, self._holder)

    async def _poller(self) -> str | None:
        """The process that polls this bot now (holds the poller lease), if any."""
        return await self._db(holder_of, self.app.uows, self._lease, datetime.now(UTC))

    def _mode(self) -> str:
        return "webhook" if self.webhook else "long polling"

    def _build_application(self) -> AnyApplication:
        base_url = self.config.base_url
        builder = (
            ApplicationBuilder()
            .token(self._token)
            .base_url(base_url)
            .rate_limiter(self._rate_limiter or AIORateLimiter(max_retries=RATE_LIMIT_RETRIES))
            # Reminders are schedules/' job: PTB's JobQueue stays off.
            .job_queue(None)
            .connect_timeout(10)
            .read_timeout(20)
            .write_timeout(30)
        )
        if self.send_only:
            # No updater: nothing can poll or listen for a webhook.
            builder = builder.updater(None)
        else:
            builder = builder.concurrent_updates(
                ChatOrderedProcessor(self._concurrent_updates)
            ).get_updates_request(self._polling)
        if base_url.endswith("/bot"):
            builder = builder.base_file_url(base_url[: -len("bot")] + "file/bot")
        application: AnyApplication = builder.build()
        if self.send_only:
            return application
        application.add_handler(
            ChatMemberHandler(self._on_membership, ChatMemberHandler.MY_CHAT_MEMBER)
        )
        application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, self._on_migration))
        application.add_handler(CallbackQueryHandler(self._on_button))
        application.add_handler(
            MessageHandler(filters.TEXT & filters.UpdateType.MESSAGE, self._on_message)
        )
        application.add_error_handler(self._on_error)
        return application

    async def _initialize(self, application: AnyApplication) -> None:
        """getMe until Telegram answers: a network outage at start only delays the bot."""
        delay = 1.0
        while True:
            try:
                await application.initialize()
                return
            except InvalidToken:
                # PTB's message quotes the token; this one names the setting instead.
                raise TokenRejected(
                    f"Telegram rejected the token of bot {self.bot_id}: check telegram.token "
                    "(or REGELKREIS_TELEGRAM_TOKEN) with BotFather"
                ) from None
            except (NetworkError, RetryAfter) as error:
                if isinstance(error, BadRequest):
                    raise
                log.warning("Telegram not reachable (%s); trying again in %.0f s", error, delay)
                await asyncio.sleep(delay)
                delay = min(60.0, delay * 2)

    async def _publish_menu(self) -> None:
        """setMyCommands per language; the bot works without a menu, so failures only log."""
        commands = self.app.dispatcher.registry.commands
        default: Language = self.app.config.bot.language
        languages: list[tuple[Language, str | None]] = [("de", "de"), ("en", "en"), (default, None)]
        for lang, code in languages:
            try:
                await self.bot.set_my_commands(menu(commands, lang), language_code=code)
            except TelegramError as error:
                log.warning(
                    "Telegram: could not publish the command menu (%s): %s",
                    code or "default",
                    error,
                )

    async def _watch(self) -> None:
        """Renew the poller lease and prune old marks; end when polling finds another poller
        or the lease is lost."""
        pruned = datetime.now(UTC)
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._fatal_event.wait(), LEASE_RENEW_SECONDS)
            if self._fatal is not None:
                raise self._fatal
            if datetime.now(UTC) - pruned > PRUNE_EVERY:
                pruned = datetime.now(UTC)
                try:
                    await self._db(self._prune)
                except Exception as error:  # pruning can wait for the next round
                    log.warning("Telegram: could not prune processed updates: %s", error)
            if not self._leased:
                continue
            try:
                kept = await self._db(
                    acquire, self.app.uows, self._lease, self._holder, datetime.now(UTC), LEASE_TTL
                )
            except Exception as error:  # the database may be briefly away; the lease lasts
                log.warning("Telegram: could not renew the poller lease: %s", error)
                continue
            if not kept:
                self._leased = False
                raise TransportTaken(
                    f"Telegram: another process took over polling bot {self.bot_id}; stopping"
                )

    def _on_poll_error(self, error: TelegramError) -> None:
        """A 409 means a second poller (on another database, or a webhook someone set).

        Telegram answers each of two pollers in turn with 409, so both see it. The one that
        has been polling keeps going; the newcomer, which never got a poll answered, leaves.
        """
        if isinstance(error, Conflict):
            if self._polling.answered == 0 or "webhook is active" in error.message:
                self._fail(
                    TransportTaken(
                        f"Telegram: another process polls bot {self.bot_id} (409 Conflict: "
                        f"{error.message}); only one process may poll a token, stopping this one"
                    )
                )
            else:
                log.error(
                    "Telegram: another process tries to poll bot %s (409 Conflict); this one "
                    "has been polling and goes on, the other should stop",
                    self.bot_id,
                )
        else:
            log.warning("Telegram: polling failed, retrying: %s", error)

    def _fail(self, error: BaseException) -> None:
        if self._fatal is None:
            self._fatal = error
        self._fatal_event.set()

    async def _halt(self) -> None:
        application = self._application
        if application is None:
            return
        updater = application.updater
        with contextlib.suppress(Exception):
            if updater is not None and updater.running:
                await updater.stop()  # confirms what was fetched; the queue is still processed
        with contextlib.suppress(Exception):
            if application.running:
                await application.stop()  # answers every update already fetched

    # -- incoming -------------------------------------------------------------------------

    async def _on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
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
        if self._too_old(message.date):
            if await self._first_time(update, chat.id):
                log.info("Telegram: not answering %r from %s, older than a day", text, message.date)
            return
        shown = None
        if replies_to_bot and replied is not None:
            shown = await self._db(self._shown, chat.id, replied.message_id)
        incoming = Incoming(
            platform=PLATFORM,
            room_id=str(chat.id),
            sender_id=str(sender.id),
            text=text,
            message_id=str(message.message_id),
            shown=shown,
            sender_name=sender.full_name,
            is_direct=chat.type == ChatType.PRIVATE,
            reply_to=str(replied.message_id) if replies_to_bot and replied else None,
        )
        reply = await self._ask_once(incoming, update.update_id)
        if reply is None:
            return
        in_group = chat.type != ChatType.PRIVATE
        sent = await self._answer(
            chat.id,
            reply,
            reply_to=message.message_id if in_group else None,
            # Privacy mode hides a bare "2" in a group; a reply to the list reaches the bot.
            force_reply=in_group and reply.outcome == "ambiguous",
        )
        if reply.outcome == "ambiguous" and sent:
            # A reply to this list picks from it, even after other commands (PRODUCT.md §2).
            await self._db(self.app.dispatcher.remember_list, incoming, str(sent[0].message_id))

    async def _on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A quick answer: the command it stands for, with the version its message showed."""
        query = update.callback_query
        if query is None:
            return
        message = query.message
        if message is None or query.data is None:
            await self._answer_query(query.id)
            return
        chat_id = message.chat.id
        decoded = await self._decode(query.data)
        if decoded is None:
            if await self._first_time(update, chat_id):
                await self._answer_query(query.id, "?")
            return
        command, shown = decoded
        incoming = Incoming(
            platform=PLATFORM,
            room_id=str(chat_id),
            sender_id=str(query.from_user.id),
            text=command,
            message_id=str(message.message_id),
            shown=shown,
            sender_name=query.from_user.full_name,
            is_direct=message.chat.type == ChatType.PRIVATE,
        )
        reply = await self._ask_once(incoming, update.update_id)
        if reply is None:
            return
        toast = _fit(reply.plain(), ALERT_LIMIT)
        if reply.outcome == "ok" and isinstance(message, Message):
            answered = await self._answer_query(query.id, toast)
            edited = await self._show_done(message, query.data, query.from_user, reply)
            if not edited and not answered:
                await self._answer(chat_id, reply, reply_to=message.message_id)
            return
        # Refused, outdated or invalid: said the same way as to the typed command.
        await self._answer_query(query.id, toast, alert=True)
        await self._answer(chat_id, reply, reply_to=message.message_id)

    async def _on_migration(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A group became a supergroup: its room link follows the new chat id."""
        message = update.message
        if message is None:
            return
        if message.migrate_to_chat_id:
            await self._follow_migration(message.chat.id, message.migrate_to_chat_id)
        elif message.migrate_from_chat_id:
            await self._follow_migration(message.migrate_from_chat_id, message.chat.id)

    async def _on_membership(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
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
        if adder.id in self._allowed_adders or await self._db(
            self.app.dispatcher.is_admin, PLATFORM, str(adder.id)
        ):
            log.info("Telegram: added to %s (%s) by %s", chat.id, chat.title, adder.id)
            return
        if not await self._first_time(update, chat.id):
            return
        if await self._db(self._is_known_room, chat.id):
            return  # an administrator linked this room already
        log.warning(
            "Telegram: leaving %s (%s): added by %s, who is not in telegram.allowed_adders",
            chat.id,
            chat.title,
            adder.id,
        )
        with contextlib.suppress(TelegramError):
            await self.bot.send_message(chat.id, _LEAVE_NOTE)
        try:
            await self.bot.leave_chat(chat.id)
        except TelegramError as error:
            log.warning("Telegram: could not leave %s: %s", chat.id, error)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
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
                await self.bot.send_message(
                    update.effective_chat.id, _APOLOGY.format(error_id=error_id)
                )

    def _too_old(self, sent: datetime) -> bool:
        return sent < self.app.clock() - MAX_BACKLOG

    # -- outgoing -------------------------------------------------------------------------

    async def deliver(
        self,
        chat_id: int,
        reply: Reply,
        *,
        reply_to: int | None = None,
        force_reply: bool = False,
    ) -> list[Message]:
        """Send a reply (text split at the limit, keyboard, files); follows a migrated group."""
        try:
            return await self._send(chat_id, reply, reply_to, force_reply)
        except ChatMigrated as moved:
            await self._follow_migration(chat_id, moved.new_chat_id)
            return await self._send(moved.new_chat_id, reply, None, force_reply)

    async def _send(
        self, chat_id: int, reply: Reply, reply_to: int | None, force_reply: bool
    ) -> list[Message]:
        bot = self.bot
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
            last = index == len(reply.attachments) - 1
            markup = keyboard if last else None
            if attachment.is_image:
                message = await bot.send_photo(
                    chat_id,
                    attachment.path,
                    caption=_caption(attachment),
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                )
            else:
                message = await bot.send_document(
                    chat_id,
                    attachment.path,
                    caption=_caption(attachment),
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                    filename=attachment.path.name,
                )
            sent.append(message)
        if reply.subject is not None and sent:
            ids = [m.message_id for m in sent]
            await self._db(self._remember, chat_id, ids, reply.subject)
        return sent

    async def _answer(
        self,
        chat_id: int,
        reply: Reply,
        *,
        reply_to: int | None = None,
        force_reply: bool = False,
    ) -> list[Message]:
        try:
            return await self.deliver(chat_id, reply, reply_to=reply_to, force_reply=force_reply)
        except TelegramError as error:
            log.warning("Telegram: could not answer in chat %s: %s", chat_id, error)
            return []

    async def _answer_query(self, query_id: str, text: str = "", *, alert: bool = False) -> bool:
        try:
            await self.bot.answer_callback_query(query_id, text or None, show_alert=alert)
        except TelegramError as error:  # pressed long ago (e.g. while the bot was down)
            log.info("Telegram: could not answer a button press: %s", error)
            return False
        return True

    async def _show_done(self, message: Message, data: str, who: User, reply: Reply) -> bool:
        """Edit the button message: what was done and by whom; its buttons are spent."""
        label = ""
        if message.reply_markup is not None:
            for row in message.reply_markup.inline_keyboard:
                for button in row:
                    if button.callback_data == data:
                        label = button.text
        addition = "\n".join(
            [
                f"<b>{_escape(label)}</b> · {_escape(who.full_name)}" if label else "",
                *reply_lines(reply),
            ]
        ).strip("\n")
        try:
            original = message.text_html if message.text else ""
        except (TypeError, ValueError):
            original = _escape(message.text or "")
        room = TEXT_LIMIT - utf16_len(addition) - 2
        if room < 0:
            addition = split_html([addition], TEXT_LIMIT)[0]
            original = ""
        elif utf16_len(original) > room:
            # Keep the whole lines of the original message that fit.
            kept: list[str] = []
            for line in original.split("\n"):
                if utf16_len("\n".join([*kept, line])) > room - 2:
                    break
                kept.append(line)
            original = "\n".join(kept)
        text = f"{original}\n\n{addition}" if original else addition
        try:
            await self.bot.edit_message_text(
                text,
                chat_id=message.chat.id,
                message_id=message.message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=None,
                link_preview_options=NO_PREVIEW,
            )
        except TelegramError as error:
            log.warning("Telegram: could not update the button message: %s", error)
            return False
        if reply.subject is not None:
            await self._db(
                self._remember, message.chat.id, [message.message_id], reply.subject, fresh=False
            )
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
        await self._db(self._put_state, f"telegram:button:{digest}", data)
        return f"#{digest}"

    async def _decode(self, data: str) -> tuple[str, ShownVersion | None] | None:
        if data.startswith("#"):
            stored = await self._db(self._get_state, f"telegram:button:{data[1:]}")
            return decode_button(stored) if stored else None
        return decode_button(data)

    # -- Notifier -------------------------------------------------------------------------

    async def notify(self, recipient: Recipient, message: Reply, idempotency_key: str) -> Delivery:
        """Deliver an outbox message; permanent when it can never work, else temporary."""
        try:
            chat_id = int(recipient.address)
        except ValueError:
            return Delivery.permanent(f"{recipient.address!r} is not a Telegram chat id")
        if not await self.wait_ready(10.0):
            return Delivery.temporary("Telegram is not connected yet")
        if self.send_only and (holder := await self._poller()) is not None:
            # The bot started while `run-due` sends: from now on it delivers.
            return Delivery.temporary(f"the running bot ({holder}) polls Telegram now")
        key = (
            "telegram:delivered:"
            + hashlib.sha256(f"{idempotency_key}|{chat_id}".encode()).hexdigest()[:40]
        )
        before = await self._db(self._get_state, key)
        if before is not None:  # sent already; the outbox did not get to mark it
            return Delivery.delivered(before or None)
        try:
            sent = await self.deliver(chat_id, message)
        except Forbidden as error:  # never started the bot, blocked it, or removed from group
            return Delivery.permanent(error.message)
        except BadRequest as error:  # chat not found, or a message Telegram will never take
            return Delivery.permanent(error.message)
        except RetryAfter as error:
            return Delivery.temporary(f"flood limit: retry after {_retry_seconds(error):.0f} s")
        except TelegramError as error:  # network errors, timeouts, Telegram's 5xx
            return Delivery.temporary(error.message)
        message_id = str(sent[-1].message_id) if sent else ""
        await self._db(self._put_state, key, message_id)
        return Delivery.delivered(message_id or None)

    # -- database (run in worker threads) -------------------------------------------------

    async def _ask_once(self, incoming: Incoming, update_id: int) -> Reply | None:
        """The core's answer, once per update: a change commits together with its claim."""
        claim = Claim(PLATFORM, self._claim_key(update_id), incoming.room_id, self.app.clock())
        return await self.app.ask_once(incoming, claim)

    async def _first_time(self, update: Update, chat_id: int) -> bool:
        """Claim an update by its id: each is answered once, also when Telegram resends it."""
        return await self._db(self._claim, update.update_id, chat_id)

    def _claim(self, update_id: int, chat_id: int) -> bool:
        claim = Claim(PLATFORM, self._claim_key(update_id), str(chat_id), self.app.clock())
        if self.app.dispatcher.record_claim(claim):
            return True
        log.info("Telegram: update %s was answered before; skipped", update_id)
        return False

    def _claim_key(self, update_id: int) -> str:
        return f"{self.bot_id}:{update_id}"

    def _shown(self, chat_id: int, message_id: int) -> ShownVersion | None:
        with self.app.uows() as uow:
            sent = uow.session.execute(
                select(SentMessage).where(
                    SentMessage.platform == PLATFORM,
                    SentMessage.room_id == str(chat_id),
                    SentMessage.message_id == str(message_id),
                )
            ).scalar_one_or_none()
            return ShownVersion(sent.measure_id, sent.measure_version) if sent else None

    def _remember(
        self, chat_id: int, message_ids: list[int], shown: ShownVersion, *, fresh: bool = True
    ) -> None:
        """Bot messages that showed a measure: a reply to one carries the version it showed.

        `fresh`: messages just sent (their ids are new); else an edited message is updated.
        """
        with self.app.uows(write=True) as uow:
            session = uow.session
            for message_id in message_ids:
                where = (
                    SentMessage.platform == PLATFORM,
                    SentMessage.room_id == str(chat_id),
                    SentMessage.message_id == str(message_id),
                )
                values = {
                    "measure_id": shown.measure_id,
                    "measure_version": shown.version,
                    "sent_at": self.app.clock(),
                }
                if not fresh:
                    changed = session.execute(update(SentMessage).where(*where).values(**values))
                    if getattr(changed, "rowcount", 0):
                        continue
                session.execute(
                    insert(SentMessage).values(
                        platform=PLATFORM,
                        room_id=str(chat_id),
                        message_id=str(message_id),
                        **values,
                    )
                )
            uow.commit()

    async def _follow_migration(self, old: int, new: int) -> None:
        moved = await self._db(self._move_room, old, new)
        if moved:
            log.info("Telegram: group %s became supergroup %s; its room link follows", old, new)

    def _move_room(self, old: int, new: int) -> bool:
        with self.app.uows(write=True) as uow:
            session = uow.session
            exists = session.execute(
                select(RoomLink.id).where(
                    RoomLink.platform == PLATFORM, RoomLink.room_id == str(new)
                )
            ).first()
            if exists is not None:
                return False
            moved = session.execute(
                update(RoomLink)
                .where(RoomLink.platform == PLATFORM, RoomLink.room_id == str(old))
                .values(room_id=str(new))
            )
            session.execute(
                update(PendingChoice)
                .where(PendingChoice.platform == PLATFORM, PendingChoice.room_id == str(old))
                .values(room_id=str(new))
            )
            uow.commit()
            return bool(getattr(moved, "rowcount", 0))

    def _is_known_room(self, chat_id: int) -> bool:
        with self.app.uows() as uow:
            return (
                uow.session.execute(
                    select(RoomLink.id).where(
                        RoomLink.platform == PLATFORM, RoomLink.room_id == str(chat_id)
                    )
                ).first()
                is not None
            )

    def _get_state(self, key: str) -> str | None:
        with self.app.uows() as uow:
            state = uow.session.get(PlatformState, key)
            return state.value if state else None

    def _put_state(self, key: str, value: str) -> None:
        with self.app.uows(write=True) as uow:
            state = uow.session.get(PlatformState, key)
            if state is None:
                uow.session.add(PlatformState(key=key, value=value, updated_at=self.app.clock()))
            else:
                state.value = value
                state.updated_at = self.app.clock()
            with contextlib.suppress(IntegrityError):  # a concurrent call wrote the same
                uow.commit()

    def _prune(self) -> None:
        """Forget processed update ids and delivery marks long past any redelivery."""
        now = self.app.clock()
        with self.app.uows(write=True) as uow:
            uow.session.execute(
                delete(ProcessedMessage).where(
                    ProcessedMessage.platform == PLATFORM,
                    ProcessedMessage.received_at < now - DEDUPE_KEEP,
                )
            )
            uow.session.execute(
                delete(PlatformState).where(
                    PlatformState.key.startswith("telegram:delivered:"),
                    PlatformState.updated_at < now - DELIVERED_KEEP,
                )
            )
            uow.commit()


__all__ = ["TelegramNotifier", "TelegramTransport", "TokenRejected"]
