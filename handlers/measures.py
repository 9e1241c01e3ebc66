"""Write commands on measures: neu, zuweisen, melden, erledigt, frist."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import select

from handlers.args import Args, Token, split_list
from handlers.context import Context, NotFound, Refused, UsageError, date_option
from handlers.core import Language, Reply, ShownVersion
from handlers.dates import take_date
from handlers.i18n import STATUS_WORDS, fmt_date, interval_name, status_name, t
from handlers.status import describe_change
from handlers.views import measure_line, person_name, quick_answers
from storage.intervals import DEFAULT_INTERVAL, parse_interval
from storage.lookup import Kind, Match
from storage.models import (
    AuditEntry,
    Department,
    Goal,
    Measure,
    MeasureStatus,
    OutboxEntry,
    Person,
    PlanningArea,
    Role,
    RoomLink,
    StatusReport,
)

NEW_OPTIONS = {
    "ziel": "goal",
    "goal": "goal",
    "ressort": "department",
    "department": "department",
    "dept": "department",
    "frist": "deadline",
    "deadline": "deadline",
    "due": "deadline",
    "verantwortlich": "responsible",
    "responsible": "responsible",
    "owner": "responsible",
    "beteiligt": "participants",
    "participants": "participants",
    "participating": "participants",
    "raum": "area",
    "planungsraum": "area",
    "area": "area",
    "stadtteil": "area",
    "intervall": "interval",
    "interval": "interval",
    "beschreibung": "description",
    "description": "description",
    "start": "start",
    "beginn": "start",
}
# The options of `neu` that name something, and what they name (several words allowed).
_NEW_REFERENCES = {
    "department": [Kind.DEPARTMENT],
    "goal": [Kind.GOAL],
    "responsible": [Kind.PERSON],
    "participants": [Kind.DEPARTMENT],
    "area": [Kind.AREA],
}
_PERCENT = re.compile(r"^(\d{1,3})%?$")
# What is meant as a percentage, good or bad: `70%`, `70`, `-5%`, `50,5%`, `NaN%`.
_PERCENT_LIKE = re.compile(r"^(?:[-+]?\d+(?:[.,]\d+)?%?|.*%)$")


def _span(tokens: list[Token]) -> tuple[str, int, int]:
    return " ".join(tok.text for tok in tokens), tokens[0].start, tokens[-1].end


def _resolve_token(ctx: Context, token: Token, kinds: list[Kind]) -> Match:
    return ctx.resolve(token.text, kinds, start=token.start, end=token.end)


# A status as it is typed in a command (`laufend`, `in_progress`), for the examples of a refusal.
_STATUS_TYPED = {
    MeasureStatus.PLANNED: "status_typed.planned",
    MeasureStatus.IN_PROGRESS: "status_typed.in_progress",
    MeasureStatus.DELAYED: "status_typed.delayed",
    MeasureStatus.AT_RISK: "status_typed.at_risk",
    MeasureStatus.DONE: "status_typed.done",
    MeasureStatus.CANCELLED: "status_typed.cancelled",
}


def deadline_option(ctx: Context, token: Token, args: Args | None = None) -> date:
    """`frist:` as `neu`, `frist` and `beschluss` read it: a date, and not in the past."""
    value = date_option(ctx, token, args)
    if value < ctx.today:
        raise UsageError(ctx.t("measures.deadline_in_past"))
    return value


def _lock_measure(ctx: Context, measure_id: int) -> Measure:
    """The measure as it is now, locked for this transaction (PostgreSQL row lock)."""
    measure = ctx.session.execute(
        select(Measure)
        .where(Measure.id == measure_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    return measure


def _check_version(ctx: Context, measure: Measure) -> None:
    """Refuse a change from a message that showed an older version, saying what changed."""
    shown = ctx.incoming.shown
    if shown is None or shown.measure_id != measure.id or shown.version == measure.version:
        return
    entries = (
        ctx.session.execute(
            select(AuditEntry)
            .where(
                AuditEntry.entity_kind == "measure",
                AuditEntry.entity_id == measure.id,
                AuditEntry.entity_version > shown.version,
            )
            .order_by(AuditEntry.id)
        )
        .scalars()
        .all()
    )
    lines = [
        t(ctx.lang, "conflict", measure=measure.ref, shown=shown.version, current=measure.version)
    ]
    for entry in entries[-5:]:
        who = entry.person.name if entry.person else entry.actor
        when = entry.at.astimezone(ctx.settings.timezone).strftime("%d.%m. %H:%M")
        lines.append(f"• {when} {who}: {describe_change(ctx, entry)}")
    lines.append(measure_line(measure, ctx.today, ctx.lang))
    raise Refused("\n".join(lines))


def _check_scope(ctx: Context, measure: Measure, *, lead_only: bool, what: str) -> None:
    """Department members act on measures of their department (PRODUCT.md §1 roles)."""
    person = ctx.person
    if person is None or person.role is Role.COORDINATION:
        return
    department_id = person.department_id
    if department_id == measure.lead_department_id:
        return
    participates = department_id is not None and any(
        d.id == department_id for d in measure.participants
    )
    if participates and not lead_only:
        return
    roles = ctx.t("measures.roles_lead") if lead_only else ctx.t("measures.roles_participating")
    department = person.department.key if person.department else "–"
    raise Refused(
        t(
            ctx.lang,
            # A participating department is part of the measure, just not its lead.
            "forbidden_lead" if participates else "forbidden_scope",
            what=what,
            department=department,
            measure=measure.ref,
            lead=measure.lead_department.key,
            roles=roles,
        )
    )


def _involve_responsible(ctx: Context, measure: Measure, person: Person) -> str | None:
    """The responsible person must be able to report (PRODUCT.md §1 roles): a reader is
    refused; a member of a department that neither leads nor takes part in the measure
    brings that department in as participating, and the returned line says so."""
    name = person_name(ctx.session, person)
    what = measure.ref if measure.id is not None else f"„{measure.title}“"
    if person.role is Role.READ:
        raise Refused(ctx.t("measures.responsible_reads_only", name=name, what=what))
    if not person.active:
        raise Refused(ctx.t("measures.responsible_deactivated", name=name, what=what))
    department = person.department
    if person.role is not Role.DEPARTMENT or department is None:
        return None
    if department is measure.lead_department or department in measure.participants:
        return None
    measure.participants.append(department)
    return ctx.t("measures.responsible_brings_department", department=department.label, name=name)


def _snapshot(measure: Measure) -> dict[str, Any]:
    return {
        "status": measure.status.value,
        "progress": measure.progress,
        "deadline": measure.deadline.isoformat() if measure.deadline else None,
        "responsible": measure.responsible.name if measure.responsible else None,
        "lead_department": measure.lead_department.key,
    }


def _bump(measure: Measure) -> None:
    measure.version += 1


# -- neu ----------------------------------------------------------------------------------


def new_measure(ctx: Context, args: Args) -> Reply:
    # Dates first: a date of several words (`frist:Ende März`) is not part of the title.
    dates = {
        key: (deadline_option if key == "deadline" else date_option)(ctx, args.options[key], args)
        for key in ("deadline", "start")
        if key in args.options
    }
    ctx.take_option_words(args, _NEW_REFERENCES, lists=("participants",))
    ctx.refuse_stray_words(args)
    if not args.words:
        raise UsageError(ctx.t("common.title_missing"))
    title, _s, _e = _span(args.words)
    if len(title) < 3:
        raise UsageError(ctx.t("common.title_too_short"))
    options = args.options
    department: Department | None = None
    if "department" in options:
        match = _resolve_token(ctx, options["department"], [Kind.DEPARTMENT])
        department = ctx.session.get(Department, match.id)
    elif ctx.room is not None and ctx.room.department is not None:
        department = ctx.room.department
    if department is None:
        raise UsageError(ctx.t("measures.lead_missing"))
    measure = Measure(
        title=title,
        lead_department=department,
        created_at=ctx.now,
        status=MeasureStatus.PLANNED,
        progress=0,
        version=1,
        evaluation_interval=DEFAULT_INTERVAL,
    )
    if "goal" in options:
        goal = ctx.session.get(Goal, _resolve_token(ctx, options["goal"], [Kind.GOAL]).id)
        measure.goal = goal
        if goal is not None and goal.evaluation_interval:
            measure.evaluation_interval = goal.evaluation_interval
    if "deadline" in options:
        measure.deadline = dates["deadline"]
    if "start" in options:
        measure.start = dates["start"]
    if "responsible" in options:
        person = ctx.session.get(
            Person, _resolve_token(ctx, options["responsible"], [Kind.PERSON]).id
        )
        measure.responsible = person
    if "participants" in options:
        for part in split_list(options["participants"]):
            match = _resolve_token(ctx, part, [Kind.DEPARTMENT])
            participant = ctx.session.get(Department, match.id)
            if (
                participant is not None
                and participant is not department
                and participant not in measure.participants
            ):
                measure.participants.append(participant)
    involved = (
        _involve_responsible(ctx, measure, measure.responsible)
        if measure.responsible is not None
        else None
    )
    if "interval" in options:
        interval = parse_interval(options["interval"].text)
        if interval is None:
            raise UsageError(ctx.t("common.interval_unknown"))
        measure.evaluation_interval = interval
    if "description" in options:
        measure.description = options["description"].text
    created_area = False
    if "area" in options:
        measure.planning_area, created_area = _planning_area(ctx, options["area"])
    ctx.session.add(measure)
    ctx.session.flush()
    ctx.audit(
        "create",
        "measure",
        measure.id,
        after=_snapshot(measure) | {"title": title},
        version=measure.version,
    )
    lines = [measure_line(measure, ctx.today, ctx.lang)]
    if created_area and measure.planning_area is not None:
        lines.append(ctx.t("measures.area_created", area=measure.planning_area.name))
    if involved is not None:
        lines.append(involved)
    if measure.responsible is not None:
        _notify_assignee(ctx, measure, measure.responsible)
        lines.append(ctx.t("measures.responsible_notified", responsible=measure.responsible.name))
    reply = Reply.text(*lines, heading=ctx.t("measures.created_heading", measure=measure.ref))
    reply.subject = ShownVersion(measure.id, measure.version)
    return reply


def _planning_area(ctx: Context, token: Token) -> tuple[PlanningArea, bool]:
    """An existing planning area, or a new one when nothing resembles the name."""
    try:
        match = _resolve_token(ctx, token, [Kind.AREA])
    except NotFound as missing:
        if missing.suggestions:
            raise
        created = PlanningArea(name=token.text.strip())
        ctx.session.add(created)
        return created, True
    existing = ctx.session.get(PlanningArea, match.id)
    assert existing is not None
    return existing, False


# -- zuweisen -----------------------------------------------------------------------------


def assign(ctx: Context, args: Args) -> Reply:
    words = args.words
    split = next(
        (i for i, w in enumerate(words) if w.text.casefold() in ("an", "to") and not w.quoted), None
    )
    if split is None or split == 0 or split == len(words) - 1:
        raise UsageError()
    measure_text, start, end = _span(words[:split])
    match = ctx.resolve(measure_text, [Kind.MEASURE], start=start, end=end)
    target_text, t_start, t_end = _span(words[split + 1 :])
    target = ctx.resolve(target_text, [Kind.PERSON, Kind.DEPARTMENT], start=t_start, end=t_end)
    measure = _lock_measure(ctx, match.id)
    _check_version(ctx, measure)
    before = _snapshot(measure)
    participants_before = [d.key for d in measure.participants]
    involved: str | None = None
    if target.kind is Kind.PERSON:
        person = ctx.session.get(Person, target.id)
        assert person is not None
        if measure.responsible_id == person.id:
            return Reply.text(
                ctx.t("measures.responsible_already", person=person.name, measure=measure.ref)
            )
        involved = _involve_responsible(ctx, measure, person)
        measure.responsible = person
        assignee = person_name(ctx.session, person)
    else:
        department = ctx.session.get(Department, target.id)
        assert department is not None
        if measure.lead_department_id == department.id:
            return Reply.text(
                ctx.t("measures.lead_already", department=department.label, measure=measure.ref)
            )
        if department in measure.participants:
            measure.participants.remove(department)
        measure.lead_department = department
        assignee = department.label
    _bump(measure)
    ctx.session.flush()
    after = _snapshot(measure)
    if involved is not None:
        before["participants"] = participants_before
        after["participants"] = [d.key for d in measure.participants]
    ctx.audit(
        "assign",
        "measure",
        measure.id,
        before=before,
        after=after,
        version=measure.version,
    )
    if target.kind is Kind.PERSON:
        assert measure.responsible is not None
        _notify_assignee(ctx, measure, measure.responsible)
        notice = ctx.t("measures.notice_on_its_way")
    else:
        notice = {
            "room": ctx.t("measures.notice_on_its_way"),
            "coordination": ctx.t("measures.notice_to_coordination"),
            None: ctx.t("measures.notice_nowhere"),
        }[_notify_department(ctx, measure, measure.lead_department)]
    lines = [measure_line(measure, ctx.today, ctx.lang), *([involved] if involved else []), notice]
    reply = Reply.text(
        *lines, heading=ctx.t("measures.assigned_heading", measure=measure.ref, assignee=assignee)
    )
    reply.subject = ShownVersion(measure.id, measure.version)
    return reply


def _assignment_text(
    ctx: Context, measure: Measure, lang: str, department: Department | None = None
) -> str:
    """The notice to the new responsible person, or to the new lead department's room."""
    language: Language = "en" if lang == "en" else "de"
    by = ctx.person.name if ctx.person else ctx.incoming.sender_address
    line = measure_line(measure, ctx.today, language)
    if department is not None:
        return t(
            language,
            "measures.assigned_department_notice",
            department=department.label,
            measure=measure.ref,
            by=by,
            line=line,
        )
    return t(language, "measures.assigned_notice", measure=measure.ref, by=by, line=line)


