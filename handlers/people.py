"""People administration: `person ändern` and `person deaktivieren` (chat and command line).

A change names what it changed, in the reply and in the audit entry (before/after). A
deactivated person keeps their measures (the measures' history stays readable) and can no
longer act; their reminders go to the lead department's room (schedules/delivery.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from handlers.admin import ROLE_WORDS
from handlers.args import Args
from handlers.context import Context, Refused, UsageError
from handlers.core import Reply
from handlers.status import OPEN_STATUSES
from storage.lookup import Kind
from storage.models import (
    ChatIdentity,
    Department,
    Measure,
    Person,
    Role,
    parse_chat_id,
)
from storage.reach import wake_waiting

EDIT_OPTIONS = {
    "ressort": "department",
    "department": "department",
    "rolle": "role",
    "role": "role",
    "kennung": "identity",
    "identity": "identity",
    "email": "email",
    "e-mail": "email",
    "mail": "email",
}
# `email:-` (or `email:none`) removes the address; `kennung:-telegram:123` removes that id.
_NONE = ("-", "none", "keine", "kein")


@dataclass
class PersonEdit:
    """What to change; None leaves a field as it is."""

    department: Department | None = None
    clear_department: bool = False
    role: Role | None = None
    add_identities: list[tuple[str, str]] = field(default_factory=list)
    remove_identities: list[tuple[str, str]] = field(default_factory=list)
    email: str | None = None
    clear_email: bool = False


def _snapshot(person: Person) -> dict[str, Any]:
    return {
        "department": person.department.key if person.department else None,
        "role": person.role.value,
        "identities": sorted(i.address for i in person.identities),
        "email": person.email,
        "active": person.active,
    }


def edit_person(ctx: Context, person: Person, edit: PersonEdit) -> list[str]:
    """Apply `edit`, audited; the changed fields as lines "Rolle: ressort → lesen"."""
    before = _snapshot(person)
    if edit.clear_department:
        person.department = None
    elif edit.department is not None:
        person.department = edit.department
    if edit.role is not None:
        person.role = edit.role
    if person.role is Role.DEPARTMENT and person.department is None:
        raise UsageError(ctx.t("admin.role_needs_department"))
    for platform, user_id in edit.remove_identities:
        gone = [i for i in person.identities if (i.platform, i.user_id) == (platform, user_id)]
        if not gone:
            raise Refused(ctx.t("people.identity_not_theirs", address=f"{platform}:{user_id}"))
        for identity in gone:
            person.identities.remove(identity)
    for platform, user_id in edit.add_identities:
        owner = ctx.session.execute(
            select(Person)
            .join(ChatIdentity)
            .where(ChatIdentity.platform == platform, ChatIdentity.user_id == user_id)
        ).scalar()
        if owner is not None and owner.id != person.id:
            raise Refused(
                ctx.t("admin.chat_id_taken", platform=platform, user_id=user_id, owner=owner.name)
            )
        if owner is None:
            person.identities.append(ChatIdentity(platform=platform, user_id=user_id))
    if edit.clear_email:
        person.email = None
    elif edit.email is not None:
        if "@" not in edit.email or " " in edit.email:
            raise UsageError(ctx.t("people.email_invalid", email=edit.email))
        person.email = edit.email
    ctx.session.flush()
    after = _snapshot(person)
    changed = {k: (before[k], after[k]) for k in after if before[k] != after[k]}
    if not changed:
        return []
    ctx.audit(
        "update",
        "person",
        person.id,
        before={k: v[0] for k, v in changed.items()},
        after={k: v[1] for k, v in changed.items()},
    )
    wake_waiting(ctx.session)  # a new identity may reach reminders that waited
    return [_change_line(ctx, key, old, new) for key, (old, new) in changed.items()]


def _change_line(ctx: Context, key: str, old: Any, new: Any) -> str:
    def shown(value: Any) -> str:
        if isinstance(value, list):
            return ", ".join(value) if value else "–"
        return "–" if value in (None, "") else str(value)

    return ctx.t(_FIELD_KEYS[key], before=shown(old), after=shown(new))


_FIELD_KEYS = {
    "department": "people.field_department",
    "role": "people.field_role",
    "identities": "people.field_identities",
    "email": "people.field_email",
    "active": "people.field_active",
}


def deactivate_person(ctx: Context, person: Person) -> int:
    """Deactivate, audited; the number of their open measures (which stay theirs)."""
    if not person.active:
        raise Refused(ctx.t("people.already_deactivated", person=person.name))
    person.deactivated_at = ctx.now
    ctx.session.flush()
    ctx.audit("deactivate", "person", person.id, before={"active": True}, after={"active": False})
    return (
        ctx.session.scalar(
            select(func.count())
            .select_from(Measure)
            .where(Measure.responsible_id == person.id, Measure.status.in_(OPEN_STATUSES))
        )
        or 0
    )


def find_person(ctx: Context, text: str, *, start: int = 0, end: int = 0) -> Person:
    """A person by the reference rules (`Max Müller (JA)` for one of namesakes)."""
    match = ctx.resolve(text, [Kind.PERSON], start=start, end=end)
    person = ctx.session.get(Person, match.id)
    assert person is not None
    return person


def _person(ctx: Context, args: Args) -> Person:
    if not args.words:
        raise UsageError()
    text = " ".join(w.text for w in args.words)
    return find_person(ctx, text, start=args.words[0].start, end=args.words[-1].end)


def parse_edit(ctx: Context, args: Args) -> PersonEdit:
    """The options of `person ändern` (the command line builds a PersonEdit itself)."""
    edit = PersonEdit()
    options = args.options
    if not options:
        raise UsageError(ctx.t("people.nothing_to_change"))
    if "department" in options:
        token = options["department"]
        if token.text.casefold() in _NONE:
            edit.clear_department = True
        else:
            match = ctx.resolve(token.text, [Kind.DEPARTMENT], start=token.start, end=token.end)
            edit.department = ctx.session.get(Department, match.id)
    if "role" in options:
        role = ROLE_WORDS.get(options["role"].text.casefold())
        if role is None:
            raise UsageError(ctx.t("admin.role_unknown"))
        edit.role = role
    if "identity" in options:
        text = options["identity"].text
        removing = text.startswith("-")
        parsed = parse_chat_id(text.removeprefix("-"))
        if parsed is None:
            raise UsageError(ctx.t("admin.chat_id_missing"))
        (edit.remove_identities if removing else edit.add_identities).append(parsed)
    if "email" in options:
        text = options["email"].text
        if text.casefold() in _NONE:
            edit.clear_email = True
        else:
            edit.email = text
    return edit


def change_person(ctx: Context, args: Args) -> Reply:
    """`person ändern <person> ressort: rolle: kennung: email:`."""
    edit = parse_edit(ctx, args)
    person = _person(ctx, args)
    lines = edit_person(ctx, person, edit)
    if not lines:
        return Reply.text(ctx.t("people.unchanged", person=person.name))
    return Reply.text(*lines, heading=ctx.t("people.changed", person=person.name))


def deactivate(ctx: Context, args: Args) -> Reply:
    """`person deaktivieren <person>`."""
    if args.options:
        raise UsageError()
    person = _person(ctx, args)
    if ctx.person is not None and person.id == ctx.person.id:
        raise Refused(ctx.t("people.not_yourself"))
    open_measures = deactivate_person(ctx, person)
    return Reply.text(
        ctx.t("people.deactivated_reply", person=person.name),
        ctx.plural("people.open_measures_stay", open_measures, person=person.name),
    )
