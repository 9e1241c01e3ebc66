"""Delivers the outbox: claim the due entries, group them per recipient, send, mark.

Every entry follows one state machine (docs/reminders.md, "Delivery"):

    pending ──claim──▶ claimed ──delivered──▶ sent
       ▲                 │ │ └─temporary failure, pauses 1, 5 min──▶ pending (next_attempt_at)
       │                 │ └─permanent failure, or the third temporary one: the next recipient
       │                 └─no recipient left──▶ waiting ──a recipient appears (or hourly)──┐
       └───────────────────────────────────────────────────────────────────────────────────┘
    pending / waiting ──no longer true, or a later reminder overtook it──▶ superseded

- Claim: one conditional UPDATE marks every due entry as ours with a lease in the
  database's time, renewed while sending; an entry whose lease ran out (its deliverer died)
  is claimed again. Before each message the claim is checked, so an entry another deliverer
  took over is not sent twice.
- Recipients: an entry addressed to a person goes, in order, to the person on the platform
  where they last wrote (then their other platforms), their e-mail address when e-mail is
  configured, their deputy while they are absent, the lead department's rooms and the
  coordination room (PRODUCT.md §3). With no chat platform configured the console is every
  person's and every room's platform. Recipients that failed for good are passed over.
- Grouping: all entries for one recipient in one run make one message.
- Reminders go out only in working hours on working days; other entries (the assignment
  notice) go out at once.
- Exactly once as far as the platform allows: the idempotency key of a message is derived
  from its entries' keys and the recipient, so the resend after a crash between sending and
  marking carries the same key (Matrix deduplicates it by transaction id; elsewhere it may
  show twice, and the resend is logged as possibly duplicate).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Row, Table, and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session, joinedload, selectinload

from handlers.core import Language, QuickAnswer, Reply, ShownVersion
from handlers.i18n import t
from handlers.ports import Delivery, DeliveryStatus, Notifier, Recipient, ReminderRules
from schedules import messages
from schedules.messages import Audience, MeasureFacts, MeasureRow, Part, measure_rows
from schedules.rules import (
    AGENDA,
    CHECKIN,
    DEADLINE,
    DIGEST,
    INDICATOR_VALUE,
    MEETING,
    OVERDUE,
    OVERDUE_ROOM,
    PERSON_KINDS,
    REMINDER_KINDS,
    ReminderKey,
)
from storage.models import (
    Department,
    Meeting,
    OutboxEntry,
    OutboxState,
    Person,
    RoomLink,
)
from storage.reach import CONSOLE, EMAIL, console_only
from storage.uow import UnitOfWorkFactory

log = logging.getLogger("regelkreis.outbox")
DELIVERER = f"{socket.gethostname()}:{os.getpid()}"
# A claim holds this long in the database's time, and is renewed while its deliverer sends;
# one that ran out is from a deliverer that died mid-send.
LEASE = timedelta(minutes=2)
RENEW_EVERY = 30.0  # seconds
# A claim from before leases (migration 0005) counts as abandoned after this.
CLAIM_TIMEOUT = timedelta(minutes=10)
# Temporary failures at one recipient before the entry moves on to the next, and the pauses
# between them (PRODUCT.md §3: growing pauses, a bounded number of attempts).
MAX_TRIES = 3
PAUSES = (timedelta(minutes=1), timedelta(minutes=5))
# A waiting entry is looked at again this often (and at once when a recipient appears).
RECHECK_WAITING = timedelta(hours=1)
# Messages sent and not yet marked, at most (see _Marks).
MARK_BACKLOG = 50
# Fall-through rounds per run: person platforms, e-mail, deputy, rooms, coordination room.
_MAX_ROUNDS = 12


@dataclass(frozen=True)
class Target:
    """One step of an entry's way: a recipient and how to address them."""

    recipient: Recipient
    audience: Audience


@dataclass
class Item:
    """An outbox entry claimed by this run, with its way and its message part."""

    id: int
    key: str
    kind: str
    chain: list[Target]
    part: Part
    previous_claim: str | None = None  # claimed before by a deliverer that did not finish
    step: int = 0
    errors: list[str] = field(default_factory=list)
    tries: int = 0  # temporary failures at the recipient tried now
    passed_over: list[str] = field(default_factory=list)  # "platform:address"

    @property
    def target(self) -> Target | None:
        return self.chain[self.step] if self.step < len(self.chain) else None


