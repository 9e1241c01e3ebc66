"""A real start: a municipality that begins with an EMPTY database and its own set-up.

Most tests start from the example municipality (storage/demo.py). This suite starts the way
an operator does it: `regelkreis db upgrade`, `ressort add`, `ressort link`, `room
coordination`, `person add` on the command line, `regelkreis chat --as NAME` once per person
(which gives them their console identity), and then the same database opened by the bot.
From there a coordinator lives through the first day — set-up, first goals, first measures,
first reports, first meeting — and every command of PRODUCT.md §2 (but those of later issues:
import, bericht, export, diagramm, matrix, kennzahl, bewerten) is typed, answered and, where
it writes, checked in the database.

Friday 27 November 2026, 10:00 in Berlin (tests/conftest.py's clock). The tests at the end
are the defects this suite found, each asserted as it is now fixed; replies that are odd but
usable are frozen and marked `QUESTIONABLE` (listed in the issue note).
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import BERLIN, PG_URL, Chat, FixedClock
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from bot.bootstrap import App, bootstrap
from bot.cli import main
from bot.config import load_config
from storage.migrate import head_revision
from storage.models import (
    AuditEntry,
    Decision,
    Department,
    FieldOfAction,
    Goal,
    Measure,
    MeasureStatus,
    Meeting,
    OutboxEntry,
    Person,
    PlanningArea,
    Role,
    RoomLink,
    StatusReport,
    Trend,
)

HEAD = head_revision()  # the revision `db upgrade` names

CLARA = "Clara Koch"  # koordination, admin
MAX = "Max Müller"  # ressort, Jugendamt
LEA = "Lea Lang"  # ressort, Schulamt
RITA = "Rita Roth"  # lesen
SA_GROUP = "-100400"  # the Schulamt's Telegram group, linked on the command line
OLD_COORDINATION = "-100777"  # the first coordination room, named on the command line

FIELDS = ["Arbeit", "Wohnen", "Integration", "Soziales", "Bildung", "Kultur", "Umwelt"]
TRENDS = [
    "Demografischer Wandel",
    "Diversität",
    "Digitalisierung",
    "Demokratie",
    "Daseinsvorsorge",
    "Klimawandel",
]


# -- the operator's command line -------------------------------------------------------------


def cli(config_file: Path, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    """`regelkreis ARGS --config FILE`, with standard input piped; exit status, out, err."""
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)  # not a terminal: the chat reads one command a line
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main([*args, "--config", str(config_file)])
    finally:
        sys.stdin = saved
    return status, out.getvalue(), err.getvalue()


# What the operator types, and what the command line answers.
SET_UP: list[tuple[tuple[str, ...], str]] = [
    (
        ("ressort", "add", "JA", "Jugendamt", "--alias", "Amt 51", "--alias", "Jugend"),
        "Jugendamt (JA) created.\n",
    ),
    (("ressort", "add", "SA", "Schulamt", "--alias", "Amt 40"), "Schulamt (SA) created.\n"),
    (("ressort", "add", "SP", "Stadtplanung"), "Stadtplanung (SP) created.\n"),
    (
        ("ressort", "link", "SA", "--telegram", SA_GROUP),
        f"telegram:{SA_GROUP} linked to Schulamt (SA).\n",
    ),
    (
        ("room", "coordination", "--telegram", OLD_COORDINATION),
        f"telegram:{OLD_COORDINATION} is the coordination room.\n",
    ),
    (
        ("person", "add", CLARA, "--rolle", "koordination", "--admin"),
        "Clara Koch registered (koordination; no chat identity yet).\n",
    ),
    (
        ("person", "add", MAX, "--ressort", "JA", "--rolle", "ressort"),
        "Max Müller registered (ressort; no chat identity yet).\n",
    ),
    (
        ("person", "add", LEA, "--ressort", "SA", "--rolle", "ressort", "--telegram", "5001"),
        "Lea Lang registered (ressort; telegram:5001).\n",
    ),
    (
        ("person", "add", RITA, "--rolle", "lesen"),
        "Rita Roth registered (lesen; no chat identity yet).\n",
    ),
]


def whoami_on_the_console(name: str, department: str, role: str, *, admin: bool = False) -> str:
    lines = [
        "Wer bin ich",
        f"Chat-ID: console:{name}",
        f"Registriert als {name} — {department}, Rolle {role}",
        *(["Administration: ja"] if admin else []),
        "Raum: console:konsole",
        "Raum nicht verknüpft",
    ]
    return "\n".join(lines) + "\n\n"


# `regelkreis chat --as NAME` with "wer bin ich" piped in, once per person.
# QUESTIONABLE: "Clara Koch — –" and "Rita Roth — –": a person without a department is shown
# with a dash where the department would be; "ohne Ressort" would read better.
FIRST_CHATS = [
    (CLARA, whoami_on_the_console(CLARA, "–", "koordination", admin=True)),
    (MAX, whoami_on_the_console(MAX, "Jugendamt (JA)", "ressort")),
    (LEA, whoami_on_the_console(LEA, "Schulamt (SA)", "ressort")),
    (RITA, whoami_on_the_console(RITA, "–", "lesen")),
]


def set_up(config_file: Path) -> str:
    """The operator's set-up from an empty database; returns what `db upgrade` said."""
    status, upgraded, err = cli(config_file, "db", "upgrade")
    assert (status, err) == (0, ""), err
    for args, expected in SET_UP:
        assert cli(config_file, *args) == (0, expected, ""), args
    for name, expected in FIRST_CHATS:
        assert cli(config_file, "chat", "--as", name, stdin="wer bin ich\n") == (0, expected, "")
    return upgraded


def open_bot(config_file: Path, upgraded: str) -> Town:
    """The bot on the operator's database, as `regelkreis run` opens it, on a clock the
    test moves by hand."""
    clock = FixedClock()
    return Town(bootstrap(load_config(config_file), clock=clock), clock, upgraded)


@dataclass
class Town:
    """The bot on the operator's database, and the people at their console."""

    app: App
    clock: FixedClock
    upgraded: str
    _chats: dict[tuple[str, str], Chat] = field(default_factory=dict)

    def chat(self, person: str, room: str = "konsole") -> Chat:
        key = (person, room)
        if key not in self._chats:
            self._chats[key] = Chat(self.app, person, room, "console")
        return self._chats[key]

    def replay(self, steps: list[tuple[str, str, str]]) -> None:
        """Steps of the story told by an earlier test, needed again: each must succeed."""
        for person, room, typed in steps:
            reply = self.chat(person, room).reply(typed)
            assert reply.outcome == "ok", (typed, reply.plain())

    def session(self) -> contextlib.AbstractContextManager[Session]:
        return _session(self.app)


@contextlib.contextmanager
def _session(app: App) -> Iterator[Session]:
    with app.uows() as uow:
        yield uow.session


def write_config(path: Path, data_dir: Path, database_url: str | None = None) -> Path:
    text_ = f'[bot]\ndata_dir = "{data_dir}"\n'
    if database_url is not None:
        text_ += f'\n[database]\nurl = "{database_url}"\n'
    path.write_text(text_, encoding="utf-8")
    return path


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """The operator's configuration: nothing but the data folder (SQLite in it)."""
    return write_config(tmp_path / "regelkreis.toml", tmp_path / "data")


@pytest.fixture
def town(config_file: Path) -> Iterator[Town]:
    """Set up on the command line from an empty SQLite database, then opened by the bot."""
    made = open_bot(config_file, set_up(config_file))
    yield made
    made.app.engine.dispose()


def url_of(engine: Engine) -> str:
    """The URL the configuration names for the `engine` fixture's empty database."""
    if engine.dialect.name == "sqlite":
        return engine.url.render_as_string(hide_password=False)
    with engine.connect() as connection:
        schema = connection.execute(text("SELECT current_schema()")).scalar_one()
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


@pytest.fixture
def any_town(engine: Engine, tmp_path: Path) -> Iterator[Town]:
    """The same set-up on SQLite and on PostgreSQL (the `engine` fixture's empty database,
    already migrated, so `db upgrade` finds the schema up to date)."""
    config = write_config(tmp_path / "regelkreis.toml", tmp_path / "data", url_of(engine))
    made = open_bot(config, set_up(config))
    url = url_of(engine)
    assert made.upgraded == f"Database schema is up to date (revision {HEAD}) in {url}.\n"
    yield made
    made.app.engine.dispose()


# -- the database, as the tests look at it ---------------------------------------------------


def audits(
    session: Session, kind: str | None = None, *, after_id: int = 0
) -> list[tuple[Any, ...]]:
    """(actor, action, entity kind, entity id, version, before, after, origin platform, room)
    of the audit entries made in chat (the command line's are origin `cli`)."""
    query = select(AuditEntry).where(AuditEntry.origin_platform != "cli", AuditEntry.id > after_id)
    if kind is not None:
        query = query.where(AuditEntry.entity_kind == kind)
    return [
        (
            e.actor,
            e.action,
            e.entity_kind,
            e.entity_id,
            e.entity_version,
            e.before,
            e.after,
            e.origin_platform,
            e.origin_room,
        )
        for e in session.execute(query.order_by(AuditEntry.id)).scalars()
    ]


def last_audit_id(town: Town) -> int:
    with town.session() as session:
        return int(session.scalar(select(func.max(AuditEntry.id))) or 0)


