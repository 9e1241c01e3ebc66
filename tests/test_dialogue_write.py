"""Dialogue tests for the write commands: neu, ziel neu, zuweisen, melden, erledigt, frist.

Also who may write (roles and department scope), bad input, numbered picks, internal errors,
"Changes and versions" (PRODUCT.md §1) and the audit trail with each change's origin.
"""

from __future__ import annotations

import re
import threading
from datetime import date
from itertools import pairwise
from typing import Any

import pytest
from conftest import NOW, Chat
from sqlalchemy import func, select
from test_dialogue_read import world

from bot.bootstrap import App
from handlers.core import Reply, ShownVersion
from storage.models import (
    AuditEntry,
    Goal,
    Measure,
    MeasureStatus,
    OutboxEntry,
    Person,
    PlanningArea,
    RoomLink,
    StatusReport,
)

M8_LINE = "⚪ M-8 Kindertagespflege in der Gartenstadt ausbauen — JA, 0 %, Frist 27.03.2027"

# -- helpers --------------------------------------------------------------------------------


def measure(app: App, ref: int) -> Measure:
    """The measure as stored now (detached, with what the assertions read loaded)."""
    with app.uows() as uow:
        found = uow.session.get(Measure, ref)
        assert found is not None
        _ = (found.participants, found.responsible, found.lead_department, found.planning_area)
        uow.session.expunge_all()
        return found


def _rows(app: App, query: Any) -> list[Any]:
    with app.uows() as uow:
        rows = list(uow.session.execute(query).scalars())
        uow.session.expunge_all()
        return rows


def reports_of(app: App, measure_id: int) -> list[StatusReport]:
    return _rows(
        app,
        select(StatusReport).where(StatusReport.measure_id == measure_id).order_by(StatusReport.id),
    )


def audits(app: App, **where: Any) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id)
    for column, value in where.items():
        query = query.where(getattr(AuditEntry, column) == value)
    return _rows(app, query)


def outbox(app: App) -> list[OutboxEntry]:
    return _rows(app, select(OutboxEntry).order_by(OutboxEntry.id))


def person_id(app: App, name: str) -> int:
    with app.uows() as uow:
        return uow.session.execute(select(Person.id).where(Person.name == name)).scalar_one()


def usage(reason: str | None, usage_line: str, example: str) -> str:
    lines = [reason] if reason else []
    return "\n".join([*lines, f"Aufruf: {usage_line}", f"Beispiel: {example}"])


MELDEN_USAGE = ("melden <maßnahme> [status] [NN%] [notiz]", "melden M-12 70% Träger gefunden")
FRIST_USAGE = (
    "frist <maßnahme> <datum> <begründung>",
    "frist M-12 30.06.2027 Träger startet später",
)
NEU_USAGE = (
    'neu "<titel>" ressort: frist: ziel: verantwortlich: beteiligt: raum: intervall:',
    'neu "Sprachcafé für Eltern" ressort:JA frist:31.03.2027 verantwortlich:"Markus Becker"',
)
ZIEL_NEU_USAGE = (
    'ziel neu "<titel>" oberziel: handlungsfeld: trends: intervall:',
    'ziel neu "Mehr Ganztagsplätze" oberziel:Z-3 handlungsfeld:Bildung',
)


@pytest.fixture
def markus(sqlite_app: App) -> Chat:
    """Department member (ressort) of the Jugendamt, in the Jugendamt's room."""
    return Chat(sqlite_app, "Markus Becker", "jugendamt")


# -- neu --------------------------------------------------------------------------------------


def test_neu_with_every_option(anna: Chat) -> None:
    app = anna.app
    reply = anna.reply(
        'neu "Sprachcafé für Eltern" ressort:JA frist:31.03.2027 ziel:Z-8 '
        'verantwortlich:"Markus Becker" beteiligt:GA,IB raum:Nordstadt intervall:monatlich'
    )
    assert reply.plain() == "\n".join(
        [
            "Angelegt: M-51",
            "⚪ M-51 Sprachcafé für Eltern — JA, 0 %, Frist 31.03.2027",
            "Markus Becker wird benachrichtigt.",
        ]
    )
    assert reply.subject == ShownVersion(51, 1)
    created = measure(app, 51)
    assert (created.title, created.lead_department.key, created.deadline, created.goal_id) == (
        "Sprachcafé für Eltern",
        "JA",
        date(2027, 3, 31),
        8,
    )
    assert created.responsible is not None and created.responsible.name == "Markus Becker"
    assert sorted(d.key for d in created.participants) == ["GA", "IB"]
    assert created.planning_area is not None and created.planning_area.name == "Nordstadt"
    assert (created.evaluation_interval, created.status, created.progress, created.version) == (
        "monatlich",
        MeasureStatus.PLANNED,
        0,
        1,
    )
    assert anna.say("status M-51").splitlines() == [
        "⚪ M-51 Sprachcafé für Eltern",
        "Status: geplant, 0 % · Frist 31.03.2027 (in 124 Tagen)",
        "Federführend: Jugendamt (JA) · beteiligt: GA, IB",
        "Verantwortlich: Markus Becker",
        "Ziel: Z-8 Sprachstand bei Schuleintritt verbessern · Planungsraum: Nordstadt",
        "Noch kein Bericht · Intervall: monatlich",
    ]
    # Audited with its origin, and the new responsible person gets exactly one notice.
    [entry] = audits(app, entity_kind="measure", entity_id=51)
    assert (entry.action, entry.actor, entry.origin_platform, entry.origin_room) == (
        "create",
        "console:Anna Schmidt",
        "console",
        "konsole",
    )
    assert entry.origin_message_id == "Anna Schmidt-1"
    [notice] = outbox(app)
    assert (notice.person_id, notice.measure_id, notice.kind) == (
        person_id(app, "Markus Becker"),
        51,
        "assignment",
    )


def test_new_in_english_with_english_option_names(anna: Chat) -> None:
    assert anna.say(
        'new "Language café" department:SA deadline:2027-03-31 responsible:"Katrin Schulz" '
        "participating:JA area:Altstadt interval:quarterly"
    ) == "\n".join(
        [
            "Angelegt: M-51",
            "⚪ M-51 Language café — SA, 0 %, Frist 31.03.2027",
            "Katrin Schulz wird benachrichtigt.",
        ]
    )
    created = measure(anna.app, 51)
    assert [d.key for d in created.participants] == ["JA"]
    assert created.evaluation_interval == "quartalsweise"
    assert created.planning_area is not None and created.planning_area.name == "Altstadt"


