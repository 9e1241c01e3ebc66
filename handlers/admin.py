"""Admin commands: departments, room links, the coordination room, registering people."""

from __future__ import annotations

import re

from sqlalchemy import select, update

from handlers.args import Args
from handlers.context import Context, Refused, UsageError
from handlers.core import Reply
from storage.lookup import Kind, normalize
from storage.models import (
    ChatIdentity,
    Department,
    DepartmentAlias,
    Person,
    Role,
    RoomLink,
    parse_chat_id,
)
from storage.reach import wake_waiting

DEPARTMENT_OPTIONS = {"alias": "alias", "aliase": "alias", "aliases": "alias"}
PERSON_OPTIONS = {
    "ressort": "department",
    "department": "department",
    "rolle": "role",
    "role": "role",
    "sprache": "language",
    "language": "language",
}
_KEY = re.compile(r"^[A-Za-zÄÖÜäöü0-9]{1,10}$")
ROLE_WORDS = {
    "koordination": Role.COORDINATION,
    "coordinator": Role.COORDINATION,
    "coordination": Role.COORDINATION,
    "ressort": Role.DEPARTMENT,
    "department": Role.DEPARTMENT,
    "member": Role.DEPARTMENT,
    "lesen": Role.READ,
    "read": Role.READ,
    "readonly": Role.READ,
}


def create_department(session_ctx: Context, key: str, name: str, aliases: list[str]) -> Department:
    """Create a department after checking key, name and aliases are free (shared with the CLI)."""
    ctx = session_ctx
    if not _KEY.match(key):
        raise UsageError(ctx.t("admin.key_shape"))
    key = key.upper()
    existing = ctx.session.execute(select(Department).where(Department.key == key)).scalar()
    if existing is not None:
        raise Refused(ctx.t("admin.key_taken", key=key, department=existing.label))
    # A second "Jugendamt" would make the name ambiguous everywhere it is typed.
    same_name = next(
        (
            d
            for d in ctx.session.execute(select(Department)).scalars()
            if normalize(d.name) == normalize(name)
        ),
        None,
    )
    if same_name is not None:
        raise Refused(ctx.t("admin.name_taken", name=same_name.name, department=same_name.label))
    taken = (
        ctx.session.execute(select(DepartmentAlias.alias).where(DepartmentAlias.alias.in_(aliases)))
        .scalars()
        .all()
    )
    if taken:
        raise Refused(ctx.t("admin.alias_taken", aliases=", ".join(taken)))
    department = Department(
        key=key, name=name, aliases=[DepartmentAlias(alias=a) for a in dict.fromkeys(aliases)]
    )
    ctx.session.add(department)
    ctx.session.flush()
    ctx.audit(
        "create", "department", department.id, after={"key": key, "name": name, "aliases": aliases}
    )
    return department


def new_department(ctx: Context, args: Args) -> Reply:
    if len(args.words) < 2:
        raise UsageError()
    key = args.words[0].text
    name = " ".join(w.text for w in args.words[1:])
    aliases = []
    if "alias" in args.options:
        aliases = [a.strip() for a in args.options["alias"].text.split(",") if a.strip()]
    department = create_department(ctx, key, name, aliases)
    lines = [department.label]
    if aliases:
        lines.append(ctx.t("admin.aliases", aliases=", ".join(aliases)))
    lines.append(ctx.t("admin.link_room_hint", department=department.key))
    return Reply.text(*lines, heading=ctx.t("admin.department_created"))


def room_link(ctx: Context, platform: str, room_id: str) -> RoomLink:
    """The link record of a room, created on first use."""
    room = ctx.session.execute(
        select(RoomLink).where(RoomLink.platform == platform, RoomLink.room_id == room_id)
    ).scalar_one_or_none()
    if room is None:
        room = RoomLink(platform=platform, room_id=room_id)
        ctx.session.add(room)
        ctx.session.flush()
    return room


def link_room(ctx: Context, room: RoomLink, department: Department) -> Department | None:
    """Link `room` to `department`; returns the department it belonged to before."""
    before = room.department
    previous = before.key if before else None
    room.department = department
    ctx.session.flush()
    ctx.audit(
        "link",
        "room",
        room.id,
        before={"department": previous},
        after={"department": department.key, "room": room.address},
    )
    wake_waiting(ctx.session)
    return before


def make_coordination_room(ctx: Context, room: RoomLink) -> list[RoomLink]:
    """Make `room` the one coordination room; returns the rooms that were it before."""
    previous = (
        ctx.session.execute(
            select(RoomLink).where(RoomLink.is_coordination.is_(True), RoomLink.id != room.id)
        )
        .scalars()
        .all()
    )
    ctx.session.execute(
        update(RoomLink)
        .where(RoomLink.id.in_([r.id for r in previous]))
        .values(is_coordination=False)
    )
    room.is_coordination = True
    wake_waiting(ctx.session)
    ctx.audit(
        "coordination",
        "room",
        room.id,
        before={"coordination": [r.address for r in previous]},
        after={"coordination": room.address},
    )
    return list(previous)


