"""Catalogs of fields of action and trends (PRODUCT.md §1 "Catalogs") and the goal levels.

Every database gets the seven fields of action and six trends from migration 0003, with or
without the example municipality; coordinators extend, rename and retire them in chat (and
on the command line, through the same functions). The goal tree is Leitziel → Ziel →
Teilziel; a field of action is a topic, not a level.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from conftest import NOW, TODAY, Chat, FixedClock, make_app
from sqlalchemy import Engine, func, inspect, select

from bot.bootstrap import App
from handlers.catalogs import Catalog, add_entry, list_entries, rename_entry, retire_entry
from handlers.context import Ambiguous, Context, CoreSettings, NotFound, Refused, UsageError
from handlers.core import Incoming
from storage.demo import ensure_demo
from storage.lookup import NameLookup
from storage.migrate import alembic_config, upgrade
from storage.models import AuditEntry, FieldOfAction, Goal, Trend
from storage.uow import UnitOfWorkFactory

FIELDS = ["Arbeit", "Wohnen", "Integration", "Soziales", "Bildung", "Kultur", "Umwelt"]
TRENDS = [
    "Demografischer Wandel",
    "Diversität",
    "Digitalisierung",
    "Demokratie",
    "Daseinsvorsorge",
    "Klimawandel",
]
FIELDS_SHOWN = "Arbeit, Bildung, Integration, Kultur, Soziales, Umwelt, Wohnen"
ZIEL_NEU_USAGE = (
    'Aufruf: ziel neu "<titel>" oberziel: handlungsfeld: trends: intervall:\n'
    'Beispiel: ziel neu "Mehr Ganztagsplätze" oberziel:Z-3 handlungsfeld:Bildung'
)
FIELD_NEW_USAGE = 'Aufruf: handlungsfeld neu "<name>"\nBeispiel: handlungsfeld neu "Gesundheit"'


# -- helpers --------------------------------------------------------------------------------


def catalog(engine: Engine, table: str) -> list[tuple[int, str]]:
    """(id, name) of every entry, straight from the table."""
    with engine.connect() as connection:
        rows = connection.execute(sa.text(f"SELECT id, name FROM {table} ORDER BY id"))
        return [(row[0], row[1]) for row in rows]


def names(engine: Engine, table: str) -> list[str]:
    return sorted(name for _id, name in catalog(engine, table))


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def state(app: App) -> tuple[Any, ...]:
    """Everything a catalog command or `ziel neu` could change."""
    with app.uows() as uow:
        s = uow.session
        fields = s.execute(
            select(FieldOfAction.id, FieldOfAction.name, FieldOfAction.retired_at).order_by(
                FieldOfAction.id
            )
        ).all()
        trends = s.execute(select(Trend.id, Trend.name, Trend.retired_at).order_by(Trend.id)).all()
        goals = s.execute(select(Goal.id, Goal.title, Goal.field_of_action_id)).all()
        audits = s.scalar(select(func.count()).select_from(AuditEntry))
        return tuple(fields), tuple(trends), tuple(goals), audits


def catalog_audits(app: App) -> list[tuple[str, str, int, Any, Any]]:
    with app.uows() as uow:
        entries = uow.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity_kind.in_(["field_of_action", "trend"]))
            .order_by(AuditEntry.id)
        )
        return [(e.action, e.entity_kind, e.entity_id, e.before, e.after) for e in entries]


def entry_id(app: App, model: type[FieldOfAction] | type[Trend], name: str) -> int:
    with app.uows() as uow:
        found = uow.session.execute(select(model.id).where(model.name == name)).scalar_one()
        return int(found)


@pytest.fixture
def empty_app(engine: Engine, clock: FixedClock) -> App:
    """A real municipality's bot on an empty database: no demo, nobody registered yet."""
    return make_app(engine, clock, demo=False)


def register(app: App, name: str, role: str, console_id: str) -> Chat:
    """The configured admin registers a person in chat; returns that person's console chat."""
    root = Chat(app, "@root:musterstadt.de", "!admin:musterstadt.de", platform="matrix")
    reply = root.say(f'person neu "{name}" rolle:{role} console:{console_id}')
    assert reply.startswith("Person registriert"), reply
    return Chat(app, console_id)