@dataclass(frozen=True)
class Outgoing:
    """One grouped message (what `--dry-run` prints)."""

    recipient: Recipient
    message: Reply
    keys: tuple[str, ...]


# -- the public entry points ----------------------------------------------------------------


async def deliver_due(
    uows: UnitOfWorkFactory,
    notifiers: Mapping[str, Notifier],
    now: datetime,
    *,
    rules: ReminderRules | None = None,
    platforms: Collection[str] | None = None,
) -> int:
    """Send every due entry; returns how many entries were delivered.

    `platforms` are the platforms served by some process (default: those with a notifier
    here). An entry whose next recipient is on a platform served elsewhere is left for that
    process; recipients on platforms nobody serves are passed over.
    """
    rules = rules or ReminderRules()
    served = set(notifiers) | set(platforms or ())
    token = f"{DELIVERER}:{uuid.uuid4().hex[:8]}"[-100:]
    claimed = time.monotonic()  # the lease runs from (at the latest) here
    items = await asyncio.to_thread(_claim_and_load, uows, rules, now, served, token)
    if not items:
        return 0
    lease = _Lease(token, claimed)
    renewal = asyncio.create_task(_renew(uows, lease))
    marks = _Marks(uows, token)
    try:
        return await _send(uows, notifiers, items, now, lease, rules, marks)
    finally:
        try:
            await marks.close()  # what was sent is marked, also when sending stopped early
        finally:
            renewal.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewal


class _Marks:
    """Marks written behind the sending, as a group commit.

    Each write takes everything queued since the previous one, so a fast notifier (the
    console, a Monday's 1.7k messages) is not held up by one commit per message. At most
    `MARK_BACKLOG` messages are ever sent and not yet marked: a crash in that window sends
    them again on the next run, with the same idempotency key (the module's docstring). A
    slow platform never fills it: one commit is over before the next message is sent.
    """

    def __init__(self, uows: UnitOfWorkFactory, token: str) -> None:
        self.uows = uows
        self.token = token
        self._queue: list[tuple[Sequence[Item], Callable[[Item], dict[str, Any]]]] = []
        self._unwritten = 0  # messages queued or being written
        self._failure: BaseException | None = None
        self._wake = asyncio.Event()
        self._written = asyncio.Event()
        self._closing = False
        self._writer = asyncio.create_task(self._write_loop())

    async def add(self, items: Sequence[Item], values_of: Callable[[Item], dict[str, Any]]) -> None:
        """Queue the new state of one message's entries; waits while the backlog is full."""
        self._check()
        self._queue.append((items, values_of))
        self._unwritten += 1
        self._wake.set()
        # Let an idle writer start at once, also behind a notifier that never waits (the
        # console): the write then runs in its thread while the next messages are made.
        await asyncio.sleep(0)
        while self._unwritten >= MARK_BACKLOG:
            self._written.clear()
            await self._written.wait()
            self._check()

    async def close(self) -> None:
        """Write what is queued and stop; raises when a write failed."""
        self._closing = True
        self._wake.set()
        await self._writer
        self._check()

    def _check(self) -> None:
        if self._failure is not None:
            raise self._failure

    async def _write_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._queue = self._queue, []
            if batch and self._failure is None:
                try:
                    await asyncio.to_thread(_mark_all, self.uows, batch, self.token)
                except Exception as error:
                    # The entries stay claimed: when the lease runs out they are claimed
                    # and sent again. The sender hears of it at its next message.
                    self._failure = error
            self._unwritten -= len(batch)
            self._written.set()
            if self._closing and not self._queue:
                return


@dataclass
class _Lease:
    """This run's claim, and when the database last confirmed it (a monotonic time)."""

    token: str
    confirmed: float

    @property
    def fresh(self) -> bool:
        """Confirmed recently enough that no other deliverer can have taken it over."""
        return time.monotonic() - self.confirmed < LEASE.total_seconds() / 2


async def _renew(uows: UnitOfWorkFactory, lease: _Lease) -> None:
    """Keep this run's claims while it sends (a slow platform must not lose them)."""
    while True:
        await asyncio.sleep(RENEW_EVERY)
        try:
            started = time.monotonic()
            await asyncio.to_thread(_extend_lease, uows, lease.token)
            lease.confirmed = started
        except Exception:  # the check before each send still guards the entries
            log.exception("outbox: could not renew the claims of %s", lease.token)


