"""Dialogue tests for the read commands: what a person types, what the bot answers.

Every expected reply is written out from the example municipality (storage/demo.py) on the
fixed day of the fixtures, Friday 27 November 2026. Reading never changes anything, so most
tests also check that the database is exactly as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import Chat, FixedClock, make_app
from sqlalchemy import func, select

from bot.bootstrap import App
from handlers.core import ShownVersion
from storage import events
from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import (
    AuditEntry,
    ChatIdentity,
    Department,
    DepartmentAlias,
    Goal,
    Measure,
    OutboxEntry,
    Person,
    PlanningArea,
    RoomLink,
    StatusReport,
)

# -- expected replies, from the example data -----------------------------------------------

OVERVIEW_MUSTERSTADT = "\n".join(
    [
        "📊 Überblick Musterstadt — 50 Maßnahmen",
        "⚪ 7 geplant · 🟢 20 laufend · 🟡 8 verzögert · 🔴 6 gefährdet · ✅ 6 erledigt · "
        "⚫ 3 abgebrochen",
        "",
        "🔴 Überfällig: 7",
        "  🔴 M-43 Notunterkunft Altstadt sanieren — SOZ, 50 %, 75 Tage überfällig",
        "  🔴 M-6 Kita-Neubau Am Weinberg (120 Plätze) — JA, 35 %, 40 Tage überfällig",
        "  🔴 M-30 Trinkwasserbrunnen an Schulen und Spielplätzen — UA, 0 %, 21 Tage überfällig",
        "… und 4 weitere: überfällig",
        "⏰ Fällig in 14 Tagen: 6",
        "💤 Ohne aktuellen Bericht: 7",
    ]
)

OVERVIEW_JA = "\n".join(
    [
        # Measures JA leads or takes part in — the same set `überfällig JA` lists.
        "📊 Jugendamt (JA) — 20 Maßnahmen, 10 federführend",
        "⚪ 3 geplant · 🟢 9 laufend · 🟡 3 verzögert · 🔴 3 gefährdet · ✅ 2 erledigt · "
        "⚫ 0 abgebrochen",
        "",
        "🔴 Überfällig: 3",
        "  🔴 M-6 Kita-Neubau Am Weinberg (120 Plätze) — JA, 35 %, 40 Tage überfällig",
        "  🔴 M-11 Schulsozialarbeit an der Oberschule Nordstadt verstetigen — JA, 60 %, "
        "8 Tage überfällig",
        "  🔴 M-21 Elternkurse Deutsch mit Kinderbetreuung — IB, 50 %, 3 Tage überfällig",
        "⏰ Fällig in 14 Tagen: 4",
        "💤 Ohne aktuellen Bericht: 2",
    ]
)

DETAIL_M1 = "\n".join(
    [
        "🟢 M-1 Sprachförderung in Kitas der Nordstadt",
        "Status: laufend, 80 % · Frist 06.12.2026 (in 9 Tagen)",
        "Federführend: Jugendamt (JA) · beteiligt: GA, IB",
        "Verantwortlich: Markus Becker",
        "Ziel: Z-8 Sprachstand bei Schuleintritt verbessern · Planungsraum: Nordstadt",
        "Letzter Bericht: 07.11.2026 (Markus Becker): „Abschlussdokumentation in Arbeit“ · "
        "Intervall: quartalsweise",
        "Alltagsintegrierte Sprachförderung in den fünf Kitas der Nordstadt mit zusätzlichen "
        "Sprachfachkräften; das Gesundheitsamt liefert die Sprachstandsdaten, das "
        "Integrationsbüro übernimmt die Elternarbeit.",
    ]
)

DUE_14 = [
    "🟢 M-48 Kita-Datenbericht für die Steuergruppe — BB, 90 %, Frist 28.11.2026",
    "🔴 M-42 Präventionsberatung bei Mietschulden — SOZ, 40 %, Frist 30.11.2026",
    "🔴 M-13 Schulsozialarbeit: Begleitung bei Schulverweigerung — JA, 25 %, Frist 02.12.2026",
    "🟡 M-28 Hitzeaktionsplan für Kitas und Grundschulen — UA, 70 %, Frist 03.12.2026",
    "🟢 M-1 Sprachförderung in Kitas der Nordstadt — JA, 80 %, Frist 06.12.2026",
    "🟢 M-24 Kulturpass für Kinder aus Familien mit geringem Einkommen — KA, 85 %, "
    "Frist 10.12.2026",
]

OVERDUE_ALL = [
    "🔴 M-43 Notunterkunft Altstadt sanieren — SOZ, 50 %, 75 Tage überfällig",
    "🔴 M-6 Kita-Neubau Am Weinberg (120 Plätze) — JA, 35 %, 40 Tage überfällig",
    "🔴 M-30 Trinkwasserbrunnen an Schulen und Spielplätzen — UA, 0 %, 21 Tage überfällig",
    "🔴 M-3 Sprachförderung im Ganztag — SA, 55 %, 12 Tage überfällig",
    "🔴 M-11 Schulsozialarbeit an der Oberschule Nordstadt verstetigen — JA, 60 %, "
    "8 Tage überfällig",
    "🔴 M-34 Straßenbäume Südvorstadt (200 Neupflanzungen) — UA, 85 %, 5 Tage überfällig",
    "🔴 M-21 Elternkurse Deutsch mit Kinderbetreuung — IB, 50 %, 3 Tage überfällig",
]

# JA leads M-6 and M-11 and takes part in M-21 (Elternkurse, led by the Integrationsbüro).
OVERDUE_JA = "\n".join(
    [
        "Überfällig — JA (3)",
        "🔴 M-6 Kita-Neubau Am Weinberg (120 Plätze) — JA, 35 %, 40 Tage überfällig",
        "🔴 M-11 Schulsozialarbeit an der Oberschule Nordstadt verstetigen — JA, 60 %, "
        "8 Tage überfällig",
        "🔴 M-21 Elternkurse Deutsch mit Kinderbetreuung — IB, 50 %, 3 Tage überfällig",
    ]
)

GOAL_TREE = "\n".join(
    [
        "🎯 Zielbaum",
        "▸ Z-1 Bildungsgerechtigkeit für alle Kinder und Jugendlichen — 48 %, 30 Maßn.",
        "  ▸ Z-3 Frühkindliche Bildung stärken — 50 %, 11 Maßn.",
        "    • Z-8 Sprachstand bei Schuleintritt verbessern — 46 %, 5 Maßn.",
        "    • Z-9 Kita-Plätze bedarfsgerecht ausbauen — 44 %, 4 Maßn.",
        "  ▸ Z-4 Übergang Schule–Beruf verbessern — 48 %, 10 Maßn.",
        "    • Z-10 Schulabschlüsse sichern — 57 %, 5 Maßn.",
        "    • Z-11 Ausbildungsplätze regional besetzen — 49 %, 4 Maßn.",
        "  ▸ Z-5 Integration durch Sprache — 48 %, 9 Maßn.",
        "    • Z-12 Deutschkenntnisse zugewanderter Eltern fördern — 45 %, 4 Maßn.",
        "    • Z-13 Teilhabe an Kultur und Vereinsleben stärken — 51 %, 4 Maßn.",
        "▸ Z-2 Lebenswerte und klimagerechte Stadtteile — 47 %, 17 Maßn.",
        "  ▸ Z-6 Klimaanpassung im Quartier — 41 %, 9 Maßn.",
        "    • Z-14 Hitzeschutz in Kitas und Schulen — 54 %, 4 Maßn.",
        "    • Z-15 Mehr Grün im Quartier — 32 %, 4 Maßn.",
        "  ▸ Z-7 Bezahlbarer Wohnraum — 54 %, 8 Maßn.",
        "    • Z-16 Sozialen Wohnungsbau ausweiten — 63 %, 3 Maßn.",
        "    • Z-17 Wohnungslosigkeit vermeiden — 52 %, 3 Maßn.",
    ]
)

GOAL_Z3 = "\n".join(
    [
        "🎯 Z-3 Frühkindliche Bildung stärken",
        "Ziel · unter Z-1 · Bildung · Trends: Diversität",
        "Fortschritt: 50 % über 11 Maßnahmen",
        "Intervall: halbjährlich",
        "",
        "Unterziele",
        "▸ Z-8 Sprachstand bei Schuleintritt verbessern",
        "▸ Z-9 Kita-Plätze bedarfsgerecht ausbauen",
        "",
        "Maßnahmen (2)",
        "🟢 M-45 Netzwerk Frühe Hilfen: Begleitung junger Familien — GA, 50 %, ohne Frist",
        "🟢 M-48 Kita-Datenbericht für die Steuergruppe — BB, 90 %, Frist 28.11.2026",
        "",
        "Zielbewertung",
        "✅ erreicht (16.10.2026): Frühe Hilfen und Sprachförderung in Kitas laufen wie geplant.",
        "Nächste Bewertung fällig: 16.04.2027 (halbjährlich)",
    ]
)

GOAL_Z8 = "\n".join(
    [
        "🎯 Z-8 Sprachstand bei Schuleintritt verbessern",
        "Teilziel · unter Z-3 · Bildung · Trends: Demografischer Wandel, Diversität",
        "Qualitätsziel: Bis 2028 haben mindestens 80 % der Kinder bei der "
        "Schuleingangsuntersuchung keinen Sprachförderbedarf.",
        "Fortschritt: 46 % über 5 Maßnahmen",
        "Intervall: jährlich",
        "",
        "Maßnahmen (5)",
        "🔴 M-3 Sprachförderung im Ganztag — SA, 55 %, 12 Tage überfällig",
        "🟢 M-1 Sprachförderung in Kitas der Nordstadt — JA, 80 %, Frist 06.12.2026",
        "🟢 M-4 Alltagsintegrierte Sprachbildung: Fortbildung Kita-Fachkräfte — JA, 50 %, "
        "Frist 10.02.2027",
        "🟢 M-2 Sprachförderung für Eltern (Rucksack-Programm) — IB, 45 %, Frist 06.05.2027",
        "⚪ M-5 Sprachstandserhebung vor der Einschulung ausweiten — GA, 0 %, Frist 15.06.2027",
        "",
        "Kennzahlen",
        "🟡 K-1 Kinder mit Sprachförderbedarf bei der Schuleingangsuntersuchung: 27,8 % "
        "(30.09.2026), Ziel 20 % (2029)",
        "",
        "Zielbewertung",
        "🟡 teilweise erreicht (16.10.2026): Sprachförderbedarf sinkt, aber langsamer als der "
        "Zielpfad (K-1).",
        "Nächste Bewertung fällig: 16.10.2027 (jährlich)",
    ]
)

HISTORY_M1 = "\n".join(
    [
        "Verlauf M-1 Sprachförderung in Kitas der Nordstadt",
        "07.11.2026 13:07 Markus Becker: 65 % → 80 % — „Abschlussdokumentation in Arbeit“",
        "19.08.2026 12:07 Markus Becker: 40 % → 65 % — „Zwischenauswertung: 140 Kinder erreicht“",
        "21.05.2026 11:07 Markus Becker: 10 % → 40 % — „Fortbildung der Kita-Teams abgeschlossen“",
        "20.02.2026 10:07 Markus Becker: geplant → laufend, 0 % → 10 % — „Sprachfachkräfte in "
        "drei Kitas eingestellt“",
    ]
)

HELP_ALL = [
    "hilfe [befehl] — Befehle anzeigen",
    "status [bezug] — Überblick des Raums oder Details zu Maßnahme, Ziel, Ressort, Person, "
    "Planungsraum",
    "meine — meine offenen Maßnahmen, nächste Frist zuerst",
    "fällig [tage] [ressort] — Maßnahmen mit Frist in den nächsten Tagen (Standard 14)",
    "überfällig [ressort] — überfällige Maßnahmen",
    "ziele — Zielbaum mit Fortschritt",
    "ziel <bezug> — ein Ziel mit Maßnahmen und Kennzahlen",
    "verlauf <maßnahme> — Berichte und Änderungen, neueste zuerst",
    'neu "<titel>" ressort: frist: ziel: verantwortlich: beteiligt: raum: intervall: — '
    "Maßnahme anlegen",
    'ziel neu "<titel>" oberziel: handlungsfeld: trends: intervall: — Ziel im Zielbaum anlegen',
    "zuweisen <maßnahme> an <person|ressort> — Verantwortliche Person oder federführendes "
    "Ressort setzen (benachrichtigt)",
    "melden <maßnahme> [status] [NN%] [notiz] — Stand melden (Status: geplant, laufend, "
    "verzögert, gefährdet, erledigt, abgebrochen)",
    "erledigt <maßnahme> [notiz] — als erledigt melden",
    "frist <maßnahme> <datum> <begründung> — Frist ändern, mit Begründung",
    'ressort neu <kürzel> "<name>" [alias:…] — Ressort anlegen',
    "ressort verknüpfen <ressort> — diesen Raum mit einem Ressort verknüpfen",
    "ressort — Verknüpfung dieses Raums zeigen",
    "raum koordination — diesen Raum zum Koordinationsraum machen",
    'person neu "<name>" ressort: rolle: <chat-id> — Person mit Chat-ID registrieren',
    "person ändern <person> ressort: rolle: kennung: email: — Ressort, Rolle, Chat-Kennungen "
    "oder E-Mail einer Person ändern (kennung:-… entfernt, email:- löscht)",
    "person deaktivieren <person> — Person deaktivieren: Maßnahmen bleiben, Erinnerungen gehen "
    "an das Ressort",
    "wer bin ich — Chat-ID, Rolle und Raum anzeigen",
    "sprache de|en — Antwortsprache für mich",
]

UNREGISTERED = (
    "Sie sind noch nicht registriert. Ihre Chat-ID: matrix:@fremd:example.org\n"
    "Bitte wenden Sie sich an Anna Schmidt, Jonas Weber, damit Sie eingetragen werden."
)


# -- helpers --------------------------------------------------------------------------------


def world(app: App) -> tuple[Any, ...]:
    """Everything a command could change: row counts, every measure, person and room link."""
    with app.uows() as uow:
        s = uow.session
        counts = {
            model.__name__: s.scalar(select(func.count()).select_from(model))
            for model in (
                Measure,
                StatusReport,
                AuditEntry,
                OutboxEntry,
                Goal,
                Department,
                DepartmentAlias,
                Person,
                ChatIdentity,
                RoomLink,
                PlanningArea,
            )
        }
        measures = s.execute(
            select(
                Measure.id,
                Measure.version,
                Measure.status,
                Measure.progress,
                Measure.deadline,
                Measure.responsible_id,
                Measure.lead_department_id,
            ).order_by(Measure.id)
        ).all()
        people = s.execute(
            select(Person.id, Person.language, Person.role, Person.department_id).order_by(
                Person.id
            )
        ).all()
        rooms = s.execute(
            select(
                RoomLink.platform,
                RoomLink.room_id,
                RoomLink.department_id,
                RoomLink.is_coordination,
            ).order_by(RoomLink.id)
        ).all()
    return counts, measures, people, rooms


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """One example municipality (SQLite, fixed clock) shared by the tests here that only
    read (checked after each one: see `_reading_changes_nothing`). Tests that write use
    `sqlite_app`."""
    events.install()
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('town') / 'regelkreis.db'}")
    upgrade(engine)
    yield make_app(engine, FixedClock())
    engine.dispose()


@pytest.fixture(autouse=True)
def _reading_changes_nothing(request: pytest.FixtureRequest) -> Iterator[None]:
    if "town" not in request.fixturenames:
        yield
        return
    town: App = request.getfixturevalue("town")
    before = world(town)
    yield
    assert world(town) == before, "a read command changed the shared municipality"


@pytest.fixture
def anna(town: App) -> Chat:
    """The example coordinator (koordination, admin) in the unlinked console room."""
    return Chat(town, "Anna Schmidt")


@pytest.fixture
def markus(town: App) -> Chat:
    """Department member (ressort) of the Jugendamt, in the Jugendamt's room."""
    return Chat(town, "Markus Becker", "jugendamt")


