"""The steering report's figures (Steuerungsbericht, PRODUCT.md §4), read once and laid out
twice: as HTML (handlers/report_html.py) and as a PDF (handlers/report_pdf.py).

`collect` reads everything with aggregate queries (counts, means and the first overdue
measures per department by a window function), so a municipality of 10k measures costs a
handful of statements. `ReportData` holds plain values only — dates as ISO text, statuses
as their stored words — so a meeting record can keep it as JSON (`to_json` / `from_json`)
and render it later, in any language, exactly as it was.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from handlers.core import Language
from handlers.i18n import STATUS_KEYS, fmt_date, fmt_number, status_name, t
from handlers.monitoring import evaluation_states, indicator_tracks, zielmatrix
from storage.events import session_zone
from storage.models import (
    Decision,
    Department,
    FieldOfAction,
    FollowUp,
    Goal,
    Measure,
    MeasureStatus,
    Meeting,
    Person,
    Verdict,
    measure_participants,
)

# At most this many overdue measures per department; then a line with how many more.
OVERDUE_LIMIT = 15
ScopeKind = Literal["department", "goal"]
STATUSES = tuple(s.value for s in MeasureStatus)
_OPEN = tuple(s for s in MeasureStatus if not s.is_closed)


@dataclass(frozen=True)
class Scope:
    """What the report is about: one department, one goal, or (None) everything."""

    kind: ScopeKind
    id: int


# -- the figures ------------------------------------------------------------------------------


@dataclass
class Counts:
    """Measures by status (stored words), how many are overdue, and the mean progress of the
    open ones (None: none open)."""

    by_status: dict[str, int] = field(default_factory=dict)
    overdue: int = 0
    progress: float | None = None

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


@dataclass
class OverdueMeasure:
    ref: str
    title: str
    deadline: str  # ISO date
    days: int
    status: str
    progress: int
    responsible: str | None


@dataclass
class GoalFigures:
    ref: str
    title: str
    field_of_action: str | None
    counts: Counts


@dataclass
class DepartmentFigures:
    key: str
    name: str
    counts: Counts
    overdue: list[OverdueMeasure]
    more_overdue: int  # overdue beyond the ones listed


@dataclass
class IndicatorFigures:
    ref: str
    name: str
    unit: str
    goal_ref: str
    direction: str
    baseline: float | None
    baseline_date: str | None
    latest: float | None
    latest_date: str | None
    target: float | None
    target_date: str | None
    path_value: float | None  # what the target path asks for on the latest value's day
    marker: str  # ✅🟢🟡🔴⚪ (monitoring.IndicatorTrack.marker)
    values: int


@dataclass
class EvaluationFigures:
    goal_ref: str
    goal_title: str
    verdict: str | None
    note: str | None
    evaluated_on: str | None
    due_on: str | None
    overdue: bool


@dataclass
class MatrixGoal:
    ref: str
    title: str
    field_of_action: str | None
    cells: list[tuple[int, int]]  # per matrix department: (lead, participating)
    measures: int
    interfaces: int


@dataclass
class MatrixInterface:
    ref: str
    title: str
    departments: list[str]


@dataclass
class MatrixFigures:
    departments: list[tuple[str, str]]  # (key, name)
    goals: list[MatrixGoal]
    interfaces: list[MatrixInterface]
    interface_total: int


@dataclass
class DecisionFigures:
    ref: str  # S-1/2
    text: str
    done: bool
    about: list[str]  # M-n, Z-n
    changes: str | None


@dataclass
class MeetingFigures:
    ref: str
    title: str
    on: str  # ISO date
    decisions: list[DecisionFigures]


@dataclass
class ReportData:
    municipality: str
    today: str  # ISO date: the day the figures are of
    taken_at: str  # ISO time
    scope: str | None  # "Jugendamt (JA)", "Z-1 Bildung für alle", None: everything
    totals: Counts
    goals: list[GoalFigures]
    departments: list[DepartmentFigures]
    indicators: list[IndicatorFigures]
    evaluations: list[EvaluationFigures]
    matrix: MatrixFigures
    meeting: MeetingFigures | None
    for_meeting: str | None = None  # "S-2 Steuergruppe …": the meeting the report is for

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReportData:
        def counts(raw: dict[str, Any]) -> Counts:
            return Counts(dict(raw["by_status"]), raw["overdue"], raw["progress"])

        matrix = data["matrix"]
        meeting = data.get("meeting")
        return cls(
            municipality=data["municipality"],
            today=data["today"],
            taken_at=data["taken_at"],
            scope=data.get("scope"),
            totals=counts(data["totals"]),
            goals=[
                GoalFigures(g["ref"], g["title"], g["field_of_action"], counts(g["counts"]))
                for g in data["goals"]
            ],
            departments=[
                DepartmentFigures(
                    d["key"],
                    d["name"],
                    counts(d["counts"]),
                    [OverdueMeasure(**m) for m in d["overdue"]],
                    d["more_overdue"],
                )
                for d in data["departments"]
            ],
            indicators=[IndicatorFigures(**i) for i in data["indicators"]],
            evaluations=[EvaluationFigures(**e) for e in data["evaluations"]],
            matrix=MatrixFigures(
                departments=[(k, n) for k, n in matrix["departments"]],
                goals=[
                    MatrixGoal(
                        g["ref"],
                        g["title"],
                        g["field_of_action"],
                        [(a, b) for a, b in g["cells"]],
                        g["measures"],
                        g["interfaces"],
                    )
                    for g in matrix["goals"]
                ],
                interfaces=[MatrixInterface(**i) for i in matrix["interfaces"]],
                interface_total=matrix["interface_total"],
            ),
            meeting=(
                MeetingFigures(
                    meeting["ref"],
                    meeting["title"],
                    meeting["on"],
                    [DecisionFigures(**d) for d in meeting["decisions"]],
                )
                if meeting
                else None
            ),
            for_meeting=data.get("for_meeting"),
        )


# -- reading them -----------------------------------------------------------------------------


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _scope_where(scope: Scope | None) -> list[ColumnElement[bool]]:
    if scope is None:
        return []
    if scope.kind == "goal":
        return [Measure.goal_id == scope.id]
    involved = select(measure_participants.c.measure_id).where(
        measure_participants.c.department_id == scope.id
    )
    return [or_(Measure.lead_department_id == scope.id, Measure.id.in_(involved))]


def _counts(
    session: Session, group: Any, where: list[ColumnElement[bool]], today: date
) -> dict[Any, Counts]:
    """Counts per value of `group` (a column), in three aggregate statements."""
    found: dict[Any, Counts] = {}
    for key, status, n in session.execute(
        select(group, Measure.status, func.count()).where(*where).group_by(group, Measure.status)
    ):
        found.setdefault(key, Counts()).by_status[MeasureStatus(status).value] = int(n)
    open_ = Measure.status.in_(_OPEN)
    for key, n in session.execute(
        select(group, func.count()).where(*where, open_, Measure.deadline < today).group_by(group)
    ):
        found.setdefault(key, Counts()).overdue = int(n)
    for key, mean in session.execute(
        select(group, func.avg(Measure.progress)).where(*where, open_).group_by(group)
    ):
        if mean is not None:
            found.setdefault(key, Counts()).progress = round(float(mean), 1)
    return found


def _totals(session: Session, where: list[ColumnElement[bool]], today: date) -> Counts:
    totals = Counts()
    for status, n in session.execute(
        select(Measure.status, func.count()).where(*where).group_by(Measure.status)
    ):
        totals.by_status[MeasureStatus(status).value] = int(n)
    open_ = Measure.status.in_(_OPEN)
    overdue, mean = session.execute(
        select(func.count().filter(Measure.deadline < today), func.avg(Measure.progress)).where(
            *where, open_
        )
    ).one()
    totals.overdue = int(overdue or 0)
    totals.progress = round(float(mean), 1) if mean is not None else None
    return totals


def _overdue_lists(
    session: Session, department_ids: list[int], where: list[ColumnElement[bool]], today: date
) -> dict[int, list[OverdueMeasure]]:
    """The first OVERDUE_LIMIT overdue measures each department leads, longest overdue
    first, in one statement (a window function), not all of them."""
    if not department_ids:
        return {}
    overdue = and_(
        *where,
        Measure.status.in_(_OPEN),
        Measure.deadline < today,
        Measure.lead_department_id.in_(department_ids),
    )
    ranked = (
        select(
            Measure.id.label("id"),
            func.row_number()
            .over(partition_by=Measure.lead_department_id, order_by=(Measure.deadline, Measure.id))
            .label("n"),
        )
        .where(overdue)
        .subquery()
    )
    rows = session.execute(
        select(
            Measure.id,
            Measure.title,
            Measure.deadline,
            Measure.status,
            Measure.progress,
            Measure.lead_department_id,
            Person.name,
        )
        .join(ranked, ranked.c.id == Measure.id)
        .outerjoin(Person, Person.id == Measure.responsible_id)
        .where(ranked.c.n <= OVERDUE_LIMIT)
        .order_by(Measure.lead_department_id, ranked.c.n)
    )
    found: dict[int, list[OverdueMeasure]] = {}
    for measure_id, title, deadline, status, progress, department_id, person in rows:
        found.setdefault(department_id, []).append(
            OverdueMeasure(
                ref=f"M-{measure_id}",
                title=title,
                deadline=deadline.isoformat(),
                days=(today - deadline).days,
                status=MeasureStatus(status).value,
                progress=int(progress),
                responsible=person,
            )
        )
    return found


def _last_meeting(session: Session, meeting: Meeting | None, now: datetime) -> Meeting | None:
    """The meeting whose decisions the report shows: the one before `meeting` when the
    report is for a meeting, else the last one that has begun."""
    from handlers.meetings import previous_meeting

    if meeting is not None:
        found = previous_meeting(session, meeting)
        if found is None:
            return None
        meeting_id = found.id
    else:
        last = session.execute(
            select(Meeting.id)
            .where(Meeting.starts_at <= now)
            .order_by(Meeting.starts_at.desc())
            .limit(1)
        ).scalar()
        if last is None:
            return None
        meeting_id = last
    return session.execute(
        select(Meeting)
        .where(Meeting.id == meeting_id)
        .options(
            selectinload(Meeting.decisions).selectinload(Decision.measures),
            selectinload(Meeting.decisions).selectinload(Decision.goals),
        )
    ).scalar_one()


def _meeting_figures(session: Session, meeting: Meeting) -> MeetingFigures:
    from handlers.meetings import decision_refs

    refs = decision_refs(meeting)
    zone = session_zone(session)
    return MeetingFigures(
        ref=meeting.ref,
        title=meeting.title,
        on=meeting.starts_at.astimezone(zone).date().isoformat(),
        decisions=[
            DecisionFigures(
                ref=refs[d.id],
                text=d.text,
                done=d.follow_up is FollowUp.DONE,
                about=[m.ref for m in d.measures] + [g.ref for g in d.goals],
                changes=d.resulting_changes,
            )
            for d in meeting.decisions
        ],
    )


def _matrix(session: Session) -> MatrixFigures:
    found = zielmatrix(session)
    departments = found.departments
    return MatrixFigures(
        departments=[(d.key, d.name) for d in departments],
        goals=[
            MatrixGoal(
                ref=row.goal_ref,
                title=row.title,
                field_of_action=row.field_of_action,
                cells=[
                    (row.lead.get(d.id, 0), row.participating.get(d.id, 0)) for d in departments
                ],
                measures=row.measures,
                interfaces=row.interfaces,
            )
            for row in found.rows
        ],
        interfaces=[
            MatrixInterface(i.measure_ref, i.title, list(i.department_keys))
            for i in found.interfaces
        ],
        interface_total=found.interface_total,
    )


def collect(
    session: Session,
    today: date,
    *,
    scope: Scope | None = None,
    municipality: str = "",
    meeting: Meeting | None = None,
    now: datetime | None = None,
) -> ReportData:
    """The report's figures on `today`, for `scope` (a department: the measures it leads or
    takes part in; a goal: its measures) — the Zielmatrix is always the whole one. With
    `meeting`, the report is that meeting's and shows the decisions of the one before it."""
    zone = session_zone(session)
    moment = now or datetime.combine(today, time.max, tzinfo=zone)
    where = _scope_where(scope)
    scope_label: str | None = None

    goal_query = select(Goal.id, Goal.title, FieldOfAction.name).outerjoin(
        FieldOfAction, FieldOfAction.id == Goal.field_of_action_id
    )
    department_query = select(Department.id, Department.key, Department.name)
    if scope is not None and scope.kind == "goal":
        goal_query = goal_query.where(Goal.id == scope.id)
        goal = session.get(Goal, scope.id)
        scope_label = f"{goal.ref} {goal.title}" if goal is not None else None
    if scope is not None and scope.kind == "department":
        department_query = department_query.where(Department.id == scope.id)
        department = session.get(Department, scope.id)
        scope_label = department.label if department is not None else None

    by_goal = _counts(session, Measure.goal_id, where, today)
    by_department = _counts(session, Measure.lead_department_id, where, today)
    totals = _totals(session, where, today)

    goal_rows = [
        (goal_id, title, field_name)
        for goal_id, title, field_name in session.execute(goal_query.order_by(Goal.id))
        if scope is None or goal_id in by_goal or scope.kind == "goal"
    ]
    goals = [
        GoalFigures(f"Z-{goal_id}", title, field_name, by_goal.get(goal_id, Counts()))
        for goal_id, title, field_name in goal_rows
    ]
    department_rows = list(session.execute(department_query.order_by(Department.key)))
    # A department with no measures in scope has nothing to report: left out (a named
    # department is always shown).
    department_rows = [r for r in department_rows if r.id in by_department or scope is not None]
    lists = _overdue_lists(session, [r.id for r in department_rows], where, today)
    departments = []
    for row in department_rows:
        counts = by_department.get(row.id, Counts())
        listed = lists.get(row.id, [])
        departments.append(
            DepartmentFigures(
                row.key, row.name, counts, listed, max(0, counts.overdue - len(listed))
            )
        )

    goal_ids = [row[0] for row in goal_rows] if scope is not None else None
    indicators = [
        IndicatorFigures(
            ref=track.ref,
            name=track.name,
            unit=track.unit,
            goal_ref=track.goal_ref,
            direction=track.direction.value,
            baseline=track.baseline,
            baseline_date=_iso(track.baseline_date),
            latest=track.latest.value if track.latest else None,
            latest_date=_iso(track.latest.on) if track.latest else None,
            target=track.target_value,
            target_date=_iso(track.target_date),
            path_value=track.rounded(track.expected) if track.expected is not None else None,
            marker=track.marker,
            values=len(track.points),
        )
        for track in indicator_tracks(session, goal_ids=goal_ids)
    ]
    states = evaluation_states(session, goal_ids)
    evaluations = [
        EvaluationFigures(
            goal_ref=state.goal_ref,
            goal_title=state.goal_title,
            verdict=state.verdict.value if state.verdict else None,
            note=state.note,
            evaluated_on=_iso(state.evaluated_on),
            due_on=_iso(state.due_on),
            overdue=state.is_due(today),
        )
        for state in states.values()
        if state.verdict is not None or state.due_on is not None
    ]
    last = _last_meeting(session, meeting, moment)
    return ReportData(
        municipality=municipality,
        today=today.isoformat(),
        taken_at=moment.astimezone(zone).isoformat(timespec="seconds")
        if now is not None
        else today.isoformat(),
        scope=scope_label,
        totals=totals,
        goals=goals,
        departments=departments,
        indicators=indicators,
        evaluations=evaluations,
        matrix=_matrix(session),
        meeting=_meeting_figures(session, last) if last is not None else None,
        for_meeting=f"{meeting.ref} {meeting.title}" if meeting is not None else None,
    )