def _extend_lease(uows: UnitOfWorkFactory, token: str) -> None:
    with uows(write=True) as uow:
        until = db_now(uow.session) + LEASE
        uow.session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.claimed_by == token, OutboxEntry.state == OutboxState.CLAIMED)
            .values(lease_until=until)
            .execution_options(synchronize_session=False)
        )
        uow.commit()


def db_now(session: Session) -> datetime:
    """The database's clock: leases must not depend on each deliverer's own."""
    value = session.execute(select(func.current_timestamp())).scalar_one()
    if isinstance(value, str):  # SQLite: "YYYY-MM-DD HH:MM:SS" in UTC
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def preview(
    session: Session,
    rules: ReminderRules,
    now: datetime,
    platforms: Collection[str],
) -> list[Outgoing]:
    """What a delivery run would send now, without claiming or sending (for `--dry-run`)."""
    entries = list(
        session.execute(
            select(*_ENTRY_COLUMNS)
            .where(_due(rules, now, db_now(session)))
            .order_by(OutboxEntry.id)
        )
    )
    items, superseded = _load(session, entries, rules, now, set(platforms), {})
    for item, reason in superseded:
        log.info("dry run: %s would be dropped (%s)", item.key, reason)
    groups = _group([i for i in items if i.target is not None])
    return [
        Outgoing(recipient, _render(members, rules, now), tuple(m.key for m in members))
        for (recipient, _previous), members in groups.items()
    ]


# -- claiming and loading -------------------------------------------------------------------

# What delivery reads of an entry: plain rows, not ORM objects (a Monday claims 17k of them).
_ENTRY_COLUMNS = (
    OutboxEntry.id,
    OutboxEntry.key,
    OutboxEntry.kind,
    OutboxEntry.text,
    OutboxEntry.due_at,
    OutboxEntry.measure_id,
    OutboxEntry.measure_version,
    OutboxEntry.person_id,
    OutboxEntry.room_link_id,
    OutboxEntry.quick_answers,
    OutboxEntry.passed_over,
    OutboxEntry.tries,
)


def _due(rules: ReminderRules, now: datetime, database_now: datetime) -> ColumnElement[bool]:
    """Entries that may go out now: reminders only in working hours, the rest at once;
    after a temporary failure not before its pause is over; claims whose lease ran out."""
    retry = or_(OutboxEntry.next_attempt_at.is_(None), OutboxEntry.next_attempt_at <= now)
    abandoned = or_(
        OutboxEntry.lease_until < database_now,
        and_(OutboxEntry.lease_until.is_(None), OutboxEntry.claimed_at < now - CLAIM_TIMEOUT),
    )
    condition = or_(
        and_(OutboxEntry.state == OutboxState.PENDING, OutboxEntry.due_at <= now, retry),
        and_(OutboxEntry.state == OutboxState.WAITING, retry),
        and_(OutboxEntry.state == OutboxState.CLAIMED, OutboxEntry.due_at <= now, abandoned),
    )
    if not rules.calendar.in_working_hours(now):
        condition = and_(condition, OutboxEntry.kind.not_in(sorted(REMINDER_KINDS)))
    return condition


def _claim_and_load(
    uows: UnitOfWorkFactory, rules: ReminderRules, now: datetime, served: set[str], token: str
) -> list[Item]:
    with uows(write=True) as uow:
        database_now = db_now(uow.session)
        due = _due(rules, now, database_now)
        # Entries a deliverer claimed and never marked: it died between sending and marking.
        interrupted = {
            entry_id: claimed_by
            for entry_id, claimed_by in uow.session.execute(
                select(OutboxEntry.id, OutboxEntry.claimed_by).where(
                    due, OutboxEntry.state == OutboxState.CLAIMED
                )
            )
        }
        # The claimed entries come back with the claim (RETURNING: SQLite 3.35, PostgreSQL).
        claimed = uow.session.execute(
            update(OutboxEntry)
            .where(due)
            .values(
                state=OutboxState.CLAIMED,
                claimed_by=token,
                claimed_at=database_now,
                lease_until=database_now + LEASE,
                attempts=OutboxEntry.attempts + 1,
            )
            .returning(*_ENTRY_COLUMNS)
            .execution_options(synchronize_session=False)
        ).all()
        uow.commit()
    if not claimed:
        return []
    entries = sorted(claimed, key=lambda entry: entry.id)
    # Read outside the write transaction: the other writers (chat commands) are not held up.
    with uows() as uow:
        items, superseded = _load(uow.session, entries, rules, now, served, interrupted)
    for item, reason in superseded:
        log.info("outbox %s: not sent, %s", item.key, reason)
    if superseded:
        reasons = {item.id: reason for item, reason in superseded}
        _mark(
            uows,
            [i for i, _r in superseded],
            token,
            lambda item: {
                "state": OutboxState.SUPERSEDED,
                "last_error": f"superseded: {reasons[item.id]}",
            },
        )
    return items