@pytest.fixture
def sarah(town: App) -> Chat:
    """Department member of the Integrationsbüro who has English as her language."""
    return Chat(town, "Sarah Miller", "integration")


@pytest.fixture
def stranger(town: App) -> Chat:
    return Chat(town, "@fremd:example.org", "!raum:example.org", platform="matrix")


# -- hilfe ------------------------------------------------------------------------------------


def in_order(lines: list[str], expected: list[str]) -> bool:
    """Whether `expected` appear in `lines` in this order (other lines may come between)."""
    remaining = iter(lines)
    return all(any(line == wanted for line in remaining) for wanted in expected)


def test_hilfe_lists_every_command_a_coordinator_and_admin_may_use(anna: Chat) -> None:
    reply = anna.say("hilfe").splitlines()
    assert reply[0] == "Befehle"
    assert reply[-1] == "Mehr zu einem Befehl: hilfe <befehl>"
    assert in_order(reply, HELP_ALL), reply
    # Every command of the registry is listed once (commands other teams add included).
    registry = anna.app.dispatcher.registry
    for command in registry.commands:
        if command.listed:
            usage_line = f"{command.usage_line('de')} — {command.help_line('de')}"
            assert reply.count(usage_line) == 1, command.key
    assert anna.say("help") == anna.say("hilfe")


