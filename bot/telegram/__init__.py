"""Telegram: python-telegram-bot 22 turning updates into Incoming and Replies into Bot API calls.

One job per module: `render` and `parse` are pure functions (HTML within Telegram's limits,
the command in a message, a button's data), `polling` fetches updates (long polling or a
webhook), `updates` turns them into conversation calls, `send` sends and tells the core what
a message showed, `transport` starts, runs and stops it all. What Telegram shares with
Matrix (the lease, platform state, pruning, the backlog, the clocks) is bot/platform.py.
docs/telegram.md is the operator's side.
"""

from bot.telegram.parse import CALLBACK_DATA_LIMIT, command_text, decode_button, encode_button
from bot.telegram.polling import ALLOWED_UPDATES, ChatOrderedProcessor
from bot.telegram.render import (
    ALERT_LIMIT,
    CAPTION_LIMIT,
    TEXT_LIMIT,
    menu,
    render_chunks,
    reply_lines,
    split_html,
    utf16_len,
)
from bot.telegram.secrecy import TokenRejected, protect_token
from bot.telegram.transport import PLATFORM, TelegramNotifier, TelegramTransport

__all__ = [
    "ALERT_LIMIT",
    "ALLOWED_UPDATES",
    "CALLBACK_DATA_LIMIT",
    "CAPTION_LIMIT",
    "PLATFORM",
    "TEXT_LIMIT",
    "ChatOrderedProcessor",
    "TelegramNotifier",
    "TelegramTransport",
    "TokenRejected",
    "command_text",
    "decode_button",
    "encode_button",
    "menu",
    "protect_token",
    "render_chunks",
    "reply_lines",
    "split_html",
    "utf16_len",
]