def _load(
    session: Session,
    entries: Sequence[Row[Any]],
    rules: ReminderRules,
    now: datetime,
    served: set[str],
    interrupted: Mapping[int, str | None],
) -> tuple[list[Item], list[tuple[Item, str]]]:
    """Each entry's way and message part, read in a handful of queries."""
    today = rules.calendar.today(now)
    keys = {e.id: ReminderKey.parse(e.key) for e in entries}
    rooms = list(
        session.execute(
            select(RoomLink).options(joinedload(RoomLink.department)).order_by(RoomLink.id)
        ).scalars()
    )
    departments = {d.id: d for d in session.execute(select(Department)).scalars()}
    measure_ids = sorted({e.measure_id for e in entries if e.measure_id is not None})
    # Plain rows: ten thousand ORM objects would cost more than all the rest of a Monday.
    measures = {m.id: m for chunk in _chunks(measure_ids) for m in measure_rows(session, chunk)}
    person_ids = sorted(
        {e.person_id for e in entries if e.person_id is not None}
        | {m.responsible_id for m in measures.values() if m.responsible_id is not None}
    )
    people = {
        p.id: p
        for chunk in _chunks(person_ids)
        for p in session.execute(
            select(Person)
            .where(Person.id.in_(chunk))
            .options(
                selectinload(Person.identities),
                selectinload(Person.deputy).selectinload(Person.identities),
            )
        ).scalars()
    }
    meeting_ids = {k.meeting_id for k in keys.values() if k is not None and k.meeting_id}
    meetings = {
        m.id: m
        for m in session.execute(
            select(Meeting)
            .where(Meeting.id.in_(meeting_ids))
            .options(selectinload(Meeting.departments), joinedload(Meeting.room))
        ).scalars()
    }
    ways = _Ways(rooms, rules.language, today, served, departments)
    facts: dict[int, MeasureFacts] = {}

    def facts_for(measure: MeasureRow) -> MeasureFacts:
        if measure.id not in facts:
            facts[measure.id] = MeasureFacts.of(measure, today, rules.zone)
        return facts[measure.id]

    latest = _latest_reminders(session, measure_ids)
    digest: messages.Localized | None = None

    items: list[Item] = []
    superseded: list[tuple[Item, str]] = []
    for entry in entries:
        key = keys[entry.id]
        measure = measures.get(entry.measure_id or -1)
        part = Part(kind=entry.kind, text=entry.text)
        reason: str | None = None
        chain: list[Target] = []
        if entry.kind in REMINDER_KINDS and key is not None:
            reason = _superseded(key, measure, meetings, rules, now)
            family = _FAMILIES.get(entry.kind)
            if (
                reason is None
                and family
                and entry.due_at < latest.get((family, entry.measure_id), entry.due_at)
            ):
                reason = "a later reminder of its kind overtook it"
        if reason is None:
            if entry.kind in PERSON_KINDS and measure is not None:
                person = people.get(measure.responsible_id or -1)
                chain = ways.person(person) + ways.department(measure.lead_department_id)
                part.measure = facts_for(measure)
            elif entry.kind == OVERDUE_ROOM and measure is not None:
                chain = ways.department(measure.lead_department_id)
                part.measure = facts_for(measure)
            elif entry.kind == MEETING and key is not None:
                meeting = meetings[key.meeting_id or -1]
                department = session.get(Department, key.department_id or -1)
                request = (
                    messages.meeting_request(session, meeting, department, rules, now)
                    if department is not None
                    else None
                )
                if request is None:
                    reason = "nothing left to report before the meeting"
                else:
                    part.blocks = request
                    chain = ways.department(key.department_id)
            elif entry.kind == AGENDA and key is not None:
                meeting = meetings[key.meeting_id or -1]
                part.blocks = messages.agenda(session, meeting, rules, now)
                chain = ways.room(meeting.room) + ways.coordination()
            elif entry.kind == DIGEST:
                digest = digest or messages.digest(session, rules, now)
                part.blocks = digest
                chain = ways.coordination()
            elif entry.kind == INDICATOR_VALUE and key is not None:
                due_value = messages.indicator_reminder(session, key, today)
                if due_value is None:
                    reason = "a value arrived since, or the indicator changed"
                else:
                    part.indicator, department_id = due_value
                    chain = ways.department(department_id)
            else:
                # Notices other commands leave (the assignment): the recorded text as it is,
                # with the version of the measure it showed for its buttons.
                part.answers = [QuickAnswer(**qa) for qa in entry.quick_answers or []]
                if entry.measure_id is not None and entry.measure_version is not None:
                    part.subject = ShownVersion(entry.measure_id, entry.measure_version)
                person = people.get(entry.person_id or -1)
                lead = measure.lead_department_id if measure is not None else None
                if person is not None:
                    chain = ways.person(person) + ways.department(lead)
                else:
                    room = next((r for r in rooms if r.id == entry.room_link_id), None)
                    chain = ways.room(room, reminder=False) + ways.department(
                        room.department_id if room else None, reminder=False
                    )
        passed_over = [str(where) for where in entry.passed_over or []]
        item = Item(
            id=entry.id,
            key=entry.key,
            kind=entry.kind,
            chain=[t for t in _unique(chain) if _where(t.recipient) not in passed_over],
            part=part,
            previous_claim=interrupted.get(entry.id),
            tries=entry.tries or 0,
            passed_over=passed_over,
        )
        if reason is not None:
            superseded.append((item, reason))
        else:
            items.append(item)
    return items, superseded