def test_hilfe_for_a_reader_lists_only_what_they_may_use(town: App) -> None:
    claudia = Chat(town, "Claudia Berger")
    reply = claudia.say("hilfe").splitlines()
    # Reading commands and the personal ones ...
    assert in_order(
        reply,
        [
            "Befehle",
            *HELP_ALL[:8],
            "wer bin ich — Chat-ID, Rolle und Raum anzeigen",
            "sprache de|en — Antwortsprache für mich",
            "Mehr zu einem Befehl: hilfe <befehl>",
        ],
    ), reply
    # ... and none that changes measures, goals, departments, rooms or people.
    for line in HELP_ALL[8:19]:
        assert line not in reply
    assert not any(line.startswith(("melden ", "neu ", "ressort ")) for line in reply)


def test_hilfe_for_one_command_shows_usage_example_role_and_other_names(anna: Chat) -> None:
    assert anna.say("hilfe melden") == "\n".join(
        [
            "melden",
            "Stand melden (Status: geplant, laufend, verzögert, gefährdet, erledigt, abgebrochen)",
            "Aufruf: melden <maßnahme> [status] [NN%] [notiz]",
            "Beispiel: melden M-12 70% Träger gefunden",
            "Wer: koordination oder ressort",
            "Auch: update",
        ]
    )
    # The English name and the ASCII menu form find the same command.
    assert anna.say("help update") == anna.say("hilfe melden")
    assert anna.say("hilfe ziel_neu").splitlines()[-2:] == [
        "Wer: koordination",
        "Auch: goal new, /ziel_neu",
    ]
    assert anna.say("hilfe faellig").splitlines()[2:] == [
        "Aufruf: fällig [tage] [ressort]",
        "Beispiel: fällig 30 JA",
        "Wer: registrierte Personen",
        "Auch: due",
    ]


