"""A Telegram Bot API server for the tests: the documented wire format and behaviour that matters.

python-telegram-bot reaches it through `base_url`; nothing of PTB is mocked. The server keeps
chats, users, messages and the update queue, answers the methods the bot uses the way
https://core.telegram.org/bots/api documents them (status codes, `description` texts,
`parameters.retry_after` / `migrate_to_chat_id`), records every call, and lets a test inject
what people do: type a message, press a button, add the bot to a group, upgrade a group to a
supergroup. Where it cannot be Telegram (privacy mode details, real flood limits, HTTPS-only
webhooks) docs/telegram.md says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web

TEXT_LIMIT = 4096  # UTF-16 code units after entity parsing
CAPTION_LIMIT = 1024
# Bots may download files up to 20 MB (getFile refuses larger ones).
FILE_DOWNLOAD_LIMIT = 20 * 1024 * 1024
CALLBACK_DATA_LIMIT = 64  # bytes
CALLBACK_ANSWER_LIMIT = 200
# The update types Telegram sends when a bot did not choose (everything but chat_member & co.).
DEFAULT_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "callback_query",
        "inline_query",
        "chosen_inline_result",
        "my_chat_member",
        "shipping_query",
        "pre_checkout_query",
        "poll",
        "poll_answer",
    }
)

JSON = dict[str, Any]


class ApiError(Exception):
    """A Bot API error answer: {"ok": false, "error_code", "description", "parameters"}."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def bad_request(description: str, parameters: JSON | None = None) -> ApiError:
    return ApiError(400, f"Bad Request: {description}", parameters)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# -- Telegram's HTML parse mode ------------------------------------------------------------

_TAG = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)"
    r"((?:\s+[a-zA-Z][a-zA-Z0-9-]*(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?)*)\s*>"
)
_ATTR = re.compile(r"([a-zA-Z][a-zA-Z0-9-]*)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'>]+)))?")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
# The tags https://core.telegram.org/bots/api#html-style lists, and the entity each makes.
_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


def parse_html(text: str) -> tuple[str, list[JSON]]:
    """The plain text and entities of an HTML-formatted message, or ApiError like Telegram's."""

    def offset(index: int) -> int:
        return len(text[:index].encode("utf-8"))

    def fail(reason: str) -> ApiError:
        return bad_request(f"can't parse entities: {reason}")

    plain: list[str] = []
    length = 0  # UTF-16 units written so far
    entities: list[JSON] = []
    stack: list[tuple[str, int, dict[str, str]]] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "<":
            tag = _TAG.match(text, i)
            if tag is None:
                raise fail(f"Unexpected end of name token at byte offset {offset(i)}")
            closing, name = tag.group(1) == "/", tag.group(2).lower()
            if closing:
                if not stack or stack[-1][0] != name:
                    expected = f'expected "</{stack[-1][0]}>", ' if stack else ""
                    raise fail(
                        f'Unmatched end tag at byte offset {offset(i)}, {expected}found "</{name}>"'
                    )
                _name, start, attrs = stack.pop()
                if length > start:
                    entity: JSON = {"type": _TAGS[name], "offset": start, "length": length - start}
                    if name == "a":
                        entity["url"] = attrs.get("href", "")
                    entities.append(entity)
            else:
                if name not in _TAGS:
                    raise fail(f'Unsupported start tag "{name}" at byte offset {offset(i)}')
                attrs = {
                    a.group(1).lower(): a.group(2) or a.group(3) or a.group(4) or ""
                    for a in _ATTR.finditer(tag.group(3))
                }
                if name == "span" and attrs.get("class") != "tg-spoiler":
                    raise fail(f'Tag "span" needs class "tg-spoiler" at byte offset {offset(i)}')
                stack.append((name, length, attrs))
            i = tag.end()
            continue
        if char == "&":
            entity_ref = _ENTITY.match(text, i)
            if entity_ref is None:
                raise fail(f"Can't find end of the entity starting at byte offset {offset(i)}")
            ref = entity_ref.group(1)
            if ref.startswith("#"):
                code = int(ref[2:], 16) if ref[1:2] in "xX" else int(ref[1:])
                char = chr(code) if 0 < code < 0x110000 else "\ufffd"
            else:
                char = _NAMED[ref]
            i = entity_ref.end()
        elif char == ">":
            # The documentation requires `&gt;`; being strict here keeps the bot honest.
            raise fail(f"Character '>' is reserved and must be escaped at byte offset {offset(i)}")
        else:
            i += 1
        plain.append(char)
        length += utf16_len(char)
    if stack:
        raise fail(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return "".join(plain), sorted(entities, key=lambda e: (e["offset"], -e["length"]))


def command_entities(text: str) -> list[JSON]:
    """The bot_command entity Telegram marks: only the ASCII part of `/fällig` counts."""
    found = re.match(r"/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text)
    if not found:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(found.group())}]


