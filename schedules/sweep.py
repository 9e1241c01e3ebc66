"""The reminder sweep: decides from the database alone which reminders are due, and records them.

One sweep covers the time since the previous one, the *window* (swept-until, now]. Every
reminder belongs to a *family* whose members follow each other in time — for a measure's
deadline: 14 days before, 3 days before, overdue on the working day after, overdue a week
later, …; for a meeting and a department: 7 and 1 working days before. A family is due when
its latest member at `now` falls inside the window; only that member is recorded, so after
a long stop the 3-day reminder is sent and the 14-day one it overtook is not.

The candidates come from indexed range queries (deadline, next report day, meeting start)
for the few days the window touches, so a sweep reads the measures that have a reminder
due and nothing else: its cost grows with the due reminders, not with the plan. Each new
reminder is written to the outbox under its stable key in the transaction that also moves
the swept-until mark; a crash before the commit leaves both as they were, and the next
sweep decides the same reminders again.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, text, union_all, update
from sqlalchemy.orm import Session

from handlers.monitoring import indicator_tracks
from handlers.ports import ReminderRules
from schedules.rules import (
    AGENDA,
    CHECKIN,
    DEADLINE,
    DIGEST,
    INDICATOR_VALUE,
    MEETING,
    OVERDUE,
    OVERDUE_ROOM,
    ReminderKey,
)
from storage.models import (
    Base,
    Department,
    Measure,
    MeasureStatus,
    Meeting,
    OutboxEntry,
    OutboxState,
    PlatformState,
    RoomLink,
    meeting_departments,
)
from storage.uow import UnitOfWorkFactory

log = logging.getLogger("regelkreis.sweep")

SWEPT_UNTIL = "reminders:swept_until"
# After a stop longer than this, older reminders are not caught up (nothing floods).
MAX_CATCH_UP = timedelta(days=60)
# pg_advisory lock id of the sweep ("RGLK" + 1): one sweep at a time across processes.
ADVISORY_LOCK = 0x52474C4B0001
OPEN_STATUSES = tuple(s for s in MeasureStatus if not s.is_closed)
# Statuses a department is asked about before a meeting even without a deadline problem.
TROUBLED = (MeasureStatus.AT_RISK, MeasureStatus.DELAYED)


@dataclass(slots=True)
class Decided:
    """A reminder the sweep found due, as it goes into the outbox."""

    key: str  # str(ReminderKey)
    kind: str
    due_at: datetime
    text: str
    measure_id: int | None = None
    person_id: int | None = None
    room_link_id: int | None = None

    @classmethod
    def of(cls, member: _Member, text: str, **targets: int | None) -> Decided:
        return cls(str(member.key), member.key.kind, member.due_at, text, **targets)


@dataclass
class SweepResult:
    window: tuple[datetime, datetime] | None = None
    recorded: list[Decided] = field(default_factory=list)
    known: int = 0  # due, but recorded by an earlier sweep (or another process)
    skipped: bool = False  # another process holds the sweep lock

    @property
    def keys(self) -> list[str]:
        return [d.key for d in self.recorded]


@dataclass(frozen=True)
class _Room:
    id: int
    department_id: int | None
    is_coordination: bool
    enabled: bool
    reminder_time: str | None


class _Rooms:
    """The rooms, loaded once per sweep (a municipality has tens of them, not thousands)."""

    def __init__(self, rows: Iterable[_Room], rules: ReminderRules) -> None:
        self.rules = rules
        self.by_department: dict[int, list[_Room]] = defaultdict(list)
        self.coordination: list[_Room] = []
        self.all: list[_Room] = []
        for room in rows:
            self.all.append(room)
            if not room.enabled:
                continue
            if room.department_id is not None:
                self.by_department[room.department_id].append(room)
            if room.is_coordination:
                self.coordination.append(room)

    def primary(self, department_id: int | None) -> _Room | None:
        """Where a reminder to a department goes first: its room, else the coordination room."""
        rooms = self.by_department.get(department_id or -1) or self.coordination
        return rooms[0] if rooms else None

    def time_of(self, room: _Room | None) -> time:
        return self.rules.room_time(room.reminder_time if room else None)

    def slot_times(self) -> set[time]:
        return {self.rules.send_time} | {self.time_of(r) for r in self.all if r.enabled}


# -- the families ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Member:
    key: ReminderKey
    due_at: datetime


def overdue_member(
    rules: ReminderRules, kind: str, measure_ref: str, deadline: date, wall: time, now: datetime
) -> _Member | None:
    """The newest overdue reminder at `now`: the working day after the deadline, then weekly."""
    cal = rules.calendar
    today = cal.today(now)
    if today <= deadline:
        return None
    repeat = rules.overdue_repeat_days
    # Walk back from the newest week that could have started; moving to the next working
    # day only ever makes an occurrence later.
    week = (today - deadline - timedelta(days=1)).days // repeat
    while week >= 0:
        due = cal.at(cal.on_or_after(deadline + timedelta(days=1 + repeat * week)), wall)
        if due <= now:
            return _Member(ReminderKey(kind, measure_ref, deadline, f"w{week}"), due)
        week -= 1
    return None


def deadline_family(
    rules: ReminderRules, measure_ref: str, deadline: date, wall: time, now: datetime
) -> _Member | None:
    """The latest of "n days before" and "overdue" for a deadline at `now`."""
    overdue = overdue_member(rules, OVERDUE, measure_ref, deadline, wall, now)
    if overdue is not None:
        return overdue
    cal = rules.calendar
    latest: _Member | None = None
    for days in rules.deadline_days:  # largest first, so the last one found is the latest
        day = cal.on_or_after(deadline - timedelta(days=days))
        if day > deadline:
            continue  # moved past the deadline by holidays: the overdue reminder takes over
        due = cal.at(day, wall)
        if due <= now:
            latest = _Member(ReminderKey(DEADLINE, measure_ref, deadline, str(days)), due)
    return latest


def checkin_member(
    rules: ReminderRules, measure_ref: str, due_on: date, wall: time, now: datetime
) -> _Member | None:
    due = rules.calendar.at(rules.calendar.on_or_after(due_on), wall)
    return _Member(ReminderKey(CHECKIN, measure_ref, due_on, "0"), due) if due <= now else None


def meeting_family(
    rules: ReminderRules, subject: str, meeting_day: date, wall: time, now: datetime
) -> _Member | None:
    latest: _Member | None = None
    for days in rules.meeting_days:
        due = rules.calendar.at(rules.calendar.working_days_before(meeting_day, days), wall)
        if due <= now:
            latest = _Member(ReminderKey(MEETING, subject, meeting_day, str(days)), due)
    return latest


def agenda_member(
    rules: ReminderRules, meeting_ref: str, meeting_day: date, wall: time, now: datetime
) -> _Member | None:
    cal = rules.calendar
    due = cal.at(cal.working_days_before(meeting_day, rules.agenda_days), wall)
    if due > now:
        return None
    return _Member(ReminderKey(AGENDA, meeting_ref, meeting_day, str(rules.agenda_days)), due)


def digest_member(rules: ReminderRules, wall: time, now: datetime) -> _Member | None:
    """The newest weekly digest at `now` (on the configured weekday, or the next working day)."""
    cal = rules.calendar
    today = cal.today(now)
    monday = today - timedelta(days=today.weekday())
    for week_start in (monday, monday - timedelta(days=7), monday - timedelta(days=14)):
        day = cal.on_or_after(week_start + timedelta(days=rules.digest_weekday))
        due = cal.at(day, wall)
        if due <= now:
            return _Member(ReminderKey(DIGEST, "weekly", week_start, "0"), due)
    return None


# -- the sweep ------------------------------------------------------------------------------


def run_sweep(uows: UnitOfWorkFactory, rules: ReminderRules, now: datetime) -> SweepResult:
    """One sweep in its own transaction; does nothing while another process sweeps."""
    with uows(write=True) as uow:
        result = sweep(uow.session, rules, now)
        if not result.skipped:
            uow.commit()
    if result.recorded:
        log.info("sweep up to %s recorded %d reminders", now.isoformat(), len(result.recorded))
    return result


def sweep(session: Session, rules: ReminderRules, now: datetime) -> SweepResult:
    """Decide and record the due reminders in `session`'s transaction (the caller commits)."""
    if not _take_lock(session):
        return SweepResult(skipped=True)
    now = now.astimezone(UTC)
    swept_until = _swept_until(session)
    if swept_until is None:
        # A first sweep catches up the day so far: the bot started at 10:00 still sends
        # what was due at 08:00.
        local = now.astimezone(rules.zone)
        start = rules.calendar.at(local.date(), time(0, 0)) - timedelta(microseconds=1)
    else:
        start = swept_until
    start = max(start, now - MAX_CATCH_UP)
    if now <= start:
        return SweepResult()  # the clock went back (a --now in the past): nothing new
    result = SweepResult(window=(start, now))
    if rules.enabled:
        decided = _decide(session, rules, start, now)
        new = _unknown(session, decided, start, now)
        result.known = len(decided) - len(new)
        if new:
            _record(session, new, now)
        result.recorded = new
    _set_swept_until(session, swept_until, now)
    return result


