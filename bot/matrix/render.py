"""Rendering for Matrix, pure functions: a Reply becomes `body` and HTML `formatted_body`."""

from __future__ import annotations

import html
from typing import Any

from handlers.core import Reply

HTML_FORMAT = "org.matrix.custom.html"


def quick_answer_line(reply: Reply) -> str | None:
    """`↳ ✅ erledigt · 🟢 läuft · 🟡 verzögert` — the reactions that act as commands."""
    if not reply.quick_answers:
        return None
    return "↳ " + " · ".join(answer.label for answer in reply.quick_answers)


def render_body(reply: Reply) -> str:
    """The plain `body`: what `Reply.plain()` says, plus the quick answers."""
    text = reply.plain()
    line = quick_answer_line(reply)
    return f"{text}\n\n{line}" if line else text


def render_html(reply: Reply) -> str:
    """The `formatted_body`: one paragraph per block, headings bold, everything escaped."""
    paragraphs: list[str] = []
    for block in reply.blocks:
        lines = [html.escape(line) for line in block.lines]
        if block.heading:
            lines.insert(0, f"<strong>{html.escape(block.heading)}</strong>")
        if lines:
            paragraphs.append("<p>" + "<br>".join(lines) + "</p>")
    line = quick_answer_line(reply)
    if line:
        paragraphs.append(f"<p><em>{html.escape(line)}</em></p>")
    return "".join(paragraphs)


def message_content(reply: Reply, msgtype: str) -> dict[str, Any]:
    return {
        "msgtype": msgtype,
        "body": render_body(reply),
        "format": HTML_FORMAT,
        "formatted_body": render_html(reply),
    }