def test_neu_in_a_department_room_defaults_to_that_department(sqlite_app: App) -> None:
    jonas = Chat(sqlite_app, "Jonas Weber", "jugendamt")
    assert jonas.say('neu "Elternabend Kita" frist:in 2 Wochen') == "\n".join(
        ["Angelegt: M-51", "⚪ M-51 Elternabend Kita — JA, 0 %, Frist 11.12.2026"]
    )
    assert outbox(sqlite_app) == []  # nobody responsible, nobody to notify


def test_neu_with_a_new_planning_area_creates_it(anna: Chat) -> None:
    assert anna.say('neu "Spielplatz Lindenhof" ressort:Jugend raum:Lindenhof') == "\n".join(
        [
            "Angelegt: M-51",
            "⚪ M-51 Spielplatz Lindenhof — JA, 0 %, ohne Frist",
            "Neuer Planungsraum „Lindenhof“ angelegt.",
        ]
    )
    with anna.app.uows() as uow:
        names = uow.session.execute(select(PlanningArea.name)).scalars().all()
    assert "Lindenhof" in names
    assert anna.say("status Lindenhof").splitlines()[0] == (
        "📊 Planungsraum Lindenhof — 1 Maßnahme"
    )


NEU_BAD_INPUT = [
    ("neu", "Der Titel fehlt."),
    ('neu "Sprachcafé"', "Welches Ressort ist federführend? ressort:<kürzel>"),
    ('neu "Sprachcafé" ressort:JA frist:01.01.2020', "Die Frist liegt in der Vergangenheit."),
    (
        'neu "Sprachcafé" ressort:JA frist:irgendwann',
        "„irgendwann“ ist kein Datum, das ich verstehe.",
    ),
    (
        'neu "Sprachcafé" ressort:JA intervall:manchmal',
        "Intervall: monatlich, quartalsweise, halbjährlich, jährlich oder „6 Wochen“.",
    ),
    ('neu "Sprachcafé für Eltern', "Ein Anführungszeichen ist nicht geschlossen."),
]


def test_neu_with_bad_input_gets_reason_usage_and_example(anna: Chat) -> None:
    before = world(anna.app)
    for typed, reason in NEU_BAD_INPUT:
        reply = anna.reply(typed)
        assert (reply.outcome, reply.plain()) == ("usage", usage(reason, *NEU_USAGE)), typed
    assert world(anna.app) == before


def test_a_failing_neu_leaves_nothing_half_written(anna: Chat) -> None:
    before = world(anna.app)
    reply = anna.reply(
        'neu "Spielplatz Lindenhof" ressort:JA raum:Lindenhof verantwortlich:"Max Mustermann"'
    )
    assert (reply.outcome, reply.plain()) == (
        "not_found",
        "„Max Mustermann“ habe ich nicht gefunden.",
    )
    reply = anna.reply('neu "Spielplatz Lindenhof" ressort:JA raum:Lindenhof beteiligt:GA,XYZ')
    assert reply.outcome == "not_found"
    # No measure, no planning area, no audit entry, no notice.
    assert world(anna.app) == before
    # The next measure still gets the next number.
    assert anna.say('neu "Spielplatz Lindenhof" ressort:JA').startswith("Angelegt: M-51")


# -- ziel neu ---------------------------------------------------------------------------------


def test_ziel_neu_with_every_option(anna: Chat) -> None:
    assert anna.say(
        'ziel neu "Mehr Ganztagsplätze" oberziel:Z-3 handlungsfeld:Bildung '
        'trends:Diversität,Digitalisierung intervall:quartalsweise qualitätsziel:"80 % Ganztag"'
    ) == "\n".join(
        [
            "Angelegt: Z-18",
            "Teilziel: Mehr Ganztagsplätze",
            "Oberziel: Z-3 Frühkindliche Bildung stärken",
            "Handlungsfeld: Bildung",
            "Trends: Diversität, Digitalisierung",
        ]
    )
    assert anna.say("ziel Z-18") == "\n".join(
        [
            "🎯 Z-18 Mehr Ganztagsplätze",
            "Teilziel · unter Z-3 · Bildung · Trends: Diversität, Digitalisierung",
            "Qualitätsziel: 80 % Ganztag",
            "Fortschritt: – über 0 Maßnahmen",
            "Intervall: quartalsweise",
            "",
            "Zielbewertung",
            "Noch nicht bewertet.",
            "Nächste Bewertung fällig: 27.02.2027 (quartalsweise)",
        ]
    )
    assert "    • Z-18 Mehr Ganztagsplätze — –, 0 Maßn." in anna.say("ziele").splitlines()
    [entry] = audits(anna.app, entity_kind="goal")
    assert (entry.action, entry.entity_id, entry.after) == (
        "create",
        18,
        {
            "title": "Mehr Ganztagsplätze",
            "parent": "Z-3",
            "field_of_action": "Bildung",
            "trends": ["Diversität", "Digitalisierung"],
            "evaluation_interval": "quartalsweise",
            "quality_target": "80 % Ganztag",
        },
    )
    assert entry.origin_room == "konsole"


def test_ziel_neu_levels_and_spellings(anna: Chat) -> None:
    assert anna.say('ziel_neu "Gesund aufwachsen"') == "Angelegt: Z-18\nLeitziel: Gesund aufwachsen"
    assert anna.say('goal new "Active mobility" parent:Z-2 field:Umwelt') == "\n".join(
        [
            "Angelegt: Z-19",
            "Ziel: Active mobility",
            "Oberziel: Z-2 Lebenswerte und klimagerechte Stadtteile",
            "Handlungsfeld: Umwelt",
        ]
    )
    # Without handlungsfeld a goal inherits its parent's.
    assert anna.say('new goal "Radwege an Schulen" parent:Z-19').splitlines()[-1] == (
        "Handlungsfeld: Umwelt"
    )


