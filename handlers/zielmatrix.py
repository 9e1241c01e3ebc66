"""`matrix [handlungsfeld]`: the Zielmatrix — goals × departments, the measures each department
leads (L) and takes part in (B), and the interfaces (measures of several departments), cut
for a phone: lines of at most 40 characters, at most 10 goals; `matrix xlsx` the whole of it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.args import Args
from handlers.context import Context, UsageError
from handlers.core import Attachment, Language, Reply
from handlers.i18n import plural, t
from handlers.monitoring import MatrixRow, Zielmatrix, zielmatrix
from handlers.plan_export import Cell, Sheet, write_xlsx
from storage.lookup import Kind
from storage.models import FieldOfAction

LINE = 40  # characters on a phone
GOALS_SHOWN = 10
INTERFACES_SHOWN = 5
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_XLSX_WORDS = ("xlsx", "excel")


def cut(text: str, width: int = LINE) -> str:
    """`text` in at most `width` characters, ending in … when cut."""
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _cells(row: MatrixRow, matrix: Zielmatrix, lang: Language) -> list[str]:
    lead, part = t(lang, "zielmatrix.lead_letter"), t(lang, "zielmatrix.part_letter")
    cells: list[str] = []
    for department in matrix.departments:
        counts = []
        if row.lead.get(department.id):
            counts.append(f"{row.lead[department.id]}{lead}")
        if row.participating.get(department.id):
            counts.append(f"{row.participating[department.id]}{part}")
        if counts:
            cells.append(f"{department.key} {' '.join(counts)}")
    if row.interfaces:
        cells.append(f"⇄{row.interfaces}")
    return cells


def _wrap(cells: list[str], indent: str = "  ") -> list[str]:
    """Cells joined by ` · ` in lines of at most LINE characters."""
    lines: list[str] = []
    current = ""
    for cell in cells:
        candidate = f"{current} · {cell}" if current else indent + cell
        if len(candidate) <= LINE:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = cut(indent + cell)
    if current:
        lines.append(current)
    return lines


def phone_reply(matrix: Zielmatrix, lang: Language, field: str | None = None) -> Reply:
    """The matrix as a chat reply: every line at most LINE characters."""
    n = len(matrix.rows)
    if field is None:
        heading = plural(lang, "zielmatrix.heading", n)
    else:
        heading = plural(lang, "zielmatrix.heading_field", n, field=field)
    if not matrix.rows:
        return Reply.text(t(lang, "zielmatrix.no_goals"), heading=cut(heading))
    lines = [cut(t(lang, "zielmatrix.legend"))]
    for row in matrix.rows[:GOALS_SHOWN]:
        lines.append(cut(f"{row.goal_ref} {row.title}"))
        cells = _cells(row, matrix, lang)
        lines.extend(_wrap(cells) if cells else ["  " + t(lang, "zielmatrix.no_measures")])
    if n > GOALS_SHOWN:
        lines.append(t(lang, "zielmatrix.more_goals", n=n - GOALS_SHOWN))
    reply = Reply.text(*lines, heading=cut(heading))
    if matrix.interface_total:
        shown = []
        for interface in matrix.interfaces[:INTERFACES_SHOWN]:
            keys = "+".join(interface.department_keys)
            room = LINE - len(interface.measure_ref) - len(keys) - 2
            shown.append(f"{interface.measure_ref} {cut(interface.title, room)} {keys}")
        if matrix.interface_total > len(shown):
            more = matrix.interface_total - len(shown)
            shown.append(t(lang, "zielmatrix.more_interfaces", n=more))
        reply.add(
            *shown,
            heading=cut(t(lang, "zielmatrix.interfaces_heading", n=matrix.interface_total)),
        )
    return reply


def matrix_sheet(matrix: Zielmatrix, lang: Language) -> Sheet:
    """The whole matrix as a sheet: per goal, per department its led and participating
    measures, then the goal's measures and interfaces (for the report and `matrix xlsx`)."""
    headers = [
        t(lang, "zielmatrix.column_goal"),
        t(lang, "zielmatrix.column_title"),
        t(lang, "zielmatrix.column_field"),
    ]
    for department in matrix.departments:
        headers.append(t(lang, "zielmatrix.column_lead", department=department.key))
        headers.append(t(lang, "zielmatrix.column_part", department=department.key))
    headers += [t(lang, "zielmatrix.column_measures"), t(lang, "zielmatrix.column_interfaces")]
    rows: list[list[Cell]] = []
    for row in matrix.rows:
        cells: list[Cell] = [row.goal_ref, row.title, row.field_of_action]
        for department in matrix.departments:
            cells.append(row.lead.get(department.id) or None)
            cells.append(row.participating.get(department.id) or None)
        cells += [row.measures, row.interfaces]
        rows.append(cells)
    return Sheet(t(lang, "zielmatrix.sheet_name"), headers, rows)


def matrix_xlsx(session: Session, lang: Language, field_id: int | None = None) -> bytes:
    """The Zielmatrix (of one field of action, or all) as an XLSX workbook of one sheet."""
    return write_xlsx([matrix_sheet(zielmatrix(session, field_id=field_id), lang)])


def matrix(ctx: Context, args: Args) -> Reply:
    """`matrix [handlungsfeld]`, `matrix xlsx [handlungsfeld]`."""
    words = list(args.words)
    as_file = bool(words) and words[0].text.casefold() in _XLSX_WORDS
    if as_file:
        words = words[1:]
    if args.options:
        raise UsageError()
    field_id: int | None = None
    field_name: str | None = None
    if words:
        text = " ".join(w.text for w in words)
        match = ctx.resolve(text, [Kind.FIELD], start=words[0].start, end=words[-1].end)
        field_id = match.id
        field_name = ctx.session.execute(
            select(FieldOfAction.name).where(FieldOfAction.id == field_id)
        ).scalar_one()
    if as_file:
        return _as_file(ctx, field_id, field_name)
    return phone_reply(zielmatrix(ctx.session, field_id=field_id), ctx.lang, field_name)


def _as_file(ctx: Context, field_id: int | None, field_name: str | None) -> Reply:
    from handlers.outputs import write_generated

    data = matrix_xlsx(ctx.session, ctx.lang, field_id)
    path = write_generated(
        ctx.settings.data_dir,
        "matrix",
        "xlsx",
        data,
        ctx.local_now,
        keep_days=ctx.settings.keep_generated_days,
    )
    name = f"{t(ctx.lang, 'zielmatrix.file_stem')}-{ctx.today.isoformat()}.xlsx"
    reply = Reply.text(
        ctx.t("zielmatrix.file_posted", name=name)
        if field_name is None
        else ctx.t("zielmatrix.file_posted_field", name=name, field=field_name)
    )
    reply.attachments.append(
        Attachment(path=path, mime_type=XLSX_MIME, caption=name, file_name=name)
    )
    return reply