@pytest.fixture
def clara(empty_app: App) -> Chat:
    """Clara Koch, coordinator of a municipality that starts from scratch."""
    return register(empty_app, "Clara Koch", "koordination", "clara")


# -- migration 0003 -------------------------------------------------------------------------


def test_an_empty_database_has_the_seven_fields_and_the_six_trends(engine: Engine) -> None:
    assert names(engine, "fields_of_action") == sorted(FIELDS)
    assert names(engine, "trends") == sorted(TRENDS)
    with engine.connect() as connection:
        retired = connection.execute(
            sa.text(
                "SELECT count(*) FROM fields_of_action WHERE retired_at IS NOT NULL "
                "UNION ALL SELECT count(*) FROM trends WHERE retired_at IS NOT NULL"
            )
        ).scalars()
        assert list(retired) == [0, 0]


def test_migrating_a_database_at_0002_adds_only_the_missing_entries(engine: Engine) -> None:
    downgrade(engine, "base")
    upgrade(engine, "0002")
    fields = sa.table("fields_of_action", sa.column("name", sa.String()))
    trends = sa.table("trends", sa.column("name", sa.String()))
    with engine.begin() as connection:
        connection.execute(
            sa.insert(fields), [{"name": "Bildung"}, {"name": "Gesundheit"}, {"name": "wohnen"}]
        )
        connection.execute(sa.insert(trends), [{"name": "Diversitaet"}, {"name": "Klimawandel"}])
        bildung = connection.execute(
            sa.text("SELECT id FROM fields_of_action WHERE name = 'Bildung'")
        ).scalar_one()
        connection.execute(
            sa.text(
                "INSERT INTO goals (title, field_of_action_id, created_at) "
                "VALUES ('Bildungsgerechtigkeit', :f, :at)"
            ),
            {"f": bildung, "at": NOW},
        )
    upgrade(engine)
    # Present under another spelling (lowercase, umlaut spelled out) counts as present.
    assert names(engine, "fields_of_action") == sorted(
        ["Bildung", "Gesundheit", "wohnen", "Arbeit", "Integration", "Soziales", "Kultur", "Umwelt"]
    )
    assert names(engine, "trends") == sorted(
        ["Diversitaet", "Klimawandel", *TRENDS[0:1], *TRENDS[2:5]]
    )
    assert (bildung, "Bildung") in catalog(engine, "fields_of_action")
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT field_of_action_id FROM goals")).scalar() == (
            bildung
        )


def test_a_database_the_demo_filled_at_0002_gets_no_duplicates(engine: Engine) -> None:
    downgrade(engine, "base")
    upgrade(engine, "0002")
    demo_order = ["Bildung", "Soziales", "Integration", "Wohnen", "Umwelt", "Arbeit", "Kultur"]
    with engine.begin() as connection:
        connection.execute(
            sa.insert(sa.table("fields_of_action", sa.column("name", sa.String()))),
            [{"name": name} for name in demo_order],
        )
        connection.execute(
            sa.insert(sa.table("trends", sa.column("name", sa.String()))),
            [{"name": name} for name in TRENDS],
        )
    before = catalog(engine, "fields_of_action"), catalog(engine, "trends")
    upgrade(engine)
    assert (catalog(engine, "fields_of_action"), catalog(engine, "trends")) == before


def test_downgrade_drops_the_column_and_keeps_the_entries(engine: Engine) -> None:
    before = catalog(engine, "fields_of_action"), catalog(engine, "trends")
    downgrade(engine, "0002")
    for table in ("fields_of_action", "trends"):
        assert "retired_at" not in {c["name"] for c in inspect(engine).get_columns(table)}
    assert (catalog(engine, "fields_of_action"), catalog(engine, "trends")) == before
    upgrade(engine)
    assert (catalog(engine, "fields_of_action"), catalog(engine, "trends")) == before


