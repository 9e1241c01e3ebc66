"""Dialogue tests for the directory: ressorts, personen and ressort lösen.

The municipality is set up the way an operator does it — on the command line, from an empty
database — and then the same database is opened by the bot and people chat with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import Chat, FixedClock, make_app
from sqlalchemy import Engine, select
from test_dialogue_read import world

from bot.bootstrap import App, bootstrap
from bot.cli import main
from bot.config import load_config
from storage.models import AuditEntry, RoomLink

JA_ROOM = "!ja:stadt.de"
COORDINATION_ROOM = "-100777"

RESSORTS = "\n".join(
    [
        "Ressorts (2)",
        "JA Jugendamt · Aliase: Amt 51, Jugend · Raum: matrix:!ja:stadt.de",
        "SA Schulamt · kein Raum verknüpft",
        "Koordinationsraum: telegram:-100777",
    ]
)

PERSONEN = "\n".join(
    [
        "Personen (4)",
        "Anna Schmidt — koordination, Administration · erreichbar: matrix, telegram",
        "Eva Ohnekennung (SA) — ressort · nicht erreichbar: keine Chat-Kennung",
        "Max Müller (JA) — ressort · erreichbar: matrix",
        "Max Müller (SA) — lesen · erreichbar: telegram",
    ]
)

PERSONEN_JA = "\n".join(["Personen — JA (1)", "Max Müller (JA) — ressort · erreichbar: matrix"])

UNLINKED = "\n".join(
    [
        "Verknüpfung gelöst",
        "Dieser Raum gehört nicht mehr zu Jugendamt (JA). „status“ zeigt hier jetzt den "
        "Überblick über Musterstadt.",
        "JA hat jetzt keinen Raum; Erinnerungen an das Ressort gehen an den Koordinationsraum.",
        "Wieder verknüpfen: ressort verknüpfen JA",
    ]
)

NOTHING_TO_UNLINK_JA = "\n".join(
    [
        "Dieser Raum (matrix:!ja:stadt.de) ist mit keinem Ressort verknüpft; es gibt nichts zu "
        "lösen. Es wurde nichts geändert.",
        "Verknüpfen: ressort verknüpfen <ressort>",
    ]
)


# -- the operator's set-up ------------------------------------------------------------------


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    # An installation on Matrix and Telegram (nothing connects in these tests): who can be
    # reached depends on the chat identities people have there.
    path = tmp_path / "regelkreis.toml"
    path.write_text(
        f'[bot]\ndata_dir = "{tmp_path / "data"}"\n\n'
        '[matrix]\nhomeserver = "https://matrix.stadt.de"\nuser_id = "@bot:stadt.de"\n'
        'password = "x"\n\n'
        '[telegram]\ntoken = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ012345678"\n',
        encoding="utf-8",
    )
    return path


def run(config_file: Path, *args: str) -> None:
    assert main([*args, "--config", str(config_file)]) == 0, args


def open_bot(config_file: Path) -> App:
    """The bot on the operator's database, as `regelkreis run` would open it."""
    return bootstrap(load_config(config_file), clock=FixedClock())


@pytest.fixture
def town(config_file: Path, capsys: pytest.CaptureFixture[str]) -> App:
    """Two departments, one linked room, a coordination room and four people, all from the CLI."""
    run(config_file, "ressort", "add", "JA", "Jugendamt", "--alias", "Amt 51", "--alias", "Jugend")
    run(config_file, "ressort", "add", "SA", "Schulamt")
    run(config_file, "ressort", "link", "JA", "--matrix", JA_ROOM)
    run(config_file, "room", "coordination", "--telegram", COORDINATION_ROOM)
    run(
        config_file,
        *("person", "add", "Max Müller", "--ressort", "JA", "--rolle", "ressort"),
        *("--matrix", "@max:stadt.de"),
    )
    run(
        config_file,
        *("person", "add", "Anna Schmidt", "--rolle", "koordination", "--admin"),
        *("--matrix", "@anna:stadt.de", "--telegram", "1001"),
    )
    # Registered before her chat id is known: nobody can reach her yet.
    run(config_file, "person", "add", "Eva Ohnekennung", "--ressort", "SA", "--rolle", "ressort")
    # A namesake in another department, who reads in English.
    run(
        config_file,
        *("person", "add", "Max Müller", "--ressort", "SA", "--rolle", "lesen"),
        *("--telegram", "4711", "--language", "en"),
    )
    out = capsys.readouterr().out
    assert "Eva Ohnekennung registered (ressort; no chat identity yet)." in out
    return open_bot(config_file)


