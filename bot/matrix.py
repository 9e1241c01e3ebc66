"""The Matrix transport: matrix-nio events become `Incoming`, `Reply` becomes Matrix messages.

It only translates. What a command means is the dispatcher's business (`App.ask`); this module
knows how Matrix carries it: `!command` or a mention, replies with `m.in_reply_to`, HTML
`formatted_body`, uploaded files, reactions as quick answers, end-to-end encryption
(matrix-nio with vodozemac, devices trusted on first use), invites, and a sync loop that
survives the homeserver going away. docs/matrix.md is the operator's side of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fnmatch
import hashlib
import html
import json
import logging
import os
import random
import re
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import nio
from nio.event_builders import EnableEncryptionBuilder
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from bot.bootstrap import App
from bot.config import MatrixConfig
from bot.transport import TransportTaken
from handlers.core import Attachment, Incoming, Reply, ShownVersion
from handlers.dispatch import Claim, is_pick
from handlers.ports import Clock, Delivery, DeliveryStatus, Notifier, Recipient, system_clock
from handlers.views import quick_answers
from storage import locks
from storage.models import (
    ChatIdentity,
    Measure,
    MeasureStatus,
    Person,
    PlatformState,
    ProcessedMessage,
    SentMessage,
)

log = logging.getLogger("regelkreis.matrix")

PLATFORM = "matrix"
# Commands older than this are not answered after a downtime (PRODUCT.md §5: "up to a day").
BACKLOG = timedelta(hours=24)
# Dedupe rows older than this can go: such events are past BACKLOG and ignored anyway.
PROCESSED_KEPT = timedelta(days=3)
LEASE_TTL = timedelta(seconds=60)
LEASE_RENEW_SECONDS = 20.0
SYNC_TIMEOUT_MS = 30_000
# The sync loop backs off from 1 s to 10 s while the homeserver is away: at most a handful of
# requests in a 20 s outage, and back within 10 s of its return.
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 10.0
# Sending: bounded retries; a 429 waits its retry_after_ms, but never longer than this in all.
SEND_ATTEMPTS = 5
SEND_WAIT_LIMIT = 60.0
# An unreachable homeserver is tried this often per message; the outbox retries later.
NETWORK_ATTEMPTS = 3
# An undecryptable command waits this long for its room key before asking to send it again.
KEY_WAIT_SECONDS = 5.0
GAP_PAGES = 10
DIRECT_ROOM_WAIT = 15.0

NETWORK_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, TimeoutError, OSError)
_VARIATION_SELECTOR = "\ufe0f"
_HTML_FORMAT = "org.matrix.custom.html"

_RESEND = {
    "de": "🔒 Diese Nachricht konnte ich nicht entschlüsseln. Bitte senden Sie sie noch einmal.",
    "en": "🔒 I could not decrypt this message. Please send it again.",
}


# -- rendering ------------------------------------------------------------------------------


def quick_answer_line(reply: Reply) -> str | None:
    """`↳ ✅ erledigt · 🟢 läuft · 🟡 verzögert` — the reactions that act as commands."""
    if not reply.quick_answers:
        return None
    return "↳ " + " · ".join(answer.label for answer in reply.quick_answers)


def render_body(reply: Reply) -> str:
    """The plain `body`: what `Reply.plain()` says, plus the quick answers."""
    text = reply.plain()
    line = quick_answer_line(reply)
    return f"{text}\n\n{line}" if line else text


def render_html(reply: Reply) -> str:
    """The `formatted_body`: one paragraph per block, headings bold, everything escaped."""
    paragraphs: list[str] = []
    for block in reply.blocks:
        lines = [html.escape(line) for line in block.lines]
        if block.heading:
            lines.insert(0, f"<strong>{html.escape(block.heading)}</strong>")
        if lines:
            paragraphs.append("<p>" + "<br>".join(lines) + "</p>")
    line = quick_answer_line(reply)
    if line:
        paragraphs.append(f"<p><em>{html.escape(line)}</em></p>")
    return "".join(paragraphs)


def message_content(reply: Reply, msgtype: str) -> dict[str, Any]:
    return {
        "msgtype": msgtype,
        "body": render_body(reply),
        "format": _HTML_FORMAT,
        "formatted_body": render_html(reply),
    }


# -- reading commands -----------------------------------------------------------------------


def strip_reply_fallback(body: str) -> str:
    """Drop the `> <@user> quoted text` lines older clients put before a reply."""
    lines = body.split("\n")
    if not lines or not lines[0].startswith(">"):
        return body
    while lines and lines[0].startswith(">"):
        lines.pop(0)
    if lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines)


def command_text(
    content: dict[str, Any],
    *,
    prefix: str,
    user_id: str,
    names: Iterable[str],
    is_direct: bool,
) -> str | None:
    """The command in a message (without prefix or mention), or None when it is not for us.

    A command starts with the prefix (`!status`), or addresses the bot by name
    (`Regelkreis: status`, a mention pill, `@regelkreis:stadt.de status`); in a direct room
    every message is a command.
    """
    body = content.get("body")
    if not isinstance(body, str):
        return None
    text = strip_reply_fallback(body).strip()
    if text.startswith(prefix):
        return text[len(prefix) :].strip() or None
    mentions = content.get("m.mentions")
    mentioned = isinstance(mentions, dict) and user_id in (mentions.get("user_ids") or [])
    for name in sorted({n for n in names if n}, key=len, reverse=True):
        if not text.casefold().startswith(name.casefold()):
            continue
        rest = text[len(name) :]
        # "Regelkreis ist toll" is not a command; "Regelkreis: status" and a pill are.
        if not (mentioned or name == user_id or rest[:1] in (":", ",")):
            continue
        rest = rest.lstrip(":, \t").strip()
        if rest.startswith(prefix):
            rest = rest[len(prefix) :].strip()
        return rest or None
    if mentioned:
        # Mentioned mid-sentence: the command is the text without the mention.
        for name in sorted({n for n in names if n}, key=len, reverse=True):
            found = text.casefold().find(name.casefold())
            if found >= 0:
                text = (text[:found] + text[found + len(name) :]).strip(" :,\t")
                break
        return text.strip() or None
    if is_direct:
        return text or None
    return None


def inviter_allowed(inviter: str, allowed: Iterable[str], admins: Iterable[str]) -> bool:
    """Allowed: admins named in the configuration, users matching a glob, users of a server."""
    if f"{PLATFORM}:{inviter}" in admins:
        return True
    server = inviter.split(":", 1)[1] if ":" in inviter else ""
    for entry in allowed:
        if entry.startswith("@"):
            if fnmatch.fnmatchcase(inviter, entry):
                return True
        elif fnmatch.fnmatchcase(server, entry.lstrip(":")):
            return True
    return False


def reaction_command(emoji: str, measure_id: int) -> str | None:
    """The typed command a reaction stands for, as the core defines its quick answers."""
    key = emoji.replace(_VARIATION_SELECTOR, "")
    # A transient measure: only its id (the reference) and an open status matter here.
    for answer in quick_answers(Measure(id=measure_id, status=MeasureStatus.IN_PROGRESS), "de"):
        if answer.emoji.replace(_VARIATION_SELECTOR, "") == key:
            return answer.command
    return None


def transaction_id(*parts: str) -> str:
    """A stable transaction id: a resend of the same message reuses it, so it posts once."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return f"rk{digest[:32]}"