def test_the_demo_reuses_the_entries_of_the_migration(engine: Engine) -> None:
    before = catalog(engine, "fields_of_action"), catalog(engine, "trends")
    uows = UnitOfWorkFactory(engine)
    with uows(write=True) as uow:
        assert ensure_demo(uow.session, TODAY)
        uow.commit()
    assert (catalog(engine, "fields_of_action"), catalog(engine, "trends")) == before
    with uows() as uow:
        z3 = uow.session.get(Goal, 3)
        assert z3 is not None and z3.field_of_action is not None
        assert (z3.field_of_action.id, z3.field_of_action.name) in before[0]
        assert [t.name for t in z3.trends] == ["Diversität"]


def test_the_demo_creates_an_entry_a_coordinator_renamed_away(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE trends SET name = 'Klimakrise' WHERE name = 'Klimawandel'")
        )
    uows = UnitOfWorkFactory(engine)
    with uows(write=True) as uow:
        ensure_demo(uow.session, TODAY)
        uow.commit()
    assert names(engine, "trends") == sorted([*TRENDS, "Klimakrise"])
    assert len(catalog(engine, "fields_of_action")) == 7


# -- the help's own example, from an empty database -------------------------------------------


def test_the_help_example_works_on_an_empty_database(clara: Chat) -> None:
    """Defect: `„Bildung“ kenne ich nicht. Möglich: –` — nothing had created the catalog."""
    assert clara.say('ziel neu "Bildungsgerechtigkeit" handlungsfeld:Bildung') == "\n".join(
        ["Angelegt: Z-1", "Leitziel: Bildungsgerechtigkeit", "Handlungsfeld: Bildung"]
    )
    with clara.app.uows() as uow:
        goal = uow.session.get(Goal, 1)
        assert goal is not None and goal.field_of_action is not None
        assert (goal.title, goal.parent_id, goal.field_of_action.name) == (
            "Bildungsgerechtigkeit",
            None,
            "Bildung",
        )


def test_the_goal_levels_are_leitziel_ziel_teilziel(clara: Chat) -> None:
    clara.say('ziel neu "Bildungsgerechtigkeit" handlungsfeld:Bildung')
    assert clara.say('ziel neu "Übergang Kita–Grundschule gestalten" oberziel:Z-1') == "\n".join(
        [
            "Angelegt: Z-2",
            "Ziel: Übergang Kita–Grundschule gestalten",
            "Oberziel: Z-1 Bildungsgerechtigkeit",
            "Handlungsfeld: Bildung",
        ]
    )
    assert clara.say(
        'ziel neu "Sprachstand bei Schuleintritt" oberziel:Z-2 trends:demograf,Diversitaet'
    ) == "\n".join(
        [
            "Angelegt: Z-3",
            "Teilziel: Sprachstand bei Schuleintritt",
            "Oberziel: Z-2 Übergang Kita–Grundschule gestalten",
            "Handlungsfeld: Bildung",
            "Trends: Demografischer Wandel, Diversität",
        ]
    )
    assert clara.say("ziel Z-3").splitlines()[:2] == [
        "🎯 Z-3 Sprachstand bei Schuleintritt",
        "Teilziel · unter Z-2 · Bildung · Trends: Demografischer Wandel, Diversität",
    ]
    assert clara.say("ziel Z-2").splitlines()[1] == "Ziel · unter Z-1 · Bildung"
    before = state(clara.app)
    reply = clara.reply('ziel neu "Sprachkurse" oberziel:Z-3')
    assert reply.outcome == "usage"
    assert reply.plain() == (
        "Z-3 ist schon ein Teilziel, die dritte Ebene (Leitziel → Ziel → Teilziel); "
        "bitte ein höheres Oberziel wählen.\n" + ZIEL_NEU_USAGE
    )
    assert state(clara.app) == before