def report_snapshot(
    session: Session, meeting: Meeting, *, municipality: str = "", now: datetime | None = None
) -> dict[str, Any]:
    """The report as it stands when `meeting` begins, as JSON for its MeetingRecord: the
    figures of the meeting's day, with the decisions of the meeting before it."""
    zone = session_zone(session)
    day = meeting.starts_at.astimezone(zone).date()
    return collect(session, day, municipality=municipality, meeting=meeting, now=now).to_json()


# -- words for the two layouts ------------------------------------------------------------------

# The fixed texts of the report, by the name the layouts use (catalogue keys in full).
_LABELS = {
    "title": "report.title",
    "scope": "report.scope",
    "all": "report.all",
    "goals": "report.goals",
    "departments": "report.departments",
    "overdue": "report.overdue",
    "overdue_none": "report.overdue_none",
    "indicators": "report.indicators",
    "indicators_none": "report.indicators_none",
    "evaluations": "report.evaluations",
    "evaluations_none": "report.evaluations_none",
    "matrix": "report.matrix",
    "matrix_none": "report.matrix_none",
    "matrix_legend": "report.matrix_legend",
    "lead_letter": "report.lead_letter",
    "part_letter": "report.part_letter",
    "decisions": "report.decisions",
    "decisions_none": "report.decisions_none",
    "no_meeting": "report.no_meeting",
    "col_goal": "report.col_goal",
    "col_department": "report.col_department",
    "col_total": "report.col_total",
    "col_overdue": "report.col_overdue",
    "col_progress": "report.col_progress",
    "col_measure": "report.col_measure",
    "col_deadline": "report.col_deadline",
    "col_days": "report.col_days",
    "col_status": "report.col_status",
    "col_responsible": "report.col_responsible",
    "col_indicator": "report.col_indicator",
    "col_baseline": "report.col_baseline",
    "col_latest": "report.col_latest",
    "col_path": "report.col_path",
    "col_target": "report.col_target",
    "col_trend": "report.col_trend",
    "col_verdict": "report.col_verdict",
    "col_note": "report.col_note",
    "col_evaluated": "report.col_evaluated",
    "col_due": "report.col_due",
    "col_measures": "report.col_measures",
    "col_interfaces": "report.col_interfaces",
    "col_decision": "report.col_decision",
    "col_follow_up": "report.col_follow_up",
    "col_about": "report.col_about",
}
_VERDICT_KEYS = {
    Verdict.MET.value: "report.verdict_met",
    Verdict.PARTLY.value: "report.verdict_partly",
    Verdict.NOT_MET.value: "report.verdict_not_met",
}
_MARKER_KEYS = {
    "✅": "report.marker_met",
    "🟢": "report.marker_on_track",
    "🟡": "report.marker_behind",
    "🔴": "report.marker_off",
    "⚪": "report.marker_none",
}