def test_every_command_answers_to_its_german_english_and_ascii_names(anna: Chat) -> None:
    registry = anna.app.dispatcher.registry
    spellings = 0
    for command in registry.commands:
        for spelling in {*command.de, *command.en, command.ascii, command.de[0].upper()}:
            heading = anna.say(f"hilfe {spelling}").splitlines()[0]
            assert heading == command.de[0], spelling
            spellings += 1
    assert registry.get("report").en == ("update",)
    assert spellings >= 3 * len(registry.commands)


def test_hilfe_for_an_unknown_command_lists_the_commands(anna: Chat) -> None:
    reply = anna.reply("hilfe quatsch")
    assert reply.outcome == "usage"
    first, *usage = reply.plain().splitlines()
    assert first.startswith(
        "Diesen Befehl gibt es nicht. Befehle: hilfe, status, meine, fällig, überfällig, ziele, "
        "ziel, matrix, verlauf, ressorts, personen, neu, ziel neu, handlungsfelder, "
        "handlungsfeld neu, "
    )
    names = first.removeprefix("Diesen Befehl gibt es nicht. Befehle: ").split(", ")
    for command in ("ressort neu", "ressort verknüpfen", "ressort", "raum koordination"):
        assert command in names
    assert names[-2:] == ["wer bin ich", "sprache"]
    assert usage == ["Aufruf: hilfe [befehl]", "Beispiel: hilfe melden"]


def test_help_in_english_for_a_person_with_english(sarah: Chat) -> None:
    assert sarah.say("help").splitlines()[:3] == [
        "Commands",
        "help [command] — list commands",
        "status [reference] — overview of this room, or detail of a measure, goal, department, "
        "person or planning area",
    ]
    assert sarah.say("hilfe update") == "\n".join(
        [
            "update",
            "report progress (status: planned, in_progress, delayed, at_risk, done, cancelled)",
            "Usage: update <measure> [status] [NN%] [note]",
            "Example: update M-12 delayed 40% waiting for funds",
            "Who: koordination (coordinator) or ressort (department member)",
            "Also: melden",
        ]
    )


# -- status: overviews ------------------------------------------------------------------------


def test_status_in_an_unlinked_room_is_the_whole_municipality(anna: Chat) -> None:
    before = world(anna.app)
    assert anna.say("status") == OVERVIEW_MUSTERSTADT
    assert anna.say("state") == OVERVIEW_MUSTERSTADT
    assert world(anna.app) == before


def test_status_in_the_jugendamt_room_is_the_jugendamt(markus: Chat) -> None:
    assert markus.say("status") == OVERVIEW_JA


def test_status_of_a_department_by_key_name_alias_or_fragment(anna: Chat) -> None:
    for reference in ("JA", "Jugendamt", "Amt 51", "jugend", "ja", "Jugendamt (JA)"):
        assert anna.say(f"status {reference}") == OVERVIEW_JA, reference


