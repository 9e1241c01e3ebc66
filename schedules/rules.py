"""The reminder rules of a municipality (PRODUCT.md §3) and the stable keys of reminders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from handlers.core import Language
from schedules.calendar import WorkCalendar

if TYPE_CHECKING:
    from bot.config import Config

# Reminder kinds the sweep decides. Everything else in the outbox (the assignment notice, …)
# is a direct consequence of a command and goes out at once, whatever the hour.
DEADLINE = "deadline"
OVERDUE = "overdue"  # to the responsible person
OVERDUE_ROOM = "overdue_room"  # to the lead department's room
CHECKIN = "checkin"
MEETING = "meeting"  # "please report" to a department before a meeting
AGENDA = "agenda"
DIGEST = "digest"
REMINDER_KINDS = frozenset({DEADLINE, OVERDUE, OVERDUE_ROOM, CHECKIN, MEETING, AGENDA, DIGEST})
# Kinds about one measure that go to a person first.
PERSON_KINDS = frozenset({DEADLINE, OVERDUE, CHECKIN})
WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI")


def _hhmm(text: str) -> time:
    hours, minutes = text.strip().split(":")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class ReminderRules:
    """Offsets, times and the calendar the sweep and the deliverer work with."""

    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Berlin"))
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
    calendar: WorkCalendar = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Largest offset first: the sweep and the messages walk them in time order.
        for name in ("deadline_days", "meeting_days"):
            object.__setattr__(self, name, tuple(sorted(set(getattr(self, name)), reverse=True)))
        object.__setattr__(
            self, "calendar", WorkCalendar(self.zone, self.state, self.work_start, self.work_end)
        )

    @classmethod
    def from_config(cls, config: Config) -> ReminderRules:
        from bot.bootstrap import configured_platforms  # bot.bootstrap imports this module

        reminders = config.reminders
        start, end = reminders.hours
        day, at = reminders.digest.split()
        return cls(
            zone=config.municipality.zone,
            state=config.municipality.state,
            work_start=_hhmm(start),
            work_end=_hhmm(end),
            send_time=_hhmm(reminders.time or start),
            deadline_days=tuple(reminders.deadline_days),
            meeting_days=tuple(reminders.meeting_days),
            agenda_days=reminders.agenda_days,
            overdue_repeat_days=reminders.overdue_repeat_days,
            digest_weekday=WEEKDAYS.index(day),
            digest_time=_hhmm(at),
            enabled=reminders.enabled,
            language=config.bot.language,
            platforms=configured_platforms(config),
        )

    @classmethod
    def from_settings(cls, settings: Any) -> ReminderRules:
        """The rules for handlers: from `CoreSettings.reminders` when bootstrap provides it,
        else the defaults with the municipality's zone and state."""
        rules = getattr(settings, "reminders", None)
        if isinstance(rules, ReminderRules):
            return rules
        return cls(
            zone=getattr(settings, "timezone", ZoneInfo("Europe/Berlin")),
            state=getattr(settings, "state", "BB"),
            language=getattr(settings, "language", "de"),
            platforms=frozenset(getattr(settings, "platforms", ())),
        )

    def room_time(self, reminder_time: str | None) -> time:
        """A room's own reminder time (`erinnerungen zeit:`), else the municipality's."""
        if reminder_time:
            try:
                return _hhmm(reminder_time)
            except ValueError:
                pass
        return self.send_time


@dataclass(frozen=True)
class ReminderKey:
    """`kind:subject:due-date:offset` — stable for one reminder, unique in the outbox.

    The due date is the date the reminder is about (the deadline, the meeting day, the
    digest's Monday), so editing a deadline or moving a meeting makes new keys: the old
    reminders are not sent again and the new ones are planned without anything else.
    """

    kind: str
    subject: str  # "M-12", "S-2", "S-2/3" (meeting and department id), "weekly"
    due: date
    offset: str  # "14" days before, "w2" weeks overdue, "7" working days before, "0"

    def __str__(self) -> str:
        return f"{self.kind}:{self.subject}:{self.due.isoformat()}:{self.offset}"

    @classmethod
    def parse(cls, text: str) -> ReminderKey | None:
        parts = text.split(":")
        if len(parts) != 4 or parts[0] not in REMINDER_KINDS:
            return None
        try:
            due = date.fromisoformat(parts[2])
        except ValueError:
            return None
        return cls(parts[0], parts[1], due, parts[3])

    @property
    def measure_id(self) -> int | None:
        if self.subject.startswith("M-") and self.subject[2:].isdigit():
            return int(self.subject[2:])
        return None

    @property
    def meeting_id(self) -> int | None:
        if not self.subject.startswith("S-"):
            return None
        number = self.subject[2:].split("/")[0]
        return int(number) if number.isdigit() else None

    @property
    def department_id(self) -> int | None:
        _meeting, _slash, department = self.subject.partition("/")
        return int(department) if department.isdigit() else None
