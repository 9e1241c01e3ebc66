"""Indicators (Kennzahlen) from an empty database: `kennzahl neu`, values with `kennzahl`, the
detail (`status K-n`) and the goal's lines (`ziel Z-n`) against the target path (a straight
line from the baseline to the target), the role rules, bad numbers, and the reminder of a
missing value to the department's room, exactly once."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from storage.models import Direction, Indicator, IndicatorValue, OutboxEntry
from tests.test_real_start import (
    CLARA,
    GOALS,
    LEA,
    MAX,
    MEASURES,
    RITA,
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

# Friday 27 November 2026 (the suite's clock). The Jugendamt reports the childcare rate of
# Z-2; the drop-out rate of Z-1 has no department.
BETREUUNG = (
    'kennzahl neu "Betreuungsquote U3" ziel:Z-2 einheit:% richtung:steigend basis:30 '
    "basisdatum:01.01.2026 zielwert:42 bis:31.12.2027 intervall:quartalsweise ressort:JA"
)
ABBRUCH = (
    'kennzahl neu "Schulabbrecherquote" ziel:Z-1 einheit:% richtung:fallend basis:8,0 '
    "basisdatum:01.01.2026 zielwert:5 bis:31.12.2027"
)


def test_indicators_are_defined_recorded_and_shown_against_the_target_path(
    any_town: Town,
) -> None:
    town = any_town
    town.replay(ROOMS + GOALS + MEASURES)
    clara = town.chat(CLARA)
    before = last_audit_id(town)
    assert clara.say(BETREUUNG) == "\n".join(
        [
            "📏 K-1 angelegt: Betreuungsquote U3",
            "Ziel: Z-2 Mehr Ganztagsplätze",
            "Basis: 30 % (01.01.2026)",
            "Zielwert: 42 % bis 31.12.2027",
            "Richtung: steigend (höher ist besser)",
            "Neuer Wert quartalsweise, nächster fällig am 01.04.2026",
            "Ressort: Jugendamt (JA)",
            "Wert eintragen mit: kennzahl K-1 <wert> [datum] quelle:<text>",
        ]
    )
    assert clara.say(ABBRUCH).splitlines()[:2] == [
        "📏 K-2 angelegt: Schulabbrecherquote",
        "Ziel: Z-1 Bildungsgerechtigkeit",
    ]
    # 31,4 on 20 November: the path from 30 (1 January 2026) to 42 (31 December 2027) asks
    # for 35,3 then — behind it, but better than the baseline.
    assert clara.say("kennzahl K-1 31,4 20.11. quelle:Kita-Statistik November") == "\n".join(
        [
            "🟡 K-1 Betreuungsquote U3: 31,4 % am 20.11.2026",
            "Quelle: Kita-Statistik November",
            "Basis 30 % · Ziel 42 % bis 31.12.2027",
            "Soll laut Zielpfad am 20.11.2026: 35,3 %",
            "🔴 Nicht auf Kurs: 3,9 % hinter dem Zielpfad.",
            "Nächster Wert fällig: 20.02.2027",
        ]
    )
    # 38.5 today, with a decimal point: ahead of the path.
    assert clara.say("kennzahl K-1 38.5") == "\n".join(
        [
            "🟢 K-1 Betreuungsquote U3: 38,5 % am 27.11.2026",
            "Basis 30 % · Ziel 42 % bis 31.12.2027",
            "Soll laut Zielpfad: 35,4 %",
            "🟢 Auf Kurs zum Zielwert.",
            "Nächster Wert fällig: 27.02.2027",
        ]
    )
    # Lower is better: 7,9 is behind the path (6,6 today) and hardly better than 8.
    assert clara.say("kennzahl Schulabbrecher 7,9").splitlines()[0] == (
        "🟡 K-2 Schulabbrecherquote: 7,9 % am 27.11.2026"
    )
    assert clara.say("status K-1") == "\n".join(
        [
            "🟢 K-1 Betreuungsquote U3",
            "Ziel: Z-2 Mehr Ganztagsplätze",
            "Ressort: Jugendamt (JA)",
            "Basis: 30 % (01.01.2026)",
            "Zielwert: 42 % bis 31.12.2027",
            "Richtung: steigend (höher ist besser)",
            "",
            "Letzter Wert: 38,5 % (27.11.2026)",
            "Basis 30 % · Ziel 42 % bis 31.12.2027",
            "Soll laut Zielpfad: 35,4 %",
            "🟢 Auf Kurs zum Zielwert.",
            "",
            "Verlauf",
            "• 27.11.2026: 38,5 %",
            "• 20.11.2026: 31,4 % (Kita-Statistik November)",
            "",
            "Neuer Wert quartalsweise, nächster fällig am 27.02.2027",
        ]
    )
    assert clara.say("kennzahl K-1") == clara.say("status K-1")
    goal = clara.say("ziel Z-2")
    assert "Kennzahlen\n🟢 K-1 Betreuungsquote U3: 38,5 % (27.11.2026), Ziel 42 % (2027)" in goal
    with town.session() as session:
        k1 = session.get(Indicator, 1)
        assert k1 is not None
        assert (
            k1.goal.ref,
            k1.unit,
            k1.direction,
            k1.baseline,
            k1.baseline_date,
            k1.target_value,
            k1.target_date,
            k1.update_interval,
            k1.department.key if k1.department else None,
        ) == (
            "Z-2",
            "%",
            Direction.HIGHER_IS_BETTER,
            30,
            date(2026, 1, 1),
            42,
            date(2027, 12, 31),
            "quartalsweise",
            "JA",
        )
        values = session.execute(
            select(
                IndicatorValue.indicator_id,
                IndicatorValue.measured_on,
                IndicatorValue.value,
                IndicatorValue.source,
            ).order_by(IndicatorValue.id)
        ).all()
        assert [tuple(v) for v in values] == [
            (1, date(2026, 11, 20), 31.4, "Kita-Statistik November"),
            (1, date(2026, 11, 27), 38.5, None),
            (2, date(2026, 11, 27), 7.9, None),
        ]
        assert [(a[1], a[2], a[3]) for a in audits(session, "indicator", after_id=before)] == [
            ("create", "indicator", 1),
            ("create", "indicator", 2),
            ("value", "indicator", 1),
            ("value", "indicator", 1),
            ("value", "indicator", 2),
        ]


def test_bad_numbers_dates_and_definitions_get_the_usage(town: Town) -> None:
    town.replay(ROOMS + GOALS)
    clara = town.chat(CLARA)
    clara.say(BETREUUNG)
    usage = "Aufruf: kennzahl <kennzahl> <wert> [datum] [quelle:<text>]"
    for typed, reason in [
        ("kennzahl K-1 1.234", "„1.234“ ist mehrdeutig: Tausenderpunkt oder Dezimalzeichen?"),
        ("kennzahl K-1 1,234", "„1,234“ ist mehrdeutig"),
        ("kennzahl K-1 30 01.01.2027", "Der 01.01.2027 liegt in der Zukunft"),
        ("kennzahl K-1 30 irgendwann", "„irgendwann“ ist kein Datum"),
    ]:
        reply = clara.reply(typed)
        assert reply.outcome == "usage", typed
        assert reply.plain().startswith(reason), reply.plain()
        assert usage in reply.plain()
    missing = clara.say('kennzahl neu "Quote" ziel:Z-1')
    assert missing.splitlines()[0] == (
        "Ist ein höherer oder ein niedrigerer Wert besser? "
        "richtung:steigend oder richtung:fallend fehlt."
    )
    assert "Beispiel: kennzahl neu" in missing
    assert clara.say('kennzahl neu "Quote" richtung:steigend').startswith(
        "Zu welchem Ziel gehört die Kennzahl?"
    )
    assert clara.say("status K-9") == "„K-9“ habe ich nicht gefunden."
    with town.session() as session:
        assert session.execute(select(IndicatorValue)).first() is None


def test_who_may_record_a_value(any_town: Town) -> None:
    town = any_town
    town.replay(ROOMS + GOALS + MEASURES)
    town.chat(CLARA).say(BETREUUNG)
    town.chat(CLARA).say(ABBRUCH)
    # Max (JA) is the indicator's department; Lea (SA) takes part in M-1 of Z-2.
    assert town.chat(MAX).say("kennzahl K-1 33").startswith("🟡 K-1 Betreuungsquote U3: 33 %")
    assert town.chat(LEA).say("kennzahl K-1 34").startswith("🟡 K-1 Betreuungsquote U3: 34 %")
    # Z-1's measure M-2 is led by the Schulamt, not the Jugendamt.
    assert town.chat(MAX).say("kennzahl K-2 7") == (
        "Wert für K-2 — Ihr Ressort JA ist an Ziel Z-1 nicht beteiligt und für die Kennzahl "
        "nicht zuständig; das dürfen die Koordination und die Ressorts, die an Z-1 arbeiten."
    )
    assert town.chat(RITA).say("kennzahl K-1 32") == (
        "„kennzahl“ dürfen nur Personen mit der Rolle koordination oder ressort. Ihre Rolle: lesen."
    )
    assert (
        town.chat(MAX)
        .say('kennzahl neu "Quote" ziel:Z-1 richtung:steigend')
        .startswith("„kennzahl neu“ dürfen nur Personen mit der Rolle koordination")
    )
    with town.session() as session:
        values = session.execute(select(IndicatorValue.value).order_by(IndicatorValue.id))
        assert list(values.scalars()) == [33, 34]


def test_a_missing_value_is_a_reminder_to_the_department_room_once(any_town: Town) -> None:
    town = any_town
    town.replay(ROOMS + GOALS)
    clara = town.chat(CLARA)
    clara.say(BETREUUNG.replace("basisdatum:01.01.2026", "basisdatum:04.09.2026"))
    recorder = Recorder()
    for moment in (at(10), at(8, day=date(2026, 12, 3))):
        town.clock.now = moment
        tick(town.app, moment, recorder)
    assert [s.recipient.name for s in recorder.sent if "K-1" in s.text] == []
    # Quarterly from 4 September: due on Friday 4 December, at the Jugendamt room's time.
    town.clock.now = at(8, day=date(2026, 12, 4))
    tick(town.app, town.clock.now, recorder)
    assert [(s.recipient.name, s.text) for s in recorder.sent if "K-1" in s.text] == [
        (
            "Jugendamt (JA)",
            "\n".join(
                [
                    "📏 Kennzahlen: neuer Wert fällig (1)",
                    "⚪ K-1 Betreuungsquote U3: – %, Ziel 42 % (2027) · fällig seit 04.12.2026",
                    "",
                    "Eintragen mit: kennzahl K-1 <wert> [datum] quelle:<text>",
                ]
            ),
        )
    ]
    recorder.clear()
    for moment in (at(9, day=date(2026, 12, 4)), at(8, day=date(2026, 12, 7))):
        town.clock.now = moment
        tick(town.app, moment, recorder)
    assert [s for s in recorder.sent if "K-1" in s.text] == []
    # The value comes: the next one is due a quarter later, planned by the same rule.
    town.chat(MAX).say("kennzahl K-1 32 04.12.")
    town.clock.now = at(8, day=date(2027, 3, 4))
    tick(town.app, town.clock.now, recorder)
    with town.session() as session:
        keys = session.execute(
            select(OutboxEntry.key, OutboxEntry.state)
            .where(OutboxEntry.kind == "indicator_value")
            .order_by(OutboxEntry.id)
        ).all()
        assert [(k, s.value) for k, s in keys] == [
            ("indicator_value:K-1:2026-12-04:0", "sent"),
            ("indicator_value:K-1:2027-03-04:0", "sent"),
        ]
