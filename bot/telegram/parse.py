"""Reading Telegram, pure functions: the command in a message, a button's data, a 429."""

from __future__ import annotations

import re
import warnings
from datetime import timedelta

from telegram.error import RetryAfter

from handlers.core import ShownVersion

CALLBACK_DATA_LIMIT = 64  # bytes
_BUTTON = re.compile(r"^(?:(\d+)\.(\d+))?\|(.+)$", re.DOTALL)


def command_text(text: str, username: str, *, private: bool, replies_to_bot: bool) -> str | None:
    """The command a message carries for the core, or None when it is not for the bot.

    `/ziel_neu@bot "X"` → `ziel_neu "X"` (the registry folds `_` to a space); `/fällig 30` is
    read from the text, since Telegram's command entity ends at the first non-ASCII letter.
    In a private chat, and in a reply to the bot, the slash is optional.
    """
    text = text.strip()
    if text.startswith("/"):
        found = re.match(r"/(\S*)(.*)", text, re.DOTALL)
        assert found is not None
        name, at, target = found.group(1).partition("@")
        if at and target.casefold() != username.casefold():
            return None  # meant for another bot in the group
        if not name:
            return None
        if name.casefold() == "start":  # Telegram's Start button: show what the bot can do
            return "hilfe"
        return (name + found.group(2)).strip()
    mention = f"@{username}".casefold()
    if username and text.casefold().startswith(mention):
        rest = text[len(mention) :]
        if not rest or not (rest[0].isalnum() or rest[0] == "_"):
            return rest.lstrip(" ,:").strip() or "hilfe"
    if username:
        # Addressed mid-sentence ("Sag mal @bot, was ist fällig?"): the sentence without it.
        found = re.search(rf"(?<![\w@])@{re.escape(username)}(?!\w)", text, re.IGNORECASE)
        if found:
            before = text[: found.start()].rstrip(" ,:")
            after = text[found.end() :].lstrip(" ,:")
            space = " " if before and after[:1].isalnum() else ""
            return f"{before}{space}{after}".strip() or "hilfe"
    if private or replies_to_bot:
        return text
    return None


def encode_button(command: str, shown: ShownVersion | None) -> str:
    """Callback data: `<measure>.<version>|<command>`; `|<command>` when no version was shown."""
    prefix = f"{shown.measure_id}.{shown.version}" if shown else ""
    return f"{prefix}|{command}"


def decode_button(data: str) -> tuple[str, ShownVersion | None] | None:
    found = _BUTTON.match(data)
    if found is None:
        return None
    shown = None
    if found.group(1):
        shown = ShownVersion(int(found.group(1)), int(found.group(2)))
    return found.group(3), shown


def retry_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that the type becomes timedelta
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
