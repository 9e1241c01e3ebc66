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
    """How one catalog is called in replies, and the chat command that extends it (keys of
    the catalogue of texts; `…_in_text` inside a sentence, where English writes lower case)."""

    one: str
    one_in_text: str
    many: str
    many_in_text: str
    new_command: str


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
                "catalogs.field_one",
                "catalogs.field_one_in_text",
                "catalogs.field_many",
                "catalogs.field_many_in_text",
                "catalogs.field_new_command",
            )
        return _Words(
            "catalogs.trend_one",
            "catalogs.trend_one_in_text",
            "catalogs.trend_many",
            "catalogs.trend_many_in_text",
            "catalogs.trend_new_command",
        )

    def one(self, ctx: Context) -> str:
        return ctx.t(self.words.one)

    def many(self, ctx: Context) -> str:
        return ctx.t(self.words.many)


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
            ctx.t(
                "catalogs.retired_not_offered",
                catalog=ctx.t(catalog.words.one_in_text),
                name=retired.name,
                catalogs=catalog.many(ctx),
                entries=_names(active),
            )
        )
    try:
        return _resolve(ctx, catalog, token.text, token.start, token.end)
    except NotFound:
        new = ctx.t(catalog.words.new_command)
        raise Refused(
            ctx.t(
                "catalogs.unknown_entry",
                text=token.text,
                catalogs=catalog.many(ctx),
                entries=_names(active),
                new=new,
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
    """`1 Ziel`, `3 Zielen` (after „an“, German dative); `1 goal`, `3 goals`."""
    return ctx.plural("catalogs.goals", count)


# -- the shared API (chat and command line) ---------------------------------------------------


def _checked_name(ctx: Context, catalog: Catalog, name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise UsageError(ctx.t("catalogs.name_missing"))
    if len(name) > NAME_LENGTH:
        raise UsageError(ctx.t("catalogs.name_too_long", n=len(name), limit=NAME_LENGTH))
    if letters(name) == 0:
        raise UsageError(ctx.t("catalogs.name_needs_letters"))
    if "," in name:
        # `trends:a,b` separates names by commas: a name with one could never be chosen.
        raise UsageError(ctx.t("catalogs.name_has_comma"))
    return name


def _refuse_duplicate(
    ctx: Context, catalog: Catalog, name: str, exempt: CatalogEntry | None = None
) -> None:
    for entry in _entries(ctx, catalog):
        if entry is exempt or normalize(entry.name) != normalize(name):
            continue
        retired = entry.retired_at is not None
        state = ctx.t("common.retired_marker") if retired else ""
        raise Refused(
            ctx.t(
                "catalogs.exists_already",
                catalog=ctx.t(catalog.words.one_in_text),
                name=entry.name,
                state=state,
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
    return ctx.t("catalogs.added", catalog=catalog.one(ctx), name=name)


def rename_entry(
    ctx: Context, catalog: Catalog, old: str, new: str, *, span: tuple[int, int] = (0, 0)
) -> str:
    """Rename an entry (also a retired one); the goals that have it show the new name.
    `span`: where `old` stands in a chat command, for a numbered pick."""
    entry = _existing(ctx, catalog, old, *span)
    new = _checked_name(ctx, catalog, new)
    if new == entry.name:
        raise Refused(ctx.t("catalogs.same_name", new=new))
    _refuse_duplicate(ctx, catalog, new, exempt=entry)
    before = entry.name
    entry.name = new
    ctx.session.flush()
    ctx.audit("rename", catalog.value, entry.id, before={"name": before}, after={"name": new})
    return ctx.t("catalogs.renamed", catalog=catalog.one(ctx), before=before, new=new)


def retire_entry(
    ctx: Context, catalog: Catalog, name: str, *, span: tuple[int, int] = (0, 0)
) -> str:
    """Retire an entry: it stays on its goals, but new goals can no longer choose it."""
    entry = _existing(ctx, catalog, name, *span)
    if entry.retired_at is not None:
        raise Refused(ctx.t("catalogs.retired_already", name=entry.name))
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
    return ctx.t("catalogs.retired", catalog=catalog.one(ctx), name=entry.name, goals=goals)


def list_entries(ctx: Context, catalog: Catalog) -> list[str]:
    """One line per entry, active ones first, retired ones marked."""
    entries = _entries(ctx, catalog)
    if not entries:
        new = ctx.t(catalog.words.new_command)
        return [ctx.t("catalogs.none_yet", catalogs=ctx.t(catalog.words.many_in_text), new=new)]
    retired = ctx.t("common.retired_marker")
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
        raise UsageError(ctx.t("catalogs.names_missing"))
    if len(words) == 2 or words[-1].quoted:
        return " ".join(w.text for w in words[:-1]), words[-1].text, _span(words[:-1])
    if words[0].quoted:
        return words[0].text, " ".join(w.text for w in words[1:]), _span(words[:1])
    raise UsageError(ctx.t("catalogs.quote_new_name"))


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
            raise UsageError(ctx.t("catalogs.name_missing"))
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
    ),
    Command(
        "field_new",
        ("handlungsfeld neu",),
        ("field new", "field add"),
        Access.COORDINATION,
        _FIELD[1],
        writes=True,
    ),
    Command(
        "field_rename",
        ("handlungsfeld umbenennen",),
        ("field rename",),
        Access.COORDINATION,
        _FIELD[2],
        writes=True,
    ),
    Command(
        "field_retire",
        ("handlungsfeld archivieren",),
        ("field retire",),
        Access.COORDINATION,
        _FIELD[3],
        writes=True,
    ),
    Command(
        "trends",
        ("trends", "trend"),
        ("trends", "trend"),
        Access.REGISTERED,
        _TREND[0],
    ),
    Command(
        "trend_new",
        ("trend neu",),
        ("trend new", "trend add"),
        Access.COORDINATION,
        _TREND[1],
        writes=True,
    ),
    Command(
        "trend_rename",
        ("trend umbenennen",),
        ("trend rename",),
        Access.COORDINATION,
        _TREND[2],
        writes=True,
    ),
    Command(
        "trend_retire",
        ("trend archivieren",),
        ("trend retire",),
        Access.COORDINATION,
        _TREND[3],
        writes=True,
    ),
]
