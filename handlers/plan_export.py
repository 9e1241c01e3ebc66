"""The measure plan out as CSV, XLSX and ODS, in exactly the columns the import reads (§4)."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal
from xml.sax.saxutils import escape

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, aliased

from handlers.plan_columns import EXPORT_HEADERS, PLAN_SHEETS, column_for
from storage.lookup import normalize
from storage.models import (
    Department,
    FieldOfAction,
    Goal,
    Measure,
    MeasureStatus,
    Person,
    PlanningArea,
    measure_participants,
)

Format = Literal["csv", "xlsx", "ods"]
Cell = str | int | date | None

# Column widths in characters: wide enough for most cells, never a screen wide.
_MIN_WIDTH, _MAX_WIDTH = 6, 60
# Several participating departments in one cell, as the import splits them.
PARTICIPANT_SEPARATOR = "; "


@dataclass(frozen=True)
class ExportFilter:
    """Which measures: all, or of a department (lead or participating), a goal (with its
    subgoals), a status, a planning area — the conditions together."""

    department_id: int | None = None
    goal_id: int | None = None
    status: MeasureStatus | None = None
    planning_area_id: int | None = None


@dataclass(frozen=True)
class Sheet:
    """A table to write: header row, rows of cells (text, whole number, date or empty)."""

    name: str
    headers: list[str]
    rows: list[list[Cell]]

    def widths(self) -> list[int]:
        """Per column, the longest cell in characters (header included), within limits."""
        widths = [len(h) for h in self.headers]
        for row in self.rows:
            for i, value in enumerate(row):
                if value is None:
                    continue
                # A date shows as TT.MM.JJJJ; a cell of several lines by its longest line.
                n = 10 if isinstance(value, date) else _longest_line(value)
                if n > widths[i]:
                    widths[i] = n
        return [min(max(w + 2, _MIN_WIDTH), _MAX_WIDTH) for w in widths]


def _longest_line(value: str | int) -> int:
    text = str(value)
    if "\n" not in text:
        return len(text)
    return max(len(line) for line in text.split("\n"))


# -- reading the measures -------------------------------------------------------------------


def _goal_and_subgoals(session: Session, goal_id: int) -> set[int]:
    """A goal's measures include those of its subgoals, as goal progress rolls up."""
    children: dict[int | None, list[int]] = {}
    for gid, parent_id in session.execute(select(Goal.id, Goal.parent_id)):
        children.setdefault(parent_id, []).append(gid)
    found, todo = {goal_id}, [goal_id]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _selected(session: Session, flt: ExportFilter) -> Select[tuple[int]]:
    """The ids of the measures the filter selects (a subquery for both loads)."""
    query = select(Measure.id)
    if flt.department_id is not None:
        participating = select(measure_participants.c.measure_id).where(
            measure_participants.c.department_id == flt.department_id
        )
        query = query.where(
            or_(
                Measure.lead_department_id == flt.department_id,
                Measure.id.in_(participating),
            )
        )
    if flt.goal_id is not None:
        query = query.where(Measure.goal_id.in_(_goal_and_subgoals(session, flt.goal_id)))
    if flt.status is not None:
        query = query.where(Measure.status == flt.status)
    if flt.planning_area_id is not None:
        query = query.where(Measure.planning_area_id == flt.planning_area_id)
    return query