def anna_in(app: App, room: str = JA_ROOM) -> Chat:
    return Chat(app, "@anna:stadt.de", room, "matrix")


def room_state(app: App, platform: str, room_id: str) -> tuple[Any, ...]:
    with app.uows() as uow:
        room = uow.session.execute(
            select(RoomLink).where(RoomLink.platform == platform, RoomLink.room_id == room_id)
        ).scalar_one()
        key = room.department.key if room.department else None
        return (room.id, room.department_id, key, room.is_coordination)


def room_audits(app: App) -> list[AuditEntry]:
    with app.uows() as uow:
        rows = list(
            uow.session.execute(
                select(AuditEntry)
                .where(AuditEntry.entity_kind == "room", AuditEntry.origin_platform != "cli")
                .order_by(AuditEntry.id)
            ).scalars()
        )
        uow.session.expunge_all()
        return rows


# -- ressorts -------------------------------------------------------------------------------


def test_ressorts_lists_key_name_aliases_rooms_and_the_coordination_room(town: App) -> None:
    before = world(town)
    assert anna_in(town).say("ressorts") == RESSORTS
    # Every registered person may read it, whatever their role, in German or English.
    assert Chat(town, "@max:stadt.de", JA_ROOM, "matrix").say("ressorts") == RESSORTS
    namesake = Chat(town, "4711", "4711", "telegram")
    assert namesake.say("departments") == "\n".join(
        [
            "Departments (2)",
            "JA Jugendamt · aliases: Amt 51, Jugend · room: matrix:!ja:stadt.de",
            "SA Schulamt · no room linked",
            "Coordination room: telegram:-100777",
        ]
    )
    assert namesake.say("ressorts") == namesake.say("departments")
    assert world(town) == before


def test_a_room_that_is_also_the_coordination_room_is_marked(
    config_file: Path, town: App, capsys: pytest.CaptureFixture[str]
) -> None:
    run(config_file, "ressort", "link", "SA", "--telegram", COORDINATION_ROOM)
    run(config_file, "ressort", "link", "JA", "--telegram", "-100888")
    app = open_bot(config_file)
    assert anna_in(app).say("ressorts") == "\n".join(
        [
            "Ressorts (2)",
            "JA Jugendamt · Aliase: Amt 51, Jugend · Räume: matrix:!ja:stadt.de, telegram:-100888",
            "SA Schulamt · Raum: telegram:-100777 (Koordinationsraum)",
            "Koordinationsraum: telegram:-100777",
        ]
    )


def test_ressorts_with_a_word_says_where_one_department_is_shown(town: App) -> None:
    reply = anna_in(town).reply("ressorts JA")
    assert reply.outcome == "usage"
    assert reply.plain() == "\n".join(
        [
            "„ressorts“ listet alle Ressorts; ein Ressort im Einzelnen: status <ressort>, seine "
            "Personen: personen <ressort>.",
            "Aufruf: ressorts [seite:N]",
            "Beispiel: ressorts",
        ]
    )


# -- personen -------------------------------------------------------------------------------


