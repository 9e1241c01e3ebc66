"""Steering-group meetings: sitzung, sitzung neu, sitzung verschieben, agenda, beschluss."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from handlers.args import Args, Token, split_list
from handlers.context import Context, Refused, UsageError
from handlers.core import Block, Language, Reply
from handlers.dates import take_date
from handlers.i18n import STATUS_WORDS, fmt_date, fmt_number, status_name
from handlers.measures import deadline_option
from handlers.ports import ReminderRules
from handlers.views import LIST_LIMIT, measure_line
from storage.intervals import parse_interval
from storage.lookup import Kind, clean_reference, id_shape
from storage.models import (
    Decision,
    Department,
    FollowUp,
    Goal,
    Indicator,
    IndicatorValue,
    Measure,
    MeasureStatus,
    Meeting,
    RoomLink,
)

MEETING_OPTIONS = {
    "raum": "room",
    "room": "room",
    "ressorts": "departments",
    "ressort": "departments",
    "departments": "departments",
    "department": "departments",
    "gremium": "body",
    "body": "body",
}
DECISION_OPTIONS = {
    "frist": "deadline",
    "deadline": "deadline",
    "status": "status",
    "intervall": "interval",
    "interval": "interval",
    "qualitätsziel": "quality",
    "qualitaetsziel": "quality",
    "quality": "quality",
    "änderung": "changes",
    "aenderung": "changes",
    "changes": "changes",
}
OPEN_STATUSES = tuple(s for s in MeasureStatus if not s.is_closed)
TROUBLED = (MeasureStatus.AT_RISK, MeasureStatus.DELAYED)
# Without a next meeting of the same body, "due before the next meeting" looks this far.
NEXT_MEETING_FALLBACK = timedelta(weeks=6)
_TIME = re.compile(r"^(\d{1,2})(?:[:.](\d{2}))?(?:\s*uhr)?$", re.IGNORECASE)
_WEEKDAYS = {
    "de": ("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}


def when(moment: datetime, rules: ReminderRules, lang: Language) -> str:
    """`Mi 09.12.2026 10:00` / `Wed 2026-12-09 10:00` in the municipality's time."""
    local = moment.astimezone(rules.zone)
    return f"{_WEEKDAYS[lang][local.weekday()]} {fmt_date(local.date(), lang)} {local:%H:%M}"


def decision_refs(meeting: Meeting) -> dict[int, str]:
    """`S-1/2`: a decision's number within its meeting, in the order they were recorded."""
    return {d.id: f"{meeting.ref}/{n}" for n, d in enumerate(meeting.decisions, start=1)}


# -- the generated agenda --------------------------------------------------------------------


@dataclass
class _Category:
    label: tuple[str, str]
    where: ColumnElement[bool]
    order: tuple[Any, ...]
    counts: dict[int, int] = field(default_factory=dict)
    top: dict[int, list[Measure]] = field(default_factory=lambda: defaultdict(list))


def next_meeting_day(session: Session, meeting: Meeting, rules: ReminderRules) -> date:
    """Until when "due before the next meeting" looks: the next meeting of the same body."""
    query = select(Meeting.starts_at).where(Meeting.starts_at > meeting.starts_at)
    if meeting.body:
        query = query.where(Meeting.body == meeting.body)
    following = session.execute(query.order_by(Meeting.starts_at).limit(1)).scalar()
    if following is not None:
        return following.astimezone(rules.zone).date()
    return meeting.starts_at.astimezone(rules.zone).date() + NEXT_MEETING_FALLBACK


def previous_meeting(session: Session, meeting: Meeting) -> Meeting | None:
    query = select(Meeting).where(Meeting.starts_at < meeting.starts_at)
    if meeting.body:
        same = session.execute(
            query.where(Meeting.body == meeting.body).order_by(Meeting.starts_at.desc()).limit(1)
        ).scalar()
        if same is not None:
            return same
    return session.execute(query.order_by(Meeting.starts_at.desc()).limit(1)).scalar()