def plan_sheet(session: Session, flt: ExportFilter = ExportFilter()) -> Sheet:
    """The plan as a table: EXPORT_HEADERS, then the free fields (first seen first).

    Two queries whatever the size: the measures with everything they name joined in, and
    the participating departments of the selected measures.
    """
    selected = _selected(session, flt)
    parent = aliased(Goal)
    field = aliased(FieldOfAction)
    lead = aliased(Department)
    rows = session.execute(
        select(
            Measure.id,
            Measure.plan_number,
            Measure.title,
            Measure.description,
            Goal.title,
            parent.title,
            field.name,
            lead.key,
            Person.name,
            Measure.start,
            Measure.deadline,
            Measure.status,
            Measure.progress,
            PlanningArea.name,
            Measure.evaluation_interval,
            Measure.extra_fields,
        )
        .join(lead, lead.id == Measure.lead_department_id)
        .outerjoin(Goal, Goal.id == Measure.goal_id)
        .outerjoin(parent, parent.id == Goal.parent_id)
        .outerjoin(field, field.id == Goal.field_of_action_id)
        .outerjoin(Person, Person.id == Measure.responsible_id)
        .outerjoin(PlanningArea, PlanningArea.id == Measure.planning_area_id)
        .where(Measure.id.in_(selected))
        .order_by(Measure.id)
    ).all()
    participants: dict[int, list[str]] = {}
    for measure_id, key in session.execute(
        select(measure_participants.c.measure_id, Department.key)
        .join(Department, Department.id == measure_participants.c.department_id)
        .where(measure_participants.c.measure_id.in_(selected))
        .order_by(measure_participants.c.measure_id, Department.key)
    ):
        participants.setdefault(measure_id, []).append(key)

    # Free fields: the union of their headers, in the order first met. A free field named
    # like a plan column cannot come from the import (it would be that column) and would
    # re-import as that column, so it is left out.
    extra: dict[str, None] = {}
    for row in rows:
        for header in row[15] or {}:
            if header not in extra and column_for(header) is None:
                extra[header] = None
    extra_headers = list(extra)

    table: list[list[Cell]] = []
    for (
        measure_id,
        number,
        title,
        description,
        goal,
        parent_goal,
        field_name,
        lead_key,
        person,
        start,
        deadline,
        status,
        progress,
        area,
        interval,
        extra_fields,
    ) in rows:
        cells: list[Cell] = [
            f"M-{measure_id}",
            number,
            title,
            description,
            goal,
            parent_goal,
            field_name,
            lead_key,
            PARTICIPANT_SEPARATOR.join(participants.get(measure_id, ())) or None,
            person,
            start,
            deadline,
            status.value,
            progress,
            area,
            interval,
        ]
        if extra_headers:
            fields = extra_fields or {}
            cells.extend(fields.get(h) for h in extra_headers)
        table.append(cells)
    return Sheet(PLAN_SHEETS[0], [*EXPORT_HEADERS.values(), *extra_headers], table)


def export_plan(session: Session, fmt: Format, flt: ExportFilter = ExportFilter()) -> bytes:
    """The selected measures as a file of the format."""
    sheet = plan_sheet(session, flt)
    if fmt == "csv":
        return write_csv(sheet)
    if fmt == "xlsx":
        return write_xlsx([sheet])
    if fmt == "ods":
        return write_ods([sheet])
    raise ValueError(f"unknown export format {fmt!r}")


def export_file_name(fmt: str, municipality: str, today: date) -> str:
    """`massnahmenplan-musterstadt-2026-12-03.xlsx`: ASCII, safe in every chat and file system."""
    folded = unicodedata.normalize("NFKD", normalize(municipality))
    slug = re.sub(r"[^a-z0-9]+", "-", folded.encode("ascii", "ignore").decode()).strip("-")
    parts = ["massnahmenplan", *([slug] if slug else []), today.isoformat()]
    return "-".join(parts) + "." + fmt


# -- CSV ----------------------------------------------------------------------------------


def write_csv(sheet: Sheet) -> bytes:
    """`;`-separated, UTF-8 with BOM (German Excel opens it right), dates as TT.MM.JJJJ.

    Text is written exactly as it is, also when it starts with `=`, `+`, `-` or `@`: our
    import reads every CSV cell as text, so the round trip is exact, and a CSV has no way to
    mark a cell as text that every reader honours (a leading `'` would stay in the value for
    LibreOffice and for our import). The risk is Excel: opening such a CSV by double-click
    evaluates `=…` as a formula. Who hands a plan to Excel takes XLSX or ODS, where those
    cells are text cells.
    """
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(sheet.headers)
    for row in sheet.rows:
        writer.writerow(
            [
                ""
                if value is None
                else value.strftime("%d.%m.%Y")
                if isinstance(value, date)
                else value
                for value in row
            ]
        )
    return out.getvalue().encode("utf-8-sig")