# PostgreSQL takes the new reminders as one array per column: one statement and one round
# trip however many there are (an executemany sends one INSERT per row). The arrays go in
# psycopg's binary format (%b), which dumps tens of thousands of values much faster.
_PG_RECORD = """
    INSERT INTO outbox (key, kind, person_id, room_link_id, measure_id, text, due_at, state,
                        attempts, created_at)
    SELECT u.key, u.kind, u.person_id, u.room_link_id, u.measure_id, u.text, u.due_at,
           'pending', 0, %(created_at)b
    FROM unnest(%(keys)b::text[], %(kinds)b::text[], %(people)b::int4[], %(rooms)b::int4[],
                %(measures)b::int4[], %(texts)b::text[], %(dues)b::timestamptz[])
         AS u(key, kind, person_id, room_link_id, measure_id, text, due_at)
    ON CONFLICT (key) DO NOTHING
"""


def _record(session: Session, new: Sequence[Decided], now: datetime) -> None:
    """Write the new reminders to the outbox. A key recorded before with another due time
    (a room changed its reminder time) is skipped (ON CONFLICT DO NOTHING), not an error."""
    if session.get_bind().dialect.name == "postgresql":
        # The session's own connection and transaction, through the driver (psycopg 3).
        driver = session.connection().connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor:
            cursor.execute(
                _PG_RECORD,
                {
                    "created_at": now,
                    "keys": [d.key for d in new],
                    "kinds": [d.kind for d in new],
                    "people": [d.person_id for d in new],
                    "rooms": [d.room_link_id for d in new],
                    "measures": [d.measure_id for d in new],
                    "texts": [d.text for d in new],
                    "dues": [d.due_at for d in new],
                },
            )
        return
    # SQLite: one executemany, which sqlite3 runs in C. The times are converted by the
    # column's own type, once per distinct time (thousands of reminders share a few).
    dialect = session.get_bind().dialect
    column = Base.metadata.tables[OutboxEntry.__tablename__].c.due_at
    convert: Callable[[Any], Any] = (
        column.type.dialect_impl(dialect).bind_processor(dialect) or _same
    )
    stored: dict[datetime, Any] = {}

    def to_db(moment: datetime) -> Any:
        if moment not in stored:
            stored[moment] = convert(moment)
        return stored[moment]

    session.connection().exec_driver_sql(
        "INSERT INTO outbox (key, kind, person_id, room_link_id, measure_id, text, due_at, "
        "state, attempts, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?) "
        "ON CONFLICT (key) DO NOTHING",
        [
            (
                d.key,
                d.kind,
                d.person_id,
                d.room_link_id,
                d.measure_id,
                d.text,
                to_db(d.due_at),
                OutboxState.PENDING.value,
                to_db(now),
            )
            for d in new
        ],
    )