def test_ziel_neu_refuses_a_fourth_level(anna: Chat) -> None:
    before = world(anna.app)
    reply = anna.reply('ziel neu "Sprachkurse" oberziel:Z-8')
    assert reply.outcome == "usage"
    assert reply.plain() == usage(
        "Z-8 ist schon ein Teilziel, die dritte Ebene (Leitziel → Ziel → Teilziel); "
        "bitte ein höheres Oberziel wählen.",
        *ZIEL_NEU_USAGE,
    )
    assert world(anna.app) == before


def test_ziel_neu_with_unknown_field_or_trend_lists_the_known_ones(anna: Chat) -> None:
    before = world(anna.app)
    assert anna.say('ziel neu "X" handlungsfeld:Quatsch') == (
        "„Quatsch“ kenne ich nicht. Handlungsfelder: Arbeit, Bildung, Integration, Kultur, "
        'Soziales, Umwelt, Wohnen. Neu anlegen: handlungsfeld neu "Quatsch"'
    )
    assert anna.say('ziel neu "X" trends:Klimawandel,Quatsch') == (
        "„Quatsch“ kenne ich nicht. Trends: Daseinsvorsorge, Demografischer Wandel, Demokratie, "
        'Digitalisierung, Diversität, Klimawandel. Neu anlegen: trend neu "Quatsch"'
    )
    assert anna.say("ziel neu") == usage("Der Titel fehlt.", *ZIEL_NEU_USAGE)
    assert world(anna.app) == before


# -- zuweisen ---------------------------------------------------------------------------------


def test_zuweisen_to_a_person_notifies_exactly_that_person(anna: Chat) -> None:
    app = anna.app
    reply = anna.reply("zuweisen M-8 an Markus Becker")
    assert reply.plain() == "\n".join(
        ["M-8 → Markus Becker", M8_LINE, "Benachrichtigung ist unterwegs."]
    )
    assert reply.subject == ShownVersion(8, 2)
    changed = measure(app, 8)
    assert changed.responsible is not None and changed.responsible.name == "Markus Becker"
    assert changed.version == 2
    [notice] = outbox(app)
    assert (notice.kind, notice.person_id, notice.room_link_id, notice.measure_id) == (
        "assignment",
        person_id(app, "Markus Becker"),
        None,
        8,
    )
    assert notice.text == "\n".join(
        [
            "📌 Ihnen wurde M-8 zugewiesen (von Anna Schmidt):",
            M8_LINE,
            "Bericht mit: melden M-8 <status> <NN%> <notiz>",
        ]
    )
    assert [qa["command"] for qa in notice.quick_answers or []] == [
        "erledigt M-8",
        "melden M-8 laufend",
        "melden M-8 verzögert",
    ]
    [entry] = audits(app, entity_kind="measure", entity_id=8)
    assert (entry.action, entry.entity_version) == ("assign", 2)
    assert (entry.before or {})["responsible"] is None
    assert (entry.after or {})["responsible"] == "Markus Becker"
    assert entry.at == NOW
    # Assigning again changes nothing and notifies nobody.
    assert anna.say("zuweisen M-8 an Markus Becker") == (
        "Markus Becker ist bereits verantwortlich für M-8."
    )
    assert len(outbox(app)) == 1
    assert measure(app, 8).version == 2


def test_assign_in_english_notifies_in_the_assignees_language(anna: Chat) -> None:
    assert anna.say("assign M-8 to Sarah Miller").splitlines()[0] == "M-8 → Sarah Miller"
    [notice] = outbox(anna.app)
    assert notice.person_id == person_id(anna.app, "Sarah Miller")
    assert notice.text == "\n".join(
        [
            "📌 You were assigned M-8 (by Anna Schmidt):",
            "⚪ M-8 Kindertagespflege in der Gartenstadt ausbauen — JA, 0 %, due 2027-03-27",
            "Report with: update M-8 <status> <NN%> <note>",
        ]
    )


def test_zuweisen_to_a_department_makes_it_lead_and_notifies_its_room(anna: Chat) -> None:
    app = anna.app
    assert anna.say("zuweisen M-8 an SA") == "\n".join(
        [
            "M-8 → Schulamt (SA)",
            "⚪ M-8 Kindertagespflege in der Gartenstadt ausbauen — SA, 0 %, Frist 27.03.2027",
            "Benachrichtigung ist unterwegs.",
        ]
    )
    [notice] = outbox(app)
    with app.uows() as uow:
        room = uow.session.get(RoomLink, notice.room_link_id)
        assert room is not None and room.room_id == "schulamt"
    assert notice.person_id is None
    assert (
        notice.text.splitlines()[0] == "📌 Schulamt (SA) wurde M-8 zugewiesen (von Anna Schmidt):"
    )
    # A participating department that becomes lead is no longer listed as participating.
    anna.say("zuweisen M-1 an GA")
    assert (
        anna.say("status M-1").splitlines()[2]
        == "Federführend: Gesundheitsamt (GA) · beteiligt: IB"
    )
    # A department without a room: the coordination room hears of it (PRODUCT.md §3).
    assert anna.say("zuweisen M-24 an WF").splitlines()[-1] == (
        "Das Ressort hat keinen eigenen Raum: die Benachrichtigung geht an den Koordinationsraum."
    )
    with app.uows() as uow:
        last = uow.session.execute(
            select(OutboxEntry).order_by(OutboxEntry.id.desc()).limit(1)
        ).scalar_one()
        coordination = uow.session.get(RoomLink, last.room_link_id)
        assert coordination is not None and coordination.is_coordination
        assert last.text.startswith("📌 Wirtschaftsförderung (WF) wurde M-24 zugewiesen")
    assert (
        anna.say("zuweisen M-24 an WF")
        == "Wirtschaftsförderung (WF) ist bereits federführend für M-24."
    )


def test_zuweisen_without_target_gets_usage(anna: Chat) -> None:
    before = world(anna.app)
    for typed in ("zuweisen M-8", "zuweisen M-8 an", "zuweisen an JA"):
        reply = anna.reply(typed)
        assert reply.outcome == "usage"
        assert reply.plain() == usage(
            None, "zuweisen <maßnahme> an <person|ressort>", 'zuweisen M-12 an "Julia Richter"'
        )
    assert world(anna.app) == before