def labels(lang: Language) -> dict[str, str]:
    return {name: t(lang, key) for name, key in _LABELS.items()}


def status_labels(lang: Language) -> list[tuple[str, str]]:
    """(stored word, name in `lang`) of every status, in the order of the tables."""
    return [(s.value, t(lang, STATUS_KEYS[s])) for s in MeasureStatus]


def day(text: str | None, lang: Language) -> str:
    return fmt_date(date.fromisoformat(text) if text else None, lang)


def number(value: float | None, unit: str, lang: Language) -> str:
    if value is None:
        return "–"
    shown = fmt_number(round(value, 2), lang)
    return f"{shown} {unit}".strip()


def percent(value: float | None, lang: Language) -> str:
    return "–" if value is None else f"{fmt_number(round(value), lang)} %"


def verdict_name(verdict: str | None, lang: Language) -> str:
    return t(lang, _VERDICT_KEYS[verdict]) if verdict in _VERDICT_KEYS else "–"


def marker_name(marker: str, lang: Language) -> str:
    return t(lang, _MARKER_KEYS.get(marker, "report.marker_none"))


def status_word(status: str, lang: Language) -> str:
    return status_name(MeasureStatus(status), lang)


def more_line(department: DepartmentFigures, lang: Language) -> str:
    return t(lang, "report.more_overdue", n=department.more_overdue, department=department.key)


