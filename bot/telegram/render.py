"""Rendering for Telegram, pure functions: a Reply becomes HTML messages within the limits."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from telegram import BotCommand

from bot.outgoing import for_telegram
from handlers.conversation import MenuEntry
from handlers.core import Attachment, Reply

TEXT_LIMIT = 4096  # UTF-16 code units per message (Bot API sendMessage)
CAPTION_LIMIT = 1024
ALERT_LIMIT = 200  # characters of an answerCallbackQuery text
# setMyCommands: a description of at most 256 characters, at most 100 commands.
DESCRIPTION_LIMIT = 256
MENU_LIMIT = 100


def utf16_len(text: str) -> int:
    """Telegram counts message length in UTF-16 code units (an emoji is two)."""
    return len(text.encode("utf-16-le")) // 2


def escape(text: str) -> str:
    """HTML for parse_mode HTML, made safe to send (bot/outgoing.py; idempotent, as the
    splitting escapes pieces again)."""
    return html.escape(for_telegram(text), quote=False)


def reply_lines(reply: Reply) -> list[str]:
    """The reply as HTML lines: a bold heading per block, an empty line between blocks."""
    lines: list[str] = []
    for block in reply.blocks:
        part = ([f"<b>{escape(block.heading)}</b>"] if block.heading else []) + [
            escape(line) for line in block.lines
        ]
        if not part:
            continue
        if lines:
            lines.append("")
        lines.extend(part)
    return lines


def split_line(line: str, limit: int) -> list[str]:
    """A single line longer than a message: cut between words, never inside a tag or entity."""
    bold = line.startswith("<b>") and line.endswith("</b>")
    raw = html.unescape(line[3:-4] if bold else line)
    room = limit - (7 if bold else 0)
    pieces: list[str] = []
    current = ""
    for word in re.split(r"(?<=\s)", raw):
        while word:
            candidate = current + word
            if utf16_len(escape(candidate)) <= room:
                current, word = candidate, ""
            elif current:
                pieces.append(current)
                current = ""
            else:  # one word longer than a message: cut it by characters
                cut = len(word)
                while utf16_len(escape(word[:cut])) > room:
                    cut = max(1, cut * room // max(1, utf16_len(escape(word[:cut]))) - 1)
                pieces.append(word[:cut])
                word = word[cut:]
    if current:
        pieces.append(current)
    return [f"<b>{escape(p)}</b>" if bold else escape(p) for p in pieces]


def split_html(lines: Sequence[str], limit: int = TEXT_LIMIT) -> list[str]:
    """Pack HTML lines into messages of at most `limit` UTF-16 units, breaking between lines.

    Every line is closed HTML on its own, so each message parses; the length is measured on
    the HTML, which is never shorter than what Telegram counts, so no message is refused.
    """
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        for piece in [line] if utf16_len(line) <= limit else split_line(line, limit):
            length = utf16_len(piece)
            if current and size + 1 + length > limit:
                chunks.append("\n".join(current).strip("\n"))
                current, size = [], 0
            if not current and not piece.strip():
                continue  # a message never starts with the blank line between blocks
            size += (1 if current else 0) + length
            current.append(piece)
    if current:
        chunks.append("\n".join(current).strip("\n"))
    return [c for c in chunks if c.strip()]


def render_chunks(reply: Reply, limit: int = TEXT_LIMIT) -> list[str]:
    return split_html(reply_lines(reply), limit)


def fit(text: str, limit: int) -> str:
    """Plain text cut to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def caption(attachment: Attachment) -> str | None:
    if not attachment.caption:
        return None
    pieces = split_line(escape(attachment.caption), CAPTION_LIMIT)
    return pieces[0] if pieces else None


def menu(entries: Sequence[MenuEntry]) -> list[BotCommand]:
    """The conversation's menu within Telegram's limits (setMyCommands)."""
    return [
        BotCommand(entry.command, fit(entry.description, DESCRIPTION_LIMIT) or entry.command)
        for entry in entries[:MENU_LIMIT]
    ]


def done_text(original: str, label: str, who: str, reply: Reply) -> str:
    """A button message after the press: what it showed (the whole lines that fit), then
    the button and who pressed it, then the reply."""
    addition = "\n".join(
        [f"<b>{escape(label)}</b> · {escape(who)}" if label else "", *reply_lines(reply)]
    ).strip("\n")
    room = TEXT_LIMIT - utf16_len(addition) - 2
    if room < 0:
        addition = split_html([addition], TEXT_LIMIT)[0]
        original = ""
    elif utf16_len(original) > room:
        kept: list[str] = []
        for line in original.split("\n"):
            if utf16_len("\n".join([*kept, line])) > room - 2:
                break
            kept.append(line)
        original = "\n".join(kept)
    return f"{original}\n\n{addition}" if original else addition