def count(session: Session, model: type[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def measure_state(session: Session, measure_id: int) -> tuple[Any, ...]:
    m = session.get(Measure, measure_id)
    assert m is not None
    return (
        m.title,
        m.lead_department.key,
        [d.key for d in m.participants],
        m.responsible.name if m.responsible else None,
        m.goal.ref if m.goal else None,
        m.planning_area.name if m.planning_area else None,
        m.start,
        m.deadline,
        m.status,
        m.progress,
        m.evaluation_interval,
        m.version,
    )


def reports(session: Session, measure_id: int) -> list[tuple[Any, ...]]:
    rows = session.execute(
        select(StatusReport).where(StatusReport.measure_id == measure_id).order_by(StatusReport.id)
    ).scalars()
    return [
        (
            r.person.name if r.person else None,
            r.old_status,
            r.new_status,
            r.old_progress,
            r.new_progress,
            r.note,
            r.origin_platform,
            r.origin_room,
        )
        for r in rows
    ]


def outbox(session: Session) -> list[tuple[Any, ...]]:
    rows = session.execute(select(OutboxEntry).order_by(OutboxEntry.id)).scalars()
    return [
        (
            o.key,
            o.kind,
            o.person.name if o.person else None,
            o.room.address if o.room else None,
            o.state.value,
            o.text,
        )
        for o in rows
    ]


def rooms(session: Session) -> list[tuple[Any, ...]]:
    rows = session.execute(select(RoomLink).order_by(RoomLink.id)).scalars()
    return [
        (r.address, r.department.key if r.department else None, r.is_coordination) for r in rows
    ]


def at(hour: int, minute: int = 0, day: date = date(2026, 11, 27)) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)


# -- set-up ----------------------------------------------------------------------------------


def test_the_operator_sets_up_an_empty_database_on_the_command_line(town: Town) -> None:
    url = town.app.config.database_url
    assert town.upgraded == f"Database schema created (revision {HEAD}) in {url}.\n"
    assert Path(url.removeprefix("sqlite:///")).is_file()
    with town.session() as session:
        departments = session.execute(select(Department).order_by(Department.key)).scalars()
        assert [(d.key, d.name, [a.alias for a in d.aliases]) for d in departments] == [
            ("JA", "Jugendamt", ["Amt 51", "Jugend"]),
            ("SA", "Schulamt", ["Amt 40"]),
            ("SP", "Stadtplanung", []),
        ]
        assert rooms(session) == [
            (f"telegram:{SA_GROUP}", "SA", False),
            (f"telegram:{OLD_COORDINATION}", None, True),
        ]
        people = session.execute(select(Person).order_by(Person.id)).scalars().all()
        assert [
            (
                p.name,
                p.department.key if p.department else None,
                p.role,
                p.is_admin,
                sorted(i.address for i in p.identities),
            )
            for p in people
        ] == [
            # `chat --as NAME` gave each their console identity, named like them.
            (CLARA, None, Role.COORDINATION, True, ["console:Clara Koch"]),
            (MAX, "JA", Role.DEPARTMENT, False, ["console:Max Müller"]),
            (LEA, "SA", Role.DEPARTMENT, False, ["console:Lea Lang", "telegram:5001"]),
            (RITA, None, Role.READ, False, ["console:Rita Roth"]),
        ]
        # The catalogs are in every new database; nothing else is.
        assert sorted(f.name for f in session.execute(select(FieldOfAction)).scalars()) == sorted(
            FIELDS
        )
        assert sorted(t.name for t in session.execute(select(Trend)).scalars()) == sorted(TRENDS)
        for model in (Goal, Measure, Meeting, Decision, StatusReport, OutboxEntry, PlanningArea):
            assert count(session, model) == 0, model
        # Every set-up step is audited with origin `cli`; the chats changed nothing.
        entries = session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().all()
        assert {e.origin_platform for e in entries} == {"cli"}
        assert [(e.action, e.entity_kind) for e in entries] == [
            ("create", "department"),
            ("create", "department"),
            ("create", "department"),
            ("link", "room"),
            ("coordination", "room"),
            ("create", "person"),
            ("create", "person"),
            ("create", "person"),
            ("create", "person"),
        ]


def test_a_second_db_upgrade_finds_the_schema_and_the_set_up_is_refused_twice(
    town: Town, config_file: Path
) -> None:
    path = town.app.config.database_url
    assert cli(config_file, "db", "upgrade") == (
        0,
        f"Database schema is up to date (revision {HEAD}) in {path}.\n",
        "",
    )
    assert cli(config_file, "ressort", "add", "JA", "Jugendamt") == (
        2,
        "",
        "regelkreis: The key JA is taken by Jugendamt (JA).\n",
    )
    with town.session() as session:
        assert count(session, Department) == 3


# -- the first look: an empty municipality -------------------------------------------------

HELP_FOR_COORDINATORS = "\n".join(
    [
        "Befehle",
        "hilfe [befehl] — Befehle anzeigen",
        "status [bezug] — Überblick des Raums oder Details zu Maßnahme, Ziel, Ressort, Person, "
        "Planungsraum",
        "meine — meine offenen Maßnahmen, nächste Frist zuerst",
        "fällig [tage] [ressort] — Maßnahmen mit Frist in den nächsten Tagen (Standard 14)",
        "überfällig [ressort] — überfällige Maßnahmen",
        "ziele — Zielbaum mit Fortschritt",
        "ziel <bezug> — ein Ziel mit Maßnahmen und Kennzahlen",
        "matrix [xlsx] [handlungsfeld] — Zielmatrix: Ziele × Ressorts, federführend und "
        "beteiligt, Schnittstellen",
        "verlauf <maßnahme> — Berichte und Änderungen, neueste zuerst",
        "ressorts [seite:N] — Ressorts mit Kürzel, Aliasen und Räumen, dazu der Koordinationsraum",
        "personen [ressort] [seite:N] — Personen mit Ressort, Rolle und wo sie erreichbar sind",
        'neu "<titel>" ressort: frist: ziel: verantwortlich: beteiligt: raum: intervall: — '
        "Maßnahme anlegen",
        'ziel neu "<titel>" oberziel: handlungsfeld: trends: intervall: — Ziel im Zielbaum anlegen',
        "handlungsfelder — Katalog der Handlungsfelder (Themen der Ziele), archivierte markiert",
        'handlungsfeld neu "<name>" — Handlungsfeld in den Katalog aufnehmen',
        'handlungsfeld umbenennen <alt> "<neu>" — Handlungsfeld umbenennen (auch an den Zielen, '
        "die es haben)",
        "handlungsfeld archivieren <name> — Handlungsfeld archivieren: bleibt an seinen Zielen, "
        "nicht mehr für neue",
        "trends — Katalog der Trends, archivierte markiert",
        'trend neu "<name>" — Trend in den Katalog aufnehmen',
        'trend umbenennen <alt> "<neu>" — Trend umbenennen (auch an den Zielen, die ihn haben)',
        "trend archivieren <name> — Trend archivieren: bleibt an seinen Zielen, nicht mehr "
        "für neue",
        "zuweisen <maßnahme> an <person|ressort> — Verantwortliche Person oder federführendes "
        "Ressort setzen (benachrichtigt)",
        "melden <maßnahme> [status] [NN%] [notiz] — Stand melden (Status: geplant, laufend, "
        "verzögert, gefährdet, erledigt, abgebrochen)",
        "erledigt <maßnahme> [notiz] — als erledigt melden",
        'kennzahl neu "<name>" ziel: einheit: richtung:steigend|fallend basis: basisdatum: '
        "zielwert: bis: intervall: ressort: — Kennzahl eines Ziels anlegen",
        "kennzahl <kennzahl> <wert> [datum] [quelle:<text>] — Wert einer Kennzahl eintragen; "
        "ohne Wert: Verlauf der Kennzahl",
        'bewerten <ziel> erreicht|teilweise|nicht "<notiz>" — Zielbewertung: ist das '
        "Qualitätsziel erreicht?",
        "ändern <maßnahme> titel: beschreibung: ziel: raum: intervall: beginn: beteiligt: — Felder "
        "einer Maßnahme ändern (Frist: frist, Federführung: zuweisen; „-“ leert ein Feld)",
        "frist <maßnahme> <datum> <begründung> — Frist ändern, mit Begründung",
        "sitzung [sitzung] — nächste Sitzungen, oder eine Sitzung mit ihren Beschlüssen",
        'sitzung neu <datum> <zeit> "<titel>" raum: ressorts: gremium: — Sitzung planen '
        "(Erinnerungen und Tagesordnung kommen von selbst)",
        "sitzung verschieben <sitzung> <datum> <zeit> — Sitzung verlegen",
        "agenda [sitzung] — Tagesordnung der nächsten (oder einer) Sitzung",
        'beschluss <sitzung> "<text>" [bezug…] frist: status: intervall: qualitätsziel: — '
        "Beschluss festhalten; ändert Fristen, Status, Ziele",
        "beschluss umgesetzt <S-n/nr> — Beschluss als umgesetzt markieren",
        "import (als Beschriftung einer .xlsx-, .ods- oder .csv-Datei, oder bis 10 Minuten "
        "danach) — Maßnahmenplan einlesen: erst die Vorschau, dann „import bestätigen“",
        "import bestätigen [überspringen|anlegen|überschreiben] — die Vorschau des letzten "
        "Imports übernehmen",
        "import rückgängig — den letzten Import zurücknehmen, solange seine Maßnahmen "
        "unverändert sind",
        "export csv|xlsx|ods|ics [bezug] [ressort:] [ziel:] [status:] [raum:] — Maßnahmenplan "
        "oder Kalender als Datei (bezug: Ressort, Ziel, Status oder Planungsraum)",
        "bericht [html] [bezug] — Steuerungsbericht als PDF (html: als HTML-Datei; bezug: "
        "Ressort, Ziel oder Sitzung)",
        "diagramm [bezug] — Diagramm als Bild: Status nach Ressort, nach Ziel (bezug: Ressort), "
        "Fortschritt (bezug: Ziel) oder Kennzahl gegen Zielpfad (bezug: K-n)",
        'ressort neu <kürzel> "<name>" [alias:…] — Ressort anlegen',
        "ressort verknüpfen <ressort> — diesen Raum mit einem Ressort verknüpfen",
        "ressort lösen — Verknüpfung dieses Raums mit seinem Ressort lösen",
        "ressort — Verknüpfung dieses Raums zeigen",
        "raum koordination — diesen Raum zum Koordinationsraum machen",
        'person neu "<name>" ressort: rolle: <chat-id> — Person mit Chat-ID registrieren',
        "person ändern <person> ressort: rolle: kennung: email: — Ressort, Rolle, Chat-Kennungen "
        "oder E-Mail einer Person ändern (kennung:-… entfernt, email:- löscht)",
        "person deaktivieren <person> — Person deaktivieren: Maßnahmen bleiben, Erinnerungen gehen "
        "an das Ressort",
        "vertretung [person] durch <vertretung> bis <datum> — Abwesenheit und Vertretung "
        "(ende: zurück)",
        "erinnerungen [an|aus|zeit:HH:MM] — Erinnerungen dieses Raums",
        "wer bin ich — Chat-ID, Rolle und Raum anzeigen",
        "sprache de|en — Antwortsprache für mich",
        "Mehr zu einem Befehl: hilfe <befehl>",
    ]
)

# A reader is shown what a reader may do.
HELP_FOR_READERS = "\n".join(
    [
        "Befehle",
        "hilfe [befehl] — Befehle anzeigen",
        "status [bezug] — Überblick des Raums oder Details zu Maßnahme, Ziel, Ressort, Person, "
        "Planungsraum",
        "meine — meine offenen Maßnahmen, nächste Frist zuerst",
        "fällig [tage] [ressort] — Maßnahmen mit Frist in den nächsten Tagen (Standard 14)",
        "überfällig [ressort] — überfällige Maßnahmen",
        "ziele — Zielbaum mit Fortschritt",
        "ziel <bezug> — ein Ziel mit Maßnahmen und Kennzahlen",
        "matrix [xlsx] [handlungsfeld] — Zielmatrix: Ziele × Ressorts, federführend und "
        "beteiligt, Schnittstellen",
        "verlauf <maßnahme> — Berichte und Änderungen, neueste zuerst",
        "ressorts [seite:N] — Ressorts mit Kürzel, Aliasen und Räumen, dazu der Koordinationsraum",
        "personen [ressort] [seite:N] — Personen mit Ressort, Rolle und wo sie erreichbar sind",
        "handlungsfelder — Katalog der Handlungsfelder (Themen der Ziele), archivierte markiert",
        "trends — Katalog der Trends, archivierte markiert",
        "sitzung [sitzung] — nächste Sitzungen, oder eine Sitzung mit ihren Beschlüssen",
        "agenda [sitzung] — Tagesordnung der nächsten (oder einer) Sitzung",
        "export csv|xlsx|ods|ics [bezug] [ressort:] [ziel:] [status:] [raum:] — Maßnahmenplan "
        "oder Kalender als Datei (bezug: Ressort, Ziel, Status oder Planungsraum)",
        "bericht [html] [bezug] — Steuerungsbericht als PDF (html: als HTML-Datei; bezug: "
        "Ressort, Ziel oder Sitzung)",
        "diagramm [bezug] — Diagramm als Bild: Status nach Ressort, nach Ziel (bezug: Ressort), "
        "Fortschritt (bezug: Ziel) oder Kennzahl gegen Zielpfad (bezug: K-n)",
        "vertretung [person] durch <vertretung> bis <datum> — Abwesenheit und Vertretung "
        "(ende: zurück)",
        "wer bin ich — Chat-ID, Rolle und Raum anzeigen",
        "sprache de|en — Antwortsprache für mich",
        "Mehr zu einem Befehl: hilfe <befehl>",
    ]
)

# QUESTIONABLE: the configuration names no municipality, so the bot calls this one
# "Musterstadt" — the example municipality's name — in every overview.
EMPTY_OVERVIEW = "\n".join(
    [
        "📊 Überblick Musterstadt — 0 Maßnahmen",
        "⚪ 0 geplant · 🟢 0 laufend · 🟡 0 verzögert · 🔴 0 gefährdet · ✅ 0 erledigt · "
        "⚫ 0 abgebrochen",
        "",
        "🔴 Überfällig: 0",
        "⏰ Fällig in 14 Tagen: 0",
        "💤 Ohne aktuellen Bericht: 0",
    ]
)


def test_the_first_look_at_an_empty_municipality(town: Town) -> None:
    clara, rita = town.chat(CLARA), town.chat(RITA)
    assert clara.say("hilfe") == HELP_FOR_COORDINATORS
    assert rita.say("hilfe") == HELP_FOR_READERS
    assert clara.say("hilfe melden") == "\n".join(
        [
            "melden",
            "Stand melden (Status: geplant, laufend, verzögert, gefährdet, erledigt, abgebrochen)",
            "Aufruf: melden <maßnahme> [status] [NN%] [notiz]",
            "Beispiel: melden M-12 70% Träger gefunden",
            "Wer: koordination oder ressort",
            "Auch: update",
        ]
    )
    assert clara.say("status") == EMPTY_OVERVIEW
    assert rita.say("status") == EMPTY_OVERVIEW
    assert clara.say("meine") == "Sie haben keine offenen Maßnahmen. 🎉"
    assert clara.say("fällig") == "Fällig in 14 Tagen\nNichts fällig in diesem Zeitraum. 👍"
    assert clara.say("überfällig") == "Überfällig\nNichts überfällig. 👍"
    assert clara.say("ziele") == 'Noch keine Ziele. Anlegen mit: ziel neu "<titel>"'
    assert clara.say("sitzung") == "\n".join(
        [
            "Nächste Sitzungen",
            'Keine Sitzung geplant. Planen mit: sitzung neu <datum> <zeit> "<titel>"',
            "",
            "Tagesordnung: agenda [sitzung]",
        ]
    )
    assert clara.say("agenda") == (
        'Keine Sitzung geplant. Planen mit: sitzung neu <datum> <zeit> "<titel>"'
    )
    assert clara.say("ressorts") == "\n".join(
        [
            "Ressorts (3)",
            "JA Jugendamt · Aliase: Amt 51, Jugend · kein Raum verknüpft",
            f"SA Schulamt · Aliase: Amt 40 · Raum: telegram:{SA_GROUP}",
            "SP Stadtplanung · kein Raum verknüpft",
            f"Koordinationsraum: telegram:{OLD_COORDINATION}",
        ]
    )
    assert rita.say("personen") == "\n".join(
        [
            "Personen (4)",
            "Clara Koch — koordination, Administration · erreichbar: console",
            "Lea Lang (SA) — ressort · erreichbar: console",
            "Max Müller (JA) — ressort · erreichbar: console",
            "Rita Roth — lesen · erreichbar: console",
        ]
    )
    assert rita.say("handlungsfelder") == "\n".join(["Handlungsfelder", *sorted(FIELDS)])
    assert rita.say("trends") == "\n".join(["Trends", *sorted(TRENDS)])
    assert rita.say("wer bin ich") == whoami_on_the_console(RITA, "–", "lesen").strip()
    # Someone nobody registered gets their chat id and whom to ask; `hilfe` and `wer bin ich`
    # are open to them, and show only those two.
    stranger = town.chat("Fremd")
    assert stranger.say("status") == "\n".join(
        [
            "Sie sind noch nicht registriert. Ihre Chat-ID: console:Fremd",
            "Bitte wenden Sie sich an Clara Koch, damit Sie eingetragen werden.",
        ]
    )
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
            "Chat-ID: console:Fremd",
            "Nicht registriert.",
            "Raum: console:konsole",
            "Raum nicht verknüpft",
        ]
    )
    # Reading changed nothing.
    with town.session() as session:
        assert audits(session) == []
        assert count(session, RoomLink) == 2


