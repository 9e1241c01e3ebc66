"""Dialogues for the steering cycle: sitzung, agenda, beschluss, vertretung, erinnerungen."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from bot.bootstrap import App
from storage.models import AuditEntry, Decision, FollowUp, Measure, Person, RoomLink
from tests.conftest import Chat

AGENDA_S2 = "\n".join(
    [
        "📋 Tagesordnung S-2 — Mi 09.12.2026 10:00",
        "Steuergruppe Bildung: Kita-Ausbau und Sprachförderung",
        "Ressorts: BB, GA, IB, JA, SA",
        "",
        "TOP 1 Beschlüsse der letzten Sitzung (S-1, 16.10.2026)",
        "✅ S-1/1 Der Interimsstandort Kita Hafenviertel ist in Betrieb; die Maßnahme wird "
        "abgeschlossen. — umgesetzt (M-9, Z-9)",
        "⏳ S-1/2 Das Jugendamt legt für den Kita-Neubau Am Weinberg bis zur nächsten Sitzung "
        "einen Ausweichplan vor. — offen (M-6, Z-9)",
        "⏳ S-1/3 Die Sprachförderung im Ganztag wird auf alle Grundschulen der Südvorstadt "
        "ausgeweitet; das Schulamt prüft die Finanzierung. — offen (M-3, Z-8)",
        "",
        "TOP 2 Bildungsbüro (BB)",
        "Fällig bis 20.01.2027 (1):",
        "🟢 M-48 Kita-Datenbericht für die Steuergruppe — 90 %, Frist 28.11.2026 · Jonas Weber",
        "",
        "TOP 3 Gesundheitsamt (GA)",
        "Gefährdet oder verzögert (1):",
        "🔴 M-49 Hitzewarnsystem für soziale Einrichtungen — 20 %, Frist 22.12.2026 · Birgit Koch",
        "",
        "TOP 4 Integrationsbüro (IB)",
        "Überfällig (1):",
        "🔴 M-21 Elternkurse Deutsch mit Kinderbetreuung — 50 %, 3 Tage überfällig · Sarah Miller",
        "Gefährdet oder verzögert (2):",
        "🟡 M-47 Integrationskonzept fortschreiben — 45 %, Frist 16.01.2027 · Anna Schmidt",
        "🟡 M-22 Sprach- und Kulturmittler-Pool aufbauen — 35 %, Frist 15.02.2027 · Yusuf Demir",
        "",
        "TOP 5 Jugendamt (JA)",
        "Überfällig (2):",
        "🔴 M-6 Kita-Neubau Am Weinberg (120 Plätze) — 35 %, 40 Tage überfällig · Julia Richter",
        "🔴 M-11 Schulsozialarbeit an der Oberschule Nordstadt verstetigen — 60 %, "
        "8 Tage überfällig · Julia Richter",
        "Gefährdet oder verzögert (2):",
        "🔴 M-13 Schulsozialarbeit: Begleitung bei Schulverweigerung — 25 %, Frist 02.12.2026 · "
        "Markus Becker",
        "🟡 M-17 Begleitung von Jugendlichen beim Übergang in Ausbildung — 40 %, "
        "Frist 26.01.2027 · Markus Becker",
        "Bericht überfällig (1):",
        "⚪ M-8 Kindertagespflege in der Gartenstadt ausbauen — 0 %, Frist 27.03.2027 · "
        "noch kein Bericht",
        "Fällig bis 20.01.2027 (1):",
        "🟢 M-1 Sprachförderung in Kitas der Nordstadt — 80 %, Frist 06.12.2026 · Markus Becker",
        "",
        "TOP 6 Schulamt (SA)",
        "Überfällig (1):",
        "🔴 M-3 Sprachförderung im Ganztag — 55 %, 12 Tage überfällig · Stefan Wagner",
        "Bericht überfällig (1):",
        "🟢 M-12 Lernförderung für Jugendliche ohne Abschlussprognose — 30 %, "
        "Frist 26.04.2027 · letzter Bericht 18.09.2026",
        "",
        # Goals to correct: evaluated "teilweise" or "nicht" at S-1, and Z-12, whose quarterly
        # evaluation is overdue (storage/demo.py's _EVALUATIONS).
        "TOP 7 Ziele zur Korrektur (Zielbewertung)",
        "🟡 Z-8 Sprachstand bei Schuleintritt verbessern — bewertet „teilweise“ am 16.10.2026: "
        "„Sprachförderbedarf sinkt, aber langsamer als der Zielpfad (K-1).“",
        "🟡 Z-9 Kita-Plätze bedarfsgerecht ausbauen — bewertet „teilweise“ am 16.10.2026: "
        "„Betreuungsquote erreicht, Kita-Neubau Am Weinberg verzögert.“",
        "🔴 Z-10 Schulabschlüsse sichern — bewertet „nicht erreicht“ am 16.10.2026: "
        "„Anteil ohne Abschluss 2026 wieder gestiegen (K-3).“",
        "🔴 Z-12 Deutschkenntnisse zugewanderter Eltern fördern — bewertet „nicht erreicht“ am "
        "19.08.2026: „Kursplätze reichen nicht; Warteliste bei der VHS.“; Bewertung fällig seit "
        "19.11.2026",
        "",
        # Behind the path from baseline to target (handlers.monitoring.indicator_tracks): the
        # path's value on the latest value's day, rounded like the figures.
        "TOP 8 Kennzahlen hinter dem Zielpfad",
        "🟡 K-1 Kinder mit Sprachförderbedarf bei der Schuleingangsuntersuchung: 27,8 % "
        "(30.09.2026), Soll 25,7, Ziel 20 (2029)",
        "🟡 K-3 Schulabgänger ohne Abschluss: 7,9 % (31.07.2026), Soll 7,1, Ziel 5 (2029)",
    ]
)


@pytest.fixture
def markus(sqlite_app: App) -> Chat:
    """Department member of the Jugendamt, in the Jugendamt's room."""
    return Chat(sqlite_app, "Markus Becker", "jugendamt")


