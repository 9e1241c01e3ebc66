"""The one table of every command: names (German, English, ASCII), role, usage and help."""

from __future__ import annotations

from handlers import (
    absence,
    account,
    admin,
    catalogs,
    directory,
    goals,
    measures,
    meetings,
    reminders,
    status,
)
from handlers.commands import Access, Command, Registry


def build_registry() -> Registry:
    commands: list[Command] = [
        Command(
            "status",
            ("status",),
            ("status", "state"),
            Access.REGISTERED,
            status.status,
            ("status [bezug]", "status [reference]"),
            ("status sprachförd", "status M-12"),
            (
                "Überblick des Raums oder Details zu Maßnahme, Ziel, Ressort, Person, Planungsraum",
                "overview of this room, or detail of a measure, goal, "
                "department, person or planning area",
            ),
        ),
        Command(
            "mine",
            ("meine",),
            ("mine", "my"),
            Access.REGISTERED,
            status.mine,
            ("meine", "mine"),
            ("meine", "mine"),
            (
                "meine offenen Maßnahmen, nächste Frist zuerst",
                "my open measures, soonest deadline first",
            ),
        ),
        Command(
            "due",
            ("fällig",),
            ("due",),
            Access.REGISTERED,
            status.due,
            ("fällig [tage] [ressort]", "due [days] [department]"),
            ("fällig 30 JA", "due 30 JA"),
            (
                "Maßnahmen mit Frist in den nächsten Tagen (Standard 14)",
                "measures due within the next days (default 14)",
            ),
        ),
        Command(
            "overdue",
            ("überfällig",),
            ("overdue",),
            Access.REGISTERED,
            status.overdue,
            ("überfällig [ressort]", "overdue [department]"),
            ("überfällig Jugendamt", "overdue Jugendamt"),
            ("überfällige Maßnahmen", "overdue measures"),
        ),
        Command(
            "goals",
            ("ziele",),
            ("goals",),
            Access.REGISTERED,
            goals.goals,
            ("ziele", "goals"),
            ("ziele", "goals"),
            ("Zielbaum mit Fortschritt", "goal tree with progress"),
        ),
        Command(
            "goal",
            ("ziel",),
            ("goal",),
            Access.REGISTERED,
            goals.goal,
            ("ziel <bezug>", "goal <reference>"),
            ("ziel Z-3", "goal Z-3"),
            ("ein Ziel mit Maßnahmen und Kennzahlen", "one goal with measures and indicators"),
        ),
        Command(
            "history",
            ("verlauf",),
            ("history",),
            Access.REGISTERED,
            status.history,
            ("verlauf <maßnahme>", "history <measure>"),
            ("verlauf M-12", "history M-12"),
            ("Berichte und Änderungen, neueste zuerst", "reports and changes, newest first"),
        ),
        Command(
            "new",
            ("neu",),
            ("new",),
            Access.COORDINATION,
            measures.new_measure,
            (
                'neu "<titel>" ressort: frist: ziel: verantwortlich: beteiligt: raum: intervall:',
                'new "<title>" department: deadline: goal: responsible: participating: area: '
                "interval:",
            ),
            (
                'neu "Sprachcafé für Eltern" ressort:JA frist:31.03.2027 '
                'verantwortlich:"Markus Becker"',
                'new "Language café for parents" department:JA deadline:2027-03-31',
            ),
            ("Maßnahme anlegen", "create a measure"),
            writes=True,
            options=measures.NEW_OPTIONS,
        ),
        Command(
            "goal_new",
            ("ziel neu",),
            ("goal new", "new goal"),
            Access.COORDINATION,
            goals.new_goal,
            (
                'ziel neu "<titel>" oberziel: handlungsfeld: trends: intervall:',
                'goal new "<title>" parent: field: trends: interval:',
            ),
            (
                'ziel neu "Mehr Ganztagsplätze" oberziel:Z-3 handlungsfeld:Bildung',
                'goal new "More all-day places" parent:Z-3 field:Bildung',
            ),
            ("Ziel im Zielbaum anlegen", "create a goal in the tree"),
            writes=True,
            options=goals.GOAL_OPTIONS,
        ),
        Command(
            "assign",
            ("zuweisen",),
            ("assign",),
            Access.COORDINATION,
            measures.assign,
            ("zuweisen <maßnahme> an <person|ressort>", "assign <measure> to <person|department>"),
            ('zuweisen M-12 an "Julia Richter"', "assign M-12 to JA"),
            (
                "Verantwortliche Person oder federführendes Ressort setzen (benachrichtigt)",
                "set the responsible person or lead department (notifies them)",
            ),
            writes=True,
        ),
        Command(
            "report",
            ("melden",),
            ("update", "report"),
            Access.MEMBER,
            measures.report,
            ("melden <maßnahme> [status] [NN%] [notiz]", "update <measure> [status] [NN%] [note]"),
            ("melden M-12 70% Träger gefunden", "update M-12 delayed 40% waiting for funds"),
            (
                "Stand melden (Status: geplant, laufend, verzögert, gefährdet, erledigt, "
                "abgebrochen)",
                "report progress (status: planned, in_progress, delayed, at_risk, done, cancelled)",
            ),
            writes=True,
        ),
        Command(
            "done",
            ("erledigt",),
            ("done",),
            Access.MEMBER,
            measures.done,
            ("erledigt <maßnahme> [notiz]", "done <measure> [note]"),
            ("erledigt M-12 Abschlussbericht liegt vor", "done M-12 final report filed"),
            ("als erledigt melden", "mark done"),
            writes=True,
        ),
        Command(
            "edit",
            ("ändern",),
            ("edit", "change"),
            Access.COORDINATION,
            measures.edit,
            (
                "ändern <maßnahme> titel: beschreibung: ziel: raum: intervall: beginn: beteiligt:",
                "edit <measure> title: description: goal: area: interval: start: participating:",
            ),
            (
                'ändern M-12 titel:"Lernförderung ab Klasse 8" raum:Nordstadt',
                'edit M-12 title:"Tutoring from year 8" area:Nordstadt',
            ),
            (
                "Felder einer Maßnahme ändern (Frist: frist, Federführung: zuweisen; "
                "„-“ leert ein Feld)",
                "change a measure's fields (deadline: deadline, lead: assign; “-” clears one)",
            ),
            writes=True,
            options=measures.EDIT_OPTIONS,
        ),
        Command(
            "deadline",
            ("frist",),
            ("deadline",),
            Access.COORDINATION,
            measures.deadline,
            ("frist <maßnahme> <datum> <begründung>", "deadline <measure> <date> <reason>"),
            (
                "frist M-12 30.06.2027 Träger startet später",
                "deadline M-12 2027-06-30 provider starts later",
            ),
            ("Frist ändern, mit Begründung", "change the deadline, with a reason"),
            writes=True,
        ),
        Command(
            "meetings",
            ("sitzung",),
            ("meeting", "meetings"),
            Access.REGISTERED,
            meetings.meetings,
            ("sitzung [sitzung]", "meeting [meeting]"),
            ("sitzung S-2", "meeting S-2"),
            (
                "nächste Sitzungen, oder eine Sitzung mit ihren Beschlüssen",
                "next meetings, or one meeting with its decisions",
            ),
        ),
        Command(
            "meeting_new",
            ("sitzung neu",),
            ("meeting new",),
            Access.COORDINATION,
            meetings.new_meeting,
            (
                'sitzung neu <datum> <zeit> "<titel>" raum: ressorts: gremium:',
                'meeting new <date> <time> "<title>" room: departments: body:',
            ),
            (
                'sitzung neu 14.01.2027 10:00 "Steuergruppe Bildung" ressorts:BB,JA,SA',
                'meeting new 2027-01-14 10:00 "Steering group" departments:BB,JA,SA',
            ),
            (
                "Sitzung planen (Erinnerungen und Tagesordnung kommen von selbst)",
                "plan a meeting (reminders and the agenda follow by themselves)",
            ),
            writes=True,
            options=meetings.MEETING_OPTIONS,
        ),
        Command(
            "meeting_move",
            ("sitzung verschieben",),
            ("meeting move",),
            Access.COORDINATION,
            meetings.move_meeting,
            (
                "sitzung verschieben <sitzung> <datum> <zeit>",
                "meeting move <meeting> <date> <time>",
            ),
            ("sitzung verschieben S-2 16.12.2026 10:00", "meeting move S-2 2026-12-16 10:00"),
            ("Sitzung verlegen", "move a meeting"),
            writes=True,
        ),
        Command(
            "agenda",
            ("agenda",),
            ("agenda",),
            Access.REGISTERED,
            meetings.agenda,
            ("agenda [sitzung]", "agenda [meeting]"),
            ("agenda S-2", "agenda S-2"),
            (
                "Tagesordnung der nächsten (oder einer) Sitzung",
                "agenda of the next (or a given) meeting",
            ),
        ),
        Command(
            "decision",
            ("beschluss",),
            ("decision",),
            Access.COORDINATION,
            meetings.decision,
            (
                'beschluss <sitzung> "<text>" [bezug…] frist: status: intervall: qualitätsziel:',
                'decision <meeting> "<text>" [reference…] deadline: status: interval: quality:',
            ),
            (
                'beschluss S-2 "Neubau Am Weinberg: Frist bis Juni" M-6 frist:30.06.2027',
                'decision S-2 "Weinberg: deadline moved to June" M-6 deadline:2027-06-30',
            ),
            (
                "Beschluss festhalten; ändert Fristen, Status, Ziele",
                "record a decision; changes deadlines, status, goals",
            ),
            writes=True,
            options=meetings.DECISION_OPTIONS,
        ),
        Command(
            "decision_done",
            ("beschluss umgesetzt",),
            ("decision done",),
            Access.COORDINATION,
            meetings.decision_done,
            ("beschluss umgesetzt <S-n/nr>", "decision done <S-n/no>"),
            ("beschluss umgesetzt S-1/2", "decision done S-1/2"),
            ("Beschluss als umgesetzt markieren", "mark a decision as done"),
            writes=True,
        ),
        Command(
            "department_new",
            ("ressort neu",),
            ("department new", "new department"),
            Access.ADMIN,
            admin.new_department,
            ('ressort neu <kürzel> "<name>" [alias:…]', 'department new <key> "<name>" [alias:…]'),
            (
                'ressort neu JA "Jugendamt" alias:"Amt 51,Jugend"',
                'department new JA "Jugendamt" alias:"Amt 51,Jugend"',
            ),
            ("Ressort anlegen", "create a department"),
            writes=True,
            options=admin.DEPARTMENT_OPTIONS,
        ),
        Command(
            "department_link",
            ("ressort verknüpfen",),
            ("department link",),
            Access.ADMIN,
            admin.link_department,
            ("ressort verknüpfen <ressort>", "department link <department>"),
            ("ressort verknüpfen Jugendamt", "department link JA"),
            ("diesen Raum mit einem Ressort verknüpfen", "link this room to a department"),
            writes=True,
        ),
        Command(
            "department",
            ("ressort",),
            ("department",),
            Access.ADMIN,
            admin.show_link,
            ("ressort", "department"),
            ("ressort", "department"),
            ("Verknüpfung dieses Raums zeigen", "show this room's link"),
        ),
        Command(
            "room_coordination",
            ("raum koordination",),
            ("room coordination",),
            Access.ADMIN,
            admin.coordination_room,
            ("raum koordination", "room coordination"),
            ("raum koordination", "room coordination"),
            ("diesen Raum zum Koordinationsraum machen", "make this room the coordination room"),
            writes=True,
        ),
        Command(
            "person_new",
            ("person neu",),
            ("person add", "person new"),
            Access.ADMIN,
            admin.new_person,
            (
                'person neu "<name>" ressort: rolle: <chat-id>',
                'person add "<name>" department: role: <chat-id>',
            ),
            (
                'person neu "Max Müller" ressort:JA rolle:ressort matrix:@max:musterstadt.de',
                'person add "Max Müller" department:JA role:ressort telegram:123456789',
            ),
            ("Person mit Chat-ID registrieren", "register a person and their chat id"),
            writes=True,
            options=admin.PERSON_OPTIONS,
        ),
        Command(
            "deputy",
            ("vertretung",),
            ("deputy",),
            Access.REGISTERED,
            absence.deputy,
            (
                "vertretung [person] durch <vertretung> bis <datum>",
                "deputy [person] by <deputy> until <date>",
            ),
            (
                'vertretung durch "Markus Becker" bis 18.12.2026',
                'deputy by "Markus Becker" until 2026-12-18',
            ),
            (
                "Abwesenheit und Vertretung (ende: zurück)",
                "absence and deputy (end: back)",
            ),
            writes=True,
        ),
        Command(
            "reminders",
            ("erinnerungen",),
            ("reminders",),
            Access.COORDINATION,
            reminders.reminders,
            ("erinnerungen [an|aus|zeit:HH:MM]", "reminders [on|off|time:HH:MM]"),
            ("erinnerungen zeit:09:00", "reminders time:09:00"),
            ("Erinnerungen dieses Raums", "reminder settings of this room"),
            writes=True,
            options=reminders.REMINDER_OPTIONS,
        ),
        Command(
            "whoami",
            ("wer bin ich",),
            ("whoami", "who am i"),
            Access.EVERYONE,
            account.whoami,
            ("wer bin ich", "whoami"),
            ("wer bin ich", "whoami"),
            ("Chat-ID, Rolle und Raum anzeigen", "show chat id, role and room"),
        ),
        Command(
            "language",
            ("sprache",),
            ("language",),
            Access.EVERYONE,
            account.language,
            ("sprache de|en", "language de|en"),
            ("sprache en", "language de"),
            ("Antwortsprache für mich", "reply language for me"),
            writes=True,
        ),
    ]
    registry = Registry()
    help_command = Command(
        "help",
        ("hilfe",),
        ("help",),
        Access.EVERYONE,
        account.make_help(registry),
        ("hilfe [befehl]", "help [command]"),
        ("hilfe melden", "help update"),
        ("Befehle anzeigen", "list commands"),
    )
    # Families that keep their table entries beside their handlers, placed in `hilfe` next
    # to their kin: the directory after the read commands, catalogs after `ziel neu`.
    directory_lists = [c for c in directory.COMMANDS if not c.writes]
    directory_changes = [c for c in directory.COMMANDS if c.writes]
    commands = _after(commands, "history", directory_lists)
    commands = _after(commands, "goal_new", catalogs.COMMANDS)
    commands = _after(commands, "department_link", directory_changes)
    for command in (help_command, *commands):
        registry.add(command)
    return registry


def _after(commands: list[Command], key: str, more: list[Command]) -> list[Command]:
    at = next(i for i, c in enumerate(commands) if c.key == key) + 1
    return [*commands[:at], *more, *commands[at:]]
