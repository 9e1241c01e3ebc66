"""What every transport does to a line before it leaves the bot.

- Control characters go once more (rows stored before the door removed them, a file name):
  a terminal would obey an ANSI escape.
- Right-to-left runs (an Arabic or Hebrew name, a title) are isolated between U+2068 and
  U+2069, so they cannot reorder what follows them: `عربي 12 %` would otherwise show the
  figure on the wrong side.
- A name cannot notify people: `@room` on Matrix and `@username` on Telegram get a word joiner
  after the `@`, which looks the same and mentions nobody. (Matrix messages also carry an empty
  `m.mentions`, bot/matrix/send.py.)
"""

from __future__ import annotations

import re

from storage.limits import clean

FIRST_STRONG_ISOLATE = "\u2068"
POP_DIRECTIONAL_ISOLATE = "\u2069"
WORD_JOINER = "\u2060"

# Hebrew, Arabic, Syriac, Thaana, NKo, Samaritan, Mandaic and their presentation forms; a run
# is such letters with the spaces and marks between them.
_RTL = "\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc"
_RTL_RUN = re.compile(f"[{_RTL}](?:[{_RTL}\\s\u200c\u200d]*[{_RTL}])?")
_ROOM_MENTION = re.compile(r"(?<![\w.])@(?=room\b)", re.IGNORECASE)
_USERNAME = re.compile(r"(?<![\w.])@(?=[A-Za-z][A-Za-z0-9_]{4,})")  # not in an e-mail address


def isolate_rtl(text: str) -> str:
    if not _RTL_RUN.search(text):
        return text
    return _RTL_RUN.sub(lambda m: f"{FIRST_STRONG_ISOLATE}{m[0]}{POP_DIRECTIONAL_ISOLATE}", text)


def safe_line(text: str) -> str:
    """Clean and isolated: the console's form, and the base of the others."""
    return isolate_rtl(clean(text))


def for_matrix(text: str) -> str:
    return _ROOM_MENTION.sub("@" + WORD_JOINER, safe_line(text))


def for_telegram(text: str) -> str:
    return _USERNAME.sub("@" + WORD_JOINER, safe_line(text))
