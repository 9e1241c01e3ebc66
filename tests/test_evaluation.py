"""Goal evaluation (Zielbewertung) from an empty database: `bewerten` records the verdict,
audited with its origin; the goal shows it and when the next is due; an evaluation that is
due, and a missing indicator value no department is asked for, are in the weekly digest."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from storage.models import GoalEvaluation, Verdict
from tests.test_real_start import (
    CLARA,
    GOALS,
    MAX,
    MEASURES,
    ROOMS,
    Town,
    any_town,
    at,
    audits,
    config_file,
    last_audit_id,
    town,
)
from tests.test_reminders_support import Recorder, tick

__all__ = ["any_town", "config_file", "town"]  # fixtures


def test_a_goal_is_evaluated_and_shows_when_the_next_is_due(any_town: Town) -> None:
    town = any_town
    town.replay(ROOMS + GOALS + MEASURES)
    clara = town.chat(CLARA)
    before = last_audit_id(town)
    # Z-1 is evaluated half-yearly (GOALS).
    assert clara.say('bewerten Z-1 teilweise "Ganztag wächst, Sprachförderung stockt"') == (
        "\n".join(
            [
                "🟡 Z-1 Bildungsgerechtigkeit: bewertet „teilweise erreicht“ am 27.11.2026",
                "Notiz: Ganztag wächst, Sprachförderung stockt",
                "Nächste Bewertung fällig: 27.05.2027 (halbjährlich)",
                'Nachsteuern in der Steuergruppe mit: beschluss <sitzung> "<text>" <ziel>',
            ]
        )
    )
    assert clara.say("ziel Z-1").endswith(
        "\n".join(
            [
                "Zielbewertung",
                "🟡 teilweise erreicht (27.11.2026): Ganztag wächst, Sprachförderung stockt",
                "Nächste Bewertung fällig: 27.05.2027 (halbjährlich)",
            ]
        )
    )
    # English words, and a goal without an interval.
    assert clara.say('bewerten Quartiere not met "kein Spielplatz"').splitlines()[:3] == [
        "🔴 Z-3 Lebenswerte Quartiere: bewertet „nicht erreicht“ am 27.11.2026",
        "Notiz: kein Spielplatz",
        "Kein Bewertungsintervall: die nächste Bewertung ist nicht terminiert "
        "(intervall: setzen mit beschluss … Z-3 intervall:halbjährlich).",
    ]
    assert clara.say("bewerten Z-2 erreicht").startswith(
        "✅ Z-2 Mehr Ganztagsplätze: bewertet „erreicht“"
    )
    bad = clara.reply("bewerten Z-1 prima")
    assert bad.outcome == "usage"
    assert bad.plain().splitlines()[:2] == [
        "Wie lautet die Bewertung? erreicht, teilweise oder nicht — z. B. bewerten Z-2 "
        'teilweise "Personal fehlt"',
        'Aufruf: bewerten <ziel> erreicht|teilweise|nicht "<notiz>"',
    ]
    assert town.chat(MAX).say('bewerten Z-1 erreicht "x"') == (
        "„bewerten“ dürfen nur Personen mit der Rolle koordination. Ihre Rolle: ressort."
    )
    with town.session() as session:
        rows = session.execute(
            select(
                GoalEvaluation.goal_id,
                GoalEvaluation.verdict,
                GoalEvaluation.note,
                GoalEvaluation.origin_platform,
                GoalEvaluation.origin_room,
            ).order_by(GoalEvaluation.id)
        ).all()
        assert [tuple(r) for r in rows] == [
            (1, Verdict.PARTLY, "Ganztag wächst, Sprachförderung stockt", "console", "konsole"),
            (3, Verdict.NOT_MET, "kein Spielplatz", "console", "konsole"),
            (2, Verdict.MET, None, "console", "konsole"),
        ]
        assert audits(session, "goal", after_id=before) == [
            (
                "console:Clara Koch",
                "evaluate",
                "goal",
                1,
                None,
                None,
                {"verdict": "teilweise", "note": "Ganztag wächst, Sprachförderung stockt"},
                "console",
                "konsole",
            ),
            (
                "console:Clara Koch",
                "evaluate",
                "goal",
                3,
                None,
                None,
                {"verdict": "nicht", "note": "kein Spielplatz"},
                "console",
                "konsole",
            ),
            (
                "console:Clara Koch",
                "evaluate",
                "goal",
                2,
                None,
                None,
                {"verdict": "erreicht", "note": None},
                "console",
                "konsole",
            ),
        ]


def test_due_evaluations_and_values_without_a_department_are_in_the_digest(
    any_town: Town,
) -> None:
    town = any_town
    # The goals were set up in May: Z-1's half-yearly evaluation is due since 4 November.
    town.clock.now = at(10, day=date(2026, 5, 4))
    town.replay(ROOMS + GOALS)
    clara = town.chat(CLARA)
    clara.say(
        'kennzahl neu "Schulabbrecherquote" ziel:Z-1 einheit:% richtung:fallend basis:8 '
        "basisdatum:01.01.2026 zielwert:5 bis:31.12.2027 intervall:quartalsweise"
    )
    recorder = Recorder()
    for moment in (at(10), at(8, day=date(2026, 11, 30))):
        town.clock.now = moment
        tick(town.app, moment, recorder)
    (digest,) = [s.text for s in recorder.sent if s.text.startswith("📰")]
    assert digest.split("\n\n")[1:] == [
        "🎯 Zielbewertung fällig (1)\n"
        "Z-1 Bildungsgerechtigkeit — fällig seit 04.11.2026\n"
        'Bewerten mit: bewerten <ziel> erreicht|teilweise|nicht "<notiz>"',
        "📏 Kennzahlen: neuer Wert fällig (1)\n"
        "⚪ K-1 Schulabbrecherquote: – %, Ziel 5 % (2027) · fällig seit 01.04.2026",
    ]
    # Evaluated and recorded: the next digest has neither.
    clara.say('bewerten Z-1 erreicht "Ziel erreicht"')
    clara.say("kennzahl K-1 6,5")
    recorder.clear()
    town.clock.now = at(8, day=date(2026, 12, 7))
    tick(town.app, town.clock.now, recorder)
    (digest,) = [s.text for s in recorder.sent if s.text.startswith("📰")]
    assert "Zielbewertung" not in digest and "Kennzahlen" not in digest