def test_the_goal_levels_in_english(clara: Chat) -> None:
    clara.say("sprache en")
    assert clara.say('goal new "Education for all" field:bildung') == "\n".join(
        ["Created: Z-1", "Guiding goal: Education for all", "Field of action: Bildung"]
    )
    assert clara.say('goal new "Smooth transitions" parent:Z-1').splitlines()[1] == (
        "Goal: Smooth transitions"
    )
    assert clara.say('goal new "Language skills" parent:Z-2').splitlines()[1] == (
        "Sub-goal: Language skills"
    )
    assert clara.say('goal new "Courses" parent:Z-3').splitlines()[0] == (
        "Z-3 is already a sub-goal, the third level (guiding goal → goal → sub-goal); "
        "please choose a higher parent."
    )


# -- ziel neu: which catalog entry ------------------------------------------------------------


def test_a_fragment_in_exactly_one_entry_is_taken_and_named(clara: Chat) -> None:
    assert clara.say('ziel neu "Saubere Luft" handlungsfeld:umwel trends:KLIMA') == "\n".join(
        ["Angelegt: Z-1", "Leitziel: Saubere Luft", "Handlungsfeld: Umwelt", "Trends: Klimawandel"]
    )
    # One trend named twice is on the goal once.
    assert clara.say('ziel neu "Hitzeschutz" trends:klima,Klimawandel').splitlines()[-1] == (
        "Trends: Klimawandel"
    )


def test_unknown_ambiguous_and_short_references_change_nothing(clara: Chat) -> None:
    before = state(clara.app)
    unknown = clara.reply('ziel neu "X" handlungsfeld:Quatsch')
    assert unknown.plain() == (
        f"„Quatsch“ kenne ich nicht. Handlungsfelder: {FIELDS_SHOWN}. "
        'Neu anlegen: handlungsfeld neu "Quatsch"'
    )
    assert unknown.outcome == "refused"
    assert clara.say('ziel neu "X" trends:Klimawandel,Quatsch') == (
        "„Quatsch“ kenne ich nicht. Trends: Daseinsvorsorge, Demografischer Wandel, Demokratie, "
        'Digitalisierung, Diversität, Klimawandel. Neu anlegen: trend neu "Quatsch"'
    )
    assert clara.say('ziel neu "X" trends:demo') == "\n".join(
        [
            "„demo“ passt auf mehrere. Bitte mit der Nummer antworten:",
            "1. Demografischer Wandel",
            "2. Demokratie",
        ]
    )
    clara.say("wer bin ich")  # no pick: the list is left as it was asked
    # Fewer than three letters never match a fragment.
    assert clara.say('ziel neu "X" handlungsfeld:Bi').startswith("„Bi“ kenne ich nicht.")
    assert state(clara.app) == before


def test_the_full_name_wins_over_a_fragment_of_another_entry(clara: Chat) -> None:
    clara.say('handlungsfeld neu "Weiterbildung"')
    assert clara.say('ziel neu "X" handlungsfeld:bildung').splitlines()[-1] == (
        "Handlungsfeld: Bildung"
    )
    assert clara.say('ziel neu "Y" handlungsfeld:bild') == "\n".join(
        [
            "„bild“ passt auf mehrere. Bitte mit der Nummer antworten:",
            "1. Bildung",
            "2. Weiterbildung",
        ]
    )
    # The number picks, like every other numbered list.
    assert clara.say("2").splitlines()[-1] == "Handlungsfeld: Weiterbildung"


# -- handlungsfelder / trends: list, neu, umbenennen, archivieren -------------------------------


def test_handlungsfelder_and_trends_list_the_catalogs(clara: Chat) -> None:
    assert clara.say("handlungsfelder") == "\n".join(["Handlungsfelder", *sorted(FIELDS)])
    assert clara.say("trends") == "\n".join(
        [
            "Trends",
            "Daseinsvorsorge",
            "Demografischer Wandel",
            "Demokratie",
            "Digitalisierung",
            "Diversität",
            "Klimawandel",
        ]
    )
    assert clara.say("fields").splitlines()[0] == "Handlungsfelder"  # German sender, English name