def _notify_assignee(ctx: Context, measure: Measure, person: Person) -> bool:
    """Leave the notice in the outbox, in this same transaction (sent by the deliverer)."""
    lang = person.language or ctx.settings.language
    ctx.session.add(
        OutboxEntry(
            key=f"assign:{measure.ref}:v{measure.version}:person:{person.id}",
            kind="assignment",
            person_id=person.id,
            measure_id=measure.id,
            text=_assignment_text(ctx, measure, lang),
            quick_answers=[
                qa.__dict__ for qa in quick_answers(measure, "en" if lang == "en" else "de", person)
            ],
            due_at=ctx.now,
            created_at=ctx.now,
            measure_version=measure.version,
        )
    )
    return True


def _notify_department(ctx: Context, measure: Measure, department: Department) -> str | None:
    """Leave the notice for the department's room (or the coordination room); says which."""
    rooms = (
        ctx.session.execute(
            select(RoomLink).where(RoomLink.department_id == department.id).order_by(RoomLink.id)
        )
        .scalars()
        .all()
    )
    if not rooms:
        # No room of its own: the coordination room hears of it (PRODUCT.md §3 fallback).
        rooms = list(
            ctx.session.execute(select(RoomLink).where(RoomLink.is_coordination.is_(True)))
            .scalars()
            .all()
        )
        if not rooms:
            return None
    # One notice addressed to the department's first room; delivery falls through the rest.
    room = rooms[0]
    lang = room.language or ctx.settings.language
    ctx.session.add(
        OutboxEntry(
            key=f"assign:{measure.ref}:v{measure.version}:department:{department.id}",
            kind="assignment",
            room_link_id=room.id,
            measure_id=measure.id,
            text=_assignment_text(ctx, measure, lang, department),
            due_at=ctx.now,
            created_at=ctx.now,
            measure_version=measure.version,
        )
    )
    return "coordination" if room.department_id != department.id else "room"