def test_personen_shows_department_role_and_where_each_person_is_reachable(town: App) -> None:
    before = world(town)
    assert anna_in(town).say("personen") == PERSONEN
    assert Chat(town, "@max:stadt.de", JA_ROOM, "matrix").say("people") == PERSONEN
    assert Chat(town, "4711", "4711", "telegram").say("people") == "\n".join(
        [
            "People (4)",
            "Anna Schmidt — koordination, admin · reachable: matrix, telegram",
            "Eva Ohnekennung (SA) — ressort · not reachable: no chat id",
            "Max Müller (JA) — ressort · reachable: matrix",
            "Max Müller (SA) — lesen · reachable: telegram",
        ]
    )
    assert world(town) == before


@pytest.mark.parametrize("reference", ["JA", "ja", "Jugendamt", "Jugend", "Amt 51", "jugendamt"])
def test_personen_of_one_department_by_key_name_or_alias(town: App, reference: str) -> None:
    assert anna_in(town).say(f"personen {reference}") == PERSONEN_JA


def test_personen_of_a_department_with_the_namesake_and_the_unreachable(town: App) -> None:
    assert anna_in(town).say("personen Schulamt") == "\n".join(
        [
            "Personen — SA (2)",
            "Eva Ohnekennung (SA) — ressort · nicht erreichbar: keine Chat-Kennung",
            "Max Müller (SA) — lesen · erreichbar: telegram",
        ]
    )
    assert Chat(town, "4711", "4711", "telegram").say("people SA").splitlines()[0] == (
        "People — SA (2)"
    )


def test_personen_of_a_department_nobody_is_registered_in(
    config_file: Path, town: App, capsys: pytest.CaptureFixture[str]
) -> None:
    run(config_file, "ressort", "add", "KA", "Kulturamt")
    app = open_bot(config_file)
    assert anna_in(app).say("personen KA") == "\n".join(
        [
            "Personen — KA (0)",
            "Für Kulturamt (KA) ist noch niemand registriert.",
            'Registrieren (Administration): person neu "<name>" ressort:KA rolle:ressort '
            "<chat-id> — auf der Kommandozeile: regelkreis person add",
        ]
    )


def test_personen_with_an_unknown_department_names_what_exists(town: App) -> None:
    before = world(town)
    anna = anna_in(town)
    reply = anna.reply("personen xyz")
    assert reply.outcome == "not_found"
    # Nothing is like "xyz": the reply lists the departments there are, to try again with.
    assert reply.plain() == "„xyz“ habe ich nicht gefunden.\nRessorts: JA, SA"
    # Something close: the closest department, to type next.
    reply = anna.reply("personen Jugendämter")
    assert reply.outcome == "not_found"
    assert reply.plain() == "„Jugendämter“ habe ich nicht gefunden. Ähnlich: Jugendamt (JA)"
    assert anna.say("personen Jugendamt") == PERSONEN_JA
    assert world(town) == before


def test_personen_shows_an_absent_person_with_their_deputy(town: App) -> None:
    max_ja = Chat(town, "@max:stadt.de", JA_ROOM, "matrix")
    assert max_ja.reply('vertretung durch "Anna Schmidt" bis 18.12.2026').outcome == "ok"
    assert anna_in(town).say("personen JA") == "\n".join(
        [
            "Personen — JA (1)",
            "Max Müller (JA) — ressort · erreichbar: matrix · abwesend bis 18.12.2026, "
            "Vertretung: Anna Schmidt",
        ]
    )
    assert Chat(town, "4711", "4711", "telegram").say("people JA").splitlines()[1] == (
        "Max Müller (JA) — ressort · reachable: matrix · absent until 2026-12-18, "
        "deputy: Anna Schmidt"
    )


# -- ressort lösen --------------------------------------------------------------------------


