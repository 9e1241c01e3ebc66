"""End-to-end encryption: devices trusted on first use, keys exchanged after each sync, and
a command the bot cannot decrypt given a few seconds for its room key."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import nio

from bot.matrix.parse import transaction_id

if TYPE_CHECKING:
    from bot.matrix.transport import MatrixTransport


@dataclass
class _Undecrypted:
    room_id: str
    event: Any  # nio.MegolmEvent
    deadline: float


class Crypto:
    """The bot's side of encryption, on its nio client."""

    def __init__(self, bot: MatrixTransport) -> None:
        self.bot = bot
        self._keys_lock = asyncio.Lock()
        self._undecrypted: dict[str, _Undecrypted] = {}

    def soonest(self) -> float | None:
        """When the next undecryptable event gives up waiting for its key (monotonic)."""
        return min((item.deadline for item in self._undecrypted.values()), default=None)

    async def on_undecryptable(self, room: Any, event: Any) -> None:
        """Wait a little for the room key (and ask for it); then ask to send again."""
        if event.event_id in self._undecrypted:
            return
        self._undecrypted[event.event_id] = _Undecrypted(
            room.room_id, event, time.monotonic() + self.bot.key_wait_seconds
        )
        await self._request_key(event)

    async def _request_key(self, event: Any) -> None:
        client = self.bot.client
        with contextlib.suppress(nio.LocalProtocolError):  # already asked for this session
            # Registers the request, so a forwarded key is accepted; goes to our own devices.
            await client.request_room_key(event)
        # And to the device that sent it, as Element does.
        message = event.as_key_request(
            event.sender, client.device_id, event.session_id, event.device_id
        )
        await client.to_device(message, transaction_id("keyrequest", event.event_id))

    async def retry_undecrypted(self) -> None:
        """After a sync: handle what can be read now, give up on what waited long enough."""
        client = self.bot.client
        for event_id, item in list(self._undecrypted.items()):
            room = client.rooms.get(item.room_id)
            decrypted = None
            with contextlib.suppress(nio.EncryptionError, nio.LocalProtocolError):
                decrypted = client.decrypt_event(item.event)
            if decrypted is not None and not isinstance(decrypted, nio.MegolmEvent):
                del self._undecrypted[event_id]
                decrypted.room_id = item.room_id
                if room is not None:
                    await self.bot.events.on_event(room, decrypted)
            elif time.monotonic() >= item.deadline:
                del self._undecrypted[event_id]
                if room is not None:
                    await self.bot.events.ask_to_resend(room, item.event)

    async def trust_on_first_use(self, room_id: str) -> None:
        """Know and trust every device of the room's members the first time it is seen.

        nio keeps the first signing key of each device and refuses a changed one later, so
        this is trust on first use; see docs/matrix.md for what that means for operators.
        """
        client = self.bot.client
        room = client.rooms.get(room_id)
        if client.olm is None or room is None or not room.encrypted:
            return
        if not room.members_synced:
            await client.joined_members(room_id)
        # A member new to the bot (just invited to a direct room): fetch their devices now,
        # or the room key would go to nobody and the message could not be read.
        client.olm.update_tracked_users(room)
        await self.query_keys()
        for user_id in list(room.users):
            for device in client.device_store.active_user_devices(user_id):
                if not (device.verified or device.blacklisted):
                    client.verify_device(device)

    async def housekeeping(self) -> None:
        """After a sync: send, upload, query and claim keys as nio asks."""
        client = self.bot.client
        if client.olm is None:
            return
        await client.send_to_device_messages()
        if client.should_upload_keys:
            await client.keys_upload()
        await self.query_keys()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())

    async def query_keys(self) -> None:
        # One query at a time: a sender that finds one in flight waits for its answer,
        # instead of seeing nothing to ask and encrypting for devices it does not know yet.
        async with self._keys_lock:
            if self.bot.client.should_query_keys:
                with contextlib.suppress(nio.LocalProtocolError):
                    await self.bot.client.keys_query()