# -- melden / erledigt -------------------------------------------------------------------


def _note(ctx: Context, tokens: list[Token]) -> str | None:
    """The note as typed: `Träger „Kita Sonne“ sagt ab` keeps its quotes and spacing; a note
    that is quoted as a whole (`"Träger gefunden"`) loses only the outer quotes."""
    if not tokens:
        return None
    if len(tokens) == 1:
        return tokens[0].text.strip() or None
    # Token spans point into the command text as the dispatcher parsed it (stripped).
    typed = ctx.incoming.text.strip()[tokens[0].start : tokens[-1].end]
    return typed.strip() or None


def report(ctx: Context, args: Args) -> Reply:
    """`melden <maßnahme> [status] [NN%] [notiz]`: only the words right after the reference
    are read as status and percentage (PRODUCT.md §2); the rest is the note, verbatim."""
    if not args.words:
        raise UsageError()
    first = args.words[0]
    match = _resolve_token(ctx, first, [Kind.MEASURE])
    new_status, progress, used = read_status_and_progress(ctx, args.words[1:])
    note = _note(ctx, args.words[1 + used :])
    if new_status is None and progress is None and note is None:
        raise UsageError(ctx.t("measures.report_empty"))
    return _apply_report(ctx, match.id, new_status, progress, note, action="report")


