"""Frozen meeting records (PRODUCT.md §4): a meeting's agenda (both languages), the facts the
next agenda compares against and the report's data, stored once when the meeting starts.

Who freezes: the sweep (`freeze_started_meetings`, every minute and in `reminders run-due`),
else the first `agenda` or `bericht` after the start (`ensure_record`), and a meeting made in
the past at once (the example municipality, an import). Two processes freezing at once both
succeed: the record is inserted when absent (unique meeting id), and the loser reads the
winner's.

`agenda` and `bericht` are reads, and a reading unit of work may not flush. `ensure_record`
in a reading session therefore writes the record in a short writing unit of work of its own
on the same database, then shows what it computed (or what another process stored first):
one small write, only the first time after a meeting's start, instead of making every
`agenda` a writing command (which would take SQLite's write lock and the stricter reference
rules of writes for a read).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from handlers.core import Block, Language
from handlers.i18n import LANGUAGES, t
from handlers.meetings import agenda_blocks, agenda_facts, when
from handlers.ports import ReminderRules
from handlers.report_data import report_snapshot
from storage.events import READ_ONLY_KEY, session_zone
from storage.models import Decision, Meeting, MeetingRecord
from storage.uow import UnitOfWorkFactory

# A record taken this soon after the start reads "Stand: Sitzungsbeginn …".
AT_START = timedelta(minutes=5)


@dataclass(frozen=True)
class FrozenRecord:
    meeting_id: int
    taken_at: datetime
    agenda: dict[str, Any]  # per language: [{"heading": …, "lines": […]}, …]
    facts: dict[str, Any]
    report: dict[str, Any] | None

    def blocks(self, lang: Language) -> list[Block]:
        return [
            Block(tuple(b["lines"]), b.get("heading"))
            for b in self.agenda.get(lang) or self.agenda.get("de", [])
        ]

    def taken_line(self, starts_at: datetime, rules: ReminderRules, lang: Language) -> str:
        """ "Stand: Sitzungsbeginn Mi 04.11.2026 10:00", or when it was taken later."""
        start = when(starts_at, rules, lang)
        if self.taken_at - starts_at <= AT_START:
            return t(lang, "meetings.record_at_start", starts_at=start)
        return t(
            lang,
            "meetings.record_later",
            taken_at=when(self.taken_at, rules, lang),
            starts_at=start,
        )


def _frozen(record: MeetingRecord) -> FrozenRecord:
    return FrozenRecord(
        record.meeting_id, record.taken_at, record.agenda, record.facts, record.report
    )


def record_of(session: Session, meeting_id: int) -> FrozenRecord | None:
    found = session.execute(
        select(MeetingRecord).where(MeetingRecord.meeting_id == meeting_id)
    ).scalar()
    return _frozen(found) if found is not None else None


def take_record(
    session: Session, meeting: Meeting, now: datetime, rules: ReminderRules
) -> MeetingRecord:
    """The record's contents as of the meeting's start (not stored): the agenda of that day,
    without measures created after the start."""
    day = meeting.starts_at.astimezone(rules.zone).date()
    agenda = {
        lang: [
            {"heading": b.heading, "lines": list(b.lines)}
            for b in agenda_blocks(session, meeting, day, lang, rules, as_of=meeting.starts_at)
        ]
        for lang in LANGUAGES
    }
    facts = agenda_facts(session, meeting, day, rules, as_of=meeting.starts_at)
    report = report_snapshot(session, meeting)
    return MeetingRecord(
        meeting_id=meeting.id, taken_at=now, agenda=agenda, facts=facts, report=report
    )


def _insert_if_absent(session: Session, record: MeetingRecord) -> tuple[FrozenRecord, bool]:
    """Insert in a writing session unless a record is there; the stored one either way, and
    whether it was inserted now."""
    existing = record_of(session, record.meeting_id)
    if existing is not None:
        return existing, False
    savepoint = session.begin_nested()
    try:
        session.add(record)
        session.flush()
    except IntegrityError:  # another process froze it meanwhile
        savepoint.rollback()
        stored = record_of(session, record.meeting_id)
        assert stored is not None
        return stored, False
    savepoint.commit()
    return _frozen(record), True


def _writer_beside(session: Session) -> UnitOfWorkFactory:
    """Writing units of work on the database of a (reading) session."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    return UnitOfWorkFactory(engine, zone=session_zone(session))


def _meeting(session: Session, meeting_id: int) -> Meeting:
    return session.execute(
        select(Meeting)
        .where(Meeting.id == meeting_id)
        .options(
            selectinload(Meeting.departments),
            selectinload(Meeting.decisions).selectinload(Decision.measures),
            selectinload(Meeting.decisions).selectinload(Decision.goals),
        )
    ).scalar_one()


def ensure_record(
    session: Session, meeting: Meeting, now: datetime, rules: ReminderRules
) -> FrozenRecord | None:
    """The meeting's frozen record, taken now if it has started and has none; None before
    its start. In a reading session the record is written in a unit of work of its own."""
    if meeting.starts_at > now:
        return None
    existing = record_of(session, meeting.id)
    if existing is not None:
        return existing
    if not session.info.get(READ_ONLY_KEY):
        return _insert_if_absent(session, take_record(session, meeting, now, rules))[0]
    with _writer_beside(session).writer() as uow:
        if uow.session.get_bind().dialect.name == "postgresql":
            # A reading session's engine runs in autocommit; this write needs a transaction.
            uow.session.connection(execution_options={"isolation_level": "READ_COMMITTED"})
        # Taken in the writing session: it sees what was committed up to now (a reading
        # SQLite session keeps the snapshot of its first statement).
        frozen, _new = _insert_if_absent(
            uow.session, take_record(uow.session, _meeting(uow.session, meeting.id), now, rules)
        )
        uow.commit()
    return frozen


def freeze_started_meetings(session: Session, now: datetime, rules: ReminderRules) -> int:
    """Freeze every meeting that has started and has no record yet (in a writing session);
    how many were frozen now."""
    waiting = list(
        session.execute(
            select(Meeting.id)
            .where(
                Meeting.starts_at <= now,
                ~select(MeetingRecord.id).where(MeetingRecord.meeting_id == Meeting.id).exists(),
            )
            .order_by(Meeting.starts_at)
        ).scalars()
    )
    frozen = 0
    for meeting_id in waiting:
        meeting = _meeting(session, meeting_id)
        _record, new = _insert_if_absent(session, take_record(session, meeting, now, rules))
        frozen += new
    return frozen
