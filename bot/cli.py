"""The `regelkreis` command line: chat, run, db upgrade, demo, doctor and the set-up commands.

Exit statuses: 0 done, 1 a check or the environment failed (doctor, an unreachable database),
2 bad usage or configuration, or a refusal that changed nothing; 3 a platform is served by
another process (bot/runner.py).

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
from collections.abc import Sequence
from pathlib import Path
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
    from sqlalchemy.exc import OperationalError

    from bot import doctor
    from bot.cli_errors import CliError
    from bot.cli_parser import build_parser
    from bot.config import ConfigError

    args = build_parser().parse_args(arguments)
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
    from bot.cli_errors import CliError
    from bot.config import load_config

    try:
        return load_config(path)
    except OSError as error:  # a folder, or no permission (a missing file is a ConfigError)
        raise CliError(f"{path}: cannot read the configuration file: {error.strerror}") from None


def _dispatch(args: argparse.Namespace, config: Config) -> int:
    from bot import doctor
    from bot.cli_chat import console_chat
    from bot.cli_database import ensure_example, upgrade_schema, upgraded_app
    from bot.cli_operator import operator_command

    command = args.command or "run"
    if command == "doctor":
        findings = doctor.check(config)
        for finding in findings:
            print(finding.line)
        return 0 if all(finding.ok for finding in findings) else 1
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
    app = upgraded_app(config)
    return operator_command(app, args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
