"""Read commands: status (overview and detail), meine, fällig, überfällig, verlauf."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    ScalarSelect,
    Select,
    bindparam,
    func,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import joinedload

from handlers.args import Args
from handlers.context import Context, UsageError
from handlers.core import Language, Reply, ShownVersion
from handlers.goals import goal_detail
from handlers.i18n import fmt_date, interval_name, plural, status_name
from handlers.indicators import indicator_detail
from handlers.views import (
    LIST_LIMIT,
    cut,
    is_stale,
    measure_line,
    person_label,
    quick_answers,
    status_counts_line,
)
from storage.lookup import Kind, id_shape
from storage.models import (
    AuditEntry,
    Department,
    Measure,
    MeasureStatus,
    Person,
    PlanningArea,
    StatusReport,
    measure_participants,
)

OPEN_STATUSES = [s for s in MeasureStatus if not s.is_closed]
ALL_KINDS = (Kind.MEASURE, Kind.GOAL, Kind.DEPARTMENT, Kind.PERSON, Kind.AREA)


def _measures() -> Select[tuple[Measure]]:
    return select(Measure).options(joinedload(Measure.lead_department))


def _open() -> ColumnElement[bool]:
    return Measure.status.in_(OPEN_STATUSES)


def _first_overdue(where: list[ColumnElement[bool]], n: int) -> Select[tuple[Measure]]:
    """The `n` open measures longest overdue (before `:today`), in one statement that reads
    about `n` index entries per open status instead of sorting every overdue measure: the
    index on (status, deadline) yields each status's rows in deadline order, but not the union
    of several statuses, so SQLite sorted thousands of rows for three (measured in bench/,
    10k measures: 2.2 ms → 0.3 ms)."""
    firsts = [
        select(Measure.id)
        .where(*where, Measure.status == status, Measure.deadline < _TODAY)
        .order_by(Measure.deadline, Measure.id)
        .limit(n)
        .subquery()
        for status in OPEN_STATUSES
    ]
    ids = union_all(*[select(first.c.id) for first in firsts])
    return _measures().where(Measure.id.in_(ids)).order_by(Measure.deadline, Measure.id).limit(n)


def _counts(where: list[ColumnElement[bool]]) -> Select[Any]:
    """Every count of an overview in one statement: each scalar subquery is its own index
    range, and one round trip instead of four (the fixed cost per statement dominates)."""

    def count_of(*conditions: ColumnElement[bool]) -> ScalarSelect[int]:
        return select(func.count()).select_from(Measure).where(*conditions).scalar_subquery()

    return (
        select(
            Measure.status,
            func.count(),
            count_of(*where, _open(), Measure.deadline < _TODAY),
            count_of(*where, _open(), Measure.deadline >= _TODAY, Measure.deadline <= _SOON),
            count_of(*where, _open(), Measure.evaluation_due_on < _TODAY),
        )
        .where(*where)
        .group_by(Measure.status)
    )


def _of_department(department_id: int) -> ColumnElement[bool]:
    """Measures a department leads or takes part in."""
    participating = select(measure_participants.c.measure_id).where(
        measure_participants.c.department_id == department_id
    )
    return or_(Measure.lead_department_id == department_id, Measure.id.in_(participating))


# The overview's two statements, built once per scope with the day and the scope's id as
# parameters: building them per message (cache keys, coercions) cost ~2 ms of a `status`.
_TODAY = bindparam("today", type_=Date)
_SOON = bindparam("soon", type_=Date)
_SCOPE = bindparam("scope_id", type_=Integer)
_SCOPES: dict[str, list[ColumnElement[bool]]] = {
    "all": [],
    "department": [
        or_(
            Measure.lead_department_id == _SCOPE,
            Measure.id.in_(
                select(measure_participants.c.measure_id).where(
                    measure_participants.c.department_id == _SCOPE
                )
            ),
        )
    ],
    "area": [Measure.planning_area_id == _SCOPE],
}
_OVERVIEWS = {scope: (_counts(where), _first_overdue(where, 3)) for scope, where in _SCOPES.items()}


# -- status -------------------------------------------------------------------------------


def status(ctx: Context, args: Args) -> Reply:
    if not args.words:
        if ctx.room is not None and ctx.room.department is not None:
            return _department_detail(ctx, ctx.room.department)
        return _overview(
            ctx,
            "all",
            ctx.t("status.overview_heading", municipality=ctx.settings.municipality),
        )
    first, last = args.words[0], args.words[-1]
    text = " ".join(w.text for w in args.words)
    # An indicator by its id (`status K-3`); names stay with the kinds above, so a fragment
    # that named a measure before still does.
    shape = id_shape(text)
    kinds = (Kind.INDICATOR,) if shape is not None and shape[0] == "K" else ALL_KINDS
    match = ctx.resolve(text, kinds, start=first.start, end=last.end)
    if match.kind is Kind.MEASURE:
        return measure_detail(ctx, match.id)
    if match.kind is Kind.GOAL:
        return goal_detail(ctx, match.id)
    if match.kind is Kind.INDICATOR:
        return indicator_detail(ctx, match.id)
    if match.kind is Kind.DEPARTMENT:
        department = ctx.session.get(Department, match.id)
        assert department is not None
        return _department_detail(ctx, department)
    if match.kind is Kind.PERSON:
        person = ctx.session.get(Person, match.id)
        assert person is not None
        return _person_detail(ctx, person)
    area = ctx.session.get(PlanningArea, match.id)
    assert area is not None
    return _area_detail(ctx, area)


def _overview(
    ctx: Context,
    scope: str,
    heading: str,
    *,
    scope_id: int | None = None,
    department_key: str | None = None,
    heading_suffix: str = "",
) -> Reply:
    """Counts and the three longest overdue of a scope: "all", "department" or "area"."""
    today = ctx.today
    counts_statement, overdue_statement = _OVERVIEWS[scope]
    values = {"today": today, "soon": today + timedelta(days=14), "scope_id": scope_id}
    rows = ctx.session.execute(counts_statement, values).all()
    counts: dict[MeasureStatus, int] = {row[0]: row[1] for row in rows}
    overdue_total, due_soon, stale = (rows[0][2], rows[0][3], rows[0][4]) if rows else (0, 0, 0)
    total = sum(counts.values())
    overdue = (
        ctx.session.execute(overdue_statement, values).scalars().all() if overdue_total else []
    )
    reply = Reply.text(
        status_counts_line(counts, ctx.lang),
        heading=f"📊 {heading} — {measures_count(total, ctx.lang)}{heading_suffix}",
    )
    lines = [ctx.t("status.overview_overdue", n=overdue_total)]
    lines += ["  " + measure_line(m, today, ctx.lang) for m in overdue]
    if overdue_total > len(overdue):
        command = (
            ctx.t("status.overdue_more_department", department=department_key)
            if department_key
            else ctx.t("status.overdue_more")
        )
        lines = cut(lines, len(lines) + overdue_total - len(overdue), ctx.lang, command)
    lines.append(ctx.t("status.overview_due", n=due_soon))
    lines.append(ctx.t("status.overview_stale", n=stale))
    reply.add(*lines)
    return reply


def _department_detail(ctx: Context, department: Department) -> Reply:
    """The measures a department leads or takes part in — the same set `fällig JA` lists."""
    led = ctx.session.execute(
        select(func.count()).select_from(Measure).where(Measure.lead_department_id == department.id)
    ).scalar_one()
    return _overview(
        ctx,
        "department",
        department.label,
        scope_id=department.id,
        department_key=department.key,
        heading_suffix=ctx.t("status.department_leads", n=led),
    )


def measures_count(n: int, lang: str) -> str:
    return plural(lang, "status.measures_count", n)


def _person_detail(ctx: Context, person: Person) -> Reply:
    measures = (
        ctx.session.execute(
            _measures()
            .where(Measure.responsible_id == person.id, _open())
            .order_by(Measure.deadline.is_(None), Measure.deadline, Measure.id)
        )
        .scalars()
        .all()
    )
    department = person.department.label if person.department else "–"
    heading = f"👤 {person.name} — {department}, {person.role.value}"
    if person.absent_until and person.absent_until >= ctx.today:
        deputy = person.deputy.name if person.deputy else "–"
        heading += ctx.t(
            "status.person_away",
            until=fmt_date(person.absent_until, ctx.lang),
            deputy=deputy,
        )
    if not measures:
        return Reply.text(ctx.t("status.person_none_open"), heading=heading)
    lines = [measure_line(m, ctx.today, ctx.lang) for m in measures[:LIST_LIMIT]]
    return Reply.text(
        *cut(lines, len(measures), ctx.lang, ctx.t("status.more_person", name=person.name)),
        heading=heading,
    )


def _area_detail(ctx: Context, area: PlanningArea) -> Reply:
    reply = _overview(
        ctx,
        "area",
        ctx.t("status.area_heading", area=area.name),
        scope_id=area.id,
    )
    return reply


def _in_days(n: int, lang: Language) -> str:
    """`1 Tag` / `14 Tagen` after „in“ or „seit“ (German dative); `1 day` / `14 days`."""
    return plural(lang, "common.in_days", n)


def measure_detail(ctx: Context, measure_id: int) -> Reply:
    measure = ctx.session.get(Measure, measure_id)
    assert measure is not None
    lang, today = ctx.lang, ctx.today
    heading = f"{measure_line(measure, today, lang).split(' — ')[0]}"
    if measure.plan_number:
        # The plan's own number beside our id (`nr:3.1` finds it too).
        heading = heading.replace(
            measure.ref,
            ctx.t("status.detail_ref_number", ref=measure.ref, number=measure.plan_number),
            1,
        )
    status_line = ctx.t(
        "status.detail_status", status=status_name(measure.status, lang), progress=measure.progress
    )
    if measure.deadline is not None:
        remaining = (measure.deadline - today).days
        when = fmt_date(measure.deadline, lang)
        if measure.status.is_closed:
            status_line += ctx.t("status.detail_deadline_closed", when=when)
        elif remaining < 0:
            status_line += ctx.t(
                "status.detail_deadline_overdue", when=when, days=_in_days(-remaining, lang)
            )
        elif remaining == 0:
            status_line += ctx.t("status.detail_deadline_today", when=when)
        else:
            status_line += ctx.t(
                "status.detail_deadline_ahead", when=when, days=_in_days(remaining, lang)
            )
    lines = [status_line]
    participants = ", ".join(d.key for d in measure.participants)
    lead = ctx.t("status.detail_lead", department=measure.lead_department.label)
    if participants:
        lead += ctx.t("status.detail_participating", participants=participants)
    lines.append(lead)
    responsible = person_label(ctx, measure.responsible.name if measure.responsible else None)
    lines.append(ctx.t("status.detail_responsible", person=responsible))
    where = []
    if measure.goal is not None:
        where.append(ctx.t("status.detail_goal", goal=measure.goal.ref, title=measure.goal.title))
    if measure.planning_area is not None:
        where.append(ctx.t("status.detail_area", area=measure.planning_area.name))
    if where:
        lines.append(" · ".join(where))
    last = ctx.session.execute(
        select(StatusReport)
        .where(StatusReport.measure_id == measure.id)
        .order_by(StatusReport.at.desc(), StatusReport.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    interval = interval_name(measure.evaluation_interval, lang)
    if last is not None:
        who = last.person.name if last.person else "?"
        note = ctx.t("status.detail_report_note", note=last.note) if last.note else ""
        report = ctx.t(
            "status.detail_last_report",
            date=fmt_date(last.at.astimezone(ctx.settings.timezone).date(), lang),
            who=who,
            note=note,
        )
    else:
        report = ctx.t("status.detail_no_report")
    report += ctx.t("status.detail_interval", interval=interval)
    if is_stale(measure, today):
        report += ctx.t("status.detail_report_due")
    lines.append(report)
    if measure.description:
        lines.append(measure.description)
    # The plan's other columns, as the import kept them.
    for header, value in (measure.extra_fields or {}).items():
        lines.append(ctx.t("status.detail_free_field", header=header, value=value))
    reply = Reply.text(*lines, heading=heading)
    reply.subject = ShownVersion(measure.id, measure.version)
    reply.quick_answers = quick_answers(measure, lang, ctx.person)
    return reply


# -- lists --------------------------------------------------------------------------------


def mine(ctx: Context, args: Args) -> Reply:
    assert ctx.person is not None
    where = [Measure.responsible_id == ctx.person.id, _open()]
    total = ctx.session.execute(
        select(func.count()).select_from(Measure).where(*where)
    ).scalar_one()
    if total == 0:
        return Reply.text(ctx.t("status.mine_none"))
    measures = (
        ctx.session.execute(
            _measures()
            .where(*where)
            .order_by(Measure.deadline.is_(None), Measure.deadline, Measure.id)
            .limit(LIST_LIMIT)
        )
        .scalars()
        .all()
    )
    heading = ctx.t("status.mine_heading", n=total)
    lines = [measure_line(m, ctx.today, ctx.lang) for m in measures]
    more = ctx.t("status.more_person", name=ctx.person.name)
    return Reply.text(*cut(lines, total, ctx.lang, more), heading=heading)


def _department_arg(ctx: Context, args: Args, index: int) -> Department | None:
    if len(args.words) <= index:
        return ctx.room.department if ctx.room is not None else None
    words = args.words[index:]
    match = ctx.resolve(
        " ".join(w.text for w in words), [Kind.DEPARTMENT], start=words[0].start, end=words[-1].end
    )
    return ctx.session.get(Department, match.id)


def due(ctx: Context, args: Args) -> Reply:
    horizon = 14
    index = 0
    if args.words and re.fullmatch(r"[-+]?\d+", args.words[0].text):
        horizon = int(args.words[0].text)
        index = 1
        if not 1 <= horizon <= 366:
            raise UsageError(ctx.t("status.due_days_range"))
    department = _department_arg(ctx, args, index)
    today = ctx.today
    where: list[ColumnElement[bool]] = [
        _open(),
        Measure.deadline >= today,
        Measure.deadline <= today + timedelta(days=horizon),
    ]
    if department is not None:
        where.append(_of_department(department.id))
    scope = f" — {department.key}" if department else ""
    return _measure_list(
        ctx,
        where,
        ctx.t("status.due_heading", days=_in_days(horizon, ctx.lang), scope=scope),
        ctx.t("status.due_none"),
        ctx.t("status.due_narrower", days=horizon),
    )


def overdue(ctx: Context, args: Args) -> Reply:
    department = _department_arg(ctx, args, 0)
    where: list[ColumnElement[bool]] = [_open(), Measure.deadline < ctx.today]
    if department is not None:
        where.append(_of_department(department.id))
    scope = f" — {department.key}" if department else ""
    return _measure_list(
        ctx,
        where,
        ctx.t("status.overdue_heading", scope=scope),
        ctx.t("status.overdue_none"),
        ctx.t("status.overdue_narrower"),
    )


def _measure_list(
    ctx: Context, where: list[ColumnElement[bool]], heading: str, empty: str, narrower: str
) -> Reply:
    total = ctx.session.execute(
        select(func.count()).select_from(Measure).where(*where)
    ).scalar_one()
    if total == 0:
        return Reply.text(empty, heading=heading)
    measures = (
        ctx.session.execute(
            _measures().where(*where).order_by(Measure.deadline, Measure.id).limit(LIST_LIMIT)
        )
        .scalars()
        .all()
    )
    lines = [measure_line(m, ctx.today, ctx.lang) for m in measures]
    return Reply.text(*cut(lines, total, ctx.lang, narrower), heading=f"{heading} ({total})")


# -- verlauf ------------------------------------------------------------------------------


def history(ctx: Context, args: Args) -> Reply:
    if not args.words:
        raise UsageError()
    first, last = args.words[0], args.words[-1]
    match = ctx.resolve(
        " ".join(w.text for w in args.words), [Kind.MEASURE], start=first.start, end=last.end
    )
    measure = ctx.session.get(Measure, match.id)
    assert measure is not None
    tz = ctx.settings.timezone
    events: list[tuple[Any, str]] = []
    for report in ctx.session.execute(
        select(StatusReport)
        .where(StatusReport.measure_id == measure.id)
        .order_by(StatusReport.at.desc(), StatusReport.id.desc())
        .limit(LIST_LIMIT)
    ).scalars():
        when = report.at.astimezone(tz).strftime("%d.%m.%Y %H:%M")
        who = report.person.name if report.person else "?"
        change = _change_text(
            ctx, report.old_status, report.new_status, report.old_progress, report.new_progress
        )
        note = ctx.t("status.history_note", note=report.note) if report.note else ""
        events.append((report.at, f"{when} {who}: {change}{note}"))
    for entry in ctx.session.execute(
        select(AuditEntry)
        .where(
            AuditEntry.entity_kind == "measure",
            AuditEntry.entity_id == measure.id,
            AuditEntry.action.not_in(["report", "done"]),
        )
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(LIST_LIMIT)
    ).scalars():
        when = entry.at.astimezone(tz).strftime("%d.%m.%Y %H:%M")
        who = entry.person.name if entry.person else entry.actor
        events.append((entry.at, f"{when} {who}: {describe_change(ctx, entry)}"))
    events.sort(key=lambda e: e[0], reverse=True)
    heading = ctx.t("status.history_heading", measure=measure.ref, title=measure.title)
    if not events:
        return Reply.text(
            ctx.t("status.history_empty"),
            heading=heading,
        )
    return Reply.text(*[line for _at, line in events[:LIST_LIMIT]], heading=heading)


def _change_text(ctx: Context, old_status: str, new_status: str, old: int, new: int) -> str:
    parts = []
    if old_status != new_status:
        parts.append(
            f"{status_name(MeasureStatus(old_status), ctx.lang)} → "
            f"{status_name(MeasureStatus(new_status), ctx.lang)}"
        )
    if old != new:
        parts.append(f"{old} % → {new} %")
    return ", ".join(parts) or ctx.t("status.history_report")


# The fields and actions of an audit entry, as the history names them.
_FIELD_NAMES = {
    "deadline": "status.field_deadline",
    "responsible": "status.field_responsible",
    "lead_department": "status.field_lead_department",
    "status": "status.field_status",
    "progress": "status.field_progress",
    "title": "status.field_title",
    "description": "status.field_description",
    "goal": "status.field_goal",
    "planning_area": "status.field_planning_area",
    "evaluation_interval": "status.field_evaluation_interval",
    "start": "status.field_start",
    "participants": "status.field_participants",
    "plan_number": "status.field_plan_number",
    "extra_fields": "status.field_extra_fields",
}
_ACTION_NAMES = {
    "report": "status.action_report",
    "done": "status.action_done",
    "deadline": "status.action_deadline",
    "assign": "status.action_assign",
    "edit": "status.action_edit",
    "import_undo": "status.action_import_undo",
}


def describe_change(ctx: Context, entry: AuditEntry) -> str:
    """`Frist 31.03.2027 → 30.06.2027 (Träger verspätet)` from an audit entry."""
    if entry.action == "create" or (entry.action == "import" and not entry.before):
        created = ctx.t("status.history_created")
        if entry.action == "import":
            # origin_room is the file, origin_message_id its row (handlers/plan_import.py).
            return ctx.t(
                "status.history_imported",
                created=created,
                file=entry.origin_room or "?",
                row=entry.origin_message_id or "?",
            )
        return created
    before, after = entry.before or {}, entry.after or {}
    parts = []
    for key in after:
        if key in ("reason", "note") or before.get(key) == after.get(key):
            continue
        label = ctx.t(_FIELD_NAMES[key]) if key in _FIELD_NAMES else key
        old, new = before.get(key), after.get(key)
        if key in ("deadline", "start"):
            old = fmt_date(date.fromisoformat(old), ctx.lang) if old else "–"
            new = fmt_date(date.fromisoformat(new), ctx.lang) if new else "–"
        elif key == "status":
            old = status_name(MeasureStatus(old), ctx.lang) if old else "–"
            new = status_name(MeasureStatus(new), ctx.lang) if new else "–"
        elif key == "progress":
            old, new = f"{old} %", f"{new} %"
        parts.append(f"{label} {old or '–'} → {new or '–'}")
    reason = after.get("reason")
    if reason is None and after.get("note"):
        reason = ctx.t("common.quoted", note=after["note"])
    if entry.action == "import" and reason is None:
        reason = ctx.t(
            "status.history_import_origin",
            file=entry.origin_room or "?",
            row=entry.origin_message_id or "?",
        )
    action = ctx.t(_ACTION_NAMES[entry.action]) if entry.action in _ACTION_NAMES else entry.action
    text = ", ".join(parts) or action
    return f"{text} ({reason})" if reason else text
