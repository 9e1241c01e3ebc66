"""What handlers/ and schedules/ need from the outside, declared here and wired by bootstrap.

- `Notifier` with `Recipient` and `Delivery`: how a message reaches a room or a person
  without an incoming message (every transport implements it, bot/ provides them);
- `Clock`: the current time, fixed in tests and by `--now`;
- `ReminderRules` with the working calendar: the municipality's reminder settings
  (PRODUCT.md §3), built from the configuration by bot/bootstrap.py.

Layers point one way, bot → schedules → handlers → storage (the import-linter contract in
pyproject.toml); this module is how the lower layers name what the upper ones provide.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Literal, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from handlers.calendar import WorkCalendar
from handlers.core import Language, Reply
from storage.events import DEFAULT_ZONE

__all__ = [
    "Clock",
    "Delivery",
    "DeliveryStatus",
    "Notifier",
    "Recipient",
    "ReminderRules",
    "WorkCalendar",
    "clock_time",
    "system_clock",
]

Clock = Callable[[], datetime]
"""Returns the current aware time; injected so tests and `--now` can fix it."""


def system_clock() -> datetime:
    return datetime.now(UTC)


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


# -- the reminder rules ----------------------------------------------------------------------


def clock_time(text: str) -> time:
    """`08:30` → 08:30 (the configuration's times)."""
    hours, minutes = text.strip().split(":")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class ReminderRules:
    """Offsets, times and the calendar the sweep and the deliverer work with."""

    zone: ZoneInfo = DEFAULT_ZONE
    state: str = "BB"
    work_start: time = time(8, 0)
    work_end: time = time(17, 0)
    send_time: time = time(8, 0)
    deadline_days: tuple[int, ...] = (14, 3)
    meeting_days: tuple[int, ...] = (7, 1)
    agenda_days: int = 1
    overdue_repeat_days: int = 7
    digest_weekday: int = 0
    digest_time: time = time(8, 0)
    enabled: bool = True
    language: Language = "de"
    # The platforms that deliver ("matrix", "telegram", "email" as configured); none of the
    # chat ones means the console reaches everyone (storage.reach).
    platforms: frozenset[str] = frozenset()
    # Processed messages, finished outbox entries and sent-message records are deleted after
    # this many days (schedules/prune.py, docs/privacy.md).
    keep_days: int = 90
    calendar: WorkCalendar = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Largest offset first: the sweep and the messages walk them in time order.
        for name in ("deadline_days", "meeting_days"):
            object.__setattr__(self, name, tuple(sorted(set(getattr(self, name)), reverse=True)))
        object.__setattr__(
            self, "calendar", WorkCalendar(self.zone, self.state, self.work_start, self.work_end)
        )

    def room_time(self, reminder_time: str | None) -> time:
        """A room's own reminder time (`erinnerungen zeit:`), else the municipality's."""
        if reminder_time:
            try:
                return clock_time(reminder_time)
            except ValueError:
                pass
        return self.send_time