def test_handlungsfeld_neu(clara: Chat) -> None:
    app = clara.app
    assert clara.say('handlungsfeld neu "Gesundheit"') == "Handlungsfeld angelegt: Gesundheit"
    gesundheit = entry_id(app, FieldOfAction, "Gesundheit")
    assert catalog_audits(app) == [
        ("create", "field_of_action", gesundheit, None, {"name": "Gesundheit"})
    ]
    assert "Gesundheit" in clara.say("handlungsfelder").splitlines()
    assert clara.say('ziel neu "Gesund aufwachsen" handlungsfeld:Gesundheit').splitlines()[-1] == (
        "Handlungsfeld: Gesundheit"
    )
    # Unquoted words are one name; the ASCII form works too.
    assert clara.say("handlungsfeld_neu Sport und Bewegung") == (
        "Handlungsfeld angelegt: Sport und Bewegung"
    )


def test_trend_neu_in_english(clara: Chat) -> None:
    clara.say("sprache en")
    assert clara.say('trend new "Fachkräftemangel"') == "Trend created: Fachkräftemangel"
    assert entry_id(clara.app, Trend, "Fachkräftemangel")
    assert clara.say("trends").splitlines()[0] == "Trends"


def test_handlungsfeld_umbenennen(clara: Chat) -> None:
    app = clara.app
    clara.say('ziel neu "Saubere Luft" handlungsfeld:Umwelt')
    umwelt = entry_id(app, FieldOfAction, "Umwelt")
    assert clara.say('handlungsfeld umbenennen Umwelt "Umwelt und Klima"') == (
        "Handlungsfeld umbenannt: Umwelt → Umwelt und Klima"
    )
    assert entry_id(app, FieldOfAction, "Umwelt und Klima") == umwelt
    assert clara.say("ziel Z-1").splitlines()[1] == "Leitziel · Umwelt und Klima"
    assert catalog_audits(app)[-1] == (
        "rename",
        "field_of_action",
        umwelt,
        {"name": "Umwelt"},
        {"name": "Umwelt und Klima"},
    )
    # The old name quoted, the new one in plain words.
    assert clara.say('handlungsfeld umbenennen "Umwelt und Klima" Umwelt') == (
        "Handlungsfeld umbenannt: Umwelt und Klima → Umwelt"
    )
    # A fragment names the old entry; only the spelling of the same entry may change.
    assert clara.say('handlungsfeld umbenennen integr "integration"') == (
        "Handlungsfeld umbenannt: Integration → integration"
    )


def test_trend_umbenennen(clara: Chat) -> None:
    digital = entry_id(clara.app, Trend, "Digitalisierung")
    assert clara.say('trend umbenennen Digitalisierung "Digitale Transformation"') == (
        "Trend umbenannt: Digitalisierung → Digitale Transformation"
    )
    assert entry_id(clara.app, Trend, "Digitale Transformation") == digital


def test_handlungsfeld_archivieren(clara: Chat, clock: FixedClock) -> None:
    app = clara.app
    clara.say('ziel neu "Teilhabe an Kultur" handlungsfeld:Kultur')
    kultur = entry_id(app, FieldOfAction, "Kultur")
    assert clara.say("handlungsfeld archivieren Kultur") == (
        "Handlungsfeld archiviert: Kultur — bleibt an 1 Ziel, "
        "wird für neue Ziele nicht mehr angeboten."
    )
    with app.uows() as uow:
        entry = uow.session.get(FieldOfAction, kultur)
        assert entry is not None and entry.retired_at == NOW
        goal = uow.session.get(Goal, 1)
        assert goal is not None and goal.field_of_action_id == kultur
    assert catalog_audits(app)[-1][:3] == ("retire", "field_of_action", kultur)
    # Listed last and marked; still shown on its goal.
    assert clara.say("handlungsfelder").splitlines()[-2:] == ["Wohnen", "Kultur (archiviert)"]
    assert clara.say("ziel Z-1").splitlines()[1] == "Leitziel · Kultur (archiviert)"
    # Not offered, not accepted, not inherited for new goals.
    before = state(app)
    assert clara.say('ziel neu "Musikschule" handlungsfeld:Kultur') == (
        "Handlungsfeld „Kultur“ ist archiviert und wird für neue Ziele nicht mehr angeboten. "
        "Handlungsfelder: Arbeit, Bildung, Integration, Soziales, Umwelt, Wohnen"
    )
    assert clara.say('handlungsfeld neu "kultur"') == (
        "Handlungsfeld „Kultur“ gibt es schon (archiviert)."
    )
    assert clara.say("handlungsfeld archivieren Kultur") == "„Kultur“ ist schon archiviert."
    assert state(app) == before
    assert clara.say('ziel neu "Musikschule" oberziel:Z-1') == "\n".join(
        ["Angelegt: Z-2", "Ziel: Musikschule", "Oberziel: Z-1 Teilhabe an Kultur"]
    )
    # The exact name of a retired entry is never taken for an active one containing it;
    # a fragment chooses among the active ones only.
    clara.say('handlungsfeld neu "Soziokultur"')
    assert clara.say('ziel neu "Stadtteilzentrum" handlungsfeld:kultur').startswith(
        "Handlungsfeld „Kultur“ ist archiviert"
    )
    assert clara.say('ziel neu "Stadtteilzentrum" handlungsfeld:kult').splitlines()[-1] == (
        "Handlungsfeld: Soziokultur"
    )