# -- agenda ---------------------------------------------------------------------------------


def test_the_agenda_lists_per_department_what_is_late_at_risk_stale_and_due_then_indicators(
    anna: Chat,
) -> None:
    # The example municipality, on Friday 27 November 2026: overdue and open are M-3, M-6,
    # M-11, M-21 (and M-30, M-34, M-43 of departments not in S-2); at risk or delayed M-13,
    # M-17, M-22, M-47, M-49; stale and not already listed M-8, M-12; due before the next
    # meeting of the Steuergruppe (none planned: six weeks after S-2) M-1, M-48.
    assert anna.say("agenda S-2") == AGENDA_S2
    assert anna.say("agenda") == AGENDA_S2  # the next meeting
    assert anna.say("agenda steuergruppe bildung kita") == AGENDA_S2


def test_the_agenda_in_english(sqlite_app: App) -> None:
    sarah = Chat(sqlite_app, "Sarah Miller", "integration")
    lines = sarah.say("agenda S-2").splitlines()
    assert lines[0] == "📋 Agenda S-2 — Wed 2026-12-09 10:00"
    assert "Item 4 Integrationsbüro (IB)" in lines
    assert "Overdue (1):" in lines and "At risk or delayed (2):" in lines
    assert lines[-3] == "Item 8 Indicators behind their target path"
    assert lines[-6] == (
        "🔴 Z-10 Schulabschlüsse sichern — evaluated “not met” on 2026-10-16: "
        "“Anteil ohne Abschluss 2026 wieder gestiegen (K-3).”"
    )


