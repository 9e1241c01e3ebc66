"""`ändern`: a measure's title, description, goal, planning area, interval and start.

The deadline keeps its own command (`frist`, with a reason) and so does the lead (`zuweisen`,
with a notice); `ändern` says so instead of changing them.
"""

from __future__ import annotations

from typing import Any

from conftest import Chat
from sqlalchemy import select
from test_references import db_state

from bot.bootstrap import App
from handlers.core import ShownVersion
from storage.models import AuditEntry, Measure, PlanningArea

USAGE = [
    "Aufruf: ändern <maßnahme> titel: beschreibung: ziel: raum: intervall: beginn: beteiligt:",
    'Beispiel: ändern M-12 titel:"Lernförderung ab Klasse 8" raum:Nordstadt',
]


def stored(app: App, measure_id: int) -> Measure:
    with app.uows() as uow:
        found = uow.session.get(Measure, measure_id)
        assert found is not None
        _ = (found.goal, found.planning_area)
        uow.session.expunge_all()
        return found


def test_several_fields_change_together_and_are_audited(anna: Chat) -> None:
    reply = anna.reply(
        'ändern M-8 titel:"Kindertagespflege Gartenstadt" raum:Nordstadt '
        "intervall:monatlich beginn:01.02.2027"
    )
    assert reply.plain() == "\n".join(
        [
            "Geändert: M-8",
            "Titel: Kindertagespflege in der Gartenstadt ausbauen → Kindertagespflege Gartenstadt",
            "Planungsraum: Gartenstadt → Nordstadt",
            "Intervall: quartalsweise → monatlich",
            "Beginn: 30.06.2026 → 01.02.2027",
            "⚪ M-8 Kindertagespflege Gartenstadt — JA, 0 %, Frist 27.03.2027",
        ]
    )
    measure = stored(anna.app, 8)
    assert measure.title == "Kindertagespflege Gartenstadt"
    assert measure.planning_area is not None and measure.planning_area.name == "Nordstadt"
    assert (measure.evaluation_interval, measure.start.isoformat()) == ("monatlich", "2027-02-01")  # type: ignore[union-attr]
    assert measure.version == 2 and reply.subject == ShownVersion(8, 2)
    with anna.app.uows() as uow:
        entry = uow.session.execute(
            select(AuditEntry).where(AuditEntry.action == "edit")
        ).scalar_one()
        assert (entry.entity_id, entry.entity_version, entry.origin_platform) == (8, 2, "console")
        assert entry.before == {
            "title": "Kindertagespflege in der Gartenstadt ausbauen",
            "planning_area": "Gartenstadt",
            "evaluation_interval": "quartalsweise",
            "start": "2026-06-30",
        }
    assert (
        anna.say("verlauf M-8")
        .splitlines()[1]
        .endswith(
            "Anna Schmidt: Titel Kindertagespflege in der Gartenstadt ausbauen → "
            "Kindertagespflege Gartenstadt, Planungsraum Gartenstadt → Nordstadt, "
            "Intervall quartalsweise → monatlich, Beginn 30.06.2026 → 01.02.2027"
        )
    )


def test_a_goal_is_set_and_removed(anna: Chat) -> None:
    assert anna.say("ändern M-8 ziel:-").splitlines()[:2] == ["Geändert: M-8", "Ziel: Z-9 → –"]
    assert stored(anna.app, 8).goal is None
    assert anna.say('ändern M-8 ziel:Z-3 beschreibung:"Mehr Plätze"').splitlines()[:3] == [
        "Geändert: M-8",
        "Beschreibung: – → Mehr Plätze",
        "Ziel: – → Z-3",
    ]
    measure = stored(anna.app, 8)
    assert (measure.goal_id, measure.description) == (3, "Mehr Plätze")


def test_a_new_planning_area_is_created_and_said(anna: Chat) -> None:
    reply = anna.say("ändern M-8 raum:Weststadt")
    assert "Neuer Planungsraum „Weststadt“ angelegt." in reply.splitlines()
    with anna.app.uows() as uow:
        assert uow.session.execute(
            select(PlanningArea).where(PlanningArea.name == "Weststadt")
        ).scalar_one()


def test_bad_input_changes_nothing(anna: Chat) -> None:
    anna.say("wer bin ich")  # records the console as where Anna writes from
    before = db_state(anna.app)
    cases = {
        "ändern": USAGE[:1],
        "ändern M-8": ["Was soll sich ändern?", *USAGE],
        "ändern M-8 frist:31.12.2027": [
            "Das ändert ein eigener Befehl: frist <maßnahme> <datum> <begründung>",
            *USAGE,
        ],
        "ändern M-8 ressort:SA": [
            "Das ändert ein eigener Befehl: zuweisen <maßnahme> an <ressort>",
            *USAGE,
        ],
        "ändern M-8 titel:X": ["Der Titel ist zu kurz.", *USAGE],
        "ändern M-8 intervall:oft": [
            "Intervall: monatlich, quartalsweise, halbjährlich, jährlich oder „6 Wochen“.",
            *USAGE,
        ],
        "ändern M-8 neuer Titel": [
            '„neuer Titel“: bitte als Feld angeben, z. B. titel:"…".',
            *USAGE,
        ],
        "ändern Z-1 titel:Neu": ["Z-1 ist ein Ziel, keine Maßnahme."],
        "ändern M-8 ziel:Z-99": ["„Z-99“ habe ich nicht gefunden.", "Die höchste Nummer ist Z-17."],
        "ändern M-8 raum:Gartenstadt": ["M-8 ist schon so; nichts geändert."],
    }
    for typed, expected in cases.items():
        reply = anna.say(typed).splitlines()
        assert reply[: len(expected)] == expected, typed
    assert db_state(anna.app) == before


def test_only_coordination_may_edit(sqlite_app: App) -> None:
    markus = Chat(sqlite_app, "Markus Becker")
    markus.say("wer bin ich")  # records the console as where Markus writes from
    before = db_state(sqlite_app)
    assert markus.say('ändern M-8 titel:"Neu"') == (
        "„ändern“ dürfen nur Personen mit der Rolle koordination. Ihre Rolle: ressort."
    )
    assert db_state(sqlite_app) == before


def test_an_edit_from_an_outdated_message_is_refused(anna: Chat) -> None:
    anna.say("melden M-8 10%")
    before = db_state(anna.app)
    reply = anna.say('ändern M-8 titel:"Neuer Titel"', shown=ShownVersion(8, 1))
    assert reply.startswith(
        "M-8 wurde geändert, seit diese Nachricht sie gezeigt hat (Version 1 → 2). "
        "Es wurde nichts geändert:"
    ), reply
    assert db_state(anna.app) == before


def test_participants_are_set_and_the_lead_is_never_one_of_them(anna: Chat) -> None:
    reply = anna.say("ändern M-8 beteiligt:SA,Amt 51,Kultur")
    assert reply.splitlines()[:2] == ["Geändert: M-8", "Beteiligt: – → KA, SA"], reply
    assert [d.key for d in stored_participants(anna.app, 8)] == ["KA", "SA"]
    assert anna.say("ändern M-8 beteiligt:-").splitlines()[1] == "Beteiligt: KA, SA → –"
    assert stored_participants(anna.app, 8) == []


def stored_participants(app: App, measure_id: int) -> list[Any]:
    with app.uows() as uow:
        found = uow.session.get(Measure, measure_id)
        assert found is not None
        participants = list(found.participants)
        uow.session.expunge_all()
        return participants
