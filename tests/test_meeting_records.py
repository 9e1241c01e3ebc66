"""Frozen meeting records (PRODUCT.md §4), from an empty database: a meeting's agenda is
stored when it starts (by the sweep, else by the first `agenda` after the start), a past
meeting's agenda shows that record unchanged by later edits, and the next agenda compares
against it. The agenda's additions: goals to correct (evaluations) and indicators off track."""

from __future__ import annotations

import asyncio
import threading
from datetime import date, datetime

from sqlalchemy import func, select

from handlers.meeting_records import ensure_record, freeze_started_meetings
from schedules.scheduler import sweep_and_deliver
from storage.models import GoalEvaluation, Meeting, MeetingRecord, Person, Verdict
from tests import test_real_start
from tests.test_real_start import (
    ASSIGNMENTS,
    BERLIN,
    CLARA,
    GOALS,
    MEASURES,
    REPORTS,
    RITA,
    ROOMS,
    STEERING_GROUP,
    Town,
)

any_town = test_real_start.any_town  # the fixture: an operator's empty database


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)


JAN_14 = date(2027, 1, 14)


def sweep(town: Town) -> None:
    """One minute tick of the bot (sweep, freezing, delivery) at the town's clock."""
    asyncio.run(sweep_and_deliver(town.app.uows, town.app.rules, {}, town.clock.now))


def records(town: Town) -> list[tuple[int, datetime]]:
    with town.session() as session:
        return [
            (r.meeting_id, r.taken_at)
            for r in session.execute(select(MeetingRecord).order_by(MeetingRecord.id)).scalars()
        ]


S1_FROZEN = [
    "📋 Tagesordnung S-1 — Do 14.01.2027 10:00",
    "Steuergruppe Bildung",
    "Ressorts: JA, SA",
    "Stand: Sitzungsbeginn Do 14.01.2027 10:00",
    "",
    "TOP 1 Jugendamt (JA)",
    "Überfällig (1):",
    "🔴 M-3 Jugendtreff Weststadt — 0 %, 34 Tage überfällig",
    "",
    "TOP 2 Schulamt (SA)",
    "Überfällig (1):",
    "🔴 M-2 Lernpaten an Grundschulen — 20 %, 30 Tage überfällig · Lea Lang",
]


def first_meeting(town: Town) -> None:
    town.replay(ROOMS + GOALS + MEASURES + ASSIGNMENTS + REPORTS)
    town.replay([(CLARA, "konsole", STEERING_GROUP)])


def test_the_sweep_freezes_a_meeting_at_its_start_and_its_agenda_stays_as_it_was(
    any_town: Town,
) -> None:
    town = any_town
    first_meeting(town)
    clara, rita = town.chat(CLARA), town.chat(RITA)
    town.clock.now = at(JAN_14, 9, 59)
    sweep(town)
    assert records(town) == []  # not started yet
    town.clock.now = at(JAN_14, 10, 1)
    sweep(town)
    sweep(town)  # the next minute: frozen once
    assert records(town) == [(1, at(JAN_14, 10, 1))]
    assert rita.say("agenda S-1") == "\n".join(S1_FROZEN)

    # Later edits: a new measure that becomes overdue, a measure done.
    town.clock.now = at(JAN_14, 11)
    clara.say('neu "Ferienprogramm Nordstadt" ressort:JA frist:20.01.2027')
    town.chat("Max Müller", "jugendamt").say("erledigt M-1")
    town.clock.now = at(date(2027, 1, 22), 9)
    assert rita.say("agenda S-1") == "\n".join(S1_FROZEN)
    assert rita.say("sitzung S-1").splitlines()[0] == "📅 S-1 Do 14.01.2027 10:00"

    # The next agenda compares against the record.
    clara.say(STEERING_GROUP.replace("14.01.2027", "04.03.2027"))
    assert rita.say("agenda") == "\n".join(
        [
            "📋 Tagesordnung S-2 — Do 04.03.2027 10:00",
            "Steuergruppe Bildung",
            "Ressorts: JA, SA",
            "Seit der letzten Sitzung (S-1, 14.01.2027): 1 neu überfällig, 1 erledigt",
            "",
            "TOP 1 Beschlüsse der letzten Sitzung (S-1, 14.01.2027)",
            "keine Beschlüsse",
            "",
            "TOP 2 Jugendamt (JA)",
            "Überfällig (2):",
            "🔴 M-3 Jugendtreff Weststadt — 0 %, 42 Tage überfällig",
            "🔴 M-6 Ferienprogramm Nordstadt — 0 %, 2 Tage überfällig",
            "",
            "TOP 3 Schulamt (SA)",
            "Überfällig (1):",
            "🔴 M-2 Lernpaten an Grundschulen — 20 %, 38 Tage überfällig · Lea Lang",
        ]
    )
    english = town.chat("Rita Roth")
    english.say("sprache en")
    lines = english.say("agenda S-1").splitlines()
    assert lines[3] == "As of the start of the meeting, Thu 2027-01-14 10:00"
    assert "Since the last meeting (S-1, 2027-01-14): 1 newly overdue, 1 done" in (
        english.say("agenda S-2").splitlines()
    )


