"""Rendering for Matrix, pure functions: a Reply becomes `body` and HTML `formatted_body`."""

from __future__ import annotations

import html
import json
from dataclasses import replace
from typing import Any

from bot.outgoing import for_matrix
from handlers.core import Block, Reply

HTML_FORMAT = "org.matrix.custom.html"
# Synapse refuses events over 65,536 bytes (M_TOO_LARGE); the envelope (ids, signatures,
# encryption's base64) needs room too.
CONTENT_LIMIT = 30_000


def quick_answer_line(reply: Reply) -> str | None:
    """`↳ ✅ erledigt · 🟢 läuft · 🟡 verzögert` — the reactions that act as commands."""
    if not reply.quick_answers:
        return None
    return "↳ " + " · ".join(answer.label for answer in reply.quick_answers)


def render_body(reply: Reply) -> str:
    """The plain `body`: what `Reply.plain()` says, plus the quick answers."""
    text = for_matrix(reply.plain())
    line = quick_answer_line(reply)
    return f"{text}\n\n{line}" if line else text


def _html(text: str) -> str:
    return html.escape(for_matrix(text))


def render_html(reply: Reply) -> str:
    """The `formatted_body`: one paragraph per block, headings bold, everything escaped."""
    paragraphs: list[str] = []
    for block in reply.blocks:
        lines = [_html(line) for line in block.lines]
        if block.heading:
            lines.insert(0, f"<strong>{_html(block.heading)}</strong>")
        if lines:
            paragraphs.append("<p>" + "<br>".join(lines) + "</p>")
    line = quick_answer_line(reply)
    if line:
        paragraphs.append(f"<p><em>{_html(line)}</em></p>")
    return "".join(paragraphs)


def message_content(reply: Reply, msgtype: str) -> dict[str, Any]:
    return {
        "msgtype": msgtype,
        "body": render_body(reply),
        "format": HTML_FORMAT,
        "formatted_body": render_html(reply),
    }


def content_size(reply: Reply) -> int:
    """Bytes of the message's body and formatted_body as they travel (JSON-escaped)."""
    content = message_content(reply, "m.text")
    return len(json.dumps(content, ensure_ascii=False).encode("utf-8"))


def split_reply(reply: Reply, limit: int = CONTENT_LIMIT) -> list[Reply]:
    """The reply as messages of at most `limit` bytes each, cut between lines (a line longer
    than that on its own is cut between characters). The first keeps the subject, the quick
    answers and the files; the others are text."""
    if content_size(reply) <= limit:
        return [reply]
    parts: list[Reply] = []
    current = Reply(outcome=reply.outcome)
    for block in reply.blocks:
        lines = [block.heading, *block.lines] if block.heading else list(block.lines)
        headed = block.heading is not None
        current.blocks.append(Block((), None))
        for index, line in enumerate(lines):
            for piece in _pieces(line, limit // 3):
                last = current.blocks[-1]
                heading = last.heading
                grown = (
                    Block(last.lines, piece)
                    if headed and index == 0 and heading is None and not last.lines
                    else Block((*last.lines, piece), heading)
                )
                current.blocks[-1] = grown
                if content_size(current) > limit and (
                    len(grown.lines) > 1 or len(current.blocks) > 1
                ):
                    current.blocks[-1] = last
                    parts.append(current)
                    current = Reply(outcome=reply.outcome, blocks=[Block((piece,), None)])
    parts.append(current)
    parts = [p for p in parts if p.plain()]
    parts[0] = replace(
        parts[0],
        subject=reply.subject,
        quick_answers=list(reply.quick_answers),
        attachments=list(reply.attachments),
        error_id=reply.error_id,
    )
    return parts


def _pieces(line: str, size: int) -> list[str]:
    return [line[i : i + size] for i in range(0, len(line), size)] or [line]
