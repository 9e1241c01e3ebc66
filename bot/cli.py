"""The `regelkreis` command line: chat, run, db upgrade, demo, doctor and the set-up commands.

Exit statuses: the table in docs/operations.md ("Exit statuses"), as constants in
bot/cli_errors.py — 0 done, 1 a check failed (doctor), 2 bad usage or configuration or a
refusal that changed nothing, 3 a platform is served by another process, 4 the data folder,
5 the database, 6 a platform rejected the credentials, 7 a platform stopped otherwise, 70 an
internal error. Every failure is one line on standard error; `--debug` adds the traceback.

This module reads the configuration, runs the command and turns errors into exit statuses;
the parser is in bot/cli_parser.py, the commands in bot/cli_database.py (db upgrade, demo),
bot/cli_chat.py (chat), bot/cli_operator.py (the set-up commands), bot/cli_plan.py (import,
export) and bot/reminders.py.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import traceback
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.version import program_version

if TYPE_CHECKING:
    from bot.config import Config


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    if arguments == ["--version"]:
        # Answered before anything else is loaded: the parser's choices come from the handlers,
        # which load the database layer (more than a second on a slow server).
        print(f"regelkreis {program_version()}")
        return 0
    from bot.cli_parser import build_parser

    args = build_parser().parse_args(arguments)
    debug = bool(getattr(args, "debug", False))
    handler = logging.StreamHandler()
    handler.setFormatter(_LogFormat(debug))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    if debug:
        # Only the program's own loggers: the libraries' debug output holds the Telegram
        # token in every URL.
        logging.getLogger("regelkreis").setLevel(logging.DEBUG)
    try:
        return _run(args)
    except KeyboardInterrupt:
        return 130  # the shell's status for Ctrl-C; nothing to explain
    except Exception as error:
        from bot.cli_errors import DEBUG_HINT, INTERNAL

        if debug:
            traceback.print_exc()
        print(
            f"regelkreis: internal error ({type(error).__name__}: {_one_line(error)}); "
            f"{DEBUG_HINT}",
            file=sys.stderr,
        )
        return INTERNAL


class _LogFormat(logging.Formatter):
    """The log's lines; without `--debug` an error's exception is its one line at the end,
    not a traceback (a library's as well as ours: PTB logs a broken answer with one)."""

    def __init__(self, debug: bool) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.debug = debug

    def format(self, record: logging.LogRecord) -> str:
        error = record.exc_info[1] if record.exc_info else None
        if self.debug or error is None:
            return super().format(record)
        brief = logging.makeLogRecord(
            {**record.__dict__, "exc_info": None, "exc_text": None, "stack_info": None}
        )
        return f"{super().format(brief)} ({type(error).__name__}: {_one_line(error)})"


def _run(args: argparse.Namespace) -> int:
    """Load the configuration and run the command; the errors the operator can fix become
    one line and their exit status."""
    from sqlalchemy.exc import OperationalError

    from bot import doctor
    from bot.cli_errors import DATABASE, USAGE, CliError
    from bot.config import ConfigError, load_config

    debug = bool(getattr(args, "debug", False))
    config: Config | None = None
    try:
        config = load_config(args.config)
        return _dispatch(args, config)
    except (ConfigError, CliError, OperationalError) as error:
        if debug:
            traceback.print_exc()
        if isinstance(error, ConfigError):
            print(f"regelkreis: {error}", file=sys.stderr)
            return USAGE
        if isinstance(error, CliError):
            print(f"regelkreis: {error}", file=sys.stderr)
            return error.status
        assert config is not None
        where = doctor.database_label(config)
        print(
            f"regelkreis: the database {where} is not reachable: {_reason(error)}",
            file=sys.stderr,
        )
        return DATABASE


def _reason(error: BaseException) -> str:
    """The driver's first line, without SQLAlchemy's wrapping."""
    return _one_line(getattr(error, "orig", None) or error)


def _one_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def _dispatch(args: argparse.Namespace, config: Config) -> int:
    from bot import doctor
    from bot.cli_chat import console_chat
    from bot.cli_database import ensure_example, upgrade_schema, upgraded_app
    from bot.cli_errors import CHECK_FAILED, DONE
    from bot.cli_operator import operator_command

    command = args.command or "run"
    if command == "doctor":
        findings = doctor.check(config)
        for finding in findings:
            print(finding.line)
        return DONE if all(finding.ok for finding in findings) else CHECK_FAILED
    if command == "db":
        print(upgrade_schema(config))
        return 0
    if command == "demo":
        app = upgraded_app(config)
        print(ensure_example(app))
        return 0
    if command in ("chat", "run"):
        app = upgraded_app(config)
        if getattr(args, "demo", False):
            # Quietly: standard error and output belong to the chat (scripts read them).
            ensure_example(app)
        if command == "run" and (config.matrix or config.telegram):
            from bot.runner import build_transports, serve

            logging.getLogger().setLevel(logging.INFO)
            return asyncio.run(serve(app, build_transports(app)))
        return console_chat(app, getattr(args, "as_person", None), getattr(args, "room", "konsole"))
    if command == "reminders":
        from bot.reminders import run_due_command

        return run_due_command(upgraded_app(config), args.now, args.dry_run)
    if command in ("import", "export"):
        # Imported here: rich and the spreadsheet libraries load only for these commands.
        from bot.cli_plan import plan_command

        return plan_command(upgraded_app(config), args)
    if command == "report":
        # Imported here: the PDF and chart libraries load only for this command.
        from bot.cli_report import report_command

        return report_command(upgraded_app(config), args)
    if command in ("backup", "restore"):
        # On the database as it is: a backup keeps the schema it finds (say, just before an
        # upgrade), and a restore builds its own.
        from bot.cli_backup import backup_command

        return backup_command(config, args)
    if command == "audit" or (command == "person" and args.person_command in ("export", "forget")):
        from bot.cli_privacy import audit_command, export_person_command, forget_person_command

        handler = {"export": export_person_command, "forget": forget_person_command}.get(
            getattr(args, "person_command", ""), audit_command
        )
        return handler(upgraded_app(config), args)
    app = upgraded_app(config)
    return operator_command(app, args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