def link_department(ctx: Context, args: Args) -> Reply:
    if not args.words:
        raise UsageError()
    text = " ".join(w.text for w in args.words)
    match = ctx.resolve(text, [Kind.DEPARTMENT], start=args.words[0].start, end=args.words[-1].end)
    department = ctx.session.get(Department, match.id)
    assert department is not None
    room = ctx.room or room_link(ctx, ctx.incoming.platform, ctx.incoming.room_id)
    if room.department_id == department.id:
        return Reply.text(ctx.t("admin.room_linked_already", department=department.label))
    before = link_room(ctx, room, department)
    lines = [ctx.t("admin.room_linked_now", department=department.label)]
    if before is not None:
        # The department that loses the room should not lose its reminders unnoticed.
        rooms_left = ctx.session.execute(
            select(RoomLink.id).where(RoomLink.department_id == before.id)
        ).first()
        where = ctx.t("admin.to_other_rooms") if rooms_left else ctx.t("admin.to_coordination_room")
        lines.append(ctx.t("admin.room_linked_before", before=before.label, where=where))
    return Reply.text(*lines, heading=ctx.t("admin.room_linked_heading"))


def show_link(ctx: Context, args: Args) -> Reply:
    room = ctx.room
    lines = [ctx.t("common.room", room=ctx.incoming.room_address)]
    if room is None or (room.department is None and not room.is_coordination):
        lines.append(ctx.t("admin.room_not_linked"))
    else:
        if room.department is not None:
            lines.append(ctx.t("admin.department", department=room.department.label))
        if room.is_coordination:
            lines.append(ctx.t("admin.coordination_room_line"))
    return Reply.text(*lines)


def coordination_room(ctx: Context, args: Args) -> Reply:
    room = ctx.room or room_link(ctx, ctx.incoming.platform, ctx.incoming.room_id)
    if room.is_coordination:
        return Reply.text(ctx.t("admin.coordination_room_already"))
    previous = make_coordination_room(ctx, room)
    lines = [ctx.t("admin.coordination_room_now")]
    if previous:
        lines.append(ctx.t("admin.before", rooms=", ".join(r.address for r in previous)))
    return Reply.text(*lines, heading=ctx.t("common.coordination_room"))


def register_person(
    ctx: Context,
    name: str,
    department: Department | None,
    role: Role,
    identities: list[tuple[str, str]],
    *,
    language: str | None = None,
    is_admin: bool = False,
) -> Person:
    """Create a person with chat identities after checking none is taken (shared with the CLI)."""
    for platform, user_id in identities:
        owner = ctx.session.execute(
            select(Person)
            .join(ChatIdentity)
            .where(ChatIdentity.platform == platform, ChatIdentity.user_id == user_id)
        ).scalar()
        if owner is not None:
            raise Refused(
                ctx.t("admin.chat_id_taken", platform=platform, user_id=user_id, owner=owner.name)
            )
    person = Person(
        name=name,
        department=department,
        role=role,
        language=language,
        is_admin=is_admin,
        identities=[ChatIdentity(platform=p, user_id=u) for p, u in identities],
    )
    ctx.session.add(person)
    ctx.session.flush()
    ctx.audit(
        "create",
        "person",
        person.id,
        after={
            "name": name,
            "department": department.key if department else None,
            "role": role.value,
            "identities": [f"{p}:{u}" for p, u in identities],
        },
    )
    wake_waiting(ctx.session)
    return person


def new_person(ctx: Context, args: Args) -> Reply:
    identities: list[tuple[str, str]] = []
    name_words: list[str] = []
    for token in args.words:
        parsed = parse_chat_id(token.text) if not token.quoted else None
        if parsed:
            identities.append(parsed)
        else:
            name_words.append(token.text)
    if not name_words:
        raise UsageError()
    if not identities:
        raise UsageError(ctx.t("admin.chat_id_missing"))
    if "role" not in args.options:
        raise UsageError(ctx.t("admin.role_missing"))
    role = ROLE_WORDS.get(args.options["role"].text.casefold())
    if role is None:
        raise UsageError(ctx.t("admin.role_unknown"))
    department = None
    if "department" in args.options:
        token = args.options["department"]
        department = ctx.session.get(
            Department,
            ctx.resolve(token.text, [Kind.DEPARTMENT], start=token.start, end=token.end).id,
        )
    elif role is Role.DEPARTMENT:
        raise UsageError(ctx.t("admin.role_needs_department"))
    language = None
    if "language" in args.options:
        language = args.options["language"].text.casefold()
        if language not in ("de", "en"):
            raise UsageError(ctx.t("admin.language_unknown"))
    person = register_person(
        ctx, " ".join(name_words), department, role, identities, language=language
    )
    ids = ", ".join(i.address for i in person.identities)
    return Reply.text(
        f"{person.name} — {department.label if department else '–'}, {role.value}",
        ids,
        heading=ctx.t("admin.person_registered"),
    )
