"""CliError, and the exit statuses of the command line (the table in docs/operations.md)."""

from __future__ import annotations

# Exit statuses, one per thing the operator must fix, so that a service manager or a cron
# job can tell them apart (docs/operations.md, "Exit statuses"). 0–3 are older than the
# rest and keep their meaning.
DONE = 0
CHECK_FAILED = 1  # `doctor` found a problem
USAGE = 2  # bad usage or configuration, or a refusal that changed nothing
TAKEN = 3  # a platform is served by another process
DATA_DIR = 4  # bot.data_dir cannot be created or written
DATABASE = 5  # the database is not reachable, does not exist, or is not this program's
CREDENTIALS = 6  # a platform rejected the bot's credentials (token, password)
PLATFORM = 7  # a platform stopped for good otherwise (its API answers nonsense)
INTERNAL = 70  # a bug: what went wrong is one line, `--debug` shows the traceback

DEBUG_HINT = "run with --debug for the traceback"


class CliError(Exception):
    """Ends the program with this message and exit status 2 (or the one given)."""

    def __init__(self, message: str, status: int = USAGE) -> None:
        super().__init__(message)
        self.status = status