def test_the_first_agenda_after_the_start_freezes_it_when_no_sweep_ran(any_town: Town) -> None:
    town = any_town
    first_meeting(town)
    rita = town.chat(RITA)
    town.clock.now = at(JAN_14, 10, 20)
    frozen = rita.say("agenda")  # the meeting under way
    assert frozen.splitlines()[3] == (
        "Stand: Do 14.01.2027 10:20 (Sitzungsbeginn Do 14.01.2027 10:00)"
    )
    assert frozen.splitlines()[4:] == S1_FROZEN[4:]
    assert records(town) == [(1, at(JAN_14, 10, 20))]
    town.chat(CLARA).say('neu "Ferienprogramm Nordstadt" ressort:JA frist:15.01.2027')
    town.clock.now = at(date(2027, 1, 20), 10)
    sweep(town)  # finds it frozen
    assert records(town) == [(1, at(JAN_14, 10, 20))]
    assert rita.say("agenda S-1") == frozen


def test_a_past_meeting_shows_what_was_true_at_its_start_not_today(any_town: Town) -> None:
    """The defect: `agenda S-1` of a meeting six weeks ago listed today's overdue measures
    and measures created after it. A meeting made in the past (as an import or the example
    municipality do) is frozen as of its start."""
    town = any_town
    town.replay(ROOMS + GOALS + MEASURES + ASSIGNMENTS + REPORTS)
    clara, rita = town.chat(CLARA), town.chat(RITA)
    town.clock.now = at(date(2027, 1, 5), 10)
    # Created after the meeting below, and overdue today.
    clara.say('neu "Ferienprogramm Nordstadt" ressort:JA frist:20.01.2027')
    town.clock.now = at(date(2027, 2, 25), 10)
    with town.app.uows(write=True) as uow:
        uow.session.add(
            Meeting(title="Steuergruppe Bildung", starts_at=at(date(2027, 1, 1), 10), body=None)
        )
        uow.session.flush()
        assert freeze_started_meetings(uow.session, town.clock.now, town.app.rules) == 1
        uow.commit()
    lines = rita.say("agenda S-1").splitlines()
    assert lines[:3] == [
        "📋 Tagesordnung S-1 — Fr 01.01.2027 10:00",
        "Steuergruppe Bildung",
        "Stand: Do 25.02.2027 10:00 (Sitzungsbeginn Fr 01.01.2027 10:00)",
    ]
    assert not any("M-6" in line for line in lines)  # created on 5 January
    # M-2 (deadline 15.12.2026) was overdue then, M-3 (11.12.2026) too: as many days as then.
    assert "🔴 M-3 Jugendtreff Weststadt — 0 %, 21 Tage überfällig" in lines
    assert "🔴 M-2 Lernpaten an Grundschulen — 20 %, 17 Tage überfällig · Lea Lang" in lines


def test_goals_evaluated_partly_and_evaluations_overdue_are_on_the_next_agenda(
    any_town: Town,
) -> None:
    town = any_town
    first_meeting(town)
    with town.app.uows(write=True) as uow:
        clara_id = uow.session.execute(select(Person.id).where(Person.name == CLARA)).scalar()
        uow.session.add(
            GoalEvaluation(
                goal_id=1,
                verdict=Verdict.PARTLY,
                note="Zu wenige Paten",
                person_id=clara_id,
                at=town.clock.now,
            )
        )
        uow.commit()
    lines = town.chat(RITA).say("agenda S-1").splitlines()
    assert lines[-2:] == [
        "TOP 3 Ziele zur Korrektur (Zielbewertung)",
        "🟡 Z-1 Bildungsgerechtigkeit — bewertet „teilweise“ am 27.11.2026: „Zu wenige Paten“",
    ]
    # Half a year later (intervall:halbjährlich) the evaluation is due again.
    town.clock.now = at(JAN_14, 9)
    town.chat(CLARA).say("melden M-2 laufend 40% Paten gefunden")
    later = town.chat(RITA)
    town.clock.now = at(date(2027, 6, 1), 9)
    town.chat(CLARA).say(STEERING_GROUP.replace("14.01.2027", "03.06.2027"))
    assert later.say("agenda S-2").splitlines()[-1] == (
        "🟡 Z-1 Bildungsgerechtigkeit — bewertet „teilweise“ am 27.11.2026: „Zu wenige Paten“; "
        "Bewertung fällig seit 27.05.2027"
    )


def test_two_processes_freezing_at_once_both_get_the_one_record(any_town: Town) -> None:
    town = any_town
    first_meeting(town)
    now = at(JAN_14, 10, 5)
    barrier = threading.Barrier(2)
    taken: list[datetime] = []
    errors: list[BaseException] = []

    def freeze() -> None:
        try:
            with town.app.uows() as uow:  # a reading unit of work, as `agenda` has
                meeting = uow.session.get(Meeting, 1)
                assert meeting is not None
                barrier.wait()
                record = ensure_record(uow.session, meeting, now, town.app.rules)
                assert record is not None
                taken.append(record.taken_at)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=freeze) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert taken == [now, now]
    with town.session() as session:
        assert session.execute(select(func.count()).select_from(MeetingRecord)).scalar() == 1