def agenda_categories(today: date, horizon: date) -> list[_Category]:
    """The agenda's measure lists; each measure appears once, in the first list it fits."""
    overdue = Measure.deadline < today
    troubled = Measure.status.in_(TROUBLED)
    stale = Measure.evaluation_due_on < today
    open_ = Measure.status.in_(OPEN_STATUSES)
    return [
        _Category(("Überfällig", "Overdue"), open_ & overdue, (Measure.deadline, Measure.id)),
        _Category(
            ("Gefährdet oder verzögert", "At risk or delayed"),
            troubled & or_(Measure.deadline.is_(None), ~overdue),
            (Measure.status, Measure.deadline, Measure.id),
        ),
        _Category(
            ("Bericht überfällig", "Report overdue"),
            open_ & stale & ~troubled & or_(Measure.deadline.is_(None), ~overdue),
            (Measure.evaluation_due_on, Measure.id),
        ),
        _Category(
            (f"Fällig bis {fmt_date(horizon, 'de')}", f"Due by {fmt_date(horizon, 'en')}"),
            open_
            & Measure.deadline.between(today, horizon)
            & ~troubled
            & or_(Measure.evaluation_due_on.is_(None), ~stale),
            (Measure.deadline, Measure.id),
        ),
    ]


def _fill(session: Session, category: _Category, departments: list[int]) -> None:
    in_scope = and_(category.where, Measure.lead_department_id.in_(departments))
    category.counts = {
        department_id: int(count)
        for department_id, count in session.execute(
            select(Measure.lead_department_id, func.count())
            .where(in_scope)
            .group_by(Measure.lead_department_id)
        )
    }
    if not category.counts:
        return
    # The first LIST_LIMIT of each department in one query (a window function), not all.
    ranked = (
        select(
            Measure.id.label("id"),
            func.row_number()
            .over(partition_by=Measure.lead_department_id, order_by=category.order)
            .label("n"),
        )
        .where(in_scope)
        .subquery()
    )
    query: Select[tuple[Measure]] = (
        select(Measure)
        .join(ranked, ranked.c.id == Measure.id)
        .where(ranked.c.n <= LIST_LIMIT)
        .options(joinedload(Measure.lead_department))
        .order_by(Measure.lead_department_id, ranked.c.n)
    )
    for measure in session.execute(query).scalars():
        category.top[measure.lead_department_id].append(measure)


def _stale_suffix(measure: Measure, lang: Language) -> str:
    if measure.last_report_at is None:
        return " · " + ("noch kein Bericht" if lang == "de" else "no report yet")
    last = fmt_date(measure.last_report_at.date(), lang)
    return " · " + (f"letzter Bericht {last}" if lang == "de" else f"last report {last}")


def _indicator_line(indicator: Indicator, latest: IndicatorValue, lang: Language) -> str:
    target = ""
    if indicator.target_value is not None:
        value = fmt_number(indicator.target_value, lang)
        target = f", Ziel {value}" if lang == "de" else f", target {value}"
        if indicator.target_date is not None:
            target += f" ({indicator.target_date.year})"
    return (
        f"⚠️ {indicator.name}: {fmt_number(latest.value, lang)} {indicator.unit} "
        f"({fmt_date(latest.measured_on, lang)}){target}"
    )


def off_target_indicators(
    session: Session, departments: list[int] | None
) -> list[tuple[Indicator, IndicatorValue]]:
    """Indicators whose newest value is on the wrong side of the target, given the direction,
    for the goals the departments work on (all goals when no department is named)."""
    query = select(Indicator).options(joinedload(Indicator.goal)).order_by(Indicator.goal_id)
    if departments:
        goals = select(Measure.goal_id).where(
            Measure.lead_department_id.in_(departments), Measure.goal_id.is_not(None)
        )
        query = query.where(Indicator.goal_id.in_(goals))
    indicators = list(session.execute(query.order_by(Indicator.id)).scalars())
    if not indicators:
        return []
    newest = (
        select(IndicatorValue.indicator_id, func.max(IndicatorValue.measured_on).label("on"))
        .where(IndicatorValue.indicator_id.in_([i.id for i in indicators]))
        .group_by(IndicatorValue.indicator_id)
        .subquery()
    )
    latest = {
        value.indicator_id: value
        for value in session.execute(
            select(IndicatorValue).join(
                newest,
                and_(
                    newest.c.indicator_id == IndicatorValue.indicator_id,
                    newest.c.on == IndicatorValue.measured_on,
                ),
            )
        ).scalars()
    }
    return [
        (indicator, latest[indicator.id])
        for indicator in indicators
        if indicator.id in latest and indicator.is_off_target(latest[indicator.id].value)
    ]


