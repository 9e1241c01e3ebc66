"""`diagramm [bezug]`: one chart as an image in chat (handlers/charts.py draws it)."""

from __future__ import annotations

import re

from handlers.args import Args
from handlers.context import Context, UsageError
from handlers.core import Attachment, Reply
from storage.lookup import Kind, Match

KINDS = (Kind.DEPARTMENT, Kind.GOAL, Kind.INDICATOR)


def chart(ctx: Context, args: Args) -> Reply:
    """`diagramm [bezug]`: the status per department, a department's status per goal, a
    goal's progress over time or an indicator against its target path, as a PNG."""
    # matplotlib loads here, not with the registry.
    from handlers.charts import NoChartData, render_chart
    from handlers.outputs import write_generated

    if args.options:
        raise UsageError()
    match: Match | None = None
    if args.words:
        text = " ".join(w.text for w in args.words)
        match = ctx.resolve(text, KINDS, start=args.words[0].start, end=args.words[-1].end)
    try:
        drawn = render_chart(ctx.session, match, ctx.lang, ctx.today)
    except NoChartData as empty:
        return Reply.text(str(empty))
    ref = f"-{_file_part(drawn.ref)}" if drawn.ref else ""
    file_name = ctx.t("charts.file_name", ref=ref, date=ctx.today.isoformat())
    path = write_generated(
        ctx.settings.data_dir,
        "diagramm",
        "png",
        drawn.png,
        ctx.local_now,
        keep_days=ctx.settings.keep_generated_days,
    )
    reply = Reply.text(drawn.caption, heading=drawn.title)
    reply.attachments.append(
        Attachment(
            path=path,
            mime_type="image/png",
            is_image=True,
            caption=drawn.title,
            file_name=file_name,
            width=drawn.width,
            height=drawn.height,
        )
    )
    return reply


def _file_part(ref: str) -> str:
    """A department key or an id as part of a file name: letters, digits and dashes."""
    return re.sub(r"[^0-9A-Za-z-]+", "-", ref).strip("-") or "x"