def test_zuweisen_is_atomic_with_its_notice(anna: Chat, monkeypatch: pytest.MonkeyPatch) -> None:
    """The notice is written in the same transaction: a failure after it leaves neither."""
    import handlers.measures

    def broken(*_args: object, **_kwargs: object) -> str:
        raise RuntimeError("disk full")

    before = world(anna.app)
    monkeypatch.setattr(handlers.measures, "measure_line", broken)
    reply = anna.reply("zuweisen M-8 an Markus Becker")
    assert reply.outcome == "error"
    assert world(anna.app) == before
    assert outbox(anna.app) == []


# -- melden -----------------------------------------------------------------------------------


def test_melden_with_progress_and_note_is_recorded_and_audited(anna: Chat) -> None:
    app = anna.app
    reply = anna.reply("melden M-1 85% Träger gefunden")
    assert reply.plain() == "\n".join(
        [
            "Bericht zu M-1 gespeichert",
            "🟢 M-1 Sprachförderung in Kitas der Nordstadt — JA, 85 %, Frist 06.12.2026",
            "„Träger gefunden“",
        ]
    )
    assert reply.subject == ShownVersion(1, 2)
    last = reports_of(app, 1)[-1]
    assert (last.old_status, last.new_status, last.old_progress, last.new_progress) == (
        "laufend",
        "laufend",
        80,
        85,
    )
    assert (last.note, last.at, last.person_id) == (
        "Träger gefunden",
        NOW,
        person_id(app, "Anna Schmidt"),
    )
    assert (last.origin_platform, last.origin_room, last.origin_message_id) == (
        "console",
        "konsole",
        "Anna Schmidt-1",
    )
    [entry] = audits(app, entity_kind="measure", entity_id=1)
    assert (entry.action, entry.entity_version, entry.origin_message_id) == (
        "report",
        2,
        "Anna Schmidt-1",
    )
    assert (entry.before or {})["progress"] == 80
    assert (entry.after or {})["progress"] == 85
    assert anna.say("verlauf M-1").splitlines()[1] == (
        "27.11.2026 10:00 Anna Schmidt: 80 % → 85 % — „Träger gefunden“"
    )
    assert anna.say("status M-1").splitlines()[5] == (
        "Letzter Bericht: 27.11.2026 (Anna Schmidt): „Träger gefunden“ · Intervall: quartalsweise"
    )


def test_melden_status_words_in_german_and_english(anna: Chat) -> None:
    for word, status in [
        ("verzögert", MeasureStatus.DELAYED),
        ("gefährdet", MeasureStatus.AT_RISK),
        ("verzoegert", MeasureStatus.DELAYED),
        ("at_risk", MeasureStatus.AT_RISK),
        ("delayed", MeasureStatus.DELAYED),
        ("gefaehrdet", MeasureStatus.AT_RISK),
        ("geplant", MeasureStatus.PLANNED),
        ("in_progress", MeasureStatus.IN_PROGRESS),
        ("planned", MeasureStatus.PLANNED),
        ("läuft", MeasureStatus.IN_PROGRESS),
        ("Verzögert", MeasureStatus.DELAYED),
        ("laufend", MeasureStatus.IN_PROGRESS),
        ("abgebrochen", MeasureStatus.CANCELLED),
        ("running", MeasureStatus.IN_PROGRESS),
        ("cancelled", MeasureStatus.CANCELLED),
    ]:
        reply = anna.reply(f"melden M-1 {word}")
        assert reply.outcome == "ok", word
        assert measure(anna.app, 1).status is status, word
        assert reports_of(anna.app, 1)[-1].new_status == status.value, word
    assert measure(anna.app, 1).version == 16


def test_melden_laufend_on_a_delayed_measure(anna: Chat) -> None:
    assert anna.say("melden M-3 laufend 60% Honorarkräfte gefunden") == "\n".join(
        [
            "Bericht zu M-3 gespeichert",
            "🔴 M-3 Sprachförderung im Ganztag — SA, 60 %, 12 Tage überfällig",
            "„Honorarkräfte gefunden“",
        ]
    )
    assert measure(anna.app, 3).status is MeasureStatus.IN_PROGRESS
    assert anna.say("update M-3 in_progress 61%").splitlines()[0] == "Bericht zu M-3 gespeichert"


def test_update_in_english_for_an_english_speaker(sqlite_app: App) -> None:
    sarah = Chat(sqlite_app, "Sarah Miller", "integration")
    assert sarah.say("update M-2 delayed 40% waiting for funds") == "\n".join(
        [
            "Report on M-2 saved",
            "🟡 M-2 Sprachförderung für Eltern (Rucksack-Programm) — IB, 40 %, due 2027-05-06",
            "Progress 45 % → 40 %",
            "“waiting for funds”",
        ]
    )
    assert measure(sqlite_app, 2).status is MeasureStatus.DELAYED


def test_melden_keeps_typographic_quotes_in_the_note(anna: Chat) -> None:
    anna.say("melden M-1 85% Träger „Kita Sonne“ sagt ab")
    assert reports_of(anna.app, 1)[-1].note == "Träger „Kita Sonne“ sagt ab"
    # A note quoted as a whole (as phones type it) is stored without its outer quotes.
    assert anna.say("melden M-1 „Träger gefunden“").splitlines()[-1] == "„Träger gefunden“"
    assert reports_of(anna.app, 1)[-1].note == "Träger gefunden"
    anna.say('melden M-1 86% "Kita Sonne" macht mit')
    assert reports_of(anna.app, 1)[-1].note == '"Kita Sonne" macht mit'
    # A quoted status word is a note, not a status.
    anna.say("melden M-1 „erledigt“")
    assert measure(anna.app, 1).status is MeasureStatus.IN_PROGRESS
    assert reports_of(anna.app, 1)[-1].note == "erledigt"


def test_progress_on_a_planned_measure_means_it_started(anna: Chat) -> None:
    assert anna.say("melden M-16 10%") == "\n".join(
        [
            "Bericht zu M-16 gespeichert",
            "🟢 M-16 Ausbildungsmesse Musterstadt — WF, 10 %, Frist 26.04.2027",
        ]
    )
    assert measure(anna.app, 16).status is MeasureStatus.IN_PROGRESS