# -- set-up in chat: rooms, a new department, a new person ----------------------------------

# The coordinator's first steps in chat: the console rooms for coordination and the Jugendamt.
ROOMS = [
    (CLARA, "koordination", "raum koordination"),
    (CLARA, "jugendamt", "ressort verknüpfen JA"),
]


def test_the_coordinator_links_rooms_and_registers_a_department_and_a_person(
    town: Town,
) -> None:
    clara = town.chat(CLARA)
    coordination = town.chat(CLARA, "koordination")
    assert coordination.say("raum koordination") == "\n".join(
        [
            "Koordinationsraum",
            "Dies ist jetzt der Koordinationsraum: Wochenübersicht und Sitzungen ohne eigenen "
            "Raum gehen hierher.",
            f"Vorher: telegram:{OLD_COORDINATION}",
        ]
    )
    assert coordination.say("raum koordination") == "Dieser Raum ist bereits der Koordinationsraum."
    jugendamt = town.chat(CLARA, "jugendamt")
    assert jugendamt.say("ressort") == "\n".join(
        ["Raum: console:jugendamt", "Nicht verknüpft. Verknüpfen mit: ressort verknüpfen <ressort>"]
    )
    # "Amt 51" is the Jugendamt's alias.
    assert jugendamt.say("ressort verknüpfen Amt 51") == "\n".join(
        [
            "Raum verknüpft",
            "Dieser Raum gehört jetzt zu Jugendamt (JA). „status“ zeigt hier dessen Maßnahmen.",
        ]
    )
    assert jugendamt.say("ressort") == "Raum: console:jugendamt\nRessort: Jugendamt (JA)"
    assert jugendamt.say("status").startswith("📊 Jugendamt (JA) — 0 Maßnahmen, 0 federführend\n")
    assert clara.say("ressorts") == "\n".join(
        [
            "Ressorts (3)",
            "JA Jugendamt · Aliase: Amt 51, Jugend · Raum: console:jugendamt",
            f"SA Schulamt · Aliase: Amt 40 · Raum: telegram:{SA_GROUP}",
            "SP Stadtplanung · kein Raum verknüpft",
            "Koordinationsraum: console:koordination",
        ]
    )
    with town.session() as session:
        assert rooms(session) == [
            (f"telegram:{SA_GROUP}", "SA", False),
            (f"telegram:{OLD_COORDINATION}", None, False),
            ("console:koordination", None, True),
            ("console:jugendamt", "JA", False),
        ]
        ids = {address: i for i, (address, *_rest) in enumerate(rooms(session), start=1)}
        assert audits(session) == [
            (
                "console:Clara Koch",
                "coordination",
                "room",
                ids["console:koordination"],
                None,
                {"coordination": [f"telegram:{OLD_COORDINATION}"]},
                {"coordination": "console:koordination"},
                "console",
                "koordination",
            ),
            (
                "console:Clara Koch",
                "link",
                "room",
                ids["console:jugendamt"],
                None,
                {"department": None},
                {"department": "JA", "room": "console:jugendamt"},
                "console",
                "jugendamt",
            ),
        ]
    before = last_audit_id(town)

    # A department the operator forgot, its room, and a colleague there.
    assert clara.say('ressort neu SO "Sozialamt" alias:"Amt 50,Soziales"') == "\n".join(
        [
            "Ressort angelegt",
            "Sozialamt (SO)",
            "Aliase: Amt 50, Soziales",
            "Raum verknüpfen: im Raum des Ressorts „ressort verknüpfen SO“",
        ]
    )
    assert clara.say('ressort neu SA "Sportamt"') == "Das Kürzel SA hat schon Schulamt (SA)."
    sozialamt = town.chat(CLARA, "sozialamt")
    assert sozialamt.say("ressort verknüpfen Sozialamt") == "\n".join(
        [
            "Raum verknüpft",
            "Dieser Raum gehört jetzt zu Sozialamt (SO). „status“ zeigt hier dessen Maßnahmen.",
        ]
    )
    assert clara.say('person neu "Tom Berg" ressort:SO rolle:ressort console:tom') == "\n".join(
        ["Person registriert", "Tom Berg — Sozialamt (SO), ressort", "console:tom"]
    )
    tom = Chat(town.app, "tom", "sozialamt")
    assert tom.say("wer bin ich") == "\n".join(
        [
            "Wer bin ich",
            "Chat-ID: console:tom",
            "Registriert als Tom Berg — Sozialamt (SO), Rolle ressort",
            "Raum: console:sozialamt",
            "Raum verknüpft mit Sozialamt (SO)",
        ]
    )
    # The room was the wrong one after all: the link is removed, the record stays.
    assert sozialamt.say("ressort lösen") == "\n".join(
        [
            "Verknüpfung gelöst",
            "Dieser Raum gehört nicht mehr zu Sozialamt (SO). „status“ zeigt hier jetzt den "
            "Überblick über Musterstadt.",
            "SO hat jetzt keinen Raum; Erinnerungen an das Ressort gehen an den Koordinationsraum.",
            "Wieder verknüpfen: ressort verknüpfen SO",
        ]
    )
    assert sozialamt.say("ressort lösen") == "\n".join(
        [
            "Dieser Raum (console:sozialamt) ist mit keinem Ressort verknüpft; es gibt nichts zu "
            "lösen. Es wurde nichts geändert.",
            "Verknüpfen: ressort verknüpfen <ressort>",
        ]
    )
    with town.session() as session:
        so = session.execute(select(Department).where(Department.key == "SO")).scalar_one()
        assert (so.name, [a.alias for a in so.aliases]) == ("Sozialamt", ["Amt 50", "Soziales"])
        tom_row = session.execute(select(Person).where(Person.name == "Tom Berg")).scalar_one()
        assert (
            tom_row.department_id,
            tom_row.role,
            tom_row.is_admin,
            [i.address for i in tom_row.identities],
        ) == (so.id, Role.DEPARTMENT, False, ["console:tom"])
        assert rooms(session)[-1] == ("console:sozialamt", None, False)
        room_id = len(rooms(session))
        tom_created = {
            "name": "Tom Berg",
            "department": "SO",
            "role": "ressort",
            "identities": ["console:tom"],
        }
        so_created = {"key": "SO", "name": "Sozialamt", "aliases": ["Amt 50", "Soziales"]}
        assert [(a[1], a[2], a[5], a[6], a[8]) for a in audits(session, after_id=before)] == [
            ("create", "department", None, so_created, "konsole"),
            (
                "link",
                "room",
                {"department": None},
                {"department": "SO", "room": "console:sozialamt"},
                "sozialamt",
            ),
            ("create", "person", None, tom_created, "konsole"),
            (
                "unlink",
                "room",
                {"department": "SO"},
                {"department": None, "room": "console:sozialamt"},
                "sozialamt",
            ),
        ]
        assert [(a[1], a[2], a[3]) for a in audits(session, after_id=before)] == [
            ("create", "department", so.id),
            ("link", "room", room_id),
            ("create", "person", tom_row.id),
            ("unlink", "room", room_id),
        ]


def test_set_up_commands_are_refused_to_those_without_the_role(town: Town) -> None:
    max_, rita = town.chat(MAX), town.chat(RITA)
    assert max_.say('ressort neu SO "Sozialamt"') == (
        "„ressort neu“ dürfen nur Personen mit der Rolle Administration. Ihre Rolle: ressort."
    )
    assert max_.say("ressort verknüpfen JA") == (
        "„ressort verknüpfen“ dürfen nur Personen mit der Rolle Administration. "
        "Ihre Rolle: ressort."
    )
    assert rita.say('person neu "Eva Ernst" rolle:lesen console:eva') == (
        "„person neu“ dürfen nur Personen mit der Rolle Administration. Ihre Rolle: lesen."
    )
    assert rita.say("raum koordination") == (
        "„raum koordination“ dürfen nur Personen mit der Rolle Administration. Ihre Rolle: lesen."
    )
    with town.session() as session:
        assert audits(session) == []
        assert count(session, Department) == 3
        assert count(session, Person) == 4
        assert count(session, RoomLink) == 2


# -- the first goals -------------------------------------------------------------------------

GOALS = [
    (
        CLARA,
        "konsole",
        'ziel neu "Bildungsgerechtigkeit" handlungsfeld:Bildung '
        "trends:Diversität,Digitalisierung intervall:halbjährlich",
    ),
    (CLARA, "konsole", 'ziel neu "Mehr Ganztagsplätze" oberziel:Z-1'),
    (CLARA, "konsole", 'ziel neu "Lebenswerte Quartiere" handlungsfeld:wohn trends:Klimawandel'),
]


def goal_state(session: Session) -> list[tuple[Any, ...]]:
    goals = session.execute(select(Goal).order_by(Goal.id)).scalars()
    return [
        (
            g.ref,
            g.title,
            g.parent.ref if g.parent else None,
            g.field_of_action.name if g.field_of_action else None,
            [t.name for t in g.trends],
            g.evaluation_interval,
        )
        for g in goals
    ]


