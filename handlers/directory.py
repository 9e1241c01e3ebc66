"""Who is who: ressorts (departments and their rooms) and personen (people and reachability)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from handlers.args import Args
from handlers.commands import Access, Command
from handlers.context import Context, NotFound, Refused, UsageError
from handlers.core import Reply
from handlers.i18n import fmt_date, reach_reason
from handlers.views import LIST_LIMIT, cut
from storage.lookup import Kind, normalize
from storage.models import CHAT_PLATFORMS, Department, Person, RoomLink
from storage.reach import console_only, person_reason

PAGE_OPTIONS = {"seite": "page", "page": "page"}


def _page(ctx: Context, args: Args, total: int) -> int:
    """The page asked for with `seite:N` (1 without), checked against the list's length."""
    if "page" not in args.options:
        return 1
    text = args.options["page"].text
    if not text.isdigit() or int(text) < 1:
        raise UsageError(ctx.t("directory.page_not_a_number"))
    page = int(text)
    pages = max(1, -(-total // LIST_LIMIT))
    if page > pages:
        raise UsageError(ctx.plural("directory.page_missing", pages, page=page))
    return page


def _page_heading(ctx: Context, heading: str, total: int, page: int) -> str:
    if page == 1:
        return f"{heading} ({total})"
    pages = -(-total // LIST_LIMIT)
    return f"{heading} ({total})" + ctx.t("directory.page_of", page=page, pages=pages)


# -- ressorts -------------------------------------------------------------------------------


def departments(ctx: Context, args: Args) -> Reply:
    """`ressorts`: every department with key, name, aliases and rooms, then the coordination."""
    if args.words:
        raise UsageError(ctx.t("directory.departments_no_arguments"))
    heading = ctx.t("directory.departments_heading")
    keys = ctx.session.execute(select(Department.id, Department.key)).all()
    coordination = _coordination_line(ctx)
    if not keys:
        return Reply.text(
            ctx.t("directory.no_departments"),
            ctx.t("directory.how_to_create_department"),
            coordination,
            heading=heading,
        )
    total = len(keys)
    page = _page(ctx, args, total)
    ordered = [row[0] for row in sorted(keys, key=lambda row: (normalize(row[1]), row[1], row[0]))]
    shown_ids = ordered[(page - 1) * LIST_LIMIT : page * LIST_LIMIT]
    loaded = {
        d.id: d
        for d in ctx.session.execute(
            select(Department)
            .where(Department.id.in_(shown_ids))
            .options(selectinload(Department.aliases), selectinload(Department.rooms))
        ).scalars()
    }
    lines = [_department_line(ctx, loaded[i]) for i in shown_ids]
    remaining = total - (page - 1) * LIST_LIMIT
    more = ctx.t("directory.departments_more", page=page + 1)
    return Reply.text(
        *cut(lines, remaining, ctx.lang, more),
        coordination,
        heading=_page_heading(ctx, heading, total, page),
    )


def _department_line(ctx: Context, department: Department) -> str:
    """`JA Jugendamt · Aliase: Amt 51, Jugend · Raum: matrix:!ja:stadt.de`."""
    parts = [f"{department.key} {department.name}"]
    if department.aliases:
        parts.append(
            ctx.t("directory.aliases", aliases=", ".join(a.alias for a in department.aliases))
        )
    rooms = sorted(department.rooms, key=lambda r: r.id)
    if not rooms:
        parts.append(ctx.t("directory.no_room"))
    else:
        names = ", ".join(_room_name(ctx, r) for r in rooms)
        parts.append(ctx.plural("directory.rooms", len(rooms), rooms=names))
    return " · ".join(parts)


def _room_name(ctx: Context, room: RoomLink) -> str:
    if room.is_coordination:
        return room.address + ctx.t("directory.coordination_room_marker")
    return room.address


def _coordination_line(ctx: Context) -> str:
    rooms = (
        ctx.session.execute(
            select(RoomLink).where(RoomLink.is_coordination.is_(True)).order_by(RoomLink.id)
        )
        .scalars()
        .all()
    )
    if not rooms:
        return ctx.t("directory.no_coordination_room")
    addresses = ", ".join(r.address for r in rooms)
    return ctx.plural("directory.coordination_rooms", len(rooms), rooms=addresses)


# -- personen -------------------------------------------------------------------------------


def people(ctx: Context, args: Args) -> Reply:
    """`personen [ressort]`: people with department, role and where they can be reached."""
    department: Department | None = None
    query = select(Person.id, Person.name, Department.key).outerjoin(
        Department, Person.department_id == Department.id
    )
    if args.words:
        words = args.words
        if ctx.session.execute(select(Department.id).limit(1)).first() is None:
            # The lookup's hint lists the existing departments; with none, say how to make one.
            raise NotFound(
                " ".join(w.text for w in words),
                [],
                ctx.t("directory.no_departments_create"),
            )
        match = ctx.resolve(
            " ".join(w.text for w in words),
            [Kind.DEPARTMENT],
            start=words[0].start,
            end=words[-1].end,
        )
        department = ctx.session.get(Department, match.id)
        assert department is not None
        query = query.where(Person.department_id == department.id)
    rows = ctx.session.execute(query).all()
    heading = ctx.t("directory.people_heading")
    if department is not None:
        heading += f" — {department.key}"
    if not rows:
        where = department.label if department is not None else ctx.settings.municipality
        return Reply.text(
            ctx.t("directory.nobody_registered", where=where),
            _register_hint(ctx, department),
            heading=f"{heading} (0)",
        )
    total = len(rows)
    page = _page(ctx, args, total)
    ordered = [
        row[0]
        for row in sorted(rows, key=lambda row: (normalize(row[1]), row[1], row[2] or "", row[0]))
    ]
    shown_ids = ordered[(page - 1) * LIST_LIMIT : page * LIST_LIMIT]
    loaded = {
        p.id: p
        for p in ctx.session.execute(
            select(Person)
            .where(Person.id.in_(shown_ids))
            .options(
                selectinload(Person.department),
                selectinload(Person.identities),
                selectinload(Person.deputy).selectinload(Person.department),
            )
        ).scalars()
    }
    lines = [_person_line(ctx, loaded[i]) for i in shown_ids]
    remaining = total - (page - 1) * LIST_LIMIT
    if department is not None:
        more = ctx.t("directory.people_more_department", department=department.key, page=page + 1)
    else:
        more = ctx.t("directory.people_more", page=page + 1)
    lines = cut(lines, remaining, ctx.lang, more)
    if total == 1 and ctx.person is not None and shown_ids == [ctx.person.id]:
        lines.append(_register_hint(ctx, department))
    return Reply.text(*lines, heading=_page_heading(ctx, heading, total, page))


def _register_hint(ctx: Context, department: Department | None) -> str:
    key = department.key if department is not None else ctx.t("directory.key_placeholder")
    return ctx.t("directory.register_hint", key=key)


def listed_name(person: Person) -> str:
    """`Max Müller (JA)`: with the department key, so namesakes can be told apart."""
    return f"{person.name} ({person.department.key})" if person.department else person.name


def reachable_platforms(person: Person, configured: frozenset[str]) -> list[str]:
    """Where reminders reach a person, in a fixed order: their chat identities on the
    configured platforms, e-mail when configured; with no chat platform the console."""
    if console_only(configured):
        return ["console"]
    platforms = {i.platform for i in person.identities if i.platform in configured}
    if "email" in configured and person.email:
        platforms.add("email")
    known = [p for p in (*CHAT_PLATFORMS, "email") if p in platforms]
    return known + sorted(platforms - set(known))


def _person_line(ctx: Context, person: Person) -> str:
    """`Max Müller (JA) — ressort · erreichbar: matrix, telegram`."""
    role = person.role.value
    if person.is_admin or any(i.address in ctx.settings.admins for i in person.identities):
        role += ctx.t("directory.admin_suffix")
    parts = [f"{listed_name(person)} — {role}"]
    platforms = reachable_platforms(person, ctx.settings.platforms)
    reason = person_reason(person, ctx.settings.platforms)
    if platforms:
        parts.append(ctx.t("directory.reachable", platforms=", ".join(platforms)))
    elif reason is not None:
        parts.append(ctx.t("directory.unreachable", reason=reach_reason(reason, ctx.lang)))
    if person.absent_until is not None and person.absent_until >= ctx.today:
        deputy = listed_name(person.deputy) if person.deputy else "–"
        parts.append(
            ctx.t(
                "directory.away_until",
                until=fmt_date(person.absent_until, ctx.lang),
                deputy=deputy,
            )
        )
    return " · ".join(parts)


# -- ressort lösen --------------------------------------------------------------------------


def unlink_department(ctx: Context, args: Args) -> Reply:
    """`ressort lösen`: this room no longer belongs to its department (coordination stays)."""
    room = ctx.room
    address = ctx.incoming.room_address
    if room is None or room.department is None:
        lines = [ctx.t("directory.nothing_to_unlink", address=address)]
        if room is not None and room.is_coordination:
            lines.append(ctx.t("directory.is_coordination_room"))
        lines.append(ctx.t("directory.how_to_link"))
        return Reply.text(*lines)
    department = room.department
    if args.words:
        # A named department is a confirmation: it must be the one this room belongs to.
        words = args.words
        match = ctx.resolve(
            " ".join(w.text for w in words),
            [Kind.DEPARTMENT],
            start=words[0].start,
            end=words[-1].end,
        )
        if match.id != department.id:
            named = ctx.session.get(Department, match.id)
            assert named is not None
            raise Refused(
                ctx.t("directory.other_department", department=department.label, named=named.label)
            )
    room.department = None
    ctx.session.flush()
    ctx.audit(
        "unlink",
        "room",
        room.id,
        before={"department": department.key},
        after={"department": None, "room": room.address},
    )
    lines = [
        ctx.t(
            "directory.unlinked",
            department=department.label,
            municipality=ctx.settings.municipality,
        )
    ]
    others = [r for r in sorted(department.rooms, key=lambda r: r.id) if r.id != room.id]
    has_coordination = room.is_coordination or (
        ctx.session.execute(select(RoomLink.id).where(RoomLink.is_coordination.is_(True))).first()
        is not None
    )
    if others:
        lines.append(
            ctx.t(
                "directory.still_linked_to",
                department=department.key,
                rooms=", ".join(r.address for r in others),
            )
        )
    elif has_coordination:
        lines.append(ctx.t("directory.roomless_to_coordination", department=department.key))
    else:
        lines.append(ctx.t("directory.roomless_waiting", department=department.key))
    if room.is_coordination:
        lines.append(ctx.t("directory.still_coordination_room"))
    lines.append(ctx.t("directory.link_again", department=department.key))
    return Reply.text(*lines, heading=ctx.t("directory.unlinked_heading"))


COMMANDS: list[Command] = [
    Command(
        "departments",
        ("ressorts",),
        ("departments",),
        Access.REGISTERED,
        departments,
        options=PAGE_OPTIONS,
    ),
    Command(
        "people",
        ("personen",),
        ("people", "persons"),
        Access.REGISTERED,
        people,
        options=PAGE_OPTIONS,
    ),
    Command(
        "department_unlink",
        ("ressort lösen",),
        ("department unlink", "unlink department"),
        Access.ADMIN,
        unlink_department,
        writes=True,
    ),
]