def test_status_of_a_department_in_english(sarah: Chat) -> None:
    assert sarah.say("status") == "\n".join(
        [
            "📊 Integrationsbüro (IB) — 11 measures, leading 7",
            "⚪ 1 planned · 🟢 5 in progress · 🟡 3 delayed · 🔴 1 at risk · ✅ 1 done · "
            "⚫ 0 cancelled",
            "",
            "🔴 Overdue: 2",
            "  🔴 M-3 Sprachförderung im Ganztag — SA, 55 %, 12 days overdue",
            "  🔴 M-21 Elternkurse Deutsch mit Kinderbetreuung — IB, 50 %, 3 days overdue",
            "⏰ Due in 14 days: 1",
            "💤 Without a current report: 1",
        ]
    )


def test_status_of_a_planning_area(anna: Chat) -> None:
    assert anna.say("status Nordstadt") == "\n".join(
        [
            "📊 Planungsraum Nordstadt — 6 Maßnahmen",
            "⚪ 0 geplant · 🟢 4 laufend · 🟡 1 verzögert · 🔴 1 gefährdet · ✅ 0 erledigt · "
            "⚫ 0 abgebrochen",
            "",
            "🔴 Überfällig: 1",
            "  🔴 M-11 Schulsozialarbeit an der Oberschule Nordstadt verstetigen — JA, 60 %, "
            "8 Tage überfällig",
            "⏰ Fällig in 14 Tagen: 1",
            "💤 Ohne aktuellen Bericht: 0",
        ]
    )


def test_status_of_a_person_lists_their_open_measures_soonest_first(anna: Chat) -> None:
    expected = "\n".join(
        [
            "👤 Markus Becker — Jugendamt (JA), ressort",
            "🔴 M-13 Schulsozialarbeit: Begleitung bei Schulverweigerung — JA, 25 %, "
            "Frist 02.12.2026",
            "🟢 M-1 Sprachförderung in Kitas der Nordstadt — JA, 80 %, Frist 06.12.2026",
            "🟡 M-17 Begleitung von Jugendlichen beim Übergang in Ausbildung — JA, 40 %, "
            "Frist 26.01.2027",
        ]
    )
    assert anna.say("status Markus Becker") == expected
    assert anna.say("status Becker") == expected


def test_status_of_an_absent_person_names_the_deputy(anna: Chat) -> None:
    assert anna.say("status Julia Richter").splitlines()[0] == (
        "👤 Julia Richter — Jugendamt (JA), ressort "
        "(abwesend bis 07.12.2026, Vertretung: Markus Becker)"
    )


# -- status: one measure ----------------------------------------------------------------------


def test_status_of_a_measure_by_id_shows_the_detail_and_quick_answers(anna: Chat) -> None:
    reply = anna.reply("status M-1")
    assert reply.plain() == DETAIL_M1
    assert reply.subject == ShownVersion(1, 1)
    assert [qa.command for qa in reply.quick_answers] == [
        "erledigt M-1",
        "melden M-1 laufend",
        "melden M-1 verzögert",
    ]
    assert [qa.label for qa in reply.quick_answers] == ["✅ erledigt", "🟢 läuft", "🟡 verzögert"]


def test_status_of_a_measure_by_exact_title_and_by_fragment(anna: Chat) -> None:
    assert anna.say("status Sprachförderung in Kitas der Nordstadt") == DETAIL_M1
    # `m1` is no id (the dash is missing) and one letter never matches fuzzily (§2).
    assert anna.say("status m1") == "„m1“ habe ich nicht gefunden."
    assert anna.say("status m-1") == DETAIL_M1
    # A fragment with a typo that fits only one measure finds it.
    assert anna.say("status Kulturpas").splitlines()[:2] == [
        "🟢 M-24 Kulturpass für Kinder aus Familien mit geringem Einkommen",
        "Status: laufend, 85 % · Frist 10.12.2026 (in 13 Tagen)",
    ]
    assert anna.say("status rucksack").splitlines()[0] == (
        "🟢 M-2 Sprachförderung für Eltern (Rucksack-Programm)"
    )


def test_status_of_a_measure_says_days_left_overdue_or_done(anna: Chat) -> None:
    assert anna.say("status M-48").splitlines()[1] == (
        "Status: laufend, 90 % · Frist 28.11.2026 (in 1 Tag)"
    )
    assert anna.say("status M-3").splitlines()[:2] == [
        "🔴 M-3 Sprachförderung im Ganztag",
        "Status: verzögert, 55 % · Frist 15.11.2026 (seit 12 Tagen überfällig)",
    ]
    done = anna.reply("status M-9")
    assert done.plain().splitlines()[:2] == [
        "✅ M-9 Interimsstandort Kita Hafenviertel (Modulbau)",
        "Status: erledigt, 100 % · Frist 28.09.2026",
    ]
    assert done.quick_answers == []  # nothing to report on a finished measure
    # A standing task without deadline, and a stale one.
    assert anna.say("status M-10").splitlines()[1] == "Status: laufend, 70 %"
    assert anna.say("status M-8") == "\n".join(
        [
            "⚪ M-8 Kindertagespflege in der Gartenstadt ausbauen",
            "Status: geplant, 0 % · Frist 27.03.2027 (in 120 Tagen)",
            "Federführend: Jugendamt (JA)",
            "Verantwortlich: niemand",
            "Ziel: Z-9 Kita-Plätze bedarfsgerecht ausbauen · Planungsraum: Gartenstadt",
            "Noch kein Bericht · Intervall: quartalsweise · 💤 Bericht fällig",
        ]
    )