def test_the_agenda_shows_decisions_and_their_follow_up_state_at_the_next_meeting(
    anna: Chat,
) -> None:
    reply = anna.say(
        'sitzung neu 14.01.2027 10:00 "Steuergruppe Bildung: Jahresauftakt" '
        'ressorts:BB,JA,SA gremium:"Steuergruppe Bildung"'
    )
    assert reply == "\n".join(
        [
            "Geplant: S-4 Do 14.01.2027 10:00",
            "Steuergruppe Bildung: Jahresauftakt",
            "Raum: Koordinationsraum",
            "Ressorts: BB, JA, SA",
            "Erinnerungen an die Ressorts: 05.01.2027, 13.01.2027; Tagesordnung: 13.01.2027",
        ]
    )
    assert anna.say(
        'beschluss S-2 "Ausweichplan Weinberg bis Juni" M-6 frist:30.06.2027 status:verzögert'
    ) == "\n".join(
        [
            "Beschluss S-2",
            "⏳ S-2/1 Ausweichplan Weinberg bis Juni",
            "Betrifft: M-6",
            "Änderungen: M-6: Frist 18.10.2026 → 30.06.2027, gefährdet → verzögert",
            "Erscheint mit seinem Umsetzungsstand auf der nächsten Tagesordnung; umgesetzt: "
            "beschluss umgesetzt S-2/1",
        ]
    )
    agenda = anna.say("agenda S-4").splitlines()
    assert agenda[4:6] == [
        "TOP 1 Beschlüsse der letzten Sitzung (S-2, 09.12.2026)",
        "⏳ S-2/1 Ausweichplan Weinberg bis Juni — offen (M-6)",
    ]
    # The decision moved M-6 from "overdue" to "at risk or delayed".
    assert (
        "🟡 M-6 Kita-Neubau Am Weinberg (120 Plätze) — 35 %, Frist 30.06.2027 · Julia Richter"
        in (agenda)
    )
    assert anna.say("beschluss umgesetzt S-2/1").splitlines() == [
        "Beschluss umgesetzt",
        "✅ S-2/1 Ausweichplan Weinberg bis Juni — umgesetzt (M-6)",
    ]
    assert "✅ S-2/1 Ausweichplan Weinberg bis Juni — umgesetzt (M-6)" in anna.say("agenda S-4")
    assert anna.say("beschluss umgesetzt S-2/1") == "S-2/1 ist bereits umgesetzt."


def test_a_decision_is_audited_and_changes_the_measure_with_a_new_version(
    sqlite_app: App, anna: Chat
) -> None:
    with sqlite_app.uows() as uow:
        before = uow.session.get(Measure, 6)
        assert before is not None
        version = before.version
    anna.say('beschluss S-2 "Weinberg bis Juni" M-6 frist:30.06.2027')
    with sqlite_app.uows() as uow:
        measure = uow.session.get(Measure, 6)
        assert measure is not None
        assert (measure.deadline, measure.version) == (date(2027, 6, 30), version + 1)
        audit = (
            uow.session.execute(
                select(AuditEntry).where(AuditEntry.action == "decision").order_by(AuditEntry.id)
            )
            .scalars()
            .all()
        )
        assert [(a.entity_kind, a.entity_id) for a in audit] == [("measure", 6), ("meeting", 2)]
        assert audit[0].after is not None and audit[0].after["reason"] == "Beschluss S-2"
        assert audit[0].origin_platform == "console" and audit[0].actor == "console:Anna Schmidt"
        decision = uow.session.execute(
            select(Decision).where(Decision.meeting_id == 2)
        ).scalar_one()
        assert decision.follow_up is FollowUp.OPEN
        assert decision.resulting_changes == "M-6: Frist 18.10.2026 → 30.06.2027"
    assert "Frist 18.10.2026 → 30.06.2027 (Beschluss S-2)" in anna.say("verlauf M-6")


def test_a_bad_decision_changes_nothing(sqlite_app: App, anna: Chat, markus: Chat) -> None:
    def count() -> int:
        with sqlite_app.uows() as uow:
            return len(uow.session.execute(select(Decision)).scalars().all())

    decisions = count()
    assert anna.say('beschluss S-2 "Falscher Status" M-6 status:irgendwie').startswith(
        "Status: geplant, laufend, verzögert, gefährdet, erledigt, abgebrochen.\nAufruf: beschluss"
    )
    assert anna.say('beschluss S-2 "Nur Frist" frist:30.06.2027').startswith(
        "frist:, status: und intervall: ändern Maßnahmen — bitte die Maßnahme nennen (z. B. M-6)."
    )
    assert markus.say('beschluss S-2 "Ich darf nicht" M-6') == (
        "„beschluss“ dürfen nur Personen mit der Rolle koordination. Ihre Rolle: ressort."
    )
    assert anna.say("beschluss umgesetzt S-1/9") == "S-1 hat 3 Beschlüsse."
    assert count() == decisions


# -- sitzung --------------------------------------------------------------------------------


