"""Input limits of the whole program: the dates it accepts and the characters it keeps.

Every door (chat, spreadsheet import, command line) goes through these, and the database
checks them once more before it writes (storage/uow.py), so SQLite and PostgreSQL answer the
same: SQLite would store a 20,000-character title in a VARCHAR(300) and PostgreSQL refuse it;
PostgreSQL cannot store NUL at all.
"""

from __future__ import annotations

import re
from datetime import date

# Deadlines, meetings, values, `--now`: a municipality plans within this century. Outside it a
# date is a typo (`2206`, `9999`), and Python's date arithmetic ends at 9999.
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)

# C0 and C1 control characters except tab and newline, DEL, and of the bidirectional controls
# only the embeddings, overrides and isolates (U+202A–202E, U+2066–2069) that reverse the text
# after them. Marks like U+200E/U+200F and Arabic or Hebrew letters stay.
_UNWANTED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def in_range(day: date) -> bool:
    return EARLIEST <= day <= LATEST


def clean(text: str) -> str:
    """The text without control characters (a carriage return becomes a line break)."""
    if text.isprintable():  # the common case, and fast
        return text
    return _UNWANTED.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


# The longest text each unbounded (TEXT) column takes from a person; the others are their
# VARCHAR length in storage/models.py. Long enough for a real note, short enough for a chat
# message to show and a spreadsheet cell to hold.
TEXT_LIMITS: dict[tuple[str, str], int] = {
    ("goals", "quality_target"): 1000,
    ("measures", "description"): 4000,
    ("status_reports", "note"): 2000,
    ("decisions", "text"): 2000,
    ("goal_evaluations", "note"): 2000,
}

# One chat message: longer ones are answered with the limit, unread (Telegram takes 4096
# characters; Matrix clients send up to 64 KB).
MESSAGE_LIMIT = 10_000


class TooLong(ValueError):
    """A text longer than its column takes: refused the same way on every backend."""

    def __init__(self, table: str, column: str, limit: int, length: int) -> None:
        super().__init__(f"{table}.{column}: {length} characters, at most {limit}")
        self.table = table
        self.column = column
        self.limit = limit
        self.length = length


class OutOfRange(ValueError):
    """A date outside EARLIEST..LATEST reached the database (every door checks it before)."""

    def __init__(self, table: str, column: str, value: date) -> None:
        super().__init__(
            f"{table}.{column}: {value.isoformat()} is not between {EARLIEST} and {LATEST}"
        )
        self.table = table
        self.column = column
        self.value = value