def test_the_first_goals_with_fields_of_action_and_trends_from_the_catalog(town: Town) -> None:
    clara = town.chat(CLARA)
    (_, _, first), (_, _, second), (_, _, third) = GOALS
    assert clara.say(first) == "\n".join(
        [
            "Angelegt: Z-1",
            "Leitziel: Bildungsgerechtigkeit",
            "Handlungsfeld: Bildung",
            "Trends: Diversität, Digitalisierung",
        ]
    )
    # Under a parent it is a Ziel, and takes the parent's field of action.
    assert clara.say(second) == "\n".join(
        [
            "Angelegt: Z-2",
            "Ziel: Mehr Ganztagsplätze",
            "Oberziel: Z-1 Bildungsgerechtigkeit",
            "Handlungsfeld: Bildung",
        ]
    )
    # A fragment of one entry is that entry; the reply names it.
    assert clara.say(third) == "\n".join(
        [
            "Angelegt: Z-3",
            "Leitziel: Lebenswerte Quartiere",
            "Handlungsfeld: Wohnen",
            "Trends: Klimawandel",
        ]
    )
    # A field of action the catalog does not have yet: the list, and how to add it.
    assert clara.say('ziel neu "Gesund aufwachsen" handlungsfeld:Gesundheit') == (
        "„Gesundheit“ kenne ich nicht. Handlungsfelder: Arbeit, Bildung, Integration, Kultur, "
        'Soziales, Umwelt, Wohnen. Neu anlegen: handlungsfeld neu "Gesundheit"'
    )
    assert clara.say('handlungsfeld neu "Gesundheit"') == "Handlungsfeld angelegt: Gesundheit"
    assert (
        clara.say('handlungsfeld neu "gesundheit"') == "Handlungsfeld „Gesundheit“ gibt es schon."
    )
    assert clara.say('handlungsfeld umbenennen Gesundheit "Gesundheit und Pflege"') == (
        "Handlungsfeld umbenannt: Gesundheit → Gesundheit und Pflege"
    )
    assert clara.say('trend neu "Fachkräftemangel"') == "Trend angelegt: Fachkräftemangel"
    # "demo" is in two trends: a numbered list, and the number picks (with the fragment
    # last as well: test_a_picked_trend_does_not_spoil_the_title).
    assert clara.say(
        'ziel neu "Gesund aufwachsen" handlungsfeld:gesundheit trends:demo,Fachkräftemangel'
    ) == "\n".join(
        [
            "„demo“ passt auf mehrere. Bitte mit der Nummer antworten:",
            "1. Demografischer Wandel",
            "2. Demokratie",
        ]
    )
    assert clara.say("1") == "\n".join(
        [
            "Angelegt: Z-4",
            "Leitziel: Gesund aufwachsen",
            "Handlungsfeld: Gesundheit und Pflege",
            "Trends: Demografischer Wandel, Fachkräftemangel",
        ]
    )
    assert clara.say('ziel neu "Ganztag an jeder Grundschule" oberziel:Ganztag') == "\n".join(
        [
            "Angelegt: Z-5",
            "Teilziel: Ganztag an jeder Grundschule",
            "Oberziel: Z-2 Mehr Ganztagsplätze",
            "Handlungsfeld: Bildung",
        ]
    )
    assert clara.say('ziel neu "Mensa" oberziel:Z-5') == "\n".join(
        [
            "Z-5 ist schon ein Teilziel, die dritte Ebene (Leitziel → Ziel → Teilziel); bitte ein "
            "höheres Oberziel wählen.",
            'Aufruf: ziel neu "<titel>" oberziel: handlungsfeld: trends: intervall:',
            'Beispiel: ziel neu "Mehr Ganztagsplätze" oberziel:Z-3 handlungsfeld:Bildung',
        ]
    )

    rita = town.chat(RITA)
    assert rita.say("ziele") == "\n".join(
        [
            "🎯 Zielbaum",
            "▸ Z-1 Bildungsgerechtigkeit — –, 0 Maßn.",
            "  ▸ Z-2 Mehr Ganztagsplätze — –, 0 Maßn.",
            "    • Z-5 Ganztag an jeder Grundschule — –, 0 Maßn.",
            "▸ Z-3 Lebenswerte Quartiere — –, 0 Maßn.",
            "▸ Z-4 Gesund aufwachsen — –, 0 Maßn.",
        ]
    )
    # A read may show the closest match directly; its heading names it.
    assert rita.say("ziel bildungsgerecht") == "\n".join(
        [
            "🎯 Z-1 Bildungsgerechtigkeit",
            "Leitziel · Bildung · Trends: Diversität, Digitalisierung",
            "Fortschritt: – über 0 Maßnahmen",
            "Intervall: halbjährlich",
            "",
            "Unterziele",
            "▸ Z-2 Mehr Ganztagsplätze",
            "",
            "Zielbewertung",
            "Noch nicht bewertet.",
            "Nächste Bewertung fällig: 27.05.2027 (halbjährlich)",
        ]
    )
    assert rita.say("ziel Z-2") == "\n".join(
        [
            "🎯 Z-2 Mehr Ganztagsplätze",
            "Ziel · unter Z-1 · Bildung",
            "Fortschritt: – über 0 Maßnahmen",
            "",
            "Unterziele",
            "▸ Z-5 Ganztag an jeder Grundschule",
        ]
    )
    assert rita.say("ziel Z-9") == "„Z-9“ habe ich nicht gefunden.\nDie höchste Nummer ist Z-5."
    assert rita.say("handlungsfelder") == "\n".join(
        ["Handlungsfelder", *sorted([*FIELDS, "Gesundheit und Pflege"])]
    )
    assert rita.say("trends") == "\n".join(["Trends", *sorted([*TRENDS, "Fachkräftemangel"])])
    before = last_audit_id(town)
    assert rita.say('ziel neu "Egal"') == (
        "„ziel neu“ dürfen nur Personen mit der Rolle koordination. Ihre Rolle: lesen."
    )
    assert rita.say('handlungsfeld neu "Egal"') == (
        "„handlungsfeld neu“ dürfen nur Personen mit der Rolle koordination. Ihre Rolle: lesen."
    )
    assert rita.say('trend neu "Egal"') == (
        "„trend neu“ dürfen nur Personen mit der Rolle koordination. Ihre Rolle: lesen."
    )

    with town.session() as session:
        assert goal_state(session) == [
            (
                "Z-1",
                "Bildungsgerechtigkeit",
                None,
                "Bildung",
                ["Diversität", "Digitalisierung"],
                "halbjährlich",
            ),
            # QUESTIONABLE: a Ziel takes its parent's field of action but not its evaluation
            # interval, so measures under Z-2 are asked quarterly while Z-1 says half-yearly.
            ("Z-2", "Mehr Ganztagsplätze", "Z-1", "Bildung", [], None),
            ("Z-3", "Lebenswerte Quartiere", None, "Wohnen", ["Klimawandel"], None),
            (
                "Z-4",
                "Gesund aufwachsen",
                None,
                "Gesundheit und Pflege",
                ["Demografischer Wandel", "Fachkräftemangel"],
                None,
            ),
            ("Z-5", "Ganztag an jeder Grundschule", "Z-2", "Bildung", [], None),
        ]
        renamed = session.execute(
            select(FieldOfAction).where(FieldOfAction.name == "Gesundheit und Pflege")
        ).scalar_one()
        assert renamed.retired_at is None
        assert count(session, FieldOfAction) == 8
        assert count(session, Trend) == 7
        entries = audits(session)
        # A new goal's audit entry keeps everything it was created with.
        assert entries[0][6] == {
            "title": "Bildungsgerechtigkeit",
            "parent": None,
            "field_of_action": "Bildung",
            "trends": ["Diversität", "Digitalisierung"],
            "evaluation_interval": "halbjährlich",
            "quality_target": None,
        }

        def short(entry: tuple[Any, ...]) -> Any:
            after = entry[6]
            return {k: after[k] for k in ("title", "parent")} if entry[2] == "goal" else after

        assert [(a[0], a[1], a[2], short(a)) for a in entries] == [
            (
                "console:Clara Koch",
                "create",
                "goal",
                {"title": "Bildungsgerechtigkeit", "parent": None},
            ),
            (
                "console:Clara Koch",
                "create",
                "goal",
                {"title": "Mehr Ganztagsplätze", "parent": "Z-1"},
            ),
            (
                "console:Clara Koch",
                "create",
                "goal",
                {"title": "Lebenswerte Quartiere", "parent": None},
            ),
            ("console:Clara Koch", "create", "field_of_action", {"name": "Gesundheit"}),
            ("console:Clara Koch", "rename", "field_of_action", {"name": "Gesundheit und Pflege"}),
            ("console:Clara Koch", "create", "trend", {"name": "Fachkräftemangel"}),
            (
                "console:Clara Koch",
                "create",
                "goal",
                {"title": "Gesund aufwachsen", "parent": None},
            ),
            (
                "console:Clara Koch",
                "create",
                "goal",
                {"title": "Ganztag an jeder Grundschule", "parent": "Z-2"},
            ),
        ]
        assert audits(session, after_id=before) == []


# -- the first measures ----------------------------------------------------------------------

MEASURES = [
    (
        CLARA,
        "konsole",
        'neu "Sprachcafé für Eltern" ressort:JA ziel:Z-2 frist:31.03.2027 '
        'verantwortlich:"Max Müller" beteiligt:SA raum:Nordstadt',
    ),
    (
        CLARA,
        "konsole",
        'neu "Lernpaten an Grundschulen" ressort:"Amt 40" ziel:Z-1 frist:15.12.2026 '
        "raum:Nordstadt intervall:monatlich",
    ),
    # In the Jugendamt's room the Jugendamt leads; a date may take several words.
    (
        CLARA,
        "jugendamt",
        'neu "Jugendtreff Weststadt" frist:in 2 Wochen raum:Weststadt beginn:01.12.2026',
    ),
    (
        CLARA,
        "konsole",
        'neu "Schulwegsicherung Nordstadt" ressort:SP ziel:Quartiere '
        'beschreibung:"Gefährliche Kreuzungen entschärfen" beteiligt:JA,SA',
    ),
    (CLARA, "konsole", 'neu "Spielplatz Weststadt" ressort:Jugend ziel:Z-3 raum:Weststadt'),
]

# The assignments of the first morning.
ASSIGNMENTS = [
    (CLARA, "konsole", 'zuweisen M-2 an "Lea Lang"'),
    (CLARA, "konsole", "zuweisen Schulweg an Schulamt"),
    (CLARA, "konsole", "zuweisen M-5 an Stadtplanung"),
]

NUDGE = "Bericht mit: melden {ref} <status> <NN%> <notiz>"


