"""`bericht [html] [bezug]`: the steering report posted in chat, as a PDF (or HTML).

The reference is a department, a goal or a meeting. A meeting's report is its frozen record
(`MeetingRecord.report`, taken when the meeting began) when there is one, else the figures of
today with the decisions of the meeting before it. The file goes under data_dir/generated/
(handlers/outputs.py) and is posted as `Steuerungsbericht-<Kommune>[-<Bezug>]-<Datum>.pdf`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from sqlalchemy.orm import Session

from handlers.args import Args
from handlers.context import Context, UsageError
from handlers.core import Attachment, Language, Reply
from handlers.i18n import fmt_date, t
from handlers.ports import ReminderRules
from handlers.report_data import ReportData, Scope, collect
from storage.lookup import Kind
from storage.models import Department, Goal, Meeting

if TYPE_CHECKING:
    from handlers.meeting_records import FrozenRecord

ReportFormat = Literal["pdf", "html"]
MIME_TYPES: dict[str, str] = {"pdf": "application/pdf", "html": "text/html"}
_FORMAT_WORDS: dict[str, ReportFormat] = {"pdf": "pdf", "html": "html", "htm": "html"}
_SPELLED = {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"}


@dataclass(frozen=True)
class Made:
    """A report that was put together: its figures, what it is about (a short name for the
    file, and the label for the reply), and the frozen record's time if it is one."""

    data: ReportData
    slug: str | None
    label: str | None
    frozen_at: datetime | None = None
    meeting: str | None = None


def file_part(text: str) -> str:
    """`Musterstadt`, `Muellheim`: ASCII, case kept, anything else a dash."""
    spelled = "".join(_SPELLED.get(c, c) for c in text)
    ascii_ = unicodedata.normalize("NFKD", spelled).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]+", "-", ascii_).strip("-")


def report_file_name(
    municipality: str, today: date, fmt: str, lang: Language, slug: str | None = None
) -> str:
    """`Steuerungsbericht-Musterstadt-JA-2026-12-04.pdf`."""
    parts = [t(lang, "report_chat.file_stem"), file_part(municipality)]
    if slug:
        parts.append(file_part(slug))
    parts.append(today.isoformat())
    return "-".join(p for p in parts if p) + "." + fmt


def make_report(
    session: Session,
    today: date,
    municipality: str,
    *,
    department_id: int | None = None,
    goal_id: int | None = None,
    meeting_id: int | None = None,
    now: datetime | None = None,
    rules: ReminderRules | None = None,
) -> Made:
    """The figures for a reference (at most one of the ids), from a meeting's frozen record
    when it has one."""
    if department_id is not None:
        department = session.get(Department, department_id)
        assert department is not None
        data = collect(
            session, today, scope=Scope("department", department_id), municipality=municipality
        )
        return Made(data, department.key, department.label)
    if goal_id is not None:
        goal = session.get(Goal, goal_id)
        assert goal is not None
        data = collect(session, today, scope=Scope("goal", goal_id), municipality=municipality)
        return Made(data, goal.ref, f"{goal.ref} {goal.title}")
    if meeting_id is not None:
        meeting = session.get(Meeting, meeting_id)
        assert meeting is not None
        label = f"{meeting.ref} {meeting.title}"
        record = _record(session, meeting, now, rules)
        if record is not None and record.report:
            frozen = ReportData.from_json(record.report)
            if not frozen.municipality:
                frozen.municipality = municipality
            return Made(frozen, meeting.ref, label, frozen_at=record.taken_at, meeting=meeting.ref)
        data = collect(session, today, municipality=municipality, meeting=meeting)
        return Made(data, meeting.ref, label)
    return Made(collect(session, today, municipality=municipality), None, None)


def _record(
    session: Session, meeting: Meeting, now: datetime | None, rules: ReminderRules | None
) -> FrozenRecord | None:
    """The meeting's frozen record; taken now (handlers/meeting_records.py) when the meeting
    has begun and has none, given the time and the rules."""
    from handlers.meeting_records import ensure_record, record_of

    if now is not None and rules is not None:
        return ensure_record(session, meeting, now, rules)
    return record_of(session, meeting.id)


def render(made: Made, fmt: ReportFormat, lang: Language) -> bytes:
    if fmt == "html":
        from handlers.report_html import render_html

        return render_html(made.data, lang).encode("utf-8")
    from handlers.report_pdf import render_pdf

    return render_pdf(made.data, lang)


def steering_report(ctx: Context, args: Args) -> Reply:
    """`bericht [html|pdf] [bezug]`."""
    from handlers.outputs import write_generated

    if args.options:
        raise UsageError()
    words = list(args.words)
    fmt: ReportFormat = "pdf"
    if words and words[0].text.casefold() in _FORMAT_WORDS:
        fmt = _FORMAT_WORDS[words.pop(0).text.casefold()]
    ids: dict[str, int] = {}
    if words:
        text = " ".join(w.text for w in words)
        match = ctx.resolve(
            text,
            (Kind.DEPARTMENT, Kind.GOAL, Kind.MEETING),
            start=words[0].start,
            end=words[-1].end,
        )
        name = {Kind.DEPARTMENT: "department_id", Kind.GOAL: "goal_id"}.get(
            match.kind, "meeting_id"
        )
        ids[name] = match.id
    municipality = ctx.settings.municipality
    made = make_report(
        ctx.session, ctx.today, municipality, now=ctx.now, rules=ctx.settings.rules, **ids
    )
    data = render(made, fmt, ctx.lang)
    file_name = report_file_name(municipality, ctx.today, fmt, ctx.lang, made.slug)
    path: Path = write_generated(
        ctx.settings.data_dir,
        "bericht",
        fmt,
        data,
        ctx.local_now,
        keep_days=ctx.settings.keep_generated_days,
    )
    if made.label:
        line = ctx.t("report_chat.posted", scope=made.label, file=file_name)
    else:
        line = ctx.t("report_chat.posted_all", file=file_name)
    reply = Reply.text(line)
    if made.frozen_at is not None:
        local = made.frozen_at.astimezone(ctx.settings.timezone)
        taken = f"{fmt_date(local.date(), ctx.lang)} {local:%H:%M}"
        reply.add(ctx.t("report_chat.frozen", taken=taken, meeting=made.meeting))
    reply.attachments.append(
        Attachment(path=path, mime_type=MIME_TYPES[fmt], caption=file_name, file_name=file_name)
    )
    return reply
