"""The example municipality: complete, consistent, deterministic and created only once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.db import make_engine
from storage.demo import DEMO_COORDINATOR, ensure_demo
from storage.intervals import add_interval
from storage.migrate import upgrade
from storage.models import (
    AuditEntry,
    ChatIdentity,
    Decision,
    Department,
    DepartmentAlias,
    Direction,
    FollowUp,
    Goal,
    Indicator,
    IndicatorValue,
    Measure,
    MeasureStatus,
    Meeting,
    OutboxEntry,
    Person,
    Role,
    RoomLink,
    StatusReport,
)
from storage.uow import UnitOfWorkFactory

TODAY = date(2026, 11, 27)
BERLIN = ZoneInfo("Europe/Berlin")
INTERVAL_DAYS = {
    "monatlich": 30,
    "quartalsweise": 91,
    "halbjährlich": 182,
    "jährlich": 365,
    "6 Wochen": 42,
}
OPEN = [s for s in MeasureStatus if not s.is_closed]


def _uows(path: Path) -> UnitOfWorkFactory:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    return UnitOfWorkFactory(engine)


def _create(uows: UnitOfWorkFactory, today: date = TODAY) -> bool:
    with uows(write=True) as uow:
        created = ensure_demo(uow.session, today)
        uow.commit()
    return created


@pytest.fixture
def uows(tmp_path: Path) -> UnitOfWorkFactory:
    factory = _uows(tmp_path / "t.db")
    assert _create(factory) is True
    return factory


@pytest.fixture
def session(uows: UnitOfWorkFactory) -> Iterator[Session]:
    with uows() as uow:
        yield uow.session


def _local_day(moment: datetime) -> date:
    return moment.astimezone(BERLIN).date()


def _measures(session: Session) -> list[Measure]:
    return list(session.scalars(select(Measure).order_by(Measure.id)))


def _open(session: Session) -> list[Measure]:
    return [m for m in _measures(session) if not m.status.is_closed]


def _staleness(measure: Measure, today: date) -> float:
    """Age of the last report (or of the measure, if never reported) in intervals."""
    since = measure.last_report_at or measure.created_at
    return (today - _local_day(since)).days / INTERVAL_DAYS[measure.evaluation_interval]


def _goal_level(goal: Goal) -> int:
    level = 1
    while goal.parent is not None:
        goal, level = goal.parent, level + 1
    return level


def _counts(session: Session) -> dict[str, int]:
    models: list[type[object]] = [
        Department,
        DepartmentAlias,
        Person,
        ChatIdentity,
        Goal,
        Measure,
        StatusReport,
        Indicator,
        IndicatorValue,
        Meeting,
        Decision,
        RoomLink,
    ]
    return {
        model.__name__: session.scalar(select(func.count()).select_from(model)) or 0
        for model in models
    }


def test_departments(session: Session) -> None:
    departments = {d.key: d for d in session.scalars(select(Department))}
    assert len(departments) >= 8
    assert {"BB", "JA", "SA", "SP", "UA", "SOZ", "KA", "WF", "GA", "IB"} <= set(departments)
    assert departments["JA"].name == "Jugendamt"
    assert [a.alias for a in departments["JA"].aliases] == ["Amt 51", "Jugend"]
    assert all(d.aliases for d in departments.values())
    assert session.scalar(select(func.count()).select_from(OutboxEntry)) == 0
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_people(session: Session) -> None:
    people = {p.name: p for p in session.scalars(select(Person))}
    anna = people[DEMO_COORDINATOR]
    assert anna.role is Role.COORDINATION and anna.is_admin and anna.language == "de"
    assert anna.department is not None and anna.department.key == "BB"
    roles = Counter(p.role for p in people.values())
    assert roles[Role.COORDINATION] >= 2 and roles[Role.READ] >= 2 and roles[Role.DEPARTMENT]
    assert people["Sarah Miller"].language == "en"
    assert sum(p.is_admin for p in people.values()) == 1

    absent = [p for p in people.values() if p.absent_until is not None]
    assert [p.name for p in absent] == ["Julia Richter"]
    assert absent[0].absent_until == TODAY + timedelta(days=10)
    assert absent[0].deputy is not None and absent[0].deputy.name == "Markus Becker"

    # Distinct first and last names, so a fuzzy fragment names one person.
    firsts = [name.split()[0] for name in people]
    lasts = [name.split()[-1] for name in people]
    assert len(set(firsts)) == len(firsts) and len(set(lasts)) == len(lasts)

    # Every department of the plan has at least one member.
    members = Counter(p.department.key for p in people.values() if p.department)
    assert all(members[key] >= 1 for key in session.scalars(select(Department.key)))

    for person in people.values():
        consoles = [i.user_id for i in person.identities if i.platform == "console"]
        assert consoles == [person.name]
    platforms = Counter(i.platform for i in session.scalars(select(ChatIdentity)))
    assert platforms["matrix"] >= 2 and platforms["telegram"] >= 2
    assert session.scalar(
        select(ChatIdentity.user_id).where(
            ChatIdentity.platform == "matrix", ChatIdentity.person_id == anna.id
        )
    ) == ("@anna.schmidt:musterstadt.de")


def test_goal_tree(session: Session) -> None:
    goals = list(session.scalars(select(Goal).order_by(Goal.id)))
    levels = [_goal_level(g) for g in goals]
    # Inserted level by level, so Z-<n> are stable and sorted by level.
    assert levels == sorted(levels)
    assert Counter(levels) == {1: 2, 2: 5, 3: 10}
    assert goals[0].title == "Bildungsgerechtigkeit für alle Kinder und Jugendlichen"
    for goal, level in zip(goals, levels, strict=True):
        assert goal.created_at.tzinfo is not None
        if level >= 2:
            assert goal.field_of_action is not None
        if level == 3:
            assert goal.quality_target and goal.evaluation_interval in INTERVAL_DAYS
            assert goal.trends
    used_fields = {g.field_of_action.name for g in goals if g.field_of_action}
    assert used_fields == {
        "Bildung",
        "Soziales",
        "Integration",
        "Wohnen",
        "Umwelt",
        "Arbeit",
        "Kultur",
    }


def test_measures(session: Session) -> None:
    measures = _measures(session)
    assert len(measures) >= 44
    statuses = Counter(m.status for m in measures)
    assert all(statuses[s] >= 3 for s in MeasureStatus), statuses
    assert sum(m.planning_area is not None for m in measures) > len(measures) / 2
    assert 0 < sum(m.responsible is None for m in measures) <= 5
    assert len({m.title for m in measures}) == len(measures)
    for m in measures:
        assert m.goal is not None and _goal_level(m.goal) in (2, 3)
        assert m.version == 1 and 0 <= m.progress <= 100
        assert m.evaluation_interval in INTERVAL_DAYS
        assert len(m.participants) <= 3 and m.lead_department not in m.participants
        if m.status is MeasureStatus.DONE:
            assert m.progress == 100
        if m.responsible is not None:
            assert (
                m.responsible.role is Role.COORDINATION
                or m.responsible.department == m.lead_department
            )
        if m.deadline is not None and m.start is not None:
            assert m.start <= m.deadline
        assert _local_day(m.created_at) < TODAY
    # Shared words, as in real plans, so that fuzzy references can be ambiguous.
    titles = [m.title for m in measures]
    assert sum("Sprachförderung" in t for t in titles) >= 3
    assert sum("Schulsozialarbeit" in t for t in titles) >= 3
    assert sum("Kita" in t for t in titles) >= 5


def test_overdue_due_and_stale(session: Session) -> None:
    open_measures = _open(session)
    overdue = {
        m.id: (TODAY - m.deadline).days for m in open_measures if m.deadline and m.deadline < TODAY
    }
    assert overdue == {3: 12, 6: 40, 11: 8, 21: 3, 30: 21, 34: 5, 43: 75}
    due = {
        m.id
        for m in open_measures
        if m.deadline and TODAY <= m.deadline <= TODAY + timedelta(days=14)
    }
    assert due == {1, 13, 24, 28, 42, 48}

    staleness = {m.id: _staleness(m, TODAY) for m in open_measures}
    stale = {i for i, s in staleness.items() if s > 1}
    assert stale == {8, 12, 22, 30, 33, 37, 43}
    never = {m.id for m in open_measures if m.last_report_at is None and m.id in stale}
    assert never == {8, 30}
    # No borderline case: whether a month counts 28 or 31 days never changes the answer.
    assert all(s >= 1.4 or s <= 0.8 for s in staleness.values()), staleness
    # The derived column agrees, so an indexed "stale" query finds the same measures.
    due_dates = {m.id: m.evaluation_due_on for m in open_measures}
    assert {i for i, d in due_dates.items() if d is not None and d < TODAY} == stale
    for m in _measures(session):
        since = _local_day(m.last_report_at or m.created_at)
        assert m.evaluation_due_on == add_interval(since, m.evaluation_interval)


def test_status_reports_match_measures(session: Session) -> None:
    reported = 0
    for m in _measures(session):
        reports = list(
            session.scalars(
                select(StatusReport)
                .where(StatusReport.measure_id == m.id)
                .order_by(StatusReport.at)
            )
        )
        if not reports:
            assert m.last_report_at is None
            assert m.status is MeasureStatus.PLANNED and m.progress == 0
            continue
        reported += 1
        assert (reports[0].old_status, reports[0].old_progress) == ("geplant", 0)
        for before, after in pairwise(reports):
            assert (after.old_status, after.old_progress) == (
                before.new_status,
                before.new_progress,
            )
        assert (reports[-1].new_status, reports[-1].new_progress) == (m.status.value, m.progress)
        assert reports[-1].at == m.last_report_at
        assert reports[0].at > m.created_at
        assert _local_day(reports[-1].at) < TODAY
        assert all(r.person is not None and r.origin_platform == "console" for r in reports)
    assert reported >= 30


def test_indicators(session: Session) -> None:
    indicators = list(session.scalars(select(Indicator)))
    assert len(indicators) >= 5
    assert {i.direction for i in indicators} == set(Direction)
    off = on = 0
    for indicator in indicators:
        assert _goal_level(indicator.goal) == 3
        assert indicator.unit and indicator.baseline is not None
        assert indicator.target_date is not None and indicator.target_date > TODAY
        assert 3 <= len(indicator.values) <= 6
        assert all(v.measured_on < TODAY and v.source for v in indicator.values)
        days = [v.measured_on for v in indicator.values]
        assert days == sorted(days) and len(set(days)) == len(days)
        if indicator.is_off_target(indicator.values[-1].value):
            off += 1
        else:
            on += 1
    assert off >= 2 and on >= 2
    sources = {v.source for v in session.scalars(select(IndicatorValue))}
    assert "Schuleingangsuntersuchung 2025" in sources


def test_rooms_and_meetings(session: Session) -> None:
    coordination = session.scalars(select(RoomLink).where(RoomLink.is_coordination)).one()
    assert (coordination.platform, coordination.room_id) == ("console", "koordination")
    assert coordination.department is None
    linked = {
        r.room_id: r.department.key for r in session.scalars(select(RoomLink)) if r.department
    }
    assert linked["jugendamt"] == "JA" and linked["schulamt"] == "SA"

    meetings = list(session.scalars(select(Meeting).order_by(Meeting.id)))
    now = datetime.combine(TODAY, time(), tzinfo=UTC)
    past, planned = meetings[0], meetings[1]
    assert past.starts_at < now < planned.starts_at
    assert _local_day(past.starts_at) == TODAY - timedelta(days=42)
    assert planned.starts_at == datetime.combine(
        TODAY + timedelta(days=12), time(10), tzinfo=BERLIN
    ).astimezone(UTC)
    assert planned.body == "Steuergruppe Bildung" and planned.room == coordination
    assert 4 <= len(planned.departments) <= 5
    follow_ups = Counter(d.follow_up for d in past.decisions)
    assert follow_ups == {FollowUp.DONE: 1, FollowUp.OPEN: 2}
    assert all(d.measures for d in past.decisions)
    assert all(not m.decisions for m in meetings[1:])


def test_idempotent(uows: UnitOfWorkFactory) -> None:
    with uows() as uow:
        before = _counts(uow.session)
    assert _create(uows, TODAY + timedelta(days=30)) is False
    with uows() as uow:
        assert _counts(uow.session) == before


def _snapshot(session: Session) -> list[tuple[object, ...]]:
    return [
        (
            m.id,
            m.title,
            m.status,
            m.progress,
            m.deadline,
            m.last_report_at,
            m.created_at,
            m.responsible_id,
        )
        for m in _measures(session)
    ]


def test_deterministic_given_today(tmp_path: Path, uows: UnitOfWorkFactory) -> None:
    other = _uows(tmp_path / "other.db")
    assert _create(other)
    with uows() as first, other() as second:
        assert _snapshot(first.session) == _snapshot(second.session)


@pytest.mark.parametrize("today", [date(2026, 1, 1), date(2028, 2, 29), date(2030, 6, 30)])
def test_categories_hold_for_any_today(tmp_path: Path, today: date) -> None:
    factory = _uows(tmp_path / "any.db")
    assert _create(factory, today)
    with factory() as uow:
        open_measures = _open(uow.session)
        assert sum(1 for m in open_measures if m.deadline and m.deadline < today) >= 5
        assert sum(1 for m in open_measures if _staleness(m, today) > 1) >= 4
        for indicator in uow.session.scalars(select(Indicator)):
            assert all(v.measured_on < today for v in indicator.values)