def test_sitzung_lists_the_next_meetings_and_the_last_one(anna: Chat) -> None:
    assert anna.say("sitzung") == "\n".join(
        [
            "Nächste Sitzungen",
            "📅 S-2 Mi 09.12.2026 10:00 Steuergruppe Bildung: Kita-Ausbau und Sprachförderung "
            "(BB, GA, IB, JA, SA)",
            "📅 S-3 Mi 23.12.2026 14:00 Lenkungskreis Quartiersentwicklung (SOZ, SP, UA, WF)",
            "",
            "Letzte Sitzung",
            "S-1 Fr 16.10.2026 10:00 Steuergruppe Bildung: Halbjahresbilanz — 3 Beschlüsse, "
            "2 offen",
            "",
            "Tagesordnung: agenda [sitzung]",
        ]
    )
    assert anna.say("sitzung S-2").splitlines()[:6] == [
        "📅 S-2 Mi 09.12.2026 10:00",
        "Steuergruppe Bildung: Kita-Ausbau und Sprachförderung",
        "Gremium: Steuergruppe Bildung",
        "Raum: Koordinationsraum",
        "Ressorts: BB, GA, IB, JA, SA",
        "Erinnerungen an die Ressorts: 30.11.2026, 08.12.2026; Tagesordnung: 08.12.2026",
    ]


def test_planning_a_meeting_checks_time_title_and_role(anna: Chat, markus: Chat) -> None:
    assert anna.say('sitzung neu 01.11.2026 10:00 "Rückblick"').startswith(
        "Die Sitzung liegt in der Vergangenheit.\nAufruf: sitzung neu"
    )
    assert anna.say('sitzung neu 14.01.2027 abends "Ohne Zeit"').startswith(
        "Bitte die Uhrzeit angeben, z. B. 10:00.\nAufruf: sitzung neu"
    )
    assert markus.say('sitzung neu 14.01.2027 10:00 "Jugendhilfeausschuss"') == (
        "„sitzung neu“ dürfen nur Personen mit der Rolle koordination. Ihre Rolle: ressort."
    )
    # In a department's room, raum:hier makes it the meeting's room (and the agenda's).
    jugendamt = Chat(anna.app, "Anna Schmidt", "jugendamt")
    planned = jugendamt.say('sitzung neu 20.01.2027 14 Uhr "AG Kita-Ausbau" raum:hier')
    assert planned.splitlines()[:3] == [
        "Geplant: S-4 Mi 20.01.2027 14:00",
        "AG Kita-Ausbau",
        "Raum: Jugendamt (JA)",
    ]


def test_sitzung_verschieben_moves_a_meeting_and_says_when_the_reminders_come(
    anna: Chat,
) -> None:
    assert anna.say("sitzung verschieben S-2 16.12.2026 10:00") == "\n".join(
        [
            "Verschoben: S-2",
            "Mi 09.12.2026 10:00 → Mi 16.12.2026 10:00",
            "Erinnerungen an die Ressorts: 07.12.2026, 15.12.2026; Tagesordnung: 15.12.2026",
        ]
    )


# -- vertretung -----------------------------------------------------------------------------


def test_anyone_sets_their_own_absence_and_a_coordinator_anyone_elses(
    sqlite_app: App, anna: Chat, markus: Chat
) -> None:
    assert markus.say('vertretung durch "Julia Richter" bis 18.12.2026') == "\n".join(
        [
            "Vertretung eingetragen",
            "Markus Becker ist bis einschließlich 18.12.2026 abwesend; Erinnerungen gehen bis "
            "dahin an Julia Richter.",
            "Hinweis: Julia Richter ist selbst bis 07.12.2026 abwesend; solange geht es an "
            "Markus Becker.",
        ]
    )
    assert markus.say('vertretung "Stefan Wagner" durch Markus bis 18.12.2026') == (
        "„vertretung für Stefan Wagner“ dürfen nur Personen mit der Rolle koordination (für "
        "sich selbst: alle). Ihre Rolle: ressort."
    )
    assert anna.say('vertretung "Stefan Wagner" durch "Katrin Schulz" bis Ende Dezember') == (
        "\n".join(
            [
                "Vertretung eingetragen",
                "Stefan Wagner ist bis einschließlich 31.12.2026 abwesend; Erinnerungen gehen "
                "bis dahin an Katrin Schulz.",
            ]
        )
    )
    assert anna.say("vertretung").splitlines() == [
        "Vertretung",
        "Ihre Vertretung: Jonas Weber.",
        "",
        "Abwesend",
        "Julia Richter → Markus Becker bis 07.12.2026",
        "Markus Becker → Julia Richter bis 18.12.2026",
        "Stefan Wagner → Katrin Schulz bis 31.12.2026",
        "",
        "Eintragen: vertretung [person] durch <vertretung> bis <datum>",
    ]
    assert markus.say("vertretung ende") == "\n".join(
        [
            "Vertretung beendet",
            "Markus Becker ist zurück; Erinnerungen gehen wieder direkt an Markus Becker.",
        ]
    )
    with sqlite_app.uows() as uow:
        wagner = uow.session.execute(
            select(Person).where(Person.name == "Stefan Wagner")
        ).scalar_one()
        assert wagner.deputy is not None and wagner.deputy.name == "Katrin Schulz"
        audit = (
            uow.session.execute(select(AuditEntry).where(AuditEntry.action == "absence"))
            .scalars()
            .all()
        )
        assert len(audit) == 3


