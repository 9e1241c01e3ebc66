"""The Notifier contract every transport implements to send without an incoming message."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from handlers.core import Reply


class DeliveryStatus(enum.Enum):
    DELIVERED = "delivered"
    # Worth retrying later: network down, rate limited (429), homeserver restarting.
    TEMPORARY_FAILURE = "temporary"
    # Never going to work for this recipient: user never started the bot, bot left the room.
    # The deliverer falls through to the next recipient and logs it.
    PERMANENT_FAILURE = "permanent"


@dataclass(frozen=True)
class Delivery:
    status: DeliveryStatus
    detail: str = ""
    message_id: str | None = None

    @classmethod
    def delivered(cls, message_id: str | None = None) -> Delivery:
        return cls(DeliveryStatus.DELIVERED, message_id=message_id)

    @classmethod
    def temporary(cls, detail: str) -> Delivery:
        return cls(DeliveryStatus.TEMPORARY_FAILURE, detail)

    @classmethod
    def permanent(cls, detail: str) -> Delivery:
        return cls(DeliveryStatus.PERMANENT_FAILURE, detail)


@dataclass(frozen=True)
class Recipient:
    """A room, or a person reached in their direct chat, on one platform."""

    kind: Literal["room", "person"]
    platform: str
    address: str  # room id, or the person's user id on that platform
    name: str  # for logs and the console: "Max Müller", "Jugendamt (JA)"

    def __str__(self) -> str:
        return f"{self.name} ({self.platform}:{self.address})"


@runtime_checkable
class Notifier(Protocol):
    """Sends grouped text (with optional quick answers and files) to a room or a person.

    `idempotency_key` is stable for one outbox entry: a transport that can deduplicate resends
    (Matrix transaction ids) derives its key from it, so a retry after a crash posts once.
    """

    platform: str

    async def send(
        self, recipient: Recipient, message: Reply, *, idempotency_key: str
    ) -> Delivery: ...