def test_progress_on_a_finished_measure_asks_for_a_status(anna: Chat) -> None:
    before = world(anna.app)
    reply = anna.reply("melden M-9 50%")
    assert (reply.outcome, reply.plain()) == (
        "refused",
        "M-9 ist erledigt; zum Wiederaufnehmen einen Status angeben, z. B. melden M-9 laufend.",
    )
    assert world(anna.app) == before
    assert anna.say("melden M-9 laufend 90% Mängel am Dach").splitlines()[1] == (
        "🔴 M-9 Interimsstandort Kita Hafenviertel (Modulbau) — JA, 90 %, 60 Tage überfällig"
    )


def test_melden_with_bad_input_gets_reason_usage_and_example(anna: Chat) -> None:
    before = world(anna.app)
    for typed, reason in [
        ("melden", None),
        ("melden M-1", "Bitte Status, Fortschritt oder eine Notiz angeben."),
        (
            "melden M-1 150%",
            "„150%“ ist kein Fortschritt: eine ganze Zahl von 0 bis 100, z. B. 70%.",
        ),
        ("melden M-1 70% Träger „gefunden", "Ein Anführungszeichen ist nicht geschlossen."),
        ('melden M-1 "Träger gefunden', "Ein Anführungszeichen ist nicht geschlossen."),
    ]:
        reply = anna.reply(typed)
        assert (reply.outcome, reply.plain()) == ("usage", usage(reason, *MELDEN_USAGE)), typed
    assert world(anna.app) == before


def test_melden_on_an_unknown_measure_gets_the_closest_matches(anna: Chat) -> None:
    before = world(anna.app)
    reply = anna.reply("melden M-999 50%")
    assert (reply.outcome, reply.plain()) == (
        "not_found",
        "„M-999“ habe ich nicht gefunden.\nDie höchste Nummer ist M-50.",
    )
    reply = anna.reply("melden Sprachkaffee 10%")
    assert reply.outcome == "not_found"
    assert reply.plain().startswith(
        "„Sprachkaffee“ habe ich nicht gefunden. Ähnlich: M-20 Sprachcafé im Quartierszentrum "
        "Nordstadt; M-1 Sprachförderung in Kitas der Nordstadt;"
    )
    assert world(anna.app) == before


def test_an_ambiguous_melden_asks_and_the_number_runs_it_on_that_measure(anna: Chat) -> None:
    app = anna.app
    before = world(app)
    reply = anna.reply("melden sprachförd 70%")
    assert reply.outcome == "ambiguous"
    assert reply.plain() == "\n".join(
        [
            "„sprachförd“ passt auf mehrere. Bitte mit der Nummer antworten:",
            "1. M-1 Sprachförderung in Kitas der Nordstadt",
            "2. M-2 Sprachförderung für Eltern (Rucksack-Programm)",
            "3. M-3 Sprachförderung im Ganztag",
        ]
    )
    assert world(app) == before  # asking changes nothing
    assert anna.say("2") == "\n".join(
        [
            "Bericht zu M-2 gespeichert",
            "🟢 M-2 Sprachförderung für Eltern (Rucksack-Programm) — IB, 70 %, Frist 06.05.2027",
        ]
    )
    assert (measure(app, 1).progress, measure(app, 2).progress, measure(app, 3).progress) == (
        80,
        70,
        55,
    )


def test_a_typo_that_fits_several_measures_gets_the_list_too(anna: Chat) -> None:
    reply = anna.reply("melden Sprachfördrung 10% Start")
    assert reply.outcome == "ambiguous"
    assert reply.plain().splitlines()[1:] == [
        "1. M-1 Sprachförderung in Kitas der Nordstadt",
        "2. M-2 Sprachförderung für Eltern (Rucksack-Programm)",
        "3. M-3 Sprachförderung im Ganztag",
    ]
    assert anna.say("#3").splitlines()[-1] == "„Start“"
    assert (measure(anna.app, 3).progress, reports_of(anna.app, 3)[-1].note) == (10, "Start")


def test_an_out_of_range_number_gets_a_hint_and_the_list_stays(anna: Chat) -> None:
    anna.say("melden sprachförd 70%")
    before = world(anna.app)
    reply = anna.reply("7")
    assert (reply.outcome, reply.plain()) == ("usage", "Bitte eine Zahl von 1 bis 3 senden.")
    assert world(anna.app) == before
    # Somebody else's "1" in the same room is not a pick of Anna's list.
    jonas = Chat(anna.app, "Jonas Weber")
    assert jonas.reply("1").outcome == "unknown"
    assert anna.say("1").splitlines()[0] == "Bericht zu M-1 gespeichert"
    assert measure(anna.app, 1).progress == 70


def test_the_pick_hint_is_in_the_persons_language(sqlite_app: App) -> None:
    sarah = Chat(sqlite_app, "Sarah Miller", "integration")
    assert sarah.reply("update sprachförd 70%").outcome == "ambiguous"
    assert sarah.say("9") == "Please send a number from 1 to 3."


# -- erledigt ---------------------------------------------------------------------------------


def test_erledigt_marks_done_and_a_second_time_changes_nothing(anna: Chat) -> None:
    app = anna.app
    assert anna.say("erledigt M-1 Abschlussbericht liegt vor") == "\n".join(
        [
            "Erledigt: M-1 ✅",
            "✅ M-1 Sprachförderung in Kitas der Nordstadt — JA, Frist 06.12.2026",
            "„Abschlussbericht liegt vor“",
        ]
    )
    done = measure(app, 1)
    assert (done.status, done.progress, done.version) == (MeasureStatus.DONE, 100, 2)
    last = reports_of(app, 1)[-1]
    assert (last.old_status, last.new_status, last.new_progress) == ("laufend", "erledigt", 100)
    assert [e.action for e in audits(app, entity_kind="measure", entity_id=1)] == ["done"]
    # A double tap on the button: nothing more is recorded.
    before = world(app)
    assert anna.say("done M-1") == "M-1 ist bereits erledigt. Eine Notiz dazu: melden M-1 <notiz>"
    assert world(app) == before
    # Overviews count it as done and no longer as due.
    assert "🟢 M-1" not in anna.say("fällig")