def agenda_blocks(
    session: Session, meeting: Meeting, today: date, lang: Language, rules: ReminderRules
) -> list[Block]:
    """The generated agenda (PRODUCT.md §3): the previous meeting's decisions, then per
    department overdue, at risk or delayed, stale and soon-due measures, then off-target
    indicators."""

    def de_en(german: str, english: str) -> str:
        return german if lang == "de" else english

    horizon = next_meeting_day(session, meeting, rules)
    expected = [d.id for d in meeting.departments]
    query = select(Department).order_by(Department.key)
    if expected:
        query = query.where(Department.id.in_(expected))
    departments = list(session.execute(query).scalars())
    ids = [d.id for d in departments]
    categories = agenda_categories(today, horizon)
    for category in categories:
        _fill(session, category, ids)

    header = [meeting.title]
    if meeting.body and meeting.body not in meeting.title:
        header.insert(0, meeting.body)
    if expected:
        header.append(de_en("Ressorts: ", "Departments: ") + ", ".join(d.key for d in departments))
    blocks = [
        Block(
            tuple(header),
            de_en(
                f"📋 Tagesordnung {meeting.ref} — {when(meeting.starts_at, rules, lang)}",
                f"📋 Agenda {meeting.ref} — {when(meeting.starts_at, rules, lang)}",
            ),
        )
    ]
    item = 1
    previous = previous_meeting(session, meeting)
    if previous is not None:
        refs = decision_refs(previous)
        decided = [decision_line(d, refs[d.id], lang) for d in previous.decisions]
        blocks.append(
            Block(
                tuple(decided or [de_en("keine Beschlüsse", "no decisions")]),
                de_en(
                    f"TOP {item} Beschlüsse der letzten Sitzung ({previous.ref}, "
                    f"{fmt_date(previous.starts_at.astimezone(rules.zone).date(), lang)})",
                    f"Item {item} Decisions of the last meeting ({previous.ref}, "
                    f"{fmt_date(previous.starts_at.astimezone(rules.zone).date(), lang)})",
                ),
            )
        )
        item += 1
    for department in departments:
        lines: list[str] = []
        for category in categories:
            total = category.counts.get(department.id, 0)
            if not total:
                continue
            label = category.label[0 if lang == "de" else 1]
            lines.append(f"{label} ({total}):")
            for measure in category.top[department.id]:
                line = measure_line(measure, today, lang, lead=False)
                if category is categories[2]:
                    line += _stale_suffix(measure, lang)
                elif measure.responsible is not None:
                    line += f" · {measure.responsible.name}"
                lines.append(line)
            if total > LIST_LIMIT:
                more = total - LIST_LIMIT
                lines.append(
                    de_en(
                        f"… und {more} weitere: status {department.key}",
                        f"… and {more} more: status {department.key}",
                    )
                )
        if not lines and not expected:
            continue  # all departments: only those with something to discuss
        if not lines:
            lines.append(de_en("✔️ nichts Auffälliges", "✔️ nothing to discuss"))
        blocks.append(
            Block(tuple(lines), de_en(f"TOP {item} ", f"Item {item} ") + department.label)
        )
        item += 1
    indicators = off_target_indicators(session, ids if expected else None)
    if indicators:
        blocks.append(
            Block(
                tuple(_indicator_line(i, v, lang) for i, v in indicators),
                de_en(
                    f"TOP {item} Kennzahlen außerhalb des Ziels",
                    f"Item {item} Indicators off target",
                ),
            )
        )
    return blocks


def decision_line(decision: Decision, ref: str, lang: Language) -> str:
    done = decision.follow_up is FollowUp.DONE
    state = (
        ("umgesetzt" if lang == "de" else "done") if done else ("offen" if lang == "de" else "open")
    )
    refs = [m.ref for m in decision.measures] + [g.ref for g in decision.goals]
    about = f" ({', '.join(refs)})" if refs else ""
    return f"{'✅' if done else '⏳'} {ref} {decision.text} — {state}{about}"


