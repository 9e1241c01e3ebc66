"""Monitoring figures shared by status, agenda, report and charts: indicator tracks against the
target path, goal evaluations and when the next is due, and the Zielmatrix."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from storage.events import session_zone
from storage.intervals import add_interval
from storage.models import (
    Department,
    Direction,
    FieldOfAction,
    Goal,
    GoalEvaluation,
    Indicator,
    IndicatorValue,
    Measure,
    Verdict,
    measure_participants,
)

# -- indicators -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    on: date
    value: float


@dataclass(frozen=True)
class IndicatorTrack:
    """One indicator's series and where its latest value stands against the target path: the
    straight line from the baseline (value, date) to the target (value, date)."""

    indicator_id: int
    name: str
    unit: str
    goal_id: int
    goal_ref: str
    goal_title: str
    direction: Direction
    baseline: float | None
    baseline_date: date | None
    target_value: float | None
    target_date: date | None
    department_id: int | None
    points: tuple[Point, ...]  # oldest first
    value_due_on: date | None  # when the next value is expected; None: no update interval

    @property
    def ref(self) -> str:
        return f"K-{self.indicator_id}"

    @property
    def latest(self) -> Point | None:
        return self.points[-1] if self.points else None

    def path_value(self, day: date) -> float | None:
        """The value the target path asks for on `day` (clamped to its two ends)."""
        if self.target_value is None:
            return None
        if self.baseline is None or self.baseline_date is None or self.target_date is None:
            return self.target_value
        if day <= self.baseline_date:
            return self.baseline
        if day >= self.target_date or self.target_date <= self.baseline_date:
            return self.target_value
        share = (day - self.baseline_date).days / (self.target_date - self.baseline_date).days
        return self.baseline + (self.target_value - self.baseline) * share

    def better_or_equal(self, value: float, than: float) -> bool:
        if self.direction is Direction.HIGHER_IS_BETTER:
            return value >= than
        return value <= than

    def rounded(self, value: float) -> float:
        """A computed value (the path's) with as many decimals as the figures it comes from, at
        least one and at most three: 25.7 %, not 25.7249 %."""
        figures = [self.baseline, self.target_value, *(p.value for p in self.points)]
        places = max((len(f"{f:g}".partition(".")[2]) for f in figures if f is not None), default=0)
        return round(value, min(max(places, 1), 3))

    @property
    def expected(self) -> float | None:
        """The path's value on the day of the latest value."""
        latest = self.latest
        return self.path_value(latest.on) if latest is not None else None

    @property
    def on_track(self) -> bool | None:
        """At or ahead of the target path on the latest value's day; None without a value or
        without a target."""
        latest, expected = self.latest, self.expected
        if latest is None or expected is None:
            return None
        return self.better_or_equal(latest.value, expected)

    @property
    def target_met(self) -> bool:
        latest = self.latest
        if latest is None or self.target_value is None:
            return False
        return self.better_or_equal(latest.value, self.target_value)

    @property
    def marker(self) -> str:
        """✅ target met, 🟢 on the path, 🟡 behind it but better than the baseline, 🔴 behind
        it and no better than the baseline, ⚪ no value yet (or no target to measure by)."""
        if self.target_met:
            return "✅"
        on_track = self.on_track
        if on_track is None:
            return "⚪"
        if on_track:
            return "🟢"
        latest = self.latest
        if latest is not None and self.baseline is not None:
            improved = self.better_or_equal(latest.value, self.baseline)
            if improved and latest.value != self.baseline:
                return "🟡"
        return "🔴"

    def is_value_due(self, today: date) -> bool:
        """A value is expected by now and none was recorded since."""
        return self.value_due_on is not None and self.value_due_on <= today


def _value_due_on(indicator: Indicator, latest: date | None, zone_day: date | None) -> date | None:
    if not indicator.update_interval:
        return None
    since = latest or indicator.baseline_date or zone_day
    if since is None:
        return None
    return add_interval(since, indicator.update_interval)


def indicator_tracks(
    session: Session,
    *,
    goal_ids: Collection[int] | None = None,
    indicator_ids: Collection[int] | None = None,
) -> list[IndicatorTrack]:
    """The tracks of the given goals' (or indicators', or all) indicators, by goal then id."""
    query = select(Indicator).options(joinedload(Indicator.goal))
    if goal_ids is not None:
        query = query.where(Indicator.goal_id.in_(list(goal_ids)))
    if indicator_ids is not None:
        query = query.where(Indicator.id.in_(list(indicator_ids)))
    indicators = list(session.execute(query.order_by(Indicator.goal_id, Indicator.id)).scalars())
    if not indicators:
        return []
    series: dict[int, list[Point]] = defaultdict(list)
    rows = session.execute(
        select(IndicatorValue.indicator_id, IndicatorValue.measured_on, IndicatorValue.value)
        .where(IndicatorValue.indicator_id.in_([i.id for i in indicators]))
        .order_by(IndicatorValue.indicator_id, IndicatorValue.measured_on, IndicatorValue.id)
    )
    for indicator_id, on, value in rows:
        points = series[indicator_id]
        if points and points[-1].on == on:
            points[-1] = Point(on, value)  # a correction of the same day replaces it
        else:
            points.append(Point(on, value))
    zone = session_zone(session)
    tracks: list[IndicatorTrack] = []
    for indicator in indicators:
        points = series.get(indicator.id, [])
        created = indicator.created_at.astimezone(zone).date() if indicator.created_at else None
        tracks.append(
            IndicatorTrack(
                indicator_id=indicator.id,
                name=indicator.name,
                unit=indicator.unit,
                goal_id=indicator.goal_id,
                goal_ref=indicator.goal.ref,
                goal_title=indicator.goal.title,
                direction=indicator.direction,
                baseline=indicator.baseline,
                baseline_date=indicator.baseline_date,
                target_value=indicator.target_value,
                target_date=indicator.target_date,
                department_id=indicator.department_id,
                points=tuple(points),
                value_due_on=_value_due_on(indicator, points[-1].on if points else None, created),
            )
        )
    return tracks


# -- goal evaluations -------------------------------------------------------------------------


@dataclass(frozen=True)
class EvaluationState:
    """A goal's last evaluation (if any) and when the next one is due (None: no interval)."""

    goal_id: int
    goal_ref: str
    goal_title: str
    verdict: Verdict | None
    note: str | None
    evaluated_on: date | None
    due_on: date | None

    def is_due(self, today: date) -> bool:
        return self.due_on is not None and self.due_on <= today

    @property
    def needs_correction(self) -> bool:
        """Evaluated "teilweise" or "nicht": the steering group should correct it."""
        return self.verdict in (Verdict.PARTLY, Verdict.NOT_MET)


def evaluation_states(
    session: Session, goal_ids: Collection[int] | None = None
) -> dict[int, EvaluationState]:
    """Every goal's (or the given goals') evaluation state, by goal id."""
    query = select(Goal)
    if goal_ids is not None:
        query = query.where(Goal.id.in_(list(goal_ids)))
    goals = list(session.execute(query.order_by(Goal.id)).scalars())
    if not goals:
        return {}
    newest = (
        select(GoalEvaluation.goal_id, func.max(GoalEvaluation.id).label("id"))
        .where(GoalEvaluation.goal_id.in_([g.id for g in goals]))
        .group_by(GoalEvaluation.goal_id)
        .subquery()
    )
    last = {
        e.goal_id: e
        for e in session.execute(
            select(GoalEvaluation).join(newest, newest.c.id == GoalEvaluation.id)
        ).scalars()
    }
    zone = session_zone(session)
    states: dict[int, EvaluationState] = {}
    for goal in goals:
        entry = last.get(goal.id)
        evaluated_on = entry.at.astimezone(zone).date() if entry is not None else None
        since = evaluated_on or goal.created_at.astimezone(zone).date()
        due_on = add_interval(since, goal.evaluation_interval) if goal.evaluation_interval else None
        states[goal.id] = EvaluationState(
            goal_id=goal.id,
            goal_ref=goal.ref,
            goal_title=goal.title,
            verdict=entry.verdict if entry is not None else None,
            note=entry.note if entry is not None else None,
            evaluated_on=evaluated_on,
            due_on=due_on,
        )
    return states


# -- the Zielmatrix -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MatrixDepartment:
    id: int
    key: str
    name: str


@dataclass
class MatrixRow:
    """One goal of the matrix: per department the measures it leads and those it takes part
    in, and the interfaces (measures on which several departments work together)."""

    goal_id: int
    goal_ref: str
    title: str
    field_of_action: str | None
    lead: dict[int, int] = field(default_factory=dict)  # department id → measures led
    participating: dict[int, int] = field(default_factory=dict)  # → measures taken part in
    measures: int = 0
    interfaces: int = 0


@dataclass(frozen=True)
class Interface:
    measure_ref: str
    title: str
    goal_id: int | None
    department_keys: tuple[str, ...]  # the lead first, then the participants


@dataclass
class Zielmatrix:
    departments: list[MatrixDepartment]  # those with at least one measure in a row, by key
    rows: list[MatrixRow]  # goals by id
    interfaces: list[Interface]  # the first `interface_limit`, by measure id
    interface_total: int


def zielmatrix(
    session: Session, *, field_id: int | None = None, interface_limit: int = 50
) -> Zielmatrix:
    """Goals × departments over all measures (closed ones too: the matrix shows who works on
    what, not what is open); `field_id` keeps the goals of one field of action."""
    goal_query = select(Goal, FieldOfAction.name).outerjoin(
        FieldOfAction, FieldOfAction.id == Goal.field_of_action_id
    )
    if field_id is not None:
        goal_query = goal_query.where(Goal.field_of_action_id == field_id)
    rows = {
        goal.id: MatrixRow(goal.id, goal.ref, goal.title, field_name)
        for goal, field_name in session.execute(goal_query.order_by(Goal.id))
    }
    in_rows = (
        Measure.goal_id.in_(list(rows)) if field_id is not None else Measure.goal_id.is_not(None)
    )
    used: set[int] = set()
    for goal_id, department_id, count in session.execute(
        select(Measure.goal_id, Measure.lead_department_id, func.count())
        .where(in_rows)
        .group_by(Measure.goal_id, Measure.lead_department_id)
    ):
        row = rows[goal_id]
        row.lead[department_id] = int(count)
        row.measures += int(count)
        used.add(department_id)
    for goal_id, department_id, count in session.execute(
        select(Measure.goal_id, measure_participants.c.department_id, func.count())
        .join(measure_participants, measure_participants.c.measure_id == Measure.id)
        .where(in_rows, measure_participants.c.department_id != Measure.lead_department_id)
        .group_by(Measure.goal_id, measure_participants.c.department_id)
    ):
        rows[goal_id].participating[department_id] = int(count)
        used.add(department_id)
    shared = (
        select(measure_participants.c.measure_id)
        .join(Measure, Measure.id == measure_participants.c.measure_id)
        .where(measure_participants.c.department_id != Measure.lead_department_id)
        .distinct()
        .subquery()
    )
    interface_where = [Measure.id.in_(select(shared.c.measure_id))]
    if field_id is not None:
        interface_where.append(in_rows)
    for goal_id, count in session.execute(
        select(Measure.goal_id, func.count())
        .where(*interface_where, Measure.goal_id.is_not(None))
        .group_by(Measure.goal_id)
    ):
        if goal_id in rows:
            rows[goal_id].interfaces = int(count)
    total = int(
        session.execute(
            select(func.count()).select_from(Measure).where(*interface_where)
        ).scalar_one()
    )
    listed = list(
        session.execute(
            select(Measure)
            .where(*interface_where)
            .options(joinedload(Measure.lead_department))
            .order_by(Measure.id)
            .limit(interface_limit)
        )
        .unique()
        .scalars()
    )
    keys = _participant_keys(session, [m.id for m in listed])
    interfaces = [
        Interface(
            m.ref,
            m.title,
            m.goal_id,
            (m.lead_department.key, *[k for k in keys.get(m.id, []) if k != m.lead_department.key]),
        )
        for m in listed
    ]
    departments = [
        MatrixDepartment(d.id, d.key, d.name)
        for d in session.execute(
            select(Department).where(Department.id.in_(used)).order_by(Department.key)
        ).scalars()
    ]
    return Zielmatrix(departments, list(rows.values()), interfaces, total)


def _participant_keys(session: Session, measure_ids: list[int]) -> dict[int, list[str]]:
    if not measure_ids:
        return {}
    found: dict[int, list[str]] = defaultdict(list)
    for measure_id, key in session.execute(
        select(measure_participants.c.measure_id, Department.key)
        .join(Department, Department.id == measure_participants.c.department_id)
        .where(measure_participants.c.measure_id.in_(measure_ids))
        .order_by(Department.key)
    ):
        found[measure_id].append(key)
    return found