def _same(value: Any) -> Any:
    return value


def _take_lock(session: Session) -> bool:
    if session.get_bind().dialect.name == "postgresql":
        # Held until this transaction ends; a second process skips this minute's sweep.
        return bool(
            session.execute(
                text("SELECT pg_try_advisory_xact_lock(:id)"), {"id": ADVISORY_LOCK}
            ).scalar()
        )
    # SQLite: the writing unit of work began with BEGIN IMMEDIATE, which is the lock; a
    # second process (the bot, or a cron `run-due`) waits for it and then sees the new mark.
    return True


def _swept_until(session: Session) -> datetime | None:
    value = session.execute(
        select(PlatformState.value).where(PlatformState.key == SWEPT_UNTIL)
    ).scalar()
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value).astimezone(UTC)
    except ValueError:
        log.warning("ignoring an unreadable %s: %r", SWEPT_UNTIL, value)
        return None


def _set_swept_until(session: Session, previous: datetime | None, now: datetime) -> None:
    if previous is not None and previous >= now:
        return
    if previous is None and session.get(PlatformState, SWEPT_UNTIL) is None:
        session.add(PlatformState(key=SWEPT_UNTIL, value=now.isoformat(), updated_at=now))
        session.flush()
        return
    session.execute(
        update(PlatformState)
        .where(PlatformState.key == SWEPT_UNTIL)
        .values(value=now.isoformat(), updated_at=now)
    )