def test_ressort_loesen_removes_the_rooms_link_and_audits_it(town: App) -> None:
    room_id, department_id, key, coordination = room_state(town, "matrix", JA_ROOM)
    assert (key, coordination) == ("JA", False)
    anna = anna_in(town)
    assert anna.say("ressort lösen") == UNLINKED
    # The room stays known to the bot, now without a department.
    assert room_state(town, "matrix", JA_ROOM) == (room_id, None, None, False)
    [entry] = room_audits(town)
    assert (entry.action, entry.entity_id, entry.before, entry.after) == (
        "unlink",
        room_id,
        {"department": "JA"},
        {"department": None, "room": "matrix:!ja:stadt.de"},
    )
    assert (entry.actor, entry.origin_platform, entry.origin_room, entry.origin_message_id) == (
        "matrix:@anna:stadt.de",
        "matrix",
        JA_ROOM,
        "@anna:stadt.de-1",
    )
    assert entry.person_id is not None  # Anna, a registered admin
    # The other commands see the change at once.
    assert anna.say("ressorts").splitlines()[1] == (
        "JA Jugendamt · Aliase: Amt 51, Jugend · kein Raum verknüpft"
    )
    assert anna.say("ressort").splitlines()[1] == (
        "Nicht verknüpft. Verknüpfen mit: ressort verknüpfen <ressort>"
    )
    assert anna.say("status").startswith("📊 Überblick Musterstadt — 0 Maßnahmen")

    # A second time there is nothing to remove, and nothing changes.
    before = world(town)
    reply = anna.reply("ressort lösen")
    assert reply.plain() == NOTHING_TO_UNLINK_JA
    assert world(town) == before
    assert len(room_audits(town)) == 1

    # Linking again works as the reply said.
    assert anna.say("ressort verknüpfen JA").splitlines()[0] == "Raum verknüpft"
    assert room_state(town, "matrix", JA_ROOM) == (room_id, department_id, "JA", False)


@pytest.mark.parametrize(
    "typed", ["ressort_loesen", "ressort loesen", "Ressort Lösen", "department unlink"]
)
def test_ressort_loesen_in_every_spelling_wins_over_ressort(town: App, typed: str) -> None:
    registry = town.dispatcher.registry
    found = registry.find(typed)
    assert found is not None and found[0].key == "department_unlink"
    shown = registry.find("ressort")
    assert shown is not None and shown[0].key == "department"
    assert anna_in(town).say(typed) == UNLINKED
    assert room_state(town, "matrix", JA_ROOM)[1] is None


def test_ressort_loesen_in_english(town: App, config_file: Path) -> None:
    run(config_file, "ressort", "link", "SA", "--telegram", "-100999")
    app = open_bot(config_file)
    # The namesake is no admin; Anna answers in English when the room says so.
    assert Chat(app, "4711", "-100999", "telegram").say("department unlink") == (
        "“department unlink” needs the role admin. Your role: lesen."
    )
    anna = Chat(app, "1001", "-100999", "telegram")
    assert anna.say("sprache en").startswith("I will answer you in English")
    assert anna.say("department unlink") == "\n".join(
        [
            "Link removed",
            "This room no longer belongs to Schulamt (SA). “status” here now shows the "
            "overview of Musterstadt.",
            "SA has no room now; reminders to the department go to the coordination room.",
            "Link it again: department link SA",
        ]
    )


def test_ressort_loesen_is_refused_to_anyone_but_an_admin(town: App) -> None:
    before = world(town)
    max_ja = Chat(town, "@max:stadt.de", JA_ROOM, "matrix")
    reply = max_ja.reply("ressort lösen")
    assert reply.outcome == "refused"
    assert reply.plain() == (
        "„ressort lösen“ dürfen nur Personen mit der Rolle Administration. Ihre Rolle: ressort."
    )
    assert world(town) == before
    assert room_state(town, "matrix", JA_ROOM)[2] == "JA"
    assert room_audits(town) == []


def test_ressort_loesen_naming_another_department_changes_nothing(town: App) -> None:
    before = world(town)
    anna = anna_in(town)
    reply = anna.reply("ressort lösen SA")
    assert reply.outcome == "refused"
    assert reply.plain() == (
        "Dieser Raum gehört zu Jugendamt (JA), nicht zu Schulamt (SA). Es wurde nichts "
        "geändert. Die Verknüpfung lösen: ressort lösen"
    )
    assert world(town) == before
    # Naming the room's own department (by alias here) is a confirmation.
    assert anna.say("ressort lösen Jugend") == UNLINKED