def test_erledigt_without_measure_gets_usage(anna: Chat) -> None:
    assert anna.say("erledigt") == usage(
        None, "erledigt <maßnahme> [notiz]", "erledigt M-12 Abschlussbericht liegt vor"
    )


# -- frist ------------------------------------------------------------------------------------


def test_frist_changes_the_deadline_with_the_reason_in_the_history(anna: Chat) -> None:
    app = anna.app
    reply = anna.reply("frist M-1 31.03.2027 Träger startet später")
    assert reply.plain() == "\n".join(
        [
            "Neue Frist für M-1",
            "06.12.2026 → 31.03.2027 (Träger startet später)",
            "🟢 M-1 Sprachförderung in Kitas der Nordstadt — JA, 80 %, Frist 31.03.2027",
        ]
    )
    assert reply.subject == ShownVersion(1, 2)
    assert measure(app, 1).deadline == date(2027, 3, 31)
    [entry] = audits(app, entity_kind="measure", entity_id=1)
    assert (entry.action, (entry.before or {})["deadline"], (entry.after or {})["deadline"]) == (
        "deadline",
        "2026-12-06",
        "2027-03-31",
    )
    assert (entry.after or {})["reason"] == "Träger startet später"
    assert anna.say("verlauf M-1").splitlines()[1] == (
        "27.11.2026 10:00 Anna Schmidt: Frist 06.12.2026 → 31.03.2027 (Träger startet später)"
    )
    # The measure is no longer due within 14 days.
    assert "M-1 " not in anna.say("fällig")


def test_frist_understands_the_date_forms(anna: Chat) -> None:
    previous = date(2026, 11, 15)
    for typed_date, expected in [
        ("in 2 Wochen", date(2026, 12, 11)),
        ("Ende März", date(2027, 3, 31)),
        ("Q2/2027", date(2027, 6, 30)),
        ("31.3.", date(2027, 3, 31)),
        ("morgen", date(2026, 11, 28)),
        ("2027-06-30", date(2027, 6, 30)),
        ("end of March", date(2027, 3, 31)),
        ("in 3 Monaten", date(2027, 2, 27)),
    ]:
        reply = anna.reply(f"frist M-3 {typed_date} Honorarkräfte fehlen")
        assert reply.plain().splitlines()[1] == (
            f"{previous:%d.%m.%Y} → {expected:%d.%m.%Y} (Honorarkräfte fehlen)"
        ), typed_date
        assert measure(anna.app, 3).deadline == expected, typed_date
        previous = expected


def test_deadline_in_english(anna: Chat) -> None:
    assert anna.say("deadline M-5 2027-06-30 provider starts later").splitlines()[:2] == [
        "Neue Frist für M-5",
        "15.06.2027 → 30.06.2027 (provider starts later)",
    ]


def test_frist_with_bad_input_gets_reason_usage_and_example(anna: Chat) -> None:
    before = world(anna.app)
    for typed, reason in [
        ("frist", None),
        ("frist M-1", None),
        ("frist M-1 kein-datum x", "„kein-datum“ ist kein Datum, das ich verstehe."),
        ("frist M-1 31.02.2027 Tippfehler", "„31.02.2027“ ist kein Datum, das ich verstehe."),
        ("frist M-1 31.03.2027", "Bitte eine Begründung angeben — sie steht im Verlauf."),
        ("frist M-1 01.01.2020 Versehen", "Die neue Frist liegt in der Vergangenheit."),
    ]:
        reply = anna.reply(typed)
        assert (reply.outcome, reply.plain()) == ("usage", usage(reason, *FRIST_USAGE)), typed
    assert world(anna.app) == before


def test_frist_to_the_same_date_changes_nothing(anna: Chat) -> None:
    before = world(anna.app)
    assert anna.say("frist M-1 06.12.2026 unverändert") == "M-1 hat bereits die Frist 06.12.2026."
    assert world(anna.app) == before


# -- who may write ----------------------------------------------------------------------------

READER_REFUSALS = [
    ("melden M-1 50%", "„melden“ dürfen nur Personen mit der Rolle koordination oder ressort."),
    ("erledigt M-1", "„erledigt“ dürfen nur Personen mit der Rolle koordination oder ressort."),
    ('neu "Test" ressort:JA', "„neu“ dürfen nur Personen mit der Rolle koordination."),
    ("zuweisen M-1 an JA", "„zuweisen“ dürfen nur Personen mit der Rolle koordination."),
    ("frist M-1 31.03.2027 x", "„frist“ dürfen nur Personen mit der Rolle koordination."),
    ('ziel neu "Test"', "„ziel neu“ dürfen nur Personen mit der Rolle koordination."),
    ("update M-1 50%", "„melden“ dürfen nur Personen mit der Rolle koordination oder ressort."),
]


def test_a_reader_is_refused_every_change_with_the_role_named(sqlite_app: App) -> None:
    claudia = Chat(sqlite_app, "Claudia Berger")
    before = world(sqlite_app)
    for typed, refusal in READER_REFUSALS:
        reply = claudia.reply(typed)
        assert (reply.outcome, reply.plain()) == ("refused", f"{refusal} Ihre Rolle: lesen.")
    assert world(sqlite_app) == before


def test_a_reader_is_refused_in_english_too(sqlite_app: App) -> None:
    petra = Chat(sqlite_app, "5012345605", "-100123", "telegram")
    assert petra.say("sprache en") == "I will answer you in English from now on."
    assert petra.say("update M-1 50%") == (
        "“update” needs the role koordination (coordinator) or ressort (department member). "
        "Your role: lesen."
    )


def test_a_department_member_is_refused_coordination_commands(markus: Chat) -> None:
    before = world(markus.app)
    for typed, refusal in [
        ('neu "Test" ressort:JA', "„neu“ dürfen nur Personen mit der Rolle koordination."),
        ("zuweisen M-1 an JA", "„zuweisen“ dürfen nur Personen mit der Rolle koordination."),
        ("frist M-1 31.03.2027 x", "„frist“ dürfen nur Personen mit der Rolle koordination."),
        ('ziel neu "Test"', "„ziel neu“ dürfen nur Personen mit der Rolle koordination."),
        ("deadline M-1 2027-03-31 x", "„frist“ dürfen nur Personen mit der Rolle koordination."),
    ]:
        reply = markus.reply(typed)
        assert (reply.outcome, reply.plain()) == ("refused", f"{refusal} Ihre Rolle: ressort.")
    assert world(markus.app) == before