# -- resolving meetings ------------------------------------------------------------------------


def _meetings() -> Select[tuple[Meeting]]:
    return select(Meeting).options(
        selectinload(Meeting.departments),
        joinedload(Meeting.room),
        selectinload(Meeting.decisions).selectinload(Decision.measures),
        selectinload(Meeting.decisions).selectinload(Decision.goals),
    )


def _meeting(ctx: Context, meeting_id: int) -> Meeting:
    return ctx.session.execute(_meetings().where(Meeting.id == meeting_id)).scalar_one()


def _resolve_meeting(ctx: Context, tokens: list[Token]) -> Meeting:
    text = " ".join(t.text for t in tokens)
    match = ctx.resolve(text, [Kind.MEETING], start=tokens[0].start, end=tokens[-1].end)
    return _meeting(ctx, match.id)


def _next_meeting(ctx: Context) -> Meeting | None:
    found = ctx.session.execute(
        select(Meeting.id)
        .where(Meeting.starts_at > ctx.now - timedelta(hours=4))
        .order_by(Meeting.starts_at)
        .limit(1)
    ).scalar()
    return _meeting(ctx, found) if found is not None else None


def _room_name(ctx: Context, room: RoomLink | None) -> str:
    if room is None:
        return ctx.de_en("Koordinationsraum", "coordination room")
    if room.department is not None:
        return room.department.label
    if room.is_coordination:
        return ctx.de_en("Koordinationsraum", "coordination room")
    return room.address


# -- sitzung --------------------------------------------------------------------------------


def meetings(ctx: Context, args: Args) -> Reply:
    """`sitzung`: the next meetings and the last one; `sitzung S-2`: one meeting."""
    if args.words:
        return _meeting_detail(ctx, _resolve_meeting(ctx, args.words))
    rules = ctx.settings.rules
    upcoming = list(
        ctx.session.execute(
            _meetings().where(Meeting.starts_at >= ctx.now).order_by(Meeting.starts_at).limit(6)
        ).scalars()
    )
    last = ctx.session.execute(
        _meetings().where(Meeting.starts_at < ctx.now).order_by(Meeting.starts_at.desc()).limit(1)
    ).scalar()
    lines = [
        f"📅 {m.ref} {when(m.starts_at, rules, ctx.lang)} {m.title}"
        + (f" ({', '.join(d.key for d in m.departments)})" if m.departments else "")
        for m in upcoming
    ]
    if not lines:
        lines.append(
            ctx.de_en(
                'Keine Sitzung geplant. Planen mit: sitzung neu <datum> <zeit> "<titel>"',
                'No meeting planned. Plan one with: meeting new <date> <time> "<title>"',
            )
        )
    reply = Reply.text(*lines, heading=ctx.de_en("Nächste Sitzungen", "Next meetings"))
    if last is not None:
        open_decisions = sum(d.follow_up is FollowUp.OPEN for d in last.decisions)
        reply.add(
            f"{last.ref} {when(last.starts_at, rules, ctx.lang)} {last.title} — "
            + ctx.de_en(
                f"{len(last.decisions)} Beschlüsse, {open_decisions} offen",
                f"{len(last.decisions)} decisions, {open_decisions} open",
            ),
            heading=ctx.de_en("Letzte Sitzung", "Last meeting"),
        )
    reply.add(ctx.de_en("Tagesordnung: agenda [sitzung]", "Agenda: agenda [meeting]"))
    return reply


def _reminder_plan(ctx: Context, meeting: Meeting, rules: ReminderRules) -> str:
    """When the departments will be asked to report and the agenda goes out."""
    cal = rules.calendar
    day = meeting.starts_at.astimezone(rules.zone).date()
    asks = [cal.working_days_before(day, n) for n in rules.meeting_days]
    agenda = cal.working_days_before(day, rules.agenda_days)
    future = [d for d in asks if d >= ctx.today]
    asked = ", ".join(fmt_date(d, ctx.lang) for d in future) or "–"
    return ctx.de_en(
        f"Erinnerungen an die Ressorts: {asked}; Tagesordnung: {fmt_date(agenda, 'de')}",
        f"Reminders to the departments: {asked}; agenda: {fmt_date(agenda, 'en')}",
    )