def _unknown(
    session: Session, decided: Sequence[Decided], start: datetime, now: datetime
) -> list[Decided]:
    """The decided reminders that are not in the outbox yet.

    A reminder due in this window can only be there already if a window was swept twice
    (the mark was lost, a clock was set back); those are found by their due time through
    the (state, due_at) index, without sending thousands of keys to the database.
    """
    if not decided:
        return []
    known = set(
        session.execute(
            select(OutboxEntry.key).where(
                OutboxEntry.state.in_(list(OutboxState)),
                OutboxEntry.due_at > start,
                OutboxEntry.due_at <= now,
            )
        ).scalars()
    )
    seen: set[str] = set()
    new: list[Decided] = []
    for decision in decided:
        if decision.key not in known and decision.key not in seen:
            seen.add(decision.key)
            new.append(decision)
    return new


def _decide(
    session: Session, rules: ReminderRules, start: datetime, now: datetime
) -> list[Decided]:
    rooms = _Rooms(
        (
            _Room(r.id, r.department_id, r.is_coordination, r.reminders_enabled, r.reminder_time)
            for r in session.execute(
                select(
                    RoomLink.id,
                    RoomLink.department_id,
                    RoomLink.is_coordination,
                    RoomLink.reminders_enabled,
                    RoomLink.reminder_time,
                ).order_by(RoomLink.id)
            )
        ),
        rules,
    )
    decided: list[Decided] = []
    days = _days_with_slots(rules, rooms.slot_times(), start, now)
    if days:
        decided += _measure_reminders(session, rules, rooms, days, start, now)
        decided += _indicator_reminders(session, rules, rooms, start, now)
    decided += _meeting_reminders(session, rules, rooms, start, now)
    decided += _digest(rules, rooms, start, now)
    return decided


def _in_window(due: datetime, start: datetime, now: datetime) -> bool:
    return start < due <= now


def _days_with_slots(
    rules: ReminderRules, slots: set[time], start: datetime, now: datetime
) -> list[date]:
    """The working days on which some reminder time falls inside the window."""
    cal = rules.calendar
    day, last = cal.today(start), cal.today(now)
    found: list[date] = []
    while day <= last:
        if cal.is_working_day(day) and any(
            _in_window(cal.at(day, slot), start, now) for slot in slots
        ):
            found.append(day)
        day += timedelta(days=1)
    return found