# Reminders of one family about one measure: a later one says all an earlier one would.
_FAMILIES = {DEADLINE: "deadline", OVERDUE: "deadline", OVERDUE_ROOM: "room", CHECKIN: "checkin"}


def _latest_reminders(
    session: Session, measure_ids: Sequence[int]
) -> dict[tuple[str, int | None], datetime]:
    """The due time of the newest reminder of each family and measure."""
    latest: dict[tuple[str, int | None], datetime] = {}
    for chunk in _chunks(measure_ids):
        for kind, measure_id, due_at in session.execute(
            select(OutboxEntry.kind, OutboxEntry.measure_id, func.max(OutboxEntry.due_at))
            .where(OutboxEntry.measure_id.in_(chunk), OutboxEntry.kind.in_(sorted(_FAMILIES)))
            .group_by(OutboxEntry.kind, OutboxEntry.measure_id)
        ).tuples():
            if due_at.tzinfo is None:
                due_at = due_at.replace(tzinfo=UTC)
            family = (_FAMILIES[kind], measure_id)
            latest[family] = max(due_at, latest.get(family, due_at))
    return latest


def _where(recipient: Recipient) -> str:
    return f"{recipient.platform}:{recipient.address}"


def _chunks(ids: Sequence[int], size: int = 5000) -> Iterable[Sequence[int]]:
    """IN lists of a size every database takes (SQLite allows 32766 parameters)."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _superseded(
    key: ReminderKey,
    measure: MeasureRow | None,
    meetings: Mapping[int, Meeting],
    rules: ReminderRules,
    now: datetime,
) -> str | None:
    """Why a recorded reminder is no longer true (it is then dropped, not sent)."""
    if key.kind in (DEADLINE, OVERDUE, OVERDUE_ROOM, CHECKIN):
        if measure is None:
            return "the measure is gone"
        if measure.status.is_closed:
            return f"{measure.ref} is {measure.status.value}"
        if key.kind == CHECKIN:
            if measure.evaluation_due_on != key.due:
                return f"{measure.ref} was reported on since"
        elif measure.deadline != key.due:
            return f"the deadline of {measure.ref} changed"
    if key.kind in (MEETING, AGENDA):
        meeting = meetings.get(key.meeting_id or -1)
        if meeting is None:
            return "the meeting is gone"
        if meeting.starts_at <= now:
            return f"{meeting.ref} has begun"
        if rules.calendar.today(meeting.starts_at) != key.due:
            return f"{meeting.ref} was moved"
    return None


class _Ways:
    """Builds recipient chains from the rooms and people of one run."""

    def __init__(
        self,
        rooms: Iterable[RoomLink],
        language: Language,
        today: date,
        served: set[str],
        departments: Mapping[int, Department],
    ) -> None:
        self.rooms = list(rooms)
        self.language = language
        self.today = today
        self.served = served
        self.departments = departments
        # No chat platform: the console is every person's and every room's (PRODUCT.md §3).
        self.console = CONSOLE in served and console_only(served)
        # A Monday has thousands of entries and few departments and people: each chain is
        # worked out once per run.
        self._rooms_of: dict[int, list[RoomLink]] = {}
        for room in self.rooms:
            if room.department_id is not None:
                self._rooms_of.setdefault(room.department_id, []).append(room)
        self._chains: dict[tuple[str, int | None, bool], list[Target]] = {}

    def _lang(self, value: str | None) -> Language:
        return value if value in ("de", "en") else self.language  # type: ignore[return-value]

    def person(self, person: Person | None) -> list[Target]:
        key = ("person", person.id if person is not None else None, True)
        if key not in self._chains:
            self._chains[key] = self._person(person)
        return self._chains[key]

    def _person(self, person: Person | None, *, absent: Person | None = None) -> list[Target]:
        seen: set[int] = set()
        found: list[Target] = []
        while person is not None and person.id not in seen:
            seen.add(person.id)
            if not person.active:
                break  # deactivated: the lead department's rooms get it (the chain goes on)
            if person.absent_until is not None and person.absent_until >= self.today:
                # Absent: the deputy gets it (and while the deputy is away, theirs).
                absent = absent or person
                person = person.deputy
                continue
            identities = sorted(
                person.identities, key=lambda i: (i.platform != person.last_platform, i.id)
            )
            audience = Audience(
                role="deputy" if absent else "person",
                lang=self._lang(person.language),
                absent=absent.name if absent else None,
                absent_until=absent.absent_until if absent else None,
            )
            found += [
                Target(Recipient("person", i.platform, i.user_id, person.name), audience)
                for i in identities
                if i.platform in self.served
            ]
            if EMAIL in self.served and person.email:
                found.append(
                    Target(Recipient("person", EMAIL, person.email, person.name), audience)
                )
            if self.console and not any(i.platform == CONSOLE for i in identities):
                # Printed for them whether or not they ever opened the console; after their
                # e-mail, which reaches the person themselves, not a terminal.
                found.append(
                    Target(Recipient("person", CONSOLE, person.name, person.name), audience)
                )
            break
        return found

    def room(self, room: RoomLink | None, *, reminder: bool = True) -> list[Target]:
        if room is None or room.platform not in self.served:
            return []
        if reminder and not room.reminders_enabled:
            return []  # `erinnerungen aus` in this room
        if room.department is not None:
            name = room.department.label
        elif room.is_coordination:
            name = t(self.language, "delivery.coordination")
        else:
            name = room.address
        audience = Audience(
            role="room",
            lang=self._lang(room.language),
            department_key=room.department.key if room.department else None,
        )
        return [Target(Recipient("room", room.platform, room.room_id, name), audience)]

    def department(self, department_id: int | None, *, reminder: bool = True) -> list[Target]:
        key = ("department", department_id, reminder)
        if key not in self._chains:
            self._chains[key] = self._department(department_id, reminder=reminder)
        return self._chains[key]

    def _department(self, department_id: int | None, *, reminder: bool) -> list[Target]:
        found: list[Target] = []
        rooms = self._rooms_of.get(department_id, []) if department_id is not None else []
        for room in rooms:
            found += self.room(room, reminder=reminder)
        department = self.departments.get(department_id or -1)
        has_room = any(r.platform in self.served for r in rooms)
        if self.console and department is not None and not has_room:
            # A department without a room of its own is printed for on the console.
            audience = Audience(role="room", lang=self.language, department_key=department.key)
            found.append(
                Target(
                    Recipient("room", CONSOLE, f"ressort:{department.key}", department.label),
                    audience,
                )
            )
        return found + self.coordination(reminder=reminder)

    def coordination(self, *, reminder: bool = True) -> list[Target]:
        key = ("coordination", None, reminder)
        if key not in self._chains:
            self._chains[key] = self._coordination(reminder=reminder)
        return self._chains[key]

    def _coordination(self, *, reminder: bool) -> list[Target]:
        found: list[Target] = []
        for room in self.rooms:
            if room.is_coordination:
                found += self.room(room, reminder=reminder)
        if self.console and not any(
            r.is_coordination and r.platform in self.served for r in self.rooms
        ):
            name = t(self.language, "delivery.coordination")
            audience = Audience(role="room", lang=self.language)
            found.append(Target(Recipient("room", CONSOLE, "koordination", name), audience))
        return found


def _unique(chain: list[Target]) -> list[Target]:
    seen: set[tuple[str, str]] = set()
    unique: list[Target] = []
    for target in chain:
        where = (target.recipient.platform, target.recipient.address)
        if where not in seen:
            seen.add(where)
            unique.append(target)
    return unique


# -- sending --------------------------------------------------------------------------------


def _group(items: Iterable[Item]) -> dict[tuple[Recipient, str | None], list[Item]]:
    groups: dict[tuple[Recipient, str | None], list[Item]] = {}
    for item in items:
        target = item.target
        assert target is not None
        # Entries of an interrupted delivery stay together, so the resend has the same key.
        groups.setdefault((target.recipient, item.previous_claim), []).append(item)
    return groups


def _render(members: Sequence[Item], rules: ReminderRules, now: datetime) -> Reply:
    target = members[0].target
    assert target is not None
    parts = [(m.part, m.target.audience if m.target else target.audience) for m in members]
    return messages.render(parts, target.audience, rules.calendar.today(now))


def idempotency_key(members: Sequence[Item], recipient: Recipient) -> str:
    """Stable for the same entries to the same recipient; a single entry's own key on its
    first way (the assignment notice keeps the key it was recorded with)."""
    keys = sorted(m.key for m in members)
    base = (
        keys[0]
        if len(keys) == 1
        else "batch:" + hashlib.sha256("\n".join(keys).encode()).hexdigest()[:24]
    )
    if all(m.step == 0 for m in members):
        return base
    where = hashlib.sha256(f"{recipient.platform}:{recipient.address}".encode()).hexdigest()[:8]
    return f"{base}#{where}"


async def _send(
    uows: UnitOfWorkFactory,
    notifiers: Mapping[str, Notifier],
    items: list[Item],
    now: datetime,
    lease: _Lease,
    rules: ReminderRules,
    marks: _Marks,
) -> int:
    token = lease.token
    delivered = 0
    active = items
    for _round in range(_MAX_ROUNDS):
        if not active:
            break
        exhausted = [i for i in active if i.target is None]
        if exhausted:
            for item in exhausted:
                log.warning(
                    "outbox %s: no recipient can be reached yet (%s); waiting",
                    item.key,
                    "; ".join(item.errors) or "no recipient on a configured platform",
                )
            await marks.add(
                exhausted,
                lambda i: {
                    "state": OutboxState.WAITING,
                    "last_error": "; ".join(i.errors) or "no recipient on a configured platform",
                    "next_attempt_at": now + RECHECK_WAITING,
                    "tries": 0,
                    "passed_over": i.passed_over or None,
                },
            )
        reachable = [i for i in active if i.target is not None]
        elsewhere = [
            i for i in reachable if i.target and i.target.recipient.platform not in notifiers
        ]
        if elsewhere:
            # Served by another process (the bot, while this is a cron run): left for it.
            await asyncio.to_thread(_release, uows, elsewhere, token)
        away = {i.id for i in elsewhere}
        here = [i for i in reachable if i.id not in away]
        next_round: list[Item] = []
        for (recipient, previous), group in _group(here).items():
            # Still ours? A deliverer that took over a claim whose lease ran out owns it now
            # (asked of the database only when the lease was not renewed lately).
            ids = [m.id for m in group]
            ours = (
                set(ids)
                if lease.fresh
                else await asyncio.to_thread(_still_claimed, uows, ids, token)
            )
            members = [m for m in group if m.id in ours]
            if len(members) < len(group):
                log.warning(
                    "outbox %s: taken over by another deliverer; not sent here",
                    ", ".join(m.key for m in group if m.id not in ours),
                )
            if not members:
                continue
            message = _render(members, rules, now)
            key = idempotency_key(members, recipient)
            if previous is not None:
                log.warning(
                    "outbox %s: the delivery by %s was interrupted before it was marked; "
                    "sending again with idempotency key %s — a platform that cannot "
                    "deduplicate may show it twice",
                    ", ".join(m.key for m in members),
                    previous,
                    key,
                )
            try:
                delivery = await notifiers[recipient.platform].send(
                    recipient, message, idempotency_key=key
                )
            except Exception as error:  # a transport bug must not lose the entries
                log.exception("outbox: sending to %s failed", recipient)
                delivery = Delivery.temporary(f"{type(error).__name__}: {error}")
            if delivery.status is DeliveryStatus.DELIVERED:
                delivered += len(members)
                await marks.add(members, _sent_values(now, str(recipient)))
                continue
            failure = f"{recipient}: {delivery.detail}"
            retry: list[Item] = []
            for member in members:
                member.errors.append(failure)
                member.tries += 1
                if delivery.status is DeliveryStatus.PERMANENT_FAILURE or member.tries >= MAX_TRIES:
                    # Falls through to the next recipient, now and in later runs.
                    member.passed_over.append(_where(recipient))
                    member.tries = 0
                    member.step += 1
                    next_round.append(member)
                else:
                    retry.append(member)
            if delivery.status is DeliveryStatus.PERMANENT_FAILURE:
                log.warning(
                    "outbox %s: %s refused for good (%s); trying the next recipient",
                    ", ".join(m.key for m in members),
                    recipient,
                    delivery.detail,
                )
            else:
                log.info(
                    "outbox %s: %s failed for now (%s)",
                    ", ".join(m.key for m in members),
                    recipient,
                    delivery.detail,
                )
            if retry:
                await marks.add(retry, _retry_values(now, failure))
        active = next_round
    return delivered


def _sent_values(now: datetime, recipient: str) -> Callable[[Item], dict[str, Any]]:
    def values(item: Item) -> dict[str, Any]:
        return {
            "state": OutboxState.SENT,
            "last_error": "; ".join(item.errors) or None,
            "sent_at": now,
            "delivered_to": recipient[:300],
            "tries": 0,
            "next_attempt_at": None,
            "passed_over": item.passed_over or None,
        }

    return values


def _retry_values(now: datetime, failure: str) -> Callable[[Item], dict[str, Any]]:
    """Pending again after a pause that grows with each temporary failure."""

    def values(item: Item) -> dict[str, Any]:
        return {
            "state": OutboxState.PENDING,
            "last_error": failure,
            "tries": item.tries,
            "next_attempt_at": now + PAUSES[min(item.tries, len(PAUSES)) - 1],
            "passed_over": item.passed_over or None,
        }

    return values


def _still_claimed(uows: UnitOfWorkFactory, ids: Sequence[int], token: str) -> set[int]:
    with uows() as uow:
        return {
            entry_id
            for chunk in _chunks(ids)
            for entry_id in uow.session.execute(
                select(OutboxEntry.id).where(
                    OutboxEntry.id.in_(chunk),
                    OutboxEntry.claimed_by == token,
                    OutboxEntry.state == OutboxState.CLAIMED,
                )
            ).scalars()
        }


def _mark(
    uows: UnitOfWorkFactory,
    items: Sequence[Item],
    token: str,
    values_of: Callable[[Item], dict[str, Any]],
) -> None:
    """Write each item's new state, in one statement per distinct set of values."""
    _mark_all(uows, [(items, values_of)], token)