def _meeting_detail(ctx: Context, meeting: Meeting) -> Reply:
    rules = ctx.settings.rules
    lines = [meeting.title]
    if meeting.body:
        lines.append(ctx.de_en("Gremium: ", "Body: ") + meeting.body)
    lines.append(ctx.de_en("Raum: ", "Room: ") + _room_name(ctx, meeting.room))
    if meeting.departments:
        lines.append(
            ctx.de_en("Ressorts: ", "Departments: ") + ", ".join(d.key for d in meeting.departments)
        )
    if meeting.starts_at > ctx.now:
        lines.append(_reminder_plan(ctx, meeting, rules))
    reply = Reply.text(
        *lines, heading=f"📅 {meeting.ref} {when(meeting.starts_at, rules, ctx.lang)}"
    )
    if meeting.decisions:
        refs = decision_refs(meeting)
        reply.add(
            *[decision_line(d, refs[d.id], ctx.lang) for d in meeting.decisions],
            heading=ctx.de_en("Beschlüsse", "Decisions"),
        )
    return reply


def _parse_time(text: str) -> time | None:
    found = _TIME.match(text.strip())
    if not found:
        return None
    hours, minutes = int(found.group(1)), int(found.group(2) or 0)
    if hours > 23 or minutes > 59:
        return None
    return time(hours, minutes)


def _take_when(ctx: Context, words: list[Token]) -> tuple[datetime, int]:
    """A date and a time at the start of `words`; returns the moment and the words used."""
    found = take_date([w.text for w in words], ctx.today)
    if found is None:
        raise UsageError(
            ctx.de_en(
                f"„{words[0].text if words else ''}“ ist kein Datum, das ich verstehe.",
                f"“{words[0].text if words else ''}” is not a date I understand.",
            )
        )
    day, used = found
    if used >= len(words) or (at := _parse_time(words[used].text)) is None:
        raise UsageError(
            ctx.de_en(
                "Bitte die Uhrzeit angeben, z. B. 10:00.", "Please give the time, e.g. 10:00."
            )
        )
    used += 1
    if used < len(words) and words[used].text.casefold() in ("uhr", "h"):
        used += 1
    moment = datetime.combine(day, at, tzinfo=ctx.settings.timezone)
    return moment, used


def _meeting_room(ctx: Context, token: Token) -> RoomLink:
    """`raum:hier` (this room) or a department (its room)."""
    if token.text.casefold() in ("hier", "here", "dieser", "this"):
        if ctx.room is not None:
            return ctx.room
        from handlers.admin import room_link

        return room_link(ctx, ctx.incoming.platform, ctx.incoming.room_id)
    match = ctx.resolve(token.text, [Kind.DEPARTMENT], start=token.start, end=token.end)
    room = ctx.session.execute(
        select(RoomLink).where(RoomLink.department_id == match.id).order_by(RoomLink.id).limit(1)
    ).scalar()
    if room is None:
        raise Refused(
            ctx.de_en(
                f"{match.label} hat keinen verknüpften Raum; raum:hier nimmt diesen Raum.",
                f"{match.label} has no linked room; room:here takes this room.",
            )
        )
    return room


def _departments(ctx: Context, token: Token) -> list[Department]:
    found: list[Department] = []
    for part in split_list(token):
        match = ctx.resolve(part.text, [Kind.DEPARTMENT], start=part.start, end=part.end)
        department = ctx.session.get(Department, match.id)
        if department is not None and department not in found:
            found.append(department)
    return sorted(found, key=lambda d: d.key)