def test_status_of_a_measure_in_english(sarah: Chat) -> None:
    assert sarah.say("status M-2").splitlines()[:6] == [
        "🟢 M-2 Sprachförderung für Eltern (Rucksack-Programm)",
        "Status: in progress, 45 % · due 2027-05-06 (in 160 days)",
        "Lead: Integrationsbüro (IB) · participating: JA",
        "Responsible: Sarah Miller",
        "Goal: Z-8 Sprachstand bei Schuleintritt verbessern · Area: Nordstadt",
        "Last report: 2026-10-18 (Sarah Miller): “Third group started, 28 parents enrolled” · "
        "interval: quarterly",
    ]
    assert [qa.command for qa in sarah.reply("status M-2").quick_answers] == [
        "done M-2",
        "update M-2 in_progress",
        "update M-2 delayed",
    ]


def test_status_of_a_goal(anna: Chat) -> None:
    assert anna.say("status Z-8") == GOAL_Z8


# -- meine ------------------------------------------------------------------------------------


def test_meine_lists_my_open_measures_soonest_deadline_first(anna: Chat) -> None:
    expected = "\n".join(
        [
            "Ihre offenen Maßnahmen (2)",
            "🟡 M-47 Integrationskonzept fortschreiben — IB, 45 %, Frist 16.01.2027",
            "🟢 M-7 Kita-Bedarfsplanung fortschreiben — JA, 40 %, Frist 02.03.2027",
        ]
    )
    assert anna.say("meine") == expected
    assert anna.say("mine") == expected
    assert anna.say("my") == expected


def test_meine_without_measures(town: App) -> None:
    assert Chat(town, "Claudia Berger").say("meine") == "Sie haben keine offenen Maßnahmen. 🎉"


# -- fällig / überfällig ----------------------------------------------------------------------


def test_faellig_defaults_to_14_days(anna: Chat) -> None:
    expected = "\n".join(["Fällig in 14 Tagen (6)", *DUE_14])
    assert anna.say("fällig") == expected
    assert anna.say("faellig") == expected
    assert anna.say("due") == expected
    assert anna.say("Fällig") == expected


def test_faellig_with_days_and_department(anna: Chat) -> None:
    assert anna.say("fällig 30") == "\n".join(
        [
            "Fällig in 30 Tagen (7)",
            *DUE_14,
            "🔴 M-49 Hitzewarnsystem für soziale Einrichtungen — GA, 20 %, Frist 22.12.2026",
        ]
    )
    # JA leads M-13 and M-1 and takes part in M-48 and M-28.
    expected_ja = "\n".join(
        [
            "Fällig in 30 Tagen — JA (4)",
            DUE_14[0],
            DUE_14[2],
            DUE_14[3],
            DUE_14[4],
        ]
    )
    assert anna.say("fällig 30 JA") == expected_ja
    assert anna.say("due 30 Jugendamt") == expected_ja
    assert anna.say("fällig 1") == "\n".join(["Fällig in 1 Tag (1)", DUE_14[0]])


def test_faellig_in_a_department_room_is_that_department(markus: Chat) -> None:
    assert markus.say("fällig").splitlines()[0] == "Fällig in 14 Tagen — JA (4)"


def test_faellig_with_nothing_due(anna: Chat) -> None:
    assert (
        anna.say("fällig 14 SP") == "Fällig in 14 Tagen — SP\nNichts fällig in diesem Zeitraum. 👍"
    )


def test_ueberfaellig_all_and_by_department(anna: Chat) -> None:
    expected = "\n".join(["Überfällig (7)", *OVERDUE_ALL])
    assert anna.say("überfällig") == expected
    assert anna.say("ueberfaellig") == expected
    assert anna.say("overdue") == expected
    assert anna.say("überfällig JA") == OVERDUE_JA
    assert anna.say("overdue Amt 51") == OVERDUE_JA
    assert anna.say("überfällig KA") == "Überfällig — KA\nNichts überfällig. 👍"


def test_ueberfaellig_in_a_department_room_is_that_department(markus: Chat) -> None:
    assert markus.say("überfällig") == OVERDUE_JA


def test_overdue_in_english(sarah: Chat) -> None:
    assert sarah.say("overdue") == "\n".join(
        [
            "Overdue — IB (2)",
            "🔴 M-3 Sprachförderung im Ganztag — SA, 55 %, 12 days overdue",
            "🔴 M-21 Elternkurse Deutsch mit Kinderbetreuung — IB, 50 %, 3 days overdue",
        ]
    )


# -- ziele / ziel -----------------------------------------------------------------------------


def test_ziele_shows_the_goal_tree_with_progress(anna: Chat) -> None:
    assert anna.say("ziele") == GOAL_TREE
    assert anna.say("goals") == GOAL_TREE


def test_ziel_shows_one_goal_with_subgoals_measures_and_indicators(anna: Chat) -> None:
    assert anna.say("ziel Z-3") == GOAL_Z3
    assert anna.say("goal Z-3") == GOAL_Z3
    assert anna.say("ziel Z-8") == GOAL_Z8
    assert anna.say("ziel Frühkindliche Bildung stärken") == GOAL_Z3
    assert (
        anna.say("ziel Hitzeschutz").splitlines()[0] == "🎯 Z-14 Hitzeschutz in Kitas und Schulen"
    )


def test_ziel_without_reference_gets_usage(anna: Chat) -> None:
    reply = anna.reply("ziel")
    assert reply.outcome == "usage"
    assert reply.plain() == "Aufruf: ziel <bezug>\nBeispiel: ziel Z-3"


# -- verlauf ----------------------------------------------------------------------------------


def test_verlauf_lists_reports_newest_first(anna: Chat) -> None:
    assert anna.say("verlauf M-1") == HISTORY_M1
    assert anna.say("history M-1") == HISTORY_M1
    assert anna.say("verlauf M-16") == (
        "Verlauf M-16 Ausbildungsmesse Musterstadt\nNoch keine Berichte oder Änderungen."
    )


