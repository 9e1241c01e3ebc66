"""Sending to Matrix: a Reply as a message, its files and quick-answer reactions, with
bounded retries and one transaction id per message; a person's direct room opened on first
use. What a message showed is told to the core (`Platform.sent`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from typing import TYPE_CHECKING, Any

import nio
from nio.event_builders import EnableEncryptionBuilder

from bot.matrix.errors import BACKOFF_FIRST, BACKOFF_MAX, NETWORK_ERRORS, classify, http_status
from bot.matrix.parse import transaction_id
from bot.matrix.render import message_content, split_reply
from bot.outgoing import for_matrix
from handlers.core import Attachment, Incoming, Reply
from handlers.ports import Delivery, DeliveryStatus

if TYPE_CHECKING:
    from bot.matrix.transport import MatrixTransport

log = logging.getLogger("regelkreis.matrix")

# Bounded retries; a 429 waits its retry_after_ms, but never longer than this in all.
SEND_ATTEMPTS = 5
SEND_WAIT_LIMIT = 60.0
# An unreachable homeserver is tried this often per message; the outbox retries later.
NETWORK_ATTEMPTS = 3
DIRECT_ROOM_WAIT = 15.0


class Sender:
    """What the bot posts, on its nio client."""

    def __init__(self, bot: MatrixTransport) -> None:
        self.bot = bot

    async def send_event(
        self, room_id: str, event_type: str, content: dict[str, Any], tx_id: str
    ) -> Delivery:
        """Send one event: bounded retries, 429s honoured, the same transaction id each time."""
        client = self.bot.client
        waited = 0.0
        network_errors = 0
        failure = Delivery.temporary("not sent")
        for attempt in range(1, SEND_ATTEMPTS + 1):
            pause = min(BACKOFF_FIRST * 2 ** (attempt - 1), BACKOFF_MAX)
            if not client.logged_in:
                return Delivery.temporary("Matrix is not connected yet")
            try:
                await self.bot.crypto.trust_on_first_use(room_id)
                answer = await client.room_send(
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
                failure = classify(answer)
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

    async def deliver(
        self,
        room_id: str,
        reply: Reply,
        *,
        seed: str,
        msgtype: str,
        relates_to: dict[str, Any] | None = None,
        mention: str | None = None,
        incoming: Incoming | None = None,
    ) -> Delivery:
        """The reply as a message, then its files and quick-answer reactions. `incoming`:
        the message it answers (a numbered list is then remembered for it)."""
        # A reply too big for one event goes as several, cut between lines.
        first, *more = split_reply(reply)
        content = message_content(first, msgtype)
        content["m.mentions"] = {"user_ids": [mention]} if mention else {}
        if relates_to:
            content["m.relates_to"] = relates_to
        delivery = await self.send_event(
            room_id, "m.room.message", content, transaction_id(seed, room_id, "text")
        )
        if delivery.status is not DeliveryStatus.DELIVERED or delivery.message_id is None:
            return delivery
        for index, part in enumerate(more, start=2):
            following = message_content(part, msgtype)
            following["m.mentions"] = {}
            sent_part = await self.send_event(
                room_id,
                "m.room.message",
                following,
                transaction_id(seed, room_id, "text", str(index)),
            )
            if sent_part.status is not DeliveryStatus.DELIVERED:
                return sent_part
        # Before the reactions go out: a reaction to this message must find what it showed.
        await self.bot.shared.sent(room_id, [delivery.message_id], reply, incoming=incoming)
        for index, attachment in enumerate(reply.attachments):
            sent = await self._send_attachment(room_id, attachment, seed, index)
            if sent.status is not DeliveryStatus.DELIVERED:
                return sent
        if reply.subject is not None and reply.quick_answers and self.bot.config.quick_reactions:
            for answer in reply.quick_answers:
                await self.send_event(
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
        client = self.bot.client
        room = client.rooms.get(room_id)
        encrypted = bool(room is not None and room.encrypted)
        try:
            data = attachment.path.read_bytes()
        except OSError as error:
            return Delivery.permanent(f"cannot read {attachment.path}: {error}")
        size = len(data)
        try:
            uploaded, keys = await client.upload(
                lambda _got_429, _got_timeouts: data,
                content_type=attachment.mime_type,
                filename=attachment.name,
                encrypt=encrypted,
                filesize=size,
            )
        except NETWORK_ERRORS as error:
            return Delivery.temporary(f"upload failed: {error!r}")
        if not isinstance(uploaded, nio.UploadResponse):
            return classify(uploaded)
        info: dict[str, Any] = {"mimetype": attachment.mime_type, "size": size}
        if attachment.is_image and attachment.width and attachment.height:
            info["w"], info["h"] = attachment.width, attachment.height
        content: dict[str, Any] = {
            "msgtype": "m.image" if attachment.is_image else "m.file",
            "body": for_matrix(attachment.caption or attachment.name),
            "filename": attachment.name,
            "info": info,
        }
        if encrypted and keys is not None:
            content["file"] = {**keys, "url": uploaded.content_uri}
        else:
            content["url"] = uploaded.content_uri
        return await self.send_event(
            room_id, "m.room.message", content, transaction_id(seed, room_id, "file", str(index))
        )

    async def direct_room(self, user_id: str) -> str | Delivery:
        """The person's direct room with the bot, created (and they invited) on first use."""
        client = self.bot.client
        if not re.match(r"^@[^:\s]+:\S+$", user_id):
            return Delivery.permanent(f"{user_id!r} is not a Matrix user id")
        name = f"direct:{user_id}"
        room_id = await self.bot.shared.get(name)
        if room_id is not None:
            room = client.rooms.get(room_id)
            if room is not None and user_id in room.users:
                return room_id
            # The bot or the person left it: a new one, since reminders must reach them.
            log.info("direct room %s with %s is gone; opening a new one", room_id, user_id)
        try:
            # Synapse opens a room even for an invitee who does not exist; ask first.
            profile = await client.get_profile(user_id)
        except NETWORK_ERRORS as error:
            return Delivery.temporary(f"homeserver unreachable: {error!r}")
        if isinstance(profile, nio.ProfileGetError) and http_status(profile) == 404:
            return Delivery.permanent(f"there is no Matrix user {user_id}")
        initial_state = (
            [EnableEncryptionBuilder().as_dict()] if self.bot.config.encrypt_direct_rooms else []
        )
        try:
            created = await client.room_create(
                is_direct=True,
                invite=[user_id],
                preset=nio.RoomPreset.trusted_private_chat,
                initial_state=initial_state,
            )
        except NETWORK_ERRORS as error:
            return Delivery.temporary(f"homeserver unreachable: {error!r}")
        if not isinstance(created, nio.RoomCreateResponse):
            return classify(created)
        await self.bot.shared.put(name, created.room_id)
        # Wait until the bot's sync shows the invite too: Synapse writes it last, and a room
        # key shared before it would leave the person unable to read the message.
        if not await self._wait_for_room(created.room_id, DIRECT_ROOM_WAIT, member=user_id):
            return Delivery.temporary(f"the new direct room {created.room_id} is not synced yet")
        return str(created.room_id)

    async def _wait_for_room(self, room_id: str, seconds: float, *, member: str) -> bool:
        bot = self.bot
        deadline = time.monotonic() + seconds
        while member not in getattr(bot.client.rooms.get(room_id), "users", {}):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if bot.send_only:  # no sync loop runs: sync here until the room shows
                if await bot.shared.served_by() is not None:
                    return False  # the bot started: its syncs are its own, it delivers
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        bot.sync.quietly(timeout_ms=int(min(remaining, 5.0) * 1000)),
                        remaining + 1.0,
                    )
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(bot.sync.done.wait(), remaining)
        return True
