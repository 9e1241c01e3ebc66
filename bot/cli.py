"""The `regelkreis` command line: chat, run, db upgrade, demo, doctor and the set-up commands.

Exit statuses: 0 done, 1 a check or the environment failed (doctor, an unreachable database),
2 bad usage or configuration, or a refusal that changed nothing; 3 a platform is served by
another process (bot/runner.py).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bot import doctor
from bot.bootstrap import App, bootstrap, core_settings
from bot.config import Config, ConfigError, load_config
from bot.console import PLATFORM as CONSOLE
from bot.console import ConsoleChat
from handlers.admin import (
    ROLE_WORDS,
    create_department,
    link_room,
    make_coordination_room,
    register_person,
    room_link,
)
from handlers.catalogs import Catalog, add_entry, list_entries, rename_entry, retire_entry
from handlers.context import Ambiguous, CommandError, Context, NotFound, Refused, UsageError
from handlers.core import Incoming
from storage.demo import DEMO_COORDINATOR, ensure_demo
from storage.lookup import Kind
from storage.migrate import current_revision, upgrade
from storage.models import (
    Base,
    ChatIdentity,
    Department,
    Goal,
    Indicator,
    Measure,
    Meeting,
    Person,
    parse_chat_id,
)
from storage.uow import UnitOfWork

log = logging.getLogger("regelkreis")
# The console user of a fresh installation, where nobody is registered yet.
OPERATOR = "operator"
T = TypeVar("T")


# ensure_demo's own sign that the example municipality is there: its coordination office.
DEMO_DEPARTMENT = "BB"
# What the example municipality consists of, as the operator is told.
_COUNTED: list[tuple[type[Base], str, str]] = [
    (Department, "department", "departments"),
    (Person, "person", "people"),
    (Goal, "goal", "goals"),
    (Measure, "measure", "measures"),
    (Indicator, "indicator", "indicators"),
    (Meeting, "meeting", "meetings"),
]
# Rows of these make a database another municipality's (the catalogs are in every database).
_OWN_DATA = (Department, Person, Goal, Measure)


class CliError(Exception):
    """Ends the program with this message and exit status 2 (or the one given)."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


def _config_option(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=default,
        metavar="FILE",
        help="configuration file (default: regelkreis.toml if present, else the embedded "
        "defaults); before or after the command name",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="regelkreis",
        description="Regelkreis — measures, deadlines and reminders across departments, "
        "in the team chat.",
        epilog="Exit status: 0 done, 1 a check failed (doctor) or the database is not "
        "reachable, 2 bad usage or configuration or a refusal that changed nothing, "
        "3 a platform is served by another process.",
    )
    _config_option(parser, None)
    parser.add_argument(
        "--version", action="version", version=f"regelkreis {doctor.program_version()}"
    )
    # The subcommands take --config too; SUPPRESS keeps a value given before the command name
    # from being overwritten by the subcommand's default.
    common = argparse.ArgumentParser(add_help=False)
    _config_option(common, argparse.SUPPRESS)
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