def test_the_first_measures_are_created_and_assigned(any_town: Town) -> None:
    town = any_town
    town.replay(ROOMS + GOALS)
    before = last_audit_id(town)
    clara = town.chat(CLARA)
    said = [town.chat(person, room).say(typed) for person, room, typed in MEASURES]
    assert said == [
        "\n".join(
            [
                "Angelegt: M-1",
                "⚪ M-1 Sprachcafé für Eltern — JA, 0 %, Frist 31.03.2027",
                "Neuer Planungsraum „Nordstadt“ angelegt.",
                "Max Müller wird benachrichtigt.",
            ]
        ),
        # QUESTIONABLE: the reply to `neu` confirms title, lead and deadline, but not the goal,
        # participants, responsible person or interval it was given.
        "Angelegt: M-2\n⚪ M-2 Lernpaten an Grundschulen — SA, 0 %, Frist 15.12.2026",
        "\n".join(
            [
                "Angelegt: M-3",
                "⚪ M-3 Jugendtreff Weststadt — JA, 0 %, Frist 11.12.2026",
                "Neuer Planungsraum „Weststadt“ angelegt.",
            ]
        ),
        "\n".join(
            [
                "Angelegt: M-4",
                "⚪ M-4 Schulwegsicherung Nordstadt — SP, 0 %, ohne Frist",
                "",
                "„Quartiere“ = Z-3 Lebenswerte Quartiere",
            ]
        ),
        "Angelegt: M-5\n⚪ M-5 Spielplatz Weststadt — JA, 0 %, ohne Frist",
    ]
    # What a coordinator gets wrong on the first day: nothing is created.
    usage = "\n".join(
        [
            'Aufruf: neu "<titel>" ressort: frist: ziel: verantwortlich: beteiligt: raum: '
            "intervall:",
            'Beispiel: neu "Sprachcafé für Eltern" ressort:JA frist:31.03.2027 '
            'verantwortlich:"Markus Becker"',
        ]
    )
    assert clara.say('neu "Hausaufgabenhilfe"') == (
        f"Welches Ressort ist federführend? ressort:<kürzel>\n{usage}"
    )
    assert clara.say('neu "Hausaufgabenhilfe" ressort:XY') == (
        "„XY“ habe ich nicht gefunden.\nRessorts: JA, SA, SP"
    )
    assert clara.say('neu "Hausaufgabenhilfe" ressort:SA frist:01.01.2020') == (
        f"Die Frist liegt in der Vergangenheit.\n{usage}"
    )
    # A reader may not create one; the reply names the role.
    rita = town.chat(RITA)
    assert rita.say('neu "Lesepaten" ressort:JA') == (
        "„neu“ dürfen nur Personen mit der Rolle koordination. Ihre Rolle: lesen."
    )
    with town.session() as session:
        assert count(session, Measure) == 5

    said = [town.chat(person, room).say(typed) for person, room, typed in ASSIGNMENTS]
    assert said == [
        "\n".join(
            [
                "M-2 → Lea Lang",
                "⚪ M-2 Lernpaten an Grundschulen — SA, 0 %, Frist 15.12.2026",
                "Benachrichtigung ist unterwegs.",
            ]
        ),
        # The Schulamt's Telegram group hears of it; the participant became the lead.
        "\n".join(
            [
                "M-4 → Schulamt (SA)",
                "⚪ M-4 Schulwegsicherung Nordstadt — SA, 0 %, ohne Frist",
                "Benachrichtigung ist unterwegs.",
            ]
        ),
        "\n".join(
            [
                "M-5 → Stadtplanung (SP)",
                "⚪ M-5 Spielplatz Weststadt — SP, 0 %, ohne Frist",
                "Das Ressort hat keinen eigenen Raum: die Benachrichtigung geht an den "
                "Koordinationsraum.",
            ]
        ),
    ]
    assert clara.say("zuweisen M-5 an SP") == "Stadtplanung (SP) ist bereits federführend für M-5."
    assert clara.say("zuweisen M-1 an Max") == "\n".join(
        ["Max Müller ist bereits verantwortlich für M-1.", "", "„Max“ = Max Müller (JA)"]
    )
    assert clara.say("zuweisen M-1") == "\n".join(
        [
            "Aufruf: zuweisen <maßnahme> an <person|ressort>",
            'Beispiel: zuweisen M-12 an "Julia Richter"',
        ]
    )
    assert rita.say("zuweisen M-1 an SA") == (
        "„zuweisen“ dürfen nur Personen mit der Rolle koordination. Ihre Rolle: lesen."
    )

    assert rita.say("status M-1") == "\n".join(
        [
            "⚪ M-1 Sprachcafé für Eltern",
            "Status: geplant, 0 % · Frist 31.03.2027 (in 124 Tagen)",
            "Federführend: Jugendamt (JA) · beteiligt: SA",
            "Verantwortlich: Max Müller",
            "Ziel: Z-2 Mehr Ganztagsplätze · Planungsraum: Nordstadt",
            "Noch kein Bericht · Intervall: quartalsweise",
        ]
    )
    assert rita.say("status schulweg") == "\n".join(
        [
            "⚪ M-4 Schulwegsicherung Nordstadt",
            "Status: geplant, 0 %",
            "Federführend: Schulamt (SA) · beteiligt: JA",
            "Verantwortlich: niemand",
            "Ziel: Z-3 Lebenswerte Quartiere",
            "Noch kein Bericht · Intervall: quartalsweise",
            "Gefährliche Kreuzungen entschärfen",
        ]
    )
    assert rita.say("ziele") == "\n".join(
        [
            "🎯 Zielbaum",
            "▸ Z-1 Bildungsgerechtigkeit — 0 %, 2 Maßn.",
            "  ▸ Z-2 Mehr Ganztagsplätze — 0 %, 1 Maßn.",
            "▸ Z-3 Lebenswerte Quartiere — 0 %, 2 Maßn.",
        ]
    )
    assert rita.say("ziel Z-1") == "\n".join(
        [
            "🎯 Z-1 Bildungsgerechtigkeit",
            "Leitziel · Bildung · Trends: Diversität, Digitalisierung",
            "Fortschritt: 0 % über 2 Maßnahmen",
            "Intervall: halbjährlich",
            "",
            "Unterziele",
            "▸ Z-2 Mehr Ganztagsplätze",
            "",
            "Maßnahmen (1)",
            "⚪ M-2 Lernpaten an Grundschulen — SA, 0 %, Frist 15.12.2026",
            "",
            "Zielbewertung",
            "Noch nicht bewertet.",
            "Nächste Bewertung fällig: 27.05.2027 (halbjährlich)",
        ]
    )
    assert rita.say("status") == "\n".join(
        [
            "📊 Überblick Musterstadt — 5 Maßnahmen",
            "⚪ 5 geplant · 🟢 0 laufend · 🟡 0 verzögert · 🔴 0 gefährdet · ✅ 0 erledigt · "
            "⚫ 0 abgebrochen",
            "",
            "🔴 Überfällig: 0",
            "⏰ Fällig in 14 Tagen: 1",
            "💤 Ohne aktuellen Bericht: 0",
        ]
    )

    with town.session() as session:
        assert [measure_state(session, n) for n in range(1, 6)] == [
            (
                "Sprachcafé für Eltern",
                "JA",
                ["SA"],
                MAX,
                "Z-2",
                "Nordstadt",
                None,
                date(2027, 3, 31),
                MeasureStatus.PLANNED,
                0,
                "quartalsweise",
                1,
            ),
            (
                "Lernpaten an Grundschulen",
                "SA",
                [],
                LEA,
                "Z-1",
                "Nordstadt",
                None,
                date(2026, 12, 15),
                MeasureStatus.PLANNED,
                0,
                "monatlich",
                2,
            ),
            (
                "Jugendtreff Weststadt",
                "JA",
                [],
                None,
                None,
                "Weststadt",
                date(2026, 12, 1),
                date(2026, 12, 11),
                MeasureStatus.PLANNED,
                0,
                "quartalsweise",
                1,
            ),
            (
                "Schulwegsicherung Nordstadt",
                "SA",
                ["JA"],
                None,
                "Z-3",
                None,
                None,
                None,
                MeasureStatus.PLANNED,
                0,
                "quartalsweise",
                2,
            ),
            (
                "Spielplatz Weststadt",
                "SP",
                [],
                None,
                "Z-3",
                "Weststadt",
                None,
                None,
                MeasureStatus.PLANNED,
                0,
                "quartalsweise",
                2,
            ),
        ]
        description = session.get(Measure, 4)
        assert description is not None
        assert description.description == "Gefährliche Kreuzungen entschärfen"
        assert sorted(a.name for a in session.execute(select(PlanningArea)).scalars()) == [
            "Nordstadt",
            "Weststadt",
        ]
        # The notices wait in the outbox, written with the change that caused them.
        assert outbox(session) == [
            (
                "assign:M-1:v1:person:2",
                "assignment",
                MAX,
                None,
                "pending",
                "📌 Ihnen wurde M-1 zugewiesen (von Clara Koch):\n"
                "⚪ M-1 Sprachcafé für Eltern — JA, 0 %, Frist 31.03.2027\n"
                + NUDGE.format(ref="M-1"),
            ),
            (
                "assign:M-2:v2:person:3",
                "assignment",
                LEA,
                None,
                "pending",
                "📌 Ihnen wurde M-2 zugewiesen (von Clara Koch):\n"
                "⚪ M-2 Lernpaten an Grundschulen — SA, 0 %, Frist 15.12.2026\n"
                + NUDGE.format(ref="M-2"),
            ),
            (
                "assign:M-4:v2:department:2",
                "assignment",
                None,
                f"telegram:{SA_GROUP}",
                "pending",
                "📌 Schulamt (SA) wurde M-4 zugewiesen (von Clara Koch):\n"
                "⚪ M-4 Schulwegsicherung Nordstadt — SA, 0 %, ohne Frist\n"
                + NUDGE.format(ref="M-4"),
            ),
            (
                "assign:M-5:v2:department:3",
                "assignment",
                None,
                "console:koordination",
                "pending",
                "📌 Stadtplanung (SP) wurde M-5 zugewiesen (von Clara Koch):\n"
                "⚪ M-5 Spielplatz Weststadt — SP, 0 %, ohne Frist\n" + NUDGE.format(ref="M-5"),
            ),
        ]
        snapshot = {"status": "geplant", "progress": 0, "responsible": None}
        assert [(a[1], a[3], a[4], a[5], a[6]) for a in audits(session, after_id=before)] == [
            (
                "create",
                1,
                1,
                None,
                snapshot
                | {
                    "deadline": "2027-03-31",
                    "responsible": MAX,
                    "lead_department": "JA",
                    "title": "Sprachcafé für Eltern",
                },
            ),
            (
                "create",
                2,
                1,
                None,
                snapshot
                | {
                    "deadline": "2026-12-15",
                    "lead_department": "SA",
                    "title": "Lernpaten an Grundschulen",
                },
            ),
            (
                "create",
                3,
                1,
                None,
                snapshot
                | {
                    "deadline": "2026-12-11",
                    "lead_department": "JA",
                    "title": "Jugendtreff Weststadt",
                },
            ),
            (
                "create",
                4,
                1,
                None,
                snapshot
                | {
                    "deadline": None,
                    "lead_department": "SP",
                    "title": "Schulwegsicherung Nordstadt",
                },
            ),
            (
                "create",
                5,
                1,
                None,
                snapshot
                | {"deadline": None, "lead_department": "JA", "title": "Spielplatz Weststadt"},
            ),
            (
                "assign",
                2,
                2,
                snapshot | {"deadline": "2026-12-15", "lead_department": "SA"},
                snapshot | {"deadline": "2026-12-15", "responsible": LEA, "lead_department": "SA"},
            ),
            (
                "assign",
                4,
                2,
                snapshot | {"deadline": None, "lead_department": "SP"},
                snapshot | {"deadline": None, "lead_department": "SA"},
            ),
            (
                "assign",
                5,
                2,
                snapshot | {"deadline": None, "lead_department": "JA"},
                snapshot | {"deadline": None, "lead_department": "SP"},
            ),
        ]


# -- the first reports -----------------------------------------------------------------------

REPORTS = [
    (MAX, "jugendamt", "melden M-1 laufend 30% Raum im Familienzentrum gefunden"),
    (LEA, "konsole", "melden M-2 verzögert 20% Zu wenige Paten"),
]

MELDEN_USAGE = "\n".join(
    [
        "Aufruf: melden <maßnahme> [status] [NN%] [notiz]",
        "Beispiel: melden M-12 70% Träger gefunden",
    ]
)
FRIST_USAGE = "\n".join(
    [
        "Aufruf: frist <maßnahme> <datum> <begründung>",
        "Beispiel: frist M-12 30.06.2027 Träger startet später",
    ]
)