def _dead_local_holder(holder: str) -> bool:
    """A lease held by a process of this machine that no longer runs (after a crash)."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _http_status(answer: Any) -> int | None:
    status = getattr(getattr(answer, "transport_response", None), "status", None)
    return status if isinstance(status, int) else None


@dataclass
class _Undecrypted:
    room_id: str
    event: Any  # nio.MegolmEvent
    deadline: float


class _Backoff:
    """Exponential backoff with jitter, so a down homeserver sees no tight loop."""

    def __init__(self) -> None:
        self.delay = BACKOFF_FIRST

    def reset(self) -> None:
        self.delay = BACKOFF_FIRST

    async def wait(self, what: str, error: object) -> None:
        pause = self.delay * random.uniform(0.8, 1.2)
        log.warning("%s failed (%s); retrying in %.1f s", what, error, pause)
        await asyncio.sleep(pause)
        self.delay = min(self.delay * 2, BACKOFF_MAX)


class MatrixNotifier:
    """The core's Notifier on Matrix: to a room, or to a person in their direct room."""

    platform = PLATFORM

    def __init__(self, transport: MatrixTransport) -> None:
        self._transport = transport

    async def send(self, recipient: Recipient, message: Reply, *, idempotency_key: str) -> Delivery:
        return await self._transport.notify(recipient, message, idempotency_key)


