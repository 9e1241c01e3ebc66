"""Reminder texts in German and English: grouped per recipient, short, with quick answers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.orm import Session, joinedload

from handlers.core import Block, Language, QuickAnswer, Reply, ShownVersion
from handlers.i18n import fmt_date, plural, t, unreachable_line
from handlers.meetings import agenda_blocks, when
from handlers.monitoring import IndicatorTrack, evaluation_states, indicator_tracks
from handlers.ports import ReminderRules
from handlers.views import (
    LIST_LIMIT,
    indicator_line,
    is_overdue,
    is_stale,
    measure_line,
    standard_answers,
)
from schedules.rules import CHECKIN, DEADLINE, INDICATOR_VALUE, OVERDUE, OVERDUE_ROOM, ReminderKey
from schedules.sweep import OPEN_STATUSES, TROUBLED, reportable
from storage.models import AuditEntry, Department, Measure, MeasureStatus, Meeting, Person
from storage.reach import unreachable

LANGUAGES: tuple[Language, Language] = ("de", "en")
MEASURE_KINDS = frozenset({DEADLINE, OVERDUE, OVERDUE_ROOM, CHECKIN})
Localized = dict[Language, list[Block]]


@dataclass(frozen=True, slots=True)
class LeadKey:
    key: str


@dataclass(frozen=True, slots=True)
class MeasureRow:
    """The columns of a measure a reminder shows, read as a plain row (see `measure_rows`)."""

    id: int
    title: str
    status: MeasureStatus
    progress: int
    deadline: date | None
    evaluation_due_on: date | None
    last_report_at: datetime | None
    version: int
    lead_department_id: int
    responsible_id: int | None
    lead_department: LeadKey
    responsible_name: str | None

    @property
    def ref(self) -> str:
        return f"M-{self.id}"


def measure_rows(session: Session, ids: Sequence[int]) -> list[MeasureRow]:
    """The measures `ids` with their lead department's key and responsible person's name."""
    statement = (
        select(
            Measure.id,
            Measure.title,
            Measure.status,
            Measure.progress,
            Measure.deadline,
            Measure.evaluation_due_on,
            Measure.last_report_at,
            Measure.version,
            Measure.lead_department_id,
            Measure.responsible_id,
            Department.key,
            Person.name,
        )
        .join(Department, Department.id == Measure.lead_department_id)
        .outerjoin(Person, Person.id == Measure.responsible_id)
        .where(Measure.id.in_(ids))
    )
    leads: dict[str, LeadKey] = {}
    return [
        MeasureRow(
            id=id_,
            title=title,
            status=status,
            progress=progress,
            deadline=deadline,
            evaluation_due_on=evaluation_due_on,
            last_report_at=last_report_at,
            version=version,
            lead_department_id=lead_department_id,
            responsible_id=responsible_id,
            lead_department=leads.setdefault(lead_key, LeadKey(lead_key)),
            responsible_name=responsible_name,
        )
        for (
            id_,
            title,
            status,
            progress,
            deadline,
            evaluation_due_on,
            last_report_at,
            version,
            lead_department_id,
            responsible_id,
            lead_key,
            responsible_name,
        ) in session.execute(statement).tuples()
    ]


@dataclass(frozen=True)
class MeasureFacts:
    """What a reminder says about one measure, read when the reminder goes out."""

    id: int
    ref: str
    version: int
    is_open: bool
    overdue: bool
    stale: bool
    deadline: date | None
    responsible: str | None
    last_report: date | None
    lead_key: str
    row: MeasureRow
    today: date
    # The line and the answers are made when a message in that language needs them: a
    # Monday has ten thousand measures and few recipients in a second language.
    _lines: dict[Language, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, measure: MeasureRow, today: date, zone: ZoneInfo) -> MeasureFacts:
        last = measure.last_report_at
        return cls(
            id=measure.id,
            ref=measure.ref,
            version=measure.version,
            is_open=not measure.status.is_closed,
            overdue=is_overdue(measure, today),
            stale=is_stale(measure, today),
            deadline=measure.deadline,
            responsible=measure.responsible_name,
            last_report=last.astimezone(zone).date() if last is not None else None,
            lead_key=measure.lead_department.key,
            row=measure,
            today=today,
        )

    def line(self, lang: Language) -> str:
        """`🟢 M-12 Sprachförderung in Kitas — JA, 60 %, Frist 31.03.2027`."""
        if lang not in self._lines:
            self._lines[lang] = measure_line(self.row, self.today, lang)
        return self._lines[lang]

    def answers(self, lang: Language) -> list[QuickAnswer]:
        return standard_answers(self.row, lang)


@dataclass
class Audience:
    """Who a grouped message is for: a person, a deputy for an absent person, or a room."""

    role: str  # "person", "deputy", "room"
    lang: Language
    absent: str | None = None
    absent_until: date | None = None
    department_key: str | None = None  # a department's room: "überfällig JA" shows more


@dataclass
class Part:
    """One outbox entry as a message part."""

    kind: str
    measure: MeasureFacts | None = None
    blocks: Localized = field(default_factory=dict)  # meeting requests, agendas, digests
    text: str | None = None  # other kinds: the text recorded with the entry
    answers: list[QuickAnswer] = field(default_factory=list)
    # The measure and version a recorded notice showed (the assignment): its buttons carry it.
    subject: ShownVersion | None = None
    # A due indicator value: its line in each language (grouped under one heading).
    indicator: dict[Language, str] = field(default_factory=dict)


def render(parts: Sequence[tuple[Part, Audience]], audience: Audience, today: date) -> Reply:
    """One message for one recipient: measure reminders grouped (their own first, then those
    they receive as a deputy), then meeting requests, agendas, digests and notices."""
    lang = audience.lang
    reply = Reply()
    measures = [(p, a) for p, a in parts if p.kind in MEASURE_KINDS and p.measure is not None]
    if measures:
        reply.blocks += _measure_blocks(measures, audience, today)
    indicators = [p for p, _a in parts if p.kind == INDICATOR_VALUE and p.indicator]
    if indicators:
        reply.blocks += _indicator_blocks(indicators, lang)
    others = [p for p, _a in parts if p.kind not in MEASURE_KINDS and p.kind != INDICATOR_VALUE]
    for part in others:
        if part.blocks:
            reply.blocks += part.blocks.get(lang) or part.blocks.get("de") or []
        elif part.text:
            reply.blocks.append(Block(tuple(part.text.split("\n"))))
    subjects = {p.measure.id: p.measure for p, _a in measures if p.measure is not None}
    if len(subjects) == 1 and not others:
        # About one measure: buttons (Telegram) and reactions (Matrix) act on it, and a
        # reply carries the version the message showed.
        facts = next(iter(subjects.values()))
        if facts.is_open:
            reply.quick_answers = facts.answers(lang)
            reply.subject = ShownVersion(facts.id, facts.version)
    elif len(parts) == 1 and others and not indicators:
        reply.quick_answers = list(others[0].answers)
        reply.subject = others[0].subject
    return reply


def _indicator_blocks(parts: Sequence[Part], lang: Language) -> list[Block]:
    lines = [p.indicator.get(lang) or p.indicator.get("de") or "" for p in parts]
    refs = sorted({line.split(" ")[1] for line in lines if line.count(" ") >= 1})
    example = refs[0] if len(refs) == 1 else "<K-n>"
    return [
        Block(
            (*_cut(lines, lang, t(lang, "messages.indicators.command")),),
            t(lang, "messages.indicators.heading", n=len(lines)),
        ),
        Block((t(lang, "messages.indicators.how_to_answer", example=example),)),
    ]


def indicator_reminder(
    session: Session, key: ReminderKey, today: date
) -> tuple[dict[Language, str], int | None] | None:
    """The lines of a recorded "new value due" reminder and the department it goes to; None
    when it is no longer true (a value arrived, the interval changed, the indicator is gone)."""
    if key.indicator_id is None:
        return None
    found = indicator_tracks(session, indicator_ids=[key.indicator_id])
    if not found or found[0].value_due_on != key.due:
        return None
    track = found[0]
    return {lang: _due_value_line(track, today, lang) for lang in LANGUAGES}, track.department_id


def _due_value_line(track: IndicatorTrack, today: date, lang: Language) -> str:
    assert track.value_due_on is not None
    return indicator_line(track, lang) + t(
        lang, "messages.indicators.due_since", date=fmt_date(track.value_due_on, lang)
    )


def _measure_blocks(
    parts: Sequence[tuple[Part, Audience]], audience: Audience, today: date
) -> list[Block]:
    lang = audience.lang
    # Own reminders first, then one section per absent person the recipient stands in for.
    sections: dict[tuple[str, date | None] | None, list[Part]] = {}
    for part, part_audience in parts:
        absent = (
            (part_audience.absent, part_audience.absent_until)
            if part_audience.role == "deputy" and part_audience.absent
            else None
        )
        sections.setdefault(absent, []).append(part)
    order = sorted(sections, key=lambda a: (a is not None, a[0] if a else ""))
    blocks = [Block((), t(lang, "messages.reminder_heading"))]
    refs: set[str] = set()
    for absent in order:
        if absent is not None:
            name, until = absent
            blocks.append(
                Block(
                    (),
                    t(lang, "messages.deputy_heading", name=name, until=fmt_date(until, lang)),
                )
            )
        blocks += _section(sections[absent], audience, today, refs)
    example = next(iter(refs)) if len(refs) == 1 else "<M-n>"
    blocks.append(Block((t(lang, "messages.reminder_how_to_answer", example=example),)))
    return blocks


def _section(parts: Sequence[Part], audience: Audience, today: date, refs: set[str]) -> list[Block]:
    lang = audience.lang
    kinds: dict[int, set[str]] = {}
    facts: dict[int, MeasureFacts] = {}
    for part in parts:
        assert part.measure is not None
        kinds.setdefault(part.measure.id, set()).add(part.kind)
        facts[part.measure.id] = part.measure
        refs.add(part.measure.ref)
    # Each measure once, where it is now: an overdue measure under "overdue" even if the
    # reminder was the 3-day one that waited for a platform to come back.
    overdue = sorted((f for f in facts.values() if f.overdue), key=_by_deadline)
    approaching = sorted(
        (f for f in facts.values() if not f.overdue and DEADLINE in kinds[f.id]), key=_by_deadline
    )
    shown = {f.id for f in overdue + approaching}
    report = sorted(
        (f for f in facts.values() if f.id not in shown and CHECKIN in kinds[f.id]),
        key=lambda f: f.id,
    )
    more = _more_command(audience)

    def line(f: MeasureFacts, extra: str = "") -> str:
        text = f.line(lang) + extra
        if CHECKIN in kinds[f.id] and f.id in shown:
            text += " · " + t(lang, "messages.report_due_marker")
        if audience.role == "room" and f.responsible:
            text += f" · {f.responsible}"
        return text

    blocks: list[Block] = []
    if overdue:
        blocks.append(
            Block(
                _cut([line(f) for f in overdue], lang, more("messages.overdue_command")),
                t(lang, "messages.overdue_heading", n=len(overdue)),
            )
        )
    if approaching:
        blocks.append(
            Block(
                _cut(
                    [line(f, _days_left(f, today, lang)) for f in approaching],
                    lang,
                    more("messages.due_command"),
                ),
                t(lang, "messages.approaching_heading"),
            )
        )
    if report:
        blocks.append(
            Block(
                _cut(
                    [line(f, _last_report(f, lang)) for f in report],
                    lang,
                    more("messages.mine_command"),
                ),
                t(lang, "messages.report_due_heading"),
            )
        )
    return blocks


def _by_deadline(facts: MeasureFacts) -> tuple[date, int]:
    return (facts.deadline or date.max, facts.id)


def _more_command(audience: Audience) -> Callable[[str], str]:
    """The command that lists the rest: `meine` for a person, `überfällig JA` for a room."""

    def command(key: str) -> str:
        if audience.role != "room":
            return t(audience.lang, "messages.mine_command")
        name = t(audience.lang, key)
        return f"{name} {audience.department_key}" if audience.department_key else name

    return command


def _cut(lines: list[str], lang: Language, command: str) -> tuple[str, ...]:
    if len(lines) <= LIST_LIMIT:
        return tuple(lines)
    more = len(lines) - LIST_LIMIT
    return (
        *lines[:LIST_LIMIT],
        t(lang, "more_lines", n=more, command=command),
    )


def _days_left(facts: MeasureFacts, today: date, lang: Language) -> str:
    if facts.deadline is None:
        return ""
    left = (facts.deadline - today).days
    if left == 0:
        return t(lang, "messages.due_today")
    if left == 1:
        return t(lang, "messages.due_tomorrow")
    return t(lang, "messages.due_in", days=plural(lang, "common.in_days", left))


def _last_report(facts: MeasureFacts, lang: Language) -> str:
    if facts.last_report is None:
        return " · " + t(lang, "common.no_report_yet")
    return " · " + t(lang, "common.last_report", date=fmt_date(facts.last_report, lang))


# -- meeting requests, agendas and digests (rendered in both languages when loaded) --------


def meeting_request(
    session: Session,
    meeting: Meeting,
    department: Department,
    rules: ReminderRules,
    now: datetime,
) -> Localized | None:
    """ "Please report" to a department before a meeting; None when it has nothing to report."""
    cal = rules.calendar
    today = cal.today(now)
    day = cal.today(meeting.starts_at)
    query = (
        select(Measure)
        .where(Measure.lead_department_id == department.id, reportable(today, day))
        .options(joinedload(Measure.lead_department))
    )
    total = session.execute(
        select(func.count()).select_from(query.with_only_columns(Measure.id).subquery())
    ).scalar_one()
    if not total:
        return None
    # Most urgent first: overdue, then at risk or delayed, then by deadline.
    measures = list(
        session.execute(
            query.order_by(
                and_(Measure.deadline.is_not(None), Measure.deadline < today).desc(),
                Measure.status.in_(TROUBLED).desc(),
                Measure.deadline,
                Measure.id,
            ).limit(LIST_LIMIT)
        ).scalars()
    )
    ahead = cal.working_days_between(today, day)
    result: Localized = {}
    for lang in LANGUAGES:
        if ahead <= 1:
            soon = t(lang, "messages.next_working_day")
        else:
            soon = t(lang, "messages.in_working_days", n=ahead)
        lines = [
            meeting.title,
            t(lang, "messages.meeting_request_intro", department=department.label),
            *[measure_line(m, today, lang) for m in measures],
        ]
        if total > len(measures):
            more = total - len(measures)
            lines.append(t(lang, "messages.meeting_request_more", n=more, meeting=meeting.ref))
        lines.append(t(lang, "messages.meeting_request_how"))
        result[lang] = [
            Block(
                tuple(lines),
                t(
                    lang,
                    "messages.meeting_request_heading",
                    meeting=meeting.ref,
                    starts_at=when(meeting.starts_at, rules, lang),
                    soon=soon,
                ),
            )
        ]
    return result


def agenda(session: Session, meeting: Meeting, rules: ReminderRules, now: datetime) -> Localized:
    today = rules.calendar.today(now)
    return {lang: agenda_blocks(session, meeting, today, lang, rules) for lang in LANGUAGES}


def digest(session: Session, rules: ReminderRules, now: datetime) -> Localized:
    """The weekly digest for the coordination room: what changed, what slipped, what is due,
    and who no reminder reaches.

    Each measure is listed once under "Verrutscht", in the first of: overdue since this
    week, reported at risk or delayed this week, deadline later than at the start of the
    week — and with the deadline it has now, however often it moved in between.
    """
    cal = rules.calendar
    today = cal.today(now)
    since = now - timedelta(days=7)
    entries = list(
        session.execute(
            select(AuditEntry)
            .where(AuditEntry.at >= since, AuditEntry.entity_kind == "measure")
            .order_by(AuditEntry.id)
        ).scalars()
    )
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry.action] = counts.get(entry.action, 0) + 1
    # The deadline each measure had before its first change of the week.
    first_deadline: dict[int, str] = {}
    worse: set[int] = set()
    troubled = {s.value for s in TROUBLED}
    for entry in entries:
        before, after = entry.before or {}, entry.after or {}
        if "deadline" in after and before.get("deadline"):
            first_deadline.setdefault(entry.entity_id, str(before["deadline"]))
        if after.get("status") in troubled and before.get("status") not in troubled:
            worse.add(entry.entity_id)
    newly_overdue = list(
        session.execute(
            _lines_query().where(
                Measure.status.in_(OPEN_STATUSES),
                Measure.deadline.between(today - timedelta(days=7), today - timedelta(days=1)),
            )
        ).scalars()
    )
    worse_measures = _measures(session, worse, Measure.status.in_(TROUBLED))
    moved_measures = {
        m.id: m for m in _measures(session, set(first_deadline), Measure.status.in_(OPEN_STATUSES))
    }
    # Moved later, as the deadline is now: moved twice counts from where it was to where it
    # is; moved and moved back is no slip.
    moved = [
        (measure, date.fromisoformat(old))
        for measure_id, old in first_deadline.items()
        if (measure := moved_measures.get(measure_id)) is not None
        and measure.deadline is not None
        and measure.deadline > date.fromisoformat(old)
    ]
    due = list(
        session.execute(
            _lines_query().where(
                Measure.status.in_(OPEN_STATUSES),
                Measure.deadline.between(today, today + timedelta(days=14)),
            )
        ).scalars()
    )
    listed: set[int] = set()
    slipped_overdue = _once(newly_overdue, listed)
    slipped_worse = _once(worse_measures, listed)
    slipped_moved = [(m, old) for m, old in moved if m.id not in listed]
    absent = unreachable(session, rules.platforms)
    # Goal evaluations that are due, and missing indicator values no department is asked for.
    evaluations = [s for s in evaluation_states(session).values() if s.is_due(today)]
    values = [
        track
        for track in indicator_tracks(session)
        if track.department_id is None and track.is_value_due(today)
    ]
    result: Localized = {}
    for lang in LANGUAGES:
        changed = [
            _count(lang, counts.get(action, 0), key) for action, key in _DIGEST_COUNTS.items()
        ]
        blocks = [
            Block(
                (", ".join(c for c in changed if c) or t(lang, "messages.digest_no_changes"),),
                t(lang, "messages.digest_heading", date=fmt_date(today, lang)),
            )
        ]
        slipped = [measure_line(m, today, lang) for m in slipped_overdue + slipped_worse]
        slipped += [
            f"↪ {m.ref}: {fmt_date(old, lang)} → {fmt_date(m.deadline, lang)}"
            for m, old in slipped_moved
        ]
        if slipped:
            blocks.append(
                Block(
                    _cut(slipped, lang, t(lang, "messages.overdue_command")),
                    t(lang, "messages.slipped_heading"),
                )
            )
        if due:
            blocks.append(
                Block(
                    _cut(
                        [measure_line(m, today, lang) for m in due],
                        lang,
                        t(lang, "messages.due_command"),
                    ),
                    t(lang, "messages.due_heading", n=len(due)),
                )
            )
        if evaluations:
            blocks.append(
                Block(
                    (
                        *_cut(
                            [
                                t(
                                    lang,
                                    "messages.indicators.evaluation_line",
                                    goal=s.goal_ref,
                                    title=s.goal_title,
                                    date=fmt_date(s.due_on, lang),
                                )
                                for s in evaluations
                            ],
                            lang,
                            t(lang, "messages.indicators.goals_command"),
                        ),
                        t(lang, "messages.indicators.how_to_evaluate"),
                    ),
                    t(lang, "messages.indicators.evaluations_heading", n=len(evaluations)),
                )
            )
        if values:
            blocks.append(
                Block(
                    _cut(
                        [_due_value_line(track, today, lang) for track in values],
                        lang,
                        t(lang, "messages.indicators.goals_command"),
                    ),
                    t(lang, "messages.indicators.heading", n=len(values)),
                )
            )
        if absent:
            blocks.append(
                Block(
                    _cut(
                        [unreachable_line(who, lang) for who in absent],
                        lang,
                        t(lang, "messages.reminders_command"),
                    ),
                    t(lang, "common.unreachable_heading"),
                )
            )
        result[lang] = blocks
    return result


def _measures(session: Session, ids: set[int], condition: ColumnElement[bool]) -> list[Measure]:
    if not ids:
        return []
    return list(session.execute(_lines_query().where(Measure.id.in_(ids), condition)).scalars())


def _once(measures: Sequence[Measure], listed: set[int]) -> list[Measure]:
    """The measures not listed yet (and now they are)."""
    found = [m for m in measures if m.id not in listed]
    listed.update(m.id for m in found)
    return found


def _lines_query() -> Select[tuple[Measure]]:
    return (
        select(Measure)
        .options(joinedload(Measure.lead_department))
        .order_by(Measure.deadline, Measure.id)
    )


# What the digest counts, by audit action, and how it says it (`1 Zuweisung`, `2 Zuweisungen`).
_DIGEST_COUNTS = {
    "report": "messages.digest_reports",
    "done": "messages.digest_done",
    "create": "messages.digest_created",
    "deadline": "messages.digest_deadlines",
    "assign": "messages.digest_assignments",
    "decision": "messages.digest_decisions",
}


def _count(lang: Language, n: int, key: str) -> str:
    """`1 Zuweisung`, `2 Zuweisungen`; nothing for none."""
    if not n:
        return ""
    return plural(lang, key, n)