def read_status_and_progress(
    ctx: Context, tokens: list[Token]
) -> tuple[MeasureStatus | None, int | None, int]:
    """A status and a percentage (either order) at the start of `tokens`, and how many
    tokens they took. A word meant as a percentage that is not a whole number 0–100 is an
    error, not a note."""
    new_status: MeasureStatus | None = None
    progress: int | None = None
    used = 0
    while used < len(tokens) and (new_status is None or progress is None):
        token = tokens[used]
        word = token.text.casefold()
        if token.quoted:
            break
        if new_status is None and word in STATUS_WORDS:
            new_status = STATUS_WORDS[word]
            used += 1
            continue
        if progress is not None or not _PERCENT_LIKE.match(word):
            break
        typed = token.text
        used += 1
        if used < len(tokens) and tokens[used].text == "%" and "%" not in word:
            typed, used = f"{typed} %", used + 1  # "70 %", typed with a space
        percent = _PERCENT.match(word)
        if percent is None or int(percent.group(1)) > 100:
            raise UsageError(ctx.t("measures.progress_invalid", typed=typed))
        progress = int(percent.group(1))
    return new_status, progress, used


def done(ctx: Context, args: Args) -> Reply:
    if not args.words:
        raise UsageError()
    match = _resolve_token(ctx, args.words[0], [Kind.MEASURE])
    note = _note(ctx, args.words[1:])
    return _apply_report(ctx, match.id, MeasureStatus.DONE, 100, note, action="done")


