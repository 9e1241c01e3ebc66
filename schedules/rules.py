"""The reminder rules of a municipality (PRODUCT.md §3) and the stable keys of reminders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# Reminder kinds the sweep decides. Everything else in the outbox (the assignment notice, …)
# is a direct consequence of a command and goes out at once, whatever the hour.
DEADLINE = "deadline"
OVERDUE = "overdue"  # to the responsible person
OVERDUE_ROOM = "overdue_room"  # to the lead department's room
CHECKIN = "checkin"
MEETING = "meeting"  # "please report" to a department before a meeting
AGENDA = "agenda"
DIGEST = "digest"
INDICATOR_VALUE = "indicator_value"  # a new value of an indicator is due, to its department
REMINDER_KINDS = frozenset(
    {DEADLINE, OVERDUE, OVERDUE_ROOM, CHECKIN, MEETING, AGENDA, DIGEST, INDICATOR_VALUE}
)
# Kinds about one measure that go to a person first.
PERSON_KINDS = frozenset({DEADLINE, OVERDUE, CHECKIN})


@dataclass(frozen=True)
class ReminderKey:
    """`kind:subject:due-date:offset` — stable for one reminder, unique in the outbox.

    The due date is the date the reminder is about (the deadline, the meeting day, the
    digest's Monday), so editing a deadline or moving a meeting makes new keys: the old
    reminders are not sent again and the new ones are planned without anything else.
    """

    kind: str
    subject: str  # "M-12", "S-2", "S-2/3" (meeting and department id), "K-3", "weekly"
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
    def indicator_id(self) -> int | None:
        if self.subject.startswith("K-") and self.subject[2:].isdigit():
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
