"""What a handler gets: the sender, the room, the unit of work, and helpers to resolve and audit."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handlers.core import Incoming, Language
from handlers.i18n import t
from storage.lookup import Kind, Match, NameLookup
from storage.models import AuditEntry, Department, Goal, Measure, Person, Role, RoomLink
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from schedules.rules import ReminderRules


@dataclass(frozen=True)
class CoreSettings:
    """The parts of the configuration the handlers need, independent of bot/."""

    admins: frozenset[str] = frozenset()  # "matrix:@admin:example.org", "telegram:123"
    language: Language = "de"
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Berlin"))
    state: str = "BB"
    municipality: str = "Musterstadt"
    # Working hours, offsets and calendar of the reminders (schedules.rules.ReminderRules);
    # None means the defaults for this municipality's zone and state.
    reminders: ReminderRules | None = None


_ID = re.compile(r"^([MZGS])-?(\d+)$", re.IGNORECASE)


class CommandError(Exception):
    """A command cannot go on; the dispatcher turns it into a reply and rolls back."""


class UsageError(CommandError):
    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason or "")
        self.reason = reason


class NotFound(CommandError):
    def __init__(self, text: str, suggestions: list[Match], hint: str | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.suggestions = suggestions
        # Shown when nothing is similar: what exists instead (highest id, department keys).
        self.hint = hint


class Ambiguous(CommandError):
    def __init__(self, text: str, start: int, end: int, candidates: list[Match], more: int) -> None:
        super().__init__(text)
        self.text = text
        self.start = start
        self.end = end
        self.candidates = candidates
        self.more = more


class Refused(CommandError):
    """Not allowed, or not possible: the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Context:
    incoming: Incoming
    uow: UnitOfWork
    person: Person | None
    is_admin: bool
    lang: Language
    now: datetime
    settings: CoreSettings
    lookup: NameLookup
    room: RoomLink | None

    @property
    def session(self) -> Session:
        return self.uow.session

    @property
    def today(self) -> date:
        return self.now.astimezone(self.settings.timezone).date()

    @property
    def local_now(self) -> datetime:
        return self.now.astimezone(self.settings.timezone)

    @property
    def role(self) -> Role | None:
        return self.person.role if self.person else None

    def t(self, key: str, **values: object) -> str:
        return t(self.lang, key, **values)

    def de_en(self, german: str, english: str) -> str:
        return german if self.lang == "de" else english

    def resolve(self, text: str, kinds: Collection[Kind], *, start: int = 0, end: int = 0) -> Match:
        """Resolve a reference or raise NotFound / Ambiguous (with the span, for picking)."""
        resolution = self.lookup.resolve(self.session, text, kinds)
        if resolution.match is not None:
            return resolution.match
        if resolution.ambiguous:
            raise Ambiguous(text, start, end, resolution.candidates, resolution.more)
        hint = None if resolution.candidates else self._not_found_hint(text, kinds)
        raise NotFound(text, resolution.candidates, hint)

    def _not_found_hint(self, text: str, kinds: Collection[Kind]) -> str | None:
        """Nothing similar: say what exists, so the next try can succeed."""
        by_id = _ID.match(text.replace(" ", ""))
        if by_id is not None:
            prefix = by_id.group(1).upper()
            numbered = {"M": (Kind.MEASURE, Measure.id), "Z": (Kind.GOAL, Goal.id)}
            kind, column = numbered.get("Z" if prefix == "G" else prefix, (None, None))
            if kind in kinds and column is not None:
                highest = self.session.execute(select(func.max(column))).scalar()
                ref = "M" if kind is Kind.MEASURE else "Z"
                if highest:
                    return self.de_en(
                        f"Die höchste Nummer ist {ref}-{highest}.",
                        f"The highest number is {ref}-{highest}.",
                    )
        if set(kinds) == {Kind.DEPARTMENT}:
            keys = self.session.execute(select(Department.key).order_by(Department.id)).scalars()
            names = list(keys)
            if names:
                shown = ", ".join(names[:15]) + (", …" if len(names) > 15 else "")
                return self.de_en(f"Ressorts: {shown}", f"Departments: {shown}")
        return None

    def audit(
        self,
        action: str,
        entity_kind: str,
        entity_id: int,
        *,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        version: int | None = None,
    ) -> None:
        """Record a change with who made it and the message it came from."""
        self.session.add(
            AuditEntry(
                at=self.now,
                person_id=self.person.id if self.person else None,
                actor=self.incoming.sender_address,
                action=action,
                entity_kind=entity_kind,
                entity_id=entity_id,
                entity_version=version,
                before=before,
                after=after,
                origin_platform=self.incoming.platform,
                origin_room=self.incoming.room_id,
                origin_message_id=self.incoming.message_id,
            )
        )
