"""What the chat adapters (bot/matrix/, bot/telegram/) share: their way into the core, and
what they keep themselves.

An adapter answers through the conversation service (handlers/conversation.py): `answer`
with the message's claim, `sent` for what its message showed, `take` for an event that is
not a message, `may_invite`, `menu`. `Platform` makes those calls the same way for both (the
claim, the worker thread) and holds, once, what is left to an adapter to keep: its lease,
its small durable values (`platform_state`), the pruning of claims and delivery marks, the
backlog window, and the move of a room to a new id.

Clocks, one rule: what is stored (claims, platform state, sent messages, their pruning) and
the backlog window run on the app's clock (`app.clock`: the system's in production, fixed in
tests). Leases run on the wall clock (bot/lease.py): a lease is about processes that live
now, maybe on two machines, which must agree when a crashed holder's lease runs out,
whatever date the app is told it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime, timedelta
from typing import Any, ParamSpec, Protocol, TypeVar

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.bootstrap import App
from bot.lease import LEASE_RENEW_SECONDS, LEASE_TTL, Lease, wall_clock
from bot.transport import TransportTaken
from handlers.conversation import Claim, MenuEntry
from handlers.core import Incoming, Language, Reply, ShownVersion
from handlers.ports import Delivery, Recipient
from storage.models import PendingChoice, PlatformState, ProcessedMessage, RoomLink

log = logging.getLogger("regelkreis.platform")
P = ParamSpec("P")
T = TypeVar("T")

# How old a message may be and still be answered when the bot is back after a downtime: a
# day (PRODUCT.md §5), which is also how long Telegram keeps updates nobody fetched. A
# reply to an older question would only confuse.
BACKLOG = timedelta(hours=24)
# How long claims (processed_messages) and delivery marks are kept. Longer than BACKLOG, so
# a message that can still come again is still known; a weekend's downtime (a crash on
# Friday evening, back on Monday) still finds the marks of what it sent; and well under a
# week, after which Telegram may start its update ids anew.
RETENTION = timedelta(days=3)
PRUNE_EVERY = 3600.0  # seconds
_DELIVERED = "delivered:"


class CredentialsRejected(Exception):
    """The platform refused the bot's credentials (a token, a password): trying again would
    not help, the operator must fix the configuration. `regelkreis run` exits with status 6."""


class PlatformBroken(Exception):
    """The platform answers what the bot cannot use (not its API, a malformed answer), and
    keeps doing so. The message is for the operator; `regelkreis run` exits with status 7."""


class Platform:
    """One adapter's side of the core: its answers, claims, state, lease and pruning.

    Every method that touches the database runs in a worker thread, like `App.answer`, so
    the event loop keeps serving. `state_prefix` names its rows in `platform_state`.
    """

    def __init__(self, app: App, platform: str, *, state_prefix: str, lease: str) -> None:
        self.app = app
        self.platform = platform
        self.state_prefix = state_prefix
        self.lease = Lease(app, lease)
        self._detached: set[asyncio.Task[None]] = set()

    # -- the conversation service ---------------------------------------------------------

    def claim(self, message_key: str, room_id: str) -> Claim:
        return Claim(self.platform, message_key, room_id, self.app.clock())

    async def answer(self, incoming: Incoming, message_key: str) -> Reply | None:
        """The core's reply to a platform message, once; None when it was taken on before."""
        return await self.app.answer(incoming, self.claim(message_key, incoming.room_id))

    async def received_file(
        self, incoming: Incoming, message_key: str, file_name: str, data: bytes | None, size: int
    ) -> Reply | None:
        """A file a person sent (`Conversation.received_file`): kept for `import`, and its
        caption answered like the command typed; None when nothing is to be sent."""
        return await _thread(
            self.app.conversation.received_file,
            incoming,
            file_name,
            data,
            size=size,
            claim=self.claim(message_key, incoming.room_id),
        )

    def accepts_file(self, file_name: str, size: int | None) -> bool:
        """Whether to download a file at all (a plan's type, within the size limit)."""
        return self.app.conversation.accepts_file(file_name, size)

    async def in_turn(self, incoming: Incoming, work: Coroutine[Any, Any, None]) -> None:
        """Answer `incoming` with `work` now; a slow command (an import) beside the room's
        order instead: the adapter goes on with the next message, so a `status` sent
        meanwhile is answered before it ends. `drain` waits for what is still running when
        the transport stops."""
        if not self.app.conversation.runs_long(incoming):
            await work
            return
        task = asyncio.create_task(work, name=f"{self.platform}:long")
        self._detached.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._detached.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s: a long command failed", self.platform, exc_info=task.exception())

    async def drain(self) -> None:
        """Wait for the long commands still running (their work runs in threads anyway)."""
        while self._detached:
            await asyncio.gather(*self._detached, return_exceptions=True)

    async def take(self, message_key: str, room_id: str) -> bool:
        """Take an event on that is not a message to answer; False if it was before."""
        return await _thread(self.app.conversation.take, self.claim(message_key, room_id))

    async def sent(
        self,
        room_id: str,
        message_ids: Sequence[str | int],
        reply: Reply,
        *,
        incoming: Incoming | None = None,
        edited: bool = False,
    ) -> None:
        """Tell the core what a bot message showed (one write, none when nothing)."""
        if not message_ids or (reply.subject is None and reply.outcome != "ambiguous"):
            return  # nothing to remember: no write
        ids = [str(m) for m in message_ids]
        await _thread(
            self.app.conversation.sent,
            self.platform,
            room_id,
            ids,
            reply,
            incoming=incoming,
            edited=edited,
        )

    async def may_invite(self, user_id: str) -> bool:
        return await _thread(self.app.conversation.may_invite, self.platform, user_id)

    def menu(self, lang: Language) -> list[MenuEntry]:
        return self.app.conversation.menu(lang)

    # -- the backlog ----------------------------------------------------------------------

    def oldest(self) -> datetime:
        """Messages sent before this are not answered any more (BACKLOG)."""
        return self.app.clock() - BACKLOG

    # -- platform state -------------------------------------------------------------------

    async def get(self, name: str) -> str | None:
        return await _thread(self._get, name)

    async def put(self, name: str, value: str) -> None:
        await _thread(self._put, name, value)

    async def delivered(self, key: str) -> str | None:
        """The message id an outbox message got when it was sent before (else None)."""
        return await self.get(_DELIVERED + key)

    async def mark_delivered(self, key: str, message_id: str) -> None:
        await self.put(_DELIVERED + key, message_id)

    def _get(self, name: str) -> str | None:
        with self.app.uows() as uow:
            state = uow.session.get(PlatformState, self.state_prefix + name)
            return state.value if state is not None else None

    def _put(self, name: str, value: str) -> None:
        key = self.state_prefix + name
        with self.app.uows(write=True) as uow:
            state = uow.session.get(PlatformState, key)
            if state is None:
                uow.session.add(PlatformState(key=key, value=value, updated_at=self.app.clock()))
            else:
                state.value = value
                state.updated_at = self.app.clock()
            with contextlib.suppress(IntegrityError):  # a concurrent call wrote the same
                uow.commit()

    # -- what messages showed, rooms ------------------------------------------------------

    async def reaction(
        self, room_id: str, message_id: str, emoji: str
    ) -> tuple[str, ShownVersion] | None:
        """The command a reaction to a bot message stands for (`Conversation.reaction`)."""
        return await _thread(
            self.app.conversation.reaction, self.platform, room_id, message_id, emoji
        )

    async def is_linked(self, room_id: str) -> bool:
        """Whether an administrator linked this room (a department's, the coordination's)."""
        return await _thread(self._is_linked, room_id)

    def _is_linked(self, room_id: str) -> bool:
        with self.app.uows() as uow:
            return self._linked(uow.session, room_id)

    def _linked(self, session: Session, room_id: str) -> bool:
        found = session.execute(
            select(RoomLink.id).where(
                RoomLink.platform == self.platform, RoomLink.room_id == room_id
            )
        ).first()
        return found is not None

    async def move_room(self, old: str, new: str) -> bool:
        """The room got a new id (a Telegram group became a supergroup): its link and any
        open numbered list follow. False when there was nothing to move."""
        return await _thread(self._move_room, old, new)

    def _move_room(self, old: str, new: str) -> bool:
        with self.app.uows(write=True) as uow:
            session = uow.session
            if self._linked(session, new):
                return False
            moved = session.execute(
                update(RoomLink)
                .where(RoomLink.platform == self.platform, RoomLink.room_id == old)
                .values(room_id=new)
            )
            session.execute(
                update(PendingChoice)
                .where(PendingChoice.platform == self.platform, PendingChoice.room_id == old)
                .values(room_id=new)
            )
            uow.commit()
            return bool(getattr(moved, "rowcount", 0))

    # -- the lease, pruning and the lease loop --------------------------------------------

    async def take_lease(self, account: str) -> None:
        """Serve `account` ("the Matrix account @bot:stadt.de") from now on, or raise
        TransportTaken when another live process does."""
        other = await _thread(self.lease.take)
        if other is not None:
            raise TransportTaken(
                f"{account} is already served by another process ({other}); stop that one "
                f"first (its lease ends {int(LEASE_TTL.total_seconds())} s after it stops "
                "renewing it)"
            )

    async def leave_to_server(self, account: str) -> None:
        """A send-only run: raise TransportTaken when a running bot serves `account` (it
        delivers the reminders itself then)."""
        other = await self.served_by()
        if other is not None:
            raise TransportTaken(
                f"{account} is served by a running bot ({other}); it delivers the reminders"
            )

    async def served_by(self) -> str | None:
        """The live process that serves the account now, if any (a send-only run asks)."""
        return await _thread(self.lease.serving)

    async def release_lease(self) -> None:
        with contextlib.suppress(Exception):  # it runs out by itself
            await _thread(self.lease.release)

    def prune(self) -> None:
        """Forget claims and delivery marks older than RETENTION."""
        oldest = self.app.clock() - RETENTION
        with self.app.uows(write=True) as uow:
            uow.session.execute(
                delete(ProcessedMessage).where(
                    ProcessedMessage.platform == self.platform,
                    ProcessedMessage.received_at < oldest,
                )
            )
            uow.session.execute(
                delete(PlatformState).where(
                    PlatformState.key.startswith(self.state_prefix + _DELIVERED),
                    PlatformState.updated_at < oldest,
                )
            )
            uow.commit()

    async def serve(self, work: Coroutine[Any, Any, None], *, lost: str) -> None:
        """Run `work` (the sync loop, polling) while the lease is renewed and old claims
        are pruned. Ends when `work` does; raises TransportTaken(lost) when another process
        took the lease meanwhile (then `work` is cancelled)."""
        keeper = asyncio.create_task(self._keep(lost), name=f"{self.platform}:lease")
        worker = asyncio.create_task(work, name=f"{self.platform}:serve")
        try:
            done, _pending = await asyncio.wait(
                [keeper, worker], return_when=asyncio.FIRST_COMPLETED
            )
            for task in done:
                task.result()
        finally:
            for task in (keeper, worker):
                task.cancel()
            await asyncio.gather(keeper, worker, return_exceptions=True)

    async def _keep(self, lost: str) -> None:
        pruned = -PRUNE_EVERY
        while True:
            if time.monotonic() - pruned >= PRUNE_EVERY:
                pruned = time.monotonic()
                try:
                    await _thread(self.prune)
                except Exception as error:  # pruning can wait for the next round
                    log.warning("%s: could not prune processed messages: %s", self.platform, error)
            await asyncio.sleep(LEASE_RENEW_SECONDS)
            if not self.lease.held:
                continue  # a webhook, or a send-only run: nothing to renew
            try:
                kept = await _thread(self.lease.renew)
            except Exception as error:  # the database may be briefly away; the lease lasts
                log.warning("%s: could not renew the lease: %s", self.platform, error)
                continue
            if not kept:
                log.error("%s: %s", self.platform, lost)
                raise TransportTaken(lost)


class _Notifying(Protocol):
    platform: str

    async def notify(self, recipient: Recipient, message: Reply, idempotency_key: str) -> Delivery:
        """Deliver an outbox message."""


class ChatNotifier:
    """The core's Notifier on a chat platform: what its transport's `notify` does."""

    def __init__(self, transport: _Notifying) -> None:
        self.platform = transport.platform
        self._transport = transport

    async def send(self, recipient: Recipient, message: Reply, *, idempotency_key: str) -> Delivery:
        return await self._transport.notify(recipient, message, idempotency_key)


async def _thread(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """The adapter's short database work, in the worker pool the conversation uses too.

    A single thread of its own was tried on Telegram and measured worse: one claim waiting
    for SQLite's write lock then stalls every update behind it.
    """
    return await asyncio.to_thread(function, *args, **kwargs)


__all__ = [
    "BACKLOG",
    "LEASE_TTL",
    "RETENTION",
    "ChatNotifier",
    "Lease",
    "Platform",
    "wall_clock",
]
