"""Who can be reached where: the recipient rules of PRODUCT.md §3 as far as the data says.

With no chat platform configured the console is every person's and every room's platform,
so nobody is unreachable; otherwise a person needs an identity on a configured platform (or
an e-mail address when e-mail is configured) and a department a linked room. Used by the
deliverer's chains, the weekly digest, `erinnerungen` and `personen`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from storage.models import (
    Department,
    Measure,
    MeasureStatus,
    OutboxEntry,
    OutboxState,
    Person,
    RoomLink,
)

CONSOLE = "console"
EMAIL = "email"
CHAT_PLATFORMS = ("matrix", "telegram")
_OPEN = [s for s in MeasureStatus if not s.is_closed]


def console_only(platforms: Collection[str]) -> bool:
    """No chat platform configured: the console chat and `run-due` print every reminder."""
    return not any(p in platforms for p in CHAT_PLATFORMS)


class Reason(StrEnum):
    """Why no message reaches a recipient; a reply names it from the catalogue (`reach.*`,
    handlers/i18n.reach_reason)."""

    NO_CHAT_ID = "no_chat_id"
    NO_CHAT_ID_NOR_EMAIL = "no_chat_id_nor_email"
    NO_ROOM = "no_room"
    NO_COORDINATION_ROOM = "no_coordination_room"


@dataclass(frozen=True)
class Unreachable:
    """A recipient no reminder reaches, and why (`Jens Jugend: keine Chat-Kennung`); the
    name is None for the coordination (no coordination room)."""

    name: str | None
    reason: Reason


def person_reason(person: Person, platforms: Collection[str]) -> Reason | None:
    """Why no message reaches this person, or None when one does."""
    if console_only(platforms):
        return None
    if any(i.platform in platforms for i in person.identities):
        return None
    if EMAIL in platforms and person.email:
        return None
    if EMAIL in platforms:
        return Reason.NO_CHAT_ID_NOR_EMAIL
    return Reason.NO_CHAT_ID


def department_reason(
    department: Department, rooms: Collection[RoomLink], platforms: Collection[str]
) -> Reason | None:
    if console_only(platforms):
        return None
    if any(r.department_id == department.id and r.platform in platforms for r in rooms):
        return None
    return Reason.NO_ROOM


def unreachable(session: Session, platforms: Collection[str]) -> list[Unreachable]:
    """Responsible people and lead departments of open measures that nothing reaches, and a
    missing coordination room; empty on a console-only installation."""
    if console_only(platforms):
        return []
    people = session.execute(
        select(Person)
        .where(
            Person.id.in_(
                select(Measure.responsible_id).where(
                    Measure.status.in_(_OPEN), Measure.responsible_id.is_not(None)
                )
            )
        )
        .options(selectinload(Person.identities))
        .order_by(Person.name, Person.id)
    ).scalars()
    found = [Unreachable(p.name, reason) for p in people if (reason := person_reason(p, platforms))]
    rooms = list(session.execute(select(RoomLink)).scalars())
    departments = session.execute(
        select(Department)
        .where(
            Department.id.in_(select(Measure.lead_department_id).where(Measure.status.in_(_OPEN)))
        )
        .order_by(Department.key)
    ).scalars()
    found += [
        Unreachable(d.name, reason)
        for d in departments
        if (reason := department_reason(d, rooms, platforms))
    ]
    if not any(r.is_coordination and r.platform in platforms for r in rooms):
        found.append(Unreachable(None, Reason.NO_COORDINATION_ROOM))
    return found


def wake_waiting(session: Session) -> None:
    """A recipient may have become reachable (an identity, an e-mail address, a linked
    room): entries waiting for one are tried at the next delivery run, and recipients passed
    over before are tried again."""
    session.execute(
        update(OutboxEntry)
        .where(OutboxEntry.state == OutboxState.WAITING)
        .values(next_attempt_at=None, passed_over=None)
        .execution_options(synchronize_session=False)
    )