def new_meeting(ctx: Context, args: Args) -> Reply:
    """`sitzung neu <datum> <zeit> "<titel>" [raum:] [ressorts:] [gremium:]`."""
    ctx.take_option_words(
        args, {"room": [Kind.DEPARTMENT], "departments": [Kind.DEPARTMENT]}, lists=("departments",)
    )
    if len(args.words) < 3:
        raise UsageError()
    starts_at, used = _take_when(ctx, args.words)
    if starts_at <= ctx.now:
        raise UsageError(
            ctx.de_en("Die Sitzung liegt in der Vergangenheit.", "The meeting is in the past.")
        )
    title = " ".join(w.text for w in args.words[used:]).strip()
    if not title:
        raise UsageError(ctx.de_en("Der Titel fehlt.", "The title is missing."))
    if len(title) < 3:
        raise UsageError(ctx.de_en("Der Titel ist zu kurz.", "The title is too short."))
    options = args.options
    meeting = Meeting(title=title, starts_at=starts_at, body=None)
    if "body" in options:
        meeting.body = options["body"].text
    if "room" in options:
        meeting.room = _meeting_room(ctx, options["room"])
    if "departments" in options:
        meeting.departments = _departments(ctx, options["departments"])
    ctx.session.add(meeting)
    ctx.session.flush()
    ctx.audit(
        "create",
        "meeting",
        meeting.id,
        after={
            "title": title,
            "starts_at": starts_at.isoformat(),
            "room": meeting.room.address if meeting.room else None,
            "departments": [d.key for d in meeting.departments],
        },
    )
    rules = ctx.settings.rules
    lines = [
        title,
        ctx.de_en("Raum: ", "Room: ") + _room_name(ctx, meeting.room),
    ]
    if meeting.departments:
        lines.append(
            ctx.de_en("Ressorts: ", "Departments: ") + ", ".join(d.key for d in meeting.departments)
        )
    lines.append(_reminder_plan(ctx, meeting, rules))
    return Reply.text(
        *lines,
        heading=ctx.de_en(
            f"Geplant: {meeting.ref} {when(starts_at, rules, 'de')}",
            f"Planned: {meeting.ref} {when(starts_at, rules, 'en')}",
        ),
    )


def move_meeting(ctx: Context, args: Args) -> Reply:
    """`sitzung verschieben <sitzung> <datum> <zeit>`: the reminders follow by themselves."""
    if len(args.words) < 3:
        raise UsageError()
    match = ctx.resolve(
        args.words[0].text, [Kind.MEETING], start=args.words[0].start, end=args.words[0].end
    )
    meeting = _meeting(ctx, match.id)
    starts_at, used = _take_when(ctx, args.words[1:])
    if used + 1 < len(args.words):
        raise UsageError()
    if starts_at <= ctx.now:
        raise UsageError(
            ctx.de_en("Der neue Termin liegt in der Vergangenheit.", "The new time is in the past.")
        )
    before = meeting.starts_at
    meeting.starts_at = starts_at
    ctx.session.flush()
    ctx.audit(
        "move",
        "meeting",
        meeting.id,
        before={"starts_at": before.isoformat()},
        after={"starts_at": starts_at.isoformat()},
    )
    rules = ctx.settings.rules
    return Reply.text(
        f"{when(before, rules, ctx.lang)} → {when(starts_at, rules, ctx.lang)}",
        _reminder_plan(ctx, meeting, rules),
        heading=ctx.de_en(f"Verschoben: {meeting.ref}", f"Moved: {meeting.ref}"),
    )


# -- agenda ---------------------------------------------------------------------------------


def agenda(ctx: Context, args: Args) -> Reply:
    """`agenda [sitzung]`: the generated agenda of the next (or the given) meeting."""
    meeting = _resolve_meeting(ctx, args.words) if args.words else _next_meeting(ctx)
    if meeting is None:
        return Reply.text(
            ctx.de_en(
                'Keine Sitzung geplant. Planen mit: sitzung neu <datum> <zeit> "<titel>"',
                'No meeting planned. Plan one with: meeting new <date> <time> "<title>"',
            )
        )
    rules = ctx.settings.rules
    return Reply(blocks=agenda_blocks(ctx.session, meeting, ctx.today, ctx.lang, rules))


# -- beschluss ------------------------------------------------------------------------------


def _measure_snapshot(measure: Measure) -> dict[str, Any]:
    return {
        "status": measure.status.value,
        "progress": measure.progress,
        "deadline": measure.deadline.isoformat() if measure.deadline else None,
        "evaluation_interval": measure.evaluation_interval,
    }