def _room_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--matrix", metavar="ROOM_ID", help="Matrix room id, e.g. !abc:example.org")
    group.add_argument(
        "--telegram", metavar="CHAT_ID", help="Telegram chat id, e.g. -1001234567890"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    config: Config | None = None
    try:
        config = _load_config(args.config)
        return _dispatch(args, config)
    except ConfigError as error:
        print(f"regelkreis: {error}", file=sys.stderr)
        return 2
    except CliError as error:
        print(f"regelkreis: {error}", file=sys.stderr)
        return error.status
    except OperationalError as error:
        assert config is not None
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        print(
            f"regelkreis: the database {doctor.database_label(config)} is not reachable: {reason}",
            file=sys.stderr,
        )
        return 1


def _load_config(path: Path | None) -> Config:
    try:
        return load_config(path)
    except OSError as error:  # a folder, or no permission (a missing file is a ConfigError)
        raise CliError(f"{path}: cannot read the configuration file: {error.strerror}") from None


def _dispatch(args: argparse.Namespace, config: Config) -> int:
    command = args.command or "run"
    if command == "doctor":
        findings = doctor.check(config)
        for finding in findings:
            print(finding.line)
        return 0 if all(finding.ok for finding in findings) else 1
    if command == "db":
        print(_upgrade_schema(config))
        return 0
    if command == "demo":
        app = _bootstrap(config)
        print(_ensure_demo(app))
        return 0
    if command in ("chat", "run"):
        app = _bootstrap(config)
        if getattr(args, "demo", False):
            # Quietly: standard error and output belong to the chat (scripts read them).
            _ensure_demo(app)
        if command == "run" and (config.matrix or config.telegram):
            from bot.runner import build_transports, serve

            logging.getLogger().setLevel(logging.INFO)
            return asyncio.run(serve(app, build_transports(app)))
        return _chat(app, getattr(args, "as_person", None), getattr(args, "room", "konsole"))
    if command == "reminders":
        from bot.reminders import run_due_command

        return run_due_command(_bootstrap(config), args.now, args.dry_run)
    app = _bootstrap(config)
    return _operator(app, args)


def _bootstrap(config: Config) -> App:
    """bootstrap() with the schema upgrade it does, refusing a schema newer than the program."""
    return _upgraded(config)[0]


def _upgraded(config: Config) -> tuple[App, str | None, str | None]:
    """The app, and the schema revision before and after the upgrade."""
    app = bootstrap(config, migrate=False)
    before = current_revision(app.engine)
    if before is not None and before not in doctor.known_revisions():
        where = doctor.database_label(config)
        raise CliError(f"the database {where}: {doctor.newer_schema(before)}", status=1)
    upgrade(app.engine)
    return app, before, current_revision(app.engine)


def _upgrade_schema(config: Config) -> str:
    """`db upgrade`: create or upgrade the schema, and say which."""
    _app, before, after = _upgraded(config)
    where = doctor.database_label(config)
    if before is None:
        return f"Database schema created (revision {after}) in {where}."
    if before == after:
        return f"Database schema is up to date (revision {after}) in {where}."
    return f"Database schema upgraded from revision {before} to {after} in {where}."


def _ensure_demo(app: App) -> str:
    """Create the example municipality in an empty database; what was done, for the operator.

    A database with another municipality's departments, people, goals or measures is refused
    (CliError): the example would mix with real data, or collide with its keys.
    """
    with app.uows(write=True) as uow:
        session = uow.session
        if _demo_is_there(session):
            return (
                f"Example municipality Musterstadt exists already ({_counts(session)}); "
                "nothing created."
            )
        other = _counts(session, _OWN_DATA)
        if other:
            raise CliError(
                f"the database holds another municipality's data ({other}); the example "
                "municipality Musterstadt goes into an empty database only: use another "
                "database (--config with its own data_dir or database.url)"
            )
        ensure_demo(session, app.clock().astimezone(app.config.municipality.zone).date())
        session.flush()
        created = _counts(session)
        uow.commit()
    return f"Example municipality Musterstadt created: {created}."


def _demo_is_there(session: Session) -> bool:
    """ensure_demo's test (department BB), and its coordinator there, so that another
    municipality's BB (a Bauamt) is not taken for the example."""
    department = session.scalar(select(Department).where(Department.key == DEMO_DEPARTMENT))
    if department is None:
        return False
    return (
        session.scalar(
            select(Person.id).where(
                Person.department_id == department.id, Person.name == DEMO_COORDINATOR
            )
        )
        is not None
    )


def _counts(session: Session, models: Sequence[type[Base]] | None = None) -> str:
    """E.g. "10 departments, 20 people, 50 measures": the rows there are, of these kinds."""
    parts = []
    for model, one, many in _COUNTED:
        if models is not None and model not in models:
            continue
        count = session.scalar(select(func.count()).select_from(model)) or 0
        if count or models is None:
            parts.append(f"{count} {one if count == 1 else many}")
    return ", ".join(parts)


def _chat(app: App, as_person: str | None, room: str) -> int:
    sender = _console_identity(app, as_person)
    _log_to_file(app.config.data_dir / "regelkreis.log")
    chat = ConsoleChat(app, sender, room, sys.stdout)
    if sys.stdin.isatty():
        chat.run_interactive()
    else:
        chat.run_script(sys.stdin)
    return 0


def _log_to_file(path: Path) -> None:
    """In the console chat the terminal is the conversation: log lines go to a file, never
    between the bot's replies."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        return  # an unwritable data folder: keep logging where it was
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)


def _console_identity(app: App, as_person: str | None) -> str:
    """The console user id to act as: a registered person (by name), or the operator."""
    wanted = as_person or DEMO_COORDINATOR
    with app.uows(write=True) as uow:
        people = uow.session.execute(select(Person).order_by(Person.id)).scalars().all()
        person = next((p for p in people if p.name.casefold() == wanted.casefold()), None)
        if person is None and as_person:
            matches = [p for p in people if wanted.casefold() in p.name.casefold()]
            if len(matches) == 1:
                person = matches[0]
            else:
                names = ", ".join(p.name for p in (matches or people)[:12]) or "–"
                raise CliError(f"no registered person {as_person!r}. Registered: {names}")
        if person is None:
            # The operator at the terminal acts as admin (a fresh installation, or nobody
            # named like the example coordinator).
            notice = (
                "(Konsole als Betreiber/Administration — noch keine Person registriert. "
                "Beispieldaten: regelkreis chat --demo)"
                if not people
                else "(Konsole als Betreiber/Administration — als registrierte Person: "
                "regelkreis chat --as NAME)"
            )
            print(notice, file=sys.stderr)
            settings = app.dispatcher.settings
            app.dispatcher.settings = replace(
                settings, admins=settings.admins | {f"{CONSOLE}:{OPERATOR}"}
            )
            return OPERATOR
        identity = next((i for i in person.identities if i.platform == CONSOLE), None)
        if identity is None:
            # Whoever sits at the server's terminal is trusted to act as any registered person.
            identity = ChatIdentity(platform=CONSOLE, user_id=person.name)
            person.identities.append(identity)
            uow.commit()
        return identity.user_id


def _operator(app: App, args: argparse.Namespace) -> int:
    """The set-up commands: the same rules and audit as in chat, origin `cli`."""

    def run(action: Callable[[Context], str], *, write: bool = True) -> int:
        with app.uows(write=write) as uow:
            ctx = _cli_context(app, uow)
            try:
                message = action(ctx)
            except UsageError as error:
                raise CliError(error.reason or "invalid arguments") from None
            except NotFound as error:
                similar = "; ".join(m.label for m in error.suggestions)
                hint = f" (similar: {similar})" if similar else ""
                if not similar and error.hint:
                    hint = f". {error.hint}"
                raise CliError(f"not found: {error.text}{hint}") from None
            except Ambiguous as error:
                options = "; ".join(m.label for m in error.candidates)
                raise CliError(f"{error.text!r} is ambiguous: {options}") from None
            except (Refused, CommandError) as error:
                raise CliError(str(error)) from None
            uow.commit()
        print(message)
        return 0

    catalog: Catalog | None = getattr(args, "catalog", None)
    if catalog is not None:
        if args.catalog_command == "list":
            return run(lambda ctx: "\n".join(list_entries(ctx, catalog)), write=False)
        if args.catalog_command == "add":
            return run(lambda ctx: add_entry(ctx, catalog, " ".join(args.name)))
        if args.catalog_command == "rename":
            return run(lambda ctx: rename_entry(ctx, catalog, args.old, args.new))
        return run(lambda ctx: retire_entry(ctx, catalog, " ".join(args.name)))
    if args.command == "ressort" and args.ressort_command == "add":
        return run(
            lambda ctx: create_department(ctx, args.key, args.name, args.alias).label + " created."
        )
    if args.command == "ressort" and args.ressort_command == "link":
        platform, room_id = _room_of(args)

        def link(ctx: Context) -> str:
            department = _department(ctx, args.key)
            link_room(ctx, room_link(ctx, platform, room_id), department)
            return f"{platform}:{room_id} linked to {department.label}."

        return run(link)
    if args.command == "room":
        platform, room_id = _room_of(args)

        def coordinate(ctx: Context) -> str:
            make_coordination_room(ctx, room_link(ctx, platform, room_id))
            return f"{platform}:{room_id} is the coordination room."

        return run(coordinate)
    if args.command == "person":
        identities = [("matrix", m) for m in args.matrix] + [("telegram", t) for t in args.telegram]

        def add(ctx: Context) -> str:
            from bot.email import email_address

            for platform, user_id in identities:
                if parse_chat_id(f"{platform}:{user_id}") is None:
                    raise UsageError(
                        f"{platform} id {user_id!r} is not valid (Matrix: "
                        "@user:server, Telegram: a number)"
                    )
            address = email_address(args.email) if args.email is not None else None
            if args.email is not None and address is None:
                raise UsageError(
                    f"--email {args.email!r} is not an e-mail address (e.g. eva.ernst@stadt.de)"
                )
            role = ROLE_WORDS[args.rolle]
            department = _department(ctx, args.ressort) if args.ressort else None
            if department is None and role.value == "ressort":
                raise UsageError("--ressort is required for the role ressort")
            person = register_person(
                ctx,
                args.name,
                department,
                role,
                identities,
                language=args.language,
                is_admin=args.admin,
            )
            if address is not None:
                person.email = address
                ctx.audit(
                    "update", "person", person.id, before={"email": None}, after={"email": address}
                )
            ids = ", ".join(i.address for i in person.identities) or "no chat identity yet"
            if address is not None:
                ids += f"; e-mail {address}"
            return f"{person.name} registered ({role.value}; {ids})."

        return run(add)
    raise CliError(f"unknown command {args.command}")


def _room_of(args: argparse.Namespace) -> tuple[str, str]:
    if args.matrix:
        # `!abc123:example.org`, or since room version 12 `!` and an opaque id alone.
        if not args.matrix.startswith("!") or len(args.matrix) < 2 or " " in args.matrix:
            raise CliError(
                "a Matrix room id starts with ! (e.g. !abc123:example.org, or !abc123 in "
                "rooms of version 12 and later)"
            )
        return "matrix", str(args.matrix)
    if not str(args.telegram).lstrip("-").isdigit():
        raise CliError("a Telegram chat id is a number, e.g. -1001234567890")
    return "telegram", str(args.telegram)


def _department(ctx: Context, key: str) -> Department:
    match = ctx.resolve(key, [Kind.DEPARTMENT])
    department = ctx.session.get(Department, match.id)
    assert department is not None
    return department


def _cli_context(app: App, uow: UnitOfWork) -> Context:
    incoming = Incoming(platform="cli", room_id="cli", sender_id=getpass.getuser(), text="")
    return Context(
        incoming=incoming,
        uow=uow,
        person=None,
        is_admin=True,
        lang="en",
        now=app.clock(),
        settings=core_settings(app.config),
        lookup=app.dispatcher.lookup,
        room=None,
        # The operator's verbs change data: a fragment must name exactly one thing (§2).
        writes=True,
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