# -- state ---------------------------------------------------------------------------------


@dataclass
class ChatState:
    chat: JSON
    bot_status: str = "member"  # member, administrator, left, kicked
    started: bool = True  # private chats: the user has pressed Start
    blocked: bool = False
    migrated_to: int | None = None
    privacy: bool = True  # groups: the bot only sees commands, replies to it, service messages
    messages: dict[int, JSON] = field(default_factory=dict)
    next_message_id: int = 1

    @property
    def id(self) -> int:
        return int(self.chat["id"])

    @property
    def type(self) -> str:
        return str(self.chat["type"])


@dataclass
class Call:
    """One Bot API request as the server saw it."""

    method: str
    params: JSON
    at: float  # time.monotonic()
    ok: bool = True
    error_code: int | None = None
    description: str | None = None
    result: Any = None


@dataclass
class Failure:
    """An injected failure for the next call(s) of a method."""

    code: int = 429
    description: str = "Too Many Requests: retry after 1"
    parameters: JSON | None = None
    network: bool = False  # drop the connection without an answer
    body: bytes | None = None  # answer 200 with this body instead: a broken Bot API


@dataclass
class _Poll:
    terminated: bool = False


class WireServer:
    """The fake Bot API. Start it, point PTB's `base_url` at `base_url`, inject, wait, inspect."""

    def __init__(
        self,
        token: str,
        *,
        username: str = "regelkreis_test_bot",
        clock: Callable[[], float] = time.time,
        host: str = "127.0.0.1",
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":")[0])
        self.bot_user: JSON = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Regelkreis",
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.clock = clock
        self.host = host
        self.port = 0
        self.users: dict[int, JSON] = {}
        self.chats: dict[int, ChatState] = {}
        self.calls: list[Call] = []
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.webhook: JSON = {}
        self.pending: list[JSON] = []  # updates not yet confirmed
        self.confirmed: list[JSON] = []
        self.allowed_updates: frozenset[str] = DEFAULT_UPDATE_TYPES
        self.callback_queries: dict[str, JSON] = {}
        self.failures: dict[str, deque[Failure]] = {}
        self.webhook_deliveries: list[tuple[int, int]] = []  # (update_id, HTTP status)
        # When set, every handled call is also timed here (the benchmark's wire share).
        self.handling_seconds = 0.0
        self.on_call: Callable[[Call], None] | None = None
        # Files people sent: file_id -> (file_path, bytes); what the download serves.
        self.files: dict[str, tuple[str, bytes]] = {}
        self.downloads: list[str] = []  # file paths downloaded, in order
        self._file_ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._supergroup_ids = itertools.count(1_000_000_001)
        self._poll: _Poll | None = None
        self._waiters: list[asyncio.Future[None]] = []
        self._runner: web.AppRunner | None = None
        self._pusher: asyncio.Task[None] | None = None
        self._http: ClientSession | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("GET", "/file/bot{token}/{file_path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port or 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])  # the bound port, when 0 was asked for

    async def close(self) -> None:
        if self._poll is not None:
            self._poll.terminated = True
        self._notify()
        if self._pusher is not None:
            self._pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pusher
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> WireServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/bot"

    # -- what people do ----------------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str = "de",
    ) -> JSON:
        user: JSON = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": language_code,
        }
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        self.users[user_id] = user
        return user

    def private_chat(self, user: JSON, *, started: bool = True) -> ChatState:
        """The user's private chat with the bot; `started=False`: they never pressed Start."""
        chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        if "last_name" in user:
            chat["last_name"] = user["last_name"]
        state = ChatState(chat, started=started)
        self.chats[state.id] = state
        return state

    def group(
        self,
        chat_id: int,
        title: str,
        *,
        bot_member: bool = True,
        supergroup: bool = False,
        privacy: bool = True,
    ) -> ChatState:
        chat = {"id": chat_id, "type": "supergroup" if supergroup else "group", "title": title}
        state = ChatState(chat, bot_status="member" if bot_member else "left", privacy=privacy)
        self.chats[chat_id] = state
        return state

    def add_bot(self, group: ChatState, by: JSON) -> None:
        """`by` adds the bot to the group: a my_chat_member update and the service message."""
        old = group.bot_status
        group.bot_status = "member"
        self._push_update(
            "my_chat_member",
            {
                "chat": group.chat,
                "from": by,
                "date": self._now(),
                "old_chat_member": {"status": old, "user": self.bot_user},
                "new_chat_member": {"status": "member", "user": self.bot_user},
            },
        )
        self._user_message(group, by, {"new_chat_members": [self.bot_user]})

    def send_text(
        self, user: JSON, chat: ChatState, text: str, reply_to: JSON | None = None
    ) -> JSON:
        """The user types `text` in `chat` (optionally as a reply to a message)."""
        if chat.type == "private" and text.startswith("/start"):
            chat.started = True  # pressing Start is what lets the bot write to the user
        extra: JSON = {"text": text}
        entities = command_entities(text)
        if entities:
            extra["entities"] = entities
        if reply_to is not None:
            extra["reply_to_message"] = self._without_reply(reply_to)
        return self._user_message(chat, user, extra, deliver=self._bot_sees(chat, text, reply_to))

    def send_document(
        self,
        user: JSON,
        chat: ChatState,
        file_name: str,
        data: bytes,
        *,
        caption: str | None = None,
        file_size: int | None = None,
        mime_type: str = "application/octet-stream",
    ) -> JSON:
        """The user sends a file (with an optional caption). `file_size` overrides what the
        document says its size is, so a test can send a "25 MB" file without the bytes;
        `getFile` then refuses it as Telegram does for files over 20 MB."""
        number = next(self._file_ids)
        file_id = f"user-doc-{number}"
        self.files[file_id] = (f"documents/file_{number}_{file_name}", data)
        extra: JSON = {
            "document": {
                "file_id": file_id,
                "file_unique_id": f"u-user-doc-{number}",
                "file_name": file_name,
                "mime_type": mime_type,
                "file_size": len(data) if file_size is None else file_size,
            }
        }
        if caption is not None:
            extra["caption"] = caption
            entities = command_entities(caption)
            if entities:
                extra["caption_entities"] = entities
        seen = self._bot_sees(chat, caption or "", None) if chat.type != "private" else None
        return self._user_message(
            chat, user, extra, deliver=seen if seen is not None else chat.started
        )

    def press(self, user: JSON, message: JSON, label: str | None = None) -> JSON:
        """The user presses the button `label` (default: the first) under a bot message."""
        chat = self.chats[int(message["chat"]["id"])]
        current = chat.messages[int(message["message_id"])]
        rows = current.get("reply_markup", {}).get("inline_keyboard", [])
        buttons = [b for row in rows for b in row if "callback_data" in b]
        chosen = [b for b in buttons if label is None or b["text"] == label]
        if not chosen:
            raise AssertionError(f"no button {label!r} under message {current['message_id']}")
        query: JSON = {
            "id": str(next(self._query_ids) + 4_000_000_000_000_000_000),
            "from": user,
            "message": current,
            "chat_instance": str(chat.id * 7),
            "data": chosen[0]["callback_data"],
        }
        self.callback_queries[query["id"]] = {
            "query": query,
            "answered": None,
            "at": time.monotonic(),
        }
        self._push_update("callback_query", query)
        return query

    def migrate(self, group: ChatState, by: JSON) -> ChatState:
        """Upgrade a group to a supergroup: a new chat id, a service message in each chat."""
        new_id = -(1_000_000_000_000 + next(self._supergroup_ids))
        chat = dict(group.chat, id=new_id, type="supergroup")
        supergroup = ChatState(chat, bot_status=group.bot_status, privacy=group.privacy)
        self.chats[new_id] = supergroup
        group.migrated_to = new_id
        self._user_message(group, by, {"migrate_to_chat_id": new_id})
        self._user_message(supergroup, by, {"migrate_from_chat_id": group.id})
        return supergroup

    def redeliver(self, from_update_id: int = 0) -> None:
        """Telegram never got the bot's confirmation (a crash): confirmed updates come again."""
        again = [u for u in self.confirmed if u["update_id"] >= from_update_id]
        self.confirmed = [u for u in self.confirmed if u["update_id"] < from_update_id]
        self.pending = sorted(again + self.pending, key=lambda u: u["update_id"])
        self._notify()

    def fail(
        self,
        method: str,
        *,
        retry_after: int | None = None,
        times: int = 1,
        code: int | None = None,
        description: str | None = None,
        network: bool = False,
        body: bytes | None = None,
    ) -> None:
        """The next `times` calls of `method` fail: 429 with retry_after, another status, the
        connection drops without an answer, or (`body`) a 200 with a body that is no Bot API
        answer."""
        if retry_after is not None:
            failure = Failure(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )
        else:
            failure = Failure(
                code or 500, description or "Internal Server Error", None, network, body
            )
        queue = self.failures.setdefault(method.lower(), deque())
        queue.extend([failure] * times)

    # -- what the bot did --------------------------------------------------------------------

    def calls_of(self, method: str, *, ok: bool | None = None) -> list[Call]:
        return [c for c in self.calls if c.method == method.lower() and (ok is None or c.ok == ok)]

    def bot_messages(self, chat: ChatState | int) -> list[JSON]:
        """The bot's messages in a chat as they are now (after edits), oldest first."""
        state = self.chats[chat if isinstance(chat, int) else chat.id]
        return [m for m in state.messages.values() if m.get("from", {}).get("id") == self.bot_id]

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Wait until `predicate()` is truthy (re-checked after every call and injection)."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the bot did not do what the test waited for")
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, remaining)

    async def next_bot_messages(
        self, chat: ChatState, count: int = 1, timeout: float = 10.0
    ) -> list[JSON]:
        """Wait for `count` new bot messages in `chat` beyond those present now."""
        seen = len(self.bot_messages(chat))
        await self.wait_for(lambda: len(self.bot_messages(chat)) >= seen + count, timeout)
        return self.bot_messages(chat)[seen:]

    # -- the HTTP side -----------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return self._error(ApiError(401, "Unauthorized"))
        method = request.match_info["method"].lower()
        try:
            params = await self._params(request)
        except ConnectionResetError:  # the client went away mid-request (a bot stopping)
            return web.Response(status=499)
        started = time.perf_counter()
        call = Call(method, params, time.monotonic())
        failure = self._next_failure(method)
        if failure is not None and failure.network:
            self.calls.append(call)
            call.ok, call.description = False, "connection dropped"
            self._notify()
            assert request.transport is not None
            request.transport.abort()
            raise web.HTTPInternalServerError()  # never reaches the client
        if failure is not None and failure.body is not None:
            call.ok, call.description = False, "broken answer"
            self.calls.append(call)
            self._notify()
            return web.Response(body=failure.body, content_type="text/html")
        try:
            if failure is not None:
                raise ApiError(failure.code, failure.description, failure.parameters)
            handler = getattr(self, f"_m_{method}", None)
            if handler is None:
                raise ApiError(404, "Not Found")
            if method == "getupdates":
                self.handling_seconds += time.perf_counter() - started
                result = await handler(params)
                started = time.perf_counter()
            else:
                result = handler(params)
        except ApiError as error:
            call.ok, call.error_code, call.description = False, error.code, error.description
            self.calls.append(call)
            self._notify()
            response = self._error(error)
        else:
            call.result = result
            self.calls.append(call)
            self._notify()
            response = web.json_response({"ok": True, "result": result})
        self.handling_seconds += time.perf_counter() - started
        if self.on_call is not None:
            self.on_call(call)
        return response

    @staticmethod
    def _error(error: ApiError) -> web.Response:
        body: JSON = {"ok": False, "error_code": error.code, "description": error.description}
        if error.parameters:
            body["parameters"] = error.parameters
        return web.json_response(body, status=error.code)

    async def _params(self, request: web.Request) -> JSON:
        """Query string, JSON, form or multipart parameters, JSON-decoded where Telegram would."""
        raw: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                raw.update(await request.json())
            else:
                form = await request.post()
                for key, value in form.items():
                    raw[key] = value
        params: JSON = {}
        for key, value in raw.items():
            if isinstance(value, str) and key not in _STRING_PARAMS:
                try:
                    params[key] = json.loads(value)
                    continue
                except ValueError:
                    pass
            params[key] = value
        for key, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                params[key] = raw.get(value.removeprefix("attach://"), value)
        return params

    def _next_failure(self, method: str) -> Failure | None:
        queue = self.failures.get(method)
        if queue:
            return queue.popleft()
        return None

    # -- methods -------------------------------------------------------------------------------

    def _m_getme(self, params: JSON) -> JSON:
        return self.bot_user

    async def _m_getupdates(self, params: JSON) -> list[JSON]:
        if self.webhook.get("url"):
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        if self._poll is not None:
            # Telegram ends the request that was waiting, not the new one.
            self._poll.terminated = True
            self._notify()
        poll = self._poll = _Poll()
        offset = int(params.get("offset") or 0)
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = float(params.get("timeout") or 0)
        if params.get("allowed_updates") is not None:
            self.allowed_updates = frozenset(params["allowed_updates"]) or DEFAULT_UPDATE_TYPES
        if offset:
            self._confirm_below(offset)
        deadline = time.monotonic() + timeout
        try:
            while True:
                if poll.terminated:
                    raise ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; make "
                        "sure that only one bot instance is running",
                    )
                ready = [u for u in self.pending if self._allowed(u)][:limit]
                remaining = deadline - time.monotonic()
                if ready or remaining <= 0:
                    return ready
                waiter = asyncio.get_running_loop().create_future()
                self._waiters.append(waiter)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter, remaining)
        finally:
            if self._poll is poll:
                self._poll = None

    def _m_setwebhook(self, params: JSON) -> bool:
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise bad_request("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self.pending.clear()
        if params.get("allowed_updates") is not None:
            self.allowed_updates = frozenset(params["allowed_updates"]) or DEFAULT_UPDATE_TYPES
        self.webhook = {"url": str(params.get("url") or ""), "secret_token": secret}
        if self.webhook["url"] and self._pusher is None:
            self._pusher = asyncio.create_task(self._push_to_webhook())
        return True

    def _m_deletewebhook(self, params: JSON) -> bool:
        if params.get("drop_pending_updates"):
            self.pending.clear()
        self.webhook = {}
        return True

    def _m_getwebhookinfo(self, params: JSON) -> JSON:
        return {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self.pending),
        }

    def _m_sendmessage(self, params: JSON) -> JSON:
        chat = self._chat_to_send(params)
        text, entities = self._formatted(
            params.get("text"), params.get("parse_mode"), TEXT_LIMIT, "message is too long"
        )
        if not text.strip():
            raise bad_request("message text is empty")
        extra: JSON = {"text": text}
        if entities:
            extra["entities"] = entities
        return self._bot_message(chat, params, extra)

    def _m_getfile(self, params: JSON) -> JSON:
        file_id = str(params.get("file_id") or "")
        stored = self.files.get(file_id)
        if stored is None:
            raise bad_request("invalid file_id")
        path, _data = stored
        size = self._document_size(file_id)
        if size > FILE_DOWNLOAD_LIMIT:
            raise bad_request("file is too big")
        return {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_size": size,
            "file_path": path,
        }

    def _document_size(self, file_id: str) -> int:
        """The size the document message claimed (a test may claim more than it sent)."""
        for chat in self.chats.values():
            for message in chat.messages.values():
                document = message.get("document") or {}
                if document.get("file_id") == file_id:
                    return int(document.get("file_size") or 0)
        return len(self.files[file_id][1])

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["file_path"]
        for stored_path, data in self.files.values():
            if stored_path == path:
                self.downloads.append(path)
                return web.Response(body=data, content_type="application/octet-stream")
        return web.Response(status=404)

    def _m_senddocument(self, params: JSON) -> JSON:
        chat = self._chat_to_send(params)
        upload = self._upload(params.get("document"))
        extra: JSON = {
            "document": {
                "file_id": f"doc-{len(self.calls)}",
                "file_unique_id": f"u-doc-{len(self.calls)}",
                "file_name": upload.filename,
                "mime_type": upload.content_type,
                "file_size": len(upload.file.read()),
            }
        }
        self._caption(params, extra)
        return self._bot_message(chat, params, extra)

    def _m_sendphoto(self, params: JSON) -> JSON:
        chat = self._chat_to_send(params)
        upload = self._upload(params.get("photo"))
        content = upload.file.read()
        if not content.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF8", b"RIFF")):
            raise bad_request("IMAGE_PROCESS_FAILED")
        extra: JSON = {
            "photo": [
                {
                    "file_id": f"photo-{len(self.calls)}",
                    "file_unique_id": f"u-photo-{len(self.calls)}",
                    "width": 800,
                    "height": 600,
                    "file_size": len(content),
                }
            ]
        }
        self._caption(params, extra)
        return self._bot_message(chat, params, extra)

    def _m_editmessagetext(self, params: JSON) -> JSON:
        chat = self._known_chat(params.get("chat_id"))
        message = chat.messages.get(int(params.get("message_id") or 0))
        if message is None:
            raise bad_request("message to edit not found")
        if message.get("from", {}).get("id") != self.bot_id:
            raise bad_request("message can't be edited")
        text, entities = self._formatted(
            params.get("text"), params.get("parse_mode"), TEXT_LIMIT, "MESSAGE_TOO_LONG"
        )
        if not text.strip():
            raise bad_request("message text is empty")
        markup = self._markup(params.get("reply_markup"))
        if (
            text == message.get("text")
            and entities == message.get("entities", [])
            and markup == message.get("reply_markup")
        ):
            raise bad_request(
                "message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup "
                "of the message"
            )
        message["text"] = text
        message["entities"] = entities
        message["edit_date"] = self._now()
        message["html"] = params.get("text")
        if markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup
        return message

    def _m_answercallbackquery(self, params: JSON) -> bool:
        record = self.callback_queries.get(str(params.get("callback_query_id")))
        if record is None or record["answered"] is not None:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = params.get("text")
        if text is not None and len(str(text)) > CALLBACK_ANSWER_LIMIT:
            raise bad_request("MESSAGE_TOO_LONG")
        record["answered"] = {"text": text, "show_alert": bool(params.get("show_alert"))}
        return True

    def _m_setmycommands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("commands must be a list of at most 100 commands")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        language = str(params.get("language_code") or "")
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise bad_request("invalid language code specified")
        scope = (params.get("scope") or {"type": "default"})["type"]
        self.commands[(scope, language)] = commands
        return True

    def _m_getmycommands(self, params: JSON) -> list[JSON]:
        scope = (params.get("scope") or {"type": "default"})["type"]
        return self.commands.get((scope, str(params.get("language_code") or "")), [])

    def _m_deletemycommands(self, params: JSON) -> bool:
        scope = (params.get("scope") or {"type": "default"})["type"]
        self.commands.pop((scope, str(params.get("language_code") or "")), None)
        return True

    def _m_leavechat(self, params: JSON) -> bool:
        chat = self._known_chat(params.get("chat_id"))
        if chat.type == "private":
            raise bad_request("chat member status can't be changed in private chats")
        if chat.bot_status in ("left", "kicked"):
            raise ApiError(403, "Forbidden: bot is not a member of the group chat")
        chat.bot_status = "left"
        return True

    def _m_sendchataction(self, params: JSON) -> bool:
        self._chat_to_send(params)
        return True

    # -- checks the way Telegram makes them -------------------------------------------------

    def _known_chat(self, chat_id: Any) -> ChatState:
        try:
            chat = self.chats.get(int(chat_id))
        except (TypeError, ValueError):
            chat = None
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def _chat_to_send(self, params: JSON) -> ChatState:
        chat = self._known_chat(params.get("chat_id"))
        if chat.migrated_to is not None:
            raise bad_request(
                "group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        if chat.type == "private":
            if chat.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if not chat.started:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        elif chat.bot_status == "kicked":
            raise ApiError(403, f"Forbidden: bot was kicked from the {chat.type} chat")
        elif chat.bot_status == "left":
            raise ApiError(403, f"Forbidden: bot is not a member of the {chat.type} chat")
        return chat

    @staticmethod
    def _formatted(text: Any, parse_mode: Any, limit: int, too_long: str) -> tuple[str, list[JSON]]:
        if text is None:
            raise bad_request("message text is empty")
        text = str(text)
        if parse_mode is None or parse_mode == "":
            plain, entities = text, []
        elif str(parse_mode).lower() == "html":
            plain, entities = parse_html(text)
        else:
            raise bad_request(f"unsupported parse_mode {parse_mode!r} in this test server")
        if utf16_len(plain) > limit:
            raise bad_request(too_long)
        return plain, entities

    def _caption(self, params: JSON, extra: JSON) -> None:
        if params.get("caption") is None:
            return
        caption, entities = self._formatted(
            params["caption"],
            params.get("parse_mode"),
            CAPTION_LIMIT,
            "message caption is too long",
        )
        extra["caption"] = caption
        if entities:
            extra["caption_entities"] = entities

    @staticmethod
    def _upload(value: Any) -> Any:
        if not hasattr(value, "file"):
            raise bad_request("wrong file identifier/HTTP URL specified")
        return value

    @staticmethod
    def _markup(markup: Any) -> JSON | None:
        if not markup:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        rows = markup.get("inline_keyboard")
        if rows is None:
            return markup
        for row in rows:
            for button in row:
                if not str(button.get("text", "")).strip():
                    raise bad_request("BUTTON_TEXT_INVALID")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode("utf-8")) <= 64:
                    raise bad_request("BUTTON_DATA_INVALID")
        return markup

    # -- making messages and updates ---------------------------------------------------------

    def _now(self) -> int:
        return int(self.clock())

    def _bot_message(self, chat: ChatState, params: JSON, extra: JSON) -> JSON:
        markup = self._markup(params.get("reply_markup"))
        reply = params.get("reply_parameters") or {}
        if params.get("reply_to_message_id"):
            reply = {
                "message_id": params["reply_to_message_id"],
                "allow_sending_without_reply": params.get("allow_sending_without_reply"),
            }
        replied: JSON | None = None
        if reply:
            replied = chat.messages.get(int(reply.get("message_id") or 0))
            if replied is None and not reply.get("allow_sending_without_reply"):
                raise bad_request("message to be replied not found")
        message = self._message(chat, self.bot_user, extra)
        if replied is not None:
            message["reply_to_message"] = self._without_reply(replied)
        if markup is not None and "inline_keyboard" in markup:
            # Messages only ever show inline keyboards; ForceReply and reply keyboards act on
            # the client and are not part of the message Telegram returns.
            message["reply_markup"] = markup
        if "text" in extra and params.get("parse_mode"):
            message["html"] = params.get("text")
        return message

    def _message(self, chat: ChatState, sender: JSON, extra: JSON) -> JSON:
        message: JSON = {
            "message_id": chat.next_message_id,
            "from": sender,
            "chat": chat.chat,
            "date": self._now(),
            **extra,
        }
        chat.messages[chat.next_message_id] = message
        chat.next_message_id += 1
        return message

    def _user_message(
        self, chat: ChatState, user: JSON, extra: JSON, *, deliver: bool = True
    ) -> JSON:
        message = self._message(chat, user, extra)
        if deliver:
            self._push_update("message", message)
        else:
            self._notify()
        return message

    def _bot_sees(self, chat: ChatState, text: str, reply_to: JSON | None) -> bool:
        """Privacy mode: in groups the bot gets commands and replies to its own messages."""
        if chat.type == "private":
            return chat.started or text.startswith("/start")
        if chat.bot_status in ("left", "kicked"):
            return False
        if not chat.privacy or text.startswith("/"):
            return True
        return bool(reply_to and reply_to.get("from", {}).get("id") == self.bot_id)

    @staticmethod
    def _without_reply(message: JSON) -> JSON:
        return {k: v for k, v in message.items() if k not in ("reply_to_message", "html")}

    def _push_update(self, kind: str, payload: JSON) -> JSON:
        update = {"update_id": next(self._update_ids), kind: payload}
        self.pending.append(update)
        self._notify()
        return update

    def _allowed(self, update: JSON) -> bool:
        return any(kind in self.allowed_updates for kind in update if kind != "update_id")

    def _confirm_below(self, offset: int) -> None:
        done = [u for u in self.pending if u["update_id"] < offset]
        if done:
            self.confirmed.extend(done)
            self.pending = [u for u in self.pending if u["update_id"] >= offset]

    def _notify(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def _push_to_webhook(self) -> None:
        """Deliver pending updates to the webhook, one at a time, retrying until 2xx."""
        self._http = ClientSession(timeout=ClientTimeout(total=10))
        delay = 0.0
        while True:
            url = self.webhook.get("url")
            ready = [u for u in self.pending if self._allowed(u)] if url else []
            if not ready:
                waiter = asyncio.get_running_loop().create_future()
                self._waiters.append(waiter)
                await waiter
                continue
            update = ready[0]
            headers = {}
            if self.webhook.get("secret_token"):
                headers["X-Telegram-Bot-Api-Secret-Token"] = str(self.webhook["secret_token"])
            try:
                async with self._http.post(str(url), json=update, headers=headers) as response:
                    status = response.status
            except OSError:
                status = 0
            self.webhook_deliveries.append((update["update_id"], status))
            if 200 <= status < 300:
                self._confirm_below(update["update_id"] + 1)
                delay = 0.0
                self._notify()
            else:
                delay = min(5.0, delay * 2 or 0.2)
                await asyncio.sleep(delay)


# Parameters that are strings on the wire even when they look like JSON ("123", "true").
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "url",
        "secret_token",
        "language_code",
        "description",
        "short_description",
        "name",
        "title",
        "emoji",
    }
)


def texts(messages: Iterable[JSON]) -> list[str]:
    return [str(m.get("text", m.get("caption", ""))) for m in messages]