def _mark_all(
    uows: UnitOfWorkFactory,
    batch: Sequence[tuple[Sequence[Item], Callable[[Item], dict[str, Any]]]],
    token: str,
) -> None:
    """Several messages' marks in one transaction.

    The values most entries share (state, time, no error) are set with one statement per
    distinct set; what differs per message, its recipient, with one executemany of two
    parameters a row — a Monday's 17k entries would otherwise cost a bound value each for
    every column.
    """
    table = cast(Table, OutboxEntry.__table__)
    shared: dict[str, tuple[dict[str, Any], list[int]]] = {}
    recipients: list[dict[str, Any]] = []
    for items, values_of in batch:
        for item in items:
            values = values_of(item)
            recipient = values.pop("delivered_to", None)
            if recipient is not None:
                recipients.append({"entry_id": item.id, "recipient": recipient})
            shared.setdefault(repr(sorted(values.items())), (values, []))[1].append(item.id)
    with uows(write=True) as uow:
        # Only while the claim is still ours: a deliverer that took over an expired claim
        # owns the entry now.
        for values, ids in shared.values():
            for chunk in _chunks(ids):
                uow.session.execute(
                    update(table)
                    .where(table.c.id.in_(chunk), table.c.claimed_by == token)
                    .values(values)
                )
        if recipients:
            uow.session.execute(
                update(table)
                .where(table.c.id == bindparam("entry_id"), table.c.claimed_by == token)
                .values(delivered_to=bindparam("recipient")),
                recipients,
            )
        uow.commit()


def _release(uows: UnitOfWorkFactory, items: Sequence[Item], token: str) -> None:
    with uows(write=True) as uow:
        for chunk in _chunks([i.id for i in items]):
            uow.session.execute(
                update(OutboxEntry)
                .where(OutboxEntry.id.in_(chunk), OutboxEntry.claimed_by == token)
                .values(
                    state=OutboxState.PENDING, claimed_by=None, attempts=OutboxEntry.attempts - 1
                )
                .execution_options(synchronize_session=False)
            )
        uow.commit()