def _measure_reminders(
    session: Session,
    rules: ReminderRules,
    rooms: _Rooms,
    days: list[date],
    start: datetime,
    now: datetime,
) -> list[Decided]:
    cal = rules.calendar
    span = cal.shifted_range(days[0], days[-1])
    if span is None:
        return []
    lo, hi = span
    # Calendar days x whose next working day is a window day; a reminder "n days before"
    # the deadline d is due on the working day of x = d - n, an overdue one on x = d + 1 + 7k.
    deadline_terms: list[ColumnElement[bool]] = [
        Measure.deadline.between(lo + timedelta(days=n), hi + timedelta(days=n))
        for n in rules.deadline_days
    ]
    oldest = session.execute(
        select(func.min(Measure.deadline)).where(
            Measure.status.in_(OPEN_STATUSES), Measure.deadline < hi
        )
    ).scalar()
    if oldest is not None:
        repeat = rules.overdue_repeat_days
        if (hi - lo).days + 1 >= repeat:
            deadline_terms.append(Measure.deadline.between(oldest, hi - timedelta(days=1)))
        else:
            dates: list[date] = []
            x = lo
            while x <= hi:
                deadline = x - timedelta(days=1)
                while deadline >= oldest:
                    dates.append(deadline)
                    deadline -= timedelta(days=repeat)
                x += timedelta(days=1)
            deadline_terms.append(Measure.deadline.in_(sorted(set(dates))))
    columns = (
        Measure.id,
        Measure.deadline,
        Measure.evaluation_due_on,
        Measure.responsible_id,
        Measure.lead_department_id,
    )
    # One SELECT per range, glued with UNION ALL: each part is a range scan of an index
    # (status, deadline) or (status, next report day); an OR of the ranges in one WHERE
    # makes SQLite's planner scan all open measures instead. Plain rows through the
    # connection: the ORM layer costs more than the query here.
    parts = [
        select(*columns).where(Measure.status.in_(OPEN_STATUSES), term)
        for term in [*deadline_terms, Measure.evaluation_due_on.between(lo, hi)]
    ]
    rows: dict[int, Any] = {}
    for row in session.connection().execute(union_all(*parts)):
        rows[row[0]] = row

    # Thousands of measures share a few hundred deadlines: each family is worked out once
    # per deadline and time of day, not once per measure.
    families: dict[tuple[str, date, time], _Member | None] = {}

    def member_of(kind: str, day: date, wall: time) -> _Member | None:
        cache_key = (kind, day, wall)
        if cache_key not in families:
            if kind == DEADLINE:
                found = deadline_family(rules, "", day, wall, now)
            elif kind == OVERDUE_ROOM:
                found = overdue_member(rules, OVERDUE_ROOM, "", day, wall, now)
            else:
                found = checkin_member(rules, "", day, wall, now)
            families[cache_key] = found if found and _in_window(found.due_at, start, now) else None
        return families[cache_key]

    summaries: dict[tuple[str, date, str], str] = {}

    def decide(member: _Member, measure_id: int, **targets: int | None) -> Decided:
        key = member.key
        what = summaries.get((key.kind, key.due, key.offset))
        if what is None:
            what = summaries[(key.kind, key.due, key.offset)] = _summary(key)
        ref = f"M-{measure_id}"
        return Decided(
            f"{key.kind}:{ref}:{key.due.isoformat()}:{key.offset}",
            key.kind,
            member.due_at,
            f"{what}: {ref}",
            measure_id=measure_id,
            **targets,
        )

    decided: list[Decided] = []
    for row in rows.values():
        measure_id, deadline, report_due, responsible, lead = row
        lead_room = rooms.primary(lead)
        room_id = _id(lead_room)
        room_wall = rooms.time_of(lead_room)
        # A person's reminders come at the municipality's time; without a responsible
        # person they go to the department's room, at that room's time.
        wall = rules.send_time if responsible else room_wall
        person_targets = {
            "person_id": responsible,
            "room_link_id": None if responsible else room_id,
        }
        if deadline is not None:
            member = member_of(DEADLINE, deadline, wall)
            # Without a responsible person the room's overdue reminder below is the notice.
            if member is not None and (member.key.kind == DEADLINE or responsible is not None):
                decided.append(decide(member, measure_id, **person_targets))
            # Overdue also goes to the lead department's room (and is the only notice when
            # nobody is responsible).
            if responsible is None or lead in rooms.by_department:
                room_member = member_of(OVERDUE_ROOM, deadline, room_wall)
                if room_member is not None:
                    decided.append(decide(room_member, measure_id, room_link_id=room_id))
        if report_due is not None:
            checkin = member_of(CHECKIN, report_due, wall)
            if checkin is not None:
                decided.append(decide(checkin, measure_id, **person_targets))
    return decided


def _indicator_reminders(
    session: Session, rules: ReminderRules, rooms: _Rooms, start: datetime, now: datetime
) -> list[Decided]:
    """A new value of an indicator with a department is due: once, to the department's room
    (else the coordination room), on the working day it falls due, at that room's time. The
    key holds the day it fell due, so a value that arrives plans the next one. Indicators
    without a department are listed in the weekly digest instead."""
    cal = rules.calendar
    decided: list[Decided] = []
    for track in indicator_tracks(session):
        if track.department_id is None or track.value_due_on is None:
            continue
        room = rooms.primary(track.department_id)
        due = cal.at(cal.on_or_after(track.value_due_on), rooms.time_of(room))
        if not _in_window(due, start, now):
            continue
        key = str(ReminderKey(INDICATOR_VALUE, track.ref, track.value_due_on, "0"))
        decided.append(Decided(key, INDICATOR_VALUE, due, key, room_link_id=_id(room)))
    return decided


