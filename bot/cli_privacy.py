"""`regelkreis audit` and `regelkreis person export`: what Regelkreis stores, for the
operator and the data-protection officer (docs/privacy.md).

- `audit [--since DATE] [--person NAME] [--format csv|jsonl]`: every audit entry, oldest
  first, on standard output (CSV with a header row, or one JSON object a line).
- `person export NAME [--out FILE]`: everything stored about one person as one JSON document:
  the person, their chat identities, the measures they are responsible for, their status
  reports and their notes, goal evaluations and indicator values they recorded, the audit
  entries they made or that concern them, the outbox entries addressed to them, and the
  sent-message records of their private chats.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.bootstrap import App
from bot.cli_errors import CliError
from handlers.status import OPEN_STATUSES
from storage.limits import in_range
from storage.models import (
    AuditEntry,
    GoalEvaluation,
    IndicatorValue,
    Measure,
    OutboxEntry,
    Person,
    SentMessage,
    StatusReport,
)

AUDIT_COLUMNS = (
    "id",
    "at",
    "actor",
    "person",
    "action",
    "entity_kind",
    "entity_id",
    "entity_version",
    "before",
    "after",
    "origin_platform",
    "origin_room",
    "origin_message_id",
)


def add_audit_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    audit = commands.add_parser(
        "audit",
        parents=[common],
        help="print the audit log (csv or jsonl)",
        description="Every audit entry, oldest first: who changed what, when, from which "
        "message (before and after as JSON).",
    )
    audit.add_argument("--since", metavar="DATE", help="from this day on (YYYY-MM-DD)")
    audit.add_argument("--person", metavar="NAME", help="entries made by this person")
    audit.add_argument("--format", choices=["csv", "jsonl"], default="csv")


def add_person_export(
    person_commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    export = person_commands.add_parser(
        "export",
        parents=[common],
        help="write everything stored about a person as JSON (DSGVO Art. 15)",
    )
    export.add_argument("name", help='the person, e.g. "Max Müller" or "Max Müller (JA)"')
    export.add_argument("--out", type=Path, metavar="FILE", help="file (default: standard output)")


def add_person_forget(
    person_commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    forget = person_commands.add_parser(
        "forget",
        parents=[common],
        help="erase a person: name and identities replaced by a pseudonym (DSGVO Art. 17)",
        description="Replace the person's name, chat identities and e-mail address by a "
        "pseudonym everywhere (reports, notes, audit entries, meeting records, reminders), "
        "keep the measures' history readable, and record the erasure. Refused while the "
        "person is responsible for open measures. Asks to type the name to confirm.",
    )
    forget.add_argument("name", help='the person, e.g. "Max Müller" or "Max Müller (JA)"')


def forget_person_command(app: App, args: argparse.Namespace) -> int:
    from storage.forget import compact, forget

    with app.uows(write=True) as uow:
        session = uow.session
        person = _person(session, args.name)
        name = person.name
        open_measures = session.scalars(
            select(Measure.id)
            .where(Measure.responsible_id == person.id, Measure.status.in_(OPEN_STATUSES))
            .order_by(Measure.id)
        ).all()
        if open_measures:
            listed = ", ".join(f"M-{n}" for n in open_measures)
            raise CliError(
                f"{name} is responsible for open measures ({listed}): assign them to someone "
                "else first (zuweisen M-n an …); nothing was changed"
            )
        sys.stderr.write(f"Type the name ({name}) to erase this person for good: ")
        sys.stderr.flush()
        typed = sys.stdin.readline().strip()
        if typed != name:
            raise CliError("not confirmed; nothing was changed")
        pseudonym, changed, namesake = forget(session, person)
        session.add(
            AuditEntry(
                at=app.clock(),
                person_id=None,
                actor=f"cli:{_operator()}",
                action="forget",
                entity_kind="person",
                entity_id=person.id,
                before=None,
                after={"pseudonym": pseudonym},
                origin_platform="cli",
                origin_room="cli",
            )
        )
        uow.commit()
    compact(app.engine)
    print(f'{name} erased: now "{pseudonym}" ({changed} entries rewritten).')
    if namesake:
        print(
            f"Another person is also called {name}: the name was left in free text (notes, "
            "decisions), where it may mean them; identities and e-mail are gone."
        )
    return 0


def _operator() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no user name in a container
        return "operator"


def audit_command(app: App, args: argparse.Namespace) -> int:
    since = _day(args.since) if args.since else None
    with app.uows(write=False) as uow:
        session = uow.session
        query = select(AuditEntry).order_by(AuditEntry.id)
        if since is not None:
            start = datetime.combine(since, time(), app.config.municipality.zone)
            query = query.where(AuditEntry.at >= start)
        if args.person:
            person = _person(session, args.person)
            query = query.where(AuditEntry.person_id == person.id)
        rows = [_audit_row(entry) for entry in session.scalars(query)]
    out = sys.stdout
    if args.format == "jsonl":
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        return 0
    writer = csv.writer(out)
    writer.writerow(AUDIT_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                json.dumps(row[c], ensure_ascii=False)
                if isinstance(row[c], dict | list)
                else ("" if row[c] is None else row[c])
                for c in AUDIT_COLUMNS
            ]
        )
    return 0


def export_person_command(app: App, args: argparse.Namespace) -> int:
    with app.uows(write=False) as uow:
        document = person_document(uow.session, _person(uow.session, args.name))
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if args.out is None:
        sys.stdout.write(text)
        return 0
    try:
        args.out.write_text(text, encoding="utf-8")
    except OSError as error:
        raise CliError(f"{args.out}: cannot write the file: {error.strerror}") from None
    print(f"{args.out}: everything stored about {document['person']['name']}.")
    return 0


def person_document(session: Session, person: Person) -> dict[str, Any]:
    """Everything stored about `person`, as JSON-ready values."""
    identities = [f"{i.platform}:{i.user_id}" for i in person.identities]
    addresses = [*identities, f"console:{person.name}"]
    audit = session.scalars(
        select(AuditEntry)
        .where(
            or_(
                AuditEntry.person_id == person.id,
                AuditEntry.actor.in_(addresses),
                (AuditEntry.entity_kind == "person") & (AuditEntry.entity_id == person.id),
            )
        )
        .order_by(AuditEntry.id)
    )
    outbox = session.scalars(
        select(OutboxEntry).where(OutboxEntry.person_id == person.id).order_by(OutboxEntry.id)
    )
    room_ids = [i.user_id for i in person.identities]  # a private chat's id is the user's
    return {
        "person": {
            "id": person.id,
            "name": person.name,
            "department": person.department.key if person.department else None,
            "role": person.role.value,
            "is_admin": person.is_admin,
            "language": person.language,
            "email": person.email,
            "deputy": person.deputy.name if person.deputy else None,
            "absent_until": _value(person.absent_until),
            "last_platform": person.last_platform,
            "active": person.active,
            "deactivated_at": _value(person.deactivated_at),
        },
        "identities": identities,
        "responsible_for": [
            {"measure": m.ref, "title": m.title, "status": m.status.value}
            for m in session.scalars(
                select(Measure).where(Measure.responsible_id == person.id).order_by(Measure.id)
            )
        ],
        "status_reports": [
            {
                "measure": f"M-{r.measure_id}",
                "at": _value(r.at),
                "status": f"{r.old_status} → {r.new_status}",
                "progress": f"{r.old_progress} → {r.new_progress}",
                "note": r.note,
                "origin": r.origin_platform,
            }
            for r in session.scalars(
                select(StatusReport)
                .where(StatusReport.person_id == person.id)
                .order_by(StatusReport.id)
            )
        ],
        "goal_evaluations": [
            {
                "goal": f"Z-{e.goal_id}",
                "at": _value(e.at),
                "verdict": e.verdict.value,
                "note": e.note,
            }
            for e in session.scalars(
                select(GoalEvaluation)
                .where(GoalEvaluation.person_id == person.id)
                .order_by(GoalEvaluation.id)
            )
        ],
        "indicator_values": [
            {"indicator": f"K-{v.indicator_id}", "on": _value(v.measured_on), "value": v.value}
            for v in session.scalars(
                select(IndicatorValue)
                .where(IndicatorValue.person_id == person.id)
                .order_by(IndicatorValue.id)
            )
        ],
        "audit_entries": [_audit_row(entry) for entry in audit],
        "outbox": [
            {
                "key": o.key,
                "kind": o.kind,
                "due_at": _value(o.due_at),
                "state": o.state.value,
                "text": o.text,
            }
            for o in outbox
        ],
        "private_chat_rooms": room_ids,
        # What the bot's messages in the person's private chats showed (a Telegram private
        # chat's id is the user's id; console rooms are named after the person).
        "sent_messages": [
            {
                "platform": m.platform,
                "room": m.room_id,
                "message": m.message_id,
                "measure": f"M-{m.measure_id}",
                "version": m.measure_version,
                "sent_at": _value(m.sent_at),
            }
            for m in session.scalars(
                select(SentMessage)
                .where(SentMessage.room_id.in_([*room_ids, person.name]))
                .order_by(SentMessage.id)
            )
        ],
    }


def _audit_row(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": _value(entry.at),
        "actor": entry.actor,
        "person": entry.person.name if entry.person else None,
        "action": entry.action,
        "entity_kind": entry.entity_kind,
        "entity_id": entry.entity_id,
        "entity_version": entry.entity_version,
        "before": entry.before,
        "after": entry.after,
        "origin_platform": entry.origin_platform,
        "origin_room": entry.origin_room,
        "origin_message_id": entry.origin_message_id,
    }


def _value(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _day(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise CliError(f"--since {text!r}: a day as YYYY-MM-DD, e.g. 2026-01-31") from None
    if not in_range(day):
        raise CliError(f"--since {text!r}: between 2000-01-01 and 2100-12-31")
    return day


def _person(session: Session, name: str) -> Person:
    found = session.scalars(select(Person).where(Person.name == name)).all()
    if not found:
        labelled = [
            p
            for p in session.scalars(select(Person))
            if p.department and f"{p.name} ({p.department.key})" == name
        ]
        found = labelled
    if not found:
        raise CliError(f"no person named {name!r}")
    if len(found) > 1:
        options = "; ".join(
            f"{p.name} ({p.department.key if p.department else '–'})" for p in found
        )
        raise CliError(f"{name!r} names several people: {options}")
    return found[0]