def test_a_department_member_reports_on_measures_of_their_department(markus: Chat) -> None:
    # JA leads M-1 and takes part in M-28 (Hitzeaktionsplan, led by the Umweltamt).
    assert markus.say("melden M-1 85%").splitlines()[0] == "Bericht zu M-1 gespeichert"
    assert markus.say("melden M-28 75% Kitas sind dabei") == "\n".join(
        [
            "Bericht zu M-28 gespeichert",
            "🟡 M-28 Hitzeaktionsplan für Kitas und Grundschulen — UA, 75 %, Frist 03.12.2026",
            "„Kitas sind dabei“",
        ]
    )
    assert (measure(markus.app, 1).progress, measure(markus.app, 28).progress) == (85, 75)
    assert markus.say("erledigt M-1").splitlines()[0] == "Erledigt: M-1 ✅"


def test_a_department_member_is_refused_other_departments_measures(markus: Chat) -> None:
    before = world(markus.app)
    reply = markus.reply("melden M-3 60%")
    assert (reply.outcome, reply.plain()) == (
        "refused",
        "Bericht zu M-3 — Ihr Ressort JA ist an M-3 nicht beteiligt; das dürfen koordination "
        "oder beteiligte Ressorts.",
    )
    assert world(markus.app) == before


def test_only_the_lead_department_marks_done(markus: Chat) -> None:
    before = world(markus.app)
    expected = (
        "„erledigt“ für M-28 — Ihr Ressort JA ist an M-28 beteiligt, federführend ist UA; "
        "das dürfen koordination oder das federführende Ressort."
    )
    for typed in ("erledigt M-28", "melden M-28 erledigt", "done M-28"):
        reply = markus.reply(typed)
        assert (reply.outcome, reply.plain()) == ("refused", expected), typed
    assert world(markus.app) == before


def test_only_the_lead_department_marks_done_in_english(sqlite_app: App) -> None:
    sarah = Chat(sqlite_app, "Sarah Miller", "integration")
    assert sarah.say("done M-1") == (
        "“done” for M-1 — your department IB takes part in M-1, but JA leads it; only "
        "koordination or the lead department may do that."
    )
    assert sarah.say("done M-3") == (
        "“done” for M-3 — your department IB takes part in M-3, but SA leads it; only "
        "koordination or the lead department may do that."
    )


# -- internal errors --------------------------------------------------------------------------


def test_an_internal_error_gets_an_apology_with_error_id_and_changes_nothing(
    anna: Chat, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import handlers.measures

    def broken(*_args: object, **_kwargs: object) -> str:
        raise RuntimeError("database on fire")

    before = world(anna.app)
    # Fails after the change was flushed (the reply line is built last).
    monkeypatch.setattr(handlers.measures, "measure_line", broken)
    for typed in [
        "melden M-1 85% Träger gefunden",
        'neu "Sprachcafé" ressort:JA verantwortlich:"Markus Becker"',
        "frist M-1 31.03.2027 Träger",
        "erledigt M-1",
    ]:
        caplog.clear()
        reply = anna.reply(typed)
        assert reply.outcome == "error", typed
        found = re.fullmatch(
            r"Entschuldigung, da ist etwas schiefgegangen \(Fehler-ID ([0-9a-f]{8})\)\. "
            r"Es wurde nichts geändert\.",
            reply.plain(),
        )
        assert found is not None, reply.plain()
        assert reply.error_id == found.group(1)
        assert found.group(1) in caplog.text  # the same id is in the log for the operator
        assert "database on fire" in caplog.text
    assert world(anna.app) == before


# -- changes and versions ---------------------------------------------------------------------


def test_a_change_from_an_outdated_message_is_refused_and_says_what_changed(
    anna: Chat, markus: Chat
) -> None:
    shown = anna.reply("status M-1")
    assert shown.subject == ShownVersion(1, 1)
    markus.say("melden M-1 verzögert 85% Träger fehlt")
    before = world(anna.app)
    conflict = "\n".join(
        [
            "M-1 wurde geändert, seit diese Nachricht sie gezeigt hat (Version 1 → 2). "
            "Es wurde nichts geändert:",
            "• 27.11. 10:00 Markus Becker: Status laufend → verzögert, Fortschritt 80 % → 85 % "
            "(„Träger fehlt“)",
            "🟡 M-1 Sprachförderung in Kitas der Nordstadt — JA, 85 %, Frist 06.12.2026",
        ]
    )
    for quick in shown.quick_answers:
        reply = anna.reply(quick.command, shown=shown.subject)
        assert (reply.outcome, reply.plain()) == ("refused", conflict), quick.command
    for typed in ("frist M-1 31.03.2027 Träger", "zuweisen M-1 an Jonas Weber"):
        assert anna.say(typed, shown=shown.subject) == conflict
    assert world(anna.app) == before
    # The same button on the current version works.
    current = anna.reply("status M-1")
    assert current.subject == ShownVersion(1, 2)
    assert anna.say(current.quick_answers[0].command, shown=current.subject).splitlines()[0] == (
        "Erledigt: M-1 ✅"
    )
    assert measure(anna.app, 1).status is MeasureStatus.DONE


def test_the_conflict_lists_every_change_since_the_shown_version(anna: Chat) -> None:
    shown = anna.reply("status M-1").subject
    anna.say("frist M-1 31.03.2027 Träger startet später")
    anna.say("zuweisen M-1 an Jonas Weber")
    assert anna.say("melden M-1 90%", shown=shown) == "\n".join(
        [
            "M-1 wurde geändert, seit diese Nachricht sie gezeigt hat (Version 1 → 3). "
            "Es wurde nichts geändert:",
            "• 27.11. 10:00 Anna Schmidt: Frist 06.12.2026 → 31.03.2027 (Träger startet später)",
            "• 27.11. 10:00 Anna Schmidt: verantwortlich Markus Becker → Jonas Weber",
            "🟢 M-1 Sprachförderung in Kitas der Nordstadt — JA, 80 %, Frist 31.03.2027",
        ]
    )
    # A typed command (no message it answers) applies to the measure as it is now.
    assert anna.say("melden M-1 90%").splitlines()[0] == "Bericht zu M-1 gespeichert"


def _at_the_same_moment(chats: list[Chat], texts: list[str]) -> list[Reply]:
    """Each chat sends its text from its own thread, released together."""
    start = threading.Barrier(len(chats))
    replies: list[Reply | None] = [None] * len(chats)

    def send(i: int) -> None:
        start.wait()
        replies[i] = chats[i].reply(texts[i])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(chats))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(r is not None for r in replies), "a sender did not get a reply"
    return [r for r in replies if r is not None]