def _apply_report(
    ctx: Context,
    measure_id: int,
    new_status: MeasureStatus | None,
    progress: int | None,
    note: str | None,
    *,
    action: str,
) -> Reply:
    measure = _lock_measure(ctx, measure_id)
    done_now = new_status is MeasureStatus.DONE
    _check_scope(
        ctx,
        measure,
        lead_only=done_now,
        what=ctx.t("measures.scope_done", measure=measure.ref)
        if done_now
        else ctx.t("measures.scope_report", measure=measure.ref),
    )
    _check_version(ctx, measure)
    if action == "done" and measure.status is MeasureStatus.DONE:
        # A second „erledigt“ (a double tap on the button) changes nothing.
        return Reply.text(ctx.t("measures.done_already", measure=measure.ref))
    if (
        measure.status is MeasureStatus.DONE
        and new_status is not None
        and not new_status.is_closed
        and progress is None
        and measure.progress == 100
    ):
        # Reopened at 100 % it would read "laufend, 100 %": ask how far it really is.
        raise Refused(
            ctx.t(
                "measures.reopen_needs_progress",
                measure=measure.ref,
                status=ctx.t(_STATUS_TYPED[new_status]),
            )
        )
    if measure.status.is_closed and new_status is None and progress is not None:
        raise Refused(
            ctx.t(
                "measures.reopen_needs_status",
                measure=measure.ref,
                status=status_name(measure.status, ctx.lang),
            )
        )
    before = _snapshot(measure)
    old_status, old_progress = measure.status, measure.progress
    if new_status is not None:
        measure.status = new_status
    if new_status is MeasureStatus.DONE:
        measure.progress = 100
    elif progress is not None:
        # 100 % alone does not close a measure: only `erledigt` (or status erledigt) does.
        measure.progress = progress
    if measure.status is MeasureStatus.PLANNED and measure.progress > 0 and new_status is None:
        # Progress on a planned measure means work has started.
        measure.status = MeasureStatus.IN_PROGRESS
    measure.last_report_at = ctx.now
    _bump(measure)
    ctx.session.add(
        StatusReport(
            measure_id=measure.id,
            person_id=ctx.person.id if ctx.person else None,
            at=ctx.now,
            old_status=old_status.value,
            new_status=measure.status.value,
            old_progress=old_progress,
            new_progress=measure.progress,
            note=note,
            origin_platform=ctx.incoming.platform,
            origin_room=ctx.incoming.room_id,
            origin_message_id=ctx.incoming.message_id,
        )
    )
    ctx.session.flush()
    ctx.audit(
        action,
        "measure",
        measure.id,
        before=before,
        after=_snapshot(measure) | ({"note": note} if note else {}),
        version=measure.version,
    )
    heading = (
        ctx.t("measures.done_heading", measure=measure.ref)
        if measure.status is MeasureStatus.DONE and old_status is not MeasureStatus.DONE
        else ctx.t("measures.report_heading", measure=measure.ref)
    )
    lines = [measure_line(measure, ctx.today, ctx.lang)]
    if measure.progress < old_progress:
        # A drop is applied, and said, so that a typo (40 for 80) is seen at once.
        lines.append(ctx.t("measures.progress_dropped", old=old_progress, new=measure.progress))
    if note:
        lines.append(ctx.t("common.quoted", note=note))
    reply = Reply.text(*lines, heading=heading)
    reply.subject = ShownVersion(measure.id, measure.version)
    return reply


