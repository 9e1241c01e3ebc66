"""Who is who: ressorts (departments and their rooms) and personen (people and reachability)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from handlers.args import Args
from handlers.commands import Access, Command
from handlers.context import Context, NotFound, Refused, UsageError
from handlers.core import Reply
from handlers.i18n import fmt_date
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
        raise UsageError(ctx.de_en("Die Seite ist eine Zahl ab 1.", "The page is a number from 1."))
    page = int(text)
    pages = max(1, -(-total // LIST_LIMIT))
    if page > pages:
        raise UsageError(
            ctx.de_en(
                f"Seite {page} gibt es nicht; die Liste hat {pages} "
                + ("Seite." if pages == 1 else "Seiten."),
                f"There is no page {page}; the list has {pages} "
                + ("page." if pages == 1 else "pages."),
            )
        )
    return page


def _page_heading(ctx: Context, heading: str, total: int, page: int) -> str:
    if page == 1:
        return f"{heading} ({total})"
    pages = -(-total // LIST_LIMIT)
    return f"{heading} ({total})" + ctx.de_en(
        f", Seite {page} von {pages}", f", page {page} of {pages}"
    )


# -- ressorts -------------------------------------------------------------------------------


def departments(ctx: Context, args: Args) -> Reply:
    """`ressorts`: every department with key, name, aliases and rooms, then the coordination."""
    if args.words:
        raise UsageError(
            ctx.de_en(
                "„ressorts“ listet alle Ressorts; ein Ressort im Einzelnen: status <ressort>, "
                "seine Personen: personen <ressort>.",
                "“departments” lists every department; one department in detail: "
                "status <department>, its people: people <department>.",
            )
        )
    heading = ctx.de_en("Ressorts", "Departments")
    keys = ctx.session.execute(select(Department.id, Department.key)).all()
    coordination = _coordination_line(ctx)
    if not keys:
        return Reply.text(
            ctx.de_en("Noch keine Ressorts angelegt.", "No departments yet."),
            ctx.de_en(
                'Anlegen (Administration): ressort neu <kürzel> "<name>" — auf der '
                'Kommandozeile: regelkreis ressort add <KÜRZEL> "<Name>"',
                'Create one (admin): department new <key> "<name>" — on the command line: '
                'regelkreis ressort add <KEY> "<Name>"',
            ),
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
    more = ctx.de_en(f"ressorts seite:{page + 1}", f"departments page:{page + 1}")
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
            ctx.de_en("Aliase: ", "aliases: ") + ", ".join(a.alias for a in department.aliases)
        )
    rooms = sorted(department.rooms, key=lambda r: r.id)
    if not rooms:
        parts.append(ctx.de_en("kein Raum verknüpft", "no room linked"))
    else:
        label = (
            ctx.de_en("Raum: ", "room: ") if len(rooms) == 1 else ctx.de_en("Räume: ", "rooms: ")
        )
        parts.append(label + ", ".join(_room_name(ctx, r) for r in rooms))
    return " · ".join(parts)


def _room_name(ctx: Context, room: RoomLink) -> str:
    if room.is_coordination:
        return room.address + ctx.de_en(" (Koordinationsraum)", " (coordination room)")
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
        return ctx.de_en(
            "Koordinationsraum: noch keiner (festlegen im Raum: raum koordination)",
            "Coordination room: none yet (set it in the room: room coordination)",
        )
    label = (
        ctx.de_en("Koordinationsraum: ", "Coordination room: ")
        if len(rooms) == 1
        else ctx.de_en("Koordinationsräume: ", "Coordination rooms: ")
    )
    return label + ", ".join(r.address for r in rooms)


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
                ctx.de_en(
                    "Noch keine Ressorts angelegt. Anlegen (Administration): ressort neu "
                    '<kürzel> "<name>"',
                    'No departments yet. Create one (admin): department new <key> "<name>"',
                ),
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
    heading = ctx.de_en("Personen", "People")
    if department is not None:
        heading += f" — {department.key}"
    if not rows:
        where = department.label if department is not None else ctx.settings.municipality
        return Reply.text(
            ctx.de_en(
                f"Für {where} ist noch niemand registriert.",
                f"Nobody is registered for {where} yet.",
            ),
            _register_hint(ctx, department.key if department is not None else "<kürzel>"),
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
        more = ctx.de_en(
            f"personen {department.key} seite:{page + 1}",
            f"people {department.key} page:{page + 1}",
        )
    else:
        more = ctx.de_en(
            f"personen seite:{page + 1} (oder personen <ressort>)",
            f"people page:{page + 1} (or people <department>)",
        )
    lines = cut(lines, remaining, ctx.lang, more)
    if total == 1 and ctx.person is not None and shown_ids == [ctx.person.id]:
        lines.append(_register_hint(ctx, department.key if department else "<kürzel>"))
    return Reply.text(*lines, heading=_page_heading(ctx, heading, total, page))


def _register_hint(ctx: Context, key: str) -> str:
    english_key = "<key>" if key == "<kürzel>" else key
    return ctx.de_en(
        f'Registrieren (Administration): person neu "<name>" ressort:{key} rolle:ressort '
        "<chat-id> — auf der Kommandozeile: regelkreis person add",
        f'Register (admin): person add "<name>" department:{english_key} role:ressort '
        "<chat-id> — on the command line: regelkreis person add",
    )


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
        role += ctx.de_en(", Administration", ", admin")
    parts = [f"{listed_name(person)} — {role}"]
    platforms = reachable_platforms(person, ctx.settings.platforms)
    reason = person_reason(person, ctx.settings.platforms)
    if platforms:
        parts.append(ctx.de_en("erreichbar: ", "reachable: ") + ", ".join(platforms))
    elif reason is not None:
        parts.append(ctx.de_en("nicht erreichbar: ", "not reachable: ") + ctx.de_en(*reason))
    if person.absent_until is not None and person.absent_until >= ctx.today:
        deputy = listed_name(person.deputy) if person.deputy else "–"
        parts.append(
            ctx.de_en(
                f"abwesend bis {fmt_date(person.absent_until, 'de')}, Vertretung: {deputy}",
                f"absent until {fmt_date(person.absent_until, 'en')}, deputy: {deputy}",
            )
        )
    return " · ".join(parts)


# -- ressort lösen --------------------------------------------------------------------------


def unlink_department(ctx: Context, args: Args) -> Reply:
    """`ressort lösen`: this room no longer belongs to its department (coordination stays)."""
    room = ctx.room
    address = ctx.incoming.room_address
    if room is None or room.department is None:
        lines = [
            ctx.de_en(
                f"Dieser Raum ({address}) ist mit keinem Ressort verknüpft; es gibt nichts zu "
                "lösen. Es wurde nichts geändert.",
                f"This room ({address}) is not linked to a department; there is nothing to "
                "remove. Nothing was changed.",
            )
        ]
        if room is not None and room.is_coordination:
            lines.append(ctx.de_en("Er ist der Koordinationsraum.", "It is the coordination room."))
        lines.append(
            ctx.de_en(
                "Verknüpfen: ressort verknüpfen <ressort>",
                "Link it: department link <department>",
            )
        )
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
                ctx.de_en(
                    f"Dieser Raum gehört zu {department.label}, nicht zu {named.label}. Es "
                    "wurde nichts geändert. Die Verknüpfung lösen: ressort lösen",
                    f"This room belongs to {department.label}, not to {named.label}. Nothing "
                    "was changed. To remove the link: department unlink",
                )
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
        ctx.de_en(
            f"Dieser Raum gehört nicht mehr zu {department.label}. „status“ zeigt hier jetzt "
            f"den Überblick über {ctx.settings.municipality}.",
            f"This room no longer belongs to {department.label}. “status” here now shows "
            f"the overview of {ctx.settings.municipality}.",
        )
    ]
    others = [r for r in sorted(department.rooms, key=lambda r: r.id) if r.id != room.id]
    has_coordination = room.is_coordination or (
        ctx.session.execute(select(RoomLink.id).where(RoomLink.is_coordination.is_(True))).first()
        is not None
    )
    if others:
        lines.append(
            ctx.de_en(
                f"{department.key} bleibt verknüpft mit: ",
                f"{department.key} stays linked to: ",
            )
            + ", ".join(r.address for r in others)
        )
    elif has_coordination:
        lines.append(
            ctx.de_en(
                f"{department.key} hat jetzt keinen Raum; Erinnerungen an das Ressort gehen an "
                "den Koordinationsraum.",
                f"{department.key} has no room now; reminders to the department go to the "
                "coordination room.",
            )
        )
    else:
        lines.append(
            ctx.de_en(
                f"{department.key} hat jetzt keinen Raum, und es gibt keinen Koordinationsraum: "
                "Erinnerungen an das Ressort warten, bis ein Raum verknüpft ist.",
                f"{department.key} has no room now, and there is no coordination room: "
                "reminders to the department wait until a room is linked.",
            )
        )
    if room.is_coordination:
        lines.append(
            ctx.de_en(
                "Dieser Raum bleibt Koordinationsraum.", "This room stays the coordination room."
            )
        )
    lines.append(
        ctx.de_en(
            f"Wieder verknüpfen: ressort verknüpfen {department.key}",
            f"Link it again: department link {department.key}",
        )
    )
    return Reply.text(*lines, heading=ctx.de_en("Verknüpfung gelöst", "Link removed"))


COMMANDS: list[Command] = [
    Command(
        "departments",
        ("ressorts",),
        ("departments",),
        Access.REGISTERED,
        departments,
        ("ressorts [seite:N]", "departments [page:N]"),
        ("ressorts", "departments"),
        (
            "Ressorts mit Kürzel, Aliasen und Räumen, dazu der Koordinationsraum",
            "departments with key, aliases and rooms, and the coordination room",
        ),
        options=PAGE_OPTIONS,
    ),
    Command(
        "people",
        ("personen",),
        ("people", "persons"),
        Access.REGISTERED,
        people,
        ("personen [ressort] [seite:N]", "people [department] [page:N]"),
        ("personen Jugendamt", "people JA"),
        (
            "Personen mit Ressort, Rolle und wo sie erreichbar sind",
            "people with department, role and where they can be reached",
        ),
        options=PAGE_OPTIONS,
    ),
    Command(
        "department_unlink",
        ("ressort lösen",),
        ("department unlink", "unlink department"),
        Access.ADMIN,
        unlink_department,
        ("ressort lösen", "department unlink"),
        ("ressort lösen", "department unlink"),
        (
            "Verknüpfung dieses Raums mit seinem Ressort lösen",
            "remove this room's link to its department",
        ),
        writes=True,
    ),
]