def test_two_reports_at_the_same_moment_are_both_recorded_in_order(app: App) -> None:
    """Runs on SQLite and PostgreSQL: no report is lost, each one starts from the last."""
    chats = [Chat(app, "Markus Becker", "jugendamt"), Chat(app, "Julia Richter", "jugendamt")]
    rounds = 3
    for n in range(rounds):
        texts = [f"melden M-1 {81 + 2 * n + i}% Runde {n} von {i}" for i in range(2)]
        assert [r.outcome for r in _at_the_same_moment(chats, texts)] == ["ok", "ok"]
    changed = measure(app, 1)
    assert changed.version == 1 + 2 * rounds
    new = reports_of(app, 1)[-2 * rounds :]
    assert sorted(r.note or "" for r in new) == sorted(
        f"Runde {n} von {i}" for n in range(rounds) for i in range(2)
    )
    # In order: every report starts from what the one before it left; none is overwritten.
    assert new[0].old_progress == 80
    for earlier, later in pairwise(new):
        assert later.old_progress == earlier.new_progress
    assert new[-1].new_progress == changed.progress
    versions = [e.entity_version for e in audits(app, entity_id=1, action="report")]
    assert sorted(v or 0 for v in versions) == list(range(2, 2 + 2 * rounds))


# -- audit ------------------------------------------------------------------------------------


def test_every_change_is_audited_with_its_origin(sqlite_app: App) -> None:
    markus = Chat(
        sqlite_app, "@markus.becker:musterstadt.de", "!jugendamt:musterstadt.de", "matrix"
    )
    anna = Chat(sqlite_app, "Anna Schmidt", "koordination")
    markus.say("melden M-1 85% über Matrix")
    anna.say("frist M-13 31.01.2027 Fachkraft zurück")
    anna.say("zuweisen M-8 an Julia Richter")
    anna.say('neu "Ferienprogramm" ressort:JA')
    anna.say('ziel neu "Gesund aufwachsen"')
    markus.say("erledigt M-13")
    entries = audits(sqlite_app)
    assert [
        (
            e.action,
            e.entity_kind,
            e.entity_id,
            e.actor,
            e.origin_platform,
            e.origin_room,
            e.origin_message_id,
        )
        for e in entries
    ] == [
        (
            "report",
            "measure",
            1,
            "matrix:@markus.becker:musterstadt.de",
            "matrix",
            "!jugendamt:musterstadt.de",
            "@markus.becker:musterstadt.de-1",
        ),
        (
            "deadline",
            "measure",
            13,
            "console:Anna Schmidt",
            "console",
            "koordination",
            "Anna Schmidt-1",
        ),
        (
            "assign",
            "measure",
            8,
            "console:Anna Schmidt",
            "console",
            "koordination",
            "Anna Schmidt-2",
        ),
        (
            "create",
            "measure",
            51,
            "console:Anna Schmidt",
            "console",
            "koordination",
            "Anna Schmidt-3",
        ),
        ("create", "goal", 18, "console:Anna Schmidt", "console", "koordination", "Anna Schmidt-4"),
        (
            "done",
            "measure",
            13,
            "matrix:@markus.becker:musterstadt.de",
            "matrix",
            "!jugendamt:musterstadt.de",
            "@markus.becker:musterstadt.de-2",
        ),
    ]
    assert {e.person_id for e in entries} == {
        person_id(sqlite_app, "Markus Becker"),
        person_id(sqlite_app, "Anna Schmidt"),
    }
    assert all(e.at == NOW for e in entries)
    with sqlite_app.uows() as uow:
        goals = uow.session.scalar(select(func.count()).select_from(Goal))
    assert goals == 18


# -- answered once: the claim of a platform message ------------------------------------------


def test_a_redelivered_change_runs_once_and_gets_no_second_answer(anna: Chat) -> None:
    """Matrix and Telegram may deliver a message twice (resync, a second process)."""
    from datetime import UTC, datetime

    from handlers.core import Incoming
    from handlers.dispatch import Claim

    app = anna.app
    reports_before = len(reports_of(app, 1))
    message = Incoming(
        platform="matrix",
        room_id="!r:musterstadt.de",
        sender_id="@anna.schmidt:musterstadt.de",
        text="melden M-1 85% Elternabend",
        message_id="$event1",
    )
    stamp = datetime(2026, 11, 27, 9, tzinfo=UTC)
    first = app.dispatcher.handle_once(message, Claim("matrix", "$event1", "!r", stamp))
    assert first is not None and first.plain().startswith("Bericht zu M-1 gespeichert")
    assert app.dispatcher.handle_once(message, Claim("matrix", "$event1", "!r", stamp)) is None
    assert len(reports_of(app, 1)) == reports_before + 1
    assert measure(app, 1).progress == 85


def test_a_change_that_fails_commits_nothing_but_its_claim(anna: Chat) -> None:
    """The claim of a refused or failed change is kept, so the refusal is said once."""
    from datetime import UTC, datetime

    from handlers.core import Incoming
    from handlers.dispatch import Claim

    app = anna.app
    before = world(app)
    message = Incoming(
        platform="matrix",
        room_id="!r:musterstadt.de",
        sender_id="@anna.schmidt:musterstadt.de",
        text="melden M-999 10%",
        message_id="$event2",
    )
    stamp = datetime(2026, 11, 27, 9, tzinfo=UTC)
    first = app.dispatcher.handle_once(message, Claim("matrix", "$event2", "!r", stamp))
    assert first is not None and first.outcome == "not_found"
    assert app.dispatcher.handle_once(message, Claim("matrix", "$event2", "!r", stamp)) is None
    assert world(app) == before
