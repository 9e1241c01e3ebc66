"""The one table of every command: names (German, English, ASCII) and role; usage, example
and help are in the catalogue under `commands.<key>` (handlers/texts/)."""

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
    plan_chat,
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
        ),
        Command(
            "mine",
            ("meine",),
            ("mine", "my"),
            Access.REGISTERED,
            status.mine,
        ),
        Command(
            "due",
            ("fällig",),
            ("due",),
            Access.REGISTERED,
            status.due,
        ),
        Command(
            "overdue",
            ("überfällig",),
            ("overdue",),
            Access.REGISTERED,
            status.overdue,
        ),
        Command(
            "goals",
            ("ziele",),
            ("goals",),
            Access.REGISTERED,
            goals.goals,
        ),
        Command(
            "goal",
            ("ziel",),
            ("goal",),
            Access.REGISTERED,
            goals.goal,
        ),
        Command(
            "history",
            ("verlauf",),
            ("history",),
            Access.REGISTERED,
            status.history,
        ),
        Command(
            "new",
            ("neu",),
            ("new",),
            Access.COORDINATION,
            measures.new_measure,
            writes=True,
            options=measures.NEW_OPTIONS,
        ),
        Command(
            "goal_new",
            ("ziel neu",),
            ("goal new", "new goal"),
            Access.COORDINATION,
            goals.new_goal,
            writes=True,
            options=goals.GOAL_OPTIONS,
        ),
        Command(
            "assign",
            ("zuweisen",),
            ("assign",),
            Access.COORDINATION,
            measures.assign,
            writes=True,
        ),
        Command(
            "report",
            ("melden",),
            ("update", "report"),
            Access.MEMBER,
            measures.report,
            writes=True,
        ),
        Command(
            "done",
            ("erledigt",),
            ("done",),
            Access.MEMBER,
            measures.done,
            writes=True,
        ),
        Command(
            "edit",
            ("ändern",),
            ("edit", "change"),
            Access.COORDINATION,
            measures.edit,
            writes=True,
            options=measures.EDIT_OPTIONS,
        ),
        Command(
            "deadline",
            ("frist",),
            ("deadline",),
            Access.COORDINATION,
            measures.deadline,
            writes=True,
        ),
        Command(
            "meetings",
            ("sitzung",),
            ("meeting", "meetings"),
            Access.REGISTERED,
            meetings.meetings,
        ),
        Command(
            "meeting_new",
            ("sitzung neu",),
            ("meeting new",),
            Access.COORDINATION,
            meetings.new_meeting,
            writes=True,
            options=meetings.MEETING_OPTIONS,
        ),
        Command(
            "meeting_move",
            ("sitzung verschieben",),
            ("meeting move",),
            Access.COORDINATION,
            meetings.move_meeting,
            writes=True,
        ),
        Command(
            "agenda",
            ("agenda",),
            ("agenda",),
            Access.REGISTERED,
            meetings.agenda,
        ),
        Command(
            "decision",
            ("beschluss",),
            ("decision",),
            Access.COORDINATION,
            meetings.decision,
            writes=True,
            options=meetings.DECISION_OPTIONS,
        ),
        Command(
            "decision_done",
            ("beschluss umgesetzt",),
            ("decision done",),
            Access.COORDINATION,
            meetings.decision_done,
            writes=True,
        ),
        Command(
            "import",
            ("import",),
            ("import",),
            Access.COORDINATION,
            plan_chat.import_plan,
            writes=True,
            slow=True,
        ),
        Command(
            "import_confirm",
            ("import bestätigen",),
            ("import confirm",),
            Access.COORDINATION,
            plan_chat.confirm_import,
            writes=True,
            slow=True,
        ),
        Command(
            "import_undo",
            ("import rückgängig",),
            ("import undo",),
            Access.COORDINATION,
            plan_chat.undo_import,
            writes=True,
            slow=True,
        ),
        Command(
            "export",
            ("export",),
            ("export",),
            Access.REGISTERED,
            plan_chat.export,
            slow=True,
        ),
        Command(
            "department_new",
            ("ressort neu",),
            ("department new", "new department"),
            Access.ADMIN,
            admin.new_department,
            writes=True,
            options=admin.DEPARTMENT_OPTIONS,
        ),
        Command(
            "department_link",
            ("ressort verknüpfen",),
            ("department link",),
            Access.ADMIN,
            admin.link_department,
            writes=True,
        ),
        Command(
            "department",
            ("ressort",),
            ("department",),
            Access.ADMIN,
            admin.show_link,
        ),
        Command(
            "room_coordination",
            ("raum koordination",),
            ("room coordination",),
            Access.ADMIN,
            admin.coordination_room,
            writes=True,
        ),
        Command(
            "person_new",
            ("person neu",),
            ("person add", "person new"),
            Access.ADMIN,
            admin.new_person,
            writes=True,
            options=admin.PERSON_OPTIONS,
        ),
        Command(
            "deputy",
            ("vertretung",),
            ("deputy",),
            Access.REGISTERED,
            absence.deputy,
            writes=True,
        ),
        Command(
            "reminders",
            ("erinnerungen",),
            ("reminders",),
            Access.COORDINATION,
            reminders.reminders,
            writes=True,
            options=reminders.REMINDER_OPTIONS,
        ),
        Command(
            "whoami",
            ("wer bin ich",),
            ("whoami", "who am i"),
            Access.EVERYONE,
            account.whoami,
        ),
        Command(
            "language",
            ("sprache",),
            ("language",),
            Access.EVERYONE,
            account.language,
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