def decision(ctx: Context, args: Args) -> Reply:
    """`beschluss <sitzung> "<text>" [bezug…] [frist:] [status:] [intervall:] [qualitätsziel:]`.

    The references say what the decision is about; the options are the changes it makes to
    them, applied and audited together with the decision (or not at all).
    """
    words = args.words
    if len(words) < 2:
        raise UsageError()
    match = ctx.resolve(words[0].text, [Kind.MEETING], start=words[0].start, end=words[0].end)
    meeting = _meeting(ctx, match.id)
    rest = words[1:]
    quoted = next((i for i, w in enumerate(rest) if w.quoted), None)
    if quoted is not None:
        text, references = rest[quoted].text, rest[:quoted] + rest[quoted + 1 :]
    else:
        # Unquoted: the text runs up to the first word that is an id (M-12, Z-3).
        split = next((i for i, w in enumerate(rest) if id_shape(w.text) is not None), len(rest))
        text, references = " ".join(w.text for w in rest[:split]), rest[split:]
    if len(text.strip()) < 3:
        raise UsageError(ctx.de_en("Der Beschlusstext fehlt.", "The decision text is missing."))
    measures: list[Measure] = []
    goals: list[Goal] = []
    for token in references:
        found = ctx.resolve(token.text, [Kind.MEASURE, Kind.GOAL], start=token.start, end=token.end)
        if found.kind is Kind.MEASURE:
            measure = ctx.session.execute(
                select(Measure).where(Measure.id == found.id).with_for_update()
            ).scalar_one()
            if measure not in measures:
                measures.append(measure)
        else:
            goal = ctx.session.get(Goal, found.id)
            if goal is not None and goal not in goals:
                goals.append(goal)
    changes = _apply_decision_options(ctx, args, measures, goals, meeting)
    entry = Decision(
        meeting=meeting,
        text=text.strip(),
        resulting_changes="; ".join(changes) or None,
        follow_up=FollowUp.OPEN,
        created_at=ctx.now,
        measures=measures,
        goals=goals,
    )
    ctx.session.add(entry)
    ctx.session.flush()
    ref = decision_refs(meeting)[entry.id]
    ctx.audit(
        "decision",
        "meeting",
        meeting.id,
        after={
            "decision": ref,
            "text": entry.text,
            "measures": [m.ref for m in measures],
            "goals": [g.ref for g in goals],
            "changes": changes,
        },
    )
    lines = [f"⏳ {ref} {entry.text}"]
    if measures or goals:
        lines.append(
            ctx.de_en("Betrifft: ", "Concerns: ")
            + ", ".join([m.ref for m in measures] + [g.ref for g in goals])
        )
    if changes:
        lines.append(ctx.de_en("Änderungen: ", "Changes: ") + "; ".join(changes))
    lines.append(
        ctx.de_en(
            f"Erscheint mit seinem Umsetzungsstand auf der nächsten Tagesordnung; "
            f"umgesetzt: beschluss umgesetzt {ref}",
            f"Shown with its follow-up state on the next agenda; done: decision done {ref}",
        )
    )
    return Reply.text(
        *lines, heading=ctx.de_en(f"Beschluss {meeting.ref}", f"Decision {meeting.ref}")
    )


