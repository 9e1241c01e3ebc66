"""The catalogs of fields of action (Handlungsfelder) and trends: list, add, rename, retire."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from handlers.args import Args, Token
from handlers.commands import Access, Command, Handler
from handlers.context import Context, NotFound, Refused, UsageError
from handlers.core import Reply
from storage.lookup import Kind, letters, normalize
from storage.models import FieldOfAction, Goal, Trend, goal_trends

CatalogEntry = FieldOfAction | Trend
NAME_LENGTH = 100  # the length of the name column


@dataclass(frozen=True)
class _Words:
    """How one catalog is called in replies, and the chat command that extends it."""

    one: tuple[str, str]
    many: tuple[str, str]
    new_command: tuple[str, str]


class Catalog(enum.Enum):
    """The two catalogs; the value is the entity kind of their audit entries."""

    FIELD = "field_of_action"
    TREND = "trend"

    @property
    def kind(self) -> Kind:
        return Kind.FIELD if self is Catalog.FIELD else Kind.TREND

    @property
    def model(self) -> type[FieldOfAction] | type[Trend]:
        return FieldOfAction if self is Catalog.FIELD else Trend

    @property
    def words(self) -> _Words:
        if self is Catalog.FIELD:
            return _Words(
                ("Handlungsfeld", "Field of action"),
                ("Handlungsfelder", "Fields of action"),
                ("handlungsfeld neu", "field new"),
            )
        return _Words(("Trend", "Trend"), ("Trends", "Trends"), ("trend neu", "trend new"))

    def one(self, ctx: Context) -> str:
        return ctx.de_en(*self.words.one)

    def many(self, ctx: Context) -> str:
        return ctx.de_en(*self.words.many)


# -- reading --------------------------------------------------------------------------------


def _entries(ctx: Context, catalog: Catalog) -> list[CatalogEntry]:
    """Every entry, alphabetically (the same order wherever entries were added from)."""
    rows: Sequence[CatalogEntry]
    if catalog is Catalog.FIELD:
        rows = ctx.session.scalars(select(FieldOfAction)).all()
    else:
        rows = ctx.session.scalars(select(Trend)).all()
    return sorted(rows, key=lambda entry: (normalize(entry.name), entry.id))


def _names(entries: Sequence[CatalogEntry]) -> str:
    return ", ".join(entry.name for entry in entries) or "–"


def _resolve(
    ctx: Context, catalog: Catalog, text: str, start: int = 0, end: int = 0
) -> CatalogEntry:
    """An entry by the reference rules of every other name (storage/lookup.py): the exact
    name, or a fragment of three letters or more; several get the numbered list."""
    match = ctx.resolve(text, [catalog.kind], start=start, end=end)
    entry = ctx.session.get(catalog.model, match.id)
    assert isinstance(entry, FieldOfAction | Trend)
    return entry


def _retired(ctx: Context, catalog: Catalog, text: str) -> CatalogEntry | None:
    """A retired entry of exactly this name (case and umlauts folded): the lookup offers
    only active ones, so a retired one is found by its whole name alone."""
    wanted = normalize(text)
    return next(
        (
            e
            for e in _entries(ctx, catalog)
            if e.retired_at is not None and normalize(e.name) == wanted
        ),
        None,
    )


def entry_for_goal(ctx: Context, catalog: Catalog, token: Token) -> CatalogEntry:
    """The active entry a new goal names; a refusal that lists the choices otherwise."""
    retired = _retired(ctx, catalog, token.text)
    active = [e for e in _entries(ctx, catalog) if e.retired_at is None]
    if retired is not None:
        raise Refused(
            ctx.de_en(
                f"{catalog.one(ctx)} „{retired.name}“ ist archiviert und wird für neue Ziele "
                f"nicht mehr angeboten. {catalog.many(ctx)}: {_names(active)}",
                f"The {catalog.one(ctx).lower()} “{retired.name}” is retired and no longer "
                f"offered for new goals. {catalog.many(ctx)}: {_names(active)}",
            )
        )
    try:
        return _resolve(ctx, catalog, token.text, token.start, token.end)
    except NotFound:
        new = ctx.de_en(*catalog.words.new_command)
        raise Refused(
            ctx.de_en(
                f"„{token.text}“ kenne ich nicht. {catalog.many(ctx)}: {_names(active)}. "
                f'Neu anlegen: {new} "{token.text}"',
                f"I don't know “{token.text}”. {catalog.many(ctx)}: {_names(active)}. "
                f'Create it with: {new} "{token.text}"',
            )
        ) from None


def _existing(
    ctx: Context, catalog: Catalog, text: str, start: int = 0, end: int = 0
) -> CatalogEntry:
    """The entry a change names: an active one by the reference rules, a retired one by its
    whole name."""
    retired = _retired(ctx, catalog, text)
    if retired is not None:
        return retired
    try:
        return _resolve(ctx, catalog, text, start, end)
    except NotFound as missing:
        entries = _entries(ctx, catalog)
        raise NotFound(
            text, missing.suggestions, hint=f"{catalog.many(ctx)}: {_names(entries)}"
        ) from None


def _goal_count(ctx: Context, catalog: Catalog, entry: CatalogEntry) -> int:
    if catalog is Catalog.FIELD:
        query = select(func.count()).select_from(Goal).where(Goal.field_of_action_id == entry.id)
    else:
        query = (
            select(func.count()).select_from(goal_trends).where(goal_trends.c.trend_id == entry.id)
        )
    return int(ctx.session.execute(query).scalar_one())


def _goals(ctx: Context, count: int) -> str:
    if count == 1:
        return ctx.de_en("1 Ziel", "1 goal")
    return ctx.de_en(f"{count} Zielen", f"{count} goals")


# -- the shared API (chat and command line) ---------------------------------------------------


def _checked_name(ctx: Context, catalog: Catalog, name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise UsageError(ctx.de_en("Der Name fehlt.", "The name is missing."))
    if len(name) > NAME_LENGTH:
        raise UsageError(
            ctx.de_en(
                f"Der Name ist zu lang ({len(name)} Zeichen, höchstens {NAME_LENGTH}).",
                f"The name is too long ({len(name)} characters, at most {NAME_LENGTH}).",
            )
        )
    if letters(name) == 0:
        raise UsageError(ctx.de_en("Der Name braucht Buchstaben.", "The name needs letters."))
    if "," in name:
        # `trends:a,b` separates names by commas: a name with one could never be chosen.
        raise UsageError(ctx.de_en("Der Name darf kein Komma enthalten.", "No comma in the name."))
    return name


def _refuse_duplicate(
    ctx: Context, catalog: Catalog, name: str, exempt: CatalogEntry | None = None
) -> None:
    for entry in _entries(ctx, catalog):
        if entry is exempt or normalize(entry.name) != normalize(name):
            continue
        retired = entry.retired_at is not None
        state = ctx.de_en(" (archiviert)", " (retired)") if retired else ""
        raise Refused(
            ctx.de_en(
                f"{catalog.one(ctx)} „{entry.name}“ gibt es schon{state}.",
                f"The {catalog.one(ctx).lower()} “{entry.name}” exists already{state}.",
            )
        )


def add_entry(ctx: Context, catalog: Catalog, name: str) -> str:
    """Create an entry; refused when one of that name (case, umlauts folded) exists."""
    name = _checked_name(ctx, catalog, name)
    _refuse_duplicate(ctx, catalog, name)
    entry = catalog.model(name=name)
    ctx.session.add(entry)
    ctx.session.flush()
    ctx.audit("create", catalog.value, entry.id, after={"name": name})
    return ctx.de_en(f"{catalog.one(ctx)} angelegt: {name}", f"{catalog.one(ctx)} created: {name}")


def rename_entry(
    ctx: Context, catalog: Catalog, old: str, new: str, *, span: tuple[int, int] = (0, 0)
) -> str:
    """Rename an entry (also a retired one); the goals that have it show the new name.
    `span`: where `old` stands in a chat command, for a numbered pick."""
    entry = _existing(ctx, catalog, old, *span)
    new = _checked_name(ctx, catalog, new)
    if new == entry.name:
        raise Refused(ctx.de_en(f"„{new}“ heißt schon so.", f"“{new}” is its name already."))
    _refuse_duplicate(ctx, catalog, new, exempt=entry)
    before = entry.name
    entry.name = new
    ctx.session.flush()
    ctx.audit("rename", catalog.value, entry.id, before={"name": before}, after={"name": new})
    return ctx.de_en(
        f"{catalog.one(ctx)} umbenannt: {before} → {new}",
        f"{catalog.one(ctx)} renamed: {before} → {new}",
    )


def retire_entry(
    ctx: Context, catalog: Catalog, name: str, *, span: tuple[int, int] = (0, 0)
) -> str:
    """Retire an entry: it stays on its goals, but new goals can no longer choose it."""
    entry = _existing(ctx, catalog, name, *span)
    if entry.retired_at is not None:
        raise Refused(
            ctx.de_en(
                f"„{entry.name}“ ist schon archiviert.", f"“{entry.name}” is retired already."
            )
        )
    entry.retired_at = ctx.now
    ctx.session.flush()
    ctx.audit(
        "retire",
        catalog.value,
        entry.id,
        before={"name": entry.name, "retired_at": None},
        after={"name": entry.name, "retired_at": ctx.now.isoformat()},
    )
    goals = _goals(ctx, _goal_count(ctx, catalog, entry))
    return ctx.de_en(
        f"{catalog.one(ctx)} archiviert: {entry.name} — bleibt an {goals}, "
        "wird für neue Ziele nicht mehr angeboten.",
        f"{catalog.one(ctx)} retired: {entry.name} — stays on {goals}, "
        "no longer offered for new goals.",
    )


def list_entries(ctx: Context, catalog: Catalog) -> list[str]:
    """One line per entry, active ones first, retired ones marked."""
    entries = _entries(ctx, catalog)
    if not entries:
        new = ctx.de_en(*catalog.words.new_command)
        return [
            ctx.de_en(
                f'Noch keine {catalog.many(ctx)}. Anlegen mit: {new} "<name>"',
                f'No {catalog.many(ctx).lower()} yet. Create one with: {new} "<name>"',
            )
        ]
    retired = ctx.de_en(" (archiviert)", " (retired)")
    return [e.name for e in entries if e.retired_at is None] + [
        e.name + retired for e in entries if e.retired_at is not None
    ]


# -- chat commands ----------------------------------------------------------------------------


def _text(args: Args) -> str:
    return " ".join(word.text for word in args.words)


def _span(words: list[Token]) -> tuple[int, int]:
    return words[0].start, words[-1].end


def _rename_args(ctx: Context, args: Args) -> tuple[str, str, tuple[int, int]]:
    """`<alt> "<neu>"`: where the old name ends is clear from the quotes (or two words)."""
    words = args.words
    if len(words) < 2:
        raise UsageError(
            ctx.de_en("Alter und neuer Name fehlen.", "The old and the new name are missing.")
        )
    if len(words) == 2 or words[-1].quoted:
        return " ".join(w.text for w in words[:-1]), words[-1].text, _span(words[:-1])
    if words[0].quoted:
        return words[0].text, " ".join(w.text for w in words[1:]), _span(words[:1])
    raise UsageError(
        ctx.de_en(
            "Bitte den neuen Namen in Anführungszeichen setzen.",
            "Please put the new name in quotes.",
        )
    )


def _handlers(catalog: Catalog) -> tuple[Handler, Handler, Handler, Handler]:
    def show(ctx: Context, args: Args) -> Reply:
        return Reply.text(*list_entries(ctx, catalog), heading=catalog.many(ctx))

    def new(ctx: Context, args: Args) -> Reply:
        return Reply.text(add_entry(ctx, catalog, _text(args)))

    def rename(ctx: Context, args: Args) -> Reply:
        old, new_name, span = _rename_args(ctx, args)
        return Reply.text(rename_entry(ctx, catalog, old, new_name, span=span))

    def retire(ctx: Context, args: Args) -> Reply:
        if not args.words:
            raise UsageError(ctx.de_en("Der Name fehlt.", "The name is missing."))
        return Reply.text(retire_entry(ctx, catalog, _text(args), span=_span(args.words)))

    return show, new, rename, retire


_FIELD = _handlers(Catalog.FIELD)
_TREND = _handlers(Catalog.TREND)

COMMANDS: list[Command] = [
    Command(
        "fields",
        ("handlungsfelder", "handlungsfeld"),
        ("fields", "field"),
        Access.REGISTERED,
        _FIELD[0],
        ("handlungsfelder", "fields"),
        ("handlungsfelder", "fields"),
        (
            "Katalog der Handlungsfelder (Themen der Ziele), archivierte markiert",
            "catalog of fields of action (topics of goals), retired ones marked",
        ),
    ),
    Command(
        "field_new",
        ("handlungsfeld neu",),
        ("field new", "field add"),
        Access.COORDINATION,
        _FIELD[1],
        ('handlungsfeld neu "<name>"', 'field new "<name>"'),
        ('handlungsfeld neu "Gesundheit"', 'field new "Gesundheit"'),
        ("Handlungsfeld in den Katalog aufnehmen", "add a field of action to the catalog"),
        writes=True,
    ),
    Command(
        "field_rename",
        ("handlungsfeld umbenennen",),
        ("field rename",),
        Access.COORDINATION,
        _FIELD[2],
        ('handlungsfeld umbenennen <alt> "<neu>"', 'field rename <old> "<new>"'),
        (
            'handlungsfeld umbenennen Umwelt "Umwelt und Klima"',
            'field rename Umwelt "Umwelt und Klima"',
        ),
        (
            "Handlungsfeld umbenennen (auch an den Zielen, die es haben)",
            "rename a field of action (also on the goals that have it)",
        ),
        writes=True,
    ),
    Command(
        "field_retire",
        ("handlungsfeld archivieren",),
        ("field retire",),
        Access.COORDINATION,
        _FIELD[3],
        ("handlungsfeld archivieren <name>", "field retire <name>"),
        ("handlungsfeld archivieren Kultur", "field retire Kultur"),
        (
            "Handlungsfeld archivieren: bleibt an seinen Zielen, nicht mehr für neue",
            "retire a field of action: stays on its goals, not offered for new ones",
        ),
        writes=True,
    ),
    Command(
        "trends",
        ("trends", "trend"),
        ("trends", "trend"),
        Access.REGISTERED,
        _TREND[0],
        ("trends", "trends"),
        ("trends", "trends"),
        ("Katalog der Trends, archivierte markiert", "catalog of trends, retired ones marked"),
    ),
    Command(
        "trend_new",
        ("trend neu",),
        ("trend new", "trend add"),
        Access.COORDINATION,
        _TREND[1],
        ('trend neu "<name>"', 'trend new "<name>"'),
        ('trend neu "Fachkräftemangel"', 'trend new "Fachkräftemangel"'),
        ("Trend in den Katalog aufnehmen", "add a trend to the catalog"),
        writes=True,
    ),
    Command(
        "trend_rename",
        ("trend umbenennen",),
        ("trend rename",),
        Access.COORDINATION,
        _TREND[2],
        ('trend umbenennen <alt> "<neu>"', 'trend rename <old> "<new>"'),
        (
            'trend umbenennen Digitalisierung "Digitale Transformation"',
            'trend rename Digitalisierung "Digitale Transformation"',
        ),
        (
            "Trend umbenennen (auch an den Zielen, die ihn haben)",
            "rename a trend (also on the goals that have it)",
        ),
        writes=True,
    ),
    Command(
        "trend_retire",
        ("trend archivieren",),
        ("trend retire",),
        Access.COORDINATION,
        _TREND[3],
        ("trend archivieren <name>", "trend retire <name>"),
        ("trend archivieren Demokratie", "trend retire Demokratie"),
        (
            "Trend archivieren: bleibt an seinen Zielen, nicht mehr für neue",
            "retire a trend: stays on its goals, not offered for new ones",
        ),
        writes=True,
    ),
]