def test_ressort_loesen_in_the_coordination_room_keeps_it_the_coordination_room(
    config_file: Path, town: App
) -> None:
    anna = Chat(town, "1001", COORDINATION_ROOM, "telegram")
    before = world(town)
    assert anna.say("ressort lösen") == "\n".join(
        [
            "Dieser Raum (telegram:-100777) ist mit keinem Ressort verknüpft; es gibt nichts zu "
            "lösen. Es wurde nichts geändert.",
            "Er ist der Koordinationsraum.",
            "Verknüpfen: ressort verknüpfen <ressort>",
        ]
    )
    assert world(town) == before

    run(config_file, "ressort", "link", "SA", "--telegram", COORDINATION_ROOM)
    app = open_bot(config_file)
    anna = Chat(app, "1001", COORDINATION_ROOM, "telegram")
    room_id = room_state(app, "telegram", COORDINATION_ROOM)[0]
    assert anna.say("ressort lösen") == "\n".join(
        [
            "Verknüpfung gelöst",
            "Dieser Raum gehört nicht mehr zu Schulamt (SA). „status“ zeigt hier jetzt den "
            "Überblick über Musterstadt.",
            "SA hat jetzt keinen Raum; Erinnerungen an das Ressort gehen an den Koordinationsraum.",
            "Dieser Raum bleibt Koordinationsraum.",
            "Wieder verknüpfen: ressort verknüpfen SA",
        ]
    )
    assert room_state(app, "telegram", COORDINATION_ROOM) == (room_id, None, None, True)
    assert anna.say("ressorts").splitlines()[-2:] == [
        "SA Schulamt · kein Raum verknüpft",
        "Koordinationsraum: telegram:-100777",
    ]


def test_ressort_loesen_of_a_department_with_another_room_says_it_stays_linked(
    config_file: Path, town: App
) -> None:
    run(config_file, "ressort", "link", "JA", "--telegram", "-100888")
    app = open_bot(config_file)
    assert anna_in(app).say("ressort lösen").splitlines()[2] == (
        "JA bleibt verknüpft mit: telegram:-100888"
    )


# -- an empty database ----------------------------------------------------------------------