# -- frist --------------------------------------------------------------------------------


def deadline(ctx: Context, args: Args) -> Reply:
    if len(args.words) < 2:
        raise UsageError()
    match = _resolve_token(ctx, args.words[0], [Kind.MEASURE])
    rest = args.words[1:]
    found = take_date([w.text for w in rest], ctx.today)
    if found is None:
        raise UsageError(ctx.t("common.not_a_date", text=rest[0].text))
    new_deadline, used = found
    reason = " ".join(w.text for w in rest[used:]).strip()
    if not reason:
        raise UsageError(ctx.t("measures.deadline_needs_reason"))
    if new_deadline < ctx.today:
        raise UsageError(ctx.t("measures.new_deadline_in_past"))
    measure = _lock_measure(ctx, match.id)
    _check_version(ctx, measure)
    if measure.deadline == new_deadline:
        return Reply.text(
            ctx.t(
                "measures.deadline_unchanged",
                measure=measure.ref,
                date=fmt_date(new_deadline, ctx.lang),
            )
        )
    before = _snapshot(measure)
    old = measure.deadline
    measure.deadline = new_deadline
    _bump(measure)
    ctx.session.flush()
    ctx.audit(
        "deadline",
        "measure",
        measure.id,
        before=before,
        after=_snapshot(measure) | {"reason": reason},
        version=measure.version,
    )
    heading = ctx.t("measures.deadline_heading", measure=measure.ref)
    reply = Reply.text(
        f"{fmt_date(old, ctx.lang)} → {fmt_date(new_deadline, ctx.lang)} ({reason})",
        measure_line(measure, ctx.today, ctx.lang),
        heading=heading,
    )
    reply.subject = ShownVersion(measure.id, measure.version)
    return reply


# -- ändern -------------------------------------------------------------------------------

EDIT_OPTIONS = {
    "titel": "title",
    "title": "title",
    "beschreibung": "description",
    "description": "description",
    "ziel": "goal",
    "goal": "goal",
    "raum": "area",
    "planungsraum": "area",
    "stadtteil": "area",
    "area": "area",
    "intervall": "interval",
    "interval": "interval",
    "beginn": "start",
    "start": "start",
    "beteiligt": "participants",
    "participants": "participants",
    "participating": "participants",
    # Fields with a command of their own: recognised, to say which command changes them.
    "frist": "deadline",
    "deadline": "deadline",
    "ressort": "department",
    "department": "department",
    "verantwortlich": "responsible",
    "responsible": "responsible",
    "status": "status",
    "fortschritt": "status",
    "progress": "status",
}
# `ziel:-` and the like remove a goal, planning area, description or start.
_CLEAR = {"-", "–", "keins", "keine", "kein", "none"}


