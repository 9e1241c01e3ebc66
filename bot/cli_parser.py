"""The `regelkreis` argument parser: every command and option, with its help text.

What each command does is in bot/cli.py (the dispatch) and the modules it names.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli_backup import add_backup_commands
from bot.cli_people import add_people_commands
from bot.cli_privacy import add_audit_command, add_person_export, add_person_forget
from bot.version import program_version
from handlers.admin import ROLE_WORDS
from handlers.catalogs import Catalog
from storage.demo import DEMO_COORDINATOR


def _config_option(parser: argparse.ArgumentParser, default: object, debug: object) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=default,
        metavar="FILE",
        help="configuration file (default: regelkreis.toml if present, else the embedded "
        "defaults); before or after the command name",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        default=debug,
        help="on an error, print the traceback as well as the one line; the program's own "
        "debug log; before or after the command name",
    )


def build_parser() -> argparse.ArgumentParser:
    """The parser of `regelkreis` and all its commands."""
    parser = argparse.ArgumentParser(
        prog="regelkreis",
        description="Regelkreis — measures, deadlines and reminders across departments, "
        "in the team chat.",
        epilog="Exit status: 0 done, 1 a check failed (doctor), 2 bad usage or configuration "
        "or a refusal that changed nothing, 3 a platform is served by another process, "
        "4 the data folder is not usable, 5 the database is not reachable or not usable, "
        "6 a platform rejected the credentials, 7 a platform stopped otherwise, 70 an "
        "internal error (docs/operations.md, Exit statuses).",
    )
    _config_option(parser, None, False)
    parser.add_argument("--version", action="version", version=f"regelkreis {program_version()}")
    # The subcommands take --config too; SUPPRESS keeps a value given before the command name
    # from being overwritten by the subcommand's default.
    common = argparse.ArgumentParser(add_help=False)
    _config_option(common, argparse.SUPPRESS, argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    chat = commands.add_parser(
        "chat",
        parents=[common],
        help="console chat with the bot",
        description="Talk to the bot in the terminal. When standard "
        "input is not a terminal, reads one command per line and prints "
        "each reply followed by an empty line.",
    )
    chat.add_argument(
        "--as",
        dest="as_person",
        metavar="NAME",
        help=f"act as this registered person (default: {DEMO_COORDINATOR}, "
        "the example coordinator, if registered)",
    )
    chat.add_argument(
        "--demo", action="store_true", help="make sure the example municipality exists"
    )
    chat.add_argument(
        "--room",
        default="konsole",
        metavar="ROOM",
        help="console room to talk in (default: konsole, an unlinked room; "
        "the example municipality links jugendamt, schulamt, koordination)",
    )

    run = commands.add_parser(
        "run",
        parents=[common],
        help="serve the configured platforms (console chat when none is configured)",
    )
    run.add_argument(
        "--demo", action="store_true", help="make sure the example municipality exists"
    )

    db = commands.add_parser("db", parents=[common], help="database schema")
    db_commands = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_commands.add_parser(
        "upgrade",
        parents=[common],
        help="create the schema, or upgrade it to the newest version",
        description="Create the schema in a new database, or upgrade it to the newest "
        "revision; says which it did. The bot does the same on start.",
    )

    commands.add_parser(
        "demo",
        parents=[common],
        help="create the example municipality (Musterstadt) in an empty database",
        description="Create the example municipality Musterstadt and say what it holds. "
        "Refuses a database with another municipality's departments, people, goals or "
        "measures (exit status 2); says so when the example is there already.",
    )

    commands.add_parser(
        "doctor",
        parents=[common],
        help="check the configuration, the database and each configured platform",
        description="One line per check: the configuration, the database (reachable, schema "
        "at the newest revision) and each configured platform (Matrix login, Telegram "
        "token). Changes nothing. Exit status 0 when every check is ok, 1 otherwise.",
    )

    ressort = commands.add_parser("ressort", parents=[common], help="departments")
    ressort_commands = ressort.add_subparsers(
        dest="ressort_command", metavar="ACTION", required=True
    )
    add = ressort_commands.add_parser("add", parents=[common], help="create a department")
    add.add_argument("key", help="short key, e.g. JA")
    add.add_argument("name", help='name, e.g. "Jugendamt"')
    add.add_argument("--alias", action="append", default=[], help="another name (repeatable)")
    link = ressort_commands.add_parser(
        "link", parents=[common], help="link a chat room to a department"
    )
    link.add_argument("key", help="department key, e.g. JA")
    _room_arguments(link)

    room = commands.add_parser("room", parents=[common], help="rooms")
    room_commands = room.add_subparsers(dest="room_command", metavar="ACTION", required=True)
    coordination = room_commands.add_parser(
        "coordination", parents=[common], help="make a room the coordination room"
    )
    _room_arguments(coordination)

    person = commands.add_parser("person", parents=[common], help="people")
    person_commands = person.add_subparsers(dest="person_command", metavar="ACTION", required=True)
    person_add = person_commands.add_parser("add", parents=[common], help="register a person")
    person_add.add_argument("name", help='display name, e.g. "Max Müller"')
    person_add.add_argument(
        "--ressort", metavar="KEY", help="department key (required for role ressort)"
    )
    person_add.add_argument(
        "--rolle",
        "--role",
        dest="rolle",
        required=True,
        choices=sorted(ROLE_WORDS),
        metavar="ROLE",
        help="koordination, ressort or lesen",
    )
    person_add.add_argument(
        "--matrix",
        action="append",
        default=[],
        metavar="USER_ID",
        help="Matrix user id, e.g. @max:example.org (repeatable)",
    )
    person_add.add_argument(
        "--telegram",
        action="append",
        default=[],
        metavar="USER_ID",
        help="Telegram numeric user id (repeatable)",
    )
    person_add.add_argument(
        "--admin", action="store_true", help="may register people and link rooms"
    )
    person_add.add_argument("--language", choices=["de", "en"], help="reply language")
    person_add.add_argument(
        "--email",
        metavar="ADDRESS",
        help="e-mail address for reminders when no chat reaches the person (docs/email.md)",
    )
    add_people_commands(person_commands, common)
    add_person_export(person_commands, common)
    add_person_forget(person_commands, common)
    add_audit_command(commands, common)

    for name, aliases, catalog, what, example in (
        (
            "handlungsfeld",
            ["field"],
            Catalog.FIELD,
            "fields of action (Handlungsfelder)",
            "Gesundheit",
        ),
        ("trend", [], Catalog.TREND, "trends", "Fachkräftemangel"),
    ):
        catalog_parser = commands.add_parser(
            name,
            aliases=aliases,
            parents=[common],
            help=f"the catalog of {what}: list, add, rename, retire",
            description=f"The catalog of {what}, the same as in chat. A retired entry stays "
            "on its goals, but new goals can no longer choose it.",
        )
        catalog_parser.set_defaults(catalog=catalog)
        actions = catalog_parser.add_subparsers(
            dest="catalog_command", metavar="ACTION", required=True
        )
        actions.add_parser("list", parents=[common], help="every entry, retired ones marked")
        add_entry_parser = actions.add_parser("add", parents=[common], help="add an entry")
        add_entry_parser.add_argument("name", nargs="+", help=f'name, e.g. "{example}"')
        rename = actions.add_parser("rename", parents=[common], help="rename an entry")
        rename.add_argument("old", help="the name now (quote it when it has spaces)")
        rename.add_argument("new", help="the new name (quote it when it has spaces)")
        retire = actions.add_parser(
            "retire", parents=[common], help="retire an entry (it stays on its goals)"
        )
        retire.add_argument("name", nargs="+", help="the entry's name")

    _plan_commands(commands, common)
    _report_command(commands, common)
    add_backup_commands(commands, common)

    reminders = commands.add_parser(
        "reminders", parents=[common], help="reminders: run-due (one sweep and delivery, for cron)"
    )
    reminder_commands = reminders.add_subparsers(
        dest="reminders_command", metavar="ACTION", required=True
    )
    run_due = reminder_commands.add_parser(
        "run-due",
        parents=[common],
        help="one reminder sweep and delivery (for cron; the bot ticks every minute)",
        description="Decide the reminders due now, record them and deliver them; the console "
        "prints recipient then message. Safe next to a running bot: one sweep at a time, "
        "each reminder once.",
    )
    run_due.add_argument(
        "--now",
        metavar="ISO_TIME",
        help="act as if it were this time, e.g. 2027-03-01T08:00 (local to the municipality "
        "without an offset)",
    )
    run_due.add_argument(
        "--dry-run", action="store_true", help="print what would be sent; record and mark nothing"
    )
    return parser


def _plan_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """`import` and `export` (bot/cli_plan.py, docs/import.md)."""
    plan_import = commands.add_parser(
        "import",
        parents=[common],
        help="import a measure plan (XLSX, ODS, CSV), or undo the last import",
        description="Read a measure plan, validate every row and merge it with the database "
        "(docs/import.md). Prints a summary: new, changed, unchanged, conflicts, bad rows. "
        "A plan with a bad row is refused and nothing is imported (exit status 2) unless "
        "--skip-invalid. The whole import is one transaction: all or nothing.",
    )
    plan_import.add_argument("file", nargs="?", type=Path, metavar="FILE", help="the plan file")
    plan_import.add_argument(
        "--dry-run", action="store_true", help="show the summary; change nothing"
    )
    plan_import.add_argument(
        "--skip-invalid", action="store_true", help="import the good rows, skip the bad ones"
    )
    plan_import.add_argument(
        "--create-missing",
        action="store_true",
        help="create unknown departments and people (they are listed)",
    )
    plan_import.add_argument(
        "--overwrite",
        action="store_true",
        help="conflicts take the file's value (default: keep the value changed in chat)",
    )
    plan_import.add_argument(
        "--undo",
        action="store_true",
        help="revert the last import, while none of its measures changed since",
    )

    plan_export = commands.add_parser(
        "export",
        parents=[common],
        help="export the measures (csv, xlsx, ods) or the calendar (ics)",
        description="Write the measures in the columns the import reads, or the calendar of "
        "deadlines and meetings (ics; also written as a subscribable feed under data_dir). "
        "Default file name: massnahmenplan-<municipality>-<date>.<format> in the current "
        "directory.",
    )
    plan_export.add_argument("format", choices=["csv", "xlsx", "ods", "ics"], help="file format")
    plan_export.add_argument("--ressort", metavar="KEY", help="only this department's measures")
    plan_export.add_argument("--ziel", metavar="REF", help="only this goal's measures")
    plan_export.add_argument("--status", metavar="S", help="only measures with this status")
    plan_export.add_argument(
        "--planungsraum", metavar="NAME", help="only measures in this planning area"
    )
    plan_export.add_argument("--out", type=Path, metavar="FILE", help="where to write the file")
    plan_export.add_argument(
        "--mit-namen",
        "--with-names",
        dest="mit_namen",
        action="store_true",
        help="ics: name the responsible people (default: no person names)",
    )


def _report_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """`report` (bot/cli_report.py)."""
    report = commands.add_parser(
        "report",
        parents=[common],
        help="write the steering report (html, pdf) or its charts (png)",
        description="Write the steering report: status counts per goal and department, "
        "overdue measures, indicators, goal evaluations, the goal matrix and the last "
        "meeting's decisions. REF narrows it to a department, a goal or a meeting (a past "
        "meeting's frozen record when it has one). --format png draws the chart that `diagramm` "
        "posts: REF a department, a goal or an indicator. Prints the path of each file written.",
    )
    report.add_argument(
        "ref", nargs="?", metavar="REF", help="department, goal or meeting (png: or indicator)"
    )
    report.add_argument(
        "--format", choices=["html", "pdf", "png"], default="pdf", help="file format"
    )
    report.add_argument(
        "--out", type=Path, metavar="DIR", help="folder to write to (default: current folder)"
    )


def _room_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--matrix", metavar="ROOM_ID", help="Matrix room id, e.g. !abc:example.org")
    group.add_argument(
        "--telegram", metavar="CHAT_ID", help="Telegram chat id, e.g. -1001234567890"
    )