# -- XML by hand ----------------------------------------------------------------------------
# XLSX and ODS are zip files of XML. Written through openpyxl and odfpy, 10k measures took
# 2.3 s and 11 s here (their pure-Python XML serialisers, per cell); these few fixed pieces
# and one string join per row take a tenth of a second. The pieces are built from names and
# attributes, so nothing is spelled twice.

_INVALID_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


_QUOTE = {'"': "&quot;"}


def _attrs(attributes: dict[str, str]) -> str:
    return "".join(f' {name}="{escape(value, _QUOTE)}"' for name, value in attributes.items())


def _open(tag: str, attributes: dict[str, str] | None = None) -> str:
    return f"<{tag}{_attrs(attributes or {})}>"


def _empty(tag: str, attributes: dict[str, str] | None = None) -> str:
    return f"<{tag}{_attrs(attributes or {})}/>"


def _el(tag: str, attributes: dict[str, str] | None = None, *content: str) -> str:
    return _open(tag, attributes) + "".join(content) + f"</{tag}>"


def _text(value: str) -> str:
    """Escaped for XML; characters XML cannot hold (control characters) left out."""
    if _INVALID_XML.search(value):
        value = _INVALID_XML.sub("", value)
    return escape(value)


def _xml(root: str) -> str:
    return _empty_decl() + root


def _empty_decl() -> str:
    return "<?xml" + _attrs({"version": "1.0", "encoding": "UTF-8", "standalone": "yes"}) + "?>"