def test_trend_archivieren(clara: Chat) -> None:
    assert clara.say("trend archivieren Demokratie") == (
        "Trend archiviert: Demokratie — bleibt an 0 Zielen, "
        "wird für neue Ziele nicht mehr angeboten."
    )
    assert clara.say("trends").splitlines()[-1] == "Demokratie (archiviert)"
    # `demo` now names one active trend only.
    assert clara.say('ziel neu "Älter werden" trends:demo').splitlines()[-1] == (
        "Trends: Demografischer Wandel"
    )


# -- bad input changes nothing ----------------------------------------------------------------


def test_bad_catalog_input_changes_nothing(clara: Chat) -> None:
    app = clara.app
    before = state(app)
    assert clara.say('handlungsfeld neu "bildung"') == "Handlungsfeld „Bildung“ gibt es schon."
    assert clara.say("trend neu Diversitaet") == "Trend „Diversität“ gibt es schon."
    assert clara.say("handlungsfeld neu") == "Der Name fehlt.\n" + FIELD_NEW_USAGE
    long_name = "A" * 101
    assert clara.say(f'handlungsfeld neu "{long_name}"') == (
        "Der Name ist zu lang (101 Zeichen, höchstens 100).\n" + FIELD_NEW_USAGE
    )
    assert clara.say('handlungsfeld neu "Sport, Bewegung"').startswith(
        "Der Name darf kein Komma enthalten."
    )
    assert clara.say('handlungsfeld umbenennen Arbeit "Bildung"') == (
        "Handlungsfeld „Bildung“ gibt es schon."
    )
    assert clara.say('handlungsfeld umbenennen Quatsch "Neu"') == (
        f"„Quatsch“ habe ich nicht gefunden.\nHandlungsfelder: {FIELDS_SHOWN}"
    )
    assert clara.say('trend umbenennen demo "Neu"') == "\n".join(
        [
            "„demo“ passt auf mehrere. Bitte mit der Nummer antworten:",
            "1. Demografischer Wandel",
            "2. Demokratie",
        ]
    )
    clara.say("wer bin ich")  # no pick
    assert clara.say("handlungsfeld umbenennen Arbeit Gute Arbeit") == "\n".join(
        [
            "Bitte den neuen Namen in Anführungszeichen setzen.",
            'Aufruf: handlungsfeld umbenennen <alt> "<neu>"',
            'Beispiel: handlungsfeld umbenennen Umwelt "Umwelt und Klima"',
        ]
    )
    assert clara.say("handlungsfeld umbenennen Arbeit Arbeit") == "„Arbeit“ heißt schon so."
    assert clara.say("trend archivieren Quatsch").startswith("„Quatsch“ habe ich nicht gefunden.")
    assert state(app) == before