def follow_up(decision: DecisionFigures, lang: Language) -> str:
    key = "meetings.decision_done_state" if decision.done else "meetings.decision_open_state"
    return t(lang, key)


def heading(data: ReportData, lang: Language) -> str:
    return t(lang, "report.heading", municipality=data.municipality)


def taken_line(data: ReportData, lang: Language) -> str:
    return t(lang, "report.taken", date=day(data.today, lang))


def meeting_line(data: ReportData, lang: Language) -> str:
    meeting = data.meeting
    if meeting is None:
        return t(lang, "report.no_meeting")
    return t(
        lang,
        "report.meeting_line",
        meeting=meeting.ref,
        title=meeting.title,
        date=day(meeting.on, lang),
    )


def summary_line(data: ReportData, lang: Language) -> str:
    totals = data.totals
    return t(
        lang,
        "report.summary_line",
        total=totals.total,
        open=sum(n for s, n in totals.by_status.items() if not MeasureStatus(s).is_closed),
        overdue=totals.overdue,
        progress=percent(totals.progress, lang),
    )


def due_text(evaluation: EvaluationFigures, lang: Language) -> str:
    shown = day(evaluation.due_on, lang)
    return t(lang, "report.due_overdue", date=shown) if evaluation.overdue else shown


def for_meeting_line(data: ReportData, lang: Language) -> str | None:
    if data.for_meeting is None:
        return None
    return t(lang, "report.for_meeting", meeting=data.for_meeting)