def test_the_first_reports_deadlines_and_edits(any_town: Town) -> None:
    town = any_town
    town.replay(ROOMS + GOALS + MEASURES + ASSIGNMENTS)
    before = last_audit_id(town)
    clara, rita = town.chat(CLARA), town.chat(RITA)
    max_, lea = town.chat(MAX, "jugendamt"), town.chat(LEA)
    assert max_.say("meine") == "\n".join(
        ["Ihre offenen Maßnahmen (1)", "⚪ M-1 Sprachcafé für Eltern — JA, 0 %, Frist 31.03.2027"]
    )
    # Status, percentage and note; on a planned measure this is the start of the work.
    (_, _, first_report), (_, _, second_report) = REPORTS
    assert max_.say(first_report) == "\n".join(
        [
            "Bericht zu M-1 gespeichert",
            "🟢 M-1 Sprachcafé für Eltern — JA, 30 %, Frist 31.03.2027",
            "„Raum im Familienzentrum gefunden“",
        ]
    )
    # The Schulamt takes part in M-1: it may report on it, by a fragment of the title too.
    assert lea.say("melden Sprachcafé 50%") == "\n".join(
        ["Bericht zu M-1 gespeichert", "🟢 M-1 Sprachcafé für Eltern — JA, 50 %, Frist 31.03.2027"]
    )
    # A drop in progress is applied and shown.
    assert lea.say("melden M-1 40% Zwei Lehrkräfte sind dabei") == "\n".join(
        [
            "Bericht zu M-1 gespeichert",
            "🟢 M-1 Sprachcafé für Eltern — JA, 40 %, Frist 31.03.2027",
            "Fortschritt 50 % → 40 %",
            "„Zwei Lehrkräfte sind dabei“",
        ]
    )
    assert lea.say(second_report) == "\n".join(
        [
            "Bericht zu M-2 gespeichert",
            "🟡 M-2 Lernpaten an Grundschulen — SA, 20 %, Frist 15.12.2026",
            "„Zu wenige Paten“",
        ]
    )
    with town.session() as session:
        reported = audits(session, after_id=before)
        assert len(reported) == 4
    unchanged = last_audit_id(town)

    # Refusals: the role, or the department's part in the measure, is named; nothing changes.
    assert lea.say("erledigt M-1") == (
        "„erledigt“ für M-1 — Ihr Ressort SA ist an M-1 beteiligt, federführend ist JA; das "
        "dürfen koordination oder das federführende Ressort."
    )
    assert max_.say("erledigt M-2") == (
        "„erledigt“ für M-2 — Ihr Ressort JA ist an M-2 nicht beteiligt; das dürfen "
        "koordination oder das federführende Ressort."
    )
    assert max_.say("melden M-2 50%") == (
        "Bericht zu M-2 — Ihr Ressort JA ist an M-2 nicht beteiligt; das dürfen koordination "
        "oder beteiligte Ressorts."
    )
    assert rita.say("melden M-1 50%") == (
        "„melden“ dürfen nur Personen mit der Rolle koordination oder ressort. Ihre Rolle: lesen."
    )
    assert rita.say("erledigt M-1") == (
        "„erledigt“ dürfen nur Personen mit der Rolle koordination oder ressort. Ihre Rolle: lesen."
    )
    assert max_.say("frist M-1 30.04.2027 Träger zieht um") == (
        "„frist“ dürfen nur Personen mit der Rolle koordination. Ihre Rolle: ressort."
    )
    assert max_.say('ändern M-1 titel:"Sprachcafé"') == (
        "„ändern“ dürfen nur Personen mit der Rolle koordination. Ihre Rolle: ressort."
    )
    # Bad input: the usage, or what the reference is.
    assert max_.say("melden M-1 150%") == (
        f"„150%“ ist kein Fortschritt: eine ganze Zahl von 0 bis 100, z. B. 70%.\n{MELDEN_USAGE}"
    )
    assert max_.say("melden M-1") == (
        f"Bitte Status, Fortschritt oder eine Notiz angeben.\n{MELDEN_USAGE}"
    )
    assert max_.say("melden Z-1 50%") == "Z-1 ist ein Ziel, keine Maßnahme."
    assert max_.say("melden M-99 50%") == (
        "„M-99“ habe ich nicht gefunden.\nDie höchste Nummer ist M-5."
    )
    with town.session() as session:
        assert audits(session, after_id=unchanged) == []
        assert count(session, StatusReport) == 4
        m1, m2 = session.get(Measure, 1), session.get(Measure, 2)
        assert m1 is not None and m2 is not None
        assert (m1.status, m1.progress, m1.version) == (MeasureStatus.IN_PROGRESS, 40, 4)
        assert (m2.status, m2.progress, m2.version) == (MeasureStatus.DELAYED, 20, 3)

    # The Jugendamt closes its youth club; a second „erledigt“ changes nothing.
    town.clock.now = at(10, 30)
    assert max_.say("erledigt M-3 Eröffnung war am Freitag") == "\n".join(
        [
            "Erledigt: M-3 ✅",
            "✅ M-3 Jugendtreff Weststadt — JA, Frist 11.12.2026",
            "„Eröffnung war am Freitag“",
        ]
    )
    assert max_.say("erledigt M-3") == (
        "M-3 ist bereits erledigt. Eine Notiz dazu: melden M-3 <notiz>"
    )
    # A deadline moves with a reason, never into the past.
    town.clock.now = at(11)
    assert clara.say("frist M-2 31.01.2027 Paten starten erst nach den Ferien") == "\n".join(
        [
            "Neue Frist für M-2",
            "15.12.2026 → 31.01.2027 (Paten starten erst nach den Ferien)",
            "🟡 M-2 Lernpaten an Grundschulen — SA, 20 %, Frist 31.01.2027",
        ]
    )
    assert clara.say("frist M-2 28.02.2027") == (
        f"Bitte eine Begründung angeben — sie steht im Verlauf.\n{FRIST_USAGE}"
    )
    assert clara.say("frist M-2 01.01.2020 zu spät") == (
        f"Die neue Frist liegt in der Vergangenheit.\n{FRIST_USAGE}"
    )
    # `ändern`: the fields of a measure that have no command of their own.
    town.clock.now = at(11, 30)
    assert clara.say(
        'ändern M-1 titel:"Sprachcafé für Eltern und Kinder" '
        'beschreibung:"Wöchentlich im Familienzentrum" ziel:Z-1 raum:Südstadt '
        "intervall:monatlich beginn:01.12.2026"
    ) == "\n".join(
        [
            "Geändert: M-1",
            "Titel: Sprachcafé für Eltern → Sprachcafé für Eltern und Kinder",
            "Beschreibung: – → Wöchentlich im Familienzentrum",
            # QUESTIONABLE: the goal is shown by its id only; "Z-2 Mehr Ganztagsplätze →
            # Z-1 Bildungsgerechtigkeit" would let the coordinator see a slip at once.
            "Ziel: Z-2 → Z-1",
            "Planungsraum: Nordstadt → Südstadt",
            "Intervall: quartalsweise → monatlich",
            "Beginn: – → 01.12.2026",
            "Neuer Planungsraum „Südstadt“ angelegt.",
            "🟢 M-1 Sprachcafé für Eltern und Kinder — JA, 40 %, Frist 31.03.2027",
        ]
    )
    assert clara.say("ändern M-1 frist:30.04.2027") == "\n".join(
        [
            "Das ändert ein eigener Befehl: frist <maßnahme> <datum> <begründung>",
            "Aufruf: ändern <maßnahme> titel: beschreibung: ziel: raum: intervall: beginn: "
            "beteiligt:",
            'Beispiel: ändern M-12 titel:"Lernförderung ab Klasse 8" raum:Nordstadt',
        ]
    )
    assert clara.say("ändern M-1 intervall:monatlich") == "M-1 ist schon so; nichts geändert."

    # What the day looks like now.
    assert rita.say("verlauf M-1") == "\n".join(
        [
            "Verlauf M-1 Sprachcafé für Eltern und Kinder",
            "27.11.2026 11:30 Clara Koch: Titel Sprachcafé für Eltern → Sprachcafé für Eltern und "
            "Kinder, Beschreibung – → Wöchentlich im Familienzentrum, Ziel Z-2 → Z-1, "
            "Planungsraum Nordstadt → Südstadt, Intervall quartalsweise → monatlich, "
            "Beginn – → 01.12.2026",
            "27.11.2026 10:00 Lea Lang: 50 % → 40 % — „Zwei Lehrkräfte sind dabei“",
            "27.11.2026 10:00 Lea Lang: 30 % → 50 %",
            "27.11.2026 10:00 Max Müller: geplant → laufend, 0 % → 30 % — „Raum im "
            "Familienzentrum gefunden“",
            "27.11.2026 10:00 Clara Koch: angelegt",
        ]
    )
    assert rita.say("verlauf M-2") == "\n".join(
        [
            "Verlauf M-2 Lernpaten an Grundschulen",
            "27.11.2026 11:00 Clara Koch: Frist 15.12.2026 → 31.01.2027 (Paten starten erst nach "
            "den Ferien)",
            "27.11.2026 10:00 Lea Lang: geplant → verzögert, 0 % → 20 % — „Zu wenige Paten“",
            "27.11.2026 10:00 Clara Koch: verantwortlich – → Lea Lang",
            "27.11.2026 10:00 Clara Koch: angelegt",
        ]
    )
    assert rita.say("status M-1") == "\n".join(
        [
            "🟢 M-1 Sprachcafé für Eltern und Kinder",
            "Status: laufend, 40 % · Frist 31.03.2027 (in 124 Tagen)",
            "Federführend: Jugendamt (JA) · beteiligt: SA",
            "Verantwortlich: Max Müller",
            "Ziel: Z-1 Bildungsgerechtigkeit · Planungsraum: Südstadt",
            "Letzter Bericht: 27.11.2026 (Lea Lang): „Zwei Lehrkräfte sind dabei“ · "
            "Intervall: monatlich",
            "Wöchentlich im Familienzentrum",
        ]
    )
    assert rita.say("status Z-1") == "\n".join(
        [
            "🎯 Z-1 Bildungsgerechtigkeit",
            "Leitziel · Bildung · Trends: Diversität, Digitalisierung",
            "Fortschritt: 30 % über 2 Maßnahmen",
            "Intervall: halbjährlich",
            "",
            "Unterziele",
            "▸ Z-2 Mehr Ganztagsplätze",
            "",
            "Maßnahmen (2)",
            "🟡 M-2 Lernpaten an Grundschulen — SA, 20 %, Frist 31.01.2027",
            "🟢 M-1 Sprachcafé für Eltern und Kinder — JA, 40 %, Frist 31.03.2027",
            "",
            "Zielbewertung",
            "Noch nicht bewertet.",
            "Nächste Bewertung fällig: 27.05.2027 (halbjährlich)",
        ]
    )
    counts = "⚪ {} geplant · 🟢 {} laufend · 🟡 {} verzögert · 🔴 0 gefährdet · ✅ {} erledigt · "
    counts += "⚫ 0 abgebrochen"
    assert rita.say("status") == "\n".join(
        [
            "📊 Überblick Musterstadt — 5 Maßnahmen",
            counts.format(2, 1, 1, 1),
            "",
            "🔴 Überfällig: 0",
            "⏰ Fällig in 14 Tagen: 0",
            "💤 Ohne aktuellen Bericht: 0",
        ]
    )
    # In the Jugendamt's room: what it leads or takes part in (M-4).
    department_overview = "\n".join(
        [
            "📊 Jugendamt (JA) — 3 Maßnahmen, 2 federführend",
            counts.format(1, 1, 0, 1),
            "",
            "🔴 Überfällig: 0",
            "⏰ Fällig in 14 Tagen: 0",
            "💤 Ohne aktuellen Bericht: 0",
        ]
    )
    assert max_.say("status") == department_overview
    assert rita.say("status Jugend") == department_overview
    assert rita.say("status Max Müller") == "\n".join(
        [
            "👤 Max Müller — Jugendamt (JA), ressort",
            "🟢 M-1 Sprachcafé für Eltern und Kinder — JA, 40 %, Frist 31.03.2027",
        ]
    )
    assert rita.say("status Nordstadt") == "\n".join(
        [
            "📊 Planungsraum Nordstadt — 1 Maßnahme",
            counts.format(0, 0, 1, 0),
            "",
            "🔴 Überfällig: 0",
            "⏰ Fällig in 14 Tagen: 0",
            "💤 Ohne aktuellen Bericht: 0",
        ]
    )
    assert rita.say("fällig 90") == "\n".join(
        [
            "Fällig in 90 Tagen (1)",
            "🟡 M-2 Lernpaten an Grundschulen — SA, 20 %, Frist 31.01.2027",
        ]
    )
    assert rita.say("fällig 180 Schulamt") == "\n".join(
        [
            "Fällig in 180 Tagen — SA (2)",
            "🟡 M-2 Lernpaten an Grundschulen — SA, 20 %, Frist 31.01.2027",
            "🟢 M-1 Sprachcafé für Eltern und Kinder — JA, 40 %, Frist 31.03.2027",
        ]
    )
    assert rita.say("überfällig") == "Überfällig\nNichts überfällig. 👍"
    assert max_.say("meine") == "\n".join(
        [
            "Ihre offenen Maßnahmen (1)",
            "🟢 M-1 Sprachcafé für Eltern und Kinder — JA, 40 %, Frist 31.03.2027",
        ]
    )

    with town.session() as session:
        assert reports(session, 1) == [
            (
                MAX,
                "geplant",
                "laufend",
                0,
                30,
                "Raum im Familienzentrum gefunden",
                "console",
                "jugendamt",
            ),
            (LEA, "laufend", "laufend", 30, 50, None, "console", "konsole"),
            (LEA, "laufend", "laufend", 50, 40, "Zwei Lehrkräfte sind dabei", "console", "konsole"),
        ]
        assert reports(session, 2) == [
            (LEA, "geplant", "verzögert", 0, 20, "Zu wenige Paten", "console", "konsole"),
        ]
        assert reports(session, 3) == [
            (
                MAX,
                "geplant",
                "erledigt",
                0,
                100,
                "Eröffnung war am Freitag",
                "console",
                "jugendamt",
            ),
        ]
        assert measure_state(session, 1) == (
            "Sprachcafé für Eltern und Kinder",
            "JA",
            ["SA"],
            MAX,
            "Z-1",
            "Südstadt",
            date(2026, 12, 1),
            date(2027, 3, 31),
            MeasureStatus.IN_PROGRESS,
            40,
            "monatlich",
            5,
        )
        m1 = session.get(Measure, 1)
        assert m1 is not None and m1.description == "Wöchentlich im Familienzentrum"
        assert m1.last_report_at == at(10)
        assert measure_state(session, 2)[7:] == (
            date(2027, 1, 31),
            MeasureStatus.DELAYED,
            20,
            "monatlich",
            4,
        )
        assert measure_state(session, 3)[7:] == (
            date(2026, 12, 11),
            MeasureStatus.DONE,
            100,
            "quartalsweise",
            2,
        )
        changes = [(a[0], a[1], a[3], a[4]) for a in audits(session, after_id=before)]
        assert changes == [
            ("console:Max Müller", "report", 1, 2),
            ("console:Lea Lang", "report", 1, 3),
            ("console:Lea Lang", "report", 1, 4),
            ("console:Lea Lang", "report", 2, 3),
            ("console:Max Müller", "done", 3, 2),
            ("console:Clara Koch", "deadline", 2, 4),
            ("console:Clara Koch", "edit", 1, 5),
        ]
        deadline, edit = audits(session, after_id=before)[-2:]
        assert deadline[6] == {
            "status": "verzögert",
            "progress": 20,
            "deadline": "2027-01-31",
            "responsible": LEA,
            "lead_department": "SA",
            "reason": "Paten starten erst nach den Ferien",
        }
        assert (edit[5], edit[6]) == (
            {
                "title": "Sprachcafé für Eltern",
                "description": None,
                "goal": "Z-2",
                "planning_area": "Nordstadt",
                "evaluation_interval": "quartalsweise",
                "start": None,
            },
            {
                "title": "Sprachcafé für Eltern und Kinder",
                "description": "Wöchentlich im Familienzentrum",
                "goal": "Z-1",
                "planning_area": "Südstadt",
                "evaluation_interval": "monatlich",
                "start": "2026-12-01",
            },
        )

    # Two months on: the deadline of M-2 has passed.
    town.clock.now = at(9, day=date(2027, 2, 2))
    assert rita.say("überfällig") == "\n".join(
        ["Überfällig (1)", "🔴 M-2 Lernpaten an Grundschulen — SA, 20 %, 2 Tage überfällig"]
    )
    assert rita.say("überfällig JA") == "Überfällig — JA\nNichts überfällig. 👍"
    assert rita.say("status") == "\n".join(
        [
            "📊 Überblick Musterstadt — 5 Maßnahmen",
            counts.format(2, 1, 1, 1),
            "",
            "🔴 Überfällig: 1",
            "  🔴 M-2 Lernpaten an Grundschulen — SA, 20 %, 2 Tage überfällig",
            "⏰ Fällig in 14 Tagen: 0",
            "💤 Ohne aktuellen Bericht: 2",  # M-1 and M-2 are asked monthly
        ]
    )
    # QUESTIONABLE: "Nichts fällig … 👍" while a measure is overdue; a pointer to
    # `überfällig` (or the overdue count) would keep the thumbs-up from misleading.
    assert rita.say("fällig") == "Fällig in 14 Tagen\nNichts fällig in diesem Zeitraum. 👍"


