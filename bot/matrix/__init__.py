"""The Matrix transport: matrix-nio events become `Incoming`, `Reply` becomes Matrix messages.

It only translates; what a command means is the core's (the conversation service). One job
per module: `render` and `parse` are pure functions (the message content, the command in a
message, invites, reactions, transaction ids), `session` logs the device in, `sync` is the
sync loop, `events` turns events into conversation calls, `crypto` is end-to-end encryption
(vodozemac, devices trusted on first use), `send` posts with bounded retries, `transport`
starts, runs and stops it all. What Matrix shares with Telegram (the lease, platform state,
pruning, the backlog, the clocks) is bot/platform.py. docs/matrix.md is the operator's side.
"""

from bot.matrix.parse import (
    PLATFORM,
    command_text,
    inviter_allowed,
    strip_reply_fallback,
    transaction_id,
)
from bot.matrix.render import message_content, quick_answer_line, render_body, render_html
from bot.matrix.transport import MatrixNotifier, MatrixTransport
from handlers.views import reaction_command  # what a reaction stands for, from the core

__all__ = [
    "PLATFORM",
    "MatrixNotifier",
    "MatrixTransport",
    "command_text",
    "inviter_allowed",
    "message_content",
    "quick_answer_line",
    "reaction_command",
    "render_body",
    "render_html",
    "strip_reply_fallback",
    "transaction_id",
]