# -- wer bin ich ------------------------------------------------------------------------------


def test_wer_bin_ich_in_an_unlinked_room(anna: Chat) -> None:
    expected = "\n".join(
        [
            "Wer bin ich",
            "Chat-ID: console:Anna Schmidt",
            "Registriert als Anna Schmidt — Bildungsbüro (BB), Rolle koordination",
            "Administration: ja",
            "Raum: console:konsole",
            "Raum nicht verknüpft",
        ]
    )
    for spelling in ("wer bin ich", "wer_bin_ich", "Wer bin ich", "whoami", "who am i"):
        assert anna.say(spelling) == expected


def test_wer_bin_ich_in_a_linked_room_and_the_coordination_room(town: App) -> None:
    julia = Chat(town, "Julia Richter", "jugendamt")
    assert julia.say("wer bin ich") == "\n".join(
        [
            "Wer bin ich",
            "Chat-ID: console:Julia Richter",
            "Registriert als Julia Richter — Jugendamt (JA), Rolle ressort",
            "Abwesend bis 07.12.2026, Vertretung: Markus Becker",
            "Raum: console:jugendamt",
            "Raum verknüpft mit Jugendamt (JA)",
        ]
    )
    jonas = Chat(town, "Jonas Weber", "koordination")
    assert jonas.say("wer bin ich").splitlines()[-2:] == [
        "Raum: console:koordination",
        "Koordinationsraum",
    ]


def test_wer_bin_ich_on_matrix_for_a_person_with_english(town: App) -> None:
    sarah = Chat(town, "@sarah.miller:musterstadt.de", "!ib:musterstadt.de", "matrix")
    assert sarah.say("wer bin ich") == "\n".join(
        [
            "Who am I",
            "Chat id: matrix:@sarah.miller:musterstadt.de",
            "Registered as Sarah Miller — Integrationsbüro (IB), role ressort",
            "Room: matrix:!ib:musterstadt.de",
            "Room not linked",
        ]
    )


# -- sprache ----------------------------------------------------------------------------------


def test_sprache_switches_the_reply_language_of_that_person_only(sqlite_app: App) -> None:
    anna = Chat(sqlite_app, "Anna Schmidt", "jugendamt")
    jonas = Chat(sqlite_app, "Jonas Weber", "jugendamt")
    assert anna.say("sprache en") == "I will answer you in English from now on."
    assert anna.say("überfällig").splitlines()[:2] == [
        "Overdue — JA (3)",
        "🔴 M-6 Kita-Neubau Am Weinberg (120 Plätze) — JA, 35 %, 40 days overdue",
    ]
    assert anna.say("fällig 1") == "\n".join(
        [
            "Due in 1 day — JA (1)",
            "🟢 M-48 Kita-Datenbericht für die Steuergruppe — BB, 90 %, due 2026-11-28",
        ]
    )
    # Someone else in the same room still gets German.
    assert jonas.say("überfällig").splitlines()[0] == "Überfällig — JA (3)"
    with sqlite_app.uows() as uow:
        languages = dict(uow.session.execute(select(Person.name, Person.language)).all())
    assert languages["Anna Schmidt"] == "en"
    assert languages["Jonas Weber"] is None
    assert anna.say("language de") == "Ich antworte Ihnen ab jetzt auf Deutsch."
    assert anna.say("überfällig").splitlines()[0] == "Überfällig — JA (3)"


def test_sprache_with_an_unknown_language_gets_usage(anna: Chat) -> None:
    before = world(anna.app)
    reply = anna.reply("sprache fr")
    assert reply.outcome == "usage"
    assert reply.plain() == "Aufruf: sprache de|en\nBeispiel: sprache en"
    assert world(anna.app) == before


# -- unknown commands -------------------------------------------------------------------------


UNKNOWN_COMMANDS = [
    (
        "stauts",
        "Den Befehl „stauts“ kenne ich nicht. Meinten Sie: status?\nAlle Befehle: hilfe",
    ),
    (
        "fälig",
        "Den Befehl „fälig“ kenne ich nicht. Meinten Sie: fällig, überfällig?\nAlle Befehle: hilfe",
    ),
    (
        # Several words: a sentence the question reader could not read (handlers/questions.py)
        # gets the closest commands with an example each.
        "stauts M-1",
        "Den Befehl „stauts“ kenne ich nicht. Am nächsten kommen:\n"
        "• status [bezug] — z. B. status sprachförd\nAlle Befehle: hilfe",
    ),
    (
        "meld M-1 50%",
        "Den Befehl „meld“ kenne ich nicht. Am nächsten kommen:\n"
        "• melden <maßnahme> [status] [NN%] [notiz] — z. B. melden M-12 70% Träger gefunden\n"
        "Alle Befehle: hilfe",
    ),
    (
        "zuweissen M-1 an JA",
        "Den Befehl „zuweissen“ kenne ich nicht. Am nächsten kommen:\n"
        '• zuweisen <maßnahme> an <person|ressort> — z. B. zuweisen M-12 an "Julia Richter"\n'
        "Alle Befehle: hilfe",
    ),
    (
        "ueberfälig",
        "Den Befehl „ueberfälig“ kenne ich nicht. Meinten Sie: überfällig, fällig?\n"
        "Alle Befehle: hilfe",
    ),
    ("xyz", "Den Befehl „xyz“ kenne ich nicht. Alle Befehle: hilfe"),
    ("", "Was kann ich tun? Alle Befehle: hilfe"),
]