# -- the first meeting -----------------------------------------------------------------------

STEERING_GROUP = (
    'sitzung neu 14.01.2027 10:00 "Steuergruppe Bildung" ressorts:JA,SA '
    'gremium:"Steuergruppe Bildung"'
)
MEETING_USAGE = "\n".join(
    [
        'Aufruf: sitzung neu <datum> <zeit> "<titel>" raum: ressorts: gremium:',
        'Beispiel: sitzung neu 14.01.2027 10:00 "Steuergruppe Bildung" ressorts:BB,JA,SA',
    ]
)


def meeting_state(session: Session) -> list[tuple[Any, ...]]:
    meetings = session.execute(select(Meeting).order_by(Meeting.id)).scalars()
    return [
        (
            m.ref,
            m.title,
            m.starts_at,
            m.body,
            m.room.address if m.room else None,
            [d.key for d in m.departments],
            [
                (d.text, d.follow_up.value, [x.ref for x in d.measures], d.resulting_changes)
                for d in m.decisions
            ],
        )
        for m in meetings
    ]


def test_the_first_steering_group_meeting(any_town: Town) -> None:
    town = any_town
    town.replay(ROOMS + GOALS + MEASURES + ASSIGNMENTS + REPORTS)
    before = last_audit_id(town)
    clara, rita = town.chat(CLARA), town.chat(RITA)
    max_ = town.chat(MAX, "jugendamt")
    assert clara.say(STEERING_GROUP) == "\n".join(
        [
            "Geplant: S-1 Do 14.01.2027 10:00",
            "Steuergruppe Bildung",
            "Raum: Koordinationsraum",
            "Ressorts: JA, SA",
            "Erinnerungen an die Ressorts: 05.01.2027, 13.01.2027; Tagesordnung: 13.01.2027",
        ]
    )
    assert max_.say('sitzung neu 15.01.2027 10:00 "Teamrunde"') == (
        "„sitzung neu“ dürfen nur Personen mit der Rolle koordination. Ihre Rolle: ressort."
    )
    assert clara.say('sitzung neu 15.01.2027 "Teamrunde"') == MEETING_USAGE
    assert clara.say('sitzung neu 01.01.2020 10:00 "Alt"') == (
        f"Die Sitzung liegt in der Vergangenheit.\n{MEETING_USAGE}"
    )
    assert rita.say("sitzung") == "\n".join(
        [
            "Nächste Sitzungen",
            "📅 S-1 Do 14.01.2027 10:00 Steuergruppe Bildung (JA, SA)",
            "",
            "Tagesordnung: agenda [sitzung]",
        ]
    )
    assert rita.say("sitzung S-1") == "\n".join(
        [
            "📅 S-1 Do 14.01.2027 10:00",
            "Steuergruppe Bildung",
            "Gremium: Steuergruppe Bildung",
            "Raum: Koordinationsraum",
            "Ressorts: JA, SA",
            "Erinnerungen an die Ressorts: 05.01.2027, 13.01.2027; Tagesordnung: 13.01.2027",
        ]
    )
    # The reminders move with the meeting (working days, BB).
    assert clara.say("sitzung verschieben S-1 21.01.2027 09:30") == "\n".join(
        [
            "Verschoben: S-1",
            "Do 14.01.2027 10:00 → Do 21.01.2027 09:30",
            "Erinnerungen an die Ressorts: 12.01.2027, 20.01.2027; Tagesordnung: 20.01.2027",
        ]
    )
    agenda_s1 = [
        "📋 Tagesordnung S-1 — Do 21.01.2027 09:30",
        "Steuergruppe Bildung",
        "Ressorts: JA, SA",
        "",
        "TOP 1 Jugendamt (JA)",
        "Fällig bis 04.03.2027 (1):",
        "⚪ M-3 Jugendtreff Weststadt — 0 %, Frist 11.12.2026",
        "",
        "TOP 2 Schulamt (SA)",
        "Gefährdet oder verzögert (1):",
        "🟡 M-2 Lernpaten an Grundschulen — 20 %, Frist 15.12.2026 · Lea Lang",
    ]
    assert rita.say("agenda") == "\n".join(agenda_s1)
    assert rita.say("agenda S-1") == "\n".join(agenda_s1)

    # In the meeting, in the coordination room.
    town.clock.now = at(10, 30, day=date(2027, 1, 21))
    in_the_meeting = town.chat(CLARA, "koordination")
    assert max_.say('beschluss S-1 "Weiter so"') == (
        "„beschluss“ dürfen nur Personen mit der Rolle koordination. Ihre Rolle: ressort."
    )
    assert in_the_meeting.say(
        'beschluss S-1 "Lernpaten: Frist bis Ende Februar, Schulamt wirbt Paten" M-2 '
        "frist:28.02.2027"
    ) == "\n".join(
        [
            "Beschluss S-1",
            "⏳ S-1/1 Lernpaten: Frist bis Ende Februar, Schulamt wirbt Paten",
            "Betrifft: M-2",
            "Änderungen: M-2: Frist 15.12.2026 → 28.02.2027",
            "Erscheint mit seinem Umsetzungsstand auf der nächsten Tagesordnung; umgesetzt: "
            "beschluss umgesetzt S-1/1",
        ]
    )
    assert in_the_meeting.say('beschluss S-1 "Sprachcafé läuft gut, weiter so"') == "\n".join(
        [
            "Beschluss S-1",
            "⏳ S-1/2 Sprachcafé läuft gut, weiter so",
            "Erscheint mit seinem Umsetzungsstand auf der nächsten Tagesordnung; umgesetzt: "
            "beschluss umgesetzt S-1/2",
        ]
    )
    assert in_the_meeting.say("beschluss umgesetzt S-1/1") == "\n".join(
        [
            "Beschluss umgesetzt",
            "✅ S-1/1 Lernpaten: Frist bis Ende Februar, Schulamt wirbt Paten — umgesetzt (M-2)",
        ]
    )
    assert in_the_meeting.say("beschluss umgesetzt S-1/1") == "S-1/1 ist bereits umgesetzt."
    assert rita.say("sitzung S-1") == "\n".join(
        [
            "📅 S-1 Do 21.01.2027 09:30",
            "Steuergruppe Bildung",
            "Gremium: Steuergruppe Bildung",
            "Raum: Koordinationsraum",
            "Ressorts: JA, SA",
            "",
            "Beschlüsse",
            "✅ S-1/1 Lernpaten: Frist bis Ende Februar, Schulamt wirbt Paten — umgesetzt (M-2)",
            "⏳ S-1/2 Sprachcafé läuft gut, weiter so — offen",
        ]
    )
    assert rita.say("verlauf M-2") == "\n".join(
        [
            "Verlauf M-2 Lernpaten an Grundschulen",
            "21.01.2027 10:30 Clara Koch: Frist 15.12.2026 → 28.02.2027 (Beschluss S-1)",
            "27.11.2026 10:00 Lea Lang: geplant → verzögert, 0 % → 20 % — „Zu wenige Paten“",
            "27.11.2026 10:00 Clara Koch: verantwortlich – → Lea Lang",
            "27.11.2026 10:00 Clara Koch: angelegt",
        ]
    )

    # The afternoon: the next meeting, and its agenda with the decisions of the first.
    town.clock.now = at(15, day=date(2027, 1, 21))
    assert in_the_meeting.say(STEERING_GROUP.replace("14.01.2027", "04.03.2027")) == "\n".join(
        [
            "Geplant: S-2 Do 04.03.2027 10:00",
            "Steuergruppe Bildung",
            "Raum: Koordinationsraum",
            "Ressorts: JA, SA",
            "Erinnerungen an die Ressorts: 23.02.2027, 03.03.2027; Tagesordnung: 03.03.2027",
        ]
    )
    assert rita.say("sitzung") == "\n".join(
        [
            "Nächste Sitzungen",
            "📅 S-2 Do 04.03.2027 10:00 Steuergruppe Bildung (JA, SA)",
            "",
            "Letzte Sitzung",
            "S-1 Do 21.01.2027 09:30 Steuergruppe Bildung — 2 Beschlüsse, 1 offen",
            "",
            "Tagesordnung: agenda [sitzung]",
        ]
    )
    assert rita.say("agenda") == "\n".join(
        [
            "📋 Tagesordnung S-2 — Do 04.03.2027 10:00",
            "Steuergruppe Bildung",
            "Ressorts: JA, SA",
            "",
            "TOP 1 Beschlüsse der letzten Sitzung (S-1, 21.01.2027)",
            "✅ S-1/1 Lernpaten: Frist bis Ende Februar, Schulamt wirbt Paten — umgesetzt (M-2)",
            "⏳ S-1/2 Sprachcafé läuft gut, weiter so — offen",
            "",
            "TOP 2 Jugendamt (JA)",
            "Überfällig (1):",
            "🔴 M-3 Jugendtreff Weststadt — 0 %, 41 Tage überfällig",
            "Fällig bis 15.04.2027 (1):",
            "🟢 M-1 Sprachcafé für Eltern — 30 %, Frist 31.03.2027 · Max Müller",
            "",
            "TOP 3 Schulamt (SA)",
            "Gefährdet oder verzögert (1):",
            "🟡 M-2 Lernpaten an Grundschulen — 20 %, Frist 28.02.2027 · Lea Lang",
        ]
    )

    with town.session() as session:
        assert meeting_state(session) == [
            (
                "S-1",
                "Steuergruppe Bildung",
                at(9, 30, day=date(2027, 1, 21)),
                "Steuergruppe Bildung",
                None,  # the coordination room, whichever it is then
                ["JA", "SA"],
                [
                    (
                        "Lernpaten: Frist bis Ende Februar, Schulamt wirbt Paten",
                        "umgesetzt",
                        ["M-2"],
                        "M-2: Frist 15.12.2026 → 28.02.2027",
                    ),
                    ("Sprachcafé läuft gut, weiter so", "offen", [], None),
                ],
            ),
            (
                "S-2",
                "Steuergruppe Bildung",
                at(10, day=date(2027, 3, 4)),
                "Steuergruppe Bildung",
                None,
                ["JA", "SA"],
                [],
            ),
        ]
        assert measure_state(session, 2)[7:] == (
            date(2027, 2, 28),
            MeasureStatus.DELAYED,
            20,
            "monatlich",
            4,
        )
        assert [(a[0], a[1], a[2], a[3], a[8]) for a in audits(session, after_id=before)] == [
            ("console:Clara Koch", "create", "meeting", 1, "konsole"),
            ("console:Clara Koch", "move", "meeting", 1, "konsole"),
            ("console:Clara Koch", "decision", "measure", 2, "koordination"),
            ("console:Clara Koch", "decision", "meeting", 1, "koordination"),
            ("console:Clara Koch", "decision", "meeting", 1, "koordination"),
            ("console:Clara Koch", "follow_up", "meeting", 1, "koordination"),
            ("console:Clara Koch", "create", "meeting", 2, "koordination"),
        ]
        moved = audits(session, after_id=before)[2]
        assert moved[6] is not None and moved[6]["deadline"] == "2027-02-28"


# -- one's own settings: deputy, reminders, language, who am I -----------------------------

REMINDERS_FOR_ALL = "\n".join(
    [
        "Für alle",
        "Arbeitszeit 08:00–17:00, Mo–Fr außer Feiertagen (BB)",
        "Fristen: 14 und 3 Tage vorher; überfällig: am Arbeitstag danach, dann alle 7 Tage",
        # QUESTIONABLE: "1 Arbeitstag(e)" — the number is known, so "1 Arbeitstag".
        "Sitzungen: 7 und 1 Arbeitstage vorher an die Ressorts, Tagesordnung 1 Arbeitstag(e) "
        "vorher",
        "Wochenübersicht montags 08:00",
        "",
        "Ändern: erinnerungen an | aus | zeit:HH:MM | zeit:standard",
    ]
)


