"""CliError: how a command of the command line ends with a message and an exit status."""

from __future__ import annotations


class CliError(Exception):
    """Ends the program with this message and exit status 2 (or the one given)."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status