def _meeting_reminders(
    session: Session, rules: ReminderRules, rooms: _Rooms, start: datetime, now: datetime
) -> list[Decided]:
    cal = rules.calendar
    furthest = max((*rules.meeting_days, rules.agenda_days))
    # Working days before a meeting: two calendar days per working day is ample room for
    # weekends and holidays (the exact day is computed below).
    horizon = now + timedelta(days=2 * furthest + 14)
    meetings = session.execute(
        select(Meeting.id, Meeting.title, Meeting.starts_at, Meeting.room_link_id)
        .where(Meeting.starts_at > now, Meeting.starts_at <= horizon)
        .order_by(Meeting.starts_at, Meeting.id)
    ).all()
    if not meetings:
        return []
    expected: dict[int, list[int]] = defaultdict(list)
    for meeting_id, department_id in session.execute(
        select(meeting_departments.c.meeting_id, meeting_departments.c.department_id).where(
            meeting_departments.c.meeting_id.in_([m.id for m in meetings])
        )
    ):
        expected[meeting_id].append(department_id)
    all_departments: list[int] | None = None
    by_room = {room.id: room for room in rooms.all}
    decided: list[Decided] = []
    for meeting in meetings:
        ref = f"S-{meeting.id}"
        day = cal.today(meeting.starts_at)
        room = by_room.get(meeting.room_link_id or -1)
        agenda_room = room if room is not None and room.enabled else rooms.primary(None)
        if agenda_room is not None:
            agenda = agenda_member(rules, ref, day, rooms.time_of(agenda_room), now)
            if agenda is not None and _in_window(agenda.due_at, start, now):
                decided.append(
                    Decided.of(
                        agenda,
                        f"Tagesordnung {ref} ({meeting.title})",
                        room_link_id=agenda_room.id,
                    )
                )
        departments = expected.get(meeting.id)
        if not departments:
            if all_departments is None:
                all_departments = list(
                    session.execute(select(Department.id).order_by(Department.id)).scalars()
                )
            departments = all_departments
        due: list[tuple[int, _Member, _Room | None]] = []
        for department_id in departments:
            target = rooms.primary(department_id)
            member = meeting_family(
                rules, f"{ref}/{department_id}", day, rooms.time_of(target), now
            )
            if member is not None and _in_window(member.due_at, start, now):
                due.append((department_id, member, target))
        if not due:
            continue
        asked = departments_to_ask(session, [d for d, _m, _r in due], cal.today(now), day)
        for department_id, member, target in due:
            if department_id in asked:
                decided.append(
                    Decided.of(
                        member,
                        f"Sitzung {ref} am {day:%d.%m.%Y}: Bitte berichten ({meeting.title})",
                        room_link_id=_id(target),
                    )
                )
    return decided


def reportable(today: date, meeting_day: date) -> ColumnElement[bool]:
    """Measures a department is asked about before a meeting (and that the agenda lists):
    overdue, at risk or delayed, stale, or due before the meeting."""
    return Measure.status.in_(OPEN_STATUSES) & or_(
        Measure.deadline <= meeting_day,
        Measure.status.in_(TROUBLED),
        Measure.evaluation_due_on < today,
    )


def departments_to_ask(
    session: Session, department_ids: list[int], today: date, meeting_day: date
) -> set[int]:
    """Those of the departments that lead at least one reportable measure."""
    if not department_ids:
        return set()
    return set(
        session.execute(
            select(Measure.lead_department_id)
            .where(Measure.lead_department_id.in_(department_ids), reportable(today, meeting_day))
            .group_by(Measure.lead_department_id)
        ).scalars()
    )


def _digest(rules: ReminderRules, rooms: _Rooms, start: datetime, now: datetime) -> list[Decided]:
    room = rooms.primary(None) if rooms.coordination else None
    if room is None:
        return []
    # `[reminders] digest` says the day and the time; the coordination room's own reminder
    # time (`erinnerungen zeit:`) is for its other reminders, not for the digest.
    member = digest_member(rules, rules.digest_time, now)
    if member is None or not _in_window(member.due_at, start, now):
        return []
    return [
        Decided.of(member, f"Wochenübersicht ab {member.key.due:%d.%m.%Y}", room_link_id=room.id)
    ]


def _id(room: _Room | None) -> int | None:
    return room.id if room is not None else None


def _summary(key: ReminderKey) -> str:
    """A short German line for the outbox record (messages are rendered at delivery)."""
    if key.kind == DEADLINE:
        return f"Frist {key.due:%d.%m.%Y} in {key.offset} Tagen"
    if key.kind in (OVERDUE, OVERDUE_ROOM):
        return f"Überfällig seit {key.due:%d.%m.%Y} (Woche {key.offset.lstrip('w')})"
    return f"Bericht fällig seit {key.due:%d.%m.%Y}"
