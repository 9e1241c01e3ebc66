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
from handlers.i18n import STATUS_WORDS, fmt_date, fmt_number, plural, status_name, t
from handlers.measures import deadline_option
from handlers.monitoring import (
    EvaluationState,
    IndicatorTrack,
    evaluation_states,
    indicator_tracks,
)
from handlers.ports import ReminderRules
from handlers.views import LIST_LIMIT, measure_line
from storage.intervals import parse_interval
from storage.lookup import Kind, clean_reference, id_shape
from storage.models import (
    Decision,
    Department,
    FollowUp,
    Goal,
    Measure,
    MeasureStatus,
    Meeting,
    MeetingRecord,
    RoomLink,
    Verdict,
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
_WEEKDAYS = (
    "weekdays.mon",
    "weekdays.tue",
    "weekdays.wed",
    "weekdays.thu",
    "weekdays.fri",
    "weekdays.sat",
    "weekdays.sun",
)


def when(moment: datetime, rules: ReminderRules, lang: Language) -> str:
    """`Mi 09.12.2026 10:00` / `Wed 2026-12-09 10:00` in the municipality's time."""
    local = moment.astimezone(rules.zone)
    return f"{t(lang, _WEEKDAYS[local.weekday()])} {fmt_date(local.date(), lang)} {local:%H:%M}"


def decision_refs(meeting: Meeting) -> dict[int, str]:
    """`S-1/2`: a decision's number within its meeting, in the order they were recorded."""
    return {d.id: f"{meeting.ref}/{n}" for n, d in enumerate(meeting.decisions, start=1)}


# -- the generated agenda --------------------------------------------------------------------


@dataclass
class _Category:
    label: str  # the catalogue key; `{date}` is the category's date, if any
    where: ColumnElement[bool]
    order: tuple[Any, ...]
    counts: dict[int, int] = field(default_factory=dict)
    top: dict[int, list[Measure]] = field(default_factory=lambda: defaultdict(list))
    day: date | None = None

    def name(self, lang: Language) -> str:
        return t(lang, self.label, date=fmt_date(self.day, lang))


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


def agenda_categories(today: date, horizon: date, as_of: datetime | None = None) -> list[_Category]:
    """The agenda's measure lists; each measure appears once, in the first list it fits.

    `as_of`: the agenda as it was then (a meeting's start): measures created later are left
    out, and `today` is that day, so later deadlines passing do not count as overdue."""
    overdue = Measure.deadline < today
    troubled = Measure.status.in_(TROUBLED)
    stale = Measure.evaluation_due_on < today
    open_ = Measure.status.in_(OPEN_STATUSES)
    categories = [
        _Category("meetings.category_overdue", open_ & overdue, (Measure.deadline, Measure.id)),
        _Category(
            "meetings.category_troubled",
            troubled & or_(Measure.deadline.is_(None), ~overdue),
            (Measure.status, Measure.deadline, Measure.id),
        ),
        _Category(
            "meetings.category_stale",
            open_ & stale & ~troubled & or_(Measure.deadline.is_(None), ~overdue),
            (Measure.evaluation_due_on, Measure.id),
        ),
        _Category(
            "meetings.category_due",
            open_
            & Measure.deadline.between(today, horizon)
            & ~troubled
            & or_(Measure.evaluation_due_on.is_(None), ~stale),
            (Measure.deadline, Measure.id),
            day=horizon,
        ),
    ]
    if as_of is not None:
        for category in categories:
            category.where = category.where & (Measure.created_at <= as_of)
    return categories


FACT_NAMES = ("overdue", "troubled", "stale", "due")


def agenda_facts(
    session: Session,
    meeting: Meeting,
    today: date,
    rules: ReminderRules,
    as_of: datetime | None = None,
) -> dict[str, Any]:
    """What an agenda lists, as measure ids (no cut at LIST_LIMIT), and the open measures in
    its scope: what the next meeting's agenda compares against (a MeetingRecord's facts)."""
    horizon = next_meeting_day(session, meeting, rules)
    departments = [d.id for d in meeting.departments]
    facts: dict[str, Any] = {
        "today": today.isoformat(),
        "departments": departments or None,
    }
    scope: list[ColumnElement[bool]] = []
    if departments:
        scope.append(Measure.lead_department_id.in_(departments))
    if as_of is not None:
        scope.append(Measure.created_at <= as_of)
    for name, category in zip(FACT_NAMES, agenda_categories(today, horizon, as_of), strict=True):
        ids = session.execute(
            select(Measure.id).where(category.where, *scope).order_by(Measure.id)
        ).scalars()
        facts[name] = list(ids)
    opened = session.execute(
        select(Measure.id).where(Measure.status.in_(OPEN_STATUSES), *scope).order_by(Measure.id)
    ).scalars()
    facts["open"] = list(opened)
    facts["counts"] = {name: len(facts[name]) for name in (*FACT_NAMES, "open")}
    return facts


def previous_facts(session: Session, meeting: Meeting) -> tuple[Meeting, dict[str, Any]] | None:
    """The previous meeting and the facts of its frozen record, if it has one."""
    previous = previous_meeting(session, meeting)
    if previous is None:
        return None
    facts = session.execute(
        select(MeetingRecord.facts).where(MeetingRecord.meeting_id == previous.id)
    ).scalar()
    return (previous, facts) if facts is not None else None


def since_last_line(
    session: Session,
    meeting: Meeting,
    today: date,
    lang: Language,
    rules: ReminderRules,
    as_of: datetime | None = None,
) -> str | None:
    """ "Seit der letzten Sitzung (S-1, 04.11.2026): 3 neu überfällig, 2 erledigt": against
    the previous meeting's frozen record (None without one)."""
    found = previous_facts(session, meeting)
    if found is None:
        return None
    previous, before = found
    now = agenda_facts(session, meeting, today, rules, as_of)
    scope = before.get("departments")
    overdue_before = set(before.get("overdue", []))
    new_overdue = [i for i in now["overdue"] if i not in overdue_before]
    if scope and new_overdue:
        new_overdue = list(
            session.execute(
                select(Measure.id).where(
                    Measure.id.in_(new_overdue), Measure.lead_department_id.in_(scope)
                )
            ).scalars()
        )
    opened = list(before.get("open", []))
    done = 0
    if opened:
        done = int(
            session.execute(
                select(func.count())
                .select_from(Measure)
                .where(Measure.id.in_(opened), Measure.status == MeasureStatus.DONE)
            ).scalar_one()
        )
    return t(
        lang,
        "meetings.since_last",
        previous=previous.ref,
        date=fmt_date(previous.starts_at.astimezone(rules.zone).date(), lang),
        overdue=plural(lang, "meetings.since_last_overdue", len(new_overdue)),
        done=plural(lang, "meetings.since_last_done", done),
    )


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
        return " · " + t(lang, "common.no_report_yet")
    return " · " + t(lang, "common.last_report", date=fmt_date(measure.last_report_at.date(), lang))


def _indicator_line(track: IndicatorTrack, lang: Language) -> str:
    latest = track.latest
    assert latest is not None  # off the path means there is a value
    expected = track.expected
    target = fmt_number(track.target_value, lang) if track.target_value is not None else "–"
    if track.target_date is not None:
        target += f" ({track.target_date.year})"
    return t(
        lang,
        "meetings.indicator_off_track",
        marker=track.marker,
        indicator=track.ref,
        name=track.name,
        value=fmt_number(latest.value, lang),
        unit=track.unit,
        date=fmt_date(latest.on, lang),
        expected=fmt_number(track.rounded(expected), lang) if expected is not None else "–",
        target=target,
    )


def _scope_goals(session: Session, departments: list[int] | None) -> list[int] | None:
    """The goals the departments work on (lead); None: all goals."""
    if not departments:
        return None
    found = session.execute(
        select(Measure.goal_id)
        .where(Measure.lead_department_id.in_(departments), Measure.goal_id.is_not(None))
        .distinct()
    ).scalars()
    return [goal_id for goal_id in found if goal_id is not None]


def off_track_indicators(session: Session, departments: list[int] | None) -> list[IndicatorTrack]:
    """Indicators whose latest value is behind the path from baseline to target
    (monitoring.indicator_tracks), for the goals the departments work on (all without)."""
    goals = _scope_goals(session, departments)
    if goals is not None and not goals:
        return []
    return [t for t in indicator_tracks(session, goal_ids=goals) if t.on_track is False]


def goals_to_correct(
    session: Session, departments: list[int] | None, today: date
) -> list[EvaluationState]:
    """Goals evaluated "teilweise" or "nicht" (latest evaluation) and goals whose evaluation
    is overdue, by goal id: the steering group corrects them by `beschluss`."""
    goals = _scope_goals(session, departments)
    if goals is not None and not goals:
        return []
    states = evaluation_states(session, goals)
    return [s for s in states.values() if s.needs_correction or s.is_due(today)]


_VERDICT_LINES = {
    Verdict.PARTLY: "meetings.goal_partly",
    Verdict.NOT_MET: "meetings.goal_not_met",
}


def _goal_line(state: EvaluationState, today: date, lang: Language) -> str:
    # The verdict with its note, then whether the next evaluation is overdue: the note
    # belongs to the verdict, not to the due date.
    parts: list[str] = []
    if state.needs_correction and state.verdict is not None:
        verdict = t(
            lang,
            _VERDICT_LINES[state.verdict],
            date=fmt_date(state.evaluated_on, lang),
        )
        if state.note:
            verdict += t(lang, "meetings.goal_note", note=state.note)
        parts.append(verdict)
    if state.is_due(today):
        parts.append(t(lang, "meetings.goal_evaluation_due", date=fmt_date(state.due_on, lang)))
    line = f"{'🔴' if state.verdict is Verdict.NOT_MET else '🟡'} {state.goal_ref} "
    return line + f"{state.goal_title} — " + "; ".join(parts)


def agenda_blocks(
    session: Session,
    meeting: Meeting,
    today: date,
    lang: Language,
    rules: ReminderRules,
    *,
    as_of: datetime | None = None,
) -> list[Block]:
    """The generated agenda (PRODUCT.md §3): what changed since the previous meeting's record,
    the previous meeting's decisions, then per department overdue, at risk or delayed, stale
    and soon-due measures, then goals to correct (evaluations) and indicators off track.

    `as_of` (a meeting's start): the agenda as it was then; measures created later are left
    out (`today` should be that moment's day)."""

    horizon = next_meeting_day(session, meeting, rules)
    expected = [d.id for d in meeting.departments]
    query = select(Department).order_by(Department.key)
    if expected:
        query = query.where(Department.id.in_(expected))
    departments = list(session.execute(query).scalars())
    ids = [d.id for d in departments]
    categories = agenda_categories(today, horizon, as_of)
    for category in categories:
        _fill(session, category, ids)

    header = [meeting.title]
    if meeting.body and meeting.body not in meeting.title:
        header.insert(0, meeting.body)
    if expected:
        header.append(
            t(lang, "meetings.departments", departments=", ".join(d.key for d in departments))
        )
    since = since_last_line(session, meeting, today, lang, rules, as_of)
    if since is not None:
        header.append(since)
    blocks = [
        Block(
            tuple(header),
            t(
                lang,
                "meetings.agenda_heading",
                meeting=meeting.ref,
                starts_at=when(meeting.starts_at, rules, lang),
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
                tuple(decided or [t(lang, "meetings.agenda_no_decisions")]),
                t(
                    lang,
                    "meetings.agenda_previous_decisions",
                    item=item,
                    previous=previous.ref,
                    date=fmt_date(previous.starts_at.astimezone(rules.zone).date(), lang),
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
            lines.append(f"{category.name(lang)} ({total}):")
            for measure in category.top[department.id]:
                line = measure_line(measure, today, lang, lead=False)
                if category is categories[2]:
                    line += _stale_suffix(measure, lang)
                elif measure.responsible is not None:
                    line += f" · {measure.responsible.name}"
                lines.append(line)
            if total > LIST_LIMIT:
                more = total - LIST_LIMIT
                lines.append(t(lang, "meetings.agenda_more", n=more, department=department.key))
        if not lines and not expected:
            continue  # all departments: only those with something to discuss
        if not lines:
            lines.append(t(lang, "meetings.agenda_nothing"))
        blocks.append(
            Block(
                tuple(lines),
                t(lang, "meetings.agenda_item", item=item, department=department.label),
            )
        )
        item += 1
    goals = goals_to_correct(session, ids if expected else None, today)
    if goals:
        blocks.append(
            Block(
                tuple(_goal_line(g, today, lang) for g in goals),
                t(lang, "meetings.agenda_goals", item=item),
            )
        )
        item += 1
    indicators = off_track_indicators(session, ids if expected else None)
    if indicators:
        blocks.append(
            Block(
                tuple(_indicator_line(i, lang) for i in indicators),
                t(lang, "meetings.agenda_indicators", item=item),
            )
        )
    return blocks


def decision_line(decision: Decision, ref: str, lang: Language) -> str:
    done = decision.follow_up is FollowUp.DONE
    state = t(lang, "meetings.decision_done_state" if done else "meetings.decision_open_state")
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
        return ctx.t("meetings.coordination_room")
    if room.department is not None:
        return room.department.label
    if room.is_coordination:
        return ctx.t("meetings.coordination_room")
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
        lines.append(ctx.t("meetings.none_planned"))
    reply = Reply.text(*lines, heading=ctx.t("meetings.next_heading"))
    if last is not None:
        open_decisions = sum(d.follow_up is FollowUp.OPEN for d in last.decisions)
        reply.add(
            ctx.t(
                "meetings.last_meeting",
                n=len(last.decisions),
                meeting=last.ref,
                when=when(last.starts_at, rules, ctx.lang),
                title=last.title,
                open=open_decisions,
            ),
            heading=ctx.t("meetings.last_heading"),
        )
    reply.add(ctx.t("meetings.agenda_hint"))
    return reply


def _reminder_plan(ctx: Context, meeting: Meeting, rules: ReminderRules) -> str:
    """When the departments will be asked to report and the agenda goes out."""
    cal = rules.calendar
    day = meeting.starts_at.astimezone(rules.zone).date()
    asks = [cal.working_days_before(day, n) for n in rules.meeting_days]
    agenda = cal.working_days_before(day, rules.agenda_days)
    future = [d for d in asks if d >= ctx.today]
    asked = ", ".join(fmt_date(d, ctx.lang) for d in future) or "–"
    return ctx.t("meetings.reminder_plan", asked=asked, agenda=fmt_date(agenda, ctx.lang))


def _meeting_detail(ctx: Context, meeting: Meeting) -> Reply:
    rules = ctx.settings.rules
    lines = [meeting.title]
    if meeting.body:
        lines.append(ctx.t("meetings.body", body=meeting.body))
    lines.append(ctx.t("common.room", room=_room_name(ctx, meeting.room)))
    if meeting.departments:
        lines.append(
            ctx.t("meetings.departments", departments=", ".join(d.key for d in meeting.departments))
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
            heading=ctx.t("meetings.decisions_heading"),
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
        raise UsageError(ctx.t("common.not_a_date", text=words[0].text if words else ""))
    day, used = found
    if used >= len(words) or (at := _parse_time(words[used].text)) is None:
        raise UsageError(ctx.t("meetings.time_missing"))
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
        raise Refused(ctx.t("meetings.department_has_no_room", department=match.label))
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
        raise UsageError(ctx.t("meetings.in_past"))
    title = " ".join(w.text for w in args.words[used:]).strip()
    if not title:
        raise UsageError(ctx.t("common.title_missing"))
    if len(title) < 3:
        raise UsageError(ctx.t("common.title_too_short"))
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
        ctx.t("common.room", room=_room_name(ctx, meeting.room)),
    ]
    if meeting.departments:
        lines.append(
            ctx.t("meetings.departments", departments=", ".join(d.key for d in meeting.departments))
        )
    lines.append(_reminder_plan(ctx, meeting, rules))
    return Reply.text(
        *lines,
        heading=ctx.t(
            "meetings.planned_heading",
            meeting=meeting.ref,
            starts_at=when(starts_at, rules, ctx.lang),
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
        raise UsageError(ctx.t("meetings.moved_into_past"))
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
        heading=ctx.t("meetings.moved_heading", meeting=meeting.ref),
    )


# -- agenda ---------------------------------------------------------------------------------


def agenda(ctx: Context, args: Args) -> Reply:
    """`agenda [sitzung]`: the generated agenda of the next (or the given) meeting."""
    meeting = _resolve_meeting(ctx, args.words) if args.words else _next_meeting(ctx)
    if meeting is None:
        return Reply.text(ctx.t("meetings.none_planned"))
    rules = ctx.settings.rules
    from handlers.meeting_records import ensure_record  # it builds on this module

    record = ensure_record(ctx.session, meeting, ctx.now, rules)
    if record is None:
        return Reply(blocks=agenda_blocks(ctx.session, meeting, ctx.today, ctx.lang, rules))
    # A meeting that has started: its agenda as frozen then, unchanged by later edits.
    blocks = record.blocks(ctx.lang)
    taken = record.taken_line(meeting.starts_at, rules, ctx.lang)
    if blocks:
        blocks[0] = Block((*blocks[0].lines, taken), blocks[0].heading)
    return Reply(blocks=blocks)


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
        raise UsageError(ctx.t("meetings.decision_text_missing"))
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
            ctx.t(
                "meetings.concerns",
                refs=", ".join([m.ref for m in measures] + [g.ref for g in goals]),
            )
        )
    if changes:
        lines.append(ctx.t("meetings.changes", changes="; ".join(changes)))
    lines.append(ctx.t("meetings.decision_follow_up", ref=ref))
    return Reply.text(*lines, heading=ctx.t("meetings.decision_heading", meeting=meeting.ref))


def _apply_decision_options(
    ctx: Context, args: Args, measures: list[Measure], goals: list[Goal], meeting: Meeting
) -> list[str]:
    options = args.options
    changes: list[str] = []
    wanted = {k for k in ("deadline", "status", "interval") if k in options}
    if wanted and not measures:
        raise UsageError(ctx.t("meetings.decision_needs_measure"))
    if "quality" in options and not goals:
        raise UsageError(ctx.t("meetings.decision_needs_goal"))
    new_deadline = None
    if "deadline" in options:
        # The rules of `frist`: any date form of §2, and never in the past.
        new_deadline = deadline_option(ctx, options["deadline"])
    new_status = None
    if "status" in options:
        new_status = STATUS_WORDS.get(options["status"].text.casefold())
        if new_status is None:
            raise UsageError(ctx.t("meetings.status_unknown"))
    new_interval = None
    if "interval" in options:
        new_interval = parse_interval(options["interval"].text)
        if new_interval is None:
            raise UsageError(ctx.t("common.interval_unknown"))
    reason = ctx.t("meetings.decision_reason", meeting=meeting.ref)
    for measure in measures:
        before = _measure_snapshot(measure)
        parts: list[str] = []
        if new_deadline is not None and measure.deadline != new_deadline:
            parts.append(
                ctx.t(
                    "meetings.change_deadline",
                    old=fmt_date(measure.deadline, ctx.lang),
                    new=fmt_date(new_deadline, ctx.lang),
                )
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
            parts.append(ctx.t("meetings.change_interval", interval=new_interval))
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
            changes.append(ctx.t("meetings.change_quality_target", goal=goal.ref))
    return changes


def decision_done(ctx: Context, args: Args) -> Reply:
    """`beschluss umgesetzt S-1/2`: the follow-up of a decision is done."""
    if not args.words:
        raise UsageError()
    text = args.words[0].text
    # The meeting's id as every id is read (look-alikes normalised), then the number.
    meeting_ref, _slash, number_text = clean_reference(text).rpartition("/")
    if id_shape(meeting_ref) is None or not number_text.isdigit():
        raise UsageError(ctx.t("meetings.not_a_decision_number", text=text))
    match = ctx.resolve(meeting_ref, [Kind.MEETING])
    meeting = _meeting(ctx, match.id)
    number = int(number_text)
    if not 1 <= number <= len(meeting.decisions):
        raise Refused(
            ctx.t(
                "meetings.decision_number_too_high", meeting=meeting.ref, n=len(meeting.decisions)
            )
        )
    entry = meeting.decisions[number - 1]
    ref = f"{meeting.ref}/{number}"
    if entry.follow_up is FollowUp.DONE:
        return Reply.text(ctx.t("meetings.decision_done_already", ref=ref))
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
        heading=ctx.t("meetings.decision_done_heading"),
    )