def test_only_coordinators_change_the_catalogs(clara: Chat) -> None:
    app = clara.app
    lena = register(app, "Lena Leser", "lesen", "lena")
    before = state(app)
    refusal = lena.reply('handlungsfeld neu "Gesundheit"')
    assert refusal.outcome == "refused"
    assert refusal.plain() == (
        "„handlungsfeld neu“ dürfen nur Personen mit der Rolle koordination. Ihre Rolle: lesen."
    )
    for command in (
        'handlungsfeld umbenennen Umwelt "Klima"',
        "handlungsfeld archivieren Kultur",
        'trend neu "Fachkräftemangel"',
        'trend umbenennen Demokratie "Teilhabe"',
        "trend archivieren Demokratie",
    ):
        assert lena.reply(command).outcome == "refused", command
    assert state(app) == before
    # Reading is for every registered person.
    assert lena.say("handlungsfelder").splitlines()[1] == "Arbeit"


def test_the_registry_tells_the_catalog_commands_apart(empty_app: App) -> None:
    registry = empty_app.dispatcher.registry
    for text, key in [
        ("trend", "trends"),
        ("trends", "trends"),
        ("trend neu Hitze", "trend_new"),
        ("trend_archivieren Demokratie", "trend_retire"),
        ("handlungsfeld", "fields"),
        ("handlungsfelder", "fields"),
        ("handlungsfeld umbenennen a b", "field_rename"),
        ("field retire Kultur", "field_retire"),
        ("ziel Z-1", "goal"),
        ("ziele", "goals"),
        ("ziel neu x", "goal_new"),
    ]:
        found = registry.find(text)
        assert found is not None and found[0].key == key, text


# -- the shared functions, as the command line calls them --------------------------------------


def cli_context(app: App, uow: Any) -> Context:
    return Context(
        incoming=Incoming(platform="cli", room_id="cli", sender_id="operator", text=""),
        uow=uow,
        person=None,
        is_admin=True,
        lang="en",
        now=NOW,
        settings=CoreSettings(),
        lookup=NameLookup(),
        room=None,
    )


def test_the_functions_for_the_command_line(empty_app: App) -> None:
    app = empty_app
    with app.uows(write=True) as uow:
        ctx = cli_context(app, uow)
        assert (
            add_entry(ctx, Catalog.FIELD, "  Gesundheit ") == "Field of action created: Gesundheit"
        )
        assert rename_entry(ctx, Catalog.TREND, "Demokratie", "Teilhabe") == (
            "Trend renamed: Demokratie → Teilhabe"
        )
        assert retire_entry(ctx, Catalog.FIELD, "Kultur") == (
            "Field of action retired: Kultur — stays on 0 goals, no longer offered for new goals."
        )
        assert list_entries(ctx, Catalog.FIELD) == [
            "Arbeit",
            "Bildung",
            "Gesundheit",
            "Integration",
            "Soziales",
            "Umwelt",
            "Wohnen",
            "Kultur (retired)",
        ]
        with pytest.raises(UsageError):
            add_entry(ctx, Catalog.TREND, " ")
        with pytest.raises(UsageError):
            add_entry(ctx, Catalog.TREND, "x" * 101)
        with pytest.raises(Refused, match="exists already"):
            add_entry(ctx, Catalog.FIELD, "GESUNDHEIT")
        with pytest.raises(NotFound):
            rename_entry(ctx, Catalog.FIELD, "Quatsch", "Neu")
        with pytest.raises(Ambiguous) as several:
            retire_entry(ctx, Catalog.FIELD, "eit")
        assert [m.label for m in several.value.candidates] == ["Arbeit", "Gesundheit"]
        with pytest.raises(NotFound):
            retire_entry(ctx, Catalog.TREND, "di")  # fewer than three letters
        uow.commit()
    with app.uows() as uow:
        kinds = uow.session.execute(
            select(AuditEntry.action, AuditEntry.entity_kind, AuditEntry.origin_platform).order_by(
                AuditEntry.id
            )
        ).all()
    assert [tuple(k) for k in kinds] == [
        ("create", "field_of_action", "cli"),
        ("rename", "trend", "cli"),
        ("retire", "field_of_action", "cli"),
    ]
