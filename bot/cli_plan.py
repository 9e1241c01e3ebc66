"""`regelkreis import` and `regelkreis export`: the measure plan on the command line.

The reading, merging and writing are the handlers' (handlers/plan_import.py,
handlers/plan_export.py, handlers/calendar_feed.py); this module reads the file, shows the
progress bar on a terminal, prints the summary and turns a refusal into exit status 2.
docs/import.md describes the columns, the merge and every message.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot.bootstrap import App
from bot.cli_errors import CliError
from bot.cli_operator import cli_context
from handlers.calendar_feed import calendar_feed, write_feed
from handlers.context import Ambiguous, Context, NotFound, Refused
from handlers.core import Language, Reply
from handlers.i18n import STATUS_WORDS
from handlers.plan_export import ExportFilter, Format, export_file_name, export_plan
from handlers.plan_import import (
    ImportOptions,
    ImportOrigin,
    ImportPreview,
    PlanUnreadable,
    apply_import,
    preview_import,
    undo_last_import,
)
from storage.lookup import Kind
from storage.models import Department, MeasureStatus

# The command line answers in English, like the other operator commands (docs/operations.md).
LANG: Language = "en"

Progressed = Callable[[int, int], None]
_TABLE_FORMATS: dict[str, Format] = {"csv": "csv", "xlsx": "xlsx", "ods": "ods"}


def plan_command(app: App, args: argparse.Namespace) -> int:
    """`import` or `export`, by args.command."""
    if args.command == "import":
        return import_command(app, args)
    return export_command(app, args)


# -- import ---------------------------------------------------------------------------------


def import_command(app: App, args: argparse.Namespace) -> int:
    origin = ImportOrigin(
        platform="cli", room=None, actor=f"cli:{getpass.getuser()}", person_id=None
    )
    if args.undo:
        options_given = args.dry_run or args.skip_invalid or args.create_missing or args.overwrite
        if args.file is not None or options_given:
            raise CliError("import --undo takes no file and no other option")
        with app.uows(write=True) as uow:
            reply = undo_last_import(uow.session, origin, now=app.clock(), lang=LANG)
            if reply.outcome != "ok":
                # Nothing was changed: the session is rolled back when the unit of work ends.
                raise CliError(reply.plain().replace("\n", " "))
            uow.commit()
        print(reply.plain())
        return 0
    if args.file is None:
        raise CliError("import needs a FILE (an .xlsx, .ods or .csv plan), or --undo")
    path: Path = args.file
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CliError(f"{path}: cannot read the file: {error.strerror}") from None
    options = ImportOptions(
        skip_invalid=args.skip_invalid,
        # The operator at the command line is the administrator: no role to check.
        create_missing=args.create_missing,
        overwrite=args.overwrite,
    )
    now = app.clock()
    today = now.astimezone(app.config.municipality.zone).date()
    details: Reply
    try:
        with app.uows(write=not args.dry_run) as uow, _progress(path.name) as progress:
            if args.dry_run:
                preview = preview_import(
                    uow.session,
                    data,
                    path.name,
                    options,
                    today=today,
                    lang=LANG,
                    progress=progress,
                )
                details = preview.reply(LANG, hints=False)
            else:
                outcome = apply_import(
                    uow.session,
                    data,
                    path.name,
                    options,
                    origin,
                    now=now,
                    today=today,
                    lang=LANG,
                    progress=progress,
                )
                preview = outcome.preview
                details = outcome.reply(LANG, hints=False)
                if outcome.applied:
                    # One commit for the whole plan: killed before it, nothing is imported.
                    uow.commit()
    except PlanUnreadable as error:
        raise CliError(str(error)) from None
    _summary(preview, details)
    if preview.refused:
        bad = preview.bad_row_count
        raise CliError(
            f"{path.name}: not imported, nothing changed: {bad} bad "
            f"{'row' if bad == 1 else 'rows'} (fix them, or --skip-invalid imports the "
            "good rows"
            + (
                ", --create-missing creates the missing departments and people"
                if preview.to_create
                else ""
            )
            + ")"
        )
    if args.dry_run:
        print("Dry run: nothing changed.")
    elif preview.has_changes:
        print(f"{path.name} imported; regelkreis import --undo reverts it.")
    else:
        print(f"{path.name}: nothing changed, the plan already matches the database.")
    return 0


@contextmanager
def _progress(name: str) -> Iterator[Progressed | None]:
    """A progress bar on a terminal; nothing when standard output is a file or a pipe."""
    if not sys.stdout.isatty():
        yield None
        return
    columns = (
        TextColumn(f"[bold]{escape(name)}"),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task("reading", total=None)
        last = [0]

        def advance(done: int, total: int) -> None:
            # The import reports reading the rows, then writing the new measures: a count
            # that starts again is the second phase.
            if done < last[0]:
                bar.update(task, description="writing")
            last[0] = done
            bar.update(task, completed=done, total=total)

        yield advance


def _summary(preview: ImportPreview, details: Reply) -> None:
    """The counts as a table, then the bad rows, conflicts and changes, one line each."""
    console = Console(highlight=False, soft_wrap=True)
    table = Table(title=f"Import summary: {escape(preview.file_name)}")
    table.add_column("")
    table.add_column("count", justify="right")
    for label, count in preview.table_rows(LANG):
        table.add_row(escape(label), count)
    console.print(table)
    # The first block is the counts the table shows.
    rest = Reply(blocks=details.blocks[1:]).plain()
    if rest:
        console.print(rest, markup=False)


# -- export ---------------------------------------------------------------------------------


def export_command(app: App, args: argparse.Namespace) -> int:
    fmt: str = args.format
    if fmt == "ics" and (args.ziel or args.status or args.planungsraum):
        raise CliError("export ics takes --ressort only (a calendar of all measures' deadlines)")
    if fmt != "ics" and args.mit_namen:
        raise CliError("--mit-namen is for export ics (the table always names the people)")
    config = app.config
    today = app.clock().astimezone(config.municipality.zone).date()
    with app.uows(write=False) as uow:
        ctx = cli_context(app, uow)
        department = _department(ctx, args.ressort) if args.ressort else None
        # Read while the session is open: the feed's path is per department key.
        department_key = department.key if department is not None else None
        if fmt == "ics":
            data = calendar_feed(
                uow.session,
                zone=config.municipality.zone,
                department_id=department.id if department is not None else None,
                with_names=args.mit_namen,
                calendar_name=_calendar_name(config.municipality.name, department),
            )
        else:
            flt = ExportFilter(
                department_id=department.id if department is not None else None,
                goal_id=_find(ctx, args.ziel, Kind.GOAL, "goal") if args.ziel else None,
                status=_status(args.status) if args.status else None,
                planning_area_id=(
                    _find(ctx, args.planungsraum, Kind.AREA, "planning area")
                    if args.planungsraum
                    else None
                ),
            )
            data = export_plan(uow.session, _TABLE_FORMATS[fmt], flt)
    out: Path = args.out or Path.cwd() / export_file_name(fmt, config.municipality.name, today)
    try:
        out.write_bytes(data)
    except OSError as error:
        raise CliError(f"{out}: cannot write the file: {error.strerror}") from None
    print(f"{out} written ({len(data):,} bytes).")
    if fmt == "ics":
        feed = write_feed(config.data_dir, data, department_key=department_key)
        print(f"Calendar feed: {feed} (serve this file to subscribe; the path stays the same).")
    return 0


def _calendar_name(municipality: str, department: Department | None) -> str:
    if department is None:
        return f"Regelkreis {municipality}"
    return f"Regelkreis {municipality}: {department.name}"


def _department(ctx: Context, text: str) -> Department:
    department = ctx.session.get(Department, _find(ctx, text, Kind.DEPARTMENT, "department"))
    assert department is not None
    return department


def _find(ctx: Context, text: str, kind: Kind, what: str) -> int:
    """The id of what `text` names, by the reference rules; else one line and exit 2."""
    try:
        return ctx.resolve(text, [kind]).id
    except NotFound as error:
        similar = "; ".join(m.label for m in error.suggestions)
        raise CliError(
            f"unknown {what} {text!r}" + (f" (similar: {similar})" if similar else "")
        ) from None
    except Ambiguous as error:
        options = "; ".join(m.label for m in error.candidates)
        if len(error.candidates) == 1:
            # A misspelling close to one name: named, never taken silently (§2).
            raise CliError(f"unknown {what} {text!r} (did you mean {options}?)") from None
        raise CliError(f"{what} {text!r} is ambiguous: {options}") from None
    except Refused as error:
        raise CliError(str(error)) from None


def _status(text: str) -> MeasureStatus:
    status = STATUS_WORDS.get(text.casefold().strip())
    if status is None:
        words = ", ".join(s.value for s in MeasureStatus)
        raise CliError(f"unknown status {text!r} (one of: {words}; English words work too)")
    return status