class MatrixTransport:
    """One Matrix account served by this process (a database lease makes sure of that)."""

    platform = PLATFORM
    # Events per room in one sync; a longer downtime is filled in from /messages.
    timeline_limit = 50
    key_wait_seconds = KEY_WAIT_SECONDS

    def __init__(
        self,
        app: App,
        config: MatrixConfig,
        *,
        wall_clock: Clock = system_clock,
        store_dir: Path | None = None,
        send_only: bool = False,
    ) -> None:
        """`send_only`: only the notifier, for `reminders run-due` (see `start`)."""
        self.app = app
        self.config = config
        self.send_only = send_only
        # Real time, not the app's clock: event timestamps and leases are about this world.
        self.wall_clock = wall_clock
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", config.user_id.lstrip("@"))
        self.store_dir = store_dir or app.config.data_dir / "matrix" / safe
        self.notifier: Notifier = MatrixNotifier(self)
        self.holder = locks.new_holder()
        self.client: Any = None  # nio.AsyncClient, created in start()
        self.display_name: str | None = None
        self._first_start: datetime | None = None
        self._sync_token: str | None = None
        self._saved_token: str | None = None
        self._token_writer: asyncio.Task[None] | None = None
        self._filter: str | dict[str, Any] | None = None
        # Set once the first sync is handled: the bot answers and the Notifier can send.
        self.ready = asyncio.Event()
        self._sync_done = asyncio.Event()
        self._keys_lock = asyncio.Lock()
        self._undecrypted: dict[str, _Undecrypted] = {}
        self._resend_asked: set[tuple[str, str]] = set()
        self._lease_lost = False
        self._admins = frozenset(app.config.bot.admins)

    # -- Transport --------------------------------------------------------------------------

    async def start(self) -> None:
        """Take the lease for this account, then open the device's store (no network yet).

        Send-only (`reminders run-due`): the bot's device and store, but no lease — a bot
        starting meanwhile must not find the account taken. Instead it leaves at once when
        the bot holds the lease (the bot runs and delivers Matrix's reminders itself), and
        asks again before every message it sends.
        """
        if self.send_only:
            other = await asyncio.to_thread(self._server)
            if other is not None:
                raise TransportTaken(
                    f"the Matrix account {self.config.user_id} is served by a running bot "
                    f"({other}); it delivers the reminders for Matrix"
                )
        else:
            other = await asyncio.to_thread(self._take_lease)
            if other is not None:
                raise TransportTaken(
                    f"the Matrix account {self.config.user_id} is already served by another "
                    f"process ({other}); stop that one first (its lease ends "
                    f"{int(LEASE_TTL.total_seconds())} s after it stops renewing it)"
                )
            self._first_start = await asyncio.to_thread(self._ensure_first_start)
        # Send-only syncs from the bot's token but never stores one: the bot still reads
        # (and answers) everything that came meanwhile.
        self._sync_token = await asyncio.to_thread(self._get_state, "sync_token")
        self._saved_token = self._sync_token
        self.store_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            self.store_dir.chmod(0o700)  # the crypto store and the access token live here
        self.client = nio.AsyncClient(
            self.config.homeserver,
            self.config.user_id,
            device_id=self.config.device_id,
            store_path=str(self.store_dir),
            config=nio.AsyncClientConfig(
                encryption_enabled=True,
                store_sync_tokens=False,  # the sync token lives in the database
                # nio would retry 429s and connection errors forever; we bound and pace them.
                max_limit_exceeded=0,
                max_timeouts=0,
                request_timeout=30,
            ),
        )

    async def run(self) -> None:
        """Log in, then sync until cancelled, riding out homeserver outages.

        Send-only: log in, sync once to know the rooms, their members and keys (no event is
        handled, answered or claimed, no invite accepted), then wait until cancelled.
        """
        if self.send_only:
            await self._login()
            await self._sync_quietly(first=True)
            await asyncio.Event().wait()
            return
        serving = asyncio.current_task()
        keeper = asyncio.create_task(self._keep_lease(serving), name="matrix:lease")
        try:
            await self._login()
            await self._sync_forever()
        except asyncio.CancelledError:
            if self._lease_lost:
                raise TransportTaken(
                    f"lost the lease on the Matrix account {self.config.user_id}"
                ) from None
            raise
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper

    async def stop(self) -> None:
        """Close the connection and release the lease."""
        self.ready.clear()
        if self.send_only:
            # No sync token to keep and no lease to release. The session and device stay:
            # they are the bot's own (see docs/reminders.md, "Triggers").
            if self.client is not None:
                with contextlib.suppress(Exception):
                    await self.client.close()
            return
        if self._token_writer is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._token_writer
        if self._sync_token is not None and self._sync_token != self._saved_token:
            await asyncio.to_thread(self._set_state, "sync_token", self._sync_token)
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.close()
        if not self._lease_lost:
            await asyncio.to_thread(locks.release, self.app.uows, self._lease_name, self.holder)

    # -- lease and durable state --------------------------------------------------------------

    @property
    def _lease_name(self) -> str:
        return f"matrix:{self.config.user_id}"

    def _now(self) -> datetime:
        return self.wall_clock()

    def _take_lease(self) -> str | None:
        """None when we hold the lease now, else who does."""
        uows, now = self.app.uows, self._now()
        if locks.acquire(uows, self._lease_name, self.holder, now, LEASE_TTL):
            return None
        other = locks.holder_of(uows, self._lease_name, now)
        if other is not None and _dead_local_holder(other):
            log.warning("taking over the Matrix lease of %s, which no longer runs", other)
            locks.release(uows, self._lease_name, other)
            if locks.acquire(uows, self._lease_name, self.holder, now, LEASE_TTL):
                return None
            other = locks.holder_of(uows, self._lease_name, now)
        return other or "another process"

    def _server(self) -> str | None:
        """The process that serves this account now (holds its lease), if any."""
        other = locks.holder_of(self.app.uows, self._lease_name, self._now())
        if other is not None and _dead_local_holder(other):
            return None
        return other

    async def _keep_lease(self, serving: asyncio.Task[Any] | None) -> None:
        pruned = 0.0
        while True:
            await asyncio.sleep(LEASE_RENEW_SECONDS)
            try:
                held = await asyncio.to_thread(
                    locks.acquire,
                    self.app.uows,
                    self._lease_name,
                    self.holder,
                    self._now(),
                    LEASE_TTL,
                )
            except Exception:  # the database is away for now; the lease has time left
                log.exception("could not renew the Matrix lease")
                continue
            if not held:
                log.error("another process took the Matrix account %s", self.config.user_id)
                self._lease_lost = True
                if serving is not None:
                    serving.cancel()
                return
            if time.monotonic() - pruned > 3600:
                pruned = time.monotonic()
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(self._prune_processed)

    def _state_key(self, name: str) -> str:
        return f"matrix:{self.config.user_id}:{name}"

    def _get_state(self, name: str) -> str | None:
        with self.app.uows() as uow:
            state = uow.session.get(PlatformState, self._state_key(name))
            return state.value if state is not None else None

    def _set_state(self, name: str, value: str) -> None:
        with self.app.uows(write=True) as uow:
            state = uow.session.get(PlatformState, self._state_key(name))
            if state is None:
                uow.session.add(
                    PlatformState(key=self._state_key(name), value=value, updated_at=self._now())
                )
            else:
                state.value = value
                state.updated_at = self._now()
            uow.commit()

    def _ensure_first_start(self) -> datetime:
        """The bot's very first start on this account; events from before it are history."""
        stored = self._get_state("first_start")
        if stored is not None:
            return datetime.fromisoformat(stored)
        now = self._now()
        self._set_state("first_start", now.isoformat())
        return now

    def _prune_processed(self) -> None:
        with self.app.uows(write=True) as uow:
            uow.session.execute(
                delete(ProcessedMessage).where(
                    ProcessedMessage.platform == PLATFORM,
                    ProcessedMessage.received_at < self._now() - PROCESSED_KEPT,
                )
            )
            uow.commit()

    def _claim(self, event_id: str, room_id: str) -> bool:
        """Record the event as taken on; False if it already was (then it is not answered)."""
        return self.app.dispatcher.record_claim(Claim(PLATFORM, event_id, room_id, self._now()))

    async def _answer_once(self, incoming: Incoming, reply_to: str | None) -> Reply | None:
        """The core's answer to an event taken on now; None if it was taken on before.

        This is `App.ask` with the claim. A command that only reads is answered while the
        claim is written (a reply the claim then refuses is dropped unsent); one that changes
        something commits its claim with the change, so it never runs twice and a crash
        between the two loses nothing.
        """
        assert incoming.message_id is not None
        event_id = incoming.message_id
        found = self.app.dispatcher.registry.find(incoming.text.strip())
        if found is None or found[0].writes or reply_to is not None:
            return await asyncio.to_thread(self._claim_then_answer, incoming, reply_to)
        claimed, reply = await asyncio.gather(
            asyncio.to_thread(self._claim, event_id, incoming.room_id),
            asyncio.to_thread(self.app.dispatcher.handle, incoming),
        )
        return reply if claimed else None

    def _claim_then_answer(self, incoming: Incoming, reply_to: str | None) -> Reply | None:
        # One worker-thread hop for the claim and the dispatcher, not two. The claim of a
        # command that changes something commits with the change (Dispatcher.handle_once).
        event_id = incoming.message_id
        assert event_id is not None
        if reply_to is not None and incoming.shown is None:
            shown = self._shown_by(incoming.room_id, reply_to)
            if shown is not None:
                incoming = dataclasses.replace(incoming, shown=shown)
        claim = Claim(PLATFORM, event_id, incoming.room_id, self._now())
        return self.app.dispatcher.handle_once(incoming, claim)

    def _shown_by(self, room_id: str, event_id: str) -> ShownVersion | None:
        with self.app.uows() as uow:
            sent = uow.session.execute(
                select(SentMessage).where(
                    SentMessage.platform == PLATFORM,
                    SentMessage.room_id == room_id,
                    SentMessage.message_id == event_id,
                )
            ).scalar_one_or_none()
            return ShownVersion(sent.measure_id, sent.measure_version) if sent else None

    def _record_sent(self, room_id: str, event_id: str, subject: ShownVersion) -> None:
        with self.app.uows(write=True) as uow:
            uow.session.add(
                SentMessage(
                    platform=PLATFORM,
                    room_id=room_id,
                    message_id=event_id,
                    measure_id=subject.measure_id,
                    measure_version=subject.version,
                    sent_at=self._now(),
                )
            )
            with contextlib.suppress(IntegrityError):  # a resend that got the same event id
                uow.commit()

    def _language_of(self, user_id: str) -> str:
        with self.app.uows() as uow:
            language = uow.session.execute(
                select(Person.language)
                .join(ChatIdentity)
                .where(ChatIdentity.platform == PLATFORM, ChatIdentity.user_id == user_id)
            ).scalar_one_or_none()
        return language if language in ("de", "en") else self.app.config.bot.language

    # -- login ------------------------------------------------------------------------------

    @property
    def _session_file(self) -> Path:
        return self.store_dir / "session.json"

    def _read_session(self) -> dict[str, str] | None:
        try:
            session = json.loads(self._session_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if (
            not isinstance(session, dict)
            or session.get("user_id") != self.config.user_id
            or session.get("homeserver") != self.config.homeserver
        ):
            return None
        return {str(k): str(v) for k, v in session.items()}

    def _write_session(self, device_id: str, access_token: str) -> None:
        session = {
            "homeserver": self.config.homeserver,
            "user_id": self.config.user_id,
            "device_id": device_id,
            "access_token": access_token,
        }
        self._session_file.write_text(json.dumps(session), encoding="utf-8")
        with contextlib.suppress(OSError):
            self._session_file.chmod(0o600)

    async def _login(self, *, stale_token: bool = False) -> None:
        """The same device every time: the saved session, else the token, else the password."""
        client = self.client
        session = None if stale_token else self._read_session()
        backoff = _Backoff()
        while True:
            try:
                if session is not None:
                    client.restore_login(
                        self.config.user_id, session["device_id"], session["access_token"]
                    )
                elif self.config.access_token is not None and not stale_token:
                    token = self.config.access_token.get_secret_value()
                    client.access_token = token
                    whoami = await client.whoami()
                    if isinstance(whoami, nio.WhoamiError):
                        raise RuntimeError(f"Matrix access token refused: {whoami.message}")
                    client.restore_login(self.config.user_id, whoami.device_id, token)
                    self._write_session(whoami.device_id, token)
                else:
                    if self.config.password is None:
                        raise RuntimeError(
                            "the Matrix access token is no longer valid and no password is set"
                        )
                    answer = await client.login(
                        self.config.password.get_secret_value(),
                        device_name=self.config.device_name,
                    )
                    if isinstance(answer, nio.LoginError):
                        raise RuntimeError(f"Matrix login refused: {answer.message}")
                    self._write_session(answer.device_id, answer.access_token)
                if client.should_upload_keys:
                    await client.keys_upload()
                break
            except NETWORK_ERRORS as error:
                await backoff.wait("Matrix login", error)
        with contextlib.suppress(*NETWORK_ERRORS):
            name = await client.get_displayname(self.config.user_id)
            self.display_name = getattr(name, "displayname", None)
        with contextlib.suppress(*NETWORK_ERRORS):
            # Stored once on the homeserver: each sync then names it instead of spelling it out.
            uploaded = await client.upload_filter(**self._sync_filter())
            if isinstance(uploaded, nio.UploadFilterResponse):
                self._filter = uploaded.filter_id
        log.info("Matrix: logged in as %s, device %s", client.user_id, client.device_id)

    # -- the sync loop ----------------------------------------------------------------------

    def _sync_filter(self) -> dict[str, Any]:
        if self.send_only:
            # Rooms, members and encryption come with the state; events are not read.
            return {
                "room": {"timeline": {"limit": 1}, "ephemeral": {"types": []}},
                "presence": {"types": []},
            }
        return {
            "room": {"timeline": {"limit": self.timeline_limit}},
            "presence": {"types": []},
        }

    def _sync_timeout(self) -> int:
        if not self._undecrypted:
            return SYNC_TIMEOUT_MS
        soonest = min(item.deadline for item in self._undecrypted.values())
        return max(500, min(SYNC_TIMEOUT_MS, int((soonest - time.monotonic()) * 1000) + 100))

    async def _sync_forever(self) -> None:
        backoff = _Backoff()
        first = True
        while True:
            response = await self._sync_once(
                backoff,
                timeout=0 if first else self._sync_timeout(),
                # After a restart nio knows no room: full state brings members and
                # encryption back, while the timeline still starts at our token.
                full_state=True if first and self._sync_token else None,
            )
            if response is None:
                continue
            backoff.reset()
            previous, first = self._sync_token, False
            try:
                await self._handle_sync(response, previous)
            except NETWORK_ERRORS as error:
                # The token is not saved: this batch is read again, dedupe keeps it once.
                await backoff.wait("Matrix event handling", repr(error))
                continue
            self._remember_token(response.next_batch)
            try:
                await self._crypto_housekeeping()
            except NETWORK_ERRORS as error:
                await backoff.wait("Matrix key exchange", repr(error))
            # Only now: whoever waits for a sync (a new direct room) finds its keys known.
            self.ready.set()
            done, self._sync_done = self._sync_done, asyncio.Event()
            done.set()

    async def _sync_once(
        self, backoff: _Backoff, *, timeout: int, full_state: bool | None
    ) -> Any | None:
        """One /sync from our token; None after a failure it has waited out (try again)."""
        try:
            response = await self.client.sync(
                timeout=timeout,
                sync_filter=self._filter or self._sync_filter(),
                since=self._sync_token,
                full_state=full_state,
            )
        except NETWORK_ERRORS as error:
            await backoff.wait("Matrix sync", repr(error))
            return None
        if isinstance(response, nio.SyncError):
            if response.status_code == "M_UNKNOWN_TOKEN":
                log.warning("Matrix access token expired; logging in again")
                await self._login(stale_token=True)
            elif response.status_code == "M_LIMIT_EXCEEDED":
                await asyncio.sleep((response.retry_after_ms or 5000) / 1000)
            else:
                await backoff.wait("Matrix sync", f"{response.status_code} {response.message}")
            return None
        return response

    async def _sync_quietly(self, *, first: bool = False, timeout_ms: int = 0) -> None:
        """Send-only: one sync for the rooms and keys; nothing in it is handled or answered,
        and its token stays in memory (the bot reads the same events later)."""
        backoff = _Backoff()
        response = None
        while response is None:
            response = await self._sync_once(
                backoff, timeout=timeout_ms, full_state=True if first else None
            )
        self._sync_token = response.next_batch
        try:
            await self._crypto_housekeeping()
        except NETWORK_ERRORS as error:  # keys are asked for again before each message
            log.warning("Matrix key exchange failed (%r)", error)
        self.ready.set()
        done, self._sync_done = self._sync_done, asyncio.Event()
        done.set()

    def _remember_token(self, token: str) -> None:
        """Keep the sync token; it is written behind the loop so no command waits for it."""
        self._sync_token = token
        if self._token_writer is None or self._token_writer.done():
            self._token_writer = asyncio.create_task(self._write_tokens())

    async def _write_tokens(self) -> None:
        # Only ever the latest token, written after its batch was handled: a crash in between
        # reads a batch again, and the dedupe answers nothing twice.
        while (token := self._sync_token) is not None and token != self._saved_token:
            await asyncio.to_thread(self._set_state, "sync_token", token)
            self._saved_token = token

    async def _crypto_housekeeping(self) -> None:
        client = self.client
        if client.olm is None:
            return
        await client.send_to_device_messages()
        if client.should_upload_keys:
            await client.keys_upload()
        await self._query_keys()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())

    async def _query_keys(self) -> None:
        # One query at a time: a sender that finds one in flight waits for its answer,
        # instead of seeing nothing to ask and encrypting for devices it does not know yet.
        async with self._keys_lock:
            if self.client.should_query_keys:
                with contextlib.suppress(nio.LocalProtocolError):
                    await self.client.keys_query()

    async def _handle_sync(self, response: Any, previous: str | None) -> None:
        for room_id, info in response.rooms.invite.items():
            await self._on_invite(room_id, info)
        for room_id, info in response.rooms.join.items():
            room = self.client.rooms.get(room_id)
            if room is None:
                continue
            events = list(info.timeline.events)
            if info.timeline.limited and previous is not None:
                events = await self._fill_gap(room_id, info.timeline.prev_batch, previous) + events
            for event in self._after_own_join(events):
                await self._on_event(room, event)
        await self._retry_undecrypted()

    async def _fill_gap(self, room_id: str, start: str, until: str) -> list[Any]:
        """Events a limited sync left out (a long downtime), oldest first."""
        cutoff = self._cutoff_ms()
        found: list[Any] = []
        token = start
        for _page in range(GAP_PAGES):
            answer = await self.client.room_messages(
                room_id, start=token, end=until, direction=nio.MessageDirection.back, limit=100
            )
            if not isinstance(answer, nio.RoomMessagesResponse) or not answer.chunk:
                break
            old = [e for e in answer.chunk if e.server_timestamp < cutoff]
            found.extend(e for e in answer.chunk if e.server_timestamp >= cutoff)
            if old or not answer.end or answer.end == token:
                break
            token = answer.end
        found.reverse()
        log.info("%s: %d events fetched from /messages after a limited sync", room_id, len(found))
        return found

    def _after_own_join(self, events: list[Any]) -> list[Any]:
        """Drop what was said in a room before the bot joined it: that was not for it."""
        for index in range(len(events) - 1, -1, -1):
            event = events[index]
            if (
                isinstance(event, nio.RoomMemberEvent)
                and event.state_key == self.client.user_id
                and event.membership == "join"
                and event.prev_membership != "join"
            ):
                return events[index + 1 :]
        return events

    def _cutoff_ms(self) -> int:
        oldest = self._now() - BACKLOG
        if self._first_start is not None:
            oldest = max(oldest, self._first_start)
        return int(oldest.timestamp() * 1000)

    # -- events -----------------------------------------------------------------------------

    async def _on_invite(self, room_id: str, info: Any) -> None:
        inviter = None
        for event in info.invite_state:
            if (
                isinstance(event, nio.InviteMemberEvent)
                and event.state_key == self.client.user_id
                and event.membership == "invite"
            ):
                inviter = event.sender
        if inviter is not None and (
            inviter_allowed(inviter, self.config.allowed_inviters, self._admins)
            or await asyncio.to_thread(self.app.dispatcher.is_admin, PLATFORM, inviter)
        ):
            answer = await self.client.join(room_id)
            if isinstance(answer, nio.JoinError):
                log.warning("could not join %s (invited by %s): %s", room_id, inviter, answer)
            else:
                log.info("joined %s, invited by %s", room_id, inviter)
            return
        log.warning("rejected the invite to %s from %s: not an allowed inviter", room_id, inviter)
        await self.client.room_leave(room_id)

    async def _on_event(self, room: Any, event: Any) -> None:
        if event.sender == self.client.user_id:
            return
        if event.server_timestamp < self._cutoff_ms():
            return
        try:
            if isinstance(event, nio.MegolmEvent):
                await self._on_undecryptable(room, event)
            elif isinstance(event, nio.RoomMessageText):
                await self._on_text(room, event)
            elif event.source.get("type") == "m.reaction":
                await self._on_reaction(room, event)
        except NETWORK_ERRORS:
            raise
        except Exception:  # one bad event must not stop the room; it is logged with its id
            log.exception(
                "Matrix event %s in %s could not be handled", event.event_id, room.room_id
            )

    def _is_direct(self, room: Any) -> bool:
        return int(room.member_count) <= 2

    async def _on_text(self, room: Any, event: Any) -> None:
        content = event.source.get("content") or {}
        relates = content.get("m.relates_to") or {}
        if relates.get("rel_type") == "m.replace":
            return  # an edit; the original was the command
        reply_to = (relates.get("m.in_reply_to") or {}).get("event_id")
        localpart = self.config.user_id[1:].split(":", 1)[0]
        text = command_text(
            content,
            prefix=self.config.command_prefix,
            user_id=self.client.user_id,
            names=(self.client.user_id, self.display_name or "", localpart),
            is_direct=self._is_direct(room),
        )
        # "A reply with the number picks one": a bare number replying to the bot's list.
        if (
            text is None
            and reply_to
            and is_pick(strip_reply_fallback(event.body))
            and await self._sent_by_me(room.room_id, reply_to)
        ):
            text = strip_reply_fallback(event.body).strip()
        if text is None:
            return
        await self._answer_event(
            room, event, text, None, reply_to, self._reply_relation(event.event_id, relates)
        )

    async def _answer_event(
        self,
        room: Any,
        event: Any,
        text: str,
        shown: ShownVersion | None,
        reply_to: str | None,
        relates_to: dict[str, Any],
    ) -> None:
        """Answer a command event (typed, or a reaction standing for one) once, as a reply."""
        incoming = Incoming(
            platform=PLATFORM,
            room_id=room.room_id,
            sender_id=event.sender,
            text=text,
            message_id=event.event_id,
            shown=shown,
            sender_name=room.user_name(event.sender),
            is_direct=self._is_direct(room),
            reply_to=reply_to,
        )
        reply = await self._answer_once(incoming, reply_to)
        if reply is None:
            return
        delivery = await self._deliver(
            room.room_id,
            reply,
            seed=event.event_id,
            msgtype="m.notice",
            relates_to=relates_to,
            mention=event.sender,
        )
        if reply.outcome == "ambiguous" and delivery.message_id is not None:
            # A reply to this list picks from it, even after other commands (PRODUCT.md §2).
            await asyncio.to_thread(
                self.app.dispatcher.remember_list, incoming, delivery.message_id
            )

    @staticmethod
    def _reply_relation(event_id: str, relates: dict[str, Any]) -> dict[str, Any]:
        relation: dict[str, Any] = {"m.in_reply_to": {"event_id": event_id}}
        if relates.get("rel_type") == "m.thread":  # stay in the thread the command came from
            relation.update(rel_type="m.thread", event_id=relates.get("event_id"))
            relation["is_falling_back"] = False
        return relation

    async def _sent_by_me(self, room_id: str, event_id: str) -> bool:
        answer = await self.client.room_get_event(room_id, event_id)
        return isinstance(answer, nio.RoomGetEventResponse) and (
            answer.event.sender == self.client.user_id
        )

    async def _on_reaction(self, room: Any, event: Any) -> None:
        relates = (event.source.get("content") or {}).get("m.relates_to") or {}
        target, key = relates.get("event_id"), relates.get("key")
        if relates.get("rel_type") != "m.annotation" or not target or not key:
            return
        shown = await asyncio.to_thread(self._shown_by, room.room_id, target)
        if shown is None:
            return  # a reaction to anything but a bot message about one measure is just chat
        command = reaction_command(key, shown.measure_id)
        if command is None:
            return
        await self._answer_event(
            room, event, command, shown, None, {"m.in_reply_to": {"event_id": target}}
        )

    # -- encryption -------------------------------------------------------------------------

    async def _on_undecryptable(self, room: Any, event: Any) -> None:
        """Wait a little for the room key (and ask for it); then ask to send again."""
        if event.event_id in self._undecrypted:
            return
        self._undecrypted[event.event_id] = _Undecrypted(
            room.room_id, event, time.monotonic() + self.key_wait_seconds
        )
        await self._request_key(event)

    async def _request_key(self, event: Any) -> None:
        client = self.client
        with contextlib.suppress(nio.LocalProtocolError):  # already asked for this session
            # Registers the request, so a forwarded key is accepted; goes to our own devices.
            await client.request_room_key(event)
        # And to the device that sent it, as Element does.
        message = event.as_key_request(
            event.sender, client.device_id, event.session_id, event.device_id
        )
        await client.to_device(message, transaction_id("keyrequest", event.event_id))

    async def _retry_undecrypted(self) -> None:
        for event_id, item in list(self._undecrypted.items()):
            room = self.client.rooms.get(item.room_id)
            decrypted = None
            with contextlib.suppress(nio.EncryptionError, nio.LocalProtocolError):
                decrypted = self.client.decrypt_event(item.event)
            if decrypted is not None and not isinstance(decrypted, nio.MegolmEvent):
                del self._undecrypted[event_id]
                decrypted.room_id = item.room_id
                if room is not None:
                    await self._on_event(room, decrypted)
            elif time.monotonic() >= item.deadline:
                del self._undecrypted[event_id]
                if room is not None:
                    await self._ask_to_resend(room, item.event)

    async def _ask_to_resend(self, room: Any, event: Any) -> None:
        # One request per sender and session: a key that is missing is missing for all of
        # that session's messages, and a busy room must not get one notice per message.
        session = (event.sender, event.session_id)
        if session in self._resend_asked:
            return
        if not await asyncio.to_thread(self._claim, event.event_id, room.room_id):
            return
        self._resend_asked.add(session)
        language = await asyncio.to_thread(self._language_of, event.sender)
        log.warning(
            "could not decrypt %s from %s in %s (session %s); asked to send again",
            event.event_id,
            event.sender,
            room.room_id,
            event.session_id,
        )
        await self._deliver(
            room.room_id,
            Reply.text(_RESEND[language]),
            seed=event.event_id,
            msgtype="m.notice",
            relates_to={"m.in_reply_to": {"event_id": event.event_id}},
            mention=event.sender,
        )

    async def _trust_on_first_use(self, room_id: str) -> None:
        """Know and trust every device of the room's members the first time it is seen.

        nio keeps the first signing key of each device and refuses a changed one later, so
        this is trust on first use; see docs/matrix.md for what that means for operators.
        """
        client = self.client
        room = client.rooms.get(room_id)
        if client.olm is None or room is None or not room.encrypted:
            return
        if not room.members_synced:
            await client.joined_members(room_id)
        # A member new to the bot (just invited to a direct room): fetch their devices now,
        # or the room key would go to nobody and the message could not be read.
        client.olm.update_tracked_users(room)
        await self._query_keys()
        for user_id in list(room.users):
            for device in client.device_store.active_user_devices(user_id):
                if not (device.verified or device.blacklisted):
                    client.verify_device(device)

    # -- sending ----------------------------------------------------------------------------

    async def _send_event(
        self, room_id: str, event_type: str, content: dict[str, Any], tx_id: str
    ) -> Delivery:
        """Send one event: bounded retries, 429s honoured, the same transaction id each time."""
        waited = 0.0
        network_errors = 0
        failure = Delivery.temporary("not sent")
        for attempt in range(1, SEND_ATTEMPTS + 1):
            pause = min(BACKOFF_FIRST * 2 ** (attempt - 1), BACKOFF_MAX)
            if not self.client.logged_in:
                return Delivery.temporary("Matrix is not connected yet")
            try:
                await self._trust_on_first_use(room_id)
                answer = await self.client.room_send(
                    room_id, event_type, content, tx_id=tx_id, ignore_unverified_devices=True
                )
            except nio.LocalProtocolError as error:
                return Delivery.permanent(f"the bot is not in {room_id} ({error})")
            except nio.SendRetryError as error:
                failure = Delivery.temporary(f"keys for {room_id} not ready: {error}")
            except NETWORK_ERRORS as error:
                failure = Delivery.temporary(f"homeserver unreachable: {error!r}")
                network_errors += 1
                if network_errors >= NETWORK_ATTEMPTS:
                    break
            else:
                if isinstance(answer, nio.RoomSendResponse):
                    return Delivery.delivered(answer.event_id)
                failure = self._classify(answer)
                if failure.status is DeliveryStatus.PERMANENT_FAILURE:
                    return failure
                if answer.status_code == "M_LIMIT_EXCEEDED":
                    pause = (answer.retry_after_ms or 1000) / 1000
            if attempt == SEND_ATTEMPTS or waited + pause > SEND_WAIT_LIMIT:
                break
            await asyncio.sleep(pause)
            waited += pause
        log.warning("sending to %s failed for now: %s", room_id, failure.detail)
        return failure

    @staticmethod
    def _classify(answer: Any) -> Delivery:
        code = answer.status_code
        http_status = _http_status(answer)
        detail = f"{code}: {answer.message}"
        if code in ("M_LIMIT_EXCEEDED", "M_UNKNOWN_TOKEN") or http_status is None:
            return Delivery.temporary(detail)
        if http_status >= 500:
            return Delivery.temporary(detail)
        # 4xx: forbidden (not in the room, kicked), unknown room or user, bad request.
        return Delivery.permanent(detail)

    async def _deliver(
        self,
        room_id: str,
        reply: Reply,
        *,
        seed: str,
        msgtype: str,
        relates_to: dict[str, Any] | None = None,
        mention: str | None = None,
        subject: ShownVersion | None = None,
    ) -> Delivery:
        """The reply as a message, then its files and quick-answer reactions."""
        content = message_content(reply, msgtype)
        content["m.mentions"] = {"user_ids": [mention]} if mention else {}
        if relates_to:
            content["m.relates_to"] = relates_to
        delivery = await self._send_event(
            room_id, "m.room.message", content, transaction_id(seed, room_id, "text")
        )
        if delivery.status is not DeliveryStatus.DELIVERED or delivery.message_id is None:
            return delivery
        subject = subject or reply.subject
        if subject is not None:
            await asyncio.to_thread(self._record_sent, room_id, delivery.message_id, subject)
        for index, attachment in enumerate(reply.attachments):
            sent = await self._send_attachment(room_id, attachment, seed, index)
            if sent.status is not DeliveryStatus.DELIVERED:
                return sent
        if subject is not None and reply.quick_answers and self.config.quick_reactions:
            for answer in reply.quick_answers:
                await self._send_event(
                    room_id,
                    "m.reaction",
                    {
                        "m.relates_to": {
                            "rel_type": "m.annotation",
                            "event_id": delivery.message_id,
                            "key": answer.emoji,
                        }
                    },
                    transaction_id(seed, room_id, "reaction", answer.emoji),
                )
        return delivery

    async def _send_attachment(
        self, room_id: str, attachment: Attachment, seed: str, index: int
    ) -> Delivery:
        room = self.client.rooms.get(room_id)
        encrypted = bool(room is not None and room.encrypted)
        try:
            data = attachment.path.read_bytes()
        except OSError as error:
            return Delivery.permanent(f"cannot read {attachment.path}: {error}")
        size = len(data)
        try:
            uploaded, keys = await self.client.upload(
                lambda _got_429, _got_timeouts: data,
                content_type=attachment.mime_type,
                filename=attachment.path.name,
                encrypt=encrypted,
                filesize=size,
            )
        except NETWORK_ERRORS as error:
            return Delivery.temporary(f"upload failed: {error!r}")
        if not isinstance(uploaded, nio.UploadResponse):
            return self._classify(uploaded)
        info: dict[str, Any] = {"mimetype": attachment.mime_type, "size": size}
        content: dict[str, Any] = {
            "msgtype": "m.image" if attachment.is_image else "m.file",
            "body": attachment.caption or attachment.path.name,
            "filename": attachment.path.name,
            "info": info,
        }
        if encrypted and keys is not None:
            content["file"] = {**keys, "url": uploaded.content_uri}
        else:
            content["url"] = uploaded.content_uri
        return await self._send_event(
            room_id, "m.room.message", content, transaction_id(seed, room_id, "file", str(index))
        )

    # -- the Notifier -----------------------------------------------------------------------

    async def wait_ready(self, timeout: float) -> bool:
        """True once the first sync is done (the notifier can send); False after `timeout`."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.ready.wait(), timeout)
        return self.ready.is_set()

    async def notify(self, recipient: Recipient, message: Reply, idempotency_key: str) -> Delivery:
        """Send a message the bot decided on its own (reminders, assignment notices)."""
        if not self.ready.is_set():
            return Delivery.temporary("Matrix is not connected yet")
        if self.send_only and (other := await asyncio.to_thread(self._server)) is not None:
            # The bot started while `run-due` sends: from now on it delivers.
            return Delivery.temporary(f"the running bot ({other}) serves Matrix now")
        if recipient.kind == "room":
            room_id = recipient.address
        else:
            found = await self._direct_room(recipient.address)
            if isinstance(found, Delivery):
                return found
            room_id = found
        # The version the message shows comes with it (the outbox stores it): reactions on
        # it are refused once the measure changed, like a typed change (PRODUCT.md §1).
        return await self._deliver(
            room_id,
            message,
            seed=f"notice|{idempotency_key}",
            msgtype="m.text",
            subject=message.subject,
        )

    async def _direct_room(self, user_id: str) -> str | Delivery:
        """The person's direct room with the bot, created (and they invited) on first use."""
        if not re.match(r"^@[^:\s]+:\S+$", user_id):
            return Delivery.permanent(f"{user_id!r} is not a Matrix user id")
        name = f"direct:{user_id}"
        room_id = await asyncio.to_thread(self._get_state, name)
        if room_id is not None:
            room = self.client.rooms.get(room_id)
            if room is not None and user_id in room.users:
                return room_id
            # The bot or the person left it: a new one, since reminders must reach them.
            log.info("direct room %s with %s is gone; opening a new one", room_id, user_id)
        try:
            # Synapse opens a room even for an invitee who does not exist; ask first.
            profile = await self.client.get_profile(user_id)
        except NETWORK_ERRORS as error:
            return Delivery.temporary(f"homeserver unreachable: {error!r}")
        if isinstance(profile, nio.ProfileGetError) and _http_status(profile) == 404:
            return Delivery.permanent(f"there is no Matrix user {user_id}")
        initial_state = (
            [EnableEncryptionBuilder().as_dict()] if self.config.encrypt_direct_rooms else []
        )
        try:
            created = await self.client.room_create(
                is_direct=True,
                invite=[user_id],
                preset=nio.RoomPreset.trusted_private_chat,
                initial_state=initial_state,
            )
        except NETWORK_ERRORS as error:
            return Delivery.temporary(f"homeserver unreachable: {error!r}")
        if not isinstance(created, nio.RoomCreateResponse):
            return self._classify(created)
        await asyncio.to_thread(self._set_state, name, created.room_id)
        # Wait until the bot's sync shows the invite too: Synapse writes it last, and a room
        # key shared before it would leave the person unable to read the message.
        if not await self._wait_for_room(created.room_id, DIRECT_ROOM_WAIT, member=user_id):
            return Delivery.temporary(f"the new direct room {created.room_id} is not synced yet")
        return str(created.room_id)

    async def _wait_for_room(self, room_id: str, seconds: float, *, member: str) -> bool:
        deadline = time.monotonic() + seconds
        while member not in getattr(self.client.rooms.get(room_id), "users", {}):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if self.send_only:  # no sync loop runs: sync here until the room shows
                if await asyncio.to_thread(self._server) is not None:
                    return False  # the bot started: its syncs are its own, it delivers
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._sync_quietly(timeout_ms=int(min(remaining, 5.0) * 1000)),
                        remaining + 1.0,
                    )
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._sync_done.wait(), remaining)
        return True


__all__ = [
    "MatrixNotifier",
    "MatrixTransport",
    "command_text",
    "inviter_allowed",
    "reaction_command",
    "render_body",
    "render_html",
]