def _zip(parts: Iterable[tuple[str, str]], *, first_stored: tuple[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if first_stored is not None:
            # ODF: the `mimetype` entry first and uncompressed, so a reader can sniff it.
            archive.writestr(first_stored[0], first_stored[1], compress_type=zipfile.ZIP_STORED)
        for name, text in parts:
            archive.writestr(name, text.encode("utf-8"), compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


# -- XLSX (SpreadsheetML) -------------------------------------------------------------------

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_EXCEL_EPOCH = date(1899, 12, 30)
# Cell styles (indexes into cellXfs below): plain, bold header, date as TT.MM.JJJJ.
_XF_HEADER, _XF_DATE = "1", "2"


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _xlsx_styles() -> str:
    font = _el("font", None, _empty("sz", {"val": "11"}), _empty("name", {"val": "Calibri"}))
    bold = _el(
        "font", None, _empty("b"), _empty("sz", {"val": "11"}), _empty("name", {"val": "Calibri"})
    )
    fills = _el(
        "fills",
        {"count": "2"},
        _el("fill", None, _empty("patternFill", {"patternType": "none"})),
        _el("fill", None, _empty("patternFill", {"patternType": "gray125"})),
    )
    border = _el("border", None, _empty("left"), _empty("right"), _empty("top"), _empty("bottom"))
    xf = {"numFmtId": "0", "fontId": "0", "fillId": "0", "borderId": "0"}
    return _xml(
        _el(
            "styleSheet",
            {"xmlns": _MAIN},
            _el(
                "numFmts",
                {"count": "1"},
                _empty("numFmt", {"numFmtId": "164", "formatCode": "DD.MM.YYYY"}),
            ),
            _el("fonts", {"count": "2"}, font, bold),
            fills,
            _el("borders", {"count": "1"}, border),
            _el("cellStyleXfs", {"count": "1"}, _empty("xf", xf)),
            _el(
                "cellXfs",
                {"count": "3"},
                _empty("xf", {**xf, "xfId": "0"}),
                _empty("xf", {**xf, "fontId": "1", "xfId": "0", "applyFont": "1"}),
                _empty("xf", {**xf, "numFmtId": "164", "xfId": "0", "applyNumberFormat": "1"}),
            ),
            _el(
                "cellStyles",
                {"count": "1"},
                _empty("cellStyle", {"name": "Normal", "xfId": "0", "builtinId": "0"}),
            ),
        )
    )


def _xlsx_sheet(sheet: Sheet) -> str:
    letters = [_column_letter(i) for i in range(len(sheet.headers))]
    # Inline strings: every text cell is a string cell (`t="inlineStr"`), never a formula,
    # whatever it starts with — `=SUMME(A1)` stays that text.
    string_type = (
        _attrs({"t": "inlineStr"}) + ">" + _open("is") + _open("t", {"xml:space": "preserve"})
    )
    string_end = "</t></is></c>"
    date_type = _attrs({"s": _XF_DATE}) + ">" + _open("v")
    number_type = ">" + _open("v")
    value_end = "</v></c>"
    header_type = _attrs({"s": _XF_HEADER, "t": "inlineStr"}) + ">" + _open("is") + _open("t")

    def cell(letter: str, n: int, value: Cell) -> str:
        head = "<c" + _attrs({"r": f"{letter}{n}"})
        if isinstance(value, str):
            return head + string_type + _text(value) + string_end
        if isinstance(value, date):
            return head + date_type + str((value - _EXCEL_EPOCH).days) + value_end
        return head + number_type + str(value) + value_end

    parts = [_open("row", {"r": "1"})]
    parts += [
        "<c" + _attrs({"r": f"{letter}1"}) + header_type + _text(h) + string_end
        for letter, h in zip(letters, sheet.headers, strict=True)
    ]
    parts.append("</row>")
    for n, row in enumerate(sheet.rows, start=2):
        parts.append(_open("row", {"r": str(n)}))
        parts.extend(
            cell(letter, n, value)
            for letter, value in zip(letters, row, strict=True)
            if value is not None and value != ""
        )
        parts.append("</row>")
    cols = "".join(
        _empty(
            "col",
            {"min": str(i + 1), "max": str(i + 1), "width": str(w), "customWidth": "1"},
        )
        for i, w in enumerate(sheet.widths())
    )
    # The header row stays in view while scrolling: a frozen pane below row 1.
    view = _el(
        "sheetViews",
        None,
        _el(
            "sheetView",
            {"workbookViewId": "0"},
            _empty(
                "pane",
                {"ySplit": "1", "topLeftCell": "A2", "activePane": "bottomLeft", "state": "frozen"},
            ),
            _empty("selection", {"pane": "bottomLeft", "activeCell": "A2", "sqref": "A2"}),
        ),
    )
    return _xml(
        _el(
            "worksheet",
            {"xmlns": _MAIN, "xmlns:r": _REL},
            view,
            _empty("sheetFormatPr", {"defaultRowHeight": "15"}),
            _el("cols", None, cols),
            _el("sheetData", None, *parts),
        )
    )


def write_xlsx(sheets: Sequence[Sheet]) -> bytes:
    """An XLSX workbook: per sheet a bold, frozen header row, column widths from the
    content, date cells formatted TT.MM.JJJJ, text always as text cells."""
    content_types = _el(
        "Types",
        {"xmlns": "http://schemas.openxmlformats.org/package/2006/content-types"},
        _empty(
            "Default",
            {
                "Extension": "rels",
                "ContentType": "application/vnd.openxmlformats-package.relationships+xml",
            },
        ),
        _empty("Default", {"Extension": "xml", "ContentType": "application/xml"}),
        _empty(
            "Override",
            {
                "PartName": "/xl/workbook.xml",
                "ContentType": "application/vnd.openxmlformats-officedocument."
                "spreadsheetml.sheet.main+xml",
            },
        ),
        _empty(
            "Override",
            {
                "PartName": "/xl/styles.xml",
                "ContentType": "application/vnd.openxmlformats-officedocument."
                "spreadsheetml.styles+xml",
            },
        ),
        *[
            _empty(
                "Override",
                {
                    "PartName": f"/xl/worksheets/sheet{i}.xml",
                    "ContentType": "application/vnd.openxmlformats-officedocument."
                    "spreadsheetml.worksheet+xml",
                },
            )
            for i in range(1, len(sheets) + 1)
        ],
    )
    root_rels = _el(
        "Relationships",
        {"xmlns": _PKG_REL},
        _empty(
            "Relationship",
            {"Id": "rId1", "Type": _REL + "/officeDocument", "Target": "xl/workbook.xml"},
        ),
    )
    workbook = _el(
        "workbook",
        {"xmlns": _MAIN, "xmlns:r": _REL},
        _el(
            "sheets",
            None,
            *[
                _empty("sheet", {"name": s.name[:31], "sheetId": str(i), "r:id": f"rId{i}"})
                for i, s in enumerate(sheets, start=1)
            ],
        ),
    )
    workbook_rels = _el(
        "Relationships",
        {"xmlns": _PKG_REL},
        *[
            _empty(
                "Relationship",
                {
                    "Id": f"rId{i}",
                    "Type": _REL + "/worksheet",
                    "Target": f"worksheets/sheet{i}.xml",
                },
            )
            for i in range(1, len(sheets) + 1)
        ],
        _empty(
            "Relationship",
            {"Id": f"rId{len(sheets) + 1}", "Type": _REL + "/styles", "Target": "styles.xml"},
        ),
    )
    return _zip(
        [
            ("[Content_Types].xml", _xml(content_types)),
            ("_rels/.rels", _xml(root_rels)),
            ("xl/workbook.xml", _xml(workbook)),
            ("xl/_rels/workbook.xml.rels", _xml(workbook_rels)),
            ("xl/styles.xml", _xlsx_styles()),
            *[(f"xl/worksheets/sheet{i}.xml", _xlsx_sheet(s)) for i, s in enumerate(sheets, 1)],
        ]
    )


# -- ODS (OpenDocument) ---------------------------------------------------------------------

_ODF_NS = {
    "xmlns:office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "xmlns:style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
    "xmlns:text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "xmlns:table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "xmlns:number": "urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0",
    "xmlns:fo": "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0",
    "xmlns:config": "urn:oasis:names:tc:opendocument:xmlns:config:1.0",
    "xmlns:manifest": "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0",
}
_ODS_MIME = "application/vnd.oasis.opendocument.spreadsheet"
_SPACES = re.compile(r"^ +| +$| {2,}")
# A character is about 0.21 cm wide in the default font.
_CM_PER_CHAR = 0.21


def _odf_paragraphs(value: str) -> str:
    """Text as `text:p` paragraphs, one per line; runs of spaces kept (`text:s`), since ODF
    collapses spaces in a paragraph otherwise."""
    value = _text(value)
    if "\n" not in value and "  " not in value and value.strip(" ") == value:
        return "<text:p>" + value + "</text:p>"

    def spaces(match: re.Match[str]) -> str:
        run = match.group()
        # Inside a line the first space stays a space; at either end none would survive.
        edge = match.start() == 0 or match.end() == len(match.string)
        keep = "" if edge else " "
        n = len(run) - len(keep)
        return keep + _empty("text:s", {"text:c": str(n)} if n > 1 else None)

    return "".join(
        "<text:p>" + _SPACES.sub(spaces, line) + "</text:p>" for line in value.split("\n")
    )


def _ods_content(sheets: Sequence[Sheet]) -> str:
    date_style = _el(
        "number:date-style",
        {"style:name": "N1"},
        _empty("number:day", {"number:style": "long"}),
        _el("number:text", None, "."),
        _empty("number:month", {"number:style": "long"}),
        _el("number:text", None, "."),
        _empty("number:year", {"number:style": "long"}),
    )
    styles = [
        date_style,
        _empty(
            "style:style",
            {"style:name": "date", "style:family": "table-cell", "style:data-style-name": "N1"},
        ),
        _el(
            "style:style",
            {"style:name": "header", "style:family": "table-cell"},
            _empty("style:text-properties", {"fo:font-weight": "bold"}),
        ),
    ]
    tables = []
    width_styles: dict[int, str] = {}
    string_cell = _open("table:table-cell", {"office:value-type": "string"})
    header_cell = _open(
        "table:table-cell", {"office:value-type": "string", "table:style-name": "header"}
    )
    empty_cell = _empty("table:table-cell")
    cell_end = "</table:table-cell>"
    for sheet in sheets:
        columns = []
        for w in sheet.widths():
            if w not in width_styles:
                width_styles[w] = f"co{w}"
                styles.append(
                    _el(
                        "style:style",
                        {"style:name": f"co{w}", "style:family": "table-column"},
                        _empty(
                            "style:table-column-properties",
                            {"style:column-width": f"{w * _CM_PER_CHAR:.2f}cm"},
                        ),
                    )
                )
            columns.append(_empty("table:table-column", {"table:style-name": width_styles[w]}))
        rows = [
            _el(
                "table:table-row",
                None,
                *[header_cell + _odf_paragraphs(h) + cell_end for h in sheet.headers],
            )
        ]
        for row in sheet.rows:
            cells = []
            for value in row:
                if value is None or value == "":
                    cells.append(empty_cell)
                elif isinstance(value, str):
                    cells.append(string_cell + _odf_paragraphs(value) + cell_end)
                elif isinstance(value, date):
                    iso = value.isoformat()
                    cells.append(
                        _open(
                            "table:table-cell",
                            {
                                "office:value-type": "date",
                                "office:date-value": iso,
                                "table:style-name": "date",
                            },
                        )
                        + "<text:p>"
                        + value.strftime("%d.%m.%Y")
                        + "</text:p>"
                        + cell_end
                    )
                else:
                    cells.append(
                        _open(
                            "table:table-cell",
                            {"office:value-type": "float", "office:value": str(value)},
                        )
                        + "<text:p>"
                        + str(value)
                        + "</text:p>"
                        + cell_end
                    )
            rows.append("<table:table-row>" + "".join(cells) + "</table:table-row>")
        tables.append(_el("table:table", {"table:name": sheet.name}, *columns, *rows))
    return _xml(
        _el(
            "office:document-content",
            {**_ODF_NS, "office:version": "1.2"},
            _el("office:automatic-styles", None, *styles),
            _el("office:body", None, _el("office:spreadsheet", None, *tables)),
        )
    )


def _config(name: str, kind: str, value: str) -> str:
    return _el("config:config-item", {"config:name": name, "config:type": kind}, value)


def _ods_settings(sheets: Sequence[Sheet]) -> str:
    """The header row frozen: LibreOffice keeps a split per table in the view settings."""
    frozen = [
        _el(
            "config:config-item-map-entry",
            {"config:name": sheet.name},
            _config("HorizontalSplitMode", "short", "0"),
            _config("VerticalSplitMode", "short", "2"),
            _config("VerticalSplitPosition", "int", "1"),
            _config("ActiveSplitRange", "short", "2"),
            _config("PositionTop", "int", "0"),
            _config("PositionBottom", "int", "1"),
        )
        for sheet in sheets
    ]
    view = _el(
        "config:config-item-map-entry",
        None,
        _config("ViewId", "string", "view1"),
        _el("config:config-item-map-named", {"config:name": "Tables"}, *frozen),
    )
    return _xml(
        _el(
            "office:document-settings",
            {**_ODF_NS, "office:version": "1.2"},
            _el(
                "office:settings",
                None,
                _el(
                    "config:config-item-set",
                    {"config:name": "ooo:view-settings"},
                    _el("config:config-item-map-indexed", {"config:name": "Views"}, view),
                ),
            ),
        )
    )


def write_ods(sheets: Sequence[Sheet]) -> bytes:
    """An ODS spreadsheet: bold, frozen header row, column widths from the content, date
    cells (`office:value-type="date"`) shown TT.MM.JJJJ, text always as string cells."""

    def entry(path: str, media: str) -> str:
        return _empty(
            "manifest:file-entry", {"manifest:full-path": path, "manifest:media-type": media}
        )

    manifest = _el(
        "manifest:manifest",
        {"xmlns:manifest": _ODF_NS["xmlns:manifest"], "manifest:version": "1.2"},
        _empty(
            "manifest:file-entry",
            {
                "manifest:full-path": "/",
                "manifest:version": "1.2",
                "manifest:media-type": _ODS_MIME,
            },
        ),
        entry("content.xml", "text/xml"),
        entry("styles.xml", "text/xml"),
        entry("settings.xml", "text/xml"),
    )
    styles = _el("office:document-styles", {**_ODF_NS, "office:version": "1.2"})
    return _zip(
        [
            ("META-INF/manifest.xml", _xml(manifest)),
            ("content.xml", _ods_content(sheets)),
            ("styles.xml", _xml(styles)),
            ("settings.xml", _ods_settings(sheets)),
        ],
        first_stored=("mimetype", _ODS_MIME),
    )
