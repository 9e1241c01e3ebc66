"""The ICS calendar of deadlines and meetings, and the feed file a calendar subscribes to (§4)."""

from __future__ import annotations

import json
import os
import re
import secrets
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased

from handlers.core import Language
from handlers.i18n import status_name, t
from storage.models import (
    Department,
    Measure,
    Meeting,
    Person,
    measure_participants,
    meeting_departments,
)
from storage.models import MeasureStatus as _Status

# The UIDs' domain: constant, so the same deadline or meeting keeps its UID for ever and a
# subscribed calendar updates the event instead of adding a second one.
UID_DOMAIN = "regelkreis"
PRODID = "-//Regelkreis//Massnahmenplan//DE"
# A meeting has a start, no end: shown as an hour, as most agendas are planned.
MEETING_LENGTH = timedelta(hours=1)
FEEDS = "feeds"
_TOKENS = "tokens.json"
_OPEN = [s for s in _Status if not s.is_closed]


def deadline_uid(measure_id: int) -> str:
    return f"m-{measure_id}-deadline@{UID_DOMAIN}"


def meeting_uid(meeting_id: int) -> str:
    return f"meeting-{meeting_id}@{UID_DOMAIN}"


def calendar_feed(
    session: Session,
    *,
    zone: ZoneInfo,
    department_id: int | None = None,
    with_names: bool = False,
    calendar_name: str,
    lang: Language = "de",
) -> bytes:
    """Deadlines of open measures as all-day events, meetings as timed events in the
    municipality's zone (with its VTIMEZONE); of one department (leading or taking part;
    meetings it is invited to) or all. Person names only `with_names`."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", calendar_name)
    calendar.add("x-wr-timezone", zone.key)
    stamp = datetime.now(UTC).replace(microsecond=0)

    lead = aliased(Department)
    query = (
        select(
            Measure.id,
            Measure.title,
            Measure.deadline,
            Measure.status,
            Measure.version,
            lead.key,
            Person.name,
        )
        .join(lead, lead.id == Measure.lead_department_id)
        .outerjoin(Person, Person.id == Measure.responsible_id)
        .where(Measure.deadline.is_not(None), Measure.status.in_(_OPEN))
        .order_by(Measure.deadline, Measure.id)
    )
    if department_id is not None:
        participating = select(measure_participants.c.measure_id).where(
            measure_participants.c.department_id == department_id
        )
        query = query.where(
            or_(Measure.lead_department_id == department_id, Measure.id.in_(participating))
        )
    days: list[date] = []
    # Deadlines are most of a feed (10k at a large municipality): their VEVENTs are written
    # here, line by line, since icalendar's per-property conversion and folding took 3.5 s
    # of 5 for 10k (bench/plan_bench.py); meetings, the calendar and its VTIMEZONE stay
    # icalendar's, and the tests parse the whole feed with icalendar.
    deadline_events: list[str] = []
    stamp_text = f"{stamp:%Y%m%dT%H%M%SZ}"
    for measure_id, title, deadline, status, version, lead_key, person in session.execute(query):
        ref = f"M-{measure_id}"
        lines = [
            t(lang, "plan_export.ics_lead", department=lead_key),
            t(lang, "plan_export.ics_status", status=status_name(status, lang)),
        ]
        if with_names and person:
            lines.append(t(lang, "plan_export.ics_responsible", person=person))
        # All-day: DTSTART as a date, DTEND the day after (exclusive, RFC 5545). The
        # measure's version is the SEQUENCE: a calendar takes the higher one as newer.
        deadline_events.extend(
            (
                "BEGIN:VEVENT",
                _property("SUMMARY", t(lang, "plan_export.ics_deadline", measure=ref, title=title)),
                f"DTSTART;VALUE=DATE:{deadline:%Y%m%d}",
                f"DTEND;VALUE=DATE:{deadline + timedelta(days=1):%Y%m%d}",
                f"DTSTAMP:{stamp_text}",
                f"UID:{deadline_uid(measure_id)}",
                f"SEQUENCE:{version}",
                _property("DESCRIPTION", "\n".join(lines)),
                "END:VEVENT",
            )
        )
        days.append(deadline)

    meetings = select(Meeting.id, Meeting.title, Meeting.starts_at, Meeting.body).order_by(
        Meeting.starts_at, Meeting.id
    )
    if department_id is not None:
        invited = select(meeting_departments.c.meeting_id).where(
            meeting_departments.c.department_id == department_id
        )
        meetings = meetings.where(Meeting.id.in_(invited))
    for meeting_id, title, starts_at, body in session.execute(meetings):
        local = starts_at.astimezone(zone)
        event = Event()
        event.add("uid", meeting_uid(meeting_id))
        event.add("dtstamp", stamp)
        event.add("summary", title)
        if body:
            event.add("description", body)
        # Local wall time with TZID: 10:00 stays 10:00 on both sides of a DST change.
        event.add("dtstart", local)
        event.add("dtend", local + MEETING_LENGTH)
        calendar.add_component(event)
        days.append(local.date())

    if days:
        # The zone's rules only for the years the events span keep the VTIMEZONE short.
        calendar.add_missing_timezones(
            first_date=date(min(days).year - 1, 1, 1), last_date=date(max(days).year + 1, 12, 31)
        )
    data: bytes = calendar.to_ical()
    if not deadline_events:
        return data
    end = b"END:VCALENDAR\r\n"
    assert data.endswith(end)
    events = "".join(_folded(line) + "\r\n" for line in deadline_events).encode("utf-8")
    return data[: -len(end)] + events + end


def _property(name: str, text: str) -> str:
    """A TEXT property with RFC 5545's escapes (backslash, semicolon, comma, newline)."""
    escaped = (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )
    return f"{name}:{escaped}"


def _folded(line: str) -> str:
    """Lines longer than 75 octets folded (CRLF and a space), never inside a UTF-8 character."""
    if len(line.encode("utf-8")) <= 75:
        return line
    pieces: list[str] = []
    current: list[str] = []
    size, limit = 0, 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            pieces.append("".join(current))
            current, size, limit = [], 0, 74  # continuation lines start with the space
        current.append(char)
        size += width
    pieces.append("".join(current))
    return "\r\n ".join(pieces)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-") or "x"


def write_feed(data_dir: Path, data: bytes, *, department_key: str | None) -> Path:
    """Write the feed to data_dir/feeds/<random>/<name>.ics and return the path.

    The random part is the feed's secret (whoever knows the URL can read it) and is kept in
    data_dir/feeds/tokens.json: the next export of the same feed lands on the same path, so
    subscribers keep their URL. Both files are replaced whole (write, then rename), so a
    calendar fetching meanwhile never reads half a feed.
    """
    feeds = data_dir / FEEDS
    feeds.mkdir(parents=True, exist_ok=True)
    key = department_key.casefold() if department_key else ""
    tokens_file = feeds / _TOKENS
    tokens: dict[str, str] = {}
    if tokens_file.exists():
        tokens = json.loads(tokens_file.read_text(encoding="utf-8"))
    token = tokens.get(key)
    if token is None:
        token = secrets.token_urlsafe(16)
        tokens[key] = token
        _replace(tokens_file, json.dumps(tokens, indent=2, sort_keys=True).encode("utf-8"))
    name = f"regelkreis-{_slug(department_key)}.ics" if department_key else "regelkreis.ics"
    path = feeds / token / name
    path.parent.mkdir(parents=True, exist_ok=True)
    _replace(path, data)
    return path


def _replace(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".tmp")
    partial.write_bytes(data)
    os.replace(partial, path)
