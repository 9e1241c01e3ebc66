"""`regelkreis backup FILE` and `regelkreis restore FILE`: storage/backup.py on the command line."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot import doctor
from bot.cli_errors import CliError
from bot.config import Config
from storage.backup import BackupError, backup, restore
from storage.db import make_engine


def add_backup_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """The `backup` and `restore` subcommands; `common` is the parent parser with --config."""
    made = commands.add_parser(
        "backup",
        parents=[common],
        help="write a backup of the database, also while the bot runs",
        description="Write a backup of the configured database while the bot goes on. FILE "
        "ending .db, .sqlite or .sqlite3: a copy of the SQLite database (SQLite's online "
        "backup); any other ending (e.g. .rkdump): a portable dump, on SQLite and PostgreSQL, "
        "that restores into either. An existing FILE is replaced once the new one is whole. "
        "Prints what was written: kind, schema revision, rows, size, seconds.",
    )
    made.add_argument("file", type=Path, metavar="FILE", help="where to write the backup")
    loaded = commands.add_parser(
        "restore",
        parents=[common],
        help="load a backup into an empty database, then upgrade its schema",
        description="Load a backup (a portable dump or a SQLite file copy, from either "
        "backend) into the configured database, which must be empty; builds the schema at "
        "the backup's revision, loads every row and upgrades to the newest revision. Refuses "
        "a database with data and a backup of a revision this version does not know "
        "(exit status 2, nothing changed).",
    )
    loaded.add_argument("file", type=Path, metavar="FILE", help="the backup to load")


def backup_command(config: Config, args: argparse.Namespace) -> int:
    """Run `backup` or `restore` (args.command) on the configured database; one line out."""
    # No bootstrap and no upgrade: a backup is taken of the schema as it is (before an
    # upgrade, say), and a restore builds the schema of its backup itself.
    engine = make_engine(config.database_url)
    where = doctor.database_label(config)
    try:
        if args.command == "backup":
            made = backup(engine, args.file)
            print(
                f"Backup written: {made.path} ({made.kind} of {where}, schema revision "
                f"{made.revision}, {made.rows} rows in {made.tables} tables, "
                f"{_size(made.size)}, {made.seconds:.1f} s)."
            )
        else:
            done = restore(engine, args.file)
            upgraded = (
                f"upgraded to revision {done.upgraded_to}"
                if done.upgraded_to != done.revision
                else "the newest"
            )
            print(
                f"Restored {done.path} ({done.kind} from {done.source}, schema revision "
                f"{done.revision}, {upgraded}) into {where}: {done.rows} rows in "
                f"{done.tables} tables, {done.seconds:.1f} s."
            )
    except BackupError as error:
        raise CliError(str(error), status=2) from None
    finally:
        engine.dispose()
    return 0


def _size(size: int) -> str:
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"