def interfaces_line(data: ReportData, lang: Language) -> str:
    return t(lang, "report.interfaces", n=data.matrix.interface_total)


def indicator_name(indicator: IndicatorFigures) -> str:
    return f"{indicator.ref} {indicator.name}"


# -- the report as the layouts show it ------------------------------------------------------------


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    widths: list[float]  # relative column widths
    numeric: list[int] = field(default_factory=list)  # right-aligned columns
    note: str | None = None  # a line under the table (`und 2 weitere — …`)


@dataclass
class Part:
    """One block of a section: a subheading, lines of text, and a table."""

    subheading: str | None = None
    lines: list[str] = field(default_factory=list)
    table: Table | None = None


@dataclass
class Section:
    key: str  # "goals", "departments", …: the HTML's anchor and class
    heading: str
    parts: list[Part]


@dataclass
class Presented:
    title: str
    lines: list[str]  # under the title: as of, scope, meeting, summary
    sections: list[Section]
    lang: Language


def _count_table(
    first: str, rows: list[tuple[str, Counts]], lang: Language, labels_: dict[str, str]
) -> Table:
    statuses = status_labels(lang)
    header = [first, *[name for _s, name in statuses], labels_["col_total"]]
    header += [labels_["col_overdue"], labels_["col_progress"]]
    body = [
        [
            name,
            *[str(counts.by_status.get(s, 0)) for s, _n in statuses],
            str(counts.total),
            str(counts.overdue),
            percent(counts.progress, lang),
        ]
        for name, counts in rows
    ]
    widths = [5.0, *[1.0] * len(statuses), 1.0, 1.0, 1.1]
    return Table(header, body, widths, numeric=list(range(1, len(header))))