def test_a_fresh_database_with_only_the_admin(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(
        config_file,
        *("person", "add", "Anna Schmidt", "--rolle", "koordination", "--admin"),
        *("--matrix", "@anna:stadt.de"),
    )
    app = open_bot(config_file)
    anna = anna_in(app, "!neu:stadt.de")
    before = world(app)
    assert anna.say("ressorts") == "\n".join(
        [
            "Ressorts",
            "Noch keine Ressorts angelegt.",
            'Anlegen (Administration): ressort neu <kürzel> "<name>" — auf der Kommandozeile: '
            'regelkreis ressort add <KÜRZEL> "<Name>"',
            "Koordinationsraum: noch keiner (festlegen im Raum: raum koordination)",
        ]
    )
    assert anna.say("personen") == "\n".join(
        [
            "Personen (1)",
            "Anna Schmidt — koordination, Administration · erreichbar: matrix",
            'Registrieren (Administration): person neu "<name>" ressort:<kürzel> rolle:ressort '
            "<chat-id> — auf der Kommandozeile: regelkreis person add",
        ]
    )
    reply = anna.reply("personen JA")
    assert reply.outcome == "not_found"
    assert reply.plain() == "\n".join(
        [
            "„JA“ habe ich nicht gefunden.",
            'Noch keine Ressorts angelegt. Anlegen (Administration): ressort neu <kürzel> "<name>"',
        ]
    )
    assert anna.say("ressort lösen") == "\n".join(
        [
            "Dieser Raum (matrix:!neu:stadt.de) ist mit keinem Ressort verknüpft; es gibt "
            "nichts zu lösen. Es wurde nichts geändert.",
            "Verknüpfen: ressort verknüpfen <ressort>",
        ]
    )
    assert world(app) == before
    # The answers are right: after `ressort neu` the department is listed.
    assert anna.say('ressort neu JA "Jugendamt"').splitlines()[0] == "Ressort angelegt"
    assert anna.say("ressorts").splitlines()[:2] == [
        "Ressorts (1)",
        "JA Jugendamt · kein Raum verknüpft",
    ]


def test_an_empty_database_and_an_admin_named_only_in_the_configuration(
    sqlite_only_engine: Engine, clock: FixedClock
) -> None:
    from storage.migrate import upgrade

    upgrade(sqlite_only_engine)
    app = make_app(sqlite_only_engine, clock, demo=False)
    root = Chat(app, "@root:musterstadt.de", "!raum:musterstadt.de", "matrix")
    before = world(app)
    reply = root.reply("ressorts")
    assert reply.outcome == "refused"
    assert reply.plain() == (
        "„ressorts“ braucht eine registrierte Person. Sie sind Administration, aber nicht als "
        'Person registriert. Registrieren mit: person neu "<name>" rolle:koordination '
        "matrix:@root:musterstadt.de"
    )
    # The admin command itself works for them: nothing to remove in an unknown room.
    assert root.say("ressort lösen").splitlines()[0] == (
        "Dieser Raum (matrix:!raum:musterstadt.de) ist mit keinem Ressort verknüpft; es gibt "
        "nichts zu lösen. Es wurde nichts geändert."
    )
    assert world(app) == before


# -- long lists, on the example municipality ------------------------------------------------

# The example municipality runs with no chat platform configured: the console reaches
# everyone, whatever Matrix or Telegram ids they have (PRODUCT.md §3).
PERSONEN_PAGE_1 = [
    "Personen (20)",
    "Andreas Wolf (SOZ) — ressort · erreichbar: console",
    "Anna Schmidt (BB) — koordination, Administration · erreichbar: console",
    "Birgit Koch (GA) — ressort · erreichbar: console",
    "Claudia Berger (GA) — lesen · erreichbar: console",
    "Daniel Lorenz (WF) — ressort · erreichbar: console",
    "Jonas Weber (BB) — koordination · erreichbar: console",
    "Julia Richter (JA) — ressort · erreichbar: console · abwesend bis 07.12.2026, "
    "Vertretung: Markus Becker (JA)",
    "Katrin Schulz (SA) — ressort · erreichbar: console",
    "Lukas Krause (KA) — ressort · erreichbar: console",
    "Markus Becker (JA) — ressort · erreichbar: console",
    "… und 10 weitere: personen seite:2 (oder personen <ressort>)",
]

PERSONEN_PAGE_2 = [
    "Personen (20), Seite 2 von 2",
    "Martin Kaiser — lesen · erreichbar: console",
    "Michael Fischer (SP) — ressort · erreichbar: console",
    "Monika Schäfer (SOZ) — ressort · erreichbar: console",
    "Nicole Franke (UA) — ressort · erreichbar: console",
    "Petra Vogel — lesen · erreichbar: console",
    "Sabine Braun (SP) — ressort · erreichbar: console",
    "Sarah Miller (IB) — ressort · erreichbar: console",
    "Stefan Wagner (SA) — ressort · erreichbar: console",
    "Tobias Keller (UA) — ressort · erreichbar: console",
    "Yusuf Demir (IB) — ressort · erreichbar: console",
]


def test_personen_is_cut_with_how_many_more_and_the_command_that_shows_them(
    sqlite_app: App,
) -> None:
    anna = Chat(sqlite_app, "Anna Schmidt")
    before = world(sqlite_app)
    assert anna.say("personen").splitlines() == PERSONEN_PAGE_1
    # The command the cut line names shows the rest.
    assert anna.say("personen seite:2").splitlines() == PERSONEN_PAGE_2
    assert anna.say("people page:2") == anna.say("personen seite:2")
    reply = anna.reply("personen seite:3")
    assert reply.outcome == "usage"
    assert reply.plain().splitlines()[0] == "Seite 3 gibt es nicht; die Liste hat 2 Seiten."
    assert anna.reply("personen seite:null").plain().splitlines()[0] == (
        "Die Seite ist eine Zahl ab 1."
    )
    # ... or one department's people, which fit.
    assert anna.say("personen JA").splitlines() == [
        "Personen — JA (2)",
        PERSONEN_PAGE_1[7],
        PERSONEN_PAGE_1[10],
    ]
    assert world(sqlite_app) == before


def test_personen_with_an_ambiguous_department_asks_and_the_number_picks(
    sqlite_app: App,
) -> None:
    anna = Chat(sqlite_app, "Anna Schmidt")
    reply = anna.reply("personen amt")
    assert reply.outcome == "ambiguous"
    assert reply.plain().splitlines()[:3] == [
        "„amt“ passt auf mehrere. Bitte mit der Nummer antworten:",
        "1. Jugendamt (JA)",
        "2. Schulamt (SA)",
    ]
    assert anna.say("2") == "\n".join(
        [
            "Personen — SA (2)",
            "Katrin Schulz (SA) — ressort · erreichbar: console",
            "Stefan Wagner (SA) — ressort · erreichbar: console",
        ]
    )


def test_ressorts_is_cut_with_how_many_more_and_the_command_that_shows_them(
    sqlite_app: App,
) -> None:
    anna = Chat(sqlite_app, "Anna Schmidt")
    ten = anna.say("ressorts").splitlines()
    # Ten departments fit on one page.
    assert ten[0] == "Ressorts (10)"
    assert ten[1:4] == [
        "BB Bildungsbüro · Aliase: Bildungsbuero, Steuerungsstelle · kein Raum verknüpft",
        "GA Gesundheitsamt · Aliase: Amt 53, Gesundheit · kein Raum verknüpft",
        "IB Integrationsbüro · Aliase: Integrationsbuero, Integration · Raum: console:integration",
    ]
    assert ten[-1] == "Koordinationsraum: console:koordination"
    assert len(ten) == 12
    assert anna.say('ressort neu KITA "Kita-Eigenbetrieb"').splitlines()[0] == "Ressort angelegt"
    eleven = anna.say("ressorts").splitlines()
    assert eleven[0] == "Ressorts (11)"
    assert eleven[6] == "KITA Kita-Eigenbetrieb · kein Raum verknüpft"
    assert eleven[-2:] == [
        "… und 1 weitere: ressorts seite:2",
        "Koordinationsraum: console:koordination",
    ]
    assert anna.say("ressorts seite:2").splitlines() == [
        "Ressorts (11), Seite 2 von 2",
        "WF Wirtschaftsförderung · Aliase: Amt 80, Wirtschaft · kein Raum verknüpft",
        "Koordinationsraum: console:koordination",
    ]


def test_hilfe_names_the_directory_commands(sqlite_app: App) -> None:
    anna = Chat(sqlite_app, "Anna Schmidt")
    listed = anna.say("hilfe").splitlines()
    for line in (
        "ressorts [seite:N] — Ressorts mit Kürzel, Aliasen und Räumen, dazu der Koordinationsraum",
        "personen [ressort] [seite:N] — Personen mit Ressort, Rolle und wo sie erreichbar sind",
        "ressort lösen — Verknüpfung dieses Raums mit seinem Ressort lösen",
    ):
        assert line in listed
    assert anna.say("hilfe ressort lösen") == "\n".join(
        [
            "ressort lösen",
            "Verknüpfung dieses Raums mit seinem Ressort lösen",
            "Aufruf: ressort lösen",
            "Beispiel: ressort lösen",
            "Wer: Administration",
            "Auch: department unlink, /ressort_loesen",
        ]
    )
    # A reader sees the lists but not the admin command.
    reader = Chat(sqlite_app, "Claudia Berger").say("hilfe").splitlines()
    assert any(line.startswith("personen ") for line in reader)
    assert not any(line.startswith("ressort lösen") for line in reader)
