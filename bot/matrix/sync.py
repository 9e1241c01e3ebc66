"""The sync loop: one long-polling /sync at a time from the stored token, riding out the
homeserver going away; gaps of a long downtime filled from /messages; the token stored
behind the loop once its batch is handled."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

import nio

from bot.matrix.errors import NETWORK_ERRORS, Backoff

if TYPE_CHECKING:
    from bot.matrix.transport import MatrixTransport

log = logging.getLogger("regelkreis.matrix")

SYNC_TIMEOUT_MS = 30_000
GAP_PAGES = 10
TOKEN = "sync_token"  # its name in platform_state
# The token is written at most this often (and on stop): every sync wrote it before, two or
# three SQLite writes per command answered. An older token after a crash only reads a few
# seconds of events again, and their claims answer nothing twice.
TOKEN_WRITE_SECONDS = 5.0


class SyncLoop:
    """Syncs for one bot; `ready` is set once the first sync is handled."""

    def __init__(self, bot: MatrixTransport) -> None:
        self.bot = bot
        self.token: str | None = None
        self._saved: str | None = None
        self._writer: asyncio.Task[None] | None = None
        self._written_at = -TOKEN_WRITE_SECONDS
        self.filter_id: str | None = None
        # Set after every sync: whoever waits for one (a new direct room) is woken.
        self.done = asyncio.Event()

    async def load(self) -> None:
        # Send-only syncs from the bot's token but never stores one: the bot still reads
        # (and answers) everything that came meanwhile.
        self.token = self._saved = await self.bot.shared.get(TOKEN)

    def sync_filter(self) -> dict[str, Any]:
        if self.bot.send_only:
            # Rooms, members and encryption come with the state; events are not read.
            return {
                "room": {"timeline": {"limit": 1}, "ephemeral": {"types": []}},
                "presence": {"types": []},
            }
        return {
            "room": {"timeline": {"limit": self.bot.timeline_limit}},
            "presence": {"types": []},
        }

    async def upload_filter(self) -> None:
        """Stored once on the homeserver: each sync then names it instead of spelling it out."""
        try:
            uploaded = await self.bot.client.upload_filter(**self.sync_filter())
        except NETWORK_ERRORS:
            return
        if isinstance(uploaded, nio.UploadFilterResponse):
            self.filter_id = uploaded.filter_id

    def _timeout(self) -> int:
        soonest = self.bot.crypto.soonest()
        if soonest is None:
            return SYNC_TIMEOUT_MS
        return max(500, min(SYNC_TIMEOUT_MS, int((soonest - time.monotonic()) * 1000) + 100))

    async def forever(self) -> None:
        backoff = Backoff()
        first = True
        while True:
            response = await self._once(
                backoff,
                timeout=0 if first else self._timeout(),
                # After a restart nio knows no room: full state brings members and
                # encryption back, while the timeline still starts at our token.
                full_state=True if first and self.token else None,
            )
            if response is None:
                continue
            backoff.reset()
            previous, first = self.token, False
            try:
                await self._handle(response, previous)
            except NETWORK_ERRORS as error:
                # The token is not saved: this batch is read again, the claims keep it once.
                await backoff.wait("Matrix event handling", repr(error))
                continue
            self._remember(response.next_batch)
            await self._after_sync(backoff)

    async def quietly(self, *, first: bool = False, timeout_ms: int = 0) -> None:
        """Send-only: one sync for the rooms and keys; nothing in it is handled or answered,
        and its token stays in memory (the bot reads the same events later)."""
        backoff = Backoff()
        response = None
        while response is None:
            response = await self._once(
                backoff, timeout=timeout_ms, full_state=True if first else None
            )
        self.token = response.next_batch
        await self._after_sync(None)

    async def _after_sync(self, backoff: Backoff | None) -> None:
        try:
            await self.bot.crypto.housekeeping()
        except NETWORK_ERRORS as error:  # keys are asked for again before each message
            if backoff is None:
                log.warning("Matrix key exchange failed (%r)", error)
            else:
                await backoff.wait("Matrix key exchange", repr(error))
        # Only now: whoever waits for a sync (a new direct room) finds its keys known.
        self.bot.ready.set()
        done, self.done = self.done, asyncio.Event()
        done.set()

    async def _once(self, backoff: Backoff, *, timeout: int, full_state: bool | None) -> Any | None:
        """One /sync from our token; None after a failure it has waited out (try again)."""
        try:
            response = await self.bot.client.sync(
                timeout=timeout,
                sync_filter=self.filter_id or self.sync_filter(),
                since=self.token,
                full_state=full_state,
            )
        except NETWORK_ERRORS as error:
            await backoff.wait("Matrix sync", repr(error))
            return None
        if isinstance(response, nio.SyncError):
            if response.status_code == "M_UNKNOWN_TOKEN":
                log.warning("Matrix access token expired; logging in again")
                await self.bot.login(stale_token=True)
            elif response.status_code == "M_LIMIT_EXCEEDED":
                await asyncio.sleep((response.retry_after_ms or 5000) / 1000)
            else:
                await backoff.wait("Matrix sync", f"{response.status_code} {response.message}")
            return None
        return response

    def _remember(self, token: str) -> None:
        """Keep the sync token; it is written behind the loop so no command waits for it."""
        self.token = token
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())

    async def _write(self) -> None:
        # Only ever the latest token, written after its batch was handled: a crash in between
        # reads a batch again, and the claims answer nothing twice.
        while self.token is not None and self.token != self._saved:
            wait = self._written_at + TOKEN_WRITE_SECONDS - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            await self._write_now()

    async def _write_now(self) -> None:
        token = self.token
        if token is not None and token != self._saved:
            await self.bot.shared.put(TOKEN, token)
            self._saved = token
            self._written_at = time.monotonic()

    async def flush(self) -> None:
        """On stop: the latest token written (at once, not after the pause)."""
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
        await self._write_now()

    async def _handle(self, response: Any, previous: str | None) -> None:
        events = self.bot.events
        for room_id, info in response.rooms.invite.items():
            await events.on_invite(room_id, info)
        if previous is None:
            # The account's very first sync: what its rooms say is from before the bot.
            log.info("Matrix: first sync of %s; earlier messages are history", self.bot.user_id)
            return
        for room_id, info in response.rooms.join.items():
            room = self.bot.client.rooms.get(room_id)
            if room is None:
                continue
            timeline = list(info.timeline.events)
            if info.timeline.limited:
                timeline = await self._fill_gap(room_id, info.timeline.prev_batch, previous) + (
                    timeline
                )
            for event in self._after_own_join(timeline):
                await events.on_event(room, event)
        await self.bot.crypto.retry_undecrypted()

    async def _fill_gap(self, room_id: str, start: str, until: str) -> list[Any]:
        """Events a limited sync left out (a long downtime), oldest first."""
        cutoff = self.cutoff_ms()
        found: list[Any] = []
        token = start
        for _page in range(GAP_PAGES):
            answer = await self.bot.client.room_messages(
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
                and event.state_key == self.bot.client.user_id
                and event.membership == "join"
                and event.prev_membership != "join"
            ):
                return events[index + 1 :]
        return events

    def cutoff_ms(self) -> int:
        """Events older than the backlog window are not answered (bot/platform.py)."""
        return int(self.bot.shared.oldest().timestamp() * 1000)