def present(data: ReportData, lang: Language) -> Presented:
    """The report's texts and tables in `lang`, shared by the HTML and the PDF."""
    words = labels(lang)
    lines = [taken_line(data, lang), f"{words['scope']}: {data.scope or words['all']}"]
    meeting = for_meeting_line(data, lang)
    if meeting:
        lines.append(meeting)
    lines.append(summary_line(data, lang))
    sections: list[Section] = []

    goal_rows = [(f"{g.ref} {g.title}", g.counts) for g in data.goals]
    sections.append(
        Section(
            "goals",
            words["goals"],
            [Part(table=_count_table(words["col_goal"], goal_rows, lang, words))],
        )
    )

    department_rows = [(f"{d.name} ({d.key})", d.counts) for d in data.departments]
    parts = [Part(table=_count_table(words["col_department"], department_rows, lang, words))]
    # Departments with nothing overdue share one line: a heading each would fill pages.
    on_time = [f"{d.name} ({d.key})" for d in data.departments if not d.overdue]
    for department in data.departments:
        if not department.overdue:
            continue
        heading_ = f"{words['overdue']}: {department.name} ({department.key})"
        table = Table(
            [
                words["col_measure"],
                words["col_deadline"],
                words["col_days"],
                words["col_status"],
                words["col_progress"],
                words["col_responsible"],
            ],
            [
                [
                    f"{m.ref} {m.title}",
                    day(m.deadline, lang),
                    str(m.days),
                    status_word(m.status, lang),
                    f"{m.progress} %",
                    m.responsible or "–",
                ]
                for m in department.overdue
            ],
            [5.0, 1.6, 0.9, 1.5, 1.3, 2.2],
            numeric=[2, 4],
            note=more_line(department, lang) if department.more_overdue else None,
        )
        parts.append(Part(heading_, table=table))
    if on_time:
        parts.append(Part(lines=[f"{words['overdue_none']}: {', '.join(on_time)}"]))
    sections.append(Section("departments", words["departments"], parts))

    if data.indicators:
        table = Table(
            [
                words["col_indicator"],
                words["col_goal"],
                words["col_baseline"],
                words["col_latest"],
                words["col_path"],
                words["col_target"],
                words["col_trend"],
            ],
            [
                [
                    indicator_name(i),
                    i.goal_ref,
                    _dated(i.baseline, i.unit, i.baseline_date, lang),
                    _dated(i.latest, i.unit, i.latest_date, lang),
                    number(i.path_value, i.unit, lang),
                    _dated(i.target, i.unit, i.target_date, lang),
                    marker_name(i.marker, lang),
                ]
                for i in data.indicators
            ],
            [3.4, 0.9, 2.0, 2.0, 1.5, 2.0, 2.2],
        )
        sections.append(Section("indicators", words["indicators"], [Part(table=table)]))
    else:
        sections.append(
            Section("indicators", words["indicators"], [Part(lines=[words["indicators_none"]])])
        )

    if data.evaluations:
        table = Table(
            [
                words["col_goal"],
                words["col_verdict"],
                words["col_note"],
                words["col_evaluated"],
                words["col_due"],
            ],
            [
                [
                    f"{e.goal_ref} {e.goal_title}",
                    verdict_name(e.verdict, lang),
                    e.note or "",
                    day(e.evaluated_on, lang),
                    due_text(e, lang),
                ]
                for e in data.evaluations
            ],
            [3.5, 1.5, 4.0, 1.6, 2.2],
        )
        sections.append(Section("evaluations", words["evaluations"], [Part(table=table)]))
    else:
        sections.append(
            Section("evaluations", words["evaluations"], [Part(lines=[words["evaluations_none"]])])
        )

    matrix = data.matrix
    if matrix.goals and matrix.departments:
        lead, taking_part = words["lead_letter"], words["part_letter"]
        table = Table(
            [words["col_goal"], *[k for k, _n in matrix.departments], words["col_interfaces"]],
            [
                [
                    f"{g.ref} {g.title}",
                    *[_cell(a, b, lead, taking_part) for a, b in g.cells],
                    str(g.interfaces),
                ]
                for g in matrix.goals
            ],
            [4.0, *[1.2] * len(matrix.departments), 2.0],
            numeric=list(range(1, len(matrix.departments) + 2)),
        )
        interface_lines = [
            f"{i.ref} {i.title} ({', '.join(i.departments)})" for i in matrix.interfaces
        ]
        if matrix.interface_total > len(matrix.interfaces):
            interface_lines.append(f"… +{matrix.interface_total - len(matrix.interfaces)}")
        sections.append(
            Section(
                "matrix",
                words["matrix"],
                [
                    Part(lines=[words["matrix_legend"]], table=table),
                    Part(interfaces_line(data, lang), interface_lines),
                ],
            )
        )
    else:
        sections.append(Section("matrix", words["matrix"], [Part(lines=[words["matrix_none"]])]))

    if data.meeting is None:
        decisions = [Part(lines=[words["no_meeting"]])]
    elif not data.meeting.decisions:
        decisions = [Part(meeting_line(data, lang), [words["decisions_none"]])]
    else:
        table = Table(
            [words["col_decision"], words["col_about"], words["col_follow_up"]],
            [
                [
                    f"{d.ref} {d.text}" + (f" ({d.changes})" if d.changes else ""),
                    ", ".join(d.about) or "–",
                    follow_up(d, lang),
                ]
                for d in data.meeting.decisions
            ],
            [7.0, 2.0, 1.6],
        )
        decisions = [Part(meeting_line(data, lang), table=table)]
    sections.append(Section("decisions", words["decisions"], decisions))
    return Presented(heading(data, lang), lines, sections, lang)


def _cell(lead: int, taking_part: int, lead_letter: str, part_letter: str) -> str:
    if not lead and not taking_part:
        return "·"
    shown = []
    if lead:
        shown.append(f"{lead_letter}{lead}")
    if taking_part:
        shown.append(f"{part_letter}{taking_part}")
    return " ".join(shown)


def _dated(value: float | None, unit: str, on: str | None, lang: Language) -> str:
    shown = number(value, unit, lang)
    if value is None or on is None:
        return shown
    return f"{shown} ({day(on, lang)})"