def test_unknown_command_gets_the_closest_command_names(anna: Chat) -> None:
    before = world(anna.app)
    for typed, expected in UNKNOWN_COMMANDS:
        reply = anna.reply(typed)
        assert (reply.outcome, reply.plain()) == ("unknown", expected), typed
    assert world(anna.app) == before


def test_unknown_command_in_english(sarah: Chat) -> None:
    assert sarah.say("stauts") == (
        "I don't know the command “stauts”. Did you mean: status?\nAll commands: help"
    )


# -- unknown references on read commands ------------------------------------------------------


def test_unknown_measure_id_says_which_numbers_exist(anna: Chat) -> None:
    reply = anna.reply("status M-999")
    assert reply.outcome == "not_found"
    assert reply.plain() == "„M-999“ habe ich nicht gefunden.\nDie höchste Nummer ist M-50."
    assert anna.say("ziel Z-99") == "„Z-99“ habe ich nicht gefunden.\nDie höchste Nummer ist Z-17."


def test_unknown_department_lists_the_departments(anna: Chat) -> None:
    assert anna.say("fällig 30 abc") == (
        "„abc“ habe ich nicht gefunden.\nRessorts: BB, JA, SA, SP, UA, SOZ, KA, WF, GA, IB"
    )
    # A typo keeps its first letter: "Bauamt" is none of the *ämter, so they are all listed.
    assert anna.say("fällig 30 Bauamt") == (
        "„Bauamt“ habe ich nicht gefunden.\nRessorts: BB, JA, SA, SP, UA, SOZ, KA, WF, GA, IB"
    )


def test_a_fragment_with_a_typo_gets_the_closest_matches(anna: Chat) -> None:
    reply = anna.reply("verlauf Sprachkaffee")
    assert reply.outcome == "not_found"
    assert reply.plain() == (
        "„Sprachkaffee“ habe ich nicht gefunden. Ähnlich: "
        "M-20 Sprachcafé im Quartierszentrum Nordstadt; "
        "M-1 Sprachförderung in Kitas der Nordstadt; "
        "M-2 Sprachförderung für Eltern (Rucksack-Programm); "
        "M-3 Sprachförderung im Ganztag; "
        "M-22 Sprach- und Kulturmittler-Pool aufbauen"
    )


def test_faellig_out_of_range_gets_the_reason_usage_and_example(anna: Chat) -> None:
    for typed in ("fällig 999", "fällig 0"):
        reply = anna.reply(typed)
        assert reply.outcome == "usage"
        assert reply.plain() == "\n".join(
            [
                "Die Tage müssen zwischen 1 und 366 liegen.",
                "Aufruf: fällig [tage] [ressort]",
                "Beispiel: fällig 30 JA",
            ]
        )


def test_ambiguous_status_reference_offers_a_numbered_list_and_the_number_picks(
    anna: Chat,
) -> None:
    reply = anna.reply("status sprachförd")
    assert reply.outcome == "ambiguous"
    assert reply.plain() == "\n".join(
        [
            "„sprachförd“ passt auf mehrere. Bitte mit der Nummer antworten:",
            "1. M-1 Sprachförderung in Kitas der Nordstadt",
            "2. M-2 Sprachförderung für Eltern (Rucksack-Programm)",
            "3. M-3 Sprachförderung im Ganztag",
        ]
    )
    assert anna.say("1") == DETAIL_M1
    # The choice is used up: a second "1" is no longer a pick.
    assert anna.reply("1").outcome == "unknown"


# -- who may read -----------------------------------------------------------------------------


def test_a_reader_may_read_everything(town: App) -> None:
    claudia = Chat(town, "Claudia Berger")
    assert claudia.say("status") == OVERVIEW_MUSTERSTADT
    assert claudia.say("status M-1") == DETAIL_M1
    assert claudia.say("ziel Z-3") == GOAL_Z3
    assert claudia.say("verlauf M-1") == HISTORY_M1
    assert claudia.say("überfällig JA") == OVERDUE_JA


def test_an_unregistered_sender_gets_their_chat_id_and_whom_to_ask_for_anything(
    stranger: Chat,
) -> None:
    before = world(stranger.app)
    registry = stranger.app.dispatcher.registry
    typed_all = [
        typed
        for command in registry.commands
        if command.key not in ("help", "whoami")
        for typed in (command.example_line("de"), command.example_line("en"), command.de[0])
    ] + ["stauts", "1", "sprache en", "status M-1"]
    replies = [(typed, stranger.reply(typed)) for typed in typed_all]
    first = replies[0][1]
    assert (first.outcome, first.plain()) == ("unregistered", UNREGISTERED)
    # Then silence in this room for the rest of the day (PRODUCT.md §5): nothing is sent.
    for typed, reply in replies[1:]:
        assert (reply.outcome, reply.plain()) == ("silent", ""), typed
    assert world(stranger.app) == before


def test_an_unregistered_sender_may_ask_for_help_and_who_they_are(stranger: Chat) -> None:
    assert stranger.say("hilfe") == "\n".join(
        [
            "Befehle",
            "hilfe [befehl] — Befehle anzeigen",
            "wer bin ich — Chat-ID, Rolle und Raum anzeigen",
            "Mehr zu einem Befehl: hilfe <befehl>",
        ]
    )
    assert stranger.say("wer bin ich") == "\n".join(
        [
            "Wer bin ich",
            "Chat-ID: matrix:@fremd:example.org",
            "Nicht registriert.",
            "Raum: matrix:!raum:example.org",
            "Raum nicht verknüpft",
        ]
    )
    assert stranger.say("whoami") == stranger.say("wer bin ich")
