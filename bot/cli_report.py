"""`regelkreis report [REF] [--format html|pdf|png] [--out DIR]`: the steering report (or
its charts) written to files; prints each file's path. The figures and layouts are the
handlers' (handlers/report_chat.py, report_data.py, report_html.py, report_pdf.py); the
charts are handlers/charts.py's when it is installed."""

from __future__ import annotations

import argparse
import importlib.util
from datetime import date
from pathlib import Path

from bot.bootstrap import App
from bot.cli_errors import CliError
from bot.cli_operator import cli_context
from bot.cli_plan import LANG
from handlers.charts_chat import KINDS as CHART_KINDS
from handlers.context import Ambiguous, Context, NotFound, Refused
from handlers.i18n import t
from handlers.report_chat import file_part, make_report, render, report_file_name
from storage.lookup import Kind, Match


def report_command(app: App, args: argparse.Namespace) -> int:
    fmt: str = args.format
    config = app.config
    today = app.clock().astimezone(config.municipality.zone).date()
    out: Path = args.out or Path.cwd()
    if fmt == "png" and importlib.util.find_spec("handlers.charts") is None:
        raise CliError("report --format png: charts are not available in this installation")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CliError(f"{out}: cannot create the folder: {error.strerror}") from None
    with app.uows(write=False) as uow:
        ctx = cli_context(app, uow)
        ids: dict[str, int] = {}
        match = None
        if args.ref:
            match = _resolve(ctx, args.ref, CHART_KINDS if fmt == "png" else REPORT_KINDS)
            key = {Kind.DEPARTMENT: "department_id", Kind.GOAL: "goal_id"}.get(
                match.kind, "meeting_id"
            )
            ids[key] = match.id
        if fmt == "png":
            return _charts(ctx, match, today, out)
        made = make_report(
            uow.session,
            today,
            config.municipality.name,
            now=app.clock(),
            rules=ctx.settings.rules,
            **ids,
        )
        data = render(made, "html" if fmt == "html" else "pdf", LANG)
    path = out / report_file_name(config.municipality.name, today, fmt, LANG, made.slug)
    try:
        path.write_bytes(data)
    except OSError as error:
        raise CliError(f"{path}: cannot write the file: {error.strerror}") from None
    print(path)
    return 0


REPORT_KINDS = (Kind.DEPARTMENT, Kind.GOAL, Kind.MEETING)


def _resolve(ctx: Context, text: str, kinds: tuple[Kind, ...]) -> Match:
    """What REF names, by the reference rules; else one line and exit status 2."""
    try:
        return ctx.resolve(text, list(kinds))
    except NotFound as error:
        similar = "; ".join(m.label for m in error.suggestions)
        named = ", ".join(kind.value.replace("_", " ") for kind in kinds[:-1])
        raise CliError(
            f"unknown {named} or {kinds[-1].value} {text!r}"
            + (f" (similar: {similar})" if similar else "")
        ) from None
    except Ambiguous as error:
        options = "; ".join(m.label for m in error.candidates)
        raise CliError(f"{text!r} is ambiguous: {options}") from None
    except Refused as error:
        raise CliError(str(error)) from None


def _charts(ctx: Context, match: Match | None, today: date, out: Path) -> int:
    from handlers.charts import NoChartData, render_chart

    try:
        chart = render_chart(ctx.session, match, LANG, today)
    except NoChartData as empty:
        raise CliError(str(empty)) from None
    ref = f"-{file_part(chart.ref)}" if chart.ref else ""
    path = out / t(LANG, "charts.file_name", ref=ref, date=today.isoformat())
    try:
        path.write_bytes(chart.png)
    except OSError as error:
        raise CliError(f"{path}: cannot write the file: {error.strerror}") from None
    print(path)
    return 0