def test_vertretung_refuses_nonsense(anna: Chat) -> None:
    assert anna.say("vertretung durch Anna bis 18.12.2026") == (
        "Niemand kann sich selbst vertreten.\n"
        "Aufruf: vertretung [person] durch <vertretung> bis <datum>\n"
        'Beispiel: vertretung durch "Markus Becker" bis 18.12.2026'
    )
    assert anna.say("vertretung durch Jonas bis 01.11.2026").startswith(
        "Das Datum liegt in der Vergangenheit."
    )
    assert anna.say("vertretung durch Jonas bis irgendwann").startswith(
        "„irgendwann“ ist kein Datum, das ich verstehe."
    )
    assert anna.say("vertretung Jonas").startswith("Aufruf: vertretung [person] durch")


# -- erinnerungen ---------------------------------------------------------------------------


def test_erinnerungen_shows_and_changes_the_rooms_settings(sqlite_app: App) -> None:
    anna = Chat(sqlite_app, "Anna Schmidt", "jugendamt")
    assert anna.say("erinnerungen") == "\n".join(
        [
            "Erinnerungen",
            "Erinnerungen hier: an, um 08:00 (Standard)",
            "Hierher: Überfälliges und Sitzungsvorbereitung von JA, Erinnerungen ohne "
            "erreichbare Person",
            "",
            "Für alle",
            "Arbeitszeit 08:00–17:00, Mo–Fr außer Feiertagen (BB)",
            "Fristen: 14 und 3 Tage vorher; überfällig: am Arbeitstag danach, dann alle 7 Tage",
            "Sitzungen: 7 und 1 Arbeitstage vorher an die Ressorts, Tagesordnung 1 "
            "Arbeitstag(e) vorher",
            "Wochenübersicht montags 08:00",
            "",
            "Ändern: erinnerungen an | aus | zeit:HH:MM | zeit:standard",
        ]
    )
    assert anna.say("erinnerungen zeit:9.30").splitlines()[:2] == [
        "Erinnerungen geändert",
        "Erinnerungen hier: an, um 09:30",
    ]
    assert anna.say("erinnerungen aus").splitlines()[1] == "Erinnerungen hier: aus, um 09:30"
    assert anna.say("erinnerungen zeit:18:00").startswith(
        "Erinnerungen gehen nur in der Arbeitszeit 08:00–17:00 hinaus."
    )
    assert anna.say("erinnerungen an zeit:standard").splitlines()[1] == (
        "Erinnerungen hier: an, um 08:00 (Standard)"
    )
    with sqlite_app.uows() as uow:
        room = uow.session.execute(
            select(RoomLink).where(RoomLink.room_id == "jugendamt")
        ).scalar_one()
        assert (room.reminders_enabled, room.reminder_time) == (True, None)
        assert (
            len(
                uow.session.execute(select(AuditEntry).where(AuditEntry.action == "reminders"))
                .scalars()
                .all()
            )
            == 3
        )
    unlinked = Chat(sqlite_app, "Anna Schmidt", "konsole")
    assert unlinked.say("erinnerungen aus").startswith(
        "Dieser Raum ist weder mit einem Ressort verknüpft noch der Koordinationsraum"
    )
    markus = Chat(sqlite_app, "Markus Becker", "jugendamt")
    assert markus.say("erinnerungen aus") == (
        "„erinnerungen“ dürfen nur Personen mit der Rolle koordination. Ihre Rolle: ressort."
    )


def test_the_coordination_room_hears_when_the_next_digest_comes(sqlite_app: App) -> None:
    anna = Chat(sqlite_app, "Anna Schmidt", "koordination")
    lines = anna.say("erinnerungen").splitlines()
    assert lines[2:4] == [
        "Hierher: Wochenübersicht, Tagesordnungen, alles ohne anderen Empfänger",
        "Nächste Wochenübersicht: 30.11.2026",
    ]