def reminders_here(state: str) -> str:
    return "\n".join(
        [
            f"Erinnerungen hier: {state}",
            "Hierher: Überfälliges und Sitzungsvorbereitung von JA, Erinnerungen ohne "
            "erreichbare Person",
            "",
            REMINDERS_FOR_ALL,
        ]
    )


def test_deputies_reminder_settings_language_and_who_am_i(town: Town) -> None:
    town.replay(ROOMS)
    before = last_audit_id(town)
    clara, rita, lea = town.chat(CLARA), town.chat(RITA), town.chat(LEA)
    max_ = town.chat(MAX, "jugendamt")
    # Anyone may say who stands in for them; for someone else it takes a coordinator.
    assert max_.say('vertretung durch "Lea Lang" bis 18.12.2026') == "\n".join(
        [
            "Vertretung eingetragen",
            "Max Müller ist bis einschließlich 18.12.2026 abwesend; Erinnerungen gehen bis dahin "
            "an Lea Lang.",
        ]
    )
    assert max_.say("vertretung") == "\n".join(
        [
            "Vertretung",
            "Sie sind bis 18.12.2026 abwesend; Vertretung: Lea Lang.",
            "",
            "Abwesend",
            "Max Müller → Lea Lang bis 18.12.2026",
            "",
            "Eintragen: vertretung [person] durch <vertretung> bis <datum>",
        ]
    )
    assert rita.say('vertretung "Lea Lang" durch "Max Müller" bis 18.12.2026') == (
        "„vertretung für Lea Lang“ dürfen nur Personen mit der Rolle koordination (für sich "
        "selbst: alle). Ihre Rolle: lesen."
    )
    assert rita.say("vertretung durch Clara bis gestern") == "\n".join(
        [
            "Das Datum liegt in der Vergangenheit.",
            "Aufruf: vertretung [person] durch <vertretung> bis <datum>",
            'Beispiel: vertretung durch "Markus Becker" bis 18.12.2026',
        ]
    )
    assert rita.say("vertretung ende") == "Rita Roth ist nicht abwesend."
    assert clara.say('vertretung "Lea Lang" durch "Clara Koch" bis 31.12.2026') == "\n".join(
        [
            "Vertretung eingetragen",
            "Lea Lang ist bis einschließlich 31.12.2026 abwesend; Erinnerungen gehen bis dahin "
            "an Clara Koch.",
        ]
    )
    assert lea.say("vertretung ende") == "\n".join(
        [
            "Vertretung beendet",
            "Lea Lang ist zurück; Erinnerungen gehen wieder direkt an Lea Lang.",
        ]
    )
    assert clara.say("personen JA") == "\n".join(
        [
            "Personen — JA (1)",
            "Max Müller (JA) — ressort · erreichbar: console · abwesend bis 18.12.2026, "
            "Vertretung: Lea Lang (SA)",
        ]
    )
    assert max_.say("wer bin ich") == "\n".join(
        [
            "Wer bin ich",
            "Chat-ID: console:Max Müller",
            "Registriert als Max Müller — Jugendamt (JA), Rolle ressort",
            "Abwesend bis 18.12.2026, Vertretung: Lea Lang",
            "Raum: console:jugendamt",
            "Raum verknüpft mit Jugendamt (JA)",
        ]
    )
    assert town.chat(CLARA, "koordination").say("wer bin ich") == "\n".join(
        [
            "Wer bin ich",
            "Chat-ID: console:Clara Koch",
            "Registriert als Clara Koch — –, Rolle koordination",
            "Administration: ja",
            "Raum: console:koordination",
            "Koordinationsraum",
        ]
    )

    # The reminder settings of a room; the coordinator's business.
    jugendamt = town.chat(CLARA, "jugendamt")
    assert jugendamt.say("erinnerungen") == "Erinnerungen\n" + reminders_here(
        "an, um 08:00 (Standard)"
    )
    assert jugendamt.say("erinnerungen zeit:09:30") == "Erinnerungen geändert\n" + (
        reminders_here("an, um 09:30")
    )
    assert jugendamt.say("erinnerungen aus") == "Erinnerungen geändert\n" + (
        reminders_here("aus, um 09:30")
    )
    assert max_.say("erinnerungen an") == (
        "„erinnerungen“ dürfen nur Personen mit der Rolle koordination. Ihre Rolle: ressort."
    )
    assert clara.say("erinnerungen") == "\n".join(
        [
            "Erinnerungen",
            "Dieser Raum ist nicht verknüpft; hierher gehen keine Erinnerungen.",
            "",
            REMINDERS_FOR_ALL,
        ]
    )
    assert town.chat(CLARA, "koordination").say("erinnerungen") == "\n".join(
        [
            "Erinnerungen",
            "Erinnerungen hier: an, um 08:00 (Standard)",
            "Hierher: Wochenübersicht, Tagesordnungen, alles ohne anderen Empfänger",
            "Nächste Wochenübersicht: 30.11.2026",
            "",
            REMINDERS_FOR_ALL,
        ]
    )

    # Language: per person, and everything follows.
    assert max_.say("sprache en") == "I will answer you in English from now on."
    assert max_.say("wer bin ich") == "\n".join(
        [
            "Who am I",
            "Chat id: console:Max Müller",
            "Registered as Max Müller — Jugendamt (JA), role ressort",
            "Absent until 2026-12-18, deputy: Lea Lang",
            "Room: console:jugendamt",
            "Room linked to Jugendamt (JA)",
        ]
    )
    assert max_.say("status") == "\n".join(
        [
            "📊 Jugendamt (JA) — 0 measures, leading 0",
            "⚪ 0 planned · 🟢 0 in progress · 🟡 0 delayed · 🔴 0 at risk · ✅ 0 done · "
            "⚫ 0 cancelled",
            "",
            "🔴 Overdue: 0",
            "⏰ Due in 14 days: 0",
            "💤 Without a current report: 0",
        ]
    )
    assert max_.say("hilfe melden") == "\n".join(
        [
            "update",
            "report progress (status: planned, in_progress, delayed, at_risk, done, cancelled)",
            "Usage: update <measure> [status] [NN%] [note]",
            "Example: update M-12 delayed 40% waiting for funds",
            "Who: koordination (coordinator) or ressort (department member)",
            "Also: melden",
        ]
    )
    assert rita.say("sprache fr") == "Aufruf: sprache de|en\nBeispiel: sprache en"
    assert rita.say("sprache en") == "I will answer you in English from now on."
    assert rita.say("sprache de") == "Ich antworte Ihnen ab jetzt auf Deutsch."

    with town.session() as session:
        people = {p.name: p for p in session.execute(select(Person)).scalars()}
        assert (
            people[MAX].absent_until,
            people[MAX].deputy.name if people[MAX].deputy else None,
            people[MAX].language,
        ) == (date(2026, 12, 18), LEA, "en")
        # Back: the absence ends; the deputy stays on record for the next time.
        lea_row = people[LEA]
        assert (lea_row.absent_until, lea_row.deputy.name if lea_row.deputy else None) == (
            None,
            CLARA,
        )
        assert (people[RITA].language, people[CLARA].language) == ("de", None)
        room = session.execute(select(RoomLink).where(RoomLink.room_id == "jugendamt")).scalar_one()
        assert (room.reminders_enabled, room.reminder_time) == (False, "09:30")
        away = {"deputy": None, "absent_until": None}
        assert [(a[0], a[1], a[2], a[5], a[6]) for a in audits(session, after_id=before)] == [
            (
                "console:Max Müller",
                "absence",
                "person",
                away,
                {"deputy": LEA, "absent_until": "2026-12-18"},
            ),
            (
                "console:Clara Koch",
                "absence",
                "person",
                away,
                {"deputy": CLARA, "absent_until": "2026-12-31"},
            ),
            (
                "console:Lea Lang",
                "absence",
                "person",
                {"deputy": CLARA, "absent_until": "2026-12-31"},
                {"deputy": CLARA, "absent_until": None},
            ),
            (
                "console:Clara Koch",
                "reminders",
                "room",
                {"enabled": True, "time": None},
                {"enabled": True, "time": "09:30"},
            ),
            (
                "console:Clara Koch",
                "reminders",
                "room",
                {"enabled": True, "time": "09:30"},
                {"enabled": False, "time": "09:30"},
            ),
            ("console:Max Müller", "language", "person", {"language": None}, {"language": "en"}),
            ("console:Rita Roth", "language", "person", {"language": None}, {"language": "en"}),
            ("console:Rita Roth", "language", "person", {"language": "en"}, {"language": "de"}),
        ]


# -- defects this suite found, asserted as fixed ------------------------------------------


def test_an_unquoted_name_of_two_words_does_not_leak_into_the_title(town: Town) -> None:
    """Found by this suite: `verantwortlich:Max Müller` used to make "Leseclub Müller"."""
    clara = town.chat(CLARA)
    town.replay(GOALS)
    assert clara.say('neu "Leseclub" ressort:JA verantwortlich:Max Müller').startswith(
        "Angelegt: M-1"
    )
    # A new name of several words cannot be told from the title: the bot asks for quotes.
    assert clara.say('neu "Elterncafé" ressort:JA raum:Neue Mitte').splitlines()[0] == (
        "„Mitte“ gehört zu keiner Angabe. Namen aus mehreren Wörtern bitte in "
        'Anführungszeichen, z. B. raum:"Neue Mitte".'
    )
    clara.say('ziel neu "Gesund aufwachsen" trends:Demografischer Wandel')
    with town.session() as session:
        measures = session.execute(select(Measure).order_by(Measure.id)).scalars().all()
        assert [(m.title, m.responsible.name if m.responsible else None) for m in measures] == [
            ("Leseclub", "Max Müller")
        ]
        goal = session.execute(select(Goal).order_by(Goal.id.desc())).scalars().first()
        assert goal is not None and goal.title == "Gesund aufwachsen"
        assert [t.name for t in goal.trends] == ["Demografischer Wandel"]
        assert "Neue" not in [a.name for a in session.execute(select(PlanningArea)).scalars()]


def test_a_picked_trend_does_not_spoil_the_title(town: Town) -> None:
    clara = town.chat(CLARA)
    assert clara.say('ziel neu "Gesund aufwachsen" trends:Klimawandel,demo').startswith(
        "„demo“ passt auf mehrere."
    )
    assert clara.say("1").splitlines()[:3] == [
        "Angelegt: Z-1",
        "Leitziel: Gesund aufwachsen",
        "Trends: Klimawandel, Demografischer Wandel",
    ]


def test_the_responsible_person_can_report_on_the_measure(town: Town) -> None:
    """Found by this suite: Max (JA) was made responsible for an SA measure he could not
    report on, and a reader was made responsible too."""
    town.replay(ROOMS + GOALS + MEASURES)
    clara = town.chat(CLARA)
    assigned = clara.say('zuweisen M-2 an "Max Müller"').splitlines()
    assert assigned[0] == "M-2 → Max Müller"
    assert "Jugendamt (JA) ist jetzt beteiligt, damit Max Müller melden kann." in assigned
    assert town.chat(MAX, "jugendamt").say("melden M-2 50%").splitlines() == [
        "Bericht zu M-2 gespeichert",
        "🟢 M-2 Lernpaten an Grundschulen — SA, 50 %, Frist 15.12.2026",
    ]
    with town.session() as session:
        measure = session.get(Measure, 2)
        assert measure is not None
        assert "JA" in [d.key for d in measure.participants]
    before = last_audit_id(town)
    assert clara.say('zuweisen M-1 an "Rita Roth"') == (
        "Rita Roth hat die Rolle lesen und kann zu M-1 nicht melden; verantwortlich sein "
        "kann, wer melden darf (koordination oder ressort)."
    )
    with town.session() as session:
        assert audits(session, after_id=before) == []
        measure = session.get(Measure, 1)
        assert measure is not None and measure.responsible is not None
        assert measure.responsible.name != "Rita Roth"


def test_relinking_a_room_says_which_department_loses_it(town: Town) -> None:
    town.replay(ROOMS)
    assert town.chat(CLARA, "jugendamt").say("ressort verknüpfen SA") == "\n".join(
        [
            "Raum verknüpft",
            "Dieser Raum gehört jetzt zu Schulamt (SA). „status“ zeigt hier dessen Maßnahmen.",
            "Vorher: Jugendamt (JA) — dessen Erinnerungen gehen jetzt an den Koordinationsraum.",
        ]
    )


def test_one_measure_is_singular_in_a_goal(town: Town) -> None:
    town.replay(GOALS + MEASURES[:1])
    reply = town.chat(RITA).say("ziel Z-2")
    assert "Fortschritt: 0 % über 1 Maßnahme\n" in reply, reply