def _apply_decision_options(
    ctx: Context, args: Args, measures: list[Measure], goals: list[Goal], meeting: Meeting
) -> list[str]:
    options = args.options
    changes: list[str] = []
    wanted = {k for k in ("deadline", "status", "interval") if k in options}
    if wanted and not measures:
        raise UsageError(
            ctx.de_en(
                "frist:, status: und intervall: ändern Maßnahmen — bitte die Maßnahme nennen "
                "(z. B. M-6).",
                "deadline:, status: and interval: change measures — please name the measure "
                "(e.g. M-6).",
            )
        )
    if "quality" in options and not goals:
        raise UsageError(
            ctx.de_en(
                "qualitätsziel: ändert ein Ziel — bitte das Ziel nennen (z. B. Z-8).",
                "quality: changes a goal — please name the goal (e.g. Z-8).",
            )
        )
    new_deadline = None
    if "deadline" in options:
        # The rules of `frist`: any date form of §2, and never in the past.
        new_deadline = deadline_option(ctx, options["deadline"])
    new_status = None
    if "status" in options:
        new_status = STATUS_WORDS.get(options["status"].text.casefold())
        if new_status is None:
            raise UsageError(
                ctx.de_en(
                    "Status: geplant, laufend, verzögert, gefährdet, erledigt, abgebrochen.",
                    "Status: planned, in_progress, delayed, at_risk, done, cancelled.",
                )
            )
    new_interval = None
    if "interval" in options:
        new_interval = parse_interval(options["interval"].text)
        if new_interval is None:
            raise UsageError(
                ctx.de_en(
                    "Intervall: monatlich, quartalsweise, halbjährlich, jährlich oder „6 Wochen“.",
                    "Interval: monthly, quarterly, half-yearly, yearly or “6 weeks”.",
                )
            )
    reason = ctx.de_en(f"Beschluss {meeting.ref}", f"decision {meeting.ref}")
    for measure in measures:
        before = _measure_snapshot(measure)
        parts: list[str] = []
        if new_deadline is not None and measure.deadline != new_deadline:
            parts.append(
                ctx.de_en("Frist ", "deadline ")
                + f"{fmt_date(measure.deadline, ctx.lang)} → {fmt_date(new_deadline, ctx.lang)}"
            )
            measure.deadline = new_deadline
        if new_status is not None and measure.status is not new_status:
            parts.append(
                f"{status_name(measure.status, ctx.lang)} → {status_name(new_status, ctx.lang)}"
            )
            measure.status = new_status
            if new_status is MeasureStatus.DONE:
                measure.progress = 100
        if new_interval is not None and measure.evaluation_interval != new_interval:
            parts.append(ctx.de_en("Intervall ", "interval ") + new_interval)
            measure.evaluation_interval = new_interval
        if not parts:
            continue
        measure.version += 1
        ctx.session.flush()
        ctx.audit(
            "decision",
            "measure",
            measure.id,
            before=before,
            after=_measure_snapshot(measure) | {"reason": reason},
            version=measure.version,
        )
        changes.append(f"{measure.ref}: " + ", ".join(parts))
    if "quality" in options:
        for goal in goals:
            before_text = goal.quality_target
            goal.quality_target = options["quality"].text
            ctx.audit(
                "decision",
                "goal",
                goal.id,
                before={"quality_target": before_text},
                after={"quality_target": goal.quality_target, "reason": reason},
            )
            changes.append(f"{goal.ref}: " + ctx.de_en("Qualitätsziel neu", "new quality target"))
    return changes


def decision_done(ctx: Context, args: Args) -> Reply:
    """`beschluss umgesetzt S-1/2`: the follow-up of a decision is done."""
    if not args.words:
        raise UsageError()
    text = args.words[0].text
    # The meeting's id as every id is read (look-alikes normalised), then the number.
    meeting_ref, _slash, number_text = clean_reference(text).rpartition("/")
    if id_shape(meeting_ref) is None or not number_text.isdigit():
        raise UsageError(
            ctx.de_en(
                f"„{text}“ ist keine Beschlussnummer wie S-1/2.",
                f"“{text}” is not a decision number like S-1/2.",
            )
        )
    match = ctx.resolve(meeting_ref, [Kind.MEETING])
    meeting = _meeting(ctx, match.id)
    number = int(number_text)
    if not 1 <= number <= len(meeting.decisions):
        raise Refused(
            ctx.de_en(
                f"{meeting.ref} hat {len(meeting.decisions)} Beschlüsse.",
                f"{meeting.ref} has {len(meeting.decisions)} decisions.",
            )
        )
    entry = meeting.decisions[number - 1]
    ref = f"{meeting.ref}/{number}"
    if entry.follow_up is FollowUp.DONE:
        return Reply.text(ctx.de_en(f"{ref} ist bereits umgesetzt.", f"{ref} is already done."))
    entry.follow_up = FollowUp.DONE
    ctx.audit(
        "follow_up",
        "meeting",
        meeting.id,
        before={"decision": ref, "follow_up": FollowUp.OPEN.value},
        after={"decision": ref, "follow_up": FollowUp.DONE.value},
    )
    return Reply.text(
        decision_line(entry, ref, ctx.lang),
        heading=ctx.de_en("Beschluss umgesetzt", "Decision done"),
    )