def edit(ctx: Context, args: Args) -> Reply:
    """`ändern <maßnahme> titel: beschreibung: ziel: raum: intervall: beginn:`."""
    if not args.words:
        raise UsageError()
    options = args.options
    elsewhere = {
        "deadline": ctx.t("measures.edit_deadline_command"),
        "department": ctx.t("measures.edit_department_command"),
        "responsible": ctx.t("measures.edit_responsible_command"),
        "status": ctx.t("measures.edit_status_command"),
    }
    for key, command in elsewhere.items():
        if key in options:
            raise UsageError(ctx.t("measures.edit_elsewhere", command=command))
    ctx.take_option_words(
        args,
        {"goal": [Kind.GOAL], "area": [Kind.AREA], "participants": [Kind.DEPARTMENT]},
        lists=("participants",),
    )
    if len(args.words) > 1:
        extra = " ".join(w.text for w in args.words[1:])
        raise UsageError(ctx.t("measures.edit_stray_words", extra=extra))
    if not options:
        raise UsageError(ctx.t("measures.edit_nothing"))
    match = _resolve_token(ctx, args.words[0], [Kind.MEASURE])
    # References and values first, so that a bad one leaves the measure as it was.
    changes: dict[str, Any] = {}
    if "title" in options:
        title = " ".join(options["title"].text.split())
        if len(title) < 3:
            raise UsageError(ctx.t("common.title_too_short"))
        changes["title"] = title
    if "description" in options:
        text = options["description"].text.strip()
        changes["description"] = None if text in _CLEAR else text
    if "goal" in options:
        token = options["goal"]
        changes["goal"] = (
            None
            if token.text.strip().casefold() in _CLEAR
            else ctx.session.get(Goal, _resolve_token(ctx, token, [Kind.GOAL]).id)
        )
    if "area" in options:
        token = options["area"]
        changes["area"] = (
            None if token.text.strip().casefold() in _CLEAR else _planning_area(ctx, token)
        )
    if "interval" in options:
        interval = parse_interval(options["interval"].text)
        if interval is None:
            raise UsageError(ctx.t("common.interval_unknown"))
        changes["interval"] = interval
    if "start" in options:
        token = options["start"]
        changes["start"] = (
            None if token.text.strip().casefold() in _CLEAR else date_option(ctx, token)
        )
    if "participants" in options:
        token = options["participants"]
        changes["participants"] = (
            []
            if token.text.strip().casefold() in _CLEAR
            else [
                ctx.session.get(Department, _resolve_token(ctx, part, [Kind.DEPARTMENT]).id)
                for part in split_list(token)
            ]
        )
    measure = _lock_measure(ctx, match.id)
    _check_version(ctx, measure)
    before = _edit_snapshot(measure)
    lines: list[str] = []
    created_area = None
    if "title" in changes:
        measure.title = changes["title"]
    if "description" in changes:
        measure.description = changes["description"]
    if "goal" in changes:
        measure.goal = changes["goal"]
    if "area" in changes:
        area = changes["area"]
        if area is None:
            measure.planning_area = None
        else:
            measure.planning_area, is_new = area
            created_area = measure.planning_area.name if is_new else None
    if "interval" in changes:
        measure.evaluation_interval = changes["interval"]
    if "start" in changes:
        measure.start = changes["start"]
    if "participants" in changes:
        # The lead is not a participant of its own measure; each department once.
        wanted = {d.id: d for d in changes["participants"] if d is not None}
        wanted.pop(measure.lead_department_id, None)
        measure.participants = sorted(wanted.values(), key=lambda d: d.key)
    after = _edit_snapshot(measure)
    changed = [key for key in after if after[key] != before[key]]
    if not changed:
        return Reply.text(ctx.t("measures.edit_unchanged", measure=measure.ref))
    _bump(measure)
    ctx.session.flush()
    ctx.audit(
        "edit",
        "measure",
        measure.id,
        before={k: before[k] for k in changed},
        after={k: after[k] for k in changed},
        version=measure.version,
    )
    for key in changed:
        label = ctx.t(_EDIT_LABELS[key])
        lines.append(f"{label}: {_shown(ctx, key, before[key])} → {_shown(ctx, key, after[key])}")
    if created_area is not None:
        lines.append(ctx.t("measures.area_created", area=created_area))
    lines.append(measure_line(measure, ctx.today, ctx.lang))
    reply = Reply.text(*lines, heading=ctx.t("measures.edited_heading", measure=measure.ref))
    reply.subject = ShownVersion(measure.id, measure.version)
    return reply


_EDIT_LABELS = {
    "title": "measures.edit_label_title",
    "description": "measures.edit_label_description",
    "goal": "measures.edit_label_goal",
    "planning_area": "measures.edit_label_planning_area",
    "evaluation_interval": "measures.edit_label_evaluation_interval",
    "start": "measures.edit_label_start",
    "participants": "measures.edit_label_participants",
}


def _edit_snapshot(measure: Measure) -> dict[str, Any]:
    """The fields `ändern` changes, as the audit keeps them (and the history shows them)."""
    return {
        "title": measure.title,
        "description": measure.description,
        "goal": measure.goal.ref if measure.goal else None,
        "planning_area": measure.planning_area.name if measure.planning_area else None,
        "evaluation_interval": measure.evaluation_interval,
        "start": measure.start.isoformat() if measure.start else None,
        "participants": ", ".join(d.key for d in measure.participants) or None,
    }


def _shown(ctx: Context, key: str, value: Any) -> str:
    if value is None:
        return "–"
    if key == "start":
        return fmt_date(date.fromisoformat(value), ctx.lang)
    if key == "evaluation_interval":
        return interval_name(value, ctx.lang)
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "…"
